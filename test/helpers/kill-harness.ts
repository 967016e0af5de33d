// The kill harness: runs a runbook headless in a child process on the
// simulated fleet, SIGKILLs it right after journal record N for every N (of a
// run of one step's progress records, the first and the last: killPointsOf;
// the journal's own fault injection, NIGHTSHIFT_TEST_KILL_AFTER_RECORD, so the
// point is exact, not a race against a file watcher), resumes it with
// `nightshift resume RUN`, and checks that the run ends as an uninterrupted
// one does: same status, same world facts, no effect of a mutating step twice,
// the cluster lock free, and a journal that `show` reads whole.
//
// Runs differ a little in length: a remote job is polled on a clock that
// follows real time, so how many polls bring output varies. Killing after
// every N alone would then leave some records after the last poll (the tag,
// the lock's release, run-finished) unkilled by chance; a second pass kills
// after the k-th record of a type for each such record the first pass missed.
//
// A runbook with a way back (a critical section's undo) may also end with the
// world as it was before the run: the spec names the statuses that end may
// have (`restores`), and a case ends either as the uninterrupted run or
// restored. A kill inside an open critical section is resumed twice: at once,
// and once more after the fleet's clock has passed the section's deadline (as
// if nightshift came back too late), which must take the way back.
//
// Each case is two node processes on its own copy of one freshly generated
// world (its own XDG_STATE_HOME); cases run two per core (at most eight) at a time. The
// processes share a V8 code cache of the CLI that the uninterrupted run
// writes (code-cache-writer.mjs): most of a start is compiling otherwise.

import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseJournal } from '../../src/actions/engine/journal.js';
import type { RunRecord, RunStatus } from '../../src/actions/engine/records.js';
import { createSimBackends, type SimBackends } from '../../src/backends/sim/index.js';
import { SimLock } from '../../src/backends/sim/lock.js';
import type { WorldState } from '../../src/backends/sim/state.js';
import { lockDirOf, statePathOf } from '../../src/backends/sim/state-file.js';
import { showCommand } from '../../src/commands/show.js';
import type { CommandContext } from '../../src/commands/types.js';
import type { Config } from '../../src/config/schema.js';
import { expect } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// NIGHTSHIFT_BIN: another launcher to test; by default the built bundle through bin/ (the test setup builds it).
const bin = process.env.NIGHTSHIFT_BIN ?? join(root, 'bin', 'nightshift.js');
const bundle = join(root, 'dist', 'cli.cjs');
const cacheWriter = join(root, 'test', 'helpers', 'code-cache-writer.mjs');
export const KILL_VAR = 'NIGHTSHIFT_TEST_KILL_AFTER_RECORD';
// Two cases per core: a case's processes sleep through fleet-time waits part of
// their lives. At most eight, ~80 MB each: a wide CI machine runs other files too.
const DEFAULT_PARALLEL = Math.min(8, 2 * availableParallelism());
/**
 * NIGHTSHIFT_KILL_POINTS=boundary: the harnesses that kill after every record
 * kill at boundaryPoints instead (every kind of record in every step, as the
 * rebuild and rotate harnesses always do), on one cluster each (killClusters).
 * CI sets it for its second and third Node versions, which three full passes
 * would not fit beside the lab in its 20 minutes; the first Node runs them whole.
 */
const BOUNDARY_ONLY = process.env.NIGHTSHIFT_KILL_POINTS === 'boundary';

/**
 * The clusters a harness runs on: all of them, or with
 * NIGHTSHIFT_KILL_POINTS=boundary the first (the flavours differ in the
 * simulated servers, which no Node version changes).
 */
export function killClusters<T>(all: T[]): T[] {
  return BOUNDARY_ONLY ? all.slice(0, 1) : all;
}

export interface SimTarget {
  scenario: string;
  seed: number;
  speed: number;
}

export interface KillSpec extends SimTarget {
  runbook: string;
  /** After `run RUNBOOK`: `--cluster NAME`, `--param k=v`, … (`--yes` and `--confirm` are added). */
  args: string[];
  /** Destructive gates' names, passed as `--confirm` to the run and to the resume. */
  confirm?: string[];
  /**
   * What the run leaves in the world, compared with an uninterrupted run's:
   * e.g. which node got a new tag. `before` is the world the run started from.
   */
  facts(world: WorldState, before: WorldState): unknown;
  /**
   * One string per effect of a mutating step found in the world (a repair that
   * ran to its end, a job started): none may appear twice, and the list must
   * be the uninterrupted run's.
   */
  effects(world: WorldState, before: WorldState): string[];
  /**
   * Commands (after the global flags) run once on the world before anything
   * else, through the CLI, to bring it where the runbook should start from.
   */
  setup?: string[][];
  /** Changes the freshly generated world in this process before the setup commands (a fault injected). */
  prepare?(backends: SimBackends): Promise<void> | void;
  /**
   * The run may instead end with the world put back as it was before it (a
   * critical section's undo): with one of these statuses, the facts of the
   * world before the run and no effects. Without it, only the uninterrupted
   * run's end is right.
   */
  restores?: RunStatus[];
  /**
   * What must hold of the world at every instant the harness can see it
   * (never two writable masters): checked on the world a killed process left,
   * before the resume, and at the end. One string per violation.
   */
  invariant?(world: WorldState, before: WorldState): string[];
  /** Cases at once (each is two node processes); by default two per core, at most eight. */
  parallel?: number;
  /** Only these kill points (a failing case to look at again); default every N, then the records missed. */
  only?: KillPoint[];
  /**
   * The kill points, chosen from the uninterrupted run's records instead of
   * every one of them (a runbook whose long steps write dozens of alike
   * progress and fact records: the first and last of each run of them).
   */
  select?: (records: RunRecord[]) => KillPoint[];
}

/** Right after the process's Nth record, or its Nth record of `type`. */
export interface KillPoint {
  n: number;
  type?: string;
  /** With `type`: the Nth record of that type written by this step (robust to a step's varying count of polls). */
  stepId?: string;
}

export interface RunResult {
  runId: string;
  status: RunStatus | undefined;
  records: RunRecord[];
  facts: unknown;
  effects: string[];
}

/** How a case ended: as the uninterrupted run did, or with the world as it was before the run. */
export type KillEnd = 'as uninterrupted' | 'restored';

export interface KillCase {
  /** Where the first process was to be killed. */
  at: KillPoint;
  /** The fleet's clock was moved past the open critical section's deadline before the resume. */
  pastBudget?: boolean;
  /** How it ended, when it ended in a way the spec allows. */
  ended?: KillEnd;
  /** The record it was killed after (`step-started:repair`, …), by kind and as `type#k`, the k-th of its type; absent when the run ended first. */
  after?: string;
  afterKey?: string;
  killed: boolean;
  resumed: boolean;
  problems: string[];
}

export interface KillReport {
  reference: RunResult;
  /** The first pass, one case per kill point in order (see killPointsOf), then on past the reference's last record while runs are still killed. */
  cases: KillCase[];
  /** The uninterrupted run's kill points (killPointsOf). */
  points: number[];
  /** NIGHTSHIFT_KILL_POINTS=boundary made a spec that kills after every record kill at boundaryPoints only. */
  boundaryOnly: boolean;
  /** The second pass: the k-th record of a type, for records of the reference the first pass did not kill after. */
  targeted: KillCase[];
  /** The third: every kill of the first two that left a critical section open, resumed after its deadline. */
  pastBudget: KillCase[];
  /**
   * Records of the uninterrupted run (`type#k`) no case was killed right after,
   * though the run that aimed at one reached it: empty when every record was covered.
   */
  uncovered: string[];
  /** Every problem of every case, each naming its kill point: empty when the harness passes. */
  problems: string[];
  realMs: number;
  /** Node processes started, and their real time added up: what the harness costs. */
  processes: number;
  processMs: number;
}

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  /** Real time from spawn to exit. */
  ms: number;
}

/**
 * `nightshift` in a child process on the simulated fleet, as a user (or cron)
 * runs it; without `speed` the command line has no `--speed`. A child still
 * running after `timeoutMs` is killed (SIGKILL) and reported so.
 */
export function nightshift(
  stateHome: string,
  target: Partial<SimTarget> & Pick<SimTarget, 'scenario' | 'seed'>,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
  launcher: string[] = [bin],
): Promise<Spawned> {
  const sim = ['--sim', '--scenario', target.scenario, '--seed', String(target.seed), ...(target.speed !== undefined ? ['--speed', String(target.speed)] : [])];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '', ...env };
  if (!(KILL_VAR in env)) delete childEnv[KILL_VAR];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...launcher, ...sim, ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out, ms: performance.now() - t0 }));
  });
}

/** The first Cassandra ring of a simulated world and its members' names and tags, found in a throw-away copy of it. */
export async function cassandraRing(scenario: string, seed: number): Promise<{ name: string; nodes: Array<{ name: string; tags: Record<string, string> }> }> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-ring-'));
  try {
    const sim = await createSimBackends({ scenario, seed, speed: 1, stateDir: dir });
    const found = await sim.inventory.discover();
    await sim.close();
    const ring = found.clusters.find((c) => c.engine === 'cassandra');
    if (!ring) throw new Error(`scenario ${scenario} seed ${seed} has no Cassandra ring`);
    const byId = new Map(found.instances.map((i) => [i.id, i]));
    return { name: ring.name, nodes: ring.instanceIds.map((id) => ({ name: byId.get(id)!.name, tags: byId.get(id)!.tags })) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function stateDirOf(stateHome: string): string {
  return join(stateHome, 'nightshift');
}

/** The journals in a state home, by run id. */
export function journalsOf(stateHome: string): Map<string, { text: string; records: RunRecord[]; bad: number[]; torn?: number }> {
  const dir = join(stateDirOf(stateHome), 'runs');
  const found = new Map<string, { text: string; records: RunRecord[]; bad: number[]; torn?: number }>();
  if (!existsSync(dir)) return found;
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.jsonl'))) {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    const read = parseJournal(path, text);
    found.set(basename(f, '.jsonl'), { text, records: read.records, bad: read.bad.map((b) => b.line), ...(read.torn ? { torn: read.torn.line } : {}) });
  }
  return found;
}

function readWorld(stateHome: string, t: SimTarget): WorldState {
  return JSON.parse(readFileSync(statePathOf(stateDirOf(stateHome), t.scenario, t.seed, null), 'utf8')) as WorldState;
}

function recordName(r: RunRecord | undefined): string | undefined {
  if (!r) return undefined;
  return 'stepId' in r && typeof r.stepId === 'string' ? `${r.type}:${r.stepId}` : r.type;
}

/** `type#k` for every record: the k-th record of its type, as NIGHTSHIFT_TEST_KILL_AFTER_RECORD=k:type names it. */
function recordKeys(records: RunRecord[]): string[] {
  const seen = new Map<string, number>();
  return records.map((r) => {
    const k = (seen.get(r.type) ?? 0) + 1;
    seen.set(r.type, k);
    return `${r.type}#${k}`;
  });
}

const stepOf = (r: RunRecord) => ('stepId' in r && typeof r.stepId === 'string' ? r.stepId : undefined);

/**
 * The records (1-based) a case is killed right after: every one, except that
 * of a run of one step's progress records only the first and the last count.
 * Resume never reads progress (it is the screen's percentage and ETA), so two
 * kills inside such a run leave journals that differ only in what the screen
 * would show, and a job a little further on; the first and the last keep the
 * kill at both ends of the work they report on. A long job's polls are most of
 * a journal: this is what keeps the harness's processes to a few hundred.
 */
export function killPointsOf(records: RunRecord[]): number[] {
  const isProgressOf = (r: RunRecord | undefined, step: string | undefined) => r?.type === 'step-progress' && stepOf(r) === step;
  return records.flatMap((r, i) => {
    const inside = r.type === 'step-progress' && isProgressOf(records[i - 1], stepOf(r)) && isProgressOf(records[i + 1], stepOf(r));
    return inside ? [] : [i + 1];
  });
}

/** Index of the record a kill point names in `records`, or -1. */
function indexOfPoint(records: RunRecord[], at: KillPoint): number {
  if (!at.type) return at.n - 1;
  let k = 0;
  return records.findIndex((r) => r.type === at.type && (at.stepId === undefined || stepOf(r) === at.stepId) && ++k === at.n);
}

/** Which record of the uninterrupted run (1-based) a kill point names: N itself, or the k-th record of its type (and step). */
export function positionInReference(report: KillReport, at: KillPoint): number {
  return indexOfPoint(report.reference.records, at) + 1;
}

function pointText(at: KillPoint): string {
  return at.type ? `its record ${at.type}${at.stepId ? `@${at.stepId}` : ''} #${at.n}` : `record ${at.n}`;
}

function duplicates(list: string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const x of list) (seen.has(x) ? twice : seen).add(x);
  return [...twice];
}

/** The critical section the records leave open (opened, and neither closed nor overrun since), if any. */
function openSection(records: RunRecord[]): Extract<RunRecord, { type: 'section' }> | undefined {
  let open: Extract<RunRecord, { type: 'section' }> | undefined;
  for (const r of records) if (r.type === 'section') open = r.action === 'opened' ? r : undefined;
  return open;
}

/**
 * Moves the saved world's clock to `vt` or later, as if the fleet had lived on
 * that long with no nightshift running: the next process starts from there.
 */
function ageWorld(stateHome: string, t: SimTarget, vt: number): void {
  const path = statePathOf(stateDirOf(stateHome), t.scenario, t.seed, null);
  const world = JSON.parse(readFileSync(path, 'utf8')) as WorldState;
  // A process starting later adds the real time since this save (see SimWorld.open).
  const now = world.clock.virtualMs + Math.max(0, Date.now() - world.clock.realMs);
  if (now >= vt) return;
  world.clock = { virtualMs: world.clock.virtualMs + (vt - now), realMs: world.clock.realMs };
  writeFileSync(path, JSON.stringify(world));
}

/**
 * Runs `spec` once uninterrupted, then once per journal record N killed right
 * after record N and resumed (N from 1 to the uninterrupted run's count, and
 * on while runs are still killed), then once per record of the uninterrupted
 * run that no case was killed right after, by its type and rank, then once
 * more for each kill that left a critical section open, resumed only after
 * its deadline; returns what every case found.
 */
export async function killEveryRecord(spec: KillSpec): Promise<KillReport> {
  const t0 = performance.now();
  const spent = { processes: 0, ms: 0 };
  // Memory, where there is a tmpfs: hundreds of small journals fsync'd, and a SIGKILL (unlike a power cut) loses no page cache.
  const scratch = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `nightshift-kill-${spec.runbook}-`));
  // The built CLI's code cache, written by the uninterrupted run (see code-cache-writer.mjs), where every later process finds it.
  const codeCache = process.env.NIGHTSHIFT_BIN === undefined && existsSync(bundle) ? join(scratch, 'xdg-cache') : undefined;
  const run: Runner = async (stateHome, target, args, env = {}, launcher) => {
    const done = await nightshift(stateHome, target, args, { ...env, ...(codeCache ? { XDG_CACHE_HOME: codeCache } : {}) }, undefined, launcher);
    spent.processes++;
    spent.ms += done.ms;
    return done;
  };
  try {
    // One world for every case, generated once: a case copies it instead of generating its own.
    const pristineHome = join(scratch, 'pristine');
    const pristine = await createSimBackends({ scenario: spec.scenario, seed: spec.seed, speed: 1, stateDir: stateDirOf(pristineHome) });
    try {
      await spec.prepare?.(pristine);
    } finally {
      await pristine.close();
    }
    for (const args of spec.setup ?? []) {
      const done = await run(pristineHome, spec, args);
      if (done.code !== 0) throw new Error(`setup \`nightshift ${args.join(' ')}\` exited ${done.code ?? done.signal}:\n${done.out}`);
    }
    // Only the world goes on to the cases: the setup's journals and locks stay behind.
    const worldFile = statePathOf(stateDirOf(pristineHome), spec.scenario, spec.seed, null);
    const before = JSON.parse(readFileSync(worldFile, 'utf8')) as WorldState;
    const broken = spec.invariant?.(before, before) ?? [];
    if (broken.length > 0) throw new Error(`the world breaks the invariant before the run: ${broken.join('; ')}`);
    let homes = 0;
    const freshHome = (): string => {
      const home = join(scratch, `case-${++homes}`);
      const to = statePathOf(stateDirOf(home), spec.scenario, spec.seed, null);
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      copyFileSync(worldFile, to);
      return home;
    };
    const runArgs = ['run', spec.runbook, ...spec.args, '--yes', ...(spec.confirm ?? []).flatMap((c) => ['--confirm', c])];

    const referenceHome = freshHome();
    const ref = await run(referenceHome, spec, runArgs, {}, codeCache ? [cacheWriter, bundle] : undefined);
    if (codeCache) {
      const said = await run(referenceHome, spec, ['--version'], { NIGHTSHIFT_DEBUG: '1' });
      if (!/code cache used/.test(said.out)) throw new Error(`the CLI did not use the code cache the uninterrupted run wrote (bin/code-cache.js changed its file or format? see test/helpers/code-cache-writer.mjs):\n${said.out}`);
    }
    const refJournals = journalsOf(referenceHome);
    if (refJournals.size !== 1) throw new Error(`the uninterrupted run wrote ${refJournals.size} journals (exit ${ref.code}):\n${ref.out}`);
    const [refId, refJournal] = [...refJournals][0]!;
    const refFinished = refJournal.records.at(-1);
    const refWorld = readWorld(referenceHome, spec);
    const reference: RunResult = {
      runId: refId,
      status: refFinished?.type === 'run-finished' ? refFinished.status : undefined,
      records: refJournal.records,
      facts: spec.facts(refWorld, before),
      effects: spec.effects(refWorld, before),
    };
    if (reference.status === undefined) throw new Error(`the uninterrupted run did not finish (exit ${ref.code}):\n${ref.out}`);
    const refTwice = duplicates(reference.effects);
    if (refTwice.length > 0) throw new Error(`the uninterrupted run itself has effects twice: ${refTwice.join(', ')}`);
    const refBroken = spec.invariant?.(refWorld, before) ?? [];
    if (refBroken.length > 0) throw new Error(`the uninterrupted run breaks the invariant: ${refBroken.join('; ')}`);
    rmSync(referenceHome, { recursive: true, force: true });

    const cluster = (refJournal.records[0] as Extract<RunRecord, { type: 'run-started' }>).cluster;
    const expected: Expected = { reference, restored: spec.restores ? { statuses: spec.restores, facts: spec.facts(before, before) } : undefined };
    const pastBudget: KillCase[] = [];
    const runCase = async (at: KillPoint): Promise<KillCase> => {
      const home = freshHome();
      try {
        const { main, late } = await killAndResume(spec, home, at, runArgs, expected, before, cluster, run);
        if (late) pastBudget.push(late);
        return main;
      } finally {
        rmSync(home, { recursive: true, force: true });
        rmSync(`${home}-late`, { recursive: true, force: true });
      }
    };
    const pool = async (points: KillPoint[]): Promise<KillCase[]> => {
      const done: KillCase[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < points.length; i = next++) done[i] = await runCase(points[i]!);
      };
      await Promise.all(Array.from({ length: spec.parallel ?? DEFAULT_PARALLEL }, worker));
      return done;
    };

    const cases: KillCase[] = [];
    const targeted: KillCase[] = [];
    const points = killPointsOf(reference.records);
    const allKeys = recordKeys(reference.records);
    const pointKeys = points.map((n) => allKeys[n - 1]!);
    if (spec.only) {
      cases.push(...(await pool(spec.only)));
    } else if (spec.select || BOUNDARY_ONLY) {
      cases.push(...(await pool((spec.select ?? boundaryPoints)(reference.records))));
    } else {
      const total = reference.records.length;
      cases.push(...(await pool(points.map((n) => ({ n })))));
      for (let n = total + 1; cases.at(-1)!.killed; n++) cases.push(await runCase({ n }));
      const killedAfter = new Set(cases.filter((c) => c.killed).map((c) => c.afterKey));
      const missed = pointKeys.filter((key) => !killedAfter.has(key));
      targeted.push(...(await pool(missed.map((key) => ({ n: Number(key.split('#')[1]), type: key.split('#')[0]! })))));
    }
    pastBudget.sort((a, b) => a.at.n - b.at.n || (a.at.type ?? '').localeCompare(b.at.type ?? ''));
    const covered = new Set([...cases, ...targeted].filter((c) => c.killed).map((c) => c.afterKey));
    const all = [...cases, ...targeted, ...pastBudget];
    return {
      reference,
      cases,
      targeted,
      pastBudget,
      // A targeted run that ended before reaching its record wrote fewer of that type (fewer polls): nothing there to kill after.
      points: spec.only || spec.select || BOUNDARY_ONLY ? [] : points,
      boundaryOnly: !spec.only && !spec.select && BOUNDARY_ONLY,
      uncovered: spec.only || spec.select || BOUNDARY_ONLY ? [] : pointKeys.filter((key) => !covered.has(key) && !targeted.some((c) => !c.killed && `${c.at.type}#${c.at.n}` === key)),
      problems: all.flatMap((c) => c.problems.map((p) => `killed after ${pointText(c.at)}${c.after ? ` (${c.after})` : ''}${c.pastBudget ? ', resumed past the section budget' : ''}: ${p}`)),
      realMs: performance.now() - t0,
      processes: spent.processes,
      processMs: spent.ms,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `nightshift` as the harness starts it: counted, timed, with the shared code cache. */
type Runner = (stateHome: string, target: Parameters<typeof nightshift>[1], args: string[], env?: Record<string, string>, launcher?: string[]) => Promise<Spawned>;

/** The ends a case may have. */
interface Expected {
  reference: RunResult;
  /** When the spec allows it: the world as before the run, ended with one of these statuses. */
  restored: { statuses: RunStatus[]; facts: unknown } | undefined;
}

/**
 * Kills a run after `at`, resumes it and checks its end; when the kill left a
 * critical section open, also resumes a copy of what the kill left after the
 * fleet's clock has passed the section's deadline (`late`).
 */
async function killAndResume(
  spec: KillSpec,
  home: string,
  at: KillPoint,
  runArgs: string[],
  expected: Expected,
  before: WorldState,
  cluster: string,
  run: Runner,
): Promise<{ main: KillCase; late?: KillCase }> {
  const problems: string[] = [];
  const result: KillCase = { at, killed: false, resumed: false, problems };
  const first = await run(home, spec, runArgs, { [KILL_VAR]: at.type ? `${at.n}:${at.type}${at.stepId ? `@${at.stepId}` : ''}` : String(at.n) });
  result.killed = first.signal === 'SIGKILL';
  const journals = journalsOf(home);
  if (journals.size !== 1) {
    problems.push(`${journals.size} journals after the first process (exit ${first.code ?? first.signal}):\n${first.out}`);
    return { main: result };
  }
  const [runId, killed] = [...journals][0]!;
  // Which of the journal's records the point names: the Nth, or the Nth of its type.
  const keys = recordKeys(killed.records);
  const index = indexOfPoint(killed.records, at);
  const reached = index >= 0 && index < killed.records.length;
  if (reached) {
    result.after = recordName(killed.records[index]);
    result.afterKey = keys[index];
  }
  if (result.killed && index !== killed.records.length - 1) {
    problems.push(`the journal holds ${killed.records.length} records after a kill right after ${pointText(at)} (record ${index + 1})`);
  }
  if (!result.killed && reached) {
    problems.push(`not killed (exit ${first.code ?? first.signal}) although it wrote ${pointText(at)}:\n${first.out}`);
  }
  if (killed.bad.length > 0 || killed.torn !== undefined) problems.push(`unreadable journal lines after the kill: ${[...killed.bad, killed.torn].filter(Boolean).join(', ')}`);
  // The world as the dead process left it, before anything comes to repair it.
  for (const v of spec.invariant?.(readWorld(home, spec), before) ?? []) problems.push(`after the kill, before the resume: ${v}`);

  const section = result.killed && killed.records.at(-1)?.type !== 'run-finished' ? openSection(killed.records) : undefined;
  let late: KillCase | undefined;
  if (section) {
    // The same dead run, found by a nightshift that came back after the budget: a copy, so both resumes start from one kill.
    const lateHome = `${home}-late`;
    cpSync(home, lateHome, { recursive: true });
    ageWorld(lateHome, spec, section.deadlineVt + 1000);
    late = { ...result, pastBudget: true, problems: [] };
    await resumeAndCheck(spec, lateHome, runId, killed.records, late, expected, before, cluster, run);
  }
  await resumeAndCheck(spec, home, runId, killed.records, result, expected, before, cluster, run);
  return { main: result, ...(late ? { late } : {}) };
}

/** Resumes the killed run `runId` in `home` (unless it had finished) and checks how it ended, into `result`. */
async function resumeAndCheck(
  spec: KillSpec,
  home: string,
  runId: string,
  killedRecords: RunRecord[],
  result: KillCase,
  expected: Expected,
  before: WorldState,
  cluster: string,
  run: Runner,
): Promise<void> {
  const { reference } = expected;
  const problems = result.problems;
  const finishedAlready = killedRecords.at(-1)?.type === 'run-finished';
  if (!finishedAlready) {
    // No --speed: a resume on the sim runs at the speed the run was started with.
    const resume = await run(home, { scenario: spec.scenario, seed: spec.seed }, ['resume', runId, '--yes', ...(spec.confirm ?? []).flatMap((c) => ['--confirm', c])]);
    result.resumed = true;
    const last = journalsOf(home).get(runId)?.records.at(-1);
    const expectedCode = last?.type === 'run-finished' && last.status === 'succeeded' ? 0 : 1;
    if (resume.code !== expectedCode) problems.push(`resume exited ${resume.code ?? resume.signal}, not ${expectedCode}:\n${resume.out.split('\n').slice(-15).join('\n')}`);
  }

  const after = journalsOf(home);
  const story = after.get(runId)!;
  if (after.size !== 1) problems.push(`journals: ${[...after.keys()].join(', ')} (the resume started another run)`);
  if (story.bad.length > 0 || story.torn !== undefined) problems.push(`unreadable journal lines at the end: ${[...story.bad, story.torn].filter(Boolean).join(', ')}`);
  const last = story.records.at(-1);
  const status = last?.type === 'run-finished' ? last.status : undefined;
  // The fleet's time only goes forward, across a kill too: a postmortem timeline must not run backwards.
  for (let i = 1; i < story.records.length; i++) {
    if (story.records[i]!.vt < story.records[i - 1]!.vt) {
      problems.push(`fleet time goes back ${story.records[i - 1]!.vt - story.records[i]!.vt} ms at record ${i + 1} (${recordName(story.records[i])}) after ${recordName(story.records[i - 1])}`);
      break;
    }
  }

  const world = readWorld(home, spec);
  for (const v of spec.invariant?.(world, before) ?? []) problems.push(`at the end: ${v}`);
  const facts = spec.facts(world, before);
  const effects = spec.effects(world, before);
  for (const e of duplicates(effects)) problems.push(`effect happened twice: ${e}`);
  const sameEffects = (want: string[]) => isDeepStrictEqual([...effects].sort(), [...want].sort());
  const why = last?.type === 'run-finished' ? `${last.status}${last.reason ? ` (${last.reason})` : ''}` : `without run-finished (last: ${recordName(last)})`;
  if (status === reference.status && isDeepStrictEqual(facts, reference.facts) && sameEffects(reference.effects)) {
    result.ended = 'as uninterrupted';
  } else if (expected.restored && status !== undefined && expected.restored.statuses.includes(status) && isDeepStrictEqual(facts, expected.restored.facts) && sameEffects([])) {
    result.ended = 'restored';
  } else {
    const restoredToo = expected.restored ? `, nor ${expected.restored.statuses.join('/')} with the world as before the run (${JSON.stringify(expected.restored.facts)}, no effects)` : '';
    problems.push(
      `ended ${why} with world facts ${JSON.stringify(facts)} and effects ${JSON.stringify(effects)}; not as uninterrupted (${reference.status}, ${JSON.stringify(reference.facts)}, ${JSON.stringify(reference.effects)})${restoredToo}`,
    );
  }

  const stateDir = stateDirOf(home);
  const holder = await new SimLock(lockDirOf(stateDir, spec.scenario, spec.seed, null)).holder({ name: cluster });
  if (holder) problems.push(`cluster ${cluster} is still locked by run ${holder.runId}`);
  const sectionLock = `${statePathOf(stateDir, spec.scenario, spec.seed, null)}.lock`;
  if (existsSync(sectionLock)) problems.push(`the world's section lock ${sectionLock} is left behind`);

  const shown = await show(stateDir, runId);
  if (!shown.includes(runId)) problems.push(`show ${runId} printed no timeline:\n${shown}`);
  if (/note: .*(damaged|cut short)/.test(shown)) problems.push(`show ${runId} found damage:\n${shown}`);
}

/** `nightshift show RUN`, in this process: only the journal is read. */
async function show(stateDir: string, runId: string): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const ctx: CommandContext = {
    io: { stdout: out, stderr: out, isInteractive: false },
    loadConfig: async () => ({ stateDir }) as Config,
    openBackends: () => Promise.reject(new Error('show opens no backends')),
  };
  try {
    return await showCommand(ctx, runId, {});
  } catch (err) {
    return `show failed: ${(err as Error).message}\n${text}`;
  }
}

/** Every journal record of the reference run had a kill after it, in order, and the last case ran to its end. */
/**
 * Every record but the repeats of a step's facts, output and progress: of
 * those, the first and the last of each kind in each step. A kill after the
 * tenth poll of a job leaves what a kill after the first or the last does
 * (the job running, its offsets journaled). Points name the k-th record of a
 * type, which the other kinds of record cannot shift; how many polls a run
 * makes still varies with timing, so a repeat's point is near its kind.
 */
export function boundaryPoints(records: RunRecord[]): KillPoint[] {
  const repeats = new Set(['step-fact', 'step-output', 'step-progress']);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  records.forEach((r, i) => {
    const kind = recordName(r)!;
    if (!first.has(kind)) first.set(kind, i);
    last.set(kind, i);
  });
  // Counted within the record's step where it has one: an earlier step's count of polls varies with timing.
  const ofKind = new Map<string, number>();
  const points: KillPoint[] = [];
  records.forEach((r, i) => {
    const kind = recordName(r)!;
    const k = (ofKind.get(kind) ?? 0) + 1;
    ofKind.set(kind, k);
    // After the last record the run has ended: there is nothing left to kill.
    if (i === records.length - 1) return;
    const stepId = stepOf(r);
    if (!repeats.has(r.type) || first.get(kind) === i || last.get(kind) === i) points.push({ n: k, type: r.type, ...(stepId !== undefined ? { stepId } : {}) });
  });
  return points;
}

/**
 * With `select`: a process was killed right after every kind of record the
 * uninterrupted run wrote once per step (a step started, finished, its gate)
 * and at least once inside every step that wrote facts (a job's polls): the
 * kinds, not the numbers, since a run's count of polls varies with timing.
 */
export function expectEveryKindKilled(report: KillReport): void {
  const repeats = new Set(['step-fact', 'step-output', 'step-progress']);
  const records = report.reference.records.slice(0, -1);
  const killed = new Set(report.cases.filter((c) => c.killed).map((c) => c.after));
  const once = new Set(records.filter((r) => !repeats.has(r.type)).map((r) => recordName(r)!));
  const withFacts = new Set(records.filter((r) => r.type === 'step-fact').map((r) => (r as { stepId: string }).stepId));
  const missed = [
    ...[...once].filter((k) => !killed.has(k)),
    ...[...withFacts].filter((step) => ![...killed].some((k) => k !== undefined && k.endsWith(`:${step}`) && repeats.has(k.split(':')[0]!))).map((step) => `inside ${step}`),
  ];
  expect(missed).toEqual([]);
}

export function expectEveryRecordKilled(report: KillReport): void {
  if (report.boundaryOnly) return expectEveryKindKilled(report);
  const total = report.reference.records.length;
  const beyond = report.cases.slice(report.points.length).map((_, i) => total + i + 1);
  expect(report.cases.map((c) => c.at.n)).toEqual([...report.points, ...beyond]);
  expect(report.cases.at(-1)!.killed).toBe(false);
  expect(report.uncovered).toEqual([]);
}
