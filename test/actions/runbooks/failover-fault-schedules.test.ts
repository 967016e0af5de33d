// The failover under fault schedules (issue 12), on the simulated fleet in
// process, virtual time moved by hand: the master's host hangs, then every
// step meets every fault on its first command, and random schedules of up to
// three faults run from a fixed seed, on a MariaDB and a MySQL 8.4 cluster.
// The fenced old master counts as writable until it is stopped, so a
// promotion before the fence would show as two writable masters. On a failure
// fast-check prints the shrunk schedule. `bench/fault-schedules.ts --runbook
// failover` runs ten thousand.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failoverCase } from '../../helpers/fault-cases.js';
import { describeSchedule, explainSchedule, FAULT_KINDS, firstCommandSweep, runSchedule, scheduleArbitrary, type Flavour } from '../../helpers/fault-schedule.js';

/** Random schedules per flavour (a failover waits out a dead host's timeouts: each costs more than a switchover). */
const RANDOM_RUNS = 100;
const SEED = 12_007;


describe.each<[Flavour, string]>([
  ['mariadb', 'MariaDB 11.4'],
  ['mysql', 'MySQL 8.4'],
])('failover under fault schedules, %s (%s)', (flavour) => {
  it('every step and a resume meet fail, hang, lost, kill and kill-after on their first command', { timeout: 120_000 }, async () => {
    const schedules = firstCommandSweep(failoverCase, flavour);
    expect(schedules).toHaveLength(failoverCase.slots.length * FAULT_KINDS.length);
    const problems: string[] = [];
    for (const s of schedules) {
      const r = await runSchedule(failoverCase, s);
      const aimed = s.faults.at(-1)!;
      if (!r.fired.some((f) => f.kind === aimed.kind && f.at === aimed.at)) problems.push(`${describeSchedule(s)}: never fired (ended ${r.status})`);
      if (r.violations.length > 0) problems.push(explainSchedule(r));
    }
    expect(problems).toEqual([]);
  });

  it(`${RANDOM_RUNS} random schedules of up to three faults (seed ${SEED})`, { timeout: 120_000 }, async () => {
    let fired = 0;
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary(failoverCase.slots, [flavour]), async (s) => {
        const r = await runSchedule(failoverCase, s);
        if (r.fired.length > 0) fired++;
        if (r.violations.length > 0) throw new Error(explainSchedule(r));
      }),
      { numRuns: RANDOM_RUNS, seed: SEED },
    );
    expect(fired).toBeGreaterThan(RANDOM_RUNS / 2);
  });
});

describe('failover faults worth naming', () => {
  it('a fence that could not be done leaves nothing changed and says the promotion was not done', async () => {
    const r = await runSchedule(failoverCase, { flavour: 'mysql', faults: [{ at: 'fence', nth: 1, kind: 'fail' }] });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('failed');
    expect(r.reason).toContain('not done: "stop the IO threads; each replica applies what it received", "choose the most advanced replica", "promote the new master"');
  });

  it('killed after the old master stopped, before its tag: the resumed fence tags it (it was left untagged)', async () => {
    const r = await runSchedule(failoverCase, { flavour: 'mariadb', faults: [{ at: 'fence', nth: 1, kind: 'kill-after', downSeconds: 0 }] });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('succeeded');
    expect(r.processes).toBe(2);
    expect(r.facts).toEqual({ fencedTag: expect.stringMatching(/^\d{8}-\d{6}-failover-/), oldMasterState: 'stopped' });
  });
});
