// Fault schedules: a runbook on the simulated fleet, in process, on a clock
// moved by hand, with faults injected at chosen commands of chosen steps —
// a command that fails, one that hangs until its time limit, one whose answer
// is lost with the channel after it ran, and the death of the nightshift
// process itself (before or after the command ran), resumed by a fresh runner
// as a new process would. While it runs, the world is read directly (never
// through nightshift) after every command and every journal record: at no
// instant may two nodes of the cluster accept writes. At the end the cluster
// must be in the new topology, or back in the old one, or the run must say
// what it left; the journal must read whole; the lock must be free unless a
// paused run keeps it on purpose.
//
// The faults sit at the ports (Shell, Dns, Inventory, Compute) the runbooks use, so
// the runbook and the engine run unchanged. A "process" is a set of wrapped
// ports and a wrapped clock: when it dies, nothing it started is ever
// answered again and none of its timers fire, so the dead runner writes
// nothing more, as a SIGKILLed one would not.

import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { createHeadlessGate } from '../../src/actions/engine/gate.js';
import { readJournal } from '../../src/actions/engine/journal.js';
import type { RunRecord, RunStatus } from '../../src/actions/engine/records.js';
import { executeRun, prepareRun, resumeRun, type EngineDeps, type RunOutcome } from '../../src/actions/engine/runner.js';
import type { AnyRunbook } from '../../src/actions/engine/types.js';
import type { Clock, Compute, Dns, ExecResult, Inventory, Lock, Shell } from '../../src/backends/ports.js';
import { CommandTimeoutError } from '../../src/backends/sim/exec-context.js';
import { createSimBackends, DEFAULT_COMMAND_TIMEOUT_MS, statePathOf, type SimBackends } from '../../src/backends/sim/index.js';
import { makeDeps } from '../actions/helpers.js';

// ---------------------------------------------------------------- schedules

/**
 * `fail`: the command exits non-zero with a MySQL error (an API call is
 * refused); `hang`: no answer until the command's time limit or the abort;
 * `lost`: the command ran, then the channel dropped; `kill`: the process dies
 * before the command is sent; `kill-after`: it dies after the command ran,
 * before its answer arrived.
 */
const EC2_REFUSAL = { name: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' };

export type FaultKind = 'fail' | 'hang' | 'lost' | 'kill' | 'kill-after';
export const FAULT_KINDS: readonly FaultKind[] = ['fail', 'hang', 'lost', 'kill', 'kill-after'];

export interface ScheduledFault {
  /**
   * A step id (`repoint:*` matches every step whose id starts with `repoint:`),
   * `undo:<step id>` for its compensation, or `resume` for what a new process
   * checks before it goes on.
   */
  at: string;
  /** The nth command (port call) made while that step or undo runs, counted across attempts and processes. */
  nth: number;
  kind: FaultKind;
  /** Kills only: fleet seconds before the new process resumes the run. */
  downSeconds?: number;
}

export type Flavour = 'mariadb' | 'mysql';

export interface Schedule {
  flavour: Flavour;
  faults: ScheduledFault[];
}

/** One runbook under fault schedules: its world, its steps, and what its end must look like. */
export interface RunbookCase {
  runbook: AnyRunbook;
  /**
   * Slots only reached after something else went wrong, and a fault that gets
   * there: an undo runs after a failure, `resume` (the new process's first
   * checks) after a kill.
   */
  triggers: Array<{ slot: string; fault: ScheduledFault }>;
  /** The step (and undo) slots a fault may target. */
  slots: readonly string[];
  /** Puts the world in the state the runbook starts from; returns the params and the cluster's roles. */
  setup(b: SimBackends, cluster: string): Promise<CaseSetup>;
  /** Checks the end state; returns the violations (empty when it holds). */
  checkEnd(end: EndFacts): Promise<string[]>;
  /** Nodes that may accept writes now, read from the world. */
  writable(b: SimBackends, cluster: string): string[];
  /** Facts read from the world at the end, for tests to look at after it is gone. */
  facts?(b: SimBackends, cluster: string, setup: CaseSetup): Promise<Record<string, unknown>>;
}

export interface CaseSetup {
  params: Record<string, unknown>;
  confirm: string[];
  /** The master when the run starts, and the node the run should promote (failover chooses it as it goes). */
  oldMaster: string;
  candidate?: string;
}

export interface EndFacts {
  b: SimBackends;
  cluster: string;
  setup: CaseSetup;
  status: RunStatus;
  reason: string;
  /** The last fault that fired outside an undo, and whether the write outage was open then. */
  endingFault?: FiredFault;
  /** The run's journal, as read at the end. */
  records: RunRecord[];
}

export interface FiredFault extends ScheduledFault {
  command: string;
  /** The critical section was open when it fired. */
  inOutage: boolean;
}

export const CLUSTERS: Record<Flavour, string> = { mariadb: 'catalog-db', mysql: 'payments-db' };

export function faultArbitrary(slots: readonly string[]): fc.Arbitrary<ScheduledFault> {
  return fc.oneof(
    fc.record({ at: fc.constantFrom(...slots), nth: fc.integer({ min: 1, max: 3 }), kind: fc.constantFrom<FaultKind>('fail', 'hang', 'lost') }),
    fc.record({ at: fc.constantFrom(...slots), nth: fc.integer({ min: 1, max: 3 }), kind: fc.constantFrom<FaultKind>('kill', 'kill-after'), downSeconds: fc.constantFrom(0, 45) }),
  );
}

export function scheduleArbitrary(slots: readonly string[], flavours: readonly Flavour[] = ['mariadb', 'mysql']): fc.Arbitrary<Schedule> {
  return fc.record({ flavour: fc.constantFrom(...flavours), faults: fc.array(faultArbitrary(slots), { minLength: 1, maxLength: 3 }) });
}

/**
 * Every slot × kind on its first command, once: the sweep that guarantees each
 * step met each fault. A slot only reached after something else went wrong
 * (an undo, a resume) comes after its trigger.
 */
export function firstCommandSweep(spec: Pick<RunbookCase, 'slots' | 'triggers'>, flavour: Flavour): Schedule[] {
  return spec.slots.flatMap((at) =>
    FAULT_KINDS.map((kind): Schedule => {
      const fault: ScheduledFault = { at, nth: 1, kind, ...(kind.startsWith('kill') ? { downSeconds: 0 } : {}) };
      // The first trigger whose slot matches: list the narrow ones first.
      const trigger = spec.triggers.find((t) => matches(t.slot, at))?.fault;
      return { flavour, faults: trigger ? [trigger, fault] : [fault] };
    }),
  );
}

export function describeSchedule(s: Schedule): string {
  return `${s.flavour}: ${s.faults.map((f) => `${f.kind}${f.downSeconds ? `(down ${f.downSeconds} s)` : ''} at ${f.at} #${f.nth}`).join(', ')}`;
}

// ---------------------------------------------------------------- worlds

const SCENARIO = 'healthy';
const SEED = 7;
/** The real clock never moves: only the hand-driven virtual one does. */
const FROZEN = Date.parse('2026-11-21T01:00:00Z');
const scratchRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
/** The world's state file, generated once per process and kept in memory: generating it for every schedule would cost more than the run. */
let pristine: Buffer | undefined;

async function freshWorld(): Promise<{ b: SimBackends; stateDir: string }> {
  if (!pristine) {
    const dir = mkdtempSync(join(scratchRoot, 'nightshift-faults-pristine-'));
    try {
      const b = await createSimBackends({ scenario: SCENARIO, seed: SEED, speed: 1, stateDir: dir, realNow: () => FROZEN });
      await b.close();
      pristine = readFileSync(statePathOf(dir, SCENARIO, SEED, null));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const stateDir = mkdtempSync(join(scratchRoot, 'nightshift-faults-'));
  const to = statePathOf(stateDir, SCENARIO, SEED, null);
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  writeFileSync(to, pristine, { mode: 0o600 });
  const b = await createSimBackends({ scenario: SCENARIO, seed: SEED, speed: 1, stateDir, realNow: () => FROZEN });
  return { b, stateDir };
}

// ---------------------------------------------------------------- the fault plan

/** Which step runs now (from the runner's events), how many commands each slot has made, and the faults still to fire. */
class FaultPlan {
  current: string | undefined;
  inOutage = false;
  readonly counts = new Map<string, number>();
  readonly fired: FiredFault[] = [];
  private readonly waiting: ScheduledFault[];

  constructor(faults: ScheduledFault[]) {
    this.waiting = faults.map((f) => ({ ...f }));
  }

  follow(r: RunRecord): void {
    if (r.type === 'step-started' || r.type === 'step-retry') this.current = r.stepId;
    else if (r.type === 'step-finished') this.current = undefined;
    else if (r.type === 'compensation') this.current = r.status === 'started' ? `undo:${r.stepId}` : undefined;
    // A new process first asks isDone of whatever was running when the last one died.
    else if (r.type === 'run-resumed') this.current = 'resume';
    else if (r.type === 'run-finished') this.current = undefined;
    else if (r.type === 'section') this.inOutage = r.action !== 'closed';
  }

  /** Counts one command of the current slot; the fault due at this count, if any. */
  take(command: string): FiredFault | undefined {
    const slot = this.current;
    if (slot === undefined) return undefined;
    const n = (this.counts.get(slot) ?? 0) + 1;
    this.counts.set(slot, n);
    const i = this.waiting.findIndex((f) => f.nth === n && matches(f.at, slot));
    if (i < 0) return undefined;
    const [f] = this.waiting.splice(i, 1);
    const fired: FiredFault = { ...f!, at: slot, command, inOutage: this.inOutage };
    this.fired.push(fired);
    return fired;
  }
}

function matches(pattern: string, slot: string): boolean {
  return pattern.endsWith('*') ? slot.startsWith(pattern.slice(0, -1)) : pattern === slot;
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** One nightshift process: its own view of the ports and the clock, all silenced when it dies. */
class Process {
  alive = true;
  readonly killed: Promise<'killed'>;
  private onKilled!: (v: 'killed') => void;
  readonly backends: SimBackends;

  constructor(
    private readonly world: SimBackends,
    private readonly plan: FaultPlan,
    private readonly check: (where: string) => void,
  ) {
    this.killed = new Promise((r) => (this.onKilled = r));
    this.backends = {
      ...world,
      clock: this.clock(world.clock),
      shell: this.shell(world.shell),
      dns: this.dns(world.dns!),
      inventory: this.inventory(world.inventory),
      compute: this.compute(world.compute!),
      lock: this.lock(world.lock),
    } as SimBackends;
  }

  die(): Promise<never> {
    this.alive = false;
    this.onKilled('killed');
    return never();
  }

  /** Settles as `p` does while the process lives; never once it is dead. */
  private live<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      p.then(
        (v) => this.alive && resolve(v),
        (e: unknown) => this.alive && reject(e),
      );
    });
  }

  private clock(base: Clock): Clock {
    return {
      speed: base.speed,
      now: () => base.now(),
      catchUp: (v) => base.catchUp?.(v),
      sleep: (ms, signal) => (this.alive ? this.live(base.sleep(ms, signal)) : never()),
    };
  }

  /** Hangs as a silent host does: until the caller's limit (then a timeout) or its abort. */
  private async hang(limitMs: number, signal: AbortSignal | undefined, timeout: () => Error): Promise<never> {
    await this.live(this.world.clock.sleep(limitMs, signal));
    throw timeout();
  }

  /** The port call `run`, with the fault due at it (if any) applied. */
  private async call<T>(what: string, run: () => Promise<T>, faults: { fail: () => T | Promise<T>; hang: () => Promise<never>; lost: () => Error }): Promise<T> {
    if (!this.alive) return never();
    const fault = this.plan.take(what);
    switch (fault?.kind) {
      case undefined: {
        const out = await this.live(run());
        this.check(`after ${what}`);
        return out;
      }
      case 'fail':
        return faults.fail();
      case 'hang':
        return faults.hang();
      case 'lost':
        await this.live(run().catch(() => undefined));
        this.check(`after ${what} (its answer lost)`);
        throw faults.lost();
      case 'kill':
        return this.die();
      case 'kill-after':
        await run().catch(() => undefined);
        this.check(`after ${what} (the process died waiting for it)`);
        return this.die();
    }
  }

  private shell(base: Shell): Shell {
    return {
      loginCommand: (node) => base.loginCommand(node),
      close: () => base.close(),
      exec: (node, command, opts = {}) =>
        this.call<ExecResult>(`${node.name}: ${summary(command + (opts.stdin ? ` <<< ${opts.stdin}` : ''))}`, () => base.exec(node, command, opts), {
          fail: () => {
            const stderr = 'ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction\n';
            opts.onStderr?.(stderr);
            return { code: 1, signal: null, stdout: '', stderr };
          },
          hang: () => {
            const ms = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
            return this.hang(ms, opts.signal, () => new CommandTimeoutError(`${node.name}: command timed out after ${ms} ms: ${summary(command)}`));
          },
          lost: () => Object.assign(new Error(`${node.name}: channel closed before the command's exit status arrived (ECONNRESET)`), { code: 'ECONNRESET' }),
        }),
    };
  }

  /** An AWS API's faults: its refusal, the SDK's socket timeout on a silent endpoint, a dropped socket. */
  private awsFaults(signal: AbortSignal | undefined, refusal: { name: string; message: string }) {
    const aws = (name: string, message: string) => Object.assign(new Error(message), { name });
    return {
      fail: (): never => {
        throw aws(refusal.name, refusal.message);
      },
      hang: () => this.hang(30_000, signal, () => aws('TimeoutError', 'Connection timed out after 30000 ms')),
      lost: () => Object.assign(aws('Error', 'socket hang up'), { code: 'ECONNRESET' }),
    };
  }

  private dns(base: Dns): Dns {
    const faults = (signal: AbortSignal | undefined) =>
      this.awsFaults(signal, { name: 'AccessDenied', message: 'User: arn:aws:sts::123456789012:assumed-role/oncall/alice is not authorized to perform: route53:ChangeResourceRecordSets' });
    return {
      getRecord: (zoneId, name, type, opts) => this.call(`Dns.getRecord(${name})`, () => base.getRecord(zoneId, name, type, opts), faults(opts?.signal)),
      swapRecord: (current, next, opts) =>
        this.call(`Dns.swapRecord(${current.name} → ${next.values.join(',')})`, () => base.swapRecord(current, next, opts), faults(opts?.signal)),
    };
  }

  private inventory(base: Inventory): Inventory {
    const faults = (signal: AbortSignal | undefined) => this.awsFaults(signal, EC2_REFUSAL);
    const inv: Inventory = {
      discover: (opts) => this.call('Inventory.discover', () => base.discover(opts), faults(opts?.signal)),
      setTags: (id, tags, opts) => this.call(`Inventory.setTags(${id}, ${JSON.stringify(tags)})`, () => base.setTags(id, tags, opts), faults(opts?.signal)),
      deleteTags: (id, keys, opts) => this.call(`Inventory.deleteTags(${id})`, () => base.deleteTags(id, keys, opts), faults(opts?.signal)),
    };
    return inv;
  }

  private compute(base: Compute): Compute {
    const faults = (signal: AbortSignal | undefined) => this.awsFaults(signal, EC2_REFUSAL);
    return {
      launch: (spec, opts) => this.call(`Compute.launch(${spec.az})`, () => base.launch(spec, opts), faults(opts?.signal)),
      stop: (id, opts) => this.call(`Compute.stop(${id})`, () => base.stop(id, opts), faults(opts?.signal)),
      isolate: (id, sg, opts) => this.call(`Compute.isolate(${id}, ${sg})`, () => base.isolate(id, sg, opts), faults(opts?.signal)),
      fenceState: (id, opts) => this.call(`Compute.fenceState(${id})`, () => base.fenceState(id, opts), faults(opts?.signal)),
      find: (tags, opts) => this.call(`Compute.find(${JSON.stringify(tags)})`, () => base.find(tags, opts), faults(opts?.signal)),
      waitReady: (id, opts) => this.call(`Compute.waitReady(${id})`, () => base.waitReady(id, opts), faults(opts?.signal)),
      terminate: (id, opts) => this.call(`Compute.terminate(${id})`, () => base.terminate(id, opts), faults(opts?.signal)),
    };
  }

  /** The lock is not a fault target, but a dead process must not release it. */
  private lock(base: Lock): Lock {
    const guard = <A extends unknown[], T>(f: (...a: A) => Promise<T>) => (...a: A) => (this.alive ? this.live(f(...a)) : never<T>());
    return {
      acquire: guard(base.acquire.bind(base)),
      release: guard(base.release.bind(base)),
      holder: guard(base.holder.bind(base)),
      breakLock: guard(base.breakLock.bind(base)),
    };
  }
}

function summary(command: string): string {
  const one = command.replace(/\s+/g, ' ');
  return one.length > 100 ? `${one.slice(0, 97)}...` : one;
}

// ---------------------------------------------------------------- running one schedule

export interface ScheduleResult {
  schedule: Schedule;
  status: RunStatus | 'never-ended';
  reason: string;
  processes: number;
  fired: FiredFault[];
  violations: string[];
  virtualMs: number;
  /** What the case's `facts` read at the end. */
  facts: Record<string, unknown>;
}

/** Turns of the event loop a run may take before it counts as hung for ever (each moves the fleet 100 ms). */
const MAX_TURNS = 40_000;

/** Runs the promise to its end (or until the process dies), moving virtual time 100 ms whenever the event loop comes round. */
async function onVirtualTime<T>(b: SimBackends, work: Promise<T>, killed: Promise<'killed'>): Promise<T | 'killed' | 'timeout'> {
  let done = false;
  const watched = Promise.race([work, killed]).finally(() => (done = true));
  watched.catch(() => {});
  const clock = b.clock as unknown as { advance(ms: number): void };
  for (let i = 0; i < MAX_TURNS && !done; i++) {
    await new Promise((r) => setImmediate(r));
    if (!done) clock.advance(100);
  }
  if (!done) return 'timeout';
  return watched;
}

export async function runSchedule(spec: RunbookCase, schedule: Schedule): Promise<ScheduleResult> {
  const cluster = CLUSTERS[schedule.flavour];
  const { b, stateDir } = await freshWorld();
  const violations: string[] = [];
  const plan = new FaultPlan(schedule.faults);
  const result: ScheduleResult = { schedule, status: 'never-ended', reason: '', processes: 0, fired: plan.fired, violations, virtualMs: 0, facts: {} };
  const t0 = b.clock.now();
  try {
    const setup = await spec.setup(b, cluster);
    const seen = new Set<string>();
    const check = (where: string) => {
      const w = spec.writable(b, cluster);
      if (w.length > 1) {
        const v = `two writable masters (${w.join(', ')}) ${where}`;
        if (!seen.has(v)) violations.push(v);
        seen.add(v);
      }
    };
    const gate = createHeadlessGate({ yes: true, confirm: setup.confirm });
    const ac = new AbortController();
    let runId: string | undefined;
    let outcome: RunOutcome | 'killed' | 'timeout' | undefined;
    for (let pid = 1; pid <= 8; pid++) {
      const proc = new Process(b, plan, check);
      result.processes = pid;
      const deps: EngineDeps = makeDeps(proc.backends, gate, stateDir, {
        pid: 10_000 + pid,
        host: 'bastion',
        isProcessAlive: () => false,
        onEvent: (r: RunRecord) => {
          if (!proc.alive) return;
          plan.follow(r);
          check(`at ${r.type}${'stepId' in r && r.stepId ? ` ${r.stepId}` : ''}${r.type === 'compensation' || r.type === 'section' || r.type === 'undo' ? ` ${'status' in r ? r.status : 'action' in r ? r.action : ''}` : ''}`);
        },
      });
      if (runId === undefined) {
        // Preflight waits on the fleet's clock too (a dead master's probes time out).
        const prepared = await onVirtualTime(b, prepareRun(spec.runbook, setup.params, deps, ac.signal), never());
        if (prepared === 'timeout' || prepared === 'killed') {
          violations.push(`preflight did not end (${prepared})`);
          return result;
        }
        if (prepared.blocked) {
          violations.push(`blocked before any fault: ${prepared.blocked}`);
          return result;
        }
        runId = prepared.runId;
        outcome = await onVirtualTime(b, executeRun(prepared, deps, ac.signal), proc.killed);
      } else {
        outcome = await onVirtualTime(b, resumeRun(spec.runbook, runId, deps, ac.signal), proc.killed);
      }
      if (outcome !== 'killed') break;
      // The process is dead: whatever it left running on the nodes goes on while nobody watches.
      proc.alive = false;
      const down = plan.fired.at(-1)?.downSeconds ?? 0;
      if (down > 0) (b.clock as unknown as { advance(ms: number): void }).advance(down * 1000);
    }
    result.virtualMs = b.clock.now() - t0;
    if (outcome === 'killed') {
      violations.push('still killed after 8 processes');
      return result;
    }
    if (outcome === 'timeout' || outcome === undefined) {
      violations.push(`the run did not end within ${(MAX_TURNS * 100) / 60_000} fleet minutes`);
      return result;
    }
    result.status = outcome.status;
    result.reason = outcome.reason ?? '';
    result.facts = (await spec.facts?.(b, cluster, setup)) ?? {};
    violations.push(...checkJournal(outcome));
    violations.push(...(await checkLock(b, cluster, runId!, outcome.status)));
    const endingFault = [...plan.fired].reverse().find((f) => !f.at.startsWith('undo:'));
    violations.push(
      ...(await spec.checkEnd({
        b,
        cluster,
        setup,
        status: outcome.status,
        reason: result.reason,
        ...(endingFault ? { endingFault } : {}),
        records: readJournal(outcome.journal!).records,
      })),
    );
    return result;
  } catch (err) {
    violations.push(`threw: ${(err as Error).stack ?? String(err)}`);
    return result;
  } finally {
    await b.close();
    closeLeftOpen(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * A killed runner's journal stays open (a SIGKILL would have closed it): close
 * what is still open under the schedule's directory, or thousands of schedules
 * run out of file descriptors.
 */
function closeLeftOpen(dir: string): void {
  const fds = '/proc/self/fd';
  if (!existsSync(fds)) return;
  for (const fd of readdirSync(fds)) {
    try {
      if (readlinkSync(join(fds, fd)).startsWith(`${dir}/`)) closeSync(Number(fd));
    } catch {
      // gone meanwhile (the listing's own descriptor)
    }
  }
}

/** The journal reads whole, ends with run-finished saying what the outcome said, and its fleet time never runs back. */
function checkJournal(outcome: RunOutcome): string[] {
  const problems: string[] = [];
  if (!outcome.journal) return ['the outcome names no journal'];
  const read = readJournal(outcome.journal);
  if (read.bad.length > 0) problems.push(`journal lines damaged: ${read.bad.map((b) => `${b.line} (${b.problem})`).join(', ')}`);
  if (read.torn) problems.push(`journal's last line torn (${read.torn.line})`);
  const last = read.records.at(-1);
  if (last?.type !== 'run-finished') problems.push(`journal ends with ${last?.type ?? 'nothing'}, not run-finished`);
  else if (last.status !== outcome.status) problems.push(`journal ends ${last.status}, the run ${outcome.status}`);
  if (read.records.filter((r) => r.type === 'run-finished').length > 1) problems.push('journal has more than one run-finished');
  for (let i = 1; i < read.records.length; i++) {
    if (read.records[i]!.vt < read.records[i - 1]!.vt) {
      problems.push(`journal's fleet time goes back at record ${i + 1} (${read.records[i]!.type})`);
      break;
    }
  }
  return problems;
}

/** A paused run keeps the cluster (the runner's rule: it is half-way and will be resumed); every other end frees it. */
async function checkLock(b: SimBackends, cluster: string, runId: string, status: RunStatus): Promise<string[]> {
  const holder = await b.lock.holder({ name: cluster });
  if (status === 'paused') return holder?.runId === runId ? [] : [`paused, but the lock is ${holder ? `held by ${holder.runId}` : 'free'}: a paused run keeps it`];
  return holder ? [`ended ${status} with the lock of ${cluster} still held by ${holder.runId}`] : [];
}

// ---------------------------------------------------------------- reading the world

export interface MemberFacts {
  id: string;
  name: string;
  ip: string;
  state: string;
  readOnly: boolean;
  superReadOnly: boolean;
  source?: string;
  io?: boolean;
  sql?: boolean;
}

/** The cluster's members as the world holds them, the replication source by name. */
export function membersOf(b: SimBackends, cluster: string): MemberFacts[] {
  const w = b.world.view();
  const all = Object.values(w.instances).filter((i) => i.cluster === cluster);
  const byIp = new Map(all.map((i) => [i.privateIp, i.name]));
  return all
    .sort((a, c) => a.name.localeCompare(c.name))
    .map((i) => {
      const m = w.mysql[i.id]!;
      const r = m.replica;
      const out: MemberFacts = { id: i.id, name: i.name, ip: i.privateIp, state: i.state, readOnly: m.readOnly, superReadOnly: m.superReadOnly };
      if (r) {
        out.source = byIp.get(r.sourceHost) ?? r.sourceHost;
        out.io = r.io && !r.ioError;
        out.sql = r.sql && !r.sqlError;
      }
      return out;
    });
}

/** Accepts writes: read_only and super_read_only off, not a replica, its instance not stopped. */
export function writableIn(b: SimBackends, cluster: string): string[] {
  return membersOf(b, cluster)
    .filter((m) => !m.readOnly && !m.superReadOnly && m.source === undefined && m.state !== 'stopped' && m.state !== 'stopping' && m.state !== 'terminated')
    .map((m) => m.name);
}

/** The node names the cluster's writer record points at. */
export async function writerTargets(b: SimBackends, cluster: string): Promise<string[]> {
  const ref = b.writerDns({ name: cluster });
  if (!ref) return [];
  const rec = await b.dns!.getRecord(ref.zoneId, ref.name, ref.type);
  const members = membersOf(b, cluster);
  return (rec?.values ?? []).map((v) => members.find((m) => m.ip === v)?.name ?? v);
}

/** Every other member (but `except`) replicates from `master` with both threads running; the problems otherwise. */
export function topologyProblems(b: SimBackends, cluster: string, master: string, what: string, except: string[] = []): string[] {
  const problems: string[] = [];
  const w = writableIn(b, cluster);
  if (w.length !== 1 || w[0] !== master) problems.push(`${what}: writable ${w.length ? w.join(', ') : 'none'}, expected ${master} alone`);
  for (const m of membersOf(b, cluster)) {
    if (m.name === master || except.includes(m.name)) continue;
    if (m.source !== master) problems.push(`${what}: ${m.name} replicates from ${m.source ?? 'no one'}, expected ${master}`);
    else if (!m.io || !m.sql) problems.push(`${what}: ${m.name} IO ${m.io ? 'running' : 'stopped'}, SQL ${m.sql ? 'running' : 'stopped'}`);
  }
  return problems;
}

/** A schedule's end in words, for a failing test: what ran, what fired, what broke. */
export function explainSchedule(r: ScheduleResult): string {
  return [
    `schedule ${describeSchedule(r.schedule)} ended ${r.status}: ${r.reason}`,
    `fired: ${r.fired.map((f) => `${f.kind} at ${f.at} #${f.nth} (${f.command})`).join('; ') || 'none'}`,
    ...r.violations,
  ].join('\n  ');
}
