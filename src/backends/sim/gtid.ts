// GTID sets in each flavour's own notation, from a node's knowledge of the
// write segments: MySQL `uuid:1-N` per server (MySQL prints ",\n" between
// them), MariaDB `domain-server-seq`, the last transaction per domain.

import type { Knowledge } from './replication.js';
import type { Segment } from './state.js';

type Segments = Record<string, Segment>;

export function mysqlGtidSet(segments: Segments, k: Knowledge): string {
  const byUuid = new Map<string, number>();
  for (const sid in k) {
    const seg = segments[sid]!;
    if (!seg.uuid || k[sid]! <= seg.startSeq) continue;
    byUuid.set(seg.uuid, Math.max(byUuid.get(seg.uuid) ?? 0, k[sid]!));
  }
  return [...byUuid.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([uuid, n]) => `${uuid}:${n === 1 ? '1' : `1-${n}`}`)
    .join(',\n');
}

export function mariadbGtidPos(segments: Segments, k: Knowledge, only?: (seg: Segment) => boolean): string {
  const best = new Map<number, { serverId: number; seq: number }>();
  for (const sid in k) {
    const seg = segments[sid]!;
    const seq = k[sid]!;
    if (seq <= seg.startSeq || (only && !only(seg))) continue;
    const cur = best.get(seg.domain);
    if (!cur || seq > cur.seq) best.set(seg.domain, { serverId: seg.serverId, seq });
  }
  return [...best.entries()]
    .sort(([a], [b]) => a - b)
    .map(([domain, g]) => `${domain}-${g.serverId}-${g.seq}`)
    .join(',');
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
