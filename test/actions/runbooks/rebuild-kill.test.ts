// The rebuild runbook, killed with SIGKILL right after each of its journal
// records and resumed (test/helpers/kill-harness.ts): real CLI processes on
// the simulated fleet's lost-replica world, over the EBS path (volumes, jobs,
// a snapshot: the path with the most to find again). Every case must end as
// the uninterrupted run did: one new replica, a member replicating from the
// master; every job, launch, volume and snapshot made once; nothing temporary
// left. At no instant may the launched node be a member before it has caught
// up, nor may two instances have been launched for it.

import { describe, expect, it } from 'vitest';
import type { WorldState } from '../../../src/backends/sim/state.js';
import { REBUILD_TAG, SPARE_TAG } from '../../../src/domain/types.js';
import { boundaryPoints, expectEveryKindKilled, killEveryRecord } from '../../helpers/kill-harness.js';
import { clusterFacts, summary } from './topology-facts.js';

// Fleet minutes of copying at a thousandth: a run is seconds, and the kill points still land inside each step
// (the rebuild has no critical section whose budget a loaded machine could overrun at this speed).
const SPEED = 1000;
const scenario = 'lost-replica';
const seed = 7;
const cluster = 'search-db';

const isNew = (world: WorldState, before: WorldState) => (id: string) => before.instances[id] === undefined;

/** The launched node is no member (it keeps its spare tag) while it carries the run's tag; never two launched. */
function invariant(world: WorldState, before: WorldState): string[] {
  const problems: string[] = [];
  const launched = Object.values(world.instances).filter((i) => isNew(world, before)(i.id) && i.state !== 'terminated');
  if (launched.length > 1) problems.push(`${launched.length} instances launched: ${launched.map((i) => i.name).join(', ')}`);
  for (const i of launched) if (i.tags[REBUILD_TAG] !== undefined && i.tags[SPARE_TAG] === undefined) problems.push(`${i.name} is a member before it joined`);
  return problems;
}

/** The cluster, plus what the rebuild may leave: its volumes, its snapshots, its launched instances. */
function rebuildFacts(world: WorldState, before: WorldState) {
  const ours = (tags: Record<string, string> | undefined) => tags?.[REBUILD_TAG] !== undefined;
  // The launched node's name carries its run's id: every case names it alike.
  return JSON.parse(JSON.stringify({
    ...clusterFacts(world, cluster),
    volumes: Object.values(world.volumes).filter((v) => v.state !== 'deleted' && ours(v.tags)).length,
    snapshots: Object.values(world.snapshots).filter((s) => ours(s.tags)).map((s) => s.state),
    launched: Object.values(world.instances).filter((i) => isNew(world, before)(i.id)).map((i) => `${i.state}${i.tags[SPARE_TAG] !== undefined ? ' spare' : ''}`),
  }).replace(/-rebuild-[a-z]-[0-9a-f]+/g, '-rebuild-<new>')) as ReturnType<typeof clusterFacts> & { volumes: number; snapshots: string[]; launched: string[] };
}

/** Every job started, instance launched, volume created and snapshot taken since `before`: each once. */
function rebuildEffects(world: WorldState, before: WorldState): string[] {
  const name = (id: string) => world.instances[id]?.name.replace(/-rebuild-.*/, '-rebuild-<new>') ?? id;
  return [
    ...world.jobStarts.slice(before.jobStarts.length).map((j) => `job on ${name(j.node)}: ${j.command.replace(/\d{8}-\d{6}-rebuild-[0-9a-f]+/g, '<run>').split(' --')[1]}`),
    ...Array.from({ length: world.counters.instance - before.counters.instance }, (_, i) => `instance launched${i > 0 ? ` (${i + 1})` : ''}`),
    // Deleted volumes leave the world: count them as they were made.
    ...Array.from({ length: world.counters.volume - before.counters.volume }, (_, i) => `volume created (${i + 1})`),
    ...Array.from({ length: world.counters.snapshot - before.counters.snapshot }, (_, i) => `snapshot taken${i > 0 ? ` (${i + 1})` : ''}`),
  ];
}

describe('rebuild, killed after every journal record and resumed', () => {
  it('ends with one new replica of the master, a member; every job, launch, volume and snapshot made once; nothing temporary left', { timeout: 600_000 }, async () => {
    const report = await killEveryRecord({
      runbook: 'rebuild',
      // The scenario's replica lag wanders around a minute: the lag limit is not what is tested here.
      args: ['--cluster', cluster, '--via', 'ebs', '--param', 'sourceLagLimitSeconds=3600'],
      confirm: [cluster],
      scenario,
      seed,
      speed: SPEED,
      facts: rebuildFacts,
      effects: rebuildEffects,
      invariant,
      // 150-odd records, most of them a job's polls and progress: the first and last of each kind in each step.
      select: boundaryPoints,
    });
    console.log(`kill harness, rebuild ${cluster}: ${summary(report)}`);

    expect(report.reference.status).toBe('succeeded');
    const facts = report.reference.facts as ReturnType<typeof rebuildFacts>;
    expect(facts.writable).toHaveLength(1);
    const added = `${cluster}-rebuild-<new>`;
    expect(facts.sources[added]).toBe(facts.writable[0]);
    expect(facts.roles[added]).toBe('replica');
    expect(facts.volumes).toBe(0);
    expect(facts.snapshots).toEqual(['completed']);
    expect(facts.launched).toEqual(['running']);
    expect(report.reference.effects.map((e) => e.replace(/search-db-0\d/, 'search-db-0N'))).toEqual([
      'job on search-db-0N: backup',
      'job on search-db-0N: prepare',
      'job on search-db-rebuild-<new>: move-back',
      'instance launched',
      'volume created (1)',
      'volume created (2)',
      'snapshot taken',
    ]);

    expect(report.problems).toEqual([]);
    expectEveryKindKilled(report);
  });
});
