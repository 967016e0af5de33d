// A critical section that closed is final: a step after it that fails must not
// undo it. Found by the switchover's fault schedules: a writer record that
// could not be moved undid a finished promotion while the old master already
// replicated from the new one, and the cluster was left with no writable
// master at all. The run ends failed with the promotion standing and says what
// it did not do.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate } from '../../../src/actions/engine/gate.js';
import { StepFailed } from '../../../src/actions/engine/timing.js';
import { runbookOf, runIt, step } from './test-runbook.js';

function switchoverInMiniature(world: { writable: string[]; undone: string[] }, failAt: string) {
  const fails = (id: string) => async () => {
    if (id === failAt) throw new StepFailed(`${id} refused`);
  };
  return runbookOf(() => [
    step('readonly', {
      title: 'old master read-only',
      danger: 'caution',
      mutates: true,
      opensSection: { name: 'writes stopped on db-1', budgetMs: 30_000 },
      run: async () => void (world.writable = []),
      isDone: async () => !world.writable.includes('db-1'),
      compensate: { describe: () => ['db-1: read_only=0'], run: async () => void (world.writable.push('db-1'), world.undone.push('readonly')) },
    }),
    step('promote', {
      title: 'promote db-2',
      danger: 'caution',
      mutates: true,
      closesSection: 'writes stopped on db-1',
      run: async () => void world.writable.push('db-2'),
      isDone: async () => world.writable.includes('db-2'),
      compensate: { describe: () => ['db-2: read_only=1'], run: async () => void ((world.writable = world.writable.filter((n) => n !== 'db-2')), world.undone.push('promote')) },
    }),
    step('old-master', { title: 'old master replicates from db-2', danger: 'caution', mutates: true, isDone: async () => false, run: fails('old-master') }),
    step('dns', { title: 'writer record to db-2', danger: 'caution', mutates: true, isDone: async () => false, run: fails('dns') }),
  ]);
}

describe('a step after a closed critical section fails', () => {
  it('the section stands: nothing in it is undone, and the reason says what was not done', async () => {
    const world = { writable: ['db-1'], undone: [] as string[] };
    const { outcome, journal } = await runIt(switchoverInMiniature(world, 'dns'), createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world).toEqual({ writable: ['db-2'], undone: [] });
    expect(journal.records.some((r) => r.type === 'compensation')).toBe(false);
    expect(outcome.reason).toContain('step "writer record to db-2" failed: dns refused');
    expect(outcome.reason).toContain('done and left as it is: "old master read-only", "promote db-2", "old master replicates from db-2" (a closed critical section is never undone); failed, and may have acted before it did: "writer record to db-2"');
  });

  it('inside the section a failure still undoes it', async () => {
    const world = { writable: ['db-1'], undone: [] as string[] };
    const rb = switchoverInMiniature(world, 'none');
    const failing = runbookOf(() => rb.plan({} as never).map((s) => (s.id === 'promote' ? { ...s, run: async () => Promise.reject(new StepFailed('promote refused')) } : s)));
    const { outcome } = await runIt(failing, createHeadlessGate({ yes: true }));
    expect(outcome.status).toBe('failed');
    expect(world).toEqual({ writable: ['db-1'], undone: ['promote', 'readonly'] });
    expect(outcome.reason).not.toContain('left as it is');
  });
});
