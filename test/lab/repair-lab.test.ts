// `nightshift run repair` on the lab, as an engineer runs it: the real CLI in
// a child process, over the real sshd, against a three-node "ring" whose
// nodetool is a stand-in (test/helpers/fake-nodetool.sh) that takes longer
// than ssh.commandTimeoutSeconds. The repair must finish, start once, and
// tag the node; killed mid-repair, `resume` must re-attach, not repeat it.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { expect, it } from 'vitest';
import { describeLab, useTestLab } from '../helpers/lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'nightshift.js');
const fakeNodetool = join(root, 'test', 'helpers', 'fake-nodetool.sh');
/** Over a minute: twice the 30 s that cut every real repair before. */
const REPAIR_SECONDS = 65;

describeLab('repair over real ssh on the lab', () => {
  const fx = useTestLab();

  /** An inventory of the lab's three members' addresses as a Cassandra ring (the spare m4 left out), each host with its own nodetool. */
  function ring(name: string) {
    const home = mkdtempSync(join(tmpdir(), 'ns-repair-'));
    const log = join(home, 'repairs.log');
    const inventory = join(fx.lab.state.dir, `${name}.yaml`);
    const nodetool = `FAKE_NODETOOL_REPAIR_SECONDS=${REPAIR_SECONDS} FAKE_NODETOOL_LOG=${log} ${fakeNodetool}`;
    writeFileSync(
      inventory,
      stringify({
        ssh: { configFile: 'ssh/ssh_config' },
        hosts: fx.lab.state.nodes.filter((n) => !n.spare).map((n, i) => ({
          name: `c${i + 1}`,
          cluster: name,
          engine: 'cassandra',
          host: n.ip,
          port: fx.lab.state.sshPort,
          user: fx.lab.state.user,
          nodetool,
          tags: i === 1 ? {} : { 'last-repaired': `2026-11-0${i + 1}T00:00:00Z` },
        })),
      }),
    );
    const env = { ...process.env, XDG_STATE_HOME: join(home, 'state'), NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
    const repairsStarted = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    const cli = (args: string[]) => spawnSync(process.execPath, [bin, '--inventory', inventory, ...args], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
    return { inventory, env, repairsStarted, cli };
  }

  it(`finishes a ${REPAIR_SECONDS} s repair (past the 30 s command limit), starts it once, and tags the node`, { timeout: 240_000 }, () => {
    const r = ring('ring-a');
    const t0 = Date.now();
    const run = r.cli(['run', 'repair', '--cluster', 'ring-a', '--yes']);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(REPAIR_SECONDS * 1000);
    expect(run.stdout).toMatch(/Repair command #1 finished in/);
    expect(run.stdout).toMatch(/run \S+ succeeded in/);
    expect(r.repairsStarted()).toBe(1);
    const ls = r.cli(['ls', '--json']);
    const nodes = (JSON.parse(ls.stdout) as { clusters: Array<{ nodes: Array<{ name: string; tags: Record<string, string> }> }> }).clusters[0]!.nodes;
    // c2 had no tag: it was the one repaired, and now carries today's.
    expect(Date.parse(nodes.find((n) => n.name === 'c2')!.tags['last-repaired']!)).toBeGreaterThan(t0 - 5_000);
  });

  it('killed mid-repair, `resume` re-attaches to the repair still running on the node and finishes it without a second one', { timeout: 300_000 }, async () => {
    const r = ring('ring-b');
    const child = spawn(process.execPath, [bin, '--inventory', r.inventory, 'run', 'repair', '--cluster', 'ring-b', '--yes'], { cwd: root, env: r.env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const started = Date.now();
    while (!/Starting repair command/.test(out)) {
      if (Date.now() - started > 60_000) throw new Error(`the repair never started:\n${out}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const runId = /run (\S+) started by/.exec(out)![1]!;
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect(r.repairsStarted()).toBe(1);

    const resumed = r.cli(['resume', runId, '--yes']);
    expect(resumed.status, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/Repair command #1 finished in/);
    expect(r.repairsStarted()).toBe(1);
    const show = r.cli(['show', runId]);
    expect(show.stdout).toMatch(/resumed by/);
    expect(show.stdout).toMatch(/succeeded/);
  });
});
