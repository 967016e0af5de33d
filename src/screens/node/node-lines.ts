// Everything known about one node, as lines of text: instance, health, engine
// facts, ring, findings, tags. Built as plain lines so the screen can window
// and filter them like any list.

import { replicationSource } from '../../domain/cluster-view.js';
import { parseGtidSet, transactionsBehind } from '../../domain/gtid.js';
import type { ClusterView, MetricPoint, NodeView, ThreadState, VolumeHealth, VolumeStatus } from '../../domain/types.js';
import { lagText } from '../../domain/lag-text.js';
import { formatAge, formatSeconds, wrapUnder, wrapWords } from '../../ui/format.js';
import { HEALTH_STYLE, healthColour, healthText } from '../../ui/status-glyphs.js';
import { sparkline } from '../../ui/sparkline.js';
import type { ScreenThresholds } from '../console-context.js';
import { bucketize, freshness, latestValue, repairAge } from '../cluster/node-facts.js';

export interface DetailLine {
  id: string;
  text: string;
  isSection?: boolean;
  colour?: string;
  /** Section title, so a filter on a key can keep its section visible. */
  section: string;
}

export interface NodeLinesContext {
  now: number;
  refreshSeconds: number;
  thresholds: ScreenThresholds;
  width: number;
  roleTag: string;
}

const KEY_WIDTH = 20;

export function nodeLines(node: NodeView, cluster: ClusterView, ctx: NodeLinesContext): DetailLine[] {
  const lines: DetailLine[] = [];
  let section = '';
  const valueWidth = Math.max(10, ctx.width - KEY_WIDTH - 4);
  const round = (v: number) => (Math.abs(v) >= 10 ? String(Math.round(v)) : v.toFixed(1));
  const heading = (title: string) => {
    section = title;
    lines.push({ id: `s:${title}`, text: title, isSection: true, section });
  };
  /** `id`: for a key shown more than once (one line per volume). */
  const field = (key: string, value: string | number | boolean | undefined | null, colour?: string, keyWidth = KEY_WIDTH, id = key) => {
    if (value === undefined || value === null || value === '') return;
    // A value that fits keeps its spacing (a sparkline's gaps); a longer one wraps at spaces so a
    // reason reads whole again, and only a value with none (a GTID set) is split.
    const room = Math.max(10, ctx.width - keyWidth - 4);
    const parts = Array.from(String(value)).length <= room ? [String(value)] : wrapWords(String(value), room);
    parts.forEach((part, i) => {
      // A key longer than the column pushes its value right rather than running into it.
      const label = i > 0 ? ' '.repeat(keyWidth) : key.length >= keyWidth - 1 ? `${key}  ` : key.padEnd(keyWidth);
      lines.push({ id: `f:${section}:${id}:${i}`, text: `  ${label}${part}`, colour, section });
    });
  };
  const yesNo = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'ON' : 'OFF');

  const i = node.instance;
  heading('Health');
  field('health', healthText(node.health.level, node.health.reason), healthColour(node.health.level));
  const fresh = freshness(node, ctx.now, ctx.refreshSeconds, ctx.thresholds);
  const freshNote = !(node.updatedAt > 0) ? '(no probe has succeeded yet)' : fresh.isStale ? '(values below are the last good ones)' : '(fresh)';
  field('data age', `${fresh.text} ${freshNote}`, fresh.isStale ? 'yellow' : undefined);
  field('probe error', node.probeError, 'red');
  field('role (server says)', node.role);
  const tagRole = i.tags[ctx.roleTag];
  if (tagRole !== undefined) {
    // A server that never answered has said nothing to disagree with.
    const known = node.facts !== undefined;
    const agrees = !known || tagRole === node.role;
    field('role (tag hint)', agrees ? `${tagRole}${known ? '' : '  (the server has not answered yet)'}` : `${tagRole}  ▲ disagrees with the server`, agrees ? undefined : 'yellow');
  }

  heading('Instance');
  field('id', i.id);
  field('name', i.name);
  field('private ip', i.privateIp);
  field('az', i.az);
  field('region', i.region);
  field('account', i.account);
  field('type', i.type);
  field('state', i.state, i.state === 'running' ? undefined : 'red');
  const launched = Date.parse(i.launchTime);
  field('launched', Number.isNaN(launched) ? i.launchTime : `${i.launchTime} (${formatAge(launched, ctx.now)} ago)`);
  field('status checks', i.statusChecks, i.statusChecks === 'ok' ? undefined : 'yellow');
  // Only the volumes whose own status check is not ok are listed; each in full, wrapped.
  (i.volumes ?? []).forEach((v, n) => field('EBS volume', volumeText(v, ctx.now), VOLUME_COLOUR[v.status], KEY_WIDTH, `EBS volume ${n}`));
  field('asg', i.asg);
  if (i.ssh) field('ssh', `${i.ssh.user ? `${i.ssh.user}@` : ''}${i.ssh.host}${i.ssh.port ? `:${i.ssh.port}` : ''}`);

  const cpu = node.metrics?.cpu ?? [];
  if (cpu.length > 0) {
    heading('CPU (last 30 min)');
    const values = bucketize(cpu, Math.min(30, valueWidth));
    field('cpu %', `${sparkline(values, Math.min(30, valueWidth))}  now ${Math.round(latestValue(cpu) ?? 0)}`);
    const range = rangeOf(cpu);
    if (range) field('min / max', `${Math.round(range.min)} / ${Math.round(range.max)}`);
  }
  for (const [name, series] of Object.entries(node.metrics?.extra ?? {})) {
    const v = latestValue(series);
    const range = rangeOf(series);
    if (v === undefined || !range) continue;
    // Unknown units: drawn against its own peak, and the peak is printed so the shape is not read as a level.
    const peak = Math.max(range.max, Number.EPSILON);
    field(name, `${sparkline(bucketize(series, 20), 20, 0, peak)}  now ${round(v)} · max ${round(range.max)}`);
  }

  const facts = node.facts;
  if (facts?.kind === 'mysql') {
    const m = facts.mysql;
    heading(m.flavour === 'mariadb' ? 'MariaDB' : 'MySQL');
    field('version', `${m.flavour} ${m.version}`);
    field('server id', m.serverId);
    field('read_only', yesNo(m.readOnly));
    field('super_read_only', yesNo(m.superReadOnly));
    field('log_bin', yesNo(m.logBin));
    field('log_replica_updates', yesNo(m.logReplicaUpdates));
    if (m.binlog) field('binlog', `${m.binlog.file}:${m.binlog.position}`);
    field('gtid executed', m.gtidExecuted || '(empty)');
    const r = m.replica;
    heading('Replication');
    if (!r) {
      field('replica of', 'nothing (not configured as a replica)');
    } else {
      // The cluster's node at that address by its name; the address beside it, as the server reports it.
      const source = replicationSource(node, cluster.nodes);
      const address = `${r.sourceHost}:${r.sourcePort}`;
      field('replica of', source && source !== address ? `${source} (${address})` : `${address}${source === address ? ' (no node of this cluster)' : ''}`);
      field('IO thread', r.ioThread, r.ioThread === 'Yes' ? undefined : 'red');
      field('SQL thread', r.sqlThread, r.sqlThread === 'Yes' ? undefined : 'red');
      field('lag', r.lagSeconds === null ? `unknown (${unknownLagWhy(r.ioThread, r.sqlThread)})` : lagText(r.lagSeconds));
      const gap = gtidGap(node, cluster.nodes);
      if (gap) field('gtid gap', gap);
      field('using gtid', r.usingGtid ? 'yes' : 'no (binlog file and position)');
      field('gtid retrieved', r.gtidRetrieved);
      if (r.lastIoError) field('last IO error', `${r.lastIoError.code}: ${r.lastIoError.message}`, 'red');
      if (r.lastSqlError) field('last SQL error', `${r.lastSqlError.code}: ${r.lastSqlError.message}`, 'red');
      if (!r.lastIoError && !r.lastSqlError) field('last errors', 'none');
    }
  } else if (facts?.kind === 'cassandra') {
    const c = facts.cassandra;
    heading('Cassandra');
    field('status', c.status, c.status === 'UN' ? undefined : 'red');
    const repair = repairAge(node, ctx.thresholds.gcGraceSeconds);
    field(
      'last repaired',
      `${node.lastRepaired ?? 'never'}${repair.ageSeconds !== null ? ` (${repair.text})` : ''}${
        repair.isOverdue ? `  ✗ overdue: gc_grace_seconds is ${formatSeconds(ctx.thresholds.gcGraceSeconds)}` : ''
      }`,
      repair.isOverdue ? 'red' : undefined,
    );
    heading(`Ring (${c.ring.length} peers, as this node sees it)`);
    c.ring.forEach((p, n) => {
      lines.push({
        id: `ring:${n}`,
        text: `  ${p.status}  ${p.address.padEnd(15)} ${p.load.padEnd(10)} ${String(p.tokens).padStart(4)}  ${p.owns.padEnd(7)} ${p.datacenter}/${p.rack}  ${p.hostId}`,
        colour: p.status === 'UN' ? undefined : 'red',
        section,
      });
    });
  } else if (!facts) {
    heading('Engine');
    field('facts', 'not probed yet (or the first probe failed)', 'yellow');
  }

  const mine = cluster.findings.filter((f) => f.nodes.includes(i.id));
  if (mine.length > 0) {
    heading('Findings about this node');
    mine.forEach((f, n) =>
      wrapUnder(f.message, ctx.width, `  ${HEALTH_STYLE[f.level].glyph} ${f.level} `).forEach((text, k) =>
        lines.push({ id: `finding:${n}:${k}`, text, colour: healthColour(f.level), section }),
      ),
    );
  }

  const tags = Object.entries(i.tags).sort(([a], [b]) => a.localeCompare(b));
  heading(`Tags (${tags.length})`);
  if (tags.length === 0) field('tags', 'none');
  const tagWidth = Math.min(34, Math.max(KEY_WIDTH, ...tags.map(([k]) => k.length + 2)));
  for (const [k, v] of tags) field(k, v === '' ? '""' : v, undefined, tagWidth);
  return lines;
}

const VOLUME_COLOUR: Record<VolumeStatus, string | undefined> = { impaired: 'red', warning: 'yellow', 'insufficient-data': undefined, ok: undefined };

/** "vol-0abc on /dev/xvda: impaired since 2026-11-20 00:48 UTC (12 m ago) — I/O performance stalled" */
export function volumeText(v: VolumeHealth, now: number): string {
  const since = v.since === undefined ? NaN : Date.parse(v.since);
  const when = Number.isNaN(since) ? '' : ` since ${new Date(since).toISOString().slice(0, 16).replace('T', ' ')} UTC (${formatAge(since, now)} ago)`;
  return `${v.volumeId}${v.device ? ` on ${v.device}` : ''}: ${v.status}${when}${v.detail ? ` — ${v.detail}` : ''}`;
}

/** Min and max over the last 30 minutes of a series (the newest point's clock). */
function rangeOf(points: readonly MetricPoint[]): { min: number; max: number } | undefined {
  if (points.length === 0) return undefined;
  const end = Math.max(...points.map((p) => p.t));
  const recent = points.filter((p) => p.t > end - 30 * 60_000 && Number.isFinite(p.v)).map((p) => p.v);
  if (recent.length === 0) return undefined;
  return { min: Math.min(...recent), max: Math.max(...recent) };
}

/** Why the server reports no lag: which thread is not running (the IO thread's absence alone leaves it unknowable). */
export function unknownLagWhy(io: ThreadState, sql: ThreadState): string {
  if (io !== 'Yes' && sql !== 'Yes') return 'neither thread is running';
  if (io !== 'Yes') return `the IO thread is ${io === 'Connecting' ? 'connecting' : 'not running'}: the server cannot tell how far behind it is`;
  if (sql !== 'Yes') return 'the SQL thread is not running';
  return 'the server reports none';
}

/**
 * How many transactions a replica lacks against the cluster's writable
 * master, from their executed GTID sets: "0 transactions behind db-1", or
 * undefined when there is no master answering or a set does not parse. The
 * two probes are moments apart, so a busy master shows a few in flight.
 */
export function gtidGap(node: NodeView, nodes: readonly NodeView[]): string | undefined {
  const mine = node.facts?.kind === 'mysql' ? node.facts.mysql : undefined;
  if (!mine?.replica) return undefined;
  const master = nodes.find((n) => n !== node && !n.stale && n.facts?.kind === 'mysql' && !n.facts.mysql.readOnly && !n.facts.mysql.replica);
  const theirs = master?.facts?.kind === 'mysql' ? master.facts.mysql : undefined;
  if (!master || !theirs || theirs.flavour !== mine.flavour) return undefined;
  try {
    const n = transactionsBehind(parseGtidSet(mine.flavour, mine.gtidExecuted), parseGtidSet(theirs.flavour, theirs.gtidExecuted));
    return `${n} transaction${n === 1 ? '' : 's'} behind ${master.instance.name}`;
  } catch {
    return undefined;
  }
}
