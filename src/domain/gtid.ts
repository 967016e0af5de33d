// GTID sets of both flavours, parsed and compared. Pure: no I/O.
//
// MySQL 8: `uuid:1-5:7-9,uuid2:1-3` (8.3+ may tag intervals: `uuid:tag:1-5`).
// A set is exact: every transaction is listed, so subset and difference are
// interval arithmetic.
//
// MariaDB: `domain-server-seq` per replication domain (`0-1-100,1-2-50`). A
// server keeps only the latest GTID of each domain, and sequence numbers grow
// within a domain whichever server wrote them, so "A contains B" means: for
// every domain of B, A has it with a seq at least as high. That is also how
// MASTER_GTID_WAIT and MASTER_USE_GTID=slave_pos reason.

import type { MysqlFlavour } from './types.js';

export interface Interval {
  /** First transaction number, inclusive. */
  start: number;
  /** Last transaction number, inclusive. */
  end: number;
}

export interface MysqlGtidSet {
  flavour: 'mysql';
  /** `uuid` or `uuid:tag`, lower-case → sorted, merged, non-overlapping intervals. */
  sources: Map<string, Interval[]>;
}

export interface MariadbGtid {
  domain: number;
  server: number;
  seq: number;
}

export interface MariadbGtidSet {
  flavour: 'mariadb';
  /** Domain id → the latest GTID of that domain. */
  domains: Map<number, MariadbGtid>;
}

export type GtidSet = MysqlGtidSet | MariadbGtidSet;

export class GtidParseError extends Error {
  override name = 'GtidParseError';
  constructor(
    readonly text: string,
    readonly problem: string,
  ) {
    super(`GTID set "${text.length > 80 ? `${text.slice(0, 77)}...` : text}" does not parse: ${problem}`);
  }
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;
const INTERVAL = /^(\d+)(?:-(\d+))?$/;
const TAG = /^[a-z_][a-z0-9_]{0,31}$/;
const MARIADB_GTID = /^(\d+)-(\d+)-(\d+)$/;

export function emptyGtidSet(flavour: MysqlFlavour): GtidSet {
  return flavour === 'mysql' ? { flavour, sources: new Map() } : { flavour, domains: new Map() };
}

/** Parses a set as the server prints it (newlines and spaces allowed). Throws GtidParseError. */
export function parseGtidSet(flavour: MysqlFlavour, text: string): GtidSet {
  const clean = text.replace(/\s+/g, '');
  return flavour === 'mysql' ? parseMysql(text, clean) : parseMariadb(text, clean);
}

function parseMysql(original: string, clean: string): MysqlGtidSet {
  const sources = new Map<string, Interval[]>();
  if (clean === '') return { flavour: 'mysql', sources };
  for (const element of clean.split(',')) {
    const parts = element.toLowerCase().split(':');
    const uuid = parts[0]!;
    if (!UUID.test(uuid)) throw new GtidParseError(original, `"${uuid}" is not a server uuid`);
    if (parts.length < 2) throw new GtidParseError(original, `"${element}" has no transaction interval`);
    let key = uuid;
    let sawInterval = false;
    for (const token of parts.slice(1)) {
      const m = INTERVAL.exec(token);
      if (m) {
        const start = Number(m[1]);
        const end = m[2] === undefined ? start : Number(m[2]);
        if (start < 1 || end < start) throw new GtidParseError(original, `interval "${token}" is empty or starts at 0`);
        const list = sources.get(key) ?? [];
        list.push({ start, end });
        sources.set(key, list);
        sawInterval = true;
      } else if (TAG.test(token)) {
        key = `${uuid}:${token}`;
      } else {
        throw new GtidParseError(original, `"${token}" is neither an interval nor a tag`);
      }
    }
    if (!sawInterval) throw new GtidParseError(original, `"${element}" has no transaction interval`);
  }
  for (const [key, list] of sources) sources.set(key, normalise(list));
  return { flavour: 'mysql', sources };
}

function parseMariadb(original: string, clean: string): MariadbGtidSet {
  const domains = new Map<number, MariadbGtid>();
  if (clean === '') return { flavour: 'mariadb', domains };
  for (const element of clean.split(',')) {
    const m = MARIADB_GTID.exec(element);
    if (!m) throw new GtidParseError(original, `"${element}" is not domain-server-seq`);
    const gtid = { domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) };
    const known = domains.get(gtid.domain);
    // gtid_binlog_state lists one entry per (domain, server); the highest seq is the position.
    if (!known || gtid.seq > known.seq) domains.set(gtid.domain, gtid);
  }
  return { flavour: 'mariadb', domains };
}

/** Sorted, merged (adjacent intervals joined) copy. */
function normalise(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.start <= last.end + 1) last.end = Math.max(last.end, iv.end);
    else out.push({ ...iv });
  }
  return out;
}

/** The canonical text: sources sorted, intervals merged (MySQL); domains sorted (MariaDB). */
export function formatGtidSet(set: GtidSet): string {
  if (set.flavour === 'mariadb') {
    return [...set.domains.values()]
      .sort((a, b) => a.domain - b.domain)
      .map((g) => `${g.domain}-${g.server}-${g.seq}`)
      .join(',');
  }
  // Untagged intervals first, then tags, as MySQL prints them: uuid:1-5:tag:1-3.
  const byUuid = new Map<string, string[]>();
  for (const key of [...set.sources.keys()].sort()) {
    const list = set.sources.get(key)!;
    if (list.length === 0) continue;
    const [uuid, tag] = key.split(':') as [string, string | undefined];
    const text = list.map((iv) => (iv.start === iv.end ? `${iv.start}` : `${iv.start}-${iv.end}`)).join(':');
    const parts = byUuid.get(uuid) ?? [];
    if (tag === undefined) parts.unshift(text);
    else parts.push(`${tag}:${text}`);
    byUuid.set(uuid, parts);
  }
  return [...byUuid.entries()].map(([uuid, parts]) => `${uuid}:${parts.join(':')}`).join(',');
}

export function isEmptyGtidSet(set: GtidSet): boolean {
  if (set.flavour === 'mariadb') return set.domains.size === 0;
  for (const list of set.sources.values()) if (list.length > 0) return false;
  return true;
}

function sameFlavour(a: GtidSet, b: GtidSet): void {
  if (a.flavour !== b.flavour) throw new Error(`cannot compare a ${a.flavour} GTID set with a ${b.flavour} one`);
}

/** a − b: what `a` has executed that `b` has not. */
export function gtidDifference<T extends GtidSet>(a: T, b: T): T;
export function gtidDifference(a: GtidSet, b: GtidSet): GtidSet {
  sameFlavour(a, b);
  if (a.flavour === 'mariadb' && b.flavour === 'mariadb') {
    const domains = new Map<number, MariadbGtid>();
    for (const [domain, g] of a.domains) {
      const other = b.domains.get(domain);
      if (!other || g.seq > other.seq) domains.set(domain, { ...g });
    }
    return { flavour: 'mariadb', domains };
  }
  const sa = (a as MysqlGtidSet).sources;
  const sb = (b as MysqlGtidSet).sources;
  const sources = new Map<string, Interval[]>();
  for (const [key, list] of sa) {
    const rest = subtractIntervals(list, sb.get(key) ?? []);
    if (rest.length > 0) sources.set(key, rest);
  }
  return { flavour: 'mysql', sources };
}

function subtractIntervals(from: Interval[], remove: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const iv of from) {
    let pieces: Interval[] = [{ ...iv }];
    for (const r of remove) {
      const next: Interval[] = [];
      for (const p of pieces) {
        if (r.end < p.start || r.start > p.end) {
          next.push(p);
          continue;
        }
        if (r.start > p.start) next.push({ start: p.start, end: r.start - 1 });
        if (r.end < p.end) next.push({ start: r.end + 1, end: p.end });
      }
      pieces = next;
    }
    out.push(...pieces);
  }
  return normalise(out);
}

/** a ∪ b. For MariaDB, per domain the higher seq wins. */
export function gtidUnion<T extends GtidSet>(a: T, b: T): T;
export function gtidUnion(a: GtidSet, b: GtidSet): GtidSet {
  sameFlavour(a, b);
  if (a.flavour === 'mariadb' && b.flavour === 'mariadb') {
    const domains = new Map<number, MariadbGtid>();
    for (const g of [...a.domains.values(), ...b.domains.values()]) {
      const known = domains.get(g.domain);
      if (!known || g.seq > known.seq) domains.set(g.domain, { ...g });
    }
    return { flavour: 'mariadb', domains };
  }
  const sources = new Map<string, Interval[]>();
  for (const set of [a, b] as MysqlGtidSet[]) {
    for (const [key, list] of set.sources) sources.set(key, [...(sources.get(key) ?? []), ...list]);
  }
  for (const [key, list] of sources) sources.set(key, normalise(list));
  return { flavour: 'mysql', sources };
}

/** a ⊆ b: `b` has executed everything `a` has. */
export function isGtidSubset(a: GtidSet, b: GtidSet): boolean {
  return isEmptyGtidSet(gtidDifference(a, b));
}

export function gtidEquals(a: GtidSet, b: GtidSet): boolean {
  return isGtidSubset(a, b) && isGtidSubset(b, a);
}

/**
 * Transactions a replica has executed that its master has not: writes made
 * on the replica itself. Non-empty means it must not be promoted as is.
 */
export function errantTransactions<T extends GtidSet>(replica: T, master: T): T {
  return gtidDifference(replica, master);
}

/**
 * How many transactions `behind` lacks compared with `ahead`. Exact for MySQL;
 * for MariaDB the seq distance summed over domains (sequence numbers are
 * consecutive within a domain as long as one master writes it).
 */
export function transactionsBehind(behind: GtidSet, ahead: GtidSet): number {
  sameFlavour(behind, ahead);
  if (ahead.flavour === 'mariadb' && behind.flavour === 'mariadb') {
    let n = 0;
    for (const [domain, g] of ahead.domains) n += Math.max(0, g.seq - (behind.domains.get(domain)?.seq ?? 0));
    return n;
  }
  let n = 0;
  for (const list of (gtidDifference(ahead, behind) as MysqlGtidSet).sources.values()) {
    for (const iv of list) n += iv.end - iv.start + 1;
  }
  return n;
}

/**
 * MariaDB's errant transactions, from `@@gtid_binlog_state`: unlike
 * `gtid_current_pos` (one GTID per domain, overwritten by the next write that
 * replicates in), the binlog state keeps the last GTID of every
 * (domain, server) pair the binary log has seen, so a write made on a replica
 * stays visible after the master writes again. An entry of the replica's state
 * is errant when the master's state has no entry for its (domain, server) or
 * an older one. Entries of `skipServer` (the master itself, probed a moment
 * earlier than the replica) are timing, not errant. Returns the errant
 * entries, `D-S-N` comma-separated, or '' when there are none.
 */
export function mariadbBinlogStateErrant(replica: string, master: string, skipServer?: number): string {
  const parse = (text: string) => {
    const out = new Map<string, MariadbGtid>();
    for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = MARIADB_GTID.exec(part);
      if (!m) throw new GtidParseError(text, `"${part}" is not domain-server-seq`);
      const g = { domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) };
      out.set(`${g.domain}-${g.server}`, g);
    }
    return out;
  };
  const theirs = parse(master);
  const errant: string[] = [];
  for (const [key, g] of parse(replica)) {
    if (g.server === skipServer) continue;
    const m = theirs.get(key);
    if (!m || m.seq < g.seq) errant.push(`${g.domain}-${g.server}-${g.seq}`);
  }
  return errant.join(',');
}
