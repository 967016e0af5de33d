// A tiny runbook for engine tests: steps that log when they run, and a
// helper that prepares, drives on virtual time and reads the journal back.

import { z } from 'zod';
import type { Gate } from '../../../src/actions/engine/gate.js';
import { journalPath, readJournal } from '../../../src/actions/engine/journal.js';
import { executeRun, prepareRun } from '../../../src/actions/engine/runner.js';
import { defineRunbook, type Check, type Step } from '../../../src/actions/engine/types.js';
import { foldRun } from '../../../src/store/runs.js';
import { drive, makeBackends, makeDeps, MemoryLock, tempStateDir, TestClock } from '../helpers.js';

export interface S {
  log: string[];
}
export type P = { cluster: string };

export type TestStep = Step<P, S>;

/** A step that records when it runs; override what you need. */
export function step(id: string, over: Partial<TestStep> = {}): TestStep {
  return {
    id,
    title: `step ${id}`,
    danger: 'read',
    mutates: false,
    describe: () => [`do ${id}`],
    run: async (ctx) => {
      ctx.state.log.push(id);
    },
    ...over,
  };
}

export function runbookOf(steps: () => TestStep[], checks: Array<Check<P, S>> = []) {
  return defineRunbook<P, S>({
    name: 'test',
    title: 'Test runbook',
    summary: 'for tests',
    params: z.object({ cluster: z.string() }),
    cluster: (p) => p.cluster,
    initialState: () => ({ log: [] }),
    preflight: () => checks,
    plan: () => steps(),
  });
}

export async function runIt(rb: ReturnType<typeof runbookOf>, gate: Gate, opts: { clock?: TestClock; lock?: MemoryLock; stateDir?: string } = {}) {
  const clock = opts.clock ?? new TestClock();
  const lock = opts.lock ?? new MemoryLock();
  const stateDir = opts.stateDir ?? tempStateDir();
  const deps = makeDeps(makeBackends(clock, { lock }), gate, stateDir);
  const ac = new AbortController();
  const prepared = await prepareRun(rb, { cluster: 'c1' }, deps, ac.signal);
  const outcome = await drive(clock, executeRun(prepared, deps, ac.signal));
  const journal = readJournal(journalPath(stateDir, outcome.runId));
  return { outcome, deps, journal, view: foldRun(journal.records)!, lock, clock, stateDir };
}

