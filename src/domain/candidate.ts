// Which replica becomes the master: ranked for a switchover, chosen for a
// failover, and the operator's own pick checked against the same rules. Pure:
// the runbooks gather the facts (a probe, the executed sets after the relay
// logs are applied), this decides, and says why in words.
//
// Switchover (the master is alive): a candidate must replicate from the
// master with both threads running, be within the lag limit, write a binary
// log of what it replicates (its replicas follow it afterwards), have nothing
// the master never had (errant GTIDs would reach every replica), and not run
// an older release series than the master. Preferred by the promotion tag,
// then lowest lag, then name.
//
// Failover (the master is dead): whoever is promoted becomes the source of
// every other replica, so it must have executed everything each of them has;
// otherwise those transactions are lost, or worse, kept on one replica only.
// The most advanced replica is the one whose set contains every other's.

import { compareNames } from './names.js';
import { withoutProbeSkew } from './findings.js';
import { formatGtidSet, gtidDifference, gtidUnion, isEmptyGtidSet, mariadbBinlogStateErrant, parseGtidSet, transactionsBehind, type GtidSet } from './gtid.js';
import type { ClusterView, MysqlFacts, NodeView } from './types.js';
import { lagOrUnknown } from './lag-text.js';

/** `prefer` first, `never` not at all (a node kept for backups, another region's DR copy). */
export const PROMOTION_TAG = 'nightshift:promotion';

export type PromotionRule = 'prefer' | 'never' | 'none';

/** One node as the candidate list shows it, and why it cannot be promoted if it cannot. */
export interface CandidateRow {
  id: string;
  name: string;
  az: string;
  rule: PromotionRule;
  lagSeconds: number | null;
  /** The executed set it was judged on (after the relay log is applied, in a failover). */
  gtidExecuted: string;
  version: string;
  /** Why it cannot be promoted, in words; empty when it can. */
  excluded: string[];
}

export type Ranking =
  /** `master`: the live master a switchover moves away from. */
  | { ok: true; master?: string; chosen: CandidateRow; ranked: CandidateRow[] }
  /** `ranked`: every node considered, so the refusal can be shown beside the list. */
  | { ok: false; reason: string; ranked: CandidateRow[] };

export interface SwitchoverOptions {
  /** Replicas further behind than this are not candidates (RUNBOOKS: default 10 s). */
  lagLimitSeconds: number;
  /** The operator's pick: a node name or instance id. */
  pick?: string;
  /** The whole fleet, to say which cluster a pick from elsewhere is in. */
  fleet?: readonly ClusterView[];
  /**
   * Count every transaction the master lacks as errant. By default those from
   * a source the master already has are taken for probe timing (see
   * withoutProbeSkew), which also hides writes on a replica that was once the
   * master; once the master is read-only nothing is in flight, and a runbook
   * should check exactly.
   */
  exact?: boolean;
}

export interface FailoverReplica {
  node: NodeView;
  /** Its executed set once its relay log is applied (failover S3); the flavour's own notation. */
  executed: string;
}

export interface FailoverOptions {
  pick?: string;
  fleet?: readonly ClusterView[];
  /**
   * The dead master's executed set as last seen, when known: a replica with
   * transactions from a source the master never had is errant.
   */
  masterGtidExecuted?: string;
  /** The dead master's version as last seen, when known. */
  masterVersion?: string;
}

/** The promotion rule of a node, from its tag. A value that is neither is kept out: a mistyped `never` must not promote. */
export function promotionOf(node: NodeView): PromotionRule | { invalid: string } {
  const raw = node.instance.tags[PROMOTION_TAG];
  if (raw === undefined || raw.trim() === '') return 'none';
  const v = raw.trim().toLowerCase();
  return v === 'prefer' || v === 'never' ? v : { invalid: raw };
}

// ------------------------------------------------------------ switchover

/** Ranks the replicas of the cluster's writable master for a planned switchover, or refuses. */
export function rankSwitchover(cluster: ClusterView, opts: SwitchoverOptions): Ranking {
  const writable = cluster.nodes.filter((n) => !n.stale && n.instance.state === 'running' && mysqlOf(n)?.readOnly === false && !mysqlOf(n)?.replica);
  if (writable.length !== 1) {
    const why =
      writable.length === 0
        ? `${cluster.name} has no writable master that answers: a switchover needs a live master (if it is dead, run failover)`
        : `${cluster.name} has ${writable.length} writable masters (${writable.map((n) => n.instance.name).join(', ')}): settle which one is the master before a switchover`;
    return { ok: false, reason: why, ranked: [] };
  }
  const master = writable[0]!;
  const m = mysqlOf(master)!;
  let masterSet: GtidSet | undefined;
  try {
    masterSet = parseGtidSet(m.flavour, m.gtidExecuted);
  } catch {
    masterSet = undefined;
  }
  const rows: CandidateRow[] = [];
  for (const n of cluster.nodes) {
    if (n === master) continue;
    const r = mysqlOf(n);
    const row = baseRow(n, r?.gtidExecuted ?? '', n.lagSeconds);
    if (!r) {
      row.excluded.push(n.stale ? `not answering${n.probeError ? ` (${n.probeError})` : ''}` : 'no MySQL facts');
      rows.push(row);
      continue;
    }
    if (n.stale || n.instance.state !== 'running') row.excluded.push(`not answering${n.probeError ? ` (${n.probeError})` : ` (${n.instance.state})`}`);
    const source = r.replica ? sourceName(r.replica.sourceHost, r.replica.sourcePort, cluster.nodes) : undefined;
    if (!r.replica) row.excluded.push('not a replica');
    else if (source !== master.instance.name) row.excluded.push(`replicates from ${source}, not from the master ${master.instance.name}`);
    else {
      const io = r.replica.ioThread;
      const sql = r.replica.sqlThread;
      if (io !== 'Yes' || sql !== 'Yes') row.excluded.push(`not replicating (IO thread ${io}, SQL thread ${sql})`);
      else if (n.lagSeconds === null) row.excluded.push('lag unknown');
      else if (n.lagSeconds > opts.lagLimitSeconds) row.excluded.push(`lag ${lagOrUnknown(n.lagSeconds)} over the ${opts.lagLimitSeconds} s limit`);
    }
    row.excluded.push(...binlogProblems(r));
    if (r.flavour !== m.flavour) row.excluded.push(`${flavourName(r.flavour)}, the master is ${flavourName(m.flavour)}`);
    else {
      const errant = masterSet ? errantOf(r, masterSet, opts.exact ?? false, m) : undefined;
      if (errant) row.excluded.push(`errant GTIDs ${errant} (writes ${master.instance.name} never had)`);
      if (!masterSet) row.excluded.push(`the master's GTID set does not parse: cannot check for errant transactions`);
    }
    const older = olderThan(r.version, m.version);
    if (older) row.excluded.push(`version ${r.version} is older than the master's ${m.version}`);
    rows.push(row);
  }
  const ranked = rankRows(rows, (a, b) => preferred(a) - preferred(b) || (a.lagSeconds ?? Infinity) - (b.lagSeconds ?? Infinity));
  const eligible = ranked.filter((r) => r.excluded.length === 0);
  const base = { master: master.instance.name, ranked };
  if (opts.pick !== undefined) {
    const refusal = pickRefusal(cluster, opts.pick, opts.fleet, master);
    if (refusal) return { ok: false, reason: refusal, ranked };
    const row = ranked.find((r) => r.id === opts.pick || r.name === opts.pick)!;
    if (row.excluded.length > 0) return { ok: false, reason: `${row.name} cannot be promoted: ${row.excluded.join('; ')}${otherwise(eligible)}`, ranked };
    return { ok: true, ...base, chosen: row };
  }
  if (eligible.length === 0) {
    const why = ranked.length === 0 ? `${cluster.name} has no replica` : ranked.map((r) => `${r.name}: ${r.excluded.join('; ')}`).join(' · ');
    return { ok: false, reason: `no replica of ${master.instance.name} can be promoted: ${why}`, ranked };
  }
  return { ok: true, ...base, chosen: eligible[0]! };
}

// ------------------------------------------------------------ failover

/**
 * Chooses the replica to promote once the master is dead and every replica
 * has applied its relay log, or refuses. Accepts only a candidate whose
 * executed set contains every other replica's: the others are repointed at
 * it, and what it lacks would be lost.
 */
export function chooseFailover(cluster: ClusterView, replicas: readonly FailoverReplica[], opts: FailoverOptions = {}): Ranking {
  const sets = new Map<FailoverReplica, GtidSet | undefined>();
  let flavour: MysqlFacts['flavour'] | undefined;
  for (const r of replicas) {
    const f = mysqlOf(r.node);
    flavour ??= f?.flavour;
    let set: GtidSet | undefined;
    try {
      if (f && f.flavour === flavour) set = parseGtidSet(f.flavour, r.executed);
    } catch {
      set = undefined;
    }
    sets.set(r, set);
  }
  let masterSet: GtidSet | undefined;
  try {
    if (flavour && opts.masterGtidExecuted !== undefined) masterSet = parseGtidSet(flavour, opts.masterGtidExecuted);
  } catch {
    masterSet = undefined;
  }

  const rows = new Map<FailoverReplica, CandidateRow>();
  for (const r of replicas) {
    const f = mysqlOf(r.node);
    const row = baseRow(r.node, r.executed, null);
    const set = sets.get(r);
    if (!f) row.excluded.push('no MySQL facts');
    else {
      if (f.flavour !== flavour) row.excluded.push(`${flavourName(f.flavour)}, the others are ${flavourName(flavour!)}`);
      else if (!set) row.excluded.push(`its executed set "${r.executed}" does not parse`);
      row.excluded.push(...binlogProblems(f));
      if (set && masterSet) {
        const errant = errantOf({ ...f, gtidExecuted: r.executed }, masterSet, false);
        if (errant) row.excluded.push(`errant GTIDs ${errant} (writes the master never had)`);
      }
      const older = opts.masterVersion !== undefined ? olderThan(f.version, opts.masterVersion) : undefined;
      if (older) row.excluded.push(`version ${f.version} is older than the master's ${opts.masterVersion}`);
    }
    rows.set(r, row);
  }

  // What each candidate lacks, per other replica. A replica whose set does not
  // parse has unknown transactions: no one can be shown to contain them.
  const lacks = new Map<FailoverReplica, Array<{ from: string; missing: string }>>();
  const behind = new Map<FailoverReplica, number>();
  const all = [...sets.values()].filter((s): s is GtidSet => s !== undefined);
  const union = all.length > 0 ? all.reduce((a, b) => gtidUnion(a, b)) : undefined;
  for (const c of replicas) {
    const cs = sets.get(c);
    if (!cs) continue;
    const list: Array<{ from: string; missing: string }> = [];
    for (const o of replicas) {
      if (o === c) continue;
      const os = sets.get(o);
      if (!os) {
        list.push({ from: o.node.instance.name, missing: 'unknown (its set does not parse)' });
        continue;
      }
      const d = gtidDifference(os, cs);
      if (!isEmptyGtidSet(d)) list.push({ from: o.node.instance.name, missing: formatGtidSet(d) });
    }
    lacks.set(c, list);
    behind.set(c, union ? transactionsBehind(cs, union) : 0);
  }

  const byRow = new Map([...rows].map(([r, row]) => [row, r]));
  // Most advanced first (fewest transactions short of everything any replica has), then the promotion rule.
  const behindOf = (row: CandidateRow) => behind.get(byRow.get(row)!) ?? Infinity;
  const ranked = rankRows([...rows.values()], (a, b) => behindOf(a) - behindOf(b) || preferred(a) - preferred(b));
  const complete = (row: CandidateRow) => {
    const r = byRow.get(row)!;
    return lacks.has(r) && lacks.get(r)!.length === 0;
  };
  const lackText = (row: CandidateRow) =>
    lacks.get(byRow.get(row)!)!.map((l) => `${l.missing} (${l.from} has ${l.missing.startsWith('unknown') ? 'an unparsable set' : 'them'})`).join('; ');

  if (opts.pick !== undefined) {
    const refusal = pickRefusal(cluster, opts.pick, opts.fleet, undefined, replicas.map((r) => r.node));
    if (refusal) return { ok: false, reason: refusal, ranked };
    const row = ranked.find((r) => r.id === opts.pick || r.name === opts.pick)!;
    if (row.excluded.length > 0) return { ok: false, reason: `${row.name} cannot be promoted: ${row.excluded.join('; ')}${otherwise(ranked.filter((x) => x.excluded.length === 0 && complete(x)))}`, ranked };
    if (!complete(row)) {
      return {
        ok: false,
        reason: `${row.name} is not the most advanced replica: it lacks ${lackText(row)}; promoting it would lose those transactions${otherwise(ranked.filter((x) => x.excluded.length === 0 && complete(x)))}`,
        ranked,
      };
    }
    return { ok: true, chosen: row, ranked };
  }

  const eligible = ranked.filter((r) => r.excluded.length === 0);
  if (eligible.length === 0) {
    const why = ranked.length === 0 ? `${cluster.name} has no replica` : ranked.map((r) => `${r.name}: ${r.excluded.join('; ')}`).join(' · ');
    return { ok: false, reason: `no replica can be promoted: ${why}`, ranked };
  }
  const chosen = eligible.find(complete);
  if (!chosen) {
    // The nearest miss, to show what would be lost.
    const best = eligible[0]!;
    return {
      ok: false,
      reason: `no replica that may be promoted has every transaction the others have: the most advanced, ${best.name}, lacks ${lackText(best)}; promoting it would lose those transactions`,
      ranked,
    };
  }
  return { ok: true, chosen, ranked };
}

// ------------------------------------------------------------ shared

function mysqlOf(n: NodeView): MysqlFacts | undefined {
  return n.facts?.kind === 'mysql' ? n.facts.mysql : undefined;
}

function baseRow(n: NodeView, gtidExecuted: string, lagSeconds: number | null): CandidateRow {
  const rule = promotionOf(n);
  const row: CandidateRow = {
    id: n.instance.id,
    name: n.instance.name,
    az: n.instance.az,
    rule: typeof rule === 'string' ? rule : 'none',
    lagSeconds,
    gtidExecuted,
    version: mysqlOf(n)?.version ?? '',
    excluded: [],
  };
  if (typeof rule !== 'string') row.excluded.push(`tag ${PROMOTION_TAG}=${rule.invalid} is neither prefer nor never: fix the tag`);
  else if (rule === 'never') row.excluded.push(`promotion rule never (tag ${PROMOTION_TAG}=never)`);
  return row;
}

function preferred(r: CandidateRow): number {
  return r.rule === 'prefer' ? 0 : 1;
}

/** Eligible first (by `order`, then name), then the excluded by name. */
function rankRows(rows: CandidateRow[], order: (a: CandidateRow, b: CandidateRow) => number): CandidateRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(a.excluded.length > 0) - Number(b.excluded.length > 0) ||
      (a.excluded.length === 0 ? order(a, b) : 0) ||
      compareNames(a.name, b.name),
  );
}

function binlogProblems(f: MysqlFacts): string[] {
  const out: string[] = [];
  if (!f.logBin) out.push('no binary log (log_bin off): the other replicas could not follow it');
  else if (!f.logReplicaUpdates) out.push('log_replica_updates off: what it replicates would not reach its replicas');
  return out;
}

/** Transactions a replica has that the master never had, as text; undefined when none (probe timing aside: see withoutProbeSkew). */
/** The transactions a replica has that the master never had (as the errant-GTID finding reads them), or undefined. */
export function errantAgainst(replica: MysqlFacts, master: MysqlFacts): string | undefined {
  try {
    return errantOf(replica, parseGtidSet(master.flavour, master.gtidExecuted), false, master);
  } catch {
    return undefined;
  }
}

function errantOf(r: MysqlFacts, master: GtidSet, exact: boolean, masterFacts?: MysqlFacts): string | undefined {
  // MariaDB: the binlog state keeps a replica's own writes after the master writes again.
  if (r.flavour === 'mariadb' && r.gtidBinlogState !== undefined && masterFacts?.gtidBinlogState !== undefined) {
    try {
      return mariadbBinlogStateErrant(r.gtidBinlogState, masterFacts.gtidBinlogState, exact ? undefined : masterFacts.serverId) || undefined;
    } catch {
      // an unparsable state: fall back to the positions
    }
  }
  let set: GtidSet;
  try {
    set = parseGtidSet(r.flavour, r.gtidExecuted);
  } catch {
    return undefined; // reported by the caller as unparsable
  }
  if (set.flavour !== master.flavour) return undefined;
  const diff = gtidDifference(set, master);
  const errant = exact ? diff : withoutProbeSkew(diff, master);
  return isEmptyGtidSet(errant) ? undefined : formatGtidSet(errant);
}

/** `8.0.39` against `8.4.2`: true when the release series (major.minor) of `version` is older. */
export function olderThan(version: string, than: string): boolean {
  const a = series(version);
  const b = series(than);
  if (!a || !b) return false;
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function series(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function flavourName(f: MysqlFacts['flavour']): string {
  return f === 'mariadb' ? 'MariaDB' : 'MySQL';
}

function sourceName(host: string, port: number, nodes: readonly NodeView[]): string {
  const h = host.toLowerCase();
  const n = nodes.find((x) => x.instance.privateIp === h || x.instance.name.toLowerCase() === h || x.instance.ssh?.host?.toLowerCase() === h);
  return n ? n.instance.name : `${host}:${port}`;
}

/** Unknown node, node of another cluster, the master itself: the pick's own refusals, before the rules. */
function pickRefusal(cluster: ClusterView, pick: string, fleet: readonly ClusterView[] | undefined, master?: NodeView, among?: readonly NodeView[]): string | undefined {
  const is = (n: NodeView) => n.instance.id === pick || n.instance.name === pick;
  const here = cluster.nodes.find(is);
  if (!here) {
    const elsewhere = fleet?.find((c) => c.name !== cluster.name && c.nodes.some(is));
    if (elsewhere) return `${pick} is a node of cluster ${elsewhere.name}, not of ${cluster.name}: pick one of ${names(among ?? cluster.nodes, master)}`;
    return `no node "${pick}" in cluster ${cluster.name}: pick one of ${names(among ?? cluster.nodes, master)}`;
  }
  if (master && here === master) return `${here.instance.name} is the master already: pick one of its replicas (${names(cluster.nodes, master)})`;
  if (among && !among.includes(here)) return `${here.instance.name} is not one of the replicas being considered (${names(among)})`;
  return undefined;
}

function names(nodes: readonly NodeView[], without?: NodeView): string {
  const list = nodes.filter((n) => n !== without).map((n) => n.instance.name);
  return list.length > 0 ? list.join(', ') : '(none)';
}

function otherwise(eligible: readonly CandidateRow[]): string {
  return eligible.length > 0 ? `; ${eligible[0]!.name} can be (leave the pick out to take it)` : '';
}
