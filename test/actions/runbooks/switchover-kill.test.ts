// The switchover runbook, killed with SIGKILL right after each of its journal
// records and resumed (test/helpers/kill-harness.ts): real CLI processes on
// the simulated fleet, one MariaDB and one MySQL cluster. Every case must end
// either as the uninterrupted run did (the candidate the writable master,
// everyone else replicating from it, the writer record and role tags on it)
// or, when the kill fell inside the write outage and the resume found its
// budget spent (the harness resumes such a kill once more, past the deadline),
// failed with the old topology back (the old master writable,
// the others replicating from it, the writer record unchanged). At no instant
// the harness can see, the world the killed process left included, may two
// nodes accept writes.

import { describe, expect, it } from 'vitest';
import type { WorldState } from '../../../src/backends/sim/state.js';
import { expectEveryRecordKilled, killClusters, killEveryRecord, positionInReference, type KillReport } from '../../helpers/kill-harness.js';
import { acceptsWrites, clusterFacts, dnsChanges, summary } from './topology-facts.js';

// Fleet-time waits (the writer record's INSYNC, up to a minute; the heartbeat's
// polls) cost a hundredth of their length in real time. Not more: the runbook's
// own limits are fleet time too (a 15 s step timeout, the 30 s write budget),
// and a process on a loaded machine must not overrun them by a stall of a few
// tens of milliseconds.
const SPEED = 100;
// At that speed the default 30 s write budget is 300 ms of real time, within a
// loaded machine's stall: whether a run or a resume made it in time would be
// chance. Ten times longer, every case has one right end, and the budget's
// overrun is still met on purpose: each kill inside the write outage is resumed
// once more past the deadline (the harness's pastBudget cases).
const WRITE_BUDGET_SECONDS = 300;
const scenario = 'healthy';
const seed = 7;

/** Every node that accepts writes now, anywhere in the cluster: never more than one. */
function oneWriter(cluster: string) {
  return (world: WorldState): string[] => {
    const writers = Object.values(world.instances)
      .filter((i) => i.cluster === cluster && acceptsWrites(world, i.id))
      .map((i) => i.name)
      .sort();
    return writers.length > 1 ? [`${writers.length} nodes accept writes: ${writers.join(', ')}`] : [];
  };
}


describe.each(
  killClusters([
    ['catalog-db', 'MariaDB 11.4'],
    ['payments-db', 'MySQL 8.4'],
  ]),
)('switchover of %s (%s), killed after every journal record and resumed', (cluster) => {
  const master = `${cluster}-01`;
  const candidate = `${cluster}-02`;

  it('ends with the new topology, or failed with the old one back; never two writable; journal whole; lock free', { timeout: 240_000 }, async () => {
    const report = await killEveryRecord({
      runbook: 'switchover',
      args: ['--cluster', cluster, '--candidate', candidate, '--param', `writeBudgetSeconds=${WRITE_BUDGET_SECONDS}`],
      // The destructive gate is passed by typing the cluster's name.
      confirm: [cluster],
      scenario,
      seed,
      speed: SPEED,
      facts: (world) => clusterFacts(world, cluster),
      effects: (world, before) => dnsChanges(world, before, cluster),
      restores: ['failed', 'stopped'],
      invariant: oneWriter(cluster),
    });
    console.log(`kill harness, switchover ${cluster}: ${summary(report)}`);

    // The uninterrupted run is the switchover itself, done right.
    expect(report.reference.status).toBe('succeeded');
    expect(report.reference.facts).toEqual({
      writable: [candidate],
      sources: { [master]: candidate, [candidate]: null, [`${cluster}-03`]: candidate },
      writer: [candidate],
      roles: { [master]: 'replica', [candidate]: 'master', [`${cluster}-03`]: 'replica' },
    });
    expect(report.reference.effects).toEqual([`writer record of ${cluster} changed`]);

    expect(report.problems).toEqual([]);
    expectEveryRecordKilled(report);
    // Resumed at once, every run goes on to the new topology, from inside the write outage too.
    expect([...report.cases, ...report.targeted].filter((c) => c.ended !== 'as uninterrupted').map((c) => c.at)).toEqual([]);
    // Every kill inside the write outage was resumed once more, past its budget:
    // before the promotion had finished, that resume took the way back; after
    // it (the section's 'closed' record not yet written), it went on.
    const at = (type: string, what: string) => 1 + report.reference.records.findIndex((r) => r.type === type && JSON.stringify(r).includes(what));
    const opened = at('section', '"opened"');
    const promoted = at('step-finished', '"promote"');
    expect(opened).toBeGreaterThan(0);
    expect(promoted).toBeGreaterThan(opened);
    // Where each was killed, as a record of the uninterrupted run (a typed point is the k-th of its type).
    // (Every-record mode: the first pass's kills, by N; the targeted pass's repeat some of them by type.)
    const late = report.pastBudget
      .filter((c) => report.boundaryOnly || c.at.type === undefined)
      .map((c) => ({ n: positionInReference(report, c.at), ended: c.ended }))
      .sort((a, b) => a.n - b.n);
    const inside = Array.from({ length: promoted - opened + 1 }, (_, i) => opened + i);
    if (report.boundaryOnly) {
      // Every kind of record from the section's opening to the promotion's end, both ends among them.
      expect([late[0]?.n, late.at(-1)?.n]).toEqual([opened, promoted]);
      expect(late.filter((c) => !inside.includes(c.n))).toEqual([]);
    } else {
      expect(late.map((c) => c.n)).toEqual(inside);
    }
    for (const c of late) expect([c.n, c.ended]).toEqual([c.n, c.n < promoted ? 'restored' : 'as uninterrupted']);
  });
});
