// What a run holds for its whole life (a group's processes suspended) is given
// back at every end but a pause: a stop gives it back and undoes nothing else;
// a step whose failure may still end well offers a pause, and a headless run
// takes it, keeping the lock and what it holds for `resume`.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHeadlessGate, type Gate } from '../../../src/actions/engine/gate.js';
import { journalPath } from '../../../src/actions/engine/journal.js';
import { resumeRun } from '../../../src/actions/engine/runner.js';
import { StepFailed } from '../../../src/actions/engine/timing.js';
import { drive, makeBackends, makeDeps, MemoryLock } from '../helpers.js';
import { runbookOf, runIt, step } from './test-runbook.js';

interface World {
  suspended: boolean;
  terminated: string[];
  undone: string[];
  /** How many times the wait fails before it succeeds. */
  failures: number;
}

const fresh = (failures = 0): World => ({ suspended: false, terminated: [], undone: [], failures });

function rotation(world: World) {
  return runbookOf(() => [
    step('suspend', {
      mutates: true,
      holds: 'AZRebalance suspended on g1',
      run: async () => void (world.suspended = true),
      isDone: async () => world.suspended,
      compensate: {
        describe: () => ['ResumeProcesses g1 AZRebalance'],
        run: async () => {
          world.suspended = false;
          world.undone.push('suspend');
        },
        isDone: async () => !world.suspended,
      },
    }),
    step('terminate', {
      mutates: true,
      run: async () => void world.terminated.push('i-1'),
      isDone: async () => world.terminated.includes('i-1'),
      // An undo that must not run on a stop: a stop keeps what was done.
      compensate: { describe: () => ['launch i-1 again'], run: async () => void world.undone.push('terminate') },
    }),
    step('wait', {
      pauseOnFailure: 'the replacement may still come up',
      run: async () => {
        if (world.failures > 0) {
          world.failures--;
          throw new StepFailed('no replacement InService after 20 min');
        }
      },
    }),
    step('cp', { kind: 'checkpoint', title: 'i-1 replaced', mutates: false }),
    step('resume', { mutates: true, run: async () => void (world.suspended = false), isDone: async () => !world.suspended }),
  ]);
}

const stopAtCheckpoint = (): Gate => ({ ...createHeadlessGate({ yes: true }), checkpoint: async () => ({ choice: 'stop', via: 'operator' }) });

describe('holds', () => {
  it('a stop at a checkpoint gives back what the run holds and undoes nothing else', async () => {
    const world = fresh();
    const { outcome, view, lock } = await runIt(rotation(world), stopAtCheckpoint());
    expect(outcome.status).toBe('stopped');
    expect(world).toMatchObject({ suspended: false, terminated: ['i-1'], undone: ['suspend'] });
    expect(view.undo).toMatchObject({ only: 'holds', finished: true, ok: true });
    expect(outcome.reason).toContain('gave back AZRebalance suspended on g1');
    expect(outcome.reason).not.toContain('rolled back');
    expect(lock.held.size).toBe(0);
  });

  it('a failure aborts through the whole undo, holds included', async () => {
    const world = fresh(5);
    const abortAll: Gate = { ...createHeadlessGate({ yes: true }), failure: async () => ({ choice: 'abort', via: 'operator' }) };
    const { outcome } = await runIt(rotation(world), abortAll);
    expect(outcome.status).toBe('failed');
    expect(world.undone).toEqual(['terminate', 'suspend']);
    expect(world.suspended).toBe(false);
  });

  it('a stop cut short by a crash gives back the holds on resume, and only them', async () => {
    const world = fresh();
    const { outcome, stateDir, clock } = await runIt(rotation(world), stopAtCheckpoint());
    const path = journalPath(stateDir, outcome.runId);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    // Died right after the undo record: nothing given back yet.
    const at = lines.findIndex((l) => JSON.parse(l).type === 'undo');
    writeFileSync(path, lines.slice(0, at + 1).join('\n') + '\n');
    Object.assign(world, { suspended: true, undone: [] });
    const deps = makeDeps(makeBackends(clock, { lock: new MemoryLock() }), createHeadlessGate({}), stateDir);
    const resumed = await drive(clock, resumeRun(rotation(world), outcome.runId, deps, new AbortController().signal));
    expect(resumed.status).toBe('stopped');
    expect(world).toMatchObject({ suspended: false, undone: ['suspend'], terminated: ['i-1'] });
  });
});

describe('pauseOnFailure', () => {
  it('headless, a step that offers a pause pauses: lock and holds kept; resume tries the step again and goes on', async () => {
    const world = fresh(1);
    const lock = new MemoryLock();
    const { outcome, stateDir, clock } = await runIt(rotation(world), createHeadlessGate({ yes: true }), { lock });
    expect(outcome.status).toBe('paused');
    expect(outcome.reason).toContain('paused after "step wait" failed: no replacement InService after 20 min');
    expect(outcome.reason).toContain(`nightshift resume ${outcome.runId}`);
    expect(world.suspended).toBe(true);
    expect(lock.held.get("c1")?.runId).toBe(outcome.runId);
    const deps = makeDeps(makeBackends(clock, { lock }), createHeadlessGate({ yes: true }), stateDir);
    const resumed = await drive(clock, resumeRun(rotation(world), outcome.runId, deps, new AbortController().signal));
    expect(resumed.status).toBe('succeeded');
    expect(world).toMatchObject({ suspended: false, terminated: ['i-1'], undone: [] });
  });

  it('the operator is offered retry, pause and abort, with why pausing is worth it', async () => {
    const world = fresh(1);
    let asked: { choices: string[]; details: string[] } | undefined;
    const gate: Gate = { ...createHeadlessGate({ yes: true }), failure: async (req) => ((asked = { choices: req.choices, details: req.details }), { choice: 'pause', via: 'operator' }) };
    const { outcome } = await runIt(rotation(world), gate);
    expect(outcome.status).toBe('paused');
    expect(asked?.choices).toEqual(['retry', 'pause', 'abort']);
    expect(asked?.details).toContain('pausing keeps the run: the replacement may still come up');
  });

  it('a step that offers no pause still aborts headless', async () => {
    const world = fresh(1);
    const rb = rotation(world);
    const plain = runbookOf(() => rb.plan({} as never).map((s) => (s.id === 'wait' ? { ...s, pauseOnFailure: undefined } : s)));
    const { outcome } = await runIt(plain, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world.suspended).toBe(false);
  });
});
