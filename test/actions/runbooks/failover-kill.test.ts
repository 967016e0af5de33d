// The failover runbook, killed with SIGKILL right after each of its journal
// records and resumed (test/helpers/kill-harness.ts): real CLI processes on
// the simulated fleet whose MariaDB or MySQL master has just hung (no SSH, no
// MySQL, its replicas' IO threads reconnecting in vain). Failover has no way
// back once the old master is fenced, so every case must end as the
// uninterrupted run did: the old master stopped and tagged fenced, the most
// advanced replica the writable master, the other replicating from it, the
// writer record and role tags on it. At no instant the harness can see, the
// world the killed process left included, may two nodes accept writes, nor
// may the old master, once fenced, run again.

import { describe, expect, it } from 'vitest';
import type { WorldState } from '../../../src/backends/sim/state.js';
import { expectEveryRecordKilled, killClusters, killEveryRecord, type KillReport } from '../../helpers/kill-harness.js';
import { acceptsWrites, clusterFacts, dnsChanges, summary } from './topology-facts.js';

// As in switchover-kill.test.ts: fleet-time waits at a hundredth of their length,
// the runbook's own fleet-time limits still far from a stall of a loaded machine.
const SPEED = 100;
const scenario = 'healthy';
const seed = 7;
const FENCED_TAG = 'nightshift:fenced';

const idOf = (world: WorldState, name: string) => Object.values(world.instances).find((i) => i.name === name)!.id;

/** Never two nodes accepting writes; the old master, once tagged fenced, never running again. */
function invariant(cluster: string, master: string) {
  return (world: WorldState): string[] => {
    const problems: string[] = [];
    const writers = Object.values(world.instances)
      .filter((i) => i.cluster === cluster && acceptsWrites(world, i.id))
      .map((i) => i.name);
    if (writers.length > 1) problems.push(`${writers.length} nodes accept writes: ${writers.sort().join(', ')}`);
    const old = world.instances[idOf(world, master)]!;
    if (old.tags[FENCED_TAG] !== undefined && old.state !== 'stopped' && old.state !== 'stopping') problems.push(`${master} is tagged fenced but ${old.state}`);
    return problems;
  };
}

/** The cluster as clusterFacts reads it, plus what became of the old master: its state and whether it carries the fenced tag. */
function failoverFacts(cluster: string, master: string) {
  return (world: WorldState) => {
    const old = world.instances[idOf(world, master)]!;
    return { ...clusterFacts(world, cluster), oldMaster: { state: old.state, fencedTag: old.tags[FENCED_TAG] !== undefined } };
  };
}


describe.each(
  killClusters([
    ['catalog-db', 'MariaDB 11.4'],
    ['payments-db', 'MySQL 8.4'],
  ]),
)('failover of %s (%s), its master hung, killed after every journal record and resumed', (cluster) => {
  const master = `${cluster}-01`;

  it('ends with the old master fenced and the new topology; never two writable, the fenced master never back; journal whole; lock free', { timeout: 240_000 }, async () => {
    const report = await killEveryRecord({
      runbook: 'failover',
      args: ['--cluster', cluster],
      confirm: [cluster],
      scenario,
      seed,
      speed: SPEED,
      prepare(b) {
        b.world.inject({ kind: 'kill-node', node: idOf(b.world.view(), master) });
        // Long enough for the replicas' IO threads to have lost it: the run's preflight demands it.
        b.world.advance(5_000);
      },
      facts: failoverFacts(cluster, master),
      // A second stop of a stopped instance is nothing (as EC2's StopInstances): only a second writer change would be an effect twice.
      effects: (world, before) => dnsChanges(world, before, cluster),
      invariant: invariant(cluster, master),
    });
    console.log(`kill harness, failover ${cluster}: ${summary(report)}`);

    expect(report.reference.status).toBe('succeeded');
    const facts = report.reference.facts as ReturnType<ReturnType<typeof failoverFacts>>;
    expect(facts.writable).toHaveLength(1);
    const [now] = facts.writable;
    const other = [`${cluster}-02`, `${cluster}-03`].find((n) => n !== now)!;
    expect(facts).toEqual({
      writable: [now],
      sources: { [master]: null, [now!]: null, [other]: now },
      writer: [now],
      roles: { [master]: 'fenced', [now!]: 'master', [other]: 'replica' },
      oldMaster: { state: 'stopped', fencedTag: true },
    });
    expect(report.reference.effects).toEqual([`writer record of ${cluster} changed`]);

    expect(report.problems).toEqual([]);
    expectEveryRecordKilled(report);
    // No critical section in failover, so no resume past a budget; and no way back.
    expect(report.pastBudget).toEqual([]);
    expect([...report.cases, ...report.targeted].every((c) => c.ended === 'as uninterrupted')).toBe(true);
  });
});
