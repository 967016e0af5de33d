// Cluster-level findings: what is wrong with the cluster as a whole, beyond
// any one node. Pure. Only fresh facts count: a stale node's last words are
// shown on its row but never used to claim, say, two writable masters.

import { compareNames } from './names.js';
import { compareScoped } from './scope.js';
import { errantTransactions, formatGtidSet, isEmptyGtidSet, mariadbBinlogStateErrant, parseGtidSet, type GtidSet } from './gtid.js';
import { compareLevel, worse, type Thresholds } from './health.js';
import type { ClusterView, ClusterWriter, EngineKind, Finding, Health, HealthLevel, MetricPoint, NodeView, ScalingGroup, VolumeHealth } from './types.js';

export interface FindingOptions {
  roleTag: string;
  /** Replicas the cluster should have (MySQL); undefined = no target. */
  targetReplicas?: number;
  thresholds: Thresholds;
  /** The cluster's writer record as last read, when one is configured. */
  writer?: ClusterWriter;
  /** The fleet's clock (virtual on the sim): a metric whose newest point is old says nothing about now. */
  now?: number;
}

export function clusterFindings(engine: EngineKind, nodes: NodeView[], opts: FindingOptions): Finding[] {
  const findings: Finding[] = [];
  if (engine === 'mysql') findings.push(...mysqlFindings(nodes, opts));
  if (engine === 'cassandra') findings.push(...cassandraFindings(nodes, opts));
  if (opts.writer) findings.push(...writerFindings(opts.writer, nodes));
  findings.push(...ioFindings(engine, nodes, opts.now));
  return findings;
}

/** I/O wait (percent of CPU time) at or above this is pegged: the node waits on its disk... */
export const IO_WAIT_PEGGED_PERCENT = 80;
/**
 * ...when it has stayed there this long, every point of the run up to the
 * newest one: a backup or a compaction's burst is not a stuck volume.
 */
export const IO_WAIT_PEGGED_MS = 5 * 60_000;
/** A series whose newest point is older than this says nothing about now (a metric no longer sent). */
const IO_WAIT_FRESH_MS = 10 * 60_000;
const NO_VOLUMES: readonly VolumeHealth[] = [];

/**
 * How long the `io-wait` series has been pegged, up to its newest point:
 * the newest value and the run's length, or undefined when it is not (or the
 * series is too short, too old, or broken by a gap as long as the rule).
 */
export function ioWaitPegged(series: readonly MetricPoint[] | undefined, now?: number): { percent: number; forMs: number } | undefined {
  if (!series || series.length === 0) return undefined;
  const newest = series[series.length - 1]!;
  if (!(newest.v >= IO_WAIT_PEGGED_PERCENT)) return undefined;
  if (now !== undefined && now - newest.t > IO_WAIT_FRESH_MS) return undefined;
  let start = newest;
  for (let i = series.length - 2; i >= 0; i--) {
    const p = series[i]!;
    if (!(p.v >= IO_WAIT_PEGGED_PERCENT) || start.t - p.t >= IO_WAIT_PEGGED_MS) break;
    start = p;
  }
  const forMs = newest.t - start.t;
  return forMs >= IO_WAIT_PEGGED_MS ? { percent: newest.v, forMs } : undefined;
}

/**
 * A node whose EBS volume's status check says impaired or warning, or whose
 * I/O wait is pegged (ioWaitPegged; on AWS a custom metric named `io-wait`):
 * the volume and the wait named. CRIT for an impaired volume or a master's
 * pegged wait, WARN otherwise. What answers it is MySQL's: a replica is
 * replaced (rebuild); a master's role moves, by switchover while it answers,
 * by failover once it does not. A Cassandra or generic node gets no runbook:
 * rotate refuses while a node is CRIT and picks instances by template age.
 */
function ioFindings(engine: EngineKind, nodes: readonly NodeView[], now: number | undefined): Finding[] {
  const out: Finding[] = [];
  for (const n of nodes) {
    if (n.instance.state !== 'running') continue;
    const bad = n.instance.volumes?.filter((v) => v.status === 'impaired' || v.status === 'warning') ?? NO_VOLUMES;
    const wait = ioWaitPegged(n.metrics?.extra?.['io-wait'], now);
    if (bad.length === 0 && !wait) continue;
    const isMaster = n.role === 'master';
    const level: HealthLevel = bad.some((v) => v.status === 'impaired') || (wait && isMaster) ? 'CRIT' : 'WARN';
    const parts = bad.map((v) => volumeText(v, now));
    if (wait) parts.push(`I/O wait ${Math.round(wait.percent)}% for ${durationText(wait.forMs / 1000)}`);
    const finding: Finding = { kind: 'io-impaired', level, message: `${n.instance.name}: ${parts.join('; ')}`, nodes: [n.instance.id] };
    if (engine === 'mysql' && n.role === 'replica') finding.suggests = 'rebuild';
    if (engine === 'mysql' && isMaster) finding.suggests = n.stale ? 'failover' : 'switchover';
    out.push(finding);
  }
  return out;
}

/** "EBS vol-0abc on /dev/xvda impaired since 00:48 UTC (I/O performance stalled, io-performance: severely-degraded)" */
function volumeText(v: VolumeHealth, now: number | undefined): string {
  const since = v.since === undefined ? NaN : Date.parse(v.since);
  const when = Number.isNaN(since) ? '' : ` since ${clockText(since, now)}`;
  return `EBS ${v.volumeId}${v.device ? ` on ${v.device}` : ''} ${v.status}${when}${v.detail ? ` (${v.detail})` : ''}`;
}

/** A time of day in UTC, with its date once it is a day or more ago (or when there is no clock to tell). */
function clockText(t: number, now: number | undefined): string {
  const iso = new Date(t).toISOString();
  const recent = now !== undefined && now - t < 86_400_000;
  return `${recent ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

/** A duration as one unit, rounded down: reads as src/ui/format.ts formatSeconds does (the domain imports no other layer). */
function durationText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function mysqlFindings(nodes: NodeView[], opts: FindingOptions): Finding[] {
  const out: Finding[] = [];
  const live = nodes.filter((n) => !n.stale && n.instance.state === 'running' && n.facts?.kind === 'mysql');
  const mysqlOf = (n: NodeView) => (n.facts?.kind === 'mysql' ? n.facts.mysql : undefined);

  const writable = live.filter((n) => mysqlOf(n)?.readOnly === false);
  const writableMasters = writable.filter((n) => !mysqlOf(n)?.replica);
  if (nodes.length > 0 && live.length === 0) {
    // Nothing answered: we cannot tell who is master, and must not claim there is none.
    out.push({ kind: 'no-node-answered', level: 'UNKNOWN', message: 'no node answered its probe: roles unknown', nodes: [] });
    return out;
  }
  if (writableMasters.length === 0 && nodes.length > 0) {
    out.push({ kind: 'no-writable-master', level: 'CRIT', message: 'no writable master', nodes: [], suggests: 'failover' });
  }
  // A writable replica is a node-level warning; two writable nodes that
  // replicate from nobody is split brain.
  if (writableMasters.length >= 2) out.push(splitBrain(writableMasters, opts.writer));

  const members = new Set<string>();
  for (const n of nodes) {
    members.add(n.instance.privateIp);
    members.add(n.instance.name);
    if (n.instance.ssh?.host) members.add(n.instance.ssh.host);
  }
  for (const n of live) {
    const source = mysqlOf(n)?.replica?.sourceHost;
    if (source && !members.has(source)) {
      out.push({
        kind: 'replica-of-outsider',
        level: 'CRIT',
        message: `${n.instance.name} replicates from ${source}, outside the cluster`,
        nodes: [n.instance.id],
      });
    }
  }

  if (writableMasters.length === 1) out.push(...errantFindings(writableMasters[0]!, live));

  const replicas = nodes.filter((n) => n.role === 'replica');
  const azs = new Set(replicas.map((n) => n.instance.az));
  if (replicas.length >= 2 && azs.size === 1) {
    out.push({
      kind: 'replicas-one-az',
      level: 'WARN',
      message: `all ${replicas.length} replicas in one AZ (${[...azs][0]})`,
      nodes: replicas.map((n) => n.instance.id),
    });
  }

  if (opts.targetReplicas !== undefined) {
    const healthy = replicas.filter((n) => n.health.level === 'OK' || n.health.level === 'WARN').length;
    if (healthy < opts.targetReplicas) {
      out.push({
        kind: 'redundancy-below-target',
        level: 'WARN',
        message: `redundancy below target: ${healthy} of ${opts.targetReplicas} replicas; rebuild one`,
        nodes: [],
        suggests: 'rebuild',
      });
    }
  }

  for (const n of live) {
    const hint = n.instance.tags[opts.roleTag];
    if (!hint) continue;
    const said = n.role === 'unknown' ? 'read-only without a source' : n.role;
    if (normaliseRole(hint) !== n.role) {
      out.push({
        kind: 'role-drift',
        level: 'WARN',
        message: `${n.instance.name}: role tag says ${hint}, server says ${said}`,
        nodes: [n.instance.id],
      });
    }
  }
  return out;
}

/**
 * A replica that executed transactions its master never had (someone wrote on
 * it) must not be promoted as it is: failover would lose or fork history.
 */
function errantFindings(master: NodeView, nodes: NodeView[]): Finding[] {
  const m = master.facts?.kind === 'mysql' ? master.facts.mysql : undefined;
  if (!m) return [];
  let masterSet: GtidSet;
  try {
    // Once per cluster, not once per replica: a 5,000-node refresh checks thousands of replicas.
    masterSet = parseGtidSet(m.flavour, m.gtidExecuted);
  } catch {
    return []; // an unparsable set is the probe's problem, reported on the node
  }
  const out: Finding[] = [];
  for (const n of nodes) {
    const r = n.facts?.kind === 'mysql' ? n.facts.mysql : undefined;
    if (!r?.replica || r.flavour !== m.flavour || n === master) continue;
    let errant: string;
    if (r.flavour === 'mariadb' && r.gtidBinlogState !== undefined && m.gtidBinlogState !== undefined) {
      // The binlog state keeps a replica's own writes after the master writes again.
      try {
        errant = mariadbBinlogStateErrant(r.gtidBinlogState, m.gtidBinlogState, m.serverId);
      } catch {
        continue;
      }
      if (errant === '') continue;
      out.push({ kind: 'errant-gtid', level: 'WARN', message: `errant GTIDs on ${n.instance.name}: ${errant} (writes ${master.instance.name} never had)`, nodes: [n.instance.id] });
      continue;
    }
    // A replica that has caught up prints the master's set: nothing errant, nothing to parse.
    if (r.gtidExecuted === m.gtidExecuted) continue;
    try {
      const set = withoutProbeSkew(errantTransactions(parseGtidSet(r.flavour, r.gtidExecuted), masterSet), masterSet);
      if (isEmptyGtidSet(set)) continue;
      errant = formatGtidSet(set);
    } catch {
      continue; // an unparsable set is the probe's problem, reported on the node
    }
    out.push({
      kind: 'errant-gtid',
      level: 'WARN',
      message: `errant GTIDs on ${n.instance.name}: ${errant} (writes ${master.instance.name} never had)`,
      nodes: [n.instance.id],
    });
  }
  return out;
}

/**
 * The master and its replicas are probed moments apart, so a replica can show
 * transactions the master wrote after its own probe. Those come from a source
 * the master already has (a uuid in its set; MariaDB: the same server id in
 * that domain) and are timing, not errant: drop them. A write made on the
 * replica carries the replica's own uuid or server id, and stays.
 */
export function withoutProbeSkew(errant: GtidSet, master: GtidSet): GtidSet {
  if (errant.flavour === 'mysql' && master.flavour === 'mysql') {
    return { flavour: 'mysql', sources: new Map([...errant.sources].filter(([uuid]) => !master.sources.has(uuid))) };
  }
  if (errant.flavour === 'mariadb' && master.flavour === 'mariadb') {
    return {
      flavour: 'mariadb',
      domains: new Map([...errant.domains].filter(([domain, g]) => master.domains.get(domain)?.server !== g.server)),
    };
  }
  return errant;
}

/**
 * Applications write where the writer record points: at no node, at a
 * read-only one or at a stopped one, every write fails. Only what is known
 * now counts: a failed lookup or a node whose probe is stale says nothing.
 */
export function writerFindings(writer: ClusterWriter, nodes: readonly NodeView[]): Finding[] {
  if (writer.error !== undefined) return [];
  const record = `writer record ${writer.name}`;
  if (writer.missing) {
    return [finding(`${record} (${writer.type}) does not exist in zone ${writer.zoneId}: applications cannot find the master`, [])];
  }
  if (writer.node === null) {
    const at = writer.values.length > 0 ? writer.values.join(', ') : 'nothing';
    const why = writer.values.length > 1 ? 'not one node of this cluster' : 'no node of this cluster';
    return [finding(`${record} points at ${at}, ${why}: application writes go nowhere`, [])];
  }
  const node = nodes.find((n) => n.instance.id === writer.nodeId);
  if (!node) return [];
  if (node.instance.state !== 'running') {
    return [finding(`${record} points at ${node.instance.name}, which is ${node.instance.state}: application writes fail`, [node.instance.id])];
  }
  const mysql = node.facts?.kind === 'mysql' ? node.facts.mysql : undefined;
  if (!node.stale && mysql?.readOnly === true) {
    return [finding(`${record} points at ${node.instance.name}, which is read-only: application writes fail`, [node.instance.id])];
  }
  return [];
}

/**
 * Two (or more) writable masters. No runbook fixes this: which history to keep
 * is a judgement, and either choice throws writes away. The message names the
 * masters, marks the one applications write to (the writer record's, when it
 * was read), and says what to do by hand.
 */
function splitBrain(masters: NodeView[], writer: ClusterWriter | undefined): Finding {
  const known = writer !== undefined && writer.nodeId !== undefined && masters.some((n) => n.instance.id === writer.nodeId);
  const mark = writer?.error === undefined ? ' (writer record)' : ' (writer record at its last read)';
  const named = masters.map((n) => `${n.instance.name}${known && n.instance.id === writer!.nodeId ? mark : ''}`).join(', ');
  const others = masters.filter((n) => !known || n.instance.id !== writer!.nodeId).map((n) => n.instance.name);
  const byHand = known
    ? `by hand: SET GLOBAL read_only=ON on ${others.join(', ')}, compare its GTIDs with ${writer!.node}'s, then rebuild it`
    : 'by hand: find which one takes application writes, SET GLOBAL read_only=ON on the other, compare GTIDs, then rebuild it';
  return {
    kind: 'two-writable-masters',
    level: 'CRIT',
    message: `${masters.length === 2 ? 'two' : masters.length} writable masters: ${named}; ${byHand}`,
    nodes: masters.map((n) => n.instance.id),
  };
}

function finding(message: string, nodes: string[]): Finding {
  return { kind: 'writer-record', level: 'CRIT', message, nodes };
}

function normaliseRole(tag: string): string {
  const t = tag.toLowerCase();
  if (t === 'primary' || t === 'source' || t === 'writer') return 'master';
  if (t === 'slave' || t === 'reader') return 'replica';
  return t;
}

function cassandraFindings(nodes: NodeView[], opts: FindingOptions): Finding[] {
  const out: Finding[] = [];
  const down = new Map<string, string>();
  for (const n of nodes) {
    if (n.instance.state !== 'running') down.set(n.instance.privateIp, n.instance.name);
    if (n.stale || n.facts?.kind !== 'cassandra') continue;
    for (const p of n.facts.cassandra.ring) {
      if (p.status.startsWith('D')) {
        const member = nodes.find((m) => m.instance.privateIp === p.address);
        down.set(p.address, member?.instance.name ?? p.address);
      }
    }
  }
  if (down.size > 0) {
    out.push({
      kind: 'node-down',
      level: 'CRIT',
      message: `${down.size} node${down.size > 1 ? 's' : ''} down: ${[...down.values()].join(', ')}`,
      nodes: nodes.filter((n) => down.has(n.instance.privateIp)).map((n) => n.instance.id),
    });
  }
  const overdue = nodes.filter(
    (n) => n.repairAgeSeconds === undefined || n.repairAgeSeconds > opts.thresholds.gcGraceSeconds,
  );
  if (overdue.length > 0) {
    const worst = overdue.reduce((a, b) => ((a.repairAgeSeconds ?? Infinity) >= (b.repairAgeSeconds ?? Infinity) ? a : b));
    const age = worst.repairAgeSeconds === undefined ? 'never' : `${Math.floor(worst.repairAgeSeconds / 86_400)} d`;
    out.push({
      kind: 'repair-overdue',
      level: 'WARN',
      message: `repair overdue on ${overdue.length} node${overdue.length > 1 ? 's' : ''} (worst: ${worst.instance.name}, ${age} > ${Math.floor(opts.thresholds.gcGraceSeconds / 86_400)} d)`,
      nodes: overdue.map((n) => n.instance.id),
      suggests: 'repair',
    });
  }
  return out;
}

/** The cluster's health: worst of its findings and nodes, with the reasons that made it so. */
export function clusterHealth(nodes: NodeView[], findings: Finding[]): ClusterView['health'] {
  let level: HealthLevel = nodes.length === 0 ? 'UNKNOWN' : 'OK';
  for (const f of findings) level = worse(level, f.level);
  for (const n of nodes) level = worse(level, n.health.level);
  const reasons: string[] = [];
  for (const f of [...findings].sort((a, b) => compareLevel(b.level, a.level))) reasons.push(f.message);
  const badNodes = nodes
    .filter((n) => n.health.level !== 'OK')
    .sort((a, b) => compareLevel(b.health.level, a.health.level));
  for (const n of badNodes) reasons.push(`${n.instance.name}: ${n.health.reason}`);
  if (reasons.length === 0) reasons.push(nodes.length === 0 ? 'no nodes' : `${nodes.length} node${nodes.length === 1 ? '' : 's'} ok`);
  return { level, reasons };
}

/**
 * Rows agree with the cluster: a node named by a CRIT finding is not shown OK
 * (nor WARN, nor UNKNOWN) while the cluster says CRIT because of it. Its
 * verdict becomes CRIT with the finding as the reason: both writable masters
 * of a split brain, the node the writer record points at when that is
 * read-only. A node's own I/O trouble (io-impaired) marks its row at the
 * finding's level, WARN too. Nodes not concerned are returned as they are (same objects);
 * `previous` lends its health object when the verdict has not changed, so a
 * screen can tell "unchanged" by identity.
 */
export function withFindingVerdicts(
  nodes: NodeView[],
  findings: readonly Finding[],
  previous?: ReadonlyMap<string, NodeView>,
  writer?: ClusterWriter,
): NodeView[] {
  // A node's own trouble (its disk) shows on its row at the finding's level, WARN included.
  const marking = findings.filter((f) => f.nodes.length > 0 && (f.level === 'CRIT' || f.kind === 'io-impaired'));
  if (marking.length === 0) return nodes;
  return nodes.map((n) => {
    if (n.health.level === 'CRIT') return n;
    let f: Finding | undefined;
    for (const x of marking) if (x.nodes.includes(n.instance.id) && (!f || compareLevel(x.level, f.level) > 0)) f = x;
    if (!f || compareLevel(f.level, n.health.level) <= 0) return n;
    const health: Health = { level: f.level, reason: nodeReason(f, n, nodes, writer?.error === undefined ? writer?.nodeId : undefined) };
    const prev = previous?.get(n.instance.id)?.health;
    return { ...n, health: prev && prev.level === health.level && prev.reason === health.reason ? prev : health };
  });
}

/** A finding in the words of one of its nodes' rows, where the row's name is already shown. */
function nodeReason(f: Finding, node: NodeView, nodes: readonly NodeView[], writerId: string | undefined): string {
  if (f.kind === 'two-writable-masters') {
    const others = nodes.filter((n) => n !== node && f.nodes.includes(n.instance.id));
    const said = `split brain: writable master, as is ${others.map((n) => n.instance.name).join(', ')}`;
    // Which one applications write to, when the writer record says (and was read just now).
    if (writerId === node.instance.id) return `${said}; the writer record points here`;
    if (writerId !== undefined && others.some((n) => n.instance.id === writerId)) return `${said} (the writer record's): stop writes here`;
    return said;
  }
  for (const name of [`${node.instance.name}: `, `${node.instance.name} `]) if (f.message.startsWith(name)) return f.message.slice(name.length);
  return f.message;
}

export function worstLag(nodes: NodeView[]): number | null {
  let worst: number | null = null;
  for (const n of nodes) if (n.lagSeconds !== null && (worst === null || n.lagSeconds > worst)) worst = n.lagSeconds;
  return worst;
}

/** Worst first, then by name: the order every screen and `ls` shows. */
export function sortClusters(clusters: ClusterView[]): ClusterView[] {
  // Across every region and account at once: the worst cluster anywhere is the first row.
  return [...clusters].sort((a, b) => compareLevel(b.health.level, a.health.level) || compareScoped(a, b));
}


/** Lifecycle states of members that are on their way out: they need no rotation. */
const LEAVING = new Set(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated']);

/**
 * Members launched from an older launch template version than the group
 * launches now: "3 of 6 instances on launch template v5, the group launches
 * v7". `rotate` replaces them. Versions that are not numbers (unknown, or an
 * instance not launched from the template) are not counted.
 */
export function driftFindings(group: ScalingGroup): Finding[] {
  const now = Number(group.launchTemplate?.version);
  if (!Number.isInteger(now)) return [];
  const members = group.members.filter((m) => !LEAVING.has(m.lifecycle));
  const stale = members.filter((m) => /^\d+$/.test(m.launchTemplateVersion ?? '') && Number(m.launchTemplateVersion) < now);
  if (stale.length === 0) return [];
  const counts = new Map<number, number>();
  for (const m of stale) counts.set(Number(m.launchTemplateVersion), (counts.get(Number(m.launchTemplateVersion)) ?? 0) + 1);
  const versions = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const which = versions.length === 1 ? `launch template v${versions[0]![0]}` : `older launch template versions (${versions.map(([v, n]) => `v${v} ×${n}`).join(', ')})`;
  return [
    {
      kind: 'launch-template-drift',
      level: 'WARN',
      message: `${stale.length} of ${members.length} instances on ${which}, the group launches v${now}`,
      nodes: stale.map((m) => m.instanceId),
      suggests: 'rotate',
    },
  ];
}

/**
 * A finding that spans clusters: an AZ gone dark, a region whose API
 * throttles. `ls --json`'s top-level `findings[]`, the fleet screen's top.
 */
export interface FleetFinding {
  kind: 'az-impaired' | 'api-throttled';
  level: HealthLevel;
  /** "us-east-1c: 7 of 7 nodes unreachable or impaired (7 failing EC2 status checks)" */
  message: string;
  /** The AZ, for `az-impaired`. */
  az?: string;
  /** The account the AZ is in, where several are in view (an AZ's name means another zone in each). */
  account?: string;
  /** The region, for `api-throttled`. */
  region?: string;
  /** Instance ids concerned. */
  nodes: string[];
  /** The runbook that answers it; none does for an AZ (each cluster's findings name theirs). */
  suggests?: string;
}

/**
 * AZs where most nodes are unreachable or impaired: one AZ dark explains
 * many clusters' findings at once, and says where not to put a new master.
 * A node counts when its instance is not running, EC2 fails its status
 * checks, or its probe failed or has not answered in time. An AZ needs at least two
 * such nodes: one dead host is its cluster's finding, not an AZ's. A node in
 * several clusters counts once.
 */
export function fleetFindings(clusters: readonly ClusterView[]): FleetFinding[] {
  const byAz = new Map<string, { az: string; account?: string; total: number; down: string[]; causes: Map<string, number> }>();
  const seen = new Set<string>();
  for (const c of clusters) {
    for (const n of c.nodes) {
      if (seen.has(n.instance.id)) continue;
      seen.add(n.instance.id);
      // An AZ's name means a different zone in each account (AWS maps them per account): one per account.
      const account = n.instance.account ?? c.account;
      const where = account === undefined ? n.instance.az : `${n.instance.az} ${account}`;
      let az = byAz.get(where);
      if (!az) byAz.set(where, (az = { az: n.instance.az, ...(account !== undefined ? { account } : {}), total: 0, down: [], causes: new Map() }));
      az.total++;
      const cause = darkCause(n);
      if (cause === undefined) continue;
      az.down.push(n.instance.id);
      az.causes.set(cause, (az.causes.get(cause) ?? 0) + 1);
    }
  }
  const out: FleetFinding[] = [];
  for (const [, { az, account, total, down, causes }] of [...byAz].sort((a, b) => compareNames(a[0], b[0]))) {
    if (down.length < 2 || down.length * 2 <= total) continue;
    const why = [...causes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([cause, count]) => `${count} ${cause}`);
    out.push({
      kind: 'az-impaired',
      level: 'CRIT',
      message: `${account === undefined ? az : `${az} (account ${account})`}: ${down.length} of ${total} nodes unreachable or impaired (${why.join(', ')})`,
      az,
      ...(account !== undefined ? { account } : {}),
      nodes: down,
    });
  }
  return out;
}

/** Why a node counts towards a dark AZ, in the words of the AZ finding; undefined when it answers. */
function darkCause(n: NodeView): string | undefined {
  if (n.instance.state !== 'running') return n.instance.state;
  if (n.instance.statusChecks === 'impaired') return 'failing EC2 status checks';
  if (n.probeError !== undefined) return 'not answering';
  // Stale and not OK: asked and silent past the poller's patience. A node not asked yet (the first refresh) is neither.
  if (n.stale && n.health.level !== 'OK') return 'not answering';
  return undefined;
}

/**
 * Calls a cloud API refused as throttled (even after the SDK's retries) in
 * one region, lately: the picture built from that region may be stale.
 * What Backends.apiThrottles reports.
 */
export interface ApiThrottle {
  /** The region; `global` for a global service (Route 53). */
  region: string;
  /** As an engineer says it: "EC2 DescribeInstances". */
  call: string;
  /** Throttled calls within the window. */
  count: number;
  /** The window, ms of the fleet's clock: a throttle older than this is forgotten. */
  windowMs: number;
}

/**
 * One finding per region whose API throttled lately: it explains stale rows
 * and a failed refresh across every cluster there at once. WARN: the fleet
 * may be fine, but what is shown of it may be old. No runbook answers it.
 */
export function throttleFindings(throttles: readonly ApiThrottle[]): FleetFinding[] {
  const byRegion = new Map<string, ApiThrottle[]>();
  for (const t of throttles) {
    if (t.count <= 0) continue;
    let list = byRegion.get(t.region);
    if (!list) byRegion.set(t.region, (list = []));
    list.push(t);
  }
  return [...byRegion].map(([region, list]) => {
    const calls = list.map((t) => `${t.call} throttled ${t.count === 1 ? 'once' : `${t.count} times`}`).join(', ');
    return {
      kind: 'api-throttled',
      level: 'WARN',
      message: `${region}: AWS API throttling (${calls} in the last ${windowWords(list[0]!.windowMs)}); the picture may be stale`,
      region,
      nodes: [],
    };
  });
}

/** "5 min": the window as the finding says it. */
function windowWords(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes >= 1 ? `${minutes} min` : `${Math.round(ms / 1000)} s`;
}
