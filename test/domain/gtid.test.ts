import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  errantTransactions,
  formatGtidSet,
  GtidParseError,
  gtidDifference,
  gtidEquals,
  gtidUnion,
  isEmptyGtidSet,
  mariadbBinlogStateErrant,
  isGtidSubset,
  parseGtidSet,
  transactionsBehind,
  type GtidSet,
} from '../../src/domain/gtid.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

describe('MySQL GTID sets', () => {
  it('parses, merges and prints in canonical form', () => {
    const set = parseGtidSet('mysql', `${U2}:1-3,\n${U1.toUpperCase()}:7-9:1-5:6`);
    expect(formatGtidSet(set)).toBe(`${U1}:1-9,${U2}:1-3`);
  });

  it('keeps tagged intervals (8.3+) apart from untagged ones', () => {
    const set = parseGtidSet('mysql', `${U1}:1-5:blue:1-2`);
    expect(formatGtidSet(set)).toBe(`${U1}:1-5:blue:1-2`);
    expect(isGtidSubset(parseGtidSet('mysql', `${U1}:blue:3`), set)).toBe(false);
  });

  it('finds the errant transactions of a replica', () => {
    const master = parseGtidSet('mysql', `${U1}:1-100`);
    const replica = parseGtidSet('mysql', `${U1}:1-90,${U2}:1-2`);
    expect(formatGtidSet(errantTransactions(replica, master))).toBe(`${U2}:1-2`);
    expect(isGtidSubset(replica, master)).toBe(false);
    expect(transactionsBehind(replica, master)).toBe(10);
  });

  it('subtracts holes out of the middle of an interval', () => {
    const a = parseGtidSet('mysql', `${U1}:1-10`);
    const b = parseGtidSet('mysql', `${U1}:3-4:8`);
    expect(formatGtidSet(gtidDifference(a, b))).toBe(`${U1}:1-2:5-7:9-10`);
  });

  it.each([
    ['not-a-uuid:1-3', 'is not a server uuid'],
    [`${U1}`, 'has no transaction interval'],
    [`${U1}:5-3`, 'empty or starts at 0'],
    [`${U1}:0`, 'empty or starts at 0'],
    [`${U1}:1-x`, 'neither an interval nor a tag'],
  ])('refuses %s', (text, problem) => {
    expect(() => parseGtidSet('mysql', text)).toThrow(GtidParseError);
    expect(() => parseGtidSet('mysql', text)).toThrow(problem);
  });

  it('treats the empty string as the empty set', () => {
    expect(isEmptyGtidSet(parseGtidSet('mysql', ''))).toBe(true);
    expect(isGtidSubset(parseGtidSet('mysql', ''), parseGtidSet('mysql', `${U1}:1`))).toBe(true);
  });
});

describe('MariaDB GTID positions', () => {
  it('keeps the highest seq per domain', () => {
    const set = parseGtidSet('mariadb', '0-1-100,0-2-90,1-3-7');
    expect(formatGtidSet(set)).toBe('0-1-100,1-3-7');
  });

  it('detects a replica write as errant (higher seq in the domain, written by the replica)', () => {
    const master = parseGtidSet('mariadb', '0-1-41');
    const replica = parseGtidSet('mariadb', '0-2-42');
    expect(formatGtidSet(errantTransactions(replica, master))).toBe('0-2-42');
    expect(isGtidSubset(master, replica)).toBe(true);
  });

  it('detects a domain the master never wrote as errant', () => {
    const master = parseGtidSet('mariadb', '0-1-41');
    const replica = parseGtidSet('mariadb', '0-1-41,5-2-1');
    expect(formatGtidSet(errantTransactions(replica, master))).toBe('5-2-1');
  });

  it('counts how far a replica is behind', () => {
    expect(transactionsBehind(parseGtidSet('mariadb', '0-1-10'), parseGtidSet('mariadb', '0-1-25,1-1-3'))).toBe(18);
  });

  it.each(['0-1', '0-1-x', 'a-b-c', '0-1-2;'])('refuses %s', (text) => {
    expect(() => parseGtidSet('mariadb', text)).toThrow(GtidParseError);
  });

  it('refuses to compare flavours', () => {
    expect(() => isGtidSubset(parseGtidSet('mariadb', '0-1-1'), parseGtidSet('mysql', ''))).toThrow(/cannot compare/);
  });
});

// ---------------------------------------------------------------- properties

const uuids = [U1, U2, '00000000-0000-0000-0000-000000000001'];
const intervalArb = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 }));
const mysqlTextArb = fc
  .array(fc.tuple(fc.constantFrom(...uuids), fc.array(intervalArb, { minLength: 1, maxLength: 4 })), { maxLength: 4 })
  .map((entries) => entries.map(([u, ivs]) => `${u}:${ivs.map(([s, len]) => `${s}-${s + len}`).join(':')}`).join(','));
const mysqlArb = mysqlTextArb.map((t) => parseGtidSet('mysql', t));

/** The model: the set of (uuid, n) pairs spelled out. */
function expand(set: GtidSet): Set<string> {
  const out = new Set<string>();
  if (set.flavour !== 'mysql') throw new Error('mysql only');
  for (const [key, list] of set.sources) for (const iv of list) for (let n = iv.start; n <= iv.end; n++) out.add(`${key}#${n}`);
  return out;
}

const mariadbArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 50 })), {
    maxLength: 5,
  })
  .map((gs) => parseGtidSet('mariadb', gs.map(([d, s, q]) => `${d}-${s}-${q}`).join(',')));

describe('GTID set properties', () => {
  it('MySQL difference matches the spelled-out model', () => {
    fc.assert(
      fc.property(mysqlArb, mysqlArb, (a, b) => {
        const model = [...expand(a)].filter((x) => !expand(b).has(x)).sort();
        expect([...expand(gtidDifference(a, b))].sort()).toEqual(model);
        expect(isGtidSubset(a, b)).toBe(model.length === 0);
      }),
    );
  });

  it('MySQL: format then parse is the identity, and a ⊆ a ∪ b', () => {
    fc.assert(
      fc.property(mysqlArb, mysqlArb, (a, b) => {
        expect(gtidEquals(parseGtidSet('mysql', formatGtidSet(a)), a)).toBe(true);
        expect(formatGtidSet(parseGtidSet('mysql', formatGtidSet(a)))).toBe(formatGtidSet(a));
        expect(isGtidSubset(a, gtidUnion(a, b))).toBe(true);
        expect(isGtidSubset(gtidDifference(a, b), a)).toBe(true);
        expect(gtidEquals(gtidUnion(gtidDifference(a, b), b), gtidUnion(a, b))).toBe(true);
      }),
    );
  });

  it('both flavours: errant(r, m) is empty exactly when r ⊆ m, and behind counts are zero then', () => {
    for (const arb of [mysqlArb, mariadbArb]) {
      fc.assert(
        fc.property(arb, arb, (r, m) => {
          expect(isEmptyGtidSet(errantTransactions(r, m))).toBe(isGtidSubset(r, m));
          if (isGtidSubset(m, r)) expect(transactionsBehind(r, m)).toBe(0);
          expect(isGtidSubset(r, gtidUnion(r, m))).toBe(true);
        }),
      );
    }
  });

  it('MariaDB: subset is per-domain seq order', () => {
    fc.assert(
      fc.property(mariadbArb, mariadbArb, (a, b) => {
        if (a.flavour !== 'mariadb' || b.flavour !== 'mariadb') throw new Error('flavour');
        const expected = [...a.domains.values()].every((g) => (b.domains.get(g.domain)?.seq ?? -1) >= g.seq);
        expect(isGtidSubset(a, b)).toBe(expected);
        expect(formatGtidSet(parseGtidSet('mariadb', formatGtidSet(a)))).toBe(formatGtidSet(a));
      }),
    );
  });
});

describe('MariaDB errant transactions from gtid_binlog_state', () => {
  it('a write made on the replica stays errant after the master writes again', () => {
    // m3 wrote 0-3-38 locally; the master's next write (0-2-39) replaced it in gtid_current_pos, not in the binlog state.
    expect(mariadbBinlogStateErrant('0-2-39,0-3-38', '0-2-39')).toBe('0-3-38');
  });
  it('a (domain, server) the master has at the same or a later seq is not errant; an older one is', () => {
    expect(mariadbBinlogStateErrant('0-1-10,0-2-39', '0-1-10,0-2-39')).toBe('');
    expect(mariadbBinlogStateErrant('0-1-10,0-2-39', '0-1-12,0-2-40')).toBe('');
    expect(mariadbBinlogStateErrant('0-1-10,1-1-5', '0-1-10,1-1-4')).toBe('1-1-5');
  });
  it('skips the master\'s own server id (a replica probed after the master saw newer writes of it), but only when asked', () => {
    expect(mariadbBinlogStateErrant('0-2-41', '0-2-39', 2)).toBe('');
    expect(mariadbBinlogStateErrant('0-2-41', '0-2-39')).toBe('0-2-41');
  });
  it('an empty state has nothing errant; a malformed one is an error naming the part', () => {
    expect(mariadbBinlogStateErrant('', '0-1-1')).toBe('');
    expect(() => mariadbBinlogStateErrant('0-1-x', '')).toThrow(/"0-1-x" is not domain-server-seq/);
  });
});
