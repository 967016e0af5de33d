import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { runbookOf, runIt, step, type P, type S, type TestStep } from './test-runbook.js';
import { createHeadlessGate, createPromptGate, type Gate } from '../../../src/actions/engine/gate.js';
import { journalPath, readJournal } from '../../../src/actions/engine/journal.js';
import { executeRun, prepareRun, resumeRun } from '../../../src/actions/engine/runner.js';
import { StepFailed, TransientError } from '../../../src/actions/engine/timing.js';
import { defineRunbook, type Check, type Step } from '../../../src/actions/engine/types.js';
import type { GateRequestView } from '../../../src/actions/engine/records.js';
import { foldRun } from '../../../src/store/runs.js';
import { drive, eventsOf, makeBackends, makeDeps, MemoryLock, tempStateDir, TestClock } from '../helpers.js';

describe('gates', () => {
  const mutating = (danger: 'caution' | 'destructive') =>
    runbookOf(() => [step('a'), step('b', { danger, mutates: true, isDone: async () => false })]);

  it('headless: a caution gate without --yes stops before the step and names the flag', async () => {
    const { outcome, view } = await runIt(mutating('caution'), createHeadlessGate({}));
    expect(outcome.status).toBe('stopped');
    expect(outcome.reason).toContain('--yes');
    expect(view.steps.map((s) => s.status)).toEqual(['ok', 'pending']);
    expect(view.gates[0]).toMatchObject({ kind: 'caution', decision: 'declined' });
  });

  it('headless: --yes passes a caution gate but not a destructive one', async () => {
    const caution = await runIt(mutating('caution'), createHeadlessGate({ yes: true }));
    expect(caution.outcome.status).toBe('succeeded');
    const destructive = await runIt(mutating('destructive'), createHeadlessGate({ yes: true }));
    expect(destructive.outcome.status).toBe('stopped');
    expect(destructive.outcome.reason).toContain('--confirm c1');
  });

  it('a destructive gate needs the exact name: a wrong --confirm refuses, the right one passes', async () => {
    const wrong = await runIt(mutating('destructive'), createHeadlessGate({ confirm: ['c2'] }));
    expect(wrong.outcome.status).toBe('stopped');
    expect(wrong.view.steps[1]!.status).toBe('pending');
    const right = await runIt(mutating('destructive'), createHeadlessGate({ confirm: ['c1'] }));
    expect(right.outcome.status).toBe('succeeded');
    expect(right.view.gates.at(-1)).toMatchObject({ kind: 'destructive', decision: 'approved', via: '--confirm' });
  });

  it('the engine checks a typed name itself: a gate that approves with the wrong text is refused', async () => {
    const sloppy: Gate = {
      confirm: async () => ({ approved: true, typed: 'c1 ', via: 'operator' }),
      checkpoint: async () => ({ choice: 'continue', via: 'operator' }),
      failure: async () => ({ choice: 'abort', via: 'operator' }),
    };
    // Outer whitespace is forgiven; anything else is not.
    expect((await runIt(mutating('destructive'), sloppy)).outcome.status).toBe('succeeded');
    const wrong: Gate = { ...sloppy, confirm: async () => ({ approved: true, typed: 'C1', via: 'operator' }) };
    const out = await runIt(mutating('destructive'), wrong);
    expect(out.outcome.status).toBe('stopped');
    expect(out.outcome.reason).toContain('typed "C1", not "c1"');
  });

  it('a prompt gate waits for the answer, and its question is in the store events meanwhile', async () => {
    const asked: Array<{ id: string; req: GateRequestView }> = [];
    const gate = createPromptGate(
      (id, req) => asked.push({ id, req }),
      () => {},
    );
    const rb = mutating('caution');
    const clock = new TestClock();
    const deps = makeDeps(makeBackends(clock), gate, tempStateDir());
    const ac = new AbortController();
    const running = executeRun(await prepareRun(rb, { cluster: 'c1' }, deps, ac.signal), deps, ac.signal);
    await vi.waitFor(() => expect(asked).toHaveLength(1));
    expect(asked[0]!.req).toMatchObject({ kind: 'caution', title: 'step b' });
    gate.answer(asked[0]!.id, { approved: false });
    const outcome = await running;
    expect(outcome.status).toBe('stopped');
  });
});

describe('preflight', () => {
  const failing = (overridable: boolean): Check<P, S> => ({
    id: 'disk',
    title: 'enough disk',
    overridable,
    run: async () => ({ ok: false, reason: 'only 3 GiB free' }),
  });

  it('a failed check blocks the run with its reason; the run is journaled as blocked', async () => {
    const { outcome, view } = await runIt(runbookOf(() => [step('a')], [failing(false)]), createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('blocked');
    expect(outcome.reason).toContain('only 3 GiB free');
    expect(view.steps.every((s) => s.status === 'pending')).toBe(true);
  });

  it('an overridable check passes only with --override ID --confirm CLUSTER, and the override is journaled', async () => {
    const rb = runbookOf(() => [step('a')], [failing(true)]);
    const no = await runIt(rb, createHeadlessGate({ yes: true, confirm: ['c1'] }));
    expect(no.outcome.status).toBe('blocked');
    expect(no.outcome.reason).toContain('--override disk --confirm c1');
    const yes = await runIt(rb, createHeadlessGate({ overrides: ['disk'], confirm: ['c1'] }));
    expect(yes.outcome.status).toBe('succeeded');
    expect(yes.view.overrides).toMatchObject([{ checkId: 'disk', reason: 'only 3 GiB free' }]);
    expect(yes.view.preflight[0]!.status).toBe('overridden');
  });

  it('a check is given two real minutes: on a fleet running ×100 that is 200 fleet minutes, and the reason says real time', async () => {
    const slow = (fleetMs: number): Check<P, S> => ({ id: 'slow', title: 'slow check', run: async (ctx, signal) => (await ctx.backends.clock.sleep(fleetMs, signal), { ok: true, detail: 'done' }) });
    const prepare = async (speed: number, fleetMs: number) => {
      const clock = new TestClock(Date.parse('2026-11-21T01:00:00Z'), speed);
      const deps = makeDeps(makeBackends(clock, { lock: new MemoryLock() }), createHeadlessGate({ yes: true }), tempStateDir());
      return drive(clock, prepareRun(runbookOf(() => [step('a')], [slow(fleetMs)]), { cluster: 'c1' }, deps, new AbortController().signal));
    };
    expect((await prepare(1, 150_000)).blocked).toContain('timed out after 2m 00s');
    expect((await prepare(100, 150_000)).blocked).toBeUndefined();
    expect((await prepare(100, 13_000_000)).blocked).toContain('timed out after 2m 00s');
  });
});

describe('steps', () => {
  it('times out on the fleet clock', async () => {
    const rb = runbookOf(() => [
      step('slow', { timeoutMs: 5 * 60_000, run: (ctx) => ctx.backends.clock.sleep(60 * 60_000) }),
    ]);
    const { outcome, clock } = await runIt(rb, createHeadlessGate({}));
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('timed out after 5m 00s');
    expect(clock.now() - Date.parse('2026-11-21T01:00:00Z')).toBe(5 * 60_000);
  });

  it('retries transient errors with backoff, not other errors', async () => {
    let calls = 0;
    const flaky = runbookOf(() => [
      step('flaky', {
        retry: { attempts: 3, backoffMs: 1000 },
        run: async () => {
          calls++;
          if (calls < 3) throw new TransientError('connection reset');
        },
      }),
    ]);
    const ok = await runIt(flaky, createHeadlessGate({}));
    expect(ok.outcome.status).toBe('succeeded');
    expect(calls).toBe(3);
    expect(eventsOf(ok.journal.records, 'step-retry').map((r) => r.delayMs)).toEqual([1000, 2000]);
    expect(eventsOf(ok.journal.records, 'step-started').map((r) => r.attempt)).toEqual([1, 2, 3]);

    calls = 0;
    const hard = runbookOf(() => [
      step('hard', {
        retry: { attempts: 3, backoffMs: 1000 },
        run: async () => {
          calls++;
          throw new StepFailed('exit 2');
        },
      }),
    ]);
    const failed = await runIt(hard, createHeadlessGate({}));
    expect(failed.outcome.status).toBe('failed');
    expect(calls).toBe(1);
  });

  it('verify failing fails the step, even though run succeeded', async () => {
    const rb = runbookOf(() => [step('v', { verify: async () => ({ ok: false, reason: 'tag not there' }) })]);
    const { outcome } = await runIt(rb, createHeadlessGate({}));
    expect(outcome.reason).toContain('post-condition not met: tag not there');
  });

  it('reports progress with an ETA from the fleet clock', async () => {
    const rb = runbookOf(() => [
      step('long', {
        run: async (ctx) => {
          for (let p = 10; p <= 100; p += 10) {
            await ctx.backends.clock.sleep(60_000);
            ctx.progress({ percent: p });
          }
        },
      }),
    ]);
    const { deps } = await runIt(rb, createHeadlessGate({}));
    const progress = eventsOf(deps.events, 'step-progress');
    const at50 = progress.find((p) => p.percent === 50)!;
    // 10 % per minute since the first report: 50 % left is five minutes.
    expect(at50.etaMs).toBe(5 * 60_000);
  });

  it('a step unavailable on the target blocks the plan with the reason; a skippable one is skipped', async () => {
    const needsDns = runbookOf(() => [step('dns', { needs: ['dns'] })]);
    const blocked = await runIt(needsDns, createHeadlessGate({}));
    expect(blocked.outcome.status).toBe('blocked');
    expect(blocked.view.steps[0]!.unavailable).toMatch(/dns/);
    const optional = runbookOf(() => [step('dns', { needs: ['dns'], canSkip: 'no writer record configured' }), step('b')]);
    const skipped = await runIt(optional, createHeadlessGate({}));
    expect(skipped.outcome.status).toBe('succeeded');
    expect(skipped.view.steps.map((s) => s.status)).toEqual(['skipped', 'ok']);
  });

  it('fans out one step per node, each journaled on its own', async () => {
    const nodes = ['db-2', 'db-3', 'db-4'];
    const rb = runbookOf(() =>
      nodes.map((n) => step(`repoint:${n}`, { group: 'repoint replicas', title: `repoint ${n}`, run: async (ctx) => void ctx.state.log.push(n) })),
    );
    const { view } = await runIt(rb, createHeadlessGate({}));
    expect(view.steps.map((s) => [s.group, s.status])).toEqual(nodes.map(() => ['repoint replicas', 'ok']));
    expect((view.state as unknown as S).log).toEqual(nodes);
  });

  it('on a failure after a compensating step, undoes it (newest first) and says so', async () => {
    const undone: string[] = [];
    const rb = runbookOf(() => [
      step('readonly', { mutates: true, isDone: async () => false, compensate: { describe: () => ['SET GLOBAL read_only=0'], run: async () => void undone.push('readonly') } }),
      step('promote', { mutates: true, isDone: async () => false, compensate: { describe: () => ['re-point'], run: async () => void undone.push('promote') } }),
      step('dns', { mutates: true, isDone: async () => false, run: async () => { throw new StepFailed('DNS change rejected'); } }),
    ]);
    const { outcome, view } = await runIt(rb, createHeadlessGate({}));
    expect(outcome.status).toBe('failed');
    expect(undone).toEqual(['promote', 'readonly']);
    expect(outcome.reason).toContain('rolled back "step promote"');
    expect(view.compensations.map((c) => `${c.stepId}:${c.status}`)).toEqual(['promote:started', 'promote:ok', 'readonly:started', 'readonly:ok']);
  });

  it('aborting by signal ends the run aborted, runs the undo, and releases the lock', async () => {
    const clock = new TestClock();
    const lock = new MemoryLock();
    const undone: string[] = [];
    const rb = runbookOf(() => [
      step('x', { mutates: true, isDone: async () => false, compensate: { describe: () => ['undo x'], run: async () => void undone.push('x') } }),
      step('wait', { run: (ctx, signal) => ctx.backends.clock.sleep(3_600_000, signal) }),
    ]);
    const deps = makeDeps(makeBackends(clock, { lock }), createHeadlessGate({}), tempStateDir());
    const ac = new AbortController();
    const running = executeRun(await prepareRun(rb, { cluster: 'c1' }, deps, ac.signal), deps, ac.signal);
    await vi.waitFor(() => expect(eventsOf(deps.events, 'step-started').map((e) => e.stepId)).toContain('wait'));
    ac.abort();
    const outcome = await running;
    expect(outcome.status).toBe('aborted');
    expect(undone).toEqual(['x']);
    expect(lock.held.size).toBe(0);
  });
});

describe('lock', () => {
  const rb = runbookOf(() => [step('m', { mutates: true, isDone: async () => false })]);

  it('is taken before the first mutating step and released at the end', async () => {
    const { lock, outcome } = await runIt(rb, createHeadlessGate({}));
    expect(lock.log).toEqual([`acquire c1 ${outcome.runId}`, `release c1 ${outcome.runId}`]);
  });

  it('refuses a second run, naming the holder, its run id and start time', async () => {
    const lock = new MemoryLock();
    lock.held.set('c1', { runId: 'other-run', owner: 'bob@bastion2', startedAt: '2026-11-21T00:30:00.000Z' });
    const { outcome } = await runIt(rb, createHeadlessGate({ yes: true }), { lock });
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toContain('run other-run (bob@bastion2, started 2026-11-21T00:30:00.000Z)');
    expect(outcome.reason).toContain('--break-lock --confirm c1');
    expect(lock.held.get('c1')!.runId).toBe('other-run');
  });

  it('breaks a stale lock only with --break-lock and the typed cluster name, journaled', async () => {
    const lock = new MemoryLock();
    lock.held.set('c1', { runId: 'dead-run', owner: 'bob@b2', startedAt: '2026-11-20T00:00:00.000Z' });
    const { outcome, view } = await runIt(rb, createHeadlessGate({ breakLock: true, confirm: ['c1'] }), { lock });
    expect(outcome.status).toBe('succeeded');
    expect(lock.log[0]).toBe('break c1 dead-run');
    expect(view.gates.find((g) => g.kind === 'break-lock')).toMatchObject({ decision: 'approved' });
  });
});

describe('checkpoints and resume', () => {
  it('headless pauses at a checkpoint without --yes, keeps the lock, and resumes past it', async () => {
    const clock = new TestClock();
    const lock = new MemoryLock();
    const stateDir = tempStateDir();
    const ran: string[] = [];
    const steps = () => [
      step('one', { mutates: true, isDone: async () => false, run: async () => void ran.push('one') }),
      step('cp', { kind: 'checkpoint', title: 'check the replacement', mutates: false }),
      step('two', { mutates: true, isDone: async () => false, run: async () => void ran.push('two') }),
    ];
    const rb = runbookOf(steps);
    const first = await runIt(rb, createHeadlessGate({}), { clock, lock, stateDir });
    expect(first.outcome.status).toBe('paused');
    expect(first.outcome.reason).toContain(`nightshift resume ${first.outcome.runId}`);
    expect(lock.held.get('c1')?.runId).toBe(first.outcome.runId);

    const deps = makeDeps(makeBackends(clock, { lock }), createHeadlessGate({ yes: true }), stateDir);
    const out = await drive(clock, resumeRun(rb, first.outcome.runId, deps, new AbortController().signal));
    expect(out.status).toBe('succeeded');
    expect(ran).toEqual(['one', 'two']);
    expect(lock.held.size).toBe(0);
  });

  it('never runs a done step twice: an interrupted mutating step is asked isDone first', async () => {
    const clock = new TestClock();
    const lock = new MemoryLock();
    const stateDir = tempStateDir();
    const effects: string[] = [];
    let isApplied = false;
    const steps = (): TestStep[] => [
      step('a', { mutates: true, isDone: async () => false, run: async () => void effects.push('a') }),
      step('b', {
        mutates: true,
        isDone: async () => isApplied,
        run: async (_ctx, signal) => {
          effects.push('b');
          isApplied = true;
          // The session dies here: the promise never settles.
          await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('x'))));
        },
      }),
      step('c', { mutates: true, isDone: async () => false, run: async () => void effects.push('c') }),
    ];
    const rb = runbookOf(steps);
    const deps1 = makeDeps(makeBackends(clock, { lock }), createHeadlessGate({}), stateDir);
    const prepared = await prepareRun(rb, { cluster: 'c1' }, deps1, new AbortController().signal);
    void executeRun(prepared, deps1, new AbortController().signal);
    await vi.waitFor(() => expect(effects).toEqual(['a', 'b']));

    const before = foldRun(readJournal(journalPath(stateDir, prepared.runId)).records)!;
    expect(before.status).toBe('running');
    expect(before.steps.map((s) => s.status)).toEqual(['ok', 'running', 'pending']);

    const deps2 = makeDeps(makeBackends(clock, { lock }), createHeadlessGate({}), stateDir);
    const out = await drive(clock, resumeRun(rb, prepared.runId, deps2, new AbortController().signal));
    expect(out.status).toBe('succeeded');
    expect(effects).toEqual(['a', 'b', 'c']);
    const after = foldRun(readJournal(journalPath(stateDir, prepared.runId)).records)!;
    expect(after.steps.map((s) => `${s.id}:${s.status}:${s.via}`)).toEqual(['a:ok:run', 'b:ok:is-done', 'c:ok:run']);
    expect(eventsOf(deps2.events, 'lock')[0]).toMatchObject({ action: 'held' });
  });

  it('refuses to resume a finished run', async () => {
    const rb = runbookOf(() => [step('a')]);
    const { outcome, stateDir, clock } = await runIt(rb, createHeadlessGate({}));
    const deps = makeDeps(makeBackends(clock), createHeadlessGate({}), stateDir);
    await expect(resumeRun(rb, outcome.runId, deps, new AbortController().signal)).rejects.toThrow(/already finished \(succeeded\)/);
  });

  it('journals secrets redacted: params, commands and output', async () => {
    const rb = runbookOf(() => [
      step('sql', {
        describe: () => ["mysql -uroot -pRootPw -e \"CHANGE MASTER TO MASTER_PASSWORD='ReplPw'\""],
        run: async (ctx) => ctx.output('stdout', 'connecting with aws_secret_access_key=AKsecretXYZ\nconfigured-secret-123 appears\n'),
      }),
    ]);
    const clock = new TestClock();
    const stateDir = tempStateDir();
    const deps = makeDeps(makeBackends(clock), createHeadlessGate({}), stateDir);
    deps.config.secrets = ['configured-secret-123'];
    const ac = new AbortController();
    const outcome = await drive(clock, executeRun(await prepareRun(rb, { cluster: 'c1' }, deps, ac.signal), deps, ac.signal));
    const raw = readFileSync(journalPath(stateDir, outcome.runId), 'utf8');
    for (const secret of ['RootPw', 'ReplPw', 'AKsecretXYZ', 'configured-secret-123']) expect(raw).not.toContain(secret);
    // ...and the live events the screens and --json get are redacted too.
    expect(JSON.stringify(deps.events)).not.toContain('AKsecretXYZ');
  });
});
