// Candidate choice for switchover and failover, both flavours: the rules one
// by one, the operator's pick refused in words, and (fast-check) a failover
// that accepts never loses a transaction another replica has, nor promotes a
// `never` node.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseFailover, olderThan, PROMOTION_TAG, rankSwitchover, type FailoverReplica, type Ranking } from '../../src/domain/candidate.js';
import { formatGtidSet, gtidDifference, isEmptyGtidSet, parseGtidSet } from '../../src/domain/gtid.js';
import type { ClusterView, MysqlFacts, MysqlFlavour, NodeView, ReplicaStatus } from '../../src/domain/types.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = '8d1c0b1e-71ca-11e1-9e33-c80aa9429562';
const U3 = 'aa1c0b1e-71ca-11e1-9e33-c80aa9429562';

interface Spec {
  name: string;
  flavour?: MysqlFlavour;
  version?: string;
  readOnly?: boolean;
  gtid: string;
  /** Replicates from this node name (its address); absent for a master. */
  from?: string;
  io?: ReplicaStatus['ioThread'];
  sql?: ReplicaStatus['sqlThread'];
  lag?: number | null;
  promotion?: string;
  logBin?: boolean;
  logReplicaUpdates?: boolean;
  stale?: boolean;
}

const ipOf = (name: string) => `127.0.9.${Number(name.replace(/\D/g, '')) || 99}`;

function node(s: Spec): NodeView {
  const flavour = s.flavour ?? 'mysql';
  const mysql: MysqlFacts = {
    flavour,
    version: s.version ?? (flavour === 'mysql' ? '8.0.39' : '10.11.9-MariaDB-log'),
    serverId: 1,
    readOnly: s.readOnly ?? s.from !== undefined,
    logBin: s.logBin ?? true,
    logReplicaUpdates: s.logReplicaUpdates ?? true,
    gtidExecuted: s.gtid,
  };
  if (s.from !== undefined) {
    mysql.replica = { sourceHost: ipOf(s.from), sourcePort: 3306, ioThread: s.io ?? 'Yes', sqlThread: s.sql ?? 'Yes', lagSeconds: s.lag ?? 0, usingGtid: true };
  }
  return {
    instance: {
      id: `i-${s.name}`,
      name: s.name,
      privateIp: ipOf(s.name),
      az: `us-east-1${'abc'[Number(s.name.replace(/\D/g, '')) % 3]}`,
      type: 'r6i.large',
      state: 'running',
      launchTime: '2026-01-01T00:00:00Z',
      statusChecks: 'ok',
      tags: s.promotion !== undefined ? { [PROMOTION_TAG]: s.promotion } : {},
    },
    role: s.from ? 'replica' : 'master',
    engine: 'mysql',
    facts: { kind: 'mysql', mysql },
    health: { level: 'OK', reason: 'ok' },
    lagSeconds: s.from ? (s.lag === undefined ? 0 : s.lag) : null,
    updatedAt: 1,
    stale: s.stale ?? false,
  };
}

function clusterOf(name: string, specs: Spec[]): ClusterView {
  return { name, engine: 'mysql', health: { level: 'OK', reasons: [] }, findings: [], nodes: specs.map(node), worstLagSeconds: null };
}

const chosen = (r: Ranking) => (r.ok ? r.chosen.name : `refused: ${r.reason}`);
const LIMIT = { lagLimitSeconds: 10 };

describe('rankSwitchover', () => {
  const M = `${U1}:1-100`;
  const base = (extra: Partial<Spec>[] = []) =>
    clusterOf('orders-db', [
      { name: 'db-1', gtid: M },
      { name: 'db-2', gtid: `${U1}:1-98`, from: 'db-1', lag: 2, ...extra[0] },
      { name: 'db-3', gtid: `${U1}:1-99`, from: 'db-1', lag: 1, ...extra[1] },
    ]);

  it('lowest lag first, then name; the master is named', () => {
    const r = rankSwitchover(base(), LIMIT);
    expect(r).toMatchObject({ ok: true, master: 'db-1', chosen: { name: 'db-3', lagSeconds: 1, gtidExecuted: `${U1}:1-99`, az: 'us-east-1a', rule: 'none' } });
    expect(r.ranked.map((x) => x.name)).toEqual(['db-3', 'db-2']);
    const tie = rankSwitchover(base([{ lag: 1 }]), LIMIT);
    expect(tie.ranked.map((x) => x.name)).toEqual(['db-2', 'db-3']);
  });

  it('prefer beats lag; never is excluded with its reason', () => {
    expect(chosen(rankSwitchover(base([{ promotion: 'prefer' }]), LIMIT))).toBe('db-2');
    const r = rankSwitchover(base([{}, { promotion: 'never' }]), LIMIT);
    expect(chosen(r)).toBe('db-2');
    expect(r.ranked[1]).toMatchObject({ name: 'db-3', excluded: [`promotion rule never (tag ${PROMOTION_TAG}=never)`] });
  });

  it('a promotion tag that is neither prefer nor never keeps the node out (a mistyped never must not promote)', () => {
    const r = rankSwitchover(base([{ promotion: 'nevr' }]), LIMIT);
    expect(r.ranked.find((x) => x.name === 'db-2')!.excluded).toEqual([`tag ${PROMOTION_TAG}=nevr is neither prefer nor never: fix the tag`]);
  });

  it.each<[string, Partial<Spec>, string]>([
    ['IO thread not running', { io: 'Connecting' }, 'not replicating (IO thread Connecting, SQL thread Yes)'],
    ['SQL thread stopped', { sql: 'No' }, 'not replicating (IO thread Yes, SQL thread No)'],
    ['lag over the limit', { lag: 340 }, 'lag 340 s over the 10 s limit'],
    ['lag unknown', { lag: null }, 'lag unknown'],
    ['no binary log', { logBin: false }, 'no binary log (log_bin off): the other replicas could not follow it'],
    ['no log_replica_updates', { logReplicaUpdates: false }, 'log_replica_updates off: what it replicates would not reach its replicas'],
    ['errant GTIDs', { gtid: `${U1}:1-98,${U3}:1-2` }, `errant GTIDs ${U3}:1-2 (writes db-1 never had)`],
    ['an older release series', { version: '8.0.39' }, 'version 8.0.39 is older than the master\'s 8.4.2'],
    ['a replica of another node', { from: 'db-3' }, 'replicates from db-3, not from the master db-1'],
    ['a replica of an outsider', { from: 'db-77' }, 'replicates from 127.0.9.77:3306, not from the master db-1'],
    ['not answering', { stale: true }, 'not answering (running)'],
  ])('excludes %s, with the reason', (_what, spec, reason) => {
    const c = base([spec]);
    // The master and db-3 on 8.4, db-2 still on 8.0.
    if (reason.startsWith('version')) for (const i of [0, 2]) (c.nodes[i]!.facts as { mysql: MysqlFacts }).mysql.version = '8.4.2';
    const r = rankSwitchover(c, LIMIT);
    expect(chosen(r)).toBe('db-3');
    expect(r.ranked.find((x) => x.name === 'db-2')!.excluded).toEqual([reason]);
  });

  it('a replica ahead of the master in a source the master has is probe timing, unless asked to be exact (master read-only)', () => {
    const c = base([{ gtid: `${U1}:1-101` }]);
    expect(rankSwitchover(c, LIMIT).ranked.find((x) => x.name === 'db-2')!.excluded).toEqual([]);
    expect(rankSwitchover(c, { ...LIMIT, exact: true }).ranked.find((x) => x.name === 'db-2')!.excluded).toEqual([`errant GTIDs ${U1}:101 (writes db-1 never had)`]);
  });

  it('MariaDB: errant is a domain the master never wrote, or a seq past its own server\'s in a domain', () => {
    const c = clusterOf('maria', [
      { name: 'db-1', flavour: 'mariadb', gtid: '0-1-100' },
      { name: 'db-2', flavour: 'mariadb', gtid: '0-1-100,1-2-5', from: 'db-1' },
      { name: 'db-3', flavour: 'mariadb', gtid: '0-1-99', from: 'db-1' },
    ]);
    const r = rankSwitchover(c, LIMIT);
    expect(chosen(r)).toBe('db-3');
    expect(r.ranked[1]!.excluded).toEqual(['errant GTIDs 1-2-5 (writes db-1 never had)']);
  });

  it('refuses a cluster with no live writable master, or two, saying what to do', () => {
    const none = clusterOf('c', [{ name: 'db-1', gtid: '', stale: true }, { name: 'db-2', gtid: '', from: 'db-1' }]);
    expect(chosen(rankSwitchover(none, LIMIT))).toBe('refused: c has no writable master that answers: a switchover needs a live master (if it is dead, run failover)');
    const two = clusterOf('c', [{ name: 'db-1', gtid: '' }, { name: 'db-2', gtid: '' }]);
    expect(chosen(rankSwitchover(two, LIMIT))).toMatch(/^refused: c has 2 writable masters \(db-1, db-2\)/);
  });

  it('refuses when no replica qualifies, naming each one\'s reasons', () => {
    const r = rankSwitchover(base([{ lag: 50 }, { promotion: 'never' }]), LIMIT);
    expect(chosen(r)).toBe(`refused: no replica of db-1 can be promoted: db-2: lag 50 s over the 10 s limit · db-3: promotion rule never (tag ${PROMOTION_TAG}=never)`);
  });

  describe("the operator's pick", () => {
    const other = clusterOf('billing-db', [{ name: 'db-9', gtid: '' }]);

    it('taken when it qualifies, even when another ranks first', () => {
      expect(chosen(rankSwitchover(base(), { ...LIMIT, pick: 'db-2' }))).toBe('db-2');
      expect(chosen(rankSwitchover(base(), { ...LIMIT, pick: 'i-db-2' }))).toBe('db-2');
    });

    it.each<[string, Partial<Spec>[], string, string]>([
      ['unknown', [], 'db-7', 'no node "db-7" in cluster orders-db: pick one of db-2, db-3'],
      ['in another cluster', [], 'db-9', 'db-9 is a node of cluster billing-db, not of orders-db: pick one of db-2, db-3'],
      ['the master', [], 'db-1', 'db-1 is the master already: pick one of its replicas (db-2, db-3)'],
      ['never', [{ promotion: 'never' }], 'db-2', `db-2 cannot be promoted: promotion rule never (tag ${PROMOTION_TAG}=never); db-3 can be (leave the pick out to take it)`],
      ['lagging', [{ lag: 340 }], 'db-2', 'db-2 cannot be promoted: lag 340 s over the 10 s limit; db-3 can be (leave the pick out to take it)'],
      ['errant', [{ gtid: `${U1}:1-98,${U3}:7` }], 'db-2', `db-2 cannot be promoted: errant GTIDs ${U3}:7 (writes db-1 never had); db-3 can be (leave the pick out to take it)`],
    ])('refused when %s', (_what, extra, pick, reason) => {
      const r = rankSwitchover(base(extra), { ...LIMIT, pick, fleet: [base(extra), other] });
      expect(chosen(r)).toBe(`refused: ${reason}`);
    });
  });
});

describe('chooseFailover', () => {
  // db-1, the master, is dead; its replicas have applied their relay logs.
  const dead = { name: 'db-1', gtid: `${U1}:1-100`, stale: true };
  function failover(specs: Spec[], executed: string[], opts: Parameters<typeof chooseFailover>[2] = {}) {
    const c = clusterOf('orders-db', [dead, ...specs]);
    const replicas: FailoverReplica[] = specs.map((s, i) => ({ node: c.nodes.find((n) => n.instance.name === s.name)!, executed: executed[i]! }));
    return { result: chooseFailover(c, replicas, opts), cluster: c, replicas };
  }
  const r = (name: string, extra: Partial<Spec> = {}): Spec => ({ name, gtid: '', from: 'db-1', io: 'Connecting', lag: null, ...extra });

  it('the most advanced replica, whose set contains every other', () => {
    const { result } = failover([r('db-2'), r('db-3'), r('db-4')], [`${U1}:1-97`, `${U1}:1-100`, `${U1}:1-99`]);
    expect(chosen(result)).toBe('db-3');
    expect(result.ranked.map((x) => x.name)).toEqual(['db-3', 'db-4', 'db-2']);
    expect(result.ranked[0]!.gtidExecuted).toBe(`${U1}:1-100`);
  });

  it('ties: prefer, then name; never is never chosen, even when it is the most advanced', () => {
    expect(chosen(failover([r('db-2'), r('db-3', { promotion: 'prefer' })], [`${U1}:1-100`, `${U1}:1-100`]).result)).toBe('db-3');
    expect(chosen(failover([r('db-3'), r('db-2')], [`${U1}:1-100`, `${U1}:1-100`]).result)).toBe('db-2');
    const { result } = failover([r('db-2'), r('db-3', { promotion: 'never' })], [`${U1}:1-99`, `${U1}:1-100`]);
    expect(chosen(result)).toBe(
      `refused: no replica that may be promoted has every transaction the others have: the most advanced, db-2, lacks ${U1}:100 (db-3 has them); promoting it would lose those transactions`,
    );
  });

  it('refuses when no one set contains all the others, naming the missing GTIDs per replica', () => {
    const { result } = failover([r('db-2'), r('db-3'), r('db-4')], [`${U1}:1-100,${U2}:1-3`, `${U1}:1-101`, `${U1}:1-99`]);
    expect(chosen(result)).toBe(
      `refused: no replica that may be promoted has every transaction the others have: the most advanced, db-2, lacks ${U1}:101 (db-3 has them); promoting it would lose those transactions`,
    );
  });

  it('MariaDB: per domain, the highest seq', () => {
    const m = { flavour: 'mariadb' as const };
    const { result } = failover([r('db-2', m), r('db-3', m)], ['0-1-100,1-5-20', '0-1-102,1-5-19']);
    expect(chosen(result)).toBe('refused: no replica that may be promoted has every transaction the others have: the most advanced, db-3, lacks 1-5-20 (db-2 has them); promoting it would lose those transactions');
    expect(chosen(failover([r('db-2', m), r('db-3', m)], ['0-1-100,1-5-20', '0-1-102,1-5-20']).result)).toBe('db-3');
  });

  it('excludes no binary log and, given the master\'s last set, errant writes', () => {
    const { result } = failover(
      [r('db-2', { logBin: false }), r('db-3'), r('db-4')],
      [`${U1}:1-100`, `${U1}:1-100,${U3}:1`, `${U1}:1-100`],
      { masterGtidExecuted: `${U1}:1-90` },
    );
    expect(result.ranked.find((x) => x.name === 'db-2')!.excluded).toEqual(['no binary log (log_bin off): the other replicas could not follow it']);
    expect(result.ranked.find((x) => x.name === 'db-3')!.excluded).toEqual([`errant GTIDs ${U3}:1 (writes the master never had)`]);
    // db-4 lacks db-3's errant write: it is not chosen over it silently.
    expect(chosen(result)).toMatch(/^refused: .*db-4, lacks aa1c0b1e-71ca-11e1-9e33-c80aa9429562:1 \(db-3 has them\)/);
  });

  describe("the operator's pick", () => {
    const specs = [r('db-2'), r('db-3'), r('db-4', { promotion: 'never' })];
    const sets = [`${U1}:1-99`, `${U1}:1-100`, `${U1}:1-100`];
    const other = clusterOf('billing-db', [{ name: 'db-9', gtid: '' }]);
    it.each<[string, string]>([
      ['db-7', 'no node "db-7" in cluster orders-db: pick one of db-2, db-3, db-4'],
      ['db-9', 'db-9 is a node of cluster billing-db, not of orders-db: pick one of db-2, db-3, db-4'],
      ['db-1', 'db-1 is not one of the replicas being considered (db-2, db-3, db-4)'],
      ['db-4', `db-4 cannot be promoted: promotion rule never (tag ${PROMOTION_TAG}=never); db-3 can be (leave the pick out to take it)`],
      ['db-2', `db-2 is not the most advanced replica: it lacks ${U1}:100 (db-3 has them); ${U1}:100 (db-4 has them); promoting it would lose those transactions; db-3 can be (leave the pick out to take it)`],
    ])('%s refused', (pick, reason) => {
      expect(chosen(failover(specs, sets, { pick, fleet: [other] }).result)).toBe(`refused: ${reason}`);
    });
    it('taken when it has everything', () => {
      expect(chosen(failover(specs, sets, { pick: 'db-3' }).result)).toBe('db-3');
    });
  });

  describe('properties', () => {
    const uuids = [U1, U2, U3];
    const mysqlSet = fc
      .array(fc.tuple(fc.constantFrom(...uuids), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 5 })), { maxLength: 4 })
      .map((parts) => parts.map(([u, start, len]) => `${u}:${start}-${start + len}`).join(','));
    const mariaSet = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 })), { maxLength: 3 })
      .map((parts) => parts.map(([d, s, q]) => `${d}-${s}-${q}`).join(','));
    const rule = fc.constantFrom(undefined, 'prefer', 'never');

    for (const flavour of ['mysql', 'mariadb'] as const) {
      it(`${flavour}: whenever it accepts, the chosen set contains every other replica's, and it is never a never node`, () => {
        fc.assert(
          fc.property(fc.array(fc.tuple(flavour === 'mysql' ? mysqlSet : mariaSet, rule), { minLength: 1, maxLength: 5 }), fc.option(fc.integer({ min: 0, max: 4 })), (reps, pickIndex) => {
            const specs = reps.map(([, promotion], i) => r(`db-${i + 2}`, { flavour, ...(promotion ? { promotion } : {}) }));
            const sets = reps.map(([set]) => set);
            const pick = pickIndex !== null && pickIndex < specs.length ? specs[pickIndex]!.name : undefined;
            const { result } = failover(specs, sets, pick ? { pick } : {});
            if (!result.ok) {
              expect(result.reason.length).toBeGreaterThan(0);
              return;
            }
            const i = specs.findIndex((s) => s.name === result.chosen.name);
            expect(specs[i]!.promotion).not.toBe('never');
            const mine = parseGtidSet(flavour, sets[i]!);
            for (const other of sets) expect(formatGtidSet(gtidDifference(parseGtidSet(flavour, other), mine))).toBe('');
            if (pick) expect(result.chosen.name).toBe(pick);
          }),
          { numRuns: 400 },
        );
      });

      it(`${flavour}: it refuses only when no eligible replica contains every other's`, () => {
        fc.assert(
          fc.property(fc.array(fc.tuple(flavour === 'mysql' ? mysqlSet : mariaSet, rule), { minLength: 1, maxLength: 5 }), (reps) => {
            const specs = reps.map(([, promotion], i) => r(`db-${i + 2}`, { flavour, ...(promotion ? { promotion } : {}) }));
            const sets = reps.map(([set]) => parseGtidSet(flavour, set));
            const { result } = failover(specs, reps.map(([s]) => s));
            const someoneComplete = specs.some(
              (s, i) => s.promotion !== 'never' && sets.every((o) => isEmptyGtidSet(gtidDifference(o, sets[i]!))),
            );
            expect(result.ok).toBe(someoneComplete);
          }),
          { numRuns: 400 },
        );
      });
    }
  });
});

describe('olderThan', () => {
  it('compares release series, not patch levels, across the version strings servers print', () => {
    expect(olderThan('8.0.39', '8.4.2')).toBe(true);
    expect(olderThan('8.4.0', '8.4.2')).toBe(false);
    expect(olderThan('10.11.9-MariaDB-log', '11.4.3-MariaDB-log')).toBe(true);
    expect(olderThan('11.4.3-MariaDB', '10.11.9-MariaDB-log')).toBe(false);
    expect(olderThan('garbage', '8.0.1')).toBe(false);
  });
});
