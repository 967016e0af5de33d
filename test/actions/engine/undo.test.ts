// Undo you can rely on: critical sections with a budget, undo on every way out
// of one, undo that resumes after a crash, isDone before any second attempt,
// a lock that is never left behind by a "succeeded" run, and a damaged journal
// that never makes resume act blind.

import type { ScopedName } from '../../../src/domain/scope.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHeadlessGate } from '../../../src/actions/engine/gate.js';
import { journalPath, readJournal } from '../../../src/actions/engine/journal.js';
import { resumeRun } from '../../../src/actions/engine/runner.js';
import { StepFailed, TransientError } from '../../../src/actions/engine/timing.js';
import type { Lock } from '../../../src/backends/ports.js';
import { foldRun } from '../../../src/store/runs.js';
import { drive, eventsOf, makeBackends, makeDeps, MemoryLock, tempStateDir, TestClock } from '../helpers.js';
import { runbookOf, runIt, step, type TestStep } from './test-runbook.js';

const BUDGET = 30_000;

/** A switchover in miniature: writes stop, a wait, a promotion, writes resume elsewhere. */
function writesStopped(world: { writable: boolean; promoted: boolean; undone: string[] }, over: Partial<Record<'wait' | 'promote', Partial<TestStep>>> = {}) {
  return runbookOf(() => [
    step('lock-in', { mutates: true, isDone: async () => false, run: async () => {} }),
    step('readonly', {
      title: 'old master read-only',
      danger: 'caution',
      mutates: true,
      opensSection: { name: 'writes stopped on db-1', budgetMs: BUDGET },
      run: async () => void (world.writable = false),
      isDone: async () => !world.writable,
      compensate: {
        describe: () => ['SET GLOBAL read_only=0'],
        run: async () => {
          world.writable = true;
          world.undone.push('readonly');
        },
        isDone: async () => world.writable,
      },
    }),
    step('wait', { title: 'candidate catches up', ...over.wait }),
    step('promote', {
      title: 'promote db-2',
      danger: 'caution',
      mutates: true,
      closesSection: 'writes stopped on db-1',
      run: async () => void (world.promoted = true),
      isDone: async () => world.promoted,
      compensate: {
        describe: () => ['db-2: SET GLOBAL read_only=1; CHANGE MASTER TO db-1'],
        run: async () => {
          world.promoted = false;
          world.undone.push('promote');
        },
      },
      ...over.promote,
    }),
    step('after', { title: 'tags' }),
  ]);
}

const fresh = () => ({ writable: true, promoted: false, undone: [] as string[] });

/** Keeps the journal's first `n` lines, as if the process died right after writing them. */
function cutJournal(stateDir: string, runId: string, keep: (lines: string[]) => string[]): void {
  const path = journalPath(stateDir, runId);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  writeFileSync(path, keep(lines).join('\n') + '\n');
}

const indexOf = (lines: string[], pred: (r: { type: string; stepId?: string; status?: string; action?: string }) => boolean) =>
  lines.findIndex((l) => pred(JSON.parse(l)));

describe('critical sections', () => {
  it('asks every question of a section once, before it opens, showing each step inside; nothing inside asks again', async () => {
    const world = fresh();
    const gate = createHeadlessGate({ yes: true });
    const asked: Array<{ stepId: string | undefined; kind: string; details: string[] }> = [];
    const recording = { ...gate, confirm: async (req: Parameters<typeof gate.confirm>[0], s: AbortSignal) => (asked.push({ stepId: req.stepId, kind: req.kind, details: req.details }), gate.confirm(req, s)) };
    const { outcome } = await runIt(writesStopped(world), recording);
    expect(outcome.status).toBe('succeeded');
    expect(asked.map((a) => a.stepId)).toEqual(['readonly']);
    const details = asked[0]!.details.join('\n');
    expect(details).toContain('one answer, 3 steps: writes stopped on db-1, 30 s at most');
    expect(details).toContain('2. candidate catches up');
    expect(details).toContain('3. promote db-2 [caution]');
  });

  it('declining the section\'s gate stops the run before writes stop: nothing to undo', async () => {
    const world = fresh();
    const gate = createHeadlessGate({ yes: true });
    const decline = { ...gate, confirm: async (req: Parameters<typeof gate.confirm>[0], s: AbortSignal) => (req.stepId === 'readonly' ? { approved: false, via: 'operator' } : gate.confirm(req, s)) };
    const { outcome, view } = await runIt(writesStopped(world), decline);
    expect(outcome.status).toBe('paused');
    expect(outcome.reason).toContain('stopped before "old master read-only"');
    expect(world).toMatchObject({ writable: true, promoted: false, undone: [] });
    expect(view.undo).toBeUndefined();
  });

  it('past its budget the step inside is stopped and the section undone; the run fails saying so', async () => {
    const world = fresh();
    const rb = writesStopped(world, { wait: { run: (ctx, signal) => ctx.backends.clock.sleep(10 * 60_000, signal) } });
    const { outcome, view, clock } = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/critical section "writes stopped on db-1" ran over its budget of 30 s/);
    expect(world).toMatchObject({ writable: true, promoted: false, undone: ['readonly'] });
    const opened = view.steps.find((s) => s.id === 'readonly')!.startedVt!;
    // Stopped at the deadline, not when the 10-minute wait would have ended.
    expect(clock.now() - opened).toBeLessThan(BUDGET + 5_000);
  });

  it('a section closed in time costs nothing: the run succeeds and nothing is undone', async () => {
    const world = fresh();
    const { outcome, view } = await runIt(writesStopped(world), createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('succeeded');
    expect(world).toMatchObject({ writable: false, promoted: true, undone: [] });
    expect(view.section?.state).toBe('closed');
  });

  it('a crash inside the section, resumed after its budget, undoes it instead of going on', async () => {
    const world = fresh();
    const rb = writesStopped(world);
    const { outcome, stateDir, clock } = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('succeeded');
    // Died right after "readonly" finished: writes stopped, nothing promoted.
    cutJournal(stateDir, outcome.runId, (lines) => lines.slice(0, indexOf(lines, (r) => r.type === 'step-finished' && r.stepId === 'readonly') + 1));
    Object.assign(world, { writable: false, promoted: false });
    clock.advance(BUDGET * 2);
    const deps = makeDeps(makeBackends(clock, { lock: new MemoryLock() }), createHeadlessGate({ yes: true }), stateDir);
    const resumed = await drive(clock, resumeRun(rb, outcome.runId, deps, new AbortController().signal));
    expect(resumed.status).toBe('failed');
    expect(resumed.reason).toContain('while the run was interrupted');
    expect(world).toMatchObject({ writable: true, promoted: false, undone: ['readonly'] });
  });
});

describe('a kill between the closing step and the record that closes its section', () => {
  it('resumes forward: the section is closed, the finished promotion is not undone, even past the budget', async () => {
    const world = fresh();
    const rb = writesStopped(world);
    const { outcome, stateDir, clock } = await runIt(rb, createHeadlessGate({ yes: true }));
    // Died right after "promote" finished, before the section's "closed" record.
    cutJournal(stateDir, outcome.runId, (lines) => lines.slice(0, indexOf(lines, (r) => r.type === 'step-finished' && r.stepId === 'promote') + 1));
    Object.assign(world, { writable: false, promoted: true, undone: [] });
    clock.advance(BUDGET * 2);
    const deps = makeDeps(makeBackends(clock, { lock: new MemoryLock() }), createHeadlessGate({ yes: true }), stateDir);
    const resumed = await drive(clock, resumeRun(rb, outcome.runId, deps, new AbortController().signal));
    expect(resumed.status, resumed.reason).toBe('succeeded');
    expect(world).toMatchObject({ writable: false, promoted: true, undone: [] });
  });
});

describe('undo after a crash', () => {
  it('a crash during the undo resumes into the undo, never forward, and never undoes twice', async () => {
    const world = fresh();
    const rb = writesStopped(world, { promote: { run: async () => { world.promoted = true; throw new StepFailed('promotion refused'); } } });
    const first = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(first.outcome.status).toBe('failed');
    expect(world.undone).toEqual(['promote', 'readonly']);
    // Died during the second compensation (readonly), after the first was done.
    cutJournal(first.stateDir, first.outcome.runId, (lines) =>
      lines.slice(0, indexOf(lines, (r) => r.type === 'compensation' && r.stepId === 'readonly' && r.status === 'started') + 1),
    );
    Object.assign(world, { writable: true, promoted: false, undone: [] });
    const deps = makeDeps(makeBackends(first.clock, { lock: new MemoryLock() }), createHeadlessGate({ yes: true }), first.stateDir);
    const resumed = await drive(first.clock, resumeRun(rb, first.outcome.runId, deps, new AbortController().signal));
    expect(resumed.status).toBe('failed');
    expect(resumed.reason).toContain('promotion refused');
    // readonly's undo was already in effect (isDone): not run again; promote's was finished before the crash.
    expect(world.undone).toEqual([]);
    expect(eventsOf(deps.events, 'compensation').map((c) => `${c.stepId}:${c.status}:${c.via ?? ''}`)).toEqual(['readonly:ok:is-done']);
    expect(eventsOf(deps.events, 'step-started')).toEqual([]);
  });
});

describe('isDone before any second attempt', () => {
  it('a transient failure after the effect happened is not retried blind', async () => {
    let runs = 0;
    let effect = 0;
    const rb = runbookOf(() => [
      step('create-volume', {
        mutates: true,
        retry: { attempts: 3, backoffMs: 1_000 },
        run: async () => {
          runs += 1;
          effect += 1;
          throw new TransientError('connection reset after the API call');
        },
        isDone: async () => effect > 0,
      }),
    ]);
    const { outcome, view } = await runIt(rb, createHeadlessGate({}));
    expect(outcome.status).toBe('succeeded');
    expect({ runs, effect }).toEqual({ runs: 1, effect: 1 });
    expect(view.steps[0]).toMatchObject({ status: 'ok', via: 'is-done' });
  });

  it('isDone sees the facts the failed attempt recorded', async () => {
    const seen: unknown[] = [];
    const rb = runbookOf(() => [
      step('job', {
        mutates: true,
        retry: { attempts: 2, backoffMs: 1 },
        run: async (ctx) => {
          ctx.fact({ job: 'j-1' });
          throw new TransientError('dropped');
        },
        isDone: async (ctx) => {
          seen.push(ctx.previous.facts.job);
          return false;
        },
      }),
    ]);
    await runIt(rb, createHeadlessGate({}));
    expect(seen).toEqual(['j-1']);
  });
});

class FlakyLock extends MemoryLock {
  constructor(private failures: number) {
    super();
  }
  override async release(cluster: ScopedName, runId: string): Promise<void> {
    if (this.failures-- > 0) throw new Error('AWS is throttling: Rate exceeded');
    return super.release(cluster, runId);
  }
}

describe('the lock at the end of a run', () => {
  it('a release that fails for good never ends "succeeded": the run says the lock is held and how to clear it', async () => {
    const lock = new FlakyLock(100);
    const rb = runbookOf(() => [step('a', { mutates: true, isDone: async () => false })]);
    const { outcome, view } = await runIt(rb, createHeadlessGate({}), { lock });
    expect(outcome.status).toBe('succeeded-lock-held');
    expect(outcome.reason).toContain('nightshift unlock c1 --confirm c1');
    expect(view.status).toBe('succeeded-lock-held');
    expect(lock.held.size).toBe(1);
  });

  it('a release that fails a few times is retried with backoff and the run succeeds', async () => {
    const lock: Lock & { held: Map<string, unknown> } = new FlakyLock(2);
    const rb = runbookOf(() => [step('a', { mutates: true, isDone: async () => false })]);
    const { outcome, view } = await runIt(rb, createHeadlessGate({}), { lock: lock as MemoryLock });
    expect(outcome.status).toBe('succeeded');
    expect(lock.held.size).toBe(0);
    expect(view.lock?.action).toBe('released');
  });
});

describe('a damaged journal', () => {
  async function damagedRun(isDone: () => boolean) {
    let runs = 0;
    const rb = runbookOf(() => [
      step('repair', { mutates: true, run: async () => void (runs += 1), isDone: async () => isDone() }),
      step('tag', { mutates: true, run: async () => {}, isDone: async () => false }),
    ]);
    const first = await runIt(rb, createHeadlessGate({}));
    // The repair's finish record is damaged in the middle of the file; the run died before "tag".
    cutJournal(first.stateDir, first.outcome.runId, (lines) => {
      const fin = indexOf(lines, (r) => r.type === 'step-finished' && r.stepId === 'repair');
      const kept = lines.slice(0, indexOf(lines, (r) => r.type === 'step-started' && r.stepId === 'tag'));
      kept[fin] = kept[fin]!.slice(0, 40) + '\u0000garbage';
      return kept;
    });
    const deps = makeDeps(makeBackends(first.clock, { lock: new MemoryLock() }), createHeadlessGate({}), first.stateDir);
    const outcome = await drive(first.clock, resumeRun(rb, first.outcome.runId, deps, new AbortController().signal));
    return { outcome, runs, stateDir: first.stateDir, runId: first.outcome.runId };
  }

  it('resume refuses to run a mutating step again when a damaged line hides its outcome and isDone says no', async () => {
    const { outcome, runs, stateDir, runId } = await damagedRun(() => false);
    expect(runs).toBe(1);
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/journal line \d+ is damaged .* "step repair" .* will not run it again blind/);
    const read = readJournal(journalPath(stateDir, runId));
    expect(read.bad[0]!.text).toContain('\\u0000garbage');
  });

  it('when isDone confirms the step, resume goes on without running it again', async () => {
    const { outcome, runs } = await damagedRun(() => true);
    expect(outcome.status).toBe('succeeded');
    expect(runs).toBe(1);
  });
});

describe('resume keeps the whole story', () => {
  it('the fold of a resumed undo reads as one run', async () => {
    const world = fresh();
    const rb = writesStopped(world, { promote: { run: async () => { throw new StepFailed('nope'); } } });
    const { outcome, stateDir } = await runIt(rb, createHeadlessGate({ yes: true }));
    const view = foldRun(readJournal(journalPath(stateDir, outcome.runId)).records)!;
    expect(view.status).toBe('failed');
    expect(view.undo).toMatchObject({ status: 'failed', finished: true });
  });
});

describe('a budget whose timer never got a turn', () => {
  /** The fleet's clock runs on while timers starve (a loaded machine, a high --speed): sleepers are not woken. */
  class StarvedClock extends TestClock {
    skew = 0;
    override now(): number {
      return super.now() + this.skew;
    }
  }

  it('is still enforced: a step inside the section does not start past the deadline, and the section is undone', async () => {
    const world = fresh();
    const clock = new StarvedClock();
    const rb = writesStopped(world, { wait: { run: async () => void (clock.skew += BUDGET * 3) } });
    const { outcome } = await runIt(rb, createHeadlessGate({ yes: true }), { clock });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/critical section "writes stopped on db-1" ran over its budget of 30 s/);
    expect(world).toMatchObject({ writable: true, promoted: false, undone: ['readonly'] });
  });
});
