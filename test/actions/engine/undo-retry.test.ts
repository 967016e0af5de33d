// The undo of a critical section is tried again when it fails: given up after
// one lost answer or one lock wait, it left writes stopped on the old master
// for good (found by the switchover's fault schedules: a hung
// `SET GLOBAL read_only=0` after the write budget ran out). Each try after the
// first asks isDone, so an undo whose answer was lost is not done twice.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate } from '../../../src/actions/engine/gate.js';
import { StepFailed } from '../../../src/actions/engine/timing.js';
import { runbookOf, runIt, step } from './test-runbook.js';

/** Writes stop on db-1, then the promotion fails: the undo must make db-1 writable again. */
function failedPromotion(world: { writable: boolean; undoRuns: number }, undo: (attempt: number) => Promise<void>) {
  return runbookOf(() => [
    step('readonly', {
      title: 'old master read-only',
      danger: 'caution',
      mutates: true,
      opensSection: { name: 'writes stopped on db-1', budgetMs: 30_000 },
      run: async () => void (world.writable = false),
      isDone: async () => !world.writable,
      compensate: {
        describe: () => ['db-1: SET GLOBAL read_only=0'],
        run: async () => undo(++world.undoRuns),
        isDone: async () => world.writable,
      },
    }),
    step('promote', {
      title: 'promote db-2',
      danger: 'caution',
      mutates: true,
      closesSection: 'writes stopped on db-1',
      isDone: async () => false,
      run: async () => Promise.reject(new StepFailed('db-2 refused the promotion')),
    }),
  ]);
}

describe('the undo of a failed section', () => {
  it('tries again after a failure and restores the old master', async () => {
    const world = { writable: true, undoRuns: 0 };
    const rb = failedPromotion(world, async (n) => {
      if (n === 1) throw new Error('db-1: ERROR 1205 (HY000): Lock wait timeout exceeded');
      world.writable = true;
    });
    const { outcome, journal } = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world).toEqual({ writable: true, undoRuns: 2 });
    expect(outcome.reason).toContain('rolled back "old master read-only"');
    expect(outcome.reason).not.toContain('FAILED');
    const comps = journal.records.filter((r) => r.type === 'compensation').map((r) => (r.type === 'compensation' ? `${r.status}${r.error ? `: ${r.error}` : ''}` : ''));
    expect(comps).toEqual(['started', 'failed: db-1: ERROR 1205 (HY000): Lock wait timeout exceeded (attempt 1 of 3; trying again in 1.0 s)', 'started', 'ok']);
  });

  it('an undo that ran but lost its answer is found done, not run again', async () => {
    const world = { writable: true, undoRuns: 0 };
    const rb = failedPromotion(world, async () => {
      world.writable = true;
      throw Object.assign(new Error('db-1: channel closed before the exit status arrived'), { code: 'ECONNRESET' });
    });
    const { outcome } = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world).toEqual({ writable: true, undoRuns: 1 });
    expect(outcome.reason).toContain('rolled back "old master read-only" (found done after attempt 1)');
  });

  it('gives up after three tries and says the rollback failed', async () => {
    const world = { writable: true, undoRuns: 0 };
    const rb = failedPromotion(world, async () => {
      throw new Error('db-1: ERROR 1227 (42000): Access denied');
    });
    const { outcome } = await runIt(rb, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world).toEqual({ writable: false, undoRuns: 3 });
    expect(outcome.reason).toContain('ROLLBACK OF "old master read-only" FAILED after 3 attempts: db-1: ERROR 1227 (42000): Access denied');
  });
});
