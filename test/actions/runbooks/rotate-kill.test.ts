// The rotate runbook, killed with SIGKILL right after its journal records and
// resumed (test/helpers/kill-harness.ts): real CLI processes rotating two
// instances of the stale-asg world's Cassandra ring, with a checkpoint
// between them. Every case must end as the uninterrupted run did: both
// replaced, every replacement in the ring, the group at its desired capacity
// with nothing suspended; each instance terminated once and one replacement
// launched for each. At no instant may more than one instance be out.

import { describe, expect, it } from 'vitest';
import type { AsgState, WorldState } from '../../../src/backends/sim/state.js';
import { boundaryPoints, cassandraRing, expectEveryKindKilled, killEveryRecord } from '../../helpers/kill-harness.js';
import { summary } from './topology-facts.js';

// Fleet minutes of booting and joining at a thousandth: a run is seconds.
const SPEED = 1000;
const scenario = 'stale-asg';
const seed = 7;

function groupOf(world: WorldState, cluster: string): AsgState {
  return Object.values(world.asgs).find((g) => g.cluster === cluster)!;
}

/** Healthy and serving: InService in the group and running. */
const serving = (world: WorldState, g: AsgState) => g.members.filter((id) => (g.lifecycle[id] ?? 'InService') === 'InService' && world.instances[id]!.state === 'running');

describe('rotate, killed after its journal records and resumed', () => {
  it('ends with both instances replaced, the ring whole and the group as it should be; each terminated once; never two out', { timeout: 600_000 }, async () => {
    const ring = await cassandraRing(scenario, seed);
    const order = ring.nodes.slice(0, 2).map((n) => n.name);
    const report = await killEveryRecord({
      runbook: 'rotate',
      args: ['--cluster', ring.name, '--order', order.join(',')],
      scenario,
      seed,
      speed: SPEED,
      facts: (world, before) => {
        const g = groupOf(world, ring.name);
        const lt = world.launchTemplates[g.launchTemplate]!;
        const names = (ids: string[]) => ids.map((id) => world.instances[id]!.name).sort();
        return {
          desired: g.desired,
          serving: serving(world, g).length,
          suspended: g.suspended ?? [],
          ringIsGroup: JSON.stringify([...world.rings[ring.name]!.members].sort()) === JSON.stringify([...g.members].sort()),
          gone: names(groupOf(before, ring.name).members.filter((id) => !g.members.includes(id))),
          onOldVersion: g.members.filter((id) => Number(world.instances[id]!.tags['aws:ec2launchtemplate:version']) < lt.version).length,
        };
      },
      effects: (world, before) => {
        const was = groupOf(before, ring.name).members;
        return [
          ...was.filter((id) => world.instances[id]!.state !== 'running').map((id) => `terminated ${world.instances[id]!.name}`),
          ...Array.from({ length: world.counters.instance - before.counters.instance }, (_, i) => `instance launched (${i + 1})`),
        ].sort();
      },
      invariant: (world) => {
        const g = groupOf(world, ring.name);
        const out = g.desired - serving(world, g).length;
        return out > 1 ? [`${out} instances of ${g.name} out at once`] : [];
      },
      select: boundaryPoints,
    });
    console.log(`kill harness, rotate ${ring.name}: ${summary(report)}`);

    expect(report.reference.status).toBe('succeeded');
    const facts = report.reference.facts as { desired: number; serving: number; suspended: string[]; ringIsGroup: boolean; gone: string[]; onOldVersion: number };
    expect(facts.serving).toBe(facts.desired);
    expect(facts.suspended).toEqual([]);
    expect(facts.ringIsGroup).toBe(true);
    expect(facts.gone).toEqual([...order].sort());
    expect(report.reference.effects).toEqual([...order.map((n) => `terminated ${n}`), 'instance launched (1)', 'instance launched (2)'].sort());

    expect(report.problems).toEqual([]);
    expectEveryKindKilled(report);
  });
});
