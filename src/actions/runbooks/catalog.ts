// The runbooks the console can start, as the runbook picker shows them: for
// each, which clusters it is for, whether it applies to one now (and why, or
// why not), and the form of its parameters. Pure: everything comes from the
// fleet store's data (a ClusterView), nothing is asked of a backend here; the
// runbook's own preflight is still what decides at plan time.
//
// switchover, failover, rebuild and rotate register here as they are written;
// a runbook that cannot be started yet is not listed at all.

import { chooseFailover, rankSwitchover, type CandidateRow } from '../../domain/candidate.js';
import { orderRepairNodes } from '../../domain/repair-choice.js';
import type { CassandraPeer, ClusterView, EngineKind, NodeView } from '../../domain/types.js';
import { formatSeconds } from '../../ui/format.js';
import { lagText } from '../../domain/lag-text.js';
import { repairRunbook } from './repair.js';
import { failoverRunbook } from './failover.js';
import { rebuildRunbook } from './rebuild.js';
import { rotateRunbook } from './rotate.js';
import { switchoverRunbook } from './switchover.js';

/** One answer of a choice field. A disabled one is shown, with why, and cannot be chosen. */
export interface ChoiceOption {
  value: string;
  label: string;
  detail?: string;
  disabled?: string;
}

export type Field =
  | { key: string; label: string; kind: 'choice'; options: ChoiceOption[]; default: string }
  | { key: string; label: string; kind: 'boolean'; default: boolean }
  | { key: string; label: string; kind: 'text'; default: string };

export type FieldValue = string | boolean;
export type FieldValues = Readonly<Record<string, FieldValue>>;

export interface Offer {
  /** True when the runbook is called for now; one that does not apply can still be planned (its preflight says more). */
  applies: boolean;
  /** One line: "3 nodes overdue, oldest 14 d (gc_grace 10 d)", "not now — cass-4 is DN". */
  reason: string;
}

export interface OfferContext {
  /** Wall clock, epoch ms, for ages the catalog computes itself (the fleet's own ages are in the views). */
  now: number;
  /** Cassandra gc_grace_seconds: a node repaired longer ago is overdue. */
  gcGraceSeconds: number;
}

export interface CatalogEntry {
  /** The engine's name for it (`nightshift run NAME`). */
  name: string;
  title: string;
  summary: string;
  engines: readonly EngineKind[];
  /** Only for clusters backed by an Auto Scaling Group. */
  needsAsg?: boolean;
  offer(cluster: ClusterView, ctx: OfferContext): Offer;
  fields(cluster: ClusterView, ctx: OfferContext): Field[];
  /** The form's answers as the runbook's parameters (what `prepareRun` validates). */
  toParams(cluster: string, values: FieldValues): Record<string, unknown>;
}

const ENGINE_NAMES: Record<EngineKind, string> = { mysql: 'MySQL', cassandra: 'Cassandra', generic: 'generic' };

// ---- repair ----

const LEAST_RECENT = 'least-recent';
const ALL_OVERDUE = 'all-overdue';
/** Node values carry a prefix, so a node named like one of the choices above is still that node. */
const NODE = 'node:';

function isOverdue(n: NodeView, gcGraceSeconds: number): boolean {
  return n.repairAgeSeconds === undefined || n.repairAgeSeconds > gcGraceSeconds;
}

function nodeName(n: NodeView): string {
  return n.instance.name || n.instance.id;
}

/**
 * What stops a repair from doing its work, by node name: a member that is not
 * running ("stopped"), or not UN as a node with fresh data sees the ring
 * ("DN"): the preflight's own test. A stale node's view of the ring is not
 * trusted to block.
 */
function repairBlockers(cluster: ClusterView): Map<string, string> {
  const found = new Map<string, string>();
  const byIp = new Map(cluster.nodes.map((n) => [n.instance.privateIp, nodeName(n)]));
  for (const n of cluster.nodes) {
    if (n.instance.state !== 'running') found.set(nodeName(n), n.instance.state);
  }
  // The poller shares one ring list among the members that see the same ring: read each list once,
  // or a big ring costs members × peers on every refresh while the picker is open.
  const rings = new Set<readonly CassandraPeer[]>();
  for (const n of cluster.nodes) {
    if (n.stale || n.facts?.kind !== 'cassandra' || rings.has(n.facts.cassandra.ring)) continue;
    rings.add(n.facts.cassandra.ring);
    for (const peer of n.facts.cassandra.ring) {
      if (peer.status === 'UN') continue;
      const who = byIp.get(peer.address) ?? peer.address;
      if (!found.has(who)) found.set(who, peer.status);
    }
  }
  return found;
}

/** Members in the order the runbook repairs them (its own rule): never repaired first, then the oldest repair. */
function byLeastRecentRepair(nodes: readonly NodeView[]): NodeView[] {
  const byId = new Map(nodes.map((n) => [n.instance.id, n]));
  const candidates = nodes.map((n) => ({ id: n.instance.id, name: nodeName(n), ...(n.lastRepaired !== undefined ? { lastRepaired: n.lastRepaired } : {}) }));
  return orderRepairNodes(candidates).map((c) => byId.get(c.id)!);
}

function repairAgeText(n: NodeView): string {
  if (n.lastRepaired === undefined) return 'never repaired';
  if (n.repairAgeSeconds === undefined) return `tag "${n.lastRepaired}" is not a time`;
  return `repaired ${formatSeconds(n.repairAgeSeconds)} ago`;
}

function listed(items: readonly string[], max = 2): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

const repairEntry: CatalogEntry = {
  name: repairRunbook.name,
  title: repairRunbook.title,
  summary: repairRunbook.summary,
  engines: ['cassandra'],
  offer(cluster, { gcGraceSeconds }) {
    const grace = `gc_grace ${formatSeconds(gcGraceSeconds)}`;
    if (cluster.nodes.length === 0) return { applies: false, reason: 'not now — the cluster has no member instances' };
    const blockers = [...repairBlockers(cluster)].map(([who, what]) => `${who} is ${what}`);
    if (blockers.length > 0) return { applies: false, reason: `not now — ${listed(blockers)}; a repair needs every node UN` };
    const overdue = cluster.nodes.filter((n) => isOverdue(n, gcGraceSeconds));
    if (overdue.length === 0) {
      const next = byLeastRecentRepair(cluster.nodes)[0]!;
      const dueIn = gcGraceSeconds - (next.repairAgeSeconds ?? 0);
      return { applies: false, reason: `not due — every node repaired within ${formatSeconds(gcGraceSeconds)}; next ${nodeName(next)}, due in ${formatSeconds(dueIn)}` };
    }
    const never = overdue.filter((n) => n.repairAgeSeconds === undefined).length;
    const count = `${overdue.length} node${overdue.length > 1 ? 's' : ''} overdue`;
    if (never === overdue.length) {
      return { applies: true, reason: `${overdue.length === 1 ? `${nodeName(overdue[0]!)} never` : `${overdue.length} nodes never`} repaired (${grace})` };
    }
    const oldest = Math.max(...overdue.map((n) => n.repairAgeSeconds ?? 0));
    const withNever = never > 0 ? ` (${never} never repaired)` : '';
    return { applies: true, reason: `${count}${withNever}, oldest ${formatSeconds(oldest)} (${grace})` };
  },
  fields(cluster, { gcGraceSeconds }) {
    const ordered = byLeastRecentRepair(cluster.nodes);
    const blockers = repairBlockers(cluster);
    const overdue = ordered.filter((n) => isOverdue(n, gcGraceSeconds));
    // The runbook's own order, so the form names the node the plan will name.
    const nextNode = ordered[0];
    const options: ChoiceOption[] = [
      {
        value: LEAST_RECENT,
        label: 'least recently repaired',
        detail: nextNode ? `now ${nodeName(nextNode)}, ${repairAgeText(nextNode)}` : 'no member to repair',
      },
      {
        value: ALL_OVERDUE,
        label: 'all overdue',
        ...(overdue.length > 0
          ? { detail: `${overdue.length} node${overdue.length > 1 ? 's' : ''}, oldest first, checkpoint between` }
          : { disabled: `none is overdue (${formatSeconds(gcGraceSeconds)} gc_grace)` }),
      },
      ...ordered.map((n) => {
        const notes = [repairAgeText(n)];
        if (isOverdue(n, gcGraceSeconds)) notes.push('overdue');
        const blocked = blockers.get(nodeName(n));
        if (blocked !== undefined) notes.push(blocked);
        return { value: `${NODE}${nodeName(n)}`, label: nodeName(n), detail: notes.join(' · ') };
      }),
    ];
    return [{ key: 'node', label: 'which node', kind: 'choice', options, default: LEAST_RECENT }];
  },
  toParams(cluster, values) {
    const node = values['node'];
    if (node === ALL_OVERDUE) return { cluster, allOverdue: true };
    if (typeof node === 'string' && node.startsWith(NODE)) return { cluster, node: node.slice(NODE.length) };
    return { cluster };
  },
};

// ---- the switchover and failover candidate list (their forms will use it) ----

/** RUNBOOKS.md's switchover lag limit, when the form is given none. */
export const DEFAULT_SWITCHOVER_LAG_LIMIT_SECONDS = 10;

/** One candidate as the form lists it: a choice answer, with the row it was made from. */
export interface CandidateOption extends ChoiceOption {
  row: CandidateRow;
  /** The node the runbook takes when the operator picks none. */
  isDefault: boolean;
}

export interface CandidateList {
  /** `switchover` while the cluster has a live writable master, else `failover`. */
  kind: 'switchover' | 'failover';
  options: CandidateOption[];
  /** Why none can be taken, when none can (a switchover refused; every replica excluded). */
  refusal?: string;
}

/**
 * The candidates for a new master, best first, each with its AZ, lag,
 * promotion rule and GTID position, and why it cannot be taken if it cannot.
 * With a live writable master, the switchover ranking; without one, the
 * failover order on the sets the replicas report now: which replica is most
 * advanced is settled only once they have applied their relay logs (the
 * runbook's step), so the form shows the order and leaves the choice to it.
 */
export function candidateRows(cluster: ClusterView, opts: { lagLimitSeconds?: number } = {}): CandidateList {
  const lagLimitSeconds = opts.lagLimitSeconds ?? DEFAULT_SWITCHOVER_LAG_LIMIT_SECONDS;
  const hasMaster = cluster.nodes.some((n) => !n.stale && n.instance.state === 'running' && n.facts?.kind === 'mysql' && !n.facts.mysql.readOnly && !n.facts.mysql.replica);
  if (hasMaster) {
    const r = rankSwitchover(cluster, { lagLimitSeconds });
    const best = r.ok ? r.chosen.id : undefined;
    const list: CandidateList = { kind: 'switchover', options: r.ranked.map((row) => candidateOption(row, row.id === best)) };
    if (!r.ok) list.refusal = r.reason;
    return list;
  }
  const replicas = cluster.nodes.filter((n) => !n.stale && n.facts?.kind === 'mysql' && n.facts.mysql.replica);
  const r = chooseFailover(
    cluster,
    replicas.map((node) => ({ node, executed: node.facts?.kind === 'mysql' ? node.facts.mysql.gtidExecuted : '' })),
  );
  const best = r.ranked.find((row) => row.excluded.length === 0)?.id;
  const list: CandidateList = { kind: 'failover', options: r.ranked.map((row) => candidateOption(row, row.id === best)) };
  if (best === undefined) list.refusal = r.ok ? 'no replica answers' : r.reason;
  return list;
}

function candidateOption(row: CandidateRow, isDefault: boolean): CandidateOption {
  const lag = row.lagSeconds === null ? 'lag ?' : `lag ${lagText(row.lagSeconds)}`;
  const rule = row.rule === 'none' ? '' : ` · ${row.rule}`;
  const option: CandidateOption = {
    value: `${NODE}${row.id}`,
    label: row.name,
    detail: `${row.az} · ${lag}${rule} · ${shortGtid(row.gtidExecuted)}`,
    row,
    isDefault,
  };
  if (row.excluded.length > 0) option.disabled = row.excluded.join('; ');
  return option;
}

/** A GTID position short enough for a form line: MySQL uuids to their first 8 digits. */
export function shortGtid(set: string): string {
  if (set === '') return 'no GTIDs';
  return set.replace(/\s+/g, '').replace(/\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '$1…');
}

// ---- switchover ----

/** The picker's "let the runbook choose" answer: the runbook ranks the candidates itself at plan time. */
const BEST_CANDIDATE = 'best';

/** The "new master" field of switchover and failover: the runbook's own choice first, then every candidate. */
function candidateFields(cluster: ClusterView, bestLabel: string, bestNote: string): Field[] {
  const list = candidateRows(cluster);
  const best = list.options.find((o) => o.isDefault);
  const options: ChoiceOption[] = [
    { value: BEST_CANDIDATE, label: bestLabel, detail: best ? `now ${best.label}${bestNote}` : (list.refusal ?? 'no eligible replica') },
    ...list.options.map(({ value, label, detail, disabled }) => ({ value, label, ...(detail !== undefined ? { detail } : {}), ...(disabled !== undefined ? { disabled } : {}) })),
  ];
  return [{ key: 'candidate', label: 'new master', kind: 'choice', options, default: BEST_CANDIDATE }];
}

const switchoverEntry: CatalogEntry = {
  name: switchoverRunbook.name,
  title: switchoverRunbook.title,
  summary: switchoverRunbook.summary,
  engines: ['mysql'],
  offer(cluster) {
    const list = candidateRows(cluster);
    if (list.kind !== 'switchover') return { applies: false, reason: 'not now — no writable master answers: a switchover needs a live master (failover is for a dead one)' };
    if (list.refusal !== undefined) return { applies: false, reason: `not now — ${list.refusal}` };
    const best = list.options.find((o) => o.isDefault)!;
    const eligible = list.options.filter((o) => o.disabled === undefined).length;
    return { applies: true, reason: `${eligible} eligible replica${eligible === 1 ? '' : 's'}; best ${best.label} (${best.detail ?? ''})` };
  },
  fields: (cluster) => candidateFields(cluster, 'best ranked', ''),
  toParams(cluster, values) {
    const c = values['candidate'];
    if (typeof c === 'string' && c.startsWith(NODE)) return { cluster, candidate: c.slice(NODE.length) };
    return { cluster };
  },
};

// ---- failover ----

const failoverEntry: CatalogEntry = {
  name: failoverRunbook.name,
  title: failoverRunbook.title,
  summary: failoverRunbook.summary,
  engines: ['mysql'],
  offer(cluster) {
    const list = candidateRows(cluster);
    if (list.kind !== 'failover') return { applies: false, reason: 'not now — a writable master answers: failover is for a dead master (switchover moves a live one)' };
    if (list.refusal !== undefined) return { applies: false, reason: `not now — ${list.refusal}` };
    const best = list.options.find((o) => o.isDefault)!;
    return { applies: true, reason: `no writable master; most advanced now ${best.label} (${best.detail ?? ''}); the run checks the master is dead first` };
  },
  fields: (cluster) => candidateFields(cluster, 'most advanced', '; settled once the relay logs are applied'),
  toParams: (cluster, values) => switchoverEntry.toParams(cluster, values),
};

// ---- rebuild ----

const LEAST_LAG = 'least-lag';
const DEFAULT_VIA = 'default';

const rebuildEntry: CatalogEntry = {
  name: rebuildRunbook.name,
  title: rebuildRunbook.title,
  summary: rebuildRunbook.summary,
  engines: ['mysql'],
  offer(cluster) {
    const below = cluster.findings.find((f) => f.suggests === rebuildRunbook.name);
    const replicas = cluster.nodes.filter((n) => n.role === 'replica' && !n.stale);
    if (candidateRows(cluster).kind === 'failover') return { applies: false, reason: 'not now — no writable master answers: fail over first, then rebuild' };
    if (replicas.length === 0) return { applies: false, reason: 'not now — no replica answers to take a backup from' };
    if (below) return { applies: true, reason: below.message };
    return { applies: false, reason: `redundancy is at its target (${replicas.length} replica${replicas.length === 1 ? '' : 's'}); a rebuild adds one more` };
  },
  fields(cluster) {
    const replicas = cluster.nodes
      .filter((n) => n.role === 'replica' && !n.stale)
      .sort((a, b) => (a.lagSeconds ?? Infinity) - (b.lagSeconds ?? Infinity) || nodeName(a).localeCompare(nodeName(b)));
    const source: ChoiceOption[] = [
      { value: LEAST_LAG, label: 'least lagging healthy replica', detail: replicas[0] ? `now ${nodeName(replicas[0])}` : 'no replica answers' },
      ...replicas.map((n) => ({ value: `${NODE}${nodeName(n)}`, label: nodeName(n), detail: `${n.instance.az} · ${n.lagSeconds === null ? 'lag ?' : `lag ${lagText(n.lagSeconds)}`}` })),
    ];
    return [
      { key: 'source', label: 'backup from', kind: 'choice', options: source, default: LEAST_LAG },
      { key: 'target', label: 'spare host (empty: launch one)', kind: 'text', default: '' },
      {
        key: 'via',
        label: 'copy by',
        kind: 'choice',
        options: [
          { value: DEFAULT_VIA, label: 'default', detail: 'EBS snapshot where the target has EBS, else stream' },
          { value: 'ebs', label: 'EBS snapshot' },
          { value: 'stream', label: 'stream over SSH' },
        ],
        default: DEFAULT_VIA,
      },
    ];
  },
  toParams(cluster, values) {
    const params: Record<string, unknown> = { cluster };
    const s = values['source'];
    if (typeof s === 'string' && s.startsWith(NODE)) params.source = s.slice(NODE.length);
    const t = values['target'];
    if (typeof t === 'string' && t.trim() !== '') params.target = t.trim();
    const v = values['via'];
    if (v === 'ebs' || v === 'stream') params.via = v;
    return params;
  },
};

// ---- rotate ----

const OLDEST = 'oldest';

const rotateEntry: CatalogEntry = {
  name: rotateRunbook.name,
  title: rotateRunbook.title,
  summary: rotateRunbook.summary,
  engines: ['mysql', 'cassandra', 'generic'],
  needsAsg: true,
  offer(cluster) {
    const drift = cluster.findings.find((f) => f.suggests === rotateRunbook.name);
    const down = cluster.nodes.filter((n) => n.instance.state !== 'running' || n.health.level === 'CRIT');
    if (down.length > 0) return { applies: false, reason: `not now — ${listed(down.map((n) => `${nodeName(n)} is ${n.instance.state === 'running' ? n.health.level : n.instance.state}`))}; a rotation takes one more out` };
    if (drift) return { applies: true, reason: drift.message };
    return { applies: false, reason: 'every instance runs the launch template version its group launches; name instances to rotate them anyway' };
  },
  fields(cluster) {
    const masters = new Set(cluster.nodes.filter((n) => n.role === 'master').map(nodeName));
    return [
      {
        key: 'order',
        label: 'instances',
        kind: 'choice',
        options: [
          { value: OLDEST, label: 'stale ones, oldest first', detail: cluster.engine === 'mysql' ? 'never the master' : 'launch template older than the group' },
          ...cluster.nodes.map((n) => ({
            value: `${NODE}${nodeName(n)}`,
            label: `only ${nodeName(n)}`,
            detail: n.instance.az,
            ...(masters.has(nodeName(n)) ? { disabled: 'the master: switch over first' } : {}),
          })),
        ],
        default: OLDEST,
      },
      { key: 'noPause', label: 'no checkpoint between instances', kind: 'boolean', default: false },
    ];
  },
  toParams(cluster, values) {
    const params: Record<string, unknown> = { cluster };
    const o = values['order'];
    if (typeof o === 'string' && o.startsWith(NODE)) params.order = o.slice(NODE.length);
    if (values['noPause'] === true) params.noPause = true;
    return params;
  },
};

/** Every runbook the console can start, in the order the picker lists them (catalogFor puts failover first when it applies). */
export const CATALOG: readonly CatalogEntry[] = [repairEntry, switchoverEntry, failoverEntry, rebuildEntry, rotateEntry];

export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.name === name);
}

/** The runbooks for this cluster's engine (and ASG, where one is needed), among those the console can start. */
export function catalogFor(cluster: Pick<ClusterView, 'engine' | 'asg'> & Partial<Pick<ClusterView, 'nodes'>>, available: readonly string[] = CATALOG.map((e) => e.name)): CatalogEntry[] {
  const entries = CATALOG.filter((e) => available.includes(e.name) && e.engines.includes(cluster.engine) && (!e.needsAsg || cluster.asg !== undefined));
  // A MySQL cluster with no writable master: failover is what the engineer came for.
  if (cluster.engine === 'mysql' && cluster.nodes && candidateRows(cluster as ClusterView).kind === 'failover') {
    return [...entries.filter((e) => e === failoverEntry), ...entries.filter((e) => e !== failoverEntry)];
  }
  return entries;
}

/** The line shown instead of an empty list: the key did something, and says what exists. */
export function noRunbookText(engine: EngineKind, available: readonly string[] = CATALOG.map((e) => e.name)): string {
  const usable = CATALOG.filter((e) => available.includes(e.name));
  // This engine's runbooks that need a group: the cluster has none, which is why none is listed.
  const needGroup = usable.filter((e) => e.needsAsg && e.engines.includes(engine)).map((e) => e.name);
  const elsewhere = usable.filter((e) => !e.engines.includes(engine)).map((e) => `${e.name} (${e.engines.map((k) => ENGINE_NAMES[k]).join(', ')})`);
  const head = needGroup.length > 0 ? `no runbook for this ${ENGINE_NAMES[engine]} cluster: ${needGroup.join(', ')} needs an Auto Scaling group, and it has none` : `no runbook for ${ENGINE_NAMES[engine]} clusters in this version yet`;
  return `${head}${elsewhere.length > 0 ? `; the console can start ${elsewhere.join(', ')}` : ''}`;
}

/**
 * The form's answers as they stand: each field's value when it is still a
 * valid one (a refresh can take a node away), else its default.
 */
export function resolveValues(fields: readonly Field[], given: FieldValues): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fields) {
    const v = given[f.key];
    switch (f.kind) {
      case 'choice':
        out[f.key] = typeof v === 'string' && f.options.some((o) => o.value === v && o.disabled === undefined) ? v : f.default;
        break;
      case 'boolean':
        out[f.key] = typeof v === 'boolean' ? v : f.default;
        break;
      case 'text':
        out[f.key] = typeof v === 'string' ? v : f.default;
        break;
    }
  }
  return out;
}
