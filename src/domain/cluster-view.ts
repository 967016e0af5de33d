// Assembles what the screens and `ls` show from what the backends said.
// Pure: the poller gathers the inputs, this decides what they mean.

import { clusterKey, type ScopedName } from './scope.js';
import { compareNames } from './names.js';
import { clusterFindings, clusterHealth, driftFindings, sortClusters, withFindingVerdicts, worstLag } from './findings.js';
import { lagOf, nodeHealth, roleOf, type NodeHealthInput, type Thresholds } from './health.js';
import type {
  CassandraPeer,
  ClusterRef,
  ClusterView,
  ClusterWriter,
  EngineFacts,
  Health,
  Instance,
  NodeMetrics,
  NodeView,
  ScalingGroup,
  WriterRecordRef,
} from './types.js';

export interface ProbeOutcome {
  facts?: EngineFacts;
  /** Real-time epoch ms of this probe. */
  at: number;
  error?: string;
}

/** One read of a cluster's writer record through the Dns port. */
export interface WriterLookup {
  ref: WriterRecordRef;
  /** What the record held at the last good read (kept through a failed one). */
  values?: string[];
  /** The last read found no such record. */
  missing?: boolean;
  /** Why the last read gave no answer: no DNS on this target, or the lookup failed. */
  error?: string;
}

export interface ViewInputs {
  clusters: ClusterRef[];
  instances: Map<string, Instance>;
  metrics: Record<string, NodeMetrics>;
  probes: Map<string, ProbeOutcome>;
  /**
   * Nodes whose probe has run past the poller's patience, by id: seconds
   * since it was sent. Their rows keep the last answer, and say so.
   */
  waiting?: ReadonlyMap<string, number>;
  /** The previous views' nodes by id, so a failed probe keeps the last good values. */
  previous: Map<string, NodeView>;
  /** The fleet's clock (virtual on the sim), for tag ages. */
  fleetNow: number;
  thresholds: Thresholds;
  roleTag: string;
  repairTag: string;
  targetReplicas: (cluster: ScopedName) => number | undefined;
  /** The writer record of each cluster that has one configured, as last read, by clusterKey. */
  writers?: ReadonlyMap<string, WriterLookup>;
  /** Auto Scaling groups by name in their scope (a cluster key's shape: region/name), as discovery last read them (launch template drift). */
  groups?: ReadonlyMap<string, ScalingGroup>;
}

export function buildClusterViews(input: ViewInputs): ClusterView[] {
  const views = input.clusters.map((ref): ClusterView => {
    const nodes: NodeView[] = [];
    for (const id of ref.instanceIds) {
      const instance = input.instances.get(id);
      if (instance) nodes.push(buildNode(ref, instance, input));
    }
    nodes.sort((a, b) => roleOrder(a) - roleOrder(b) || compareNames(a.instance.name, b.instance.name));
    const lookup = input.writers?.get(clusterKey(ref));
    const writer = lookup ? resolveWriter(lookup, nodes) : undefined;
    const findings = clusterFindings(ref.engine, nodes, {
      roleTag: input.roleTag,
      targetReplicas: input.targetReplicas(ref),
      thresholds: input.thresholds,
      ...(writer ? { writer } : {}),
      now: input.fleetNow,
    });
    // Its own region's group of that name; a group whose scope is not known (no members) by its name alone.
    const group = ref.asg ? (input.groups?.get(clusterKey({ ...ref, name: ref.asg })) ?? input.groups?.get(ref.asg)) : undefined;
    if (group) findings.push(...driftFindings(group));
    const view: ClusterView = {
      name: ref.name,
      // Its identity with the name: two regions' `orders` are two views, never one of both's nodes.
      ...(ref.region !== undefined ? { region: ref.region } : {}),
      ...(ref.account !== undefined ? { account: ref.account } : {}),
      engine: ref.engine,
      // From the nodes' own verdicts: the findings are listed once, not again as their nodes' reasons.
      health: clusterHealth(nodes, findings),
      findings,
      nodes: withFindingVerdicts(nodes, findings, input.previous, writer),
      worstLagSeconds: worstLag(nodes),
    };
    if (ref.asg) view.asg = ref.asg;
    if (writer) view.writer = writer;
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
  // Built field by field rather than spread: this runs for every node of every refresh.
  const healthInput: NodeHealthInput = { instance };
  if (facts) healthInput.facts = facts;
  if (metrics) healthInput.metrics = metrics;
  if (failed) healthInput.probeError = probe!.error!;
  const waiting = input.waiting?.get(instance.id);
  if (waiting !== undefined) healthInput.waitingSeconds = waiting;
  if (repairAgeSeconds !== undefined) healthInput.repairAgeSeconds = repairAgeSeconds;
  else if (lastRepaired !== undefined) healthInput.badRepairTag = lastRepaired;
  const health = nodeHealth(healthInput, input.thresholds);
  const node: NodeView = {
    instance,
    role: ref.engine === 'mysql' ? roleOf(facts) : ref.engine === 'cassandra' ? 'cassandra' : 'member',
    engine: ref.engine,
    health: prev && sameHealth(prev.health, health) ? prev.health : health,
    lagSeconds: lagOf(facts),
    updatedAt: failed ? (prev?.updatedAt ?? 0) : (probe?.at ?? 0),
    stale: failed || probe === undefined || waiting !== undefined,
  };
  if (facts) node.facts = facts;
  if (metrics) node.metrics = metrics;
  if (failed) node.probeError = probe!.error!;
  if (lastRepaired !== undefined) node.lastRepaired = lastRepaired;
  if (repairAgeSeconds !== undefined) node.repairAgeSeconds = repairAgeSeconds;
  return node;
}

/**
 * The node a writer record points at: an A record by the node's private
 * address (or its ssh host, as on the lab), a CNAME by its name (the whole
 * name or its first label). Null unless every value names the same node:
 * a record that splits writes between two nodes points at no one writer.
 */
export function resolveWriter(lookup: WriterLookup, nodes: readonly NodeView[]): ClusterWriter {
  const values = lookup.values ?? [];
  const writer: ClusterWriter = { zoneId: lookup.ref.zoneId, name: lookup.ref.name, type: lookup.ref.type, values, node: null };
  if (lookup.missing) writer.missing = true;
  if (lookup.error !== undefined) writer.error = lookup.error;
  let found: NodeView | undefined;
  for (const value of values) {
    const n = nodes.find((node) => pointsAt(lookup.ref.type, value, node.instance));
    if (!n || (found && found !== n)) return writer;
    found = n;
  }
  if (found) {
    writer.node = found.instance.name;
    writer.nodeId = found.instance.id;
  }
  return writer;
}

function pointsAt(type: WriterRecordRef['type'], value: string, instance: Instance): boolean {
  const v = value.endsWith('.') ? value.slice(0, -1).toLowerCase() : value.toLowerCase();
  if (type === 'A') return v === instance.privateIp || v === instance.ssh?.host;
  const name = instance.name.toLowerCase();
  return v === name || v.startsWith(`${name}.`) || v === instance.ssh?.host?.toLowerCase() || v === instance.privateIp;
}

/**
 * The writer record in one line, as the cluster screen and `ls` show it:
 * `writer db.example.internal → db-1`, or `→ 10.0.0.9 (no node)`. `bad`
 * when it points at no node or does not exist (drawn red); what it cannot
 * know (no DNS here, a failed read) it says after the values.
 */
export function writerText(w: ClusterWriter): { text: string; bad: boolean } {
  const head = `writer ${w.name}`;
  if (w.missing) return { text: `${head} → (no such ${w.type} record in ${w.zoneId})`, bad: true };
  if (w.values.length === 0) return { text: `${head}: not read (${w.error ?? 'no answer yet'})`, bad: false };
  const target = w.node ?? `${w.values.join(', ')} (no node)`;
  const why = w.error !== undefined ? `  [${w.error}]` : '';
  return { text: `${head} → ${target}${why}`, bad: w.node === null && w.error === undefined };
}

/**
 * Whom a MySQL node replicates from: the NAME of the cluster's node at that
 * address (private address, name, or ssh host), or host:port when it is
 * outside the cluster; undefined when it replicates from no one.
 */
export function replicationSource(node: NodeView, nodes: readonly NodeView[]): string | undefined {
  const replica = node.facts?.kind === 'mysql' ? node.facts.mysql.replica : undefined;
  if (!replica) return undefined;
  const host = replica.sourceHost.toLowerCase();
  const source = nodes.find(
    (n) => n !== node && (n.instance.privateIp === host || n.instance.name.toLowerCase() === host || n.instance.ssh?.host?.toLowerCase() === host),
  );
  return source ? source.instance.name : `${replica.sourceHost}:${replica.sourcePort}`;
}

/** Seconds between an ISO time and now; NaN-safe (a bad tag value counts as never). */
function ageSeconds(iso: string, now: number): number | undefined {
  const t = parsedTime(iso);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.floor((now - t) / 1000));
}

/** Tag times parsed before: a fleet's last-repaired tags change once a repair, not once a refresh. */
const times = new Map<string, number>();

function parsedTime(iso: string): number {
  let t = times.get(iso);
  if (t === undefined) {
    if (times.size >= 16_384) times.clear();
    times.set(iso, (t = Date.parse(iso)));
  }
  return t;
}

function roleOrder(n: NodeView): number {
  return n.role === 'master' ? 0 : n.role === 'replica' ? 1 : 2;
}

function sameHealth(a: Health, b: Health): boolean {
  return a.level === b.level && a.reason === b.reason;
}

/**
 * Structural sharing for what a probe said: the node's last facts when nothing
 * changed, and one ring list for the members of a Cassandra cluster that see
 * the same ring. A 5,000-node fleet then keeps one copy of unchanged data
 * instead of one per node and per refresh (the screens hold the last two
 * refreshes while they draw), and a screen can tell "unchanged" by identity.
 * `rings` holds the ring last seen per cluster during one refresh.
 */
export function shareFacts(
  next: EngineFacts,
  previous: EngineFacts | undefined,
  cluster: string,
  rings: Map<string, readonly CassandraPeer[]>,
): EngineFacts {
  if (next.kind === 'cassandra') {
    const seen = rings.get(cluster) ?? (previous?.kind === 'cassandra' ? previous.cassandra.ring : undefined);
    if (seen !== undefined && seen !== next.cassandra.ring && samePeers(seen, next.cassandra.ring)) {
      next = { kind: 'cassandra', cassandra: { ...next.cassandra, ring: seen } };
    }
    rings.set(cluster, next.cassandra.ring);
  }
  return previous !== undefined && sameData(previous, next) ? previous : next;
}

/** sameData for rings, field by field: a 5,000-node refresh compares some thirty thousand peers. */
function samePeers(a: readonly CassandraPeer[], b: readonly CassandraPeer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePeer(a[i]!, b[i]!)) return false;
  return true;
}

function samePeer(p: CassandraPeer, q: CassandraPeer): boolean {
  return (
    p.status === q.status &&
    p.address === q.address &&
    p.load === q.load &&
    p.tokens === q.tokens &&
    p.owns === q.owns &&
    p.hostId === q.hostId &&
    p.rack === q.rack &&
    p.datacenter === q.datacenter
  );
}
// samePeer compares these; a field added to CassandraPeer and not listed here fails to compile.
const PEER_FIELDS = { status: 1, address: 1, load: 1, tokens: 1, owns: 1, hostId: 1, rack: 1, datacenter: 1 } satisfies Record<keyof CassandraPeer, 1>;
void PEER_FIELDS;

/** Deep equality of plain data (objects, arrays, primitives), as the probes produce it. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.hasOwn(y, k) || !sameData(x[k], y[k])) return false;
    keys++;
  }
  for (const k in y) if (Object.hasOwn(y, k)) keys--;
  return keys === 0;
}
