// What a MySQL cluster of the simulated world looks like, read straight from
// the world file, for the kill tests of the switchover and failover runbooks:
// who accepts writes, who replicates from whom, where the writer record
// points, the role tags. Plain data, so that two worlds compare with a deep
// equality and a difference prints readably.

import type { WorldState } from '../../../src/backends/sim/state.js';
import type { KillReport } from '../../helpers/kill-harness.js';

export const ROLE_TAG = 'nightshift:role';

/** The instance runs, its mysqld answers, and read_only and super_read_only are off: a client's write would commit here. */
export function acceptsWrites(world: WorldState, id: string): boolean {
  const inst = world.instances[id];
  const m = world.mysql[id];
  if (!inst || !m || inst.state !== 'running' || m.downSince !== undefined) return false;
  if (world.faults.some((f) => f.kind === 'kill-node' && f.node === id)) return false;
  return !m.readOnly && !m.superReadOnly;
}

function membersOf(world: WorldState, cluster: string) {
  return Object.values(world.instances)
    .filter((i) => i.cluster === cluster)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A host as replicas and records name it (address, ssh host or name), as the member's name; else as it is. */
function nodeNamed(world: WorldState, cluster: string, host: string): string {
  const h = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  const found = membersOf(world, cluster).find((i) => h === i.privateIp || h === i.name.toLowerCase() || h === i.ssh?.host?.toLowerCase());
  return found?.name ?? host;
}

export interface ClusterFacts {
  /** Nodes a write would commit on now. */
  writable: string[];
  /** Each node's replication source by name (null: not a replica), with the threads' state when not both running. */
  sources: Record<string, string | null>;
  /** The nodes the writer record points at. */
  writer: string[];
  /** The nightshift:role tag of each node. */
  roles: Record<string, string | undefined>;
}

export function clusterFacts(world: WorldState, cluster: string): ClusterFacts {
  const members = membersOf(world, cluster);
  const sources: Record<string, string | null> = {};
  const roles: Record<string, string | undefined> = {};
  for (const i of members) {
    const r = world.mysql[i.id]?.replica;
    sources[i.name] = r ? `${nodeNamed(world, cluster, r.sourceHost)}${r.io && r.sql ? '' : ` (IO ${r.io ? 'on' : 'off'}, SQL ${r.sql ? 'on' : 'off'})`}` : null;
    roles[i.name] = i.tags[ROLE_TAG];
  }
  const key = world.clusters[cluster]?.writerDns;
  const record = key ? world.dns[key] : undefined;
  return {
    writable: members.filter((i) => acceptsWrites(world, i.id)).map((i) => i.name),
    sources,
    writer: (record?.values ?? []).map((v) => nodeNamed(world, cluster, v)),
    roles,
  };
}

/**
 * One string per change of the writer record since `before`: a resume that
 * swapped it a second time would show twice. (The sim counts every change
 * batch; only runbooks on this cluster change its record in these tests.)
 */
export function dnsChanges(world: WorldState, before: WorldState, cluster: string): string[] {
  return Array.from({ length: world.counters.change - before.counters.change }, () => `writer record of ${cluster} changed`);
}

export function summary(report: KillReport): string {
  const all = [...report.cases, ...report.targeted, ...report.pastBudget];
  const killed = all.filter((c) => c.killed).length;
  const restored = all.filter((c) => c.ended === 'restored').length;
  return (
    `${report.cases.length} + ${report.targeted.length} + ${report.pastBudget.length} past the budget = ${all.length} cases (${killed} killed, ${restored} ended restored) ` +
    `for ${report.reference.records.length} records; ${report.processes} processes, ${Math.round(report.processMs / 1000)} s of process time, ${Math.round(report.realMs / 1000)} s real`
  );
}
