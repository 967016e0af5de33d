// SSH probe budgets, on the lab (real sshd + MariaDB on loopback):
//  1. 100 sequential probes over the pooled connection vs spawning OpenSSH
//     `ssh` for each (same sshd, same command): both times and the ratio.
//  2. Probing 50 hosts (50 connections to the lab sshd) in one refresh:
//     wall time, and its ratio to one probe.
// Prints numbers; never passes or fails on time.
//   npx tsx bench/ssh-probe.ts

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProbes } from '../src/backends/engines/index.js';
import { FLAVOUR_SQL, mysqlCommand, probeSql } from '../src/backends/engines/mysql.js';
import { createSshShell } from '../src/backends/ssh/index.js';
import { configSchema, type Config } from '../src/config/schema.js';
import type { Instance } from '../src/domain/types.js';
import { startLab } from '../src/lab/lab.js';

const SEQUENTIAL = 100;
const HOSTS = 50;

function runOpenSsh(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', resolve);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
const lab = await startLab({ dir, ipPrefix: `127.0.${200 + Math.floor(Math.random() * 50)}` });
try {
  const base = configSchema.parse({});
  const config: Config = { ...base, target: 'inventory', inventory: lab.state.files.inventory, stateDir: join(dir, 'state') };
  const shell = createSshShell(config);
  const m1 = lab.node('m1');
  const node: Instance = {
    id: 'm1', name: 'm1', privateIp: m1.ip, az: 'lab', type: 'static', state: 'running',
    launchTime: lab.state.startedAt, statusChecks: 'unknown', tags: {},
    ssh: { host: m1.ip, port: lab.state.sshPort, user: lab.state.user },
  };
  const version = (await shell.exec(node, mysqlCommand('mysql', FLAVOUR_SQL))).stdout.split('\n')[3]!;
  const command = mysqlCommand('mysql', probeSql('mariadb', version));

  // 1. pooled vs spawning ssh
  await shell.exec(node, command); // connect once; the pool keeps it
  let t = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const r = await shell.exec(node, command, { readOnly: true });
    if (r.code !== 0) throw new Error(`probe failed: ${r.stderr}`);
  }
  const pooledMs = performance.now() - t;
  const sshArgs = ['-F', lab.state.files.sshConfig, '-o', 'BatchMode=yes', '-p', String(lab.state.sshPort), `${lab.state.user}@${m1.ip}`, command];
  t = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const code = await runOpenSsh(sshArgs);
    if (code !== 0) throw new Error(`ssh exited ${code}`);
  }
  const spawnMs = performance.now() - t;
  console.log(`${SEQUENTIAL} sequential probes (same sshd, same command):`);
  console.log(`  pooled ssh2 connection : ${pooledMs.toFixed(0)} ms (${(pooledMs / SEQUENTIAL).toFixed(1)} ms/probe)`);
  console.log(`  spawning OpenSSH ssh   : ${spawnMs.toFixed(0)} ms (${(spawnMs / SEQUENTIAL).toFixed(1)} ms/probe)`);
  console.log(`  ratio                  : ${(spawnMs / pooledMs).toFixed(1)}x (budget: >= 5x)`);
  await shell.close();

  // 2. 50 hosts in one refresh: 50 aliases of the lab sshd, so 50 connections.
  const benchConfig = join(dir, 'bench_ssh_config');
  writeFileSync(
    benchConfig,
    `Host bench-*\n  HostName ${m1.ip}\n` + readFileSync(lab.state.files.sshConfig, 'utf8').replace(/^Host .*$/m, 'Host *'),
  );
  const hosts: Instance[] = Array.from({ length: HOSTS }, (_, i) => ({
    ...node, id: `bench-${i}`, name: `bench-${i}`, ssh: { host: `bench-${String(i).padStart(2, '0')}` },
  }));
  for (const concurrency of [base.ssh.concurrency, HOSTS]) {
    const one = createSshShell({ ...config, inventory: undefined, target: 'aws', ssh: { ...base.ssh, configFile: benchConfig, concurrency } });
    const probes1 = new EngineProbes(one, { mysqlClient: 'mysql', nodetool: 'nodetool', probeTimeoutMs: 30_000 });
    t = performance.now();
    await probes1.probe(hosts[0]!, 'mysql');
    const singleMs = performance.now() - t;
    await one.close();

    const many = createSshShell({ ...config, inventory: undefined, target: 'aws', ssh: { ...base.ssh, configFile: benchConfig, concurrency } });
    const probes = new EngineProbes(many, { mysqlClient: 'mysql', nodetool: 'nodetool', probeTimeoutMs: 30_000 });
    t = performance.now();
    const results = await Promise.allSettled(hosts.map((h) => probes.probe(h, 'mysql')));
    const refreshMs = performance.now() - t;
    const failed = results.filter((r) => r.status === 'rejected');
    const connections = many.connectedHops().length;
    await many.close();
    console.log(`${HOSTS} hosts in one refresh (ssh.concurrency=${concurrency}, ${connections} connections, ${failed.length} failed):`);
    if (failed[0]?.status === 'rejected') console.log(`  first failure: ${(failed[0].reason as Error).message}`);
    console.log(`  one probe, cold (connect + 2 execs): ${singleMs.toFixed(0)} ms`);
    console.log(`  ${HOSTS} probes, cold, at once       : ${refreshMs.toFixed(0)} ms (${(refreshMs / singleMs).toFixed(1)}x one probe)`);
  }
} finally {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
