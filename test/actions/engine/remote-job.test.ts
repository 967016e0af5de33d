// A step's long command as a job, on the simulated fleet: started once,
// re-attached after a restart without repeating output, cancelled on abort,
// and not failed by a dropped connection while the job runs on.

import { afterEach, describe, expect, it } from 'vitest';
import { jobIdOf, jobOutcome, runRemoteJob, type RemoteJobOptions } from '../../../src/actions/engine/remote-job.js';
import { RunAborted, StepFailed, TransientError } from '../../../src/actions/engine/timing.js';
import type { Json, Progress, StepContext } from '../../../src/actions/engine/types.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { configSchema } from '../../../src/config/schema.js';
import type { Instance } from '../../../src/domain/types.js';
import { tempStateDir } from '../helpers.js';

const RUN = '20261121-010000-repair-ab12';
const REPAIR = 'nodetool repair -pr';
const opened: SimBackends[] = [];

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

async function openWorld(stateDir = tempStateDir()) {
  const frozen = Date.parse('2026-11-21T01:00:00Z');
  const b = await createSimBackends({ scenario: 'healthy', seed: 7, speed: 1, stateDir, realNow: () => frozen });
  opened.push(b);
  const found = await b.inventory.discover();
  const ring = found.clusters.find((c) => c.engine === 'cassandra')!;
  const nodes = ring.instanceIds.map((id) => found.instances.find((i) => i.id === id)!);
  return { b, stateDir, nodes };
}

interface Recorded {
  ctx: StepContext<unknown, Json>;
  out: { stdout: string; stderr: string };
  facts: Array<Record<string, Json>>;
  progress: Progress[];
  /** The facts merged, as the journal would give them to the next session. */
  merged(): Record<string, Json>;
}

/** A step context as the runner makes one; `previous` is what an earlier session journaled. */
function stepContext(b: SimBackends, attempt: number, previous: { facts?: Record<string, Json>; output?: string; count?: number } = {}, onFact?: (f: Record<string, Json>) => void): Recorded {
  const out = { stdout: '', stderr: '' };
  const facts: Array<Record<string, Json>> = [];
  const progress: Progress[] = [];
  const ctx = {
    backends: b,
    config: configSchema.parse({}),
    params: {},
    state: {},
    run: { id: RUN, runbook: 'repair', cluster: 'ring', startedAt: '2026-11-21T01:00:00Z', startedAtMs: 0, who: 'alice@bastion' },
    scratch: new Map<string, unknown>(),
    step: { id: 'repair', attempt },
    previous: { count: previous.count ?? attempt - 1, output: previous.output ?? '', facts: previous.facts ?? {} },
    output: (stream: 'stdout' | 'stderr', chunk: string) => (out[stream] += chunk),
    progress: (p: Progress) => progress.push(p),
    fact: (f: Record<string, Json>) => {
      onFact?.(f);
      facts.push(structuredClone(f));
    },
  } as unknown as StepContext<unknown, Json>;
  return { ctx, out, facts, progress, merged: () => Object.assign({}, previous.facts ?? {}, ...facts) };
}

/** Runs `promise` to its end, moving virtual time `stepMs` whenever nothing else can happen. */
async function onVirtualTime<T>(b: SimBackends, promise: Promise<T>, stepMs = 5_000, until?: () => boolean): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  for (let i = 0; i < 20_000 && !done && !until?.(); i++) {
    await new Promise((r) => setImmediate(r));
    if (!done && !until?.()) b.world.advance(stepMs);
  }
  return watched;
}

/** Moves virtual time `stepMs` at a time until `cond` holds (the job stays wherever it is). */
async function advanceUntil(b: SimBackends, cond: () => boolean, stepMs = 5_000): Promise<void> {
  for (let i = 0; i < 20_000 && !cond(); i++) {
    await new Promise((r) => setImmediate(r));
    if (!cond()) b.world.advance(stepMs);
  }
  expect(cond()).toBe(true);
}

/** A promise whose rejection is looked at later. */
function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

function keepRunning(): RemoteJobOptions {
  return { keepRunningOnAbort: () => true };
}

/** The job's whole output as the world holds it. */
function jobOutput(b: SimBackends, node: Instance, id: string) {
  const job = b.world.jobs().find((j) => j.node === node.id && j.id === id)!;
  return job;
}

describe('runRemoteJob on the simulated fleet', () => {
  it('records the job before starting it, starts it once, and hands over all its output', async () => {
    const { b, nodes } = await openWorld();
    const startsWhenRecorded: number[] = [];
    const rec = stepContext(b, 1, {}, (f) => {
      if ('job' in f) startsWhenRecorded.push(b.world.jobStarts().length);
    });
    const lines: string[] = [];
    const result = await onVirtualTime(b, runRemoteJob(rec.ctx, nodes[0]!, REPAIR, new AbortController().signal, { onLine: (s, l) => lines.push(`${s}:${l}`) }));
    const id = jobIdOf(RUN, 'repair', 1);
    expect(result).toMatchObject({ jobId: id, code: 0, signal: null, reattached: false });
    expect(startsWhenRecorded).toEqual([0]);
    expect(b.world.jobStarts().map((s) => [s.node, s.id])).toEqual([[nodes[0]!.id, id]]);
    const job = jobOutput(b, nodes[0]!, id);
    expect(rec.out.stdout).toBe(job.stdout);
    expect(lines).toEqual(job.stdout.trimEnd().split('\n').map((l) => `stdout:${l}`));
    expect(job.stdout.endsWith(result.stdoutTail)).toBe(true);
    expect(result.stdoutTail).toMatch(/^\[[^\n]*\n[\s\S]*Repair command #\d+ finished in .*\n$/);
    expect(rec.merged()).toMatchObject({ job: id, jobNode: nodes[0]!.id, jobOffsets: { stdout: Buffer.byteLength(job.stdout), stderr: 0 }, jobEnd: { job: id, code: 0, signal: null } });
  });

  it('after a restart, re-attaches to the running job: one start, no output twice, the tail whole', async () => {
    const { b, stateDir, nodes } = await openWorld();
    const first = stepContext(b, 1);
    const ac = new AbortController();
    const running = later(runRemoteJob(first.ctx, nodes[1]!, REPAIR, ac.signal, keepRunning()));
    await advanceUntil(b, () => (first.out.stdout.match(/progress/g) ?? []).length >= 3);
    // nightshift stops following (it is killed): the job runs on in the world.
    ac.abort(new RunAborted('killed'));
    await expect(running).rejects.toThrow(/left running/);
    const id = jobIdOf(RUN, 'repair', 1);
    expect(jobOutput(b, nodes[1]!, id).state).toBe('running');

    // A new process opens the world; the journal gives it the facts and the output so far.
    const again = await openWorld(stateDir);
    const second = stepContext(again.b, 2, { facts: first.merged(), output: first.out.stdout });
    const result = await onVirtualTime(again.b, runRemoteJob(second.ctx, nodes[1]!, REPAIR, new AbortController().signal));
    expect(result).toMatchObject({ jobId: id, code: 0, reattached: true });
    expect(again.b.world.jobStarts()).toHaveLength(1);
    const whole = jobOutput(again.b, nodes[1]!, id).stdout;
    expect(first.out.stdout + second.out.stdout).toBe(whole);
    expect(second.out.stdout.length).toBeGreaterThan(0);
    expect(whole.startsWith(first.out.stdout)).toBe(true);
    // The tail includes what the first session read: a step checking the last lines sees them all.
    expect(whole.endsWith(result.stdoutTail)).toBe(true);
    expect(result.stdoutTail.length).toBeGreaterThan(second.out.stdout.length);
  });

  it('re-attaches to a job that finished while nightshift was away, and reports it', async () => {
    const { b, nodes } = await openWorld();
    const first = stepContext(b, 1);
    const ac = new AbortController();
    const running = later(runRemoteJob(first.ctx, nodes[2]!, REPAIR, ac.signal, keepRunning()));
    await advanceUntil(b, () => first.out.stdout.includes('progress'));
    ac.abort(new RunAborted('killed'));
    await running.catch(() => undefined);
    b.world.advance(3_600_000);
    const second = stepContext(b, 2, { facts: first.merged() });
    const result = await onVirtualTime(b, runRemoteJob(second.ctx, nodes[2]!, REPAIR, new AbortController().signal));
    expect(result).toMatchObject({ code: 0, reattached: true });
    expect(b.world.jobStarts()).toHaveLength(1);
    expect(second.out.stdout).toMatch(/Repair command #\d+ finished in/);
  });

  it('a job recorded but never started (a crash in between) is started, once', async () => {
    const { b, nodes } = await openWorld();
    const facts = { job: jobIdOf(RUN, 'repair', 1), jobNode: nodes[0]!.id, jobOffsets: { stdout: 0, stderr: 0 } };
    const second = stepContext(b, 2, { facts });
    const result = await onVirtualTime(b, runRemoteJob(second.ctx, nodes[0]!, REPAIR, new AbortController().signal));
    expect(result).toMatchObject({ code: 0, reattached: false, jobId: jobIdOf(RUN, 'repair', 2) });
    expect(b.world.jobStarts()).toHaveLength(1);
  });

  it("the operator's abort cancels the job and says so", async () => {
    const { b, nodes } = await openWorld();
    const rec = stepContext(b, 1);
    const ac = new AbortController();
    const running = later(runRemoteJob(rec.ctx, nodes[0]!, REPAIR, ac.signal));
    await advanceUntil(b, () => rec.out.stdout.includes('progress'));
    ac.abort(new RunAborted('aborted by the operator'));
    const err = await running.then(() => undefined, (e: unknown) => e as Error);
    const id = jobIdOf(RUN, 'repair', 1);
    expect(err?.message).toMatch(new RegExp(`^aborted by the operator; cancelled nodetool on ${nodes[0]!.name} \\(job ${id}, pid \\d+\\): it no longer runs$`));
    expect(rec.out.stderr).toBe(`nightshift: ${err!.message}\n`);
    expect(jobOutput(b, nodes[0]!, id)).toMatchObject({ state: 'exited', code: 143 });
    expect(b.world.repairs().at(-1)!.outcome).toBe('aborted');
    expect(rec.merged().jobEnd).toMatchObject({ job: id });
  });

  it('when the cancel cannot reach the node, the error says the job may still run, where, and how to check', async () => {
    const { b, nodes } = await openWorld();
    const rec = stepContext(b, 1);
    const ac = new AbortController();
    const running = later(runRemoteJob(rec.ctx, nodes[0]!, REPAIR, ac.signal));
    await advanceUntil(b, () => rec.out.stdout.includes('progress'));
    b.world.inject({ kind: 'ssh-refused', node: nodes[0]!.id });
    ac.abort(new RunAborted('aborted by the operator'));
    const err = await running.then(() => undefined, (e: unknown) => e as Error);
    const id = jobIdOf(RUN, 'repair', 1);
    expect(err?.message).toMatch(
      new RegExp(`^aborted by the operator; cancel failed \\(connect ECONNREFUSED [0-9.]+:22\\): nodetool on ${nodes[0]!.name} \\(job ${id}, pid \\d+\\) may still run; check with: ssh .*cat ~/\\.nightshift/jobs/${id}/pid`),
    );
    expect(jobOutput(b, nodes[0]!, id).state).toBe('running');
  });

  it('polls that fail while the connection is down do not fail the step; the job runs on and is followed to its end', async () => {
    const { b, nodes } = await openWorld();
    const rec = stepContext(b, 1);
    let refused = false;
    let healed = false;
    const running = runRemoteJob(rec.ctx, nodes[1]!, REPAIR, new AbortController().signal);
    const result = await onVirtualTime(b, running, 5_000, () => {
      if (!refused && rec.out.stdout.includes('progress')) {
        b.world.inject({ kind: 'ssh-refused', node: nodes[1]!.id });
        refused = true;
      } else if (refused && !healed && rec.progress.filter((p) => /poll of the job/.test(p.message ?? '')).length >= 3) {
        b.world.heal(nodes[1]!.id);
        healed = true;
      }
      return false;
    });
    expect(healed).toBe(true);
    expect(result).toMatchObject({ code: 0 });
    expect(rec.progress.some((p) => p.message?.startsWith(`poll of the job on ${nodes[1]!.name} failed (1/5), next try in 5 s: connect ECONNREFUSED`))).toBe(true);
    expect(rec.out.stdout).toBe(jobOutput(b, nodes[1]!, jobIdOf(RUN, 'repair', 1)).stdout);
  });

  it('past the bound of failed polls the step gives up following, saying the job may still run; a retry re-attaches', async () => {
    const { b, nodes } = await openWorld();
    const ctx = stepContext(b, 1);
    const running = runRemoteJob(ctx.ctx, nodes[1]!, REPAIR, new AbortController().signal, { maxPollFailures: 3 });
    const err = await onVirtualTime(b, running, 5_000, () => {
      if (ctx.out.stdout.includes('progress') && b.world.faults().length === 0) b.world.inject({ kind: 'ssh-refused', node: nodes[1]!.id });
      return false;
    }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/^lost touch with job \S+ on \S+: 3 polls in a row failed \(last: connect ECONNREFUSED [0-9.:]+\); it may still be running there; a retry or resume re-attaches to it; check with: /);
    // The in-session retry (same run, the next attempt) follows the same job.
    b.world.heal(nodes[1]!.id);
    const retry = { ...ctx.ctx, step: { id: 'repair', attempt: 2 } } as StepContext<unknown, Json>;
    const result = await onVirtualTime(b, runRemoteJob(retry, nodes[1]!, REPAIR, new AbortController().signal));
    expect(result).toMatchObject({ code: 0, reattached: true, jobId: jobIdOf(RUN, 'repair', 1) });
    expect(b.world.jobStarts()).toHaveLength(1);
  });

  it('a failed job is reported with its code; a retry after it starts a new job', async () => {
    const { b, nodes } = await openWorld();
    b.world.inject({ kind: 'repair-fails', node: nodes[2]!.id, message: 'Stream failed' });
    const rec = stepContext(b, 1);
    const failed = await onVirtualTime(b, runRemoteJob(rec.ctx, nodes[2]!, REPAIR, new AbortController().signal));
    expect(failed).toMatchObject({ code: 2 });
    expect(failed.stderrTail).toMatch(/Stream failed/);
    const retry = { ...rec.ctx, step: { id: 'repair', attempt: 2 } } as StepContext<unknown, Json>;
    const ok = await onVirtualTime(b, runRemoteJob(retry, nodes[2]!, REPAIR, new AbortController().signal));
    expect(ok).toMatchObject({ code: 0, reattached: false, jobId: jobIdOf(RUN, 'repair', 2) });
    expect(b.world.jobStarts().map((s) => s.id)).toEqual([jobIdOf(RUN, 'repair', 1), jobIdOf(RUN, 'repair', 2)]);
  });

  it('a job lost with its host fails the step saying so; the next attempt starts anew', async () => {
    const { b, nodes } = await openWorld();
    const rec = stepContext(b, 1);
    const running = runRemoteJob(rec.ctx, nodes[0]!, REPAIR, new AbortController().signal);
    const err = await onVirtualTime(b, running, 5_000, () => {
      if (rec.out.stdout.includes('progress') && b.world.faults().length === 0) {
        b.world.inject({ kind: 'kill-node', node: nodes[0]!.id });
        b.world.heal(nodes[0]!.id);
      }
      return false;
    }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as Error).message).toMatch(new RegExp(`^${nodes[0]!.name} went down at .*; nodetool did not finish; a retry starts it again$`));
    const retry = { ...rec.ctx, step: { id: 'repair', attempt: 2 } } as StepContext<unknown, Json>;
    expect(await onVirtualTime(b, runRemoteJob(retry, nodes[0]!, REPAIR, new AbortController().signal))).toMatchObject({ code: 0, reattached: false });
  });

  it('never names the whole command in its messages (it may carry a password)', async () => {
    const { b, nodes } = await openWorld();
    const rec = stepContext(b, 1);
    const ac = new AbortController();
    const cmd = 'nodetool -u cassandra -pw S3cret repair -pr';
    const running = later(runRemoteJob(rec.ctx, nodes[0]!, cmd, ac.signal));
    await advanceUntil(b, () => rec.out.stdout.includes('progress'));
    ac.abort(new RunAborted('aborted by the operator'));
    const err = (await running.then(() => undefined, (e: unknown) => e)) as Error;
    expect(err.message).toContain('cancelled nodetool on');
    expect(err.message + rec.out.stderr + JSON.stringify(rec.facts)).not.toContain('S3cret');
  });
});

describe('jobOutcome, for isDone', () => {
  it('says none, running, then exited with the output tail, without starting anything', async () => {
    const { b, nodes } = await openWorld();
    const signal = new AbortController().signal;
    expect(await jobOutcome(stepContext(b, 1).ctx, nodes[0]!, signal)).toEqual({ kind: 'none' });
    const first = stepContext(b, 1);
    const ac = new AbortController();
    const running = later(runRemoteJob(first.ctx, nodes[0]!, REPAIR, ac.signal, keepRunning()));
    await advanceUntil(b, () => first.out.stdout.includes('progress'));
    ac.abort(new RunAborted('killed'));
    await running.catch(() => undefined);
    const resumed = stepContext(b, 1, { facts: first.merged(), output: first.out.stdout });
    expect(await jobOutcome(resumed.ctx, nodes[0]!, signal)).toMatchObject({ kind: 'running', jobId: jobIdOf(RUN, 'repair', 1) });
    // Another node: not this step's job.
    expect(await jobOutcome(resumed.ctx, nodes[1]!, signal)).toEqual({ kind: 'none' });
    b.world.advance(3_600_000);
    const done = await jobOutcome(resumed.ctx, nodes[0]!, signal);
    expect(done).toMatchObject({ kind: 'exited', code: 0 });
    expect(done.kind === 'exited' && done.stdoutTail).toMatch(/Repair command #\d+ finished in .*\n$/);
    expect(resumed.facts).toEqual([]);
    expect(resumed.out).toEqual({ stdout: '', stderr: '' });
    expect(b.world.jobStarts()).toHaveLength(1);
  });
});
