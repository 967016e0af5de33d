// The rebuild's stream against a raw copy, on the lab (issue 13). m2's data
// is grown to about 800 MB (a table filled on m2 alone, outside the binlog,
// so the fill costs no replication), then, in one run, side by side:
//  (a) raw: `tar -C <m2 datadir> -cf - . | ssh -F <lab ssh config> m4 tar -C <dst> -xf -`,
//      OpenSSH's own client: the fastest a copy of these bytes goes here;
//  (b) stream: SshShell.pipe of `mariadb-backup --backup --stream=xbstream ...`
//      on m2 into `mbstream -x` on m4 (nightshift relaying every byte), then
//      `mariadb-backup --prepare` on m4: a consistent copy, ready to start;
//  (c) the whole `nightshift run rebuild --target m4 --via stream --yes
//      --confirm lab`, preflight to join, through the built CLI.
// Prints each time, MB/s of the datadir, and (b)/(a) against the budget
// (stream + prepare at most 1.5x the raw copy); never passes or fails on time.
//   npx tsx bench/rebuild-lab.ts [--mb 800] [--skip-runbook]

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJournal } from '../src/actions/engine/journal.js';
import { shellQuote as q } from '../src/backends/engines/shell-quote.js';
import { createSshShell } from '../src/backends/ssh/index.js';
import { configSchema } from '../src/config/schema.js';
import type { Instance } from '../src/domain/types.js';
import { startLab } from '../src/lab/lab.js';

function findRoot(): string {
  if (existsSync(join(process.cwd(), 'bin', 'nightshift.js'))) return process.cwd();
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'bin', 'nightshift.js'))) return d;
  }
  throw new Error(`no bin/nightshift.js above ${fileURLToPath(import.meta.url)}: run it from the checkout (npx tsx bench/rebuild-lab.ts)`);
}
const root = findRoot();
const bin = join(root, 'bin', 'nightshift.js');
const args = process.argv.slice(2);
const TARGET_MB = args.includes('--mb') ? Number(args[args.indexOf('--mb') + 1]) : 800;
if (!Number.isFinite(TARGET_MB) || TARGET_MB < 1) throw new Error(`--mb takes a size in MB, not "${args[args.indexOf('--mb') + 1]}"`);
const SKIP_RUNBOOK = args.includes('--skip-runbook');
const BUDGET_RATIO = 1.5;
const MB = 1024 * 1024;

execFileSync(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });

const dir = mkdtempSync(join(tmpdir(), 'ns-bench-rebuild-'));
const lab = await startLab({ dir: join(dir, 'lab'), ipPrefix: `127.0.${200 + Math.floor(Math.random() * 50)}`, heartbeat: true, timeoutMs: 90_000 });
const base = configSchema.parse({});
const shell = createSshShell({ ...base, target: 'inventory', inventory: lab.state.files.inventory, stateDir: join(dir, 'state') });

function instance(name: string): Instance {
  const n = lab.node(name);
  return {
    id: n.name, name: n.name, privateIp: n.ip, az: 'lab', type: 'static', state: 'running', launchTime: lab.state.startedAt,
    statusChecks: 'unknown', tags: {}, ssh: { host: n.ip, port: lab.state.sshPort, user: lab.state.user },
  };
}

const m2 = lab.node('m2');
const m4 = lab.node('m4');
const du = (path: string) => Number(execFileSync('du', ['-sb', '--', path], { encoding: 'utf8' }).split('\t')[0]);
const rmrf = (path: string) => execFileSync('rm', ['-rf', '--', path]);
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

try {
  console.log(`rebuild on the lab (${lab.state.dir}): load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);

  // ---- m2 grown: random bytes (nothing compresses them), in chunks, outside the binlog (m2 only).
  const fillStarted = Date.now();
  const rowBytes = 1000;
  const rowsWanted = Math.ceil((TARGET_MB * MB) / (rowBytes + 40));
  await lab.sql('m2', 'SET SESSION sql_log_bin=0; CREATE DATABASE bench; CREATE TABLE bench.fill (id INT PRIMARY KEY, pad VARBINARY(1000) NOT NULL) ENGINE=InnoDB');
  const chunk = 50_000;
  for (let from = 1; from <= rowsWanted; from += chunk) {
    const to = Math.min(rowsWanted, from + chunk - 1);
    await lab.sql('m2', `SET SESSION sql_log_bin=0; INSERT INTO bench.fill SELECT seq, RANDOM_BYTES(${rowBytes}) FROM bench.seq_${from}_to_${to}`);
  }
  const ddBytes = du(m2.datadir);
  console.log(`  m2's datadir: ${(ddBytes / MB).toFixed(0)} MB after the fill (${rowsWanted} rows of ${rowBytes} random bytes, ${fmt(Date.now() - fillStarted)})`);

  // ---- (a) raw copy through OpenSSH.
  const rawDst = `${m4.datadir}.raw-bench`;
  rmrf(rawDst);
  execFileSync('mkdir', ['-p', '--', rawDst]);
  const rawStarted = Date.now();
  const raw = spawnSync(
    'sh',
    ['-c', `tar -C ${q(m2.datadir)} -cf - . | ssh -F ${q(lab.state.files.sshConfig)} ${m4.ip} tar -C ${q(rawDst)} -xf -`],
    { encoding: 'utf8' },
  );
  const rawMs = Date.now() - rawStarted;
  // tar of a live datadir may warn that a file changed as it read it (exit 1); the figure stands, the copy is not used.
  if (raw.status !== 0 && raw.status !== 1) throw new Error(`raw copy failed (exit ${raw.status}): ${raw.stderr}`);
  const rawBytes = du(rawDst);
  rmrf(rawDst);
  console.log(`  (a) raw tar | ssh tar:           ${fmt(rawMs).padStart(8)}  ${rate(ddBytes, rawMs).padStart(9)}  (${(rawBytes / MB).toFixed(0)} MB landed)`);

  // ---- (b) the stream through SshShell.pipe, then prepare.
  const tok = 'bench';
  const staging = `${m4.datadir}.nightshift-${tok}`;
  rmrf(staging);
  await shell.exec(instance('m4'), `mkdir -p -- ${q(staging)}`);
  const streamStarted = Date.now();
  const piped = await shell.pipe(
    { node: instance('m2'), command: `mariadb-backup --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=4 --datadir=${q(m2.datadir)} --target-dir=/tmp/nightshift-${tok}` },
    { node: instance('m4'), command: `mbstream -x -C ${q(staging)}` },
    { idleTimeoutMs: 120_000 },
  );
  const streamMs = Date.now() - streamStarted;
  if (piped.from.code !== 0 || !/completed OK!\n$/.test(piped.from.stderr) || piped.to.code !== 0) {
    throw new Error(`stream failed: backup exit ${piped.from.code}, mbstream exit ${piped.to.code}: ${piped.from.stderr.slice(-800)} ${piped.to.stderr}`);
  }
  const prepStarted = Date.now();
  const prep = await shell.exec(instance('m4'), `mariadb-backup --prepare --use-memory=256M --target-dir=${q(staging)}`, { timeoutMs: 1_800_000 });
  const prepMs = Date.now() - prepStarted;
  if (prep.code !== 0) throw new Error(`prepare failed (exit ${prep.code}): ${prep.stderr.slice(-800)}`);
  rmrf(staging);
  const streamTotal = streamMs + prepMs;
  console.log(`  (b) stream (pipe) + prepare:     ${fmt(streamTotal).padStart(8)}  ${rate(ddBytes, streamTotal).padStart(9)}  (stream ${fmt(streamMs)}, ${rate(piped.bytes, streamMs)} relayed, ${(piped.bytes / MB).toFixed(0)} MB; prepare ${fmt(prepMs)})`);
  const ratio = streamTotal / rawMs;
  console.log(`      ratio (b)/(a): ${ratio.toFixed(2)}x  (budget ${BUDGET_RATIO}x: ${ratio <= BUDGET_RATIO ? 'within' : 'OVER'})`);

  // ---- (c) the whole runbook, as documented.
  if (!SKIP_RUNBOOK) {
    const home = join(dir, 'xdg-state');
    const env = { ...process.env, XDG_STATE_HOME: home, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
    const started = Date.now();
    const r = spawnSync(
      process.execPath,
      [bin, '--inventory', lab.state.files.inventory, 'run', 'rebuild', '--cluster', 'lab', '--target', 'm4', '--via', 'stream', '--yes', '--confirm', 'lab'],
      { cwd: root, env, encoding: 'utf8', timeout: 3_600_000 },
    );
    const wallMs = Date.now() - started;
    if (r.status !== 0) throw new Error(`run rebuild exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr}`);
    const runs = join(home, 'nightshift', 'runs');
    const file = execFileSync('ls', [runs], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.jsonl')).sort().at(-1)!;
    const records = parseJournal(file, readFileSync(join(runs, file), 'utf8')).records;
    const stepMs = (id: string) => {
      const f = records.find((x) => x.type === 'step-finished' && x.stepId === id) as { realMs: number } | undefined;
      return f ? fmt(f.realMs) : '-';
    };
    console.log(
      `  (c) nightshift run rebuild --via stream: ${fmt(wallMs)}  ${rate(ddBytes, wallMs)}  ` +
        `(stream ${stepMs('stream')}, prepare ${stepMs('prepare')}, move-back ${stepMs('move-back')}, start ${stepMs('start')}, catch-up ${stepMs('catch-up')})`,
    );
  }
} finally {
  await shell.close();
  await lab.stop();
  rmrf(dir);
}
