// A step's long command as a job on the node (Jobs port): started once,
// followed by polling on the fleet clock, re-attached after a restart.
//
// What the journal holds, as step facts (later ones win):
//   job, jobNode   the job's id and node, written BEFORE the job is started,
//                  so a crash right after start still knows of it
//   jobOffsets     how far its output has been handed to ctx.output: written
//                  after each poll that brought output, so a re-attach goes on
//                  from there and repeats nothing already journaled (the
//                  journal's own copy of the output is bounded and redacted,
//                  so it cannot say where to go on from)
//   jobEnd         { job, code, signal } or { job, lost }: the job's end was
//                  seen and reported; only then may a retry start a new job
//
// A crash between the output and its offsets repeats one poll's lines at
// most; the other order would lose them.

import { JobError } from '../../backends/jobs/job-error.js';
import type { Instance } from '../../domain/types.js';
import type { JobOffsets, JobPoll } from '../../backends/ports.js';
import { ReadOnlyError } from '../../errors.js';
import { errorMessage, StepFailed, TransientError } from './timing.js';
import type { Json, StepContext } from './types.js';

/** Any step's context: the job needs only its run, step, facts and output, not its params or state. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyStepContext = StepContext<any, any>;

export interface RemoteJobOptions {
  /**
   * What to call the command in messages ("nodetool repair"); by default its
   * first word. Never the whole command: it may carry a password.
   */
  label?: string;
  /** Fleet-clock ms between polls while the job runs. */
  pollMs?: number;
  /** Each line of output as it arrives (to scan progress); never a line from before a re-attach. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Polls failing in a row (a dropped connection) before the step stops following; the job keeps running. */
  maxPollFailures?: number;
  /**
   * Whether an abort with this reason leaves the job running for a later
   * resume instead of cancelling it. By default every abort (the operator's
   * stop, a step timeout) cancels it.
   */
  keepRunningOnAbort?: (reason: unknown) => boolean;
}

export interface RemoteJobResult {
  jobId: string;
  code: number | null;
  signal: string | null;
  /** The last bytes of the job's output, including what was read before a re-attach. */
  stdoutTail: string;
  stderrTail: string;
  /** True when this call followed a job it did not start (a resume, a retry after a lost answer). */
  reattached: boolean;
}

const TAIL_BYTES = 16 * 1024;
const DEFAULT_POLL_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

interface JobFacts {
  job?: string;
  jobNode?: string;
  jobOffsets?: JobOffsets;
  jobEnd?: { job: string };
}

/** `<runId>/<stepId>.<attempt>`, with anything a job id may not hold in a step id replaced (and made unique again). */
export function jobIdOf(runId: string, stepId: string, attempt: number): string {
  const safe = (s: string) => {
    const clean = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.\.+/g, '_').replace(/^[^A-Za-z0-9]/, 'x');
    return clean === s ? s : `${clean}-${hash(s)}`;
  };
  return `${safe(runId)}/${safe(stepId)}.${attempt}`;
}

/** Runs `command` on `node` as a job of this step, or follows the one an earlier attempt left running. */
export async function runRemoteJob(
  ctx: AnyStepContext,
  node: Instance,
  command: string,
  signal: AbortSignal,
  opts: RemoteJobOptions = {},
): Promise<RemoteJobResult> {
  const follower = new Follower(ctx, node, command, signal, opts);
  return follower.run();
}

export type JobOutcome =
  /** No job of this step is recorded (or it was on another node). */
  | { kind: 'none' }
  | { kind: 'running'; jobId: string; pid: number }
  | { kind: 'exited'; jobId: string; code: number | null; signal: string | null; stdoutTail: string; stderrTail: string }
  | { kind: 'lost'; jobId: string; why: string }
  /** Recorded, but no such job on the node: it was never started (a crash between the record and the start). */
  | { kind: 'absent'; jobId: string };

/**
 * Read-only, for a step's isDone: what became of the job the journal says
 * this step started on `node`. An `exited` outcome carries the output's tail
 * (the completion line a step looks for).
 */
export async function jobOutcome(ctx: AnyStepContext, node: Instance, signal: AbortSignal): Promise<JobOutcome> {
  const facts = knownFacts(ctx);
  const jobId = facts.job;
  if (jobId === undefined || facts.jobNode !== node.id) return { kind: 'none' };
  const offsets = facts.jobOffsets ?? { stdout: 0, stderr: 0 };
  const jobs = ctx.backends.jobs;
  const tail = await readTail(ctx, node, jobId, offsets, signal);
  const p = await jobs.poll(node, jobId, offsets, { signal });
  switch (p.state) {
    case 'absent':
      return { kind: 'absent', jobId };
    case 'running':
      return { kind: 'running', jobId, pid: p.pid };
    case 'lost':
      return { kind: 'lost', jobId, why: p.why };
    case 'exited': {
      // The rest of the output, up to the end (bounded per poll).
      let out = tail.stdout + p.stdout;
      let err = tail.stderr + p.stderr;
      let at = p.offsets;
      for (let i = 0; i < 64; i++) {
        const more = await jobs.poll(node, jobId, at, { signal });
        if (more.stdout === '' && more.stderr === '') break;
        out = keepTail(out + more.stdout);
        err = keepTail(err + more.stderr);
        at = more.offsets;
      }
      return { kind: 'exited', jobId, code: p.code, signal: p.signal ?? null, stdoutTail: keepTail(out), stderrTail: keepTail(err) };
    }
  }
}

/** The step's facts as known now: the journal's, and what this session recorded since. */
function knownFacts(ctx: AnyStepContext): JobFacts {
  const session = sessionFacts(ctx);
  const merged = { ...ctx.previous.facts, ...session } as Record<string, Json>;
  const facts: JobFacts = {};
  if (typeof merged.job === 'string') facts.job = merged.job;
  if (typeof merged.jobNode === 'string') facts.jobNode = merged.jobNode;
  const o = merged.jobOffsets as { stdout?: unknown; stderr?: unknown } | undefined;
  if (o && typeof o.stdout === 'number' && typeof o.stderr === 'number') facts.jobOffsets = { stdout: o.stdout, stderr: o.stderr };
  const end = merged.jobEnd as { job?: unknown } | undefined;
  if (end && typeof end.job === 'string') facts.jobEnd = { job: end.job };
  return facts;
}

/**
 * Facts this step recorded in this session. The journal's `previous` is read
 * once per session, so an in-session retry learns of the job the failed
 * attempt left (running, or ended) only from here.
 */
function sessionFacts(ctx: AnyStepContext): Record<string, Json> {
  const key = `remote-job:${ctx.step.id}`;
  let facts = ctx.scratch.get(key) as Record<string, Json> | undefined;
  if (!facts) ctx.scratch.set(key, (facts = {}));
  return facts;
}

function recordFacts(ctx: AnyStepContext, facts: Record<string, Json>): void {
  Object.assign(sessionFacts(ctx), facts);
  ctx.fact(facts);
}

class Follower {
  private jobId = '';
  private offsets: JobOffsets = { stdout: 0, stderr: 0 };
  private reattached = false;
  private pid: number | undefined;
  private stdoutTail = '';
  private stderrTail = '';
  private readonly pollMs: number;
  private readonly maxFailures: number;
  private readonly label: string;

  constructor(
    private readonly ctx: AnyStepContext,
    private readonly node: Instance,
    private readonly command: string,
    private readonly signal: AbortSignal,
    private readonly opts: RemoteJobOptions,
  ) {
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    this.maxFailures = Math.max(1, opts.maxPollFailures ?? 5);
    this.label = opts.label ?? programOf(command);
  }

  async run(): Promise<RemoteJobResult> {
    try {
      return await this.follow();
    } catch (err) {
      if (this.signal.aborted && this.jobId) throw await this.stopped(err);
      throw err;
    }
  }

  private async follow(): Promise<RemoteJobResult> {
    const ctx = this.ctx;
    const known = knownFacts(ctx);
    const open = known.job !== undefined && known.jobEnd?.job !== known.job;
    if (open && known.jobNode !== this.node.id) {
      throw new StepFailed(
        `job ${known.job} of this step, on node ${known.jobNode}, has no recorded end, and the step now names ${this.node.name}; check that job before retrying (it may still run there)`,
      );
    }
    let first: JobPoll | undefined;
    if (open) {
      // An earlier attempt's job: follow it, never start a second one.
      this.jobId = known.job!;
      this.offsets = known.jobOffsets ?? { stdout: 0, stderr: 0 };
      first = await this.poll();
      if (first.state === 'absent') first = undefined;
      else {
        this.reattached = true;
        const tail = await readTail(ctx, this.node, this.jobId, this.offsets, this.signal).catch(() => ({ stdout: '', stderr: '' }));
        this.stdoutTail = tail.stdout;
        this.stderrTail = tail.stderr;
      }
    }
    if (!first) first = await this.start();
    return this.until(first);
  }

  /** Records the job, then starts it; a start whose answer was lost is asked again (mkdir on the node keeps it to one). */
  private async start(): Promise<JobPoll> {
    const ctx = this.ctx;
    this.jobId = jobIdOf(ctx.run.id, ctx.step.id, ctx.step.attempt);
    this.offsets = { stdout: 0, stderr: 0 };
    recordFacts(ctx, { job: this.jobId, jobNode: this.node.id, jobOffsets: { ...this.offsets } });
    const started = await this.retrying('start', () => ctx.backends.jobs.start(this.node, { id: this.jobId, command: this.command }, { signal: this.signal }));
    if (!started.started) this.reattached = true;
    return this.poll();
  }

  /** Follows the job from `p` to its end. */
  private async until(p: JobPoll): Promise<RemoteJobResult> {
    // The first polls come quickly, then every pollMs: a job that ends in a second (a prepare of a
    // small datadir, a mv on one filesystem) must not cost a whole poll interval of the step's time.
    let waits = 0;
    for (;;) {
      const hadOutput = this.deliver(p);
      switch (p.state) {
        case 'running':
          this.pid = p.pid;
          await this.ctx.backends.clock.sleep(Math.min(this.pollMs, 1_000 * 2 ** waits++), this.signal);
          p = await this.poll();
          continue;
        case 'exited':
          // Output is bounded per poll: read on at once until it is all in.
          if (hadOutput) {
            p = await this.poll();
            continue;
          }
          recordFacts(this.ctx, { jobEnd: { job: this.jobId, code: p.code, signal: p.signal ?? null } });
          return {
            jobId: this.jobId,
            code: p.code,
            signal: p.signal ?? null,
            stdoutTail: this.stdoutTail,
            stderrTail: this.stderrTail,
            reattached: this.reattached,
          };
        case 'lost':
          if (hadOutput) {
            p = await this.poll();
            continue;
          }
          recordFacts(this.ctx, { jobEnd: { job: this.jobId, lost: p.why } });
          throw new StepFailed(`${p.why}; ${this.label} did not finish; a retry starts it again`);
        case 'absent':
          throw new StepFailed(
            `job ${this.jobId} is gone from ${this.node.name} (its directory ~/.nightshift/jobs/${this.jobId} was removed?); its outcome is unknown`,
          );
      }
    }
  }

  /** Hands new output on; records how far it got. True when there was any. */
  private deliver(p: JobPoll): boolean {
    if (p.stdout === '' && p.stderr === '') return false;
    for (const [stream, text] of [
      ['stdout', p.stdout],
      ['stderr', p.stderr],
    ] as const) {
      if (text === '') continue;
      this.ctx.output(stream, text);
      if (stream === 'stdout') this.stdoutTail = keepTail(this.stdoutTail + text);
      else this.stderrTail = keepTail(this.stderrTail + text);
      if (this.opts.onLine) {
        const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
        for (const line of lines) this.opts.onLine(stream, line);
      }
    }
    this.offsets = { ...p.offsets };
    recordFacts(this.ctx, { jobOffsets: { ...p.offsets } });
    return true;
  }

  private poll(): Promise<JobPoll> {
    return this.retrying('poll', () => this.ctx.backends.jobs.poll(this.node, this.jobId, this.offsets, { signal: this.signal }));
  }

  /**
   * A dropped connection is not the job's failure: try again on the fleet
   * clock, backing off, up to maxPollFailures in a row. What the node itself
   * refused (JobError) or --read-only refused is final.
   */
  private async retrying<T>(what: 'start' | 'poll', fn: () => Promise<T>): Promise<T> {
    for (let failures = 1; ; failures++) {
      try {
        return await fn();
      } catch (err) {
        if (this.signal.aborted || err instanceof JobError || err instanceof ReadOnlyError) throw err;
        if (failures >= this.maxFailures) {
          throw new TransientError(
            `lost touch with job ${this.jobId} on ${this.node.name}: ${failures} ${what === 'start' ? 'starts' : 'polls'} in a row failed (last: ${errorMessage(err)}); ` +
              `${what === 'start' ? 'it may or may not have started' : 'it may still be running there'}; a retry or resume re-attaches to it; ` +
              `check with: ${this.checkCommand()}`,
          );
        }
        const backoff = Math.min(MAX_BACKOFF_MS, this.pollMs * 2 ** (failures - 1));
        this.ctx.progress({ message: `${what} of the job on ${this.node.name} failed (${failures}/${this.maxFailures}), next try in ${Math.round(backoff / 1000)} s: ${errorMessage(err)}` });
        await this.ctx.backends.clock.sleep(backoff, this.signal);
      }
    }
  }

  /** After an abort: cancel the job (or leave it, if asked), and say what became of it. */
  private async stopped(err: unknown): Promise<Error> {
    const reason: unknown = this.signal.reason ?? err;
    const why = errorMessage(reason);
    const where = `${this.label} on ${this.node.name} (job ${this.jobId}${this.pid !== undefined ? `, pid ${this.pid}` : ''})`;
    let said: string;
    if (this.opts.keepRunningOnAbort?.(reason)) {
      said = `${why}; left running: ${where}; resume re-attaches to it; check with: ${this.checkCommand()}`;
    } else {
      try {
        await this.ctx.backends.jobs.cancel(this.node, this.jobId);
        recordFacts(this.ctx, { jobEnd: { job: this.jobId, cancelled: why } });
        said = `${why}; cancelled ${where}: it no longer runs`;
      } catch (cancelErr) {
        said = `${why}; cancel failed (${errorMessage(cancelErr)}): ${where} may still run; check with: ${this.checkCommand()}`;
      }
    }
    // The runner reports an abort by its reason; the output carries what became of the job.
    this.ctx.output('stderr', `nightshift: ${said}\n`);
    const out = new Error(said);
    out.name = reason instanceof Error ? reason.name : 'AbortError';
    return out;
  }

  private checkCommand(): string {
    return jobCommands(this.ctx.backends.shell.loginCommand(this.node), this.jobId).check;
  }
}

/**
 * For the operator's own shell: look at a job on its node, and stop it (its
 * wrapper leads its own session, so the pid in its pid file is the group to signal).
 */
export function jobCommands(login: string, jobId: string): { check: string; stop: string } {
  const dir = `~/.nightshift/jobs/${jobId}`;
  return { check: `${login} 'cat ${dir}/pid ${dir}/exit; tail ${dir}/out'`, stop: `${login} 'kill -TERM -- -$(cut -d" " -f1 ${dir}/pid)'` };
}

/** The tail of the output before `offsets`, read again without handing it on (it is in the journal already). */
async function readTail(
  ctx: AnyStepContext,
  node: Instance,
  jobId: string,
  offsets: JobOffsets,
  signal: AbortSignal,
): Promise<{ stdout: string; stderr: string }> {
  if (offsets.stdout === 0 && offsets.stderr === 0) return { stdout: '', stderr: '' };
  const from = { stdout: Math.max(0, offsets.stdout - TAIL_BYTES), stderr: Math.max(0, offsets.stderr - TAIL_BYTES) };
  const p = await ctx.backends.jobs.poll(node, jobId, from, { signal });
  const upTo = (text: string, start: number, end: number) => {
    const bytes = Buffer.from(text).subarray(0, end - start).toString('utf8');
    // Read from the middle of a line: drop its head.
    return start > 0 ? bytes.slice(bytes.indexOf('\n') + 1) : bytes;
  };
  return { stdout: upTo(p.stdout, from.stdout, offsets.stdout), stderr: upTo(p.stderr, from.stderr, offsets.stderr) };
}

function keepTail(text: string): string {
  if (text.length <= TAIL_BYTES) return text;
  const cut = text.slice(text.length - TAIL_BYTES);
  return cut.slice(cut.indexOf('\n') + 1);
}

/** The program a command runs, past `sudo -u x`, `env`, `VAR=value` and a path: "nodetool". */
function programOf(command: string): string {
  const words = command.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || ['sudo', 'env', 'nice', 'exec'].includes(words[i]!))) {
    i++;
    while (words[i - 1] === 'sudo' && words[i]?.startsWith('-')) i += ['-u', '-g'].includes(words[i]!) ? 2 : 1;
  }
  return (words[i] ?? 'the command').split('/').pop()!;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}
