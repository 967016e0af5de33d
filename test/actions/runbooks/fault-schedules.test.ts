// The switchover under fault schedules (issue 12), on the simulated fleet in
// process, virtual time moved by hand: every step meets every fault on its
// first command, then random schedules of up to three faults from a fixed
// seed, on a MariaDB and a MySQL 8.4 cluster. The invariants are checked at
// every instant and at the end (test/helpers/fault-schedule.ts); on a failure
// fast-check prints the shrunk schedule. `bench/fault-schedules.ts` runs ten
// thousand.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyRunbook, AnyStep } from '../../../src/actions/engine/types.js';
import { switchoverCase } from '../../helpers/fault-cases.js';
import { describeSchedule, explainSchedule, FAULT_KINDS, firstCommandSweep, runSchedule, scheduleArbitrary, type Flavour, type RunbookCase } from '../../helpers/fault-schedule.js';

/** Random schedules per flavour: with the sweep's 70 per flavour, 540 in all. */
const RANDOM_RUNS = 200;
const SEED = 12_006;


describe.each<[Flavour, string]>([
  ['mariadb', 'MariaDB 11.4'],
  ['mysql', 'MySQL 8.4'],
])('switchover under fault schedules, %s (%s)', (flavour) => {
  it('every step, every undo and a resume meet fail, hang, lost, kill and kill-after on their first command', { timeout: 120_000 }, async () => {
    const schedules = firstCommandSweep(switchoverCase, flavour);
    expect(schedules).toHaveLength(switchoverCase.slots.length * FAULT_KINDS.length);
    const problems: string[] = [];
    for (const s of schedules) {
      const r = await runSchedule(switchoverCase, s);
      const aimed = s.faults.at(-1)!;
      // A fault that never fired tests nothing: the sweep must reach every slot.
      if (!r.fired.some((f) => f.kind === aimed.kind && f.at.startsWith(aimed.at.replace('*', '')))) problems.push(`${describeSchedule(s)}: never fired (ended ${r.status})`);
      if (r.violations.length > 0) problems.push(explainSchedule(r));
    }
    expect(problems).toEqual([]);
  });

  it(`${RANDOM_RUNS} random schedules of up to three faults (seed ${SEED})`, { timeout: 120_000 }, async () => {
    let fired = 0;
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary(switchoverCase.slots, [flavour]), async (s) => {
        const r = await runSchedule(switchoverCase, s);
        if (r.fired.length > 0) fired++;
        if (r.violations.length > 0) throw new Error(explainSchedule(r));
      }),
      { numRuns: RANDOM_RUNS, seed: SEED },
    );
    // Most schedules must actually hit something, or the runs test little.
    expect(fired).toBeGreaterThan(RANDOM_RUNS / 2);
  });
});

describe('the schedules find what they look for', () => {
  /** The switchover without its read-only step: the candidate is promoted while the old master still takes writes. */
  const careless: RunbookCase = {
    ...switchoverCase,
    runbook: {
      ...switchoverCase.runbook,
      plan: (ctx) =>
        switchoverCase.runbook
          .plan(ctx)
          .filter((s) => s.id !== 'readonly' && s.id !== 'catch-up')
          .map((s): AnyStep => {
            const { closesSection: _closes, ...rest } = s;
            return rest;
          }),
    } as AnyRunbook,
  };

  it('two writable masters are caught the instant they appear', async () => {
    const r = await runSchedule(careless, { flavour: 'mariadb', faults: [] });
    expect(r.violations[0]).toMatch(/^two writable masters \(catalog-db-01, catalog-db-02\) after catalog-db-02: /);
  });

  it('a killed run is resumed by a new process, which finishes it; the journal tells both', async () => {
    const r = await runSchedule(switchoverCase, { flavour: 'mysql', faults: [{ at: 'promote', nth: 1, kind: 'kill-after', downSeconds: 0 }] });
    expect(r.violations).toEqual([]);
    expect(r.processes).toBe(2);
    expect(r.status).toBe('succeeded');
  });

  it('a kill inside the write outage, resumed after its budget, ends with the old topology back', async () => {
    const r = await runSchedule(switchoverCase, { flavour: 'mariadb', faults: [{ at: 'catch-up', nth: 1, kind: 'kill', downSeconds: 45 }] });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('failed');
    expect(r.reason).toContain('ran over its budget of 30 s while the run was interrupted');
  });

  it('a failure after the writer record moved takes the whole way back, the record included (it was left on the read-only candidate)', async () => {
    const r = await runSchedule(switchoverCase, { flavour: 'mysql', faults: [{ at: 'tags', nth: 1, kind: 'fail' }] });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('failed');
    expect(r.reason).toContain('rolled back "writer record to the new master"; rolled back "old master replicates from the new master"');
  });

  it('a writer record change whose answer was lost is ours, not someone else\'s: done, and the run goes on', async () => {
    const r = await runSchedule(switchoverCase, { flavour: 'mariadb', faults: [{ at: 'dns', nth: 1, kind: 'lost' }] });
    expect(r.violations).toEqual([]);
    expect(r.status, r.reason).toBe('succeeded');
  });

  it('an undo that hangs once is tried again: the old master takes writes again (it once stayed read-only)', async () => {
    const r = await runSchedule(switchoverCase, { flavour: 'mariadb', faults: [{ at: 'promote', nth: 1, kind: 'fail' }, { at: 'undo:readonly', nth: 1, kind: 'hang' }] });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('failed');
    expect(r.fired.map((f) => f.kind)).toEqual(['fail', 'hang']);
    expect(r.reason).toContain('rolled back "old master read-only"');
  });
});
