// The Jobs port on the simulated fleet. A job lives in the world (and so in
// its state file), not in the nightshift process that started it: a process
// that dies and a new one that opens the world find the job running, or
// finished, at the right virtual time.
//
// `nodetool repair` becomes a schedule of output fixed at its start
// (nodetool.ts, startRepair) that the world plays out as virtual time passes
// (playJobs, from the world's settle): a poll at virtual time T returns what
// had been written by T. On the way it fails as a real one would: a ring
// member down or an injected fault (exit 2, nodetool's words), Cassandra on
// its own node stopping (JMX connection closed, exit 2), its host going down
// (the process does not survive: the job is lost).
//
// mariadb-backup / xtrabackup --backup, --prepare and --move-back are
// schedules too (backup-tool.ts): their bytes land in the directory they
// write as time passes, and they fail on a full disk, a stopped source, an
// injected fault, or their host going down (lost).
//
// Any other command is run at once through the simulated shell's exec, with
// no time limit, inside the process that started it, and its result recorded
// when it answers (the simulated commands besides repair and drain answer at
// once). Such a job dies with that process: another process then finds it lost.

import { hostname } from 'node:os';
import type { Instance } from '../../domain/types.js';
import { JobError } from '../jobs/job-error.js';
import { cutOutput } from '../jobs/job-output.js';
import { isValidJobId, type CallOptions, type JobOffsets, type JobPoll, type Jobs, type JobSpec } from '../ports.js';
import { isBackupProgram, playToolEvent, startTool } from './backup-tool.js';
import { finishRecord, jmxClosedEvent, repairFailedEvents, repairFailure, startRepair } from './nodetool.js';
import { hash32, keyOf } from './prng.js';
import { parseCommand, type SimShell } from './shell.js';
import type { JobEvent, SimJob, WorldState } from './state.js';
import type { SimWorld } from './world.js';

export interface SimJobsOptions {
  /** Bytes of each stream handed over per poll. */
  pollBytes?: number;
}

const NODETOOL_GLOBAL_WITH_ARG = new Set(['-h', '-p', '-u', '-pw', '-pwf', '--host', '--port', '--username', '--password', '--password-file']);

export function jobKey(node: string, id: string): string {
  return `${node}|${id}`;
}

/**
 * Jobs run through exec in this process, by state file and job key: every
 * SimJobs of the process on that world can tell them running, and cancel them.
 */
const inProcess = new Map<string, AbortController>();

export class SimJobs implements Jobs {
  private readonly pollBytes: number;
  private readonly me = `${hostname()}:${process.pid}`;

  constructor(
    private readonly world: SimWorld,
    private readonly shell: SimShell,
    opts: SimJobsOptions = {},
  ) {
    this.pollBytes = opts.pollBytes ?? 64 * 1024;
  }

  async start(node: Instance, spec: JobSpec, opts: CallOptions = {}): Promise<{ started: boolean }> {
    checkId(node, spec.id);
    const id = await this.shell.reach(node, opts);
    const parsed = parseCommand(spec.command);
    const me = this.me;
    const how = this.world.mutate((ws, t) => {
      const key = jobKey(id, spec.id);
      if (ws.jobs[key]) return 'exists' as const;
      ws.jobStarts.push({ node: id, id: spec.id, command: spec.command, at: t, by: me });
      const job: SimJob = { node: id, id: spec.id, command: spec.command, pid: pidOf(ws, id, ws.jobStarts.length), startedAt: t, state: 'running', stdout: '', stderr: '' };
      ws.jobs[key] = job;
      const repairArgs = !parsed.error && !parsed.operator && parsed.program === 'nodetool' && ws.cassandra[id] ? repairArgsOf(parsed.args) : undefined;
      if (repairArgs && this.world.cassandraUp(id)) {
        const begun = startRepair(ws, id, repairArgs, t, me);
        if ('result' in begun) endJob(job, t, begun.result.code, begun.result.stdout, begun.result.stderr);
        else job.plan = { events: begun.events, next: 0, repair: { recordId: begun.recordId, node: id } };
        return 'scheduled' as const;
      }
      // A backup tool (--backup, --prepare, --move-back) is a schedule too (backup-tool.ts).
      if (!parsed.error && !parsed.operator && isBackupProgram(parsed.program)) {
        const begun = startTool(this.world, ws, id, parsed.program, parsed.args, t);
        if ('result' in begun) endJob(job, t, begun.result.code, begun.result.stdout, begun.result.stderr);
        else job.plan = { events: begun.events, next: 0, tool: begun.tool };
        return 'scheduled' as const;
      }
      job.ranBy = me;
      return 'exec' as const;
    });
    if (how === 'exists') return { started: false };
    if (how === 'exec') this.runNow(node, id, spec);
    return { started: true };
  }

  async poll(node: Instance, jobId: string, from: JobOffsets, opts: CallOptions = {}): Promise<JobPoll> {
    checkId(node, jobId);
    const id = await this.shell.reach(node, opts);
    const key = jobKey(id, jobId);
    let job = this.world.view().jobs[key];
    const none = { stdout: '', stderr: '', offsets: { ...from } };
    if (!job) return { state: 'absent', ...none };
    if (job.state === 'running' && job.ranBy && !inProcess.has(this.local(key)) && !isAliveElsewhere(job.ranBy, this.me)) {
      // The process that ran it ended before it did.
      job = this.world.mutate((ws, t) => {
        const j = ws.jobs[key]!;
        if (j.state === 'running') lose(j, t, `job ${jobId} ran inside nightshift process ${j.ranBy}, which ended before it finished (a simulated host runs such commands in the session)`);
        return j;
      });
    }
    const limit = this.pollBytes;
    const isFinal = job.state !== 'running';
    const take = (text: string, offset: number) => {
      const bytes = Buffer.from(text).subarray(offset, offset + limit);
      return cutOutput(bytes, limit, isFinal);
    };
    const out = take(job.stdout, from.stdout);
    const err = take(job.stderr, from.stderr);
    const output = { stdout: out.text, stderr: err.text, offsets: { stdout: from.stdout + out.bytes, stderr: from.stderr + err.bytes } };
    switch (job.state) {
      case 'running':
        return { state: 'running', pid: job.pid, ...output };
      case 'exited':
        return { state: 'exited', code: job.code ?? null, ...(job.signal ? { signal: job.signal } : {}), ...output };
      case 'lost':
        return { state: 'lost', why: job.why ?? `job ${jobId} on ${node.name} was lost`, ...output };
    }
  }

  async cancel(node: Instance, jobId: string, opts: CallOptions = {}): Promise<void> {
    checkId(node, jobId);
    const id = await this.shell.reach(node, opts);
    const key = jobKey(id, jobId);
    const w = this.world.view();
    if (w.jobs[key]?.state !== 'running') return;
    // TERM: nodetool's JVM exits at once (143); Cassandra's own repair sessions are not its to stop.
    this.world.mutate((ws, t) => {
      const job = ws.jobs[key];
      if (!job || job.state !== 'running') return;
      if (job.plan?.repair) finishRecord(ws, job.plan.repair.recordId, 'aborted', t, 'nodetool was sent TERM');
      endJob(job, t, 143, '', '', 'SIGTERM');
    });
    inProcess.get(this.local(key))?.abort(new Error(`job ${jobId} cancelled`));
  }

  private runNow(node: Instance, id: string, spec: JobSpec): void {
    const key = jobKey(id, spec.id);
    const abort = new AbortController();
    inProcess.set(this.local(key), abort);
    const record = (code: number | null, stdout: string, stderr: string, signal?: string) =>
      this.world.mutate((ws, t) => {
        const job = ws.jobs[key];
        if (job?.state === 'running') endJob(job, t, code, stdout, stderr, signal);
      });
    // 0: no time limit; a job has none.
    this.shell.exec(node, spec.command, { timeoutMs: 0, signal: abort.signal }).then(
      (r) => record(r.code, r.stdout, r.stderr, r.signal ?? undefined),
      (err: unknown) => {
        if (!abort.signal.aborted) record(1, '', `${(err as Error).message}\n`);
      },
    ).finally(() => inProcess.delete(this.local(key)));
  }

  private local(key: string): string {
    return `${this.world.statePath}|${key}`;
  }
}

// ---------------------------------------------------------------- played by the world

/** When the next scheduled job output is due (Infinity if none). */
export function nextJobEventAt(w: WorldState): number {
  let next = Infinity;
  for (const key in w.jobs) {
    const job = w.jobs[key]!;
    if (job.state !== 'running' || !job.plan) continue;
    const ev = job.plan.events[job.plan.next];
    if (ev && ev.at < next) next = ev.at;
  }
  return next;
}

/** Plays every scheduled event due by `t` (inside the world's settle: changes `w` in place). */
export function playJobs(world: SimWorld, w: WorldState, t: number): void {
  for (const key in w.jobs) {
    const job = w.jobs[key]!;
    while (job.state === 'running' && job.plan && (job.plan.events[job.plan.next]?.at ?? Infinity) <= t) playOne(world, w, job);
  }
}

function playOne(world: SimWorld, w: WorldState, job: SimJob): void {
  const plan = job.plan!;
  let ev = plan.events[plan.next]!;
  if (!world.hostUp(job.node)) {
    hostDown(w, job, ev.at);
    return;
  }
  const repair = plan.repair;
  if (ev.check && repair) {
    let instead: JobEvent[] | undefined;
    if (!world.cassandraUp(job.node)) instead = [jmxClosedEvent(ev.at, ev.check.keyspace)];
    else {
      const failure = repairFailure(world, w, job.node, ev.check.faultable, true);
      if (failure) instead = repairFailedEvents(ev.at, ev.check.command, failure);
    }
    if (instead) {
      plan.events.splice(plan.next, plan.events.length - plan.next, ...instead);
      ev = plan.events[plan.next]!;
    }
  }
  if (plan.tool) {
    playToolEvent(world, w, job, ev);
    ev = plan.events[plan.next]!;
  }
  plan.next++;
  if (ev.stdout) job.stdout += ev.stdout;
  if (ev.stderr) job.stderr += ev.stderr;
  if (ev.end) {
    if (repair) {
      const message = ev.end.code === 0 ? undefined : failureMessage(job.stderr);
      finishRecord(w, repair.recordId, ev.end.code === 0 ? 'ok' : 'failed', ev.at, message);
    }
    endJob(job, ev.at, ev.end.code, '', '', ev.end.signal);
  }
}

/**
 * The host of these nodes went down at `at` (hung, its AZ lost): their jobs'
 * processes do not survive. Called by the world as the fault is applied, so a
 * host that is down and back between two polls still loses them.
 */
export function hostWentDown(w: WorldState, nodes: Iterable<string>, at: number): void {
  const down = new Set(nodes);
  for (const key in w.jobs) {
    const job = w.jobs[key]!;
    if (job.state === 'running' && down.has(job.node)) hostDown(w, job, at);
  }
}

/** Cassandra stopped on `node` at `at`: a repair running there loses its JMX connection and gives up. */
export function cassandraStopped(w: WorldState, node: string, at: number): void {
  for (const key in w.jobs) {
    const job = w.jobs[key]!;
    const plan = job.plan;
    if (job.state !== 'running' || job.node !== node || !plan?.repair) continue;
    const keyspace = [...plan.events.slice(0, plan.next)].reverse().find((e) => e.check)?.check?.keyspace ?? 'system_auth';
    const ev = jmxClosedEvent(at, keyspace);
    job.stderr += ev.stderr ?? '';
    finishRecord(w, plan.repair.recordId, 'failed', at, 'JMX connection closed');
    endJob(job, at, 2, '', '');
  }
}

function hostDown(w: WorldState, job: SimJob, at: number): void {
  const name = w.instances[job.node]?.name ?? job.node;
  if (job.plan?.repair) finishRecord(w, job.plan.repair.recordId, 'aborted', at, `${name} went down`);
  lose(job, at, `${name} went down at ${new Date(at).toISOString()} while job ${job.id} ran (its host hung or was stopped); its process did not survive and left no exit status`);
}

function lose(job: SimJob, at: number, why: string): void {
  job.state = 'lost';
  job.why = why;
  job.endedAt = at;
  delete job.plan;
}

export function endJob(job: SimJob, at: number, code: number | null, stdout: string, stderr: string, signal?: string): void {
  job.stdout += stdout;
  job.stderr += stderr;
  job.state = 'exited';
  job.code = code;
  if (signal) job.signal = signal;
  job.endedAt = at;
  delete job.plan;
}

function failureMessage(stderr: string): string | undefined {
  return /failed with error (.*?)\. Check the logs/.exec(stderr)?.[1] ?? (/JMX connection closed/.test(stderr) ? 'JMX connection closed' : undefined);
}

/** The arguments after `repair` when the command is a nodetool repair (past its global options). */
function repairArgsOf(args: string[]): string[] | undefined {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += NODETOOL_GLOBAL_WITH_ARG.has(args[i]!) ? 2 : 1;
  return args[i] === 'repair' ? args.slice(i + 1) : undefined;
}

function pidOf(w: WorldState, node: string, n: number): number {
  return 1_000 + (hash32(w.seed, keyOf(node), n) % 60_000);
}

function checkId(node: Instance, id: string): void {
  if (!isValidJobId(id)) {
    throw new JobError(node.name, id, `job id ${JSON.stringify(id)} is not valid: path segments of letters, digits, ".", "_" and "-", such as <runId>/<step>.<attempt>`);
  }
}

/** Is the process `host:pid` (not this one) still alive? Another host's process cannot be asked: assume it is. */
export function isAliveElsewhere(ranBy: string, me: string): boolean {
  if (ranBy === me) return false;
  const [host, pid] = ranBy.split(':');
  if (host !== hostname()) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
