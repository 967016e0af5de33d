// The cluster a run works on, found in a discovery by its identity (account,
// region, name), never by its name alone: with `orders` in two regions a
// lookup by name would act on whichever came first. Every runbook finds its
// cluster and its members here.

import type { Discovery } from '../../backends/ports.js';
import { clusterLabel, resolveCluster } from '../../domain/scope.js';
import type { ClusterRef, Instance } from '../../domain/types.js';
import { runCluster, scopeFlags } from '../engine/cluster-params.js';
import type { RunInfo } from '../engine/types.js';

type RunScope = Pick<RunInfo, 'cluster' | 'region' | 'account'>;

/** The run's cluster as discovery knows it, or why there is none (no such name, or several: the flags that pick each). */
export function clusterOfRun(found: Discovery, run: RunScope): { ok: true; ref: ClusterRef } | { ok: false; reason: string } {
  const r = resolveCluster(found.clusters, runCluster(run));
  if (r.ok) return { ok: true, ref: r.cluster };
  if (r.candidates.length === 0) {
    const here = found.clusters.map((c) => clusterLabel(c)).join(', ') || '(none)';
    return { ok: false, reason: `${r.reason}; clusters here: ${here}` };
  }
  return { ok: false, reason: r.reason };
}

/** The run's cluster, or undefined when discovery has none (or several) that match. */
export function findRunCluster(found: Discovery, run: RunScope): ClusterRef | undefined {
  const r = clusterOfRun(found, run);
  return r.ok ? r.ref : undefined;
}

/** The instances of one discovered cluster, by its instance ids (so a same-named cluster elsewhere is never mixed in). */
export function refMembers(found: Discovery, ref: ClusterRef): Instance[] {
  const byId = new Map(found.instances.map((i) => [i.id, i]));
  return ref.instanceIds.map((id) => byId.get(id)).filter((i): i is Instance => i !== undefined);
}

/** The members of the run's cluster; none when it is not found (the preflight says why). */
export function runMembers(found: Discovery, run: RunScope): Instance[] {
  const ref = findRunCluster(found, run);
  return ref ? refMembers(found, ref) : [];
}

/** `orders · eu-west-1` for a run (the bare name where it has no region): what a person reads. */
export function runLabel(run: RunScope): string {
  return clusterLabel(runCluster(run));
}


/** The flags that name the run's cluster on a command line: `--cluster orders --region eu-west-1`. */
export function clusterFlags(run: RunScope): string {
  return [`--cluster ${run.cluster}`, scopeFlags(run)].filter(Boolean).join(' ');
}

/** Where the run's cluster settings are set in the config: `clusters.orders`, or `clusters.orders.regions.eu-west-1` for a regional cluster. */
export function settingsKey(run: RunScope): string {
  return run.region ? `clusters.${run.cluster}.regions.${run.region}` : `clusters.${run.cluster}`;
}
