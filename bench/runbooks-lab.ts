// Runbook budgets on the lab (issue 12), as an on-call engineer would run
// them: the built CLI (bin/nightshift.js) in a child process, headless with
// --yes --confirm lab, over the lab's real sshd against three real MariaDB
// servers with GTID replication and the heartbeat writer running, as
// `nightshift lab up` leaves them.
//  1. switchover m1→m2, then m2→m1, N times each way: the whole command's
//     wall time less the DNS step (the budget excludes DNS propagation; the
//     lab has no writer record, so that step is a no-op), and the write
//     outage from the journal (readonly's step-started to promote's
//     step-finished).
//  2. failover, N times: kill -9 of m1's mariadbd, `run failover`, then the
//     lab restored (m1 started read-only, made a replica of the new master,
//     and switched back to master). Start → new master writable is read two
//     ways: from the journal (run-started to promote's step-finished, which
//     leaves out the preflight that tells dead from unreachable) and from the
//     process's start (which does not); the budget is judged on the second.
// Prints median and max against the budgets; never passes or fails on time.
//   npx tsx bench/runbooks-lab.ts [--runs N] [--skip-failover]

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJournal } from '../src/actions/engine/journal.js';
import type { RunRecord } from '../src/actions/engine/records.js';
import { startLab } from '../src/lab/lab.js';

/**
 * The checkout: the working directory when it is one (run-all runs benches
 * there; a bundle under a symlinked node_modules would otherwise find the
 * checkout the link points into), else the first above this file.
 */
function findRoot(): string {
  if (existsSync(join(process.cwd(), 'bin', 'nightshift.js'))) return process.cwd();
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'bin', 'nightshift.js'))) return d;
  }
  throw new Error(`no bin/nightshift.js above ${fileURLToPath(import.meta.url)}: run it from the checkout (npx tsx bench/runbooks-lab.ts)`);
}
const root = findRoot();
const bin = join(root, 'bin', 'nightshift.js');
const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs takes a whole number of runs, not "${args[args.indexOf('--runs') + 1]}"`);
const BUDGET = { switchoverMs: 10_000, outageMs: 2_000, failoverMs: 10_000 };

execFileSync(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });

const dir = mkdtempSync(join(tmpdir(), 'ns-bench-runbooks-'));
const stateHome = join(dir, 'xdg-state');
const lab = await startLab({ dir: join(dir, 'lab'), ipPrefix: `127.0.${200 + Math.floor(Math.random() * 50)}`, heartbeat: true, timeoutMs: 90_000 });

interface Timed {
  wallMs: number;
  startedAt: number;
  records: RunRecord[];
}

/** One headless run through the CLI; a run that does not succeed stops the bench with its output. */
function cli(runArgs: string[]): Timed {
  const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
  const before = new Set(journals());
  const startedAt = Date.now();
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, '--inventory', lab.state.files.inventory, ...runArgs], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`nightshift ${runArgs.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  const made = journals().filter((f) => !before.has(f));
  if (made.length !== 1) throw new Error(`expected one new journal for nightshift ${runArgs.join(' ')}, found ${made.length}`);
  return { wallMs, startedAt, records: parseJournal(made[0]!, readFileSync(made[0]!, 'utf8')).records };
}

function journals(): string[] {
  const runs = join(stateHome, 'nightshift', 'runs');
  try {
    return readdirSync(runs).filter((f) => f.endsWith('.jsonl')).map((f) => join(runs, f));
  } catch {
    return []; // no run yet
  }
}

/** The fleet time (epoch ms on a real target) of a record. */
function vt(records: RunRecord[], type: RunRecord['type'], stepId?: string): number {
  const r = records.find((x) => x.type === type && (stepId === undefined || ('stepId' in x && x.stepId === stepId)));
  if (!r) throw new Error(`the journal has no ${type}${stepId ? ` ${stepId}` : ''} record`);
  return (r as { vt: number }).vt;
}

function stepMs(records: RunRecord[], stepId: string): number {
  return vt(records, 'step-finished', stepId) - vt(records, 'step-started', stepId);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function line(what: string, xs: number[], budgetMs: number): void {
  const med = median(xs);
  const max = Math.max(...xs);
  const verdict = med <= budgetMs ? 'within' : 'OVER';
  console.log(
    `  ${what.padEnd(44)} median ${(med / 1000).toFixed(2).padStart(6)} s  max ${(max / 1000).toFixed(2).padStart(6)} s  budget ${budgetMs / 1000} s  median/budget ${(med / budgetMs).toFixed(2)}  ${verdict}`,
  );
}

/** Until every replica has executed what the master wrote: a run starts from a settled lab, as the preflight's lag limit wants. */
async function settle(): Promise<void> {
  await lab.waitForReplicasInSync(60_000);
}

/** Until no replica's IO thread is connected to the crashed master (on loopback the kernel resets the connection at once). */
async function ioThreadsOff(): Promise<void> {
  const end = Date.now() + 30_000;
  for (const n of ['m2', 'm3']) {
    while ((await lab.sql(n, "SHOW GLOBAL STATUS LIKE 'Slave_running'")).includes('ON')) {
      if (Date.now() > end) throw new Error(`${n} still replicates from m1 30 s after the crash`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function currentMaster(): Promise<string> {
  for (const n of lab.state.nodes.filter((m) => !m.spare)) {
    const isReplica = (await lab.sql(n.name, 'SHOW SLAVE STATUS').catch(() => 'down')).trim() !== '';
    if (!isReplica && (await lab.value(n.name, 'SELECT @@read_only')) === '0') return n.name;
  }
  throw new Error('no writable master on the lab');
}

/** The lab's in-memory roles, which its waitForReplicasInSync reads; lab.json on disk stays as startLab wrote it. */
function setMaster(name: string): void {
  for (const n of lab.state.nodes) if (!n.spare) n.role = n.name === name ? 'master' : 'replica';
}

try {
  // Every figure here is wall time on a shared machine: say how busy it was.
  console.log(`runbooks on the lab (${lab.state.dir}): ${RUNS} runs each, headless --yes --confirm lab; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
  const total: number[] = [];
  const outage: number[] = [];
  const phases = new Map<string, number[]>();
  const phase = (name: string, ms: number) => phases.set(name, [...(phases.get(name) ?? []), ms]);
  for (let i = 0; i < RUNS; i++) {
    for (const [from, to] of [
      ['m1', 'm2'],
      ['m2', 'm1'],
    ] as const) {
      setMaster(from);
      await settle();
      const r = cli(['run', 'switchover', '--cluster', 'lab', '--candidate', to, '--yes', '--confirm', 'lab']);
      total.push(r.wallMs - stepMs(r.records, 'dns'));
      outage.push(vt(r.records, 'step-finished', 'promote') - vt(r.records, 'step-started', 'readonly'));
      breakdown(r, phase);
    }
  }
  console.log(`switchover (${total.length} runs, m1→m2 and m2→m1):`);
  line('total, process start to exit, less DNS', total, BUDGET.switchoverMs);
  line('write outage (readonly start → promote end)', outage, BUDGET.outageMs);
  printPhases(phases);

  if (!args.includes('--skip-failover')) {
    const fromJournal: number[] = [];
    const fromProcess: number[] = [];
    const wall: number[] = [];
    const phases = new Map<string, number[]>();
    const phase = (name: string, ms: number) => phases.set(name, [...(phases.get(name) ?? []), ms]);
    for (let i = 0; i < RUNS; i++) {
      setMaster('m1');
      await settle();
      await lab.crash('m1');
      await ioThreadsOff();
      const r = cli(['run', 'failover', '--cluster', 'lab', '--yes', '--confirm', 'lab']);
      const writable = vt(r.records, 'step-finished', 'promote');
      fromJournal.push(writable - vt(r.records, 'run-started'));
      fromProcess.push(writable - r.startedAt);
      wall.push(r.wallMs);
      breakdown(r, phase);
      await restore();
    }
    console.log(`load average now ${loadavg()[0]!.toFixed(1)}`);
    console.log(`failover (${RUNS} runs, kill -9 of m1's mariadbd, then the lab restored):`);
    line('process start → new master writable', fromProcess, BUDGET.failoverMs);
    line('journal run-started → new master writable', fromJournal, BUDGET.failoverMs);
    line('whole command (to the heartbeat verified)', wall, BUDGET.failoverMs);
    printPhases(phases);
  }
} finally {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Where a run's time goes: start-up and preflight (process start to run-started), each step, and the end. */
function breakdown(r: Timed, phase: (name: string, ms: number) => void): void {
  phase('start-up + preflight + plan', vt(r.records, 'run-started') - r.startedAt);
  for (const rec of r.records) {
    if (rec.type === 'step-finished') phase(`step ${rec.stepId}`, rec.vt - vt(r.records, 'step-started', rec.stepId));
  }
  phase('after the last step, to exit', r.startedAt + r.wallMs - vt(r.records, 'run-finished'));
}

function printPhases(phases: Map<string, number[]>): void {
  console.log(`  median by phase: ${[...phases].map(([name, xs]) => `${name} ${Math.round(median(xs))} ms`).join(' · ')}`);
}

/**
 * After a failover: m1 started by its service script (read-only, as a
 * fenced master comes back), made a replica of the new master from its own
 * binlog position, then the writes moved back to it by a switchover.
 */
async function restore(): Promise<void> {
  const master = await currentMaster();
  await lab.startService('m1');
  await lab.rejoin('m1', master);
  setMaster(master);
  await settle();
  cli(['run', 'switchover', '--cluster', 'lab', '--candidate', 'm1', '--yes', '--confirm', 'lab']);
}
