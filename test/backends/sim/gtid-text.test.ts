// GTID set text on the simulated servers: formatted without Maps and sorts,
// kept per knowledge object, and still exactly what the plain definition
// (highest transaction per uuid in uuid order; last per domain) prints.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mariadbGtidPos, mysqlGtidSet } from '../../../src/backends/sim/gtid.js';
import type { Knowledge } from '../../../src/backends/sim/replication.js';
import type { Segment } from '../../../src/backends/sim/state.js';

function referenceMysql(segments: Record<string, Segment>, k: Knowledge): string {
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

function referenceMariadb(segments: Record<string, Segment>, k: Knowledge, only?: (seg: Segment) => boolean): string {
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

const UUIDS = ['3e11fa47-71ca-11e1-9e33-c80aa9429562', '0b5c8f1e-2a7d-4c3e-9f10-aa11bb22cc33', '3E11FA47-71CA-11E1-9E33-C80AA9429562', 'f0000000-0000-4000-8000-000000000000'];

/** Segments (some without a uuid: MariaDB's) and a node's knowledge of some of them, in any order. */
const worlds = fc
  .array(
    fc.record({
      uuid: fc.option(fc.constantFrom(...UUIDS), { nil: undefined }),
      serverId: fc.integer({ min: 1, max: 4 }),
      domain: fc.integer({ min: 0, max: 3 }),
      startSeq: fc.integer({ min: 0, max: 4 }),
      known: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
    }),
    { maxLength: 12 },
  )
  .map((specs) => {
    const segments: Record<string, Segment> = {};
    const k: Record<string, number> = {};
    specs.forEach((s, i) => {
      const id = `s${i + 1}`;
      const seg: Segment = { id, node: 'i-1', cluster: 'c', serverId: s.serverId, domain: s.domain, startSeq: s.startSeq, bonus: 0, startT: 0, rate: 0, endT: 0 };
      if (s.uuid !== undefined) seg.uuid = s.uuid;
      segments[id] = seg;
      if (s.known !== undefined) k[id] = s.known;
    });
    return { segments, k };
  });

describe('simulated GTID set text', () => {
  it('prints MySQL sets as the plain definition does', () => {
    fc.assert(
      fc.property(worlds, ({ segments, k }) => {
        expect(mysqlGtidSet(segments, k)).toBe(referenceMysql(segments, k));
      }),
    );
  });

  it('prints MariaDB positions as the plain definition does, filtered or not', () => {
    fc.assert(
      fc.property(worlds, ({ segments, k }) => {
        expect(mariadbGtidPos(segments, k)).toBe(referenceMariadb(segments, k));
        const odd = (seg: Segment) => seg.serverId % 2 === 1;
        expect(mariadbGtidPos(segments, k, odd)).toBe(referenceMariadb(segments, k, odd));
      }),
    );
  });

  it('keeps the text per knowledge object, not per content seen before', () => {
    const seg = (id: string, uuid: string): Segment => ({ id, node: 'i-1', cluster: 'c', uuid, serverId: 1, domain: 0, startSeq: 0, bonus: 0, startT: 0, rate: 0, endT: 0 });
    const segments = { s1: seg('s1', UUIDS[0]!), s2: seg('s2', UUIDS[1]!) };
    const earlier: Knowledge = { s1: 5 };
    const later: Knowledge = { s1: 5, s2: 1 };
    expect(mysqlGtidSet(segments, earlier)).toBe(`${UUIDS[0]}:1-5`);
    expect(mysqlGtidSet(segments, later)).toBe(`${UUIDS[1]}:1,\n${UUIDS[0]}:1-5`);
    expect(mysqlGtidSet(segments, earlier)).toBe(`${UUIDS[0]}:1-5`);
  });
});
