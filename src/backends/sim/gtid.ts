// GTID sets in each flavour's own notation, from a node's knowledge of the
// write segments: MySQL `uuid:1-N` per server (MySQL prints ",\n" between
// them), MariaDB `domain-server-seq`, the last transaction per domain.

import type { Knowledge } from './replication.js';
import type { Segment } from './state.js';

type Segments = Record<string, Segment>;

// A probe prints the same knowledge several times (gtid_executed, SHOW MASTER
// STATUS, a replica's Retrieved_Gtid_Set is its source's), and executed()
// hands out one object per node and instant. The text is therefore kept per
// object: a Knowledge is never changed once made, and the segment fields read
// here (uuid, domain, serverId, startSeq) are fixed when a segment opens.
const mysqlSets = new WeakMap<Knowledge, string>();
const mariadbPositions = new WeakMap<Knowledge, string>();

export function mysqlGtidSet(segments: Segments, k: Knowledge): string {
  let text = mysqlSets.get(k);
  if (text === undefined) mysqlSets.set(k, (text = formatMysqlGtidSet(segments, k)));
  return text;
}

/**
 * The highest transaction per uuid, in uuid order (by UTF-16 code units, as
 * MySQL sorts them). A set names a handful of servers at most, so two small
 * arrays kept in order do better than a Map and a sort, set after set.
 */
function formatMysqlGtidSet(segments: Segments, k: Knowledge): string {
  const uuids: string[] = [];
  const last: number[] = [];
  for (const sid in k) {
    const seg = segments[sid]!;
    const n = k[sid]!;
    if (!seg.uuid || n <= seg.startSeq) continue;
    let i = 0;
    while (i < uuids.length && uuids[i]! < seg.uuid) i++;
    if (uuids[i] === seg.uuid) last[i] = Math.max(last[i]!, n);
    else {
      insertAt(uuids, i, seg.uuid);
      insertAt(last, i, n);
    }
  }
  let text = '';
  for (let i = 0; i < uuids.length; i++) {
    const n = last[i]!;
    if (i > 0) text += ',\n';
    text += `${uuids[i]}:${n === 1 ? '1' : `1-${n}`}`;
  }
  return text;
}

/** The whole position is cached per knowledge object; a filtered one (`only`) is made every time. */
export function mariadbGtidPos(segments: Segments, k: Knowledge, only?: (seg: Segment) => boolean): string {
  if (only) return formatMariadbGtidPos(segments, k, only);
  let text = mariadbPositions.get(k);
  if (text === undefined) mariadbPositions.set(k, (text = formatMariadbGtidPos(segments, k)));
  return text;
}

/** `@@gtid_binlog_state`: the last transaction of every (domain, server) the binary log holds, by domain then server. */
export function mariadbBinlogState(segments: Segments, k: Knowledge, only: (seg: Segment) => boolean): string {
  const last = new Map<string, { domain: number; server: number; seq: number }>();
  for (const sid in k) {
    const seg = segments[sid]!;
    const seq = k[sid]!;
    if (seq <= seg.startSeq || !only(seg)) continue;
    const key = `${seg.domain}-${seg.serverId}`;
    const had = last.get(key);
    if (!had || seq > had.seq) last.set(key, { domain: seg.domain, server: seg.serverId, seq });
  }
  return [...last.values()]
    .sort((a, b) => a.domain - b.domain || a.server - b.server)
    .map((g) => `${g.domain}-${g.server}-${g.seq}`)
    .join(',');
}

/** The last transaction per domain, in domain order; as for MySQL sets, small ordered arrays. */
function formatMariadbGtidPos(segments: Segments, k: Knowledge, only?: (seg: Segment) => boolean): string {
  const domains: number[] = [];
  const servers: number[] = [];
  const seqs: number[] = [];
  for (const sid in k) {
    const seg = segments[sid]!;
    const seq = k[sid]!;
    if (seq <= seg.startSeq || (only && !only(seg))) continue;
    let i = 0;
    while (i < domains.length && domains[i]! < seg.domain) i++;
    if (domains[i] !== seg.domain) {
      insertAt(domains, i, seg.domain);
      insertAt(servers, i, seg.serverId);
      insertAt(seqs, i, seq);
    } else if (seq > seqs[i]!) {
      servers[i] = seg.serverId;
      seqs[i] = seq;
    }
  }
  let text = '';
  for (let i = 0; i < domains.length; i++) {
    if (i > 0) text += ',';
    text += `${domains[i]}-${servers[i]}-${seqs[i]}`;
  }
  return text;
}

/** splice(i, 0, value) without the array of removed elements splice returns. */
function insertAt<T>(items: T[], i: number, value: T): void {
  items.push(value);
  for (let j = items.length - 1; j > i; j--) items[j] = items[j - 1]!;
  items[i] = value;
}

export class GtidSyntaxError extends Error {
  override name = 'GtidSyntaxError';
}

/** MySQL GTID set text -> highest transaction per uuid (intervals are contiguous in this world). */
export function parseMysqlGtidSet(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([0-9a-fA-F-]{36})((?::\d+(?:-\d+)?)+)$/.exec(part);
    if (!m) throw new GtidSyntaxError(`Malformed GTID set specification '${text}'.`);
    let max = 0;
    for (const iv of m[2]!.slice(1).split(':')) {
      const [a, b] = iv.split('-').map(Number);
      max = Math.max(max, b ?? a!);
    }
    const uuid = m[1]!.toLowerCase();
    out.set(uuid, Math.max(out.get(uuid) ?? 0, max));
  }
  return out;
}

/** MariaDB GTID position text -> per domain the seq to reach. */
export function parseMariadbGtidPos(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw new GtidSyntaxError(`Could not parse GTID list '${text}'`);
    out.set(Number(m[1]), Math.max(out.get(Number(m[1])) ?? 0, Number(m[3])));
  }
  return out;
}

export function mysqlSetContains(have: string, want: string): boolean {
  const h = parseMysqlGtidSet(have);
  for (const [uuid, n] of parseMysqlGtidSet(want)) if ((h.get(uuid) ?? 0) < n) return false;
  return true;
}

export function mariadbPosReached(have: string, want: string): boolean {
  const h = parseMariadbGtidPos(have);
  for (const [domain, seq] of parseMariadbGtidPos(want)) if ((h.get(domain) ?? 0) < seq) return false;
  return true;
}

/** GTID_SUBTRACT for contiguous sets: what `a` has that `b` lacks. */
export function mysqlSubtract(a: string, b: string): string {
  const A = parseMysqlGtidSet(a);
  const B = parseMysqlGtidSet(b);
  const parts: string[] = [];
  for (const [uuid, n] of [...A.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const m = B.get(uuid) ?? 0;
    if (n > m) parts.push(`${uuid}:${m + 1 === n ? n : `${m + 1}-${n}`}`);
  }
  return parts.join(',\n');
}
