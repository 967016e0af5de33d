// Assembles what the screens and `ls` show from what the backends said.
// Pure: the poller gathers the inputs, this decides what they mean.

import { clusterFindings, clusterHealth, sortClusters, worstLag } from './findings.js';
import { lagOf, nodeHealth, roleOf, type Thresholds } from './health.js';
import type { ClusterRef, ClusterView, EngineFacts, Instance, NodeMetrics, NodeView } from './types.js';

export interface ProbeOutcome {
  facts?: EngineFacts;
  /** Real-time epoch ms of this probe. */
  at: number;
  error?: string;
}

export interface ViewInputs {
  clusters: ClusterRef[];
  instances: Map<string, Instance>;
  metrics: Record<string, NodeMetrics>;
  probes: Map<string, ProbeOutcome>;
  /** The previous views' nodes by id, so a failed probe keeps the last good values. */
  previous: Map<string, NodeView>;
  /** The fleet's clock (virtual on the sim), for tag ages. */
  fleetNow: number;
  thresholds: Thresholds;
  roleTag: string;
  repairTag: string;
  targetReplicas: (cluster: string) => number | undefined;
}

export function buildClusterViews(input: ViewInputs): ClusterView[] {
  const views = input.clusters.map((ref): ClusterView => {
    const nodes: NodeView[] = [];
    for (const id of ref.instanceIds) {
      const instance = input.instances.get(id);
      if (instance) nodes.push(buildNode(ref, instance, input));
    }
    nodes.sort((a, b) => roleOrder(a) - roleOrder(b) || a.instance.name.localeCompare(b.instance.name));
    const findings = clusterFindings(ref.engine, nodes, {
      roleTag: input.roleTag,
      targetReplicas: input.targetReplicas(ref.name),
      thresholds: input.thresholds,
    });
    const view: ClusterView = {
      name: ref.name,
      engine: ref.engine,
      health: clusterHealth(nodes, findings),
      findings,
      nodes,
      worstLagSeconds: worstLag(nodes),
    };
    if (ref.asg) view.asg = ref.asg;
    return view;
  });
  return sortClusters(views);
}

function buildNode(ref: ClusterRef, instance: Instance, input: ViewInputs): NodeView {
  const probe = input.probes.get(instance.id);
  const prev = input.previous.get(instance.id);
  const failed = probe?.error !== undefined;
  const facts = failed ? prev?.facts : probe?.facts;
  const metrics = input.metrics[instance.id] ?? prev?.metrics;
  const lastRepaired = ref.engine === 'cassandra' ? instance.tags[input.repairTag] : undefined;
  const repairAgeSeconds = lastRepaired !== undefined ? ageSeconds(lastRepaired, input.fleetNow) : undefined;
  const health = nodeHealth(
    {
      instance,
      ...(facts ? { facts } : {}),
      ...(metrics ? { metrics } : {}),
      ...(failed ? { probeError: probe!.error! } : {}),
      ...(repairAgeSeconds !== undefined ? { repairAgeSeconds } : {}),
      ...(lastRepaired !== undefined && repairAgeSeconds === undefined ? { badRepairTag: lastRepaired } : {}),
    },
    input.thresholds,
  );
  const node: NodeView = {
    instance,
    role: ref.engine === 'mysql' ? roleOf(facts) : ref.engine === 'cassandra' ? 'cassandra' : 'member',
    engine: ref.engine,
    health,
    lagSeconds: lagOf(facts),
    updatedAt: failed ? (prev?.updatedAt ?? 0) : (probe?.at ?? 0),
    stale: failed || probe === undefined,
  };
  if (facts) node.facts = facts;
  if (metrics) node.metrics = metrics;
  if (failed) node.probeError = probe!.error!;
  if (lastRepaired !== undefined) node.lastRepaired = lastRepaired;
  if (repairAgeSeconds !== undefined) node.repairAgeSeconds = repairAgeSeconds;
  return node;
}

/** Seconds between an ISO time and now; NaN-safe (a bad tag value counts as never). */
function ageSeconds(iso: string, now: number): number | undefined {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.floor((now - t) / 1000));
}

function roleOrder(n: NodeView): number {
  return n.role === 'master' ? 0 : n.role === 'replica' ? 1 : 2;
}
