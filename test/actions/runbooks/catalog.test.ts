// The runbook catalog: what the picker says about a cluster, and the
// parameters its form turns into. Pure, on hand-built fleet views.

import { describe, expect, it } from 'vitest';
import { catalogEntry, catalogFor, CATALOG, noRunbookText, resolveValues, type Field } from '../../../src/actions/runbooks/catalog.js';
import { getRunbook } from '../../../src/actions/runbooks/index.js';
import type { CassandraPeer, ClusterView, NodeView } from '../../../src/domain/types.js';
import { PROMOTION_TAG } from '../../../src/domain/candidate.js';
import { cassandraNode, cluster, DAY, mysqlNode, NOW, sampleFleet } from '../../helpers/fleet-fixtures.js';

const GRACE = 10 * 86_400;
const CTX = { now: NOW, gcGraceSeconds: GRACE };
const repair = catalogEntry('repair')!;

/** A ring of nodes repaired `ages` days ago (undefined: never), every peer UN unless `status` says otherwise. */
function ring(ages: Array<number | undefined>, status: Record<number, CassandraPeer['status']> = {}, state: Record<number, NodeView['instance']['state']> = {}): ClusterView {
  const nodes = ages.map((age, i) =>
    cassandraNode('ring', {
      id: `i-${i + 1}`,
      name: `cass-${i + 1}`,
      ...(age !== undefined ? { lastRepaired: new Date(NOW - age * DAY).toISOString() } : {}),
      ...(state[i + 1] ? { state: state[i + 1]! } : {}),
    }),
  );
  const peers: CassandraPeer[] = nodes.map((n, i) => ({
    status: status[i + 1] ?? 'UN',
    address: n.instance.privateIp,
    load: '1 GiB',
    tokens: 16,
    owns: '?',
    hostId: `h-${i + 1}`,
    rack: 'r1',
    datacenter: 'dc1',
  }));
  return cluster(
    'ring',
    'cassandra',
    nodes.map((n) => ({ ...n, facts: { kind: 'cassandra', cassandra: { status: 'UN', ring: peers } } })),
  );
}

const choices = (fields: Field[]) => {
  const f = fields[0]!;
  if (f.kind !== 'choice') throw new Error('repair asks a choice');
  return f;
};

describe('the runbook catalog', () => {
  it('lists repair for Cassandra rings, switchover for MySQL clusters, and says so honestly for generic ones', () => {
    const fleet = sampleFleet();
    const names = (name: string) => catalogFor(fleet.find((c) => c.name === name)!).map((e) => e.name);
    expect(names('cass-events')).toEqual(['repair', 'rotate']);
    expect(names('db-orders')).toEqual(['switchover', 'failover', 'rebuild']);
    expect(names('web')).toEqual(['rotate']);
    expect(catalogFor({ engine: 'generic', asg: undefined })).toEqual([]);
    // Only what the console was told it can start.
    expect(catalogFor({ engine: 'cassandra', asg: undefined }, [])).toEqual([]);
    expect(noRunbookText('generic')).toBe('no runbook for this generic cluster: rotate needs an Auto Scaling group, and it has none; the console can start repair (Cassandra), switchover (MySQL), failover (MySQL), rebuild (MySQL)');
    expect(noRunbookText('generic', [])).toBe('no runbook for generic clusters in this version yet');
  });

  it('names only runbooks the engine can run, with their own title', () => {
    for (const entry of CATALOG) {
      const runbook = getRunbook(entry.name);
      expect(runbook, entry.name).toBeDefined();
      expect(entry.title).toBe(runbook!.title);
    }
  });
});

describe('repair in the catalog', () => {
  it('on a healthy ring: not due, and says when the next node is', () => {
    const offer = repair.offer(ring([2, 6, 3]), CTX);
    expect(offer).toEqual({ applies: false, reason: 'not due — every node repaired within 10 d; next cass-2, due in 4 d' });
  });

  it('on an overdue ring: how many, the oldest, against gc_grace', () => {
    expect(repair.offer(ring([14, 2, 11, 12]), CTX)).toEqual({ applies: true, reason: '3 nodes overdue, oldest 14 d (gc_grace 10 d)' });
    expect(repair.offer(ring([14, undefined, 2]), CTX)).toEqual({ applies: true, reason: '2 nodes overdue (1 never repaired), oldest 14 d (gc_grace 10 d)' });
    expect(repair.offer(ring([undefined, 2]), CTX)).toEqual({ applies: true, reason: 'cass-1 never repaired (gc_grace 10 d)' });
    // The grace period is the operator's: at 20 days the same ring is not due.
    expect(repair.offer(ring([14, 2, 11]), { ...CTX, gcGraceSeconds: 20 * 86_400 }).applies).toBe(false);
  });

  it('with a DN node: not now, naming it, as the preflight would refuse', () => {
    expect(repair.offer(ring([14, 2, 11, 3], { 4: 'DN' }), CTX)).toEqual({
      applies: false,
      reason: 'not now — cass-4 is DN; a repair needs every node UN',
    });
    expect(repair.offer(ring([14, 2, 11], {}, { 2: 'stopped' }), CTX).reason).toBe('not now — cass-2 is stopped; a repair needs every node UN');
    expect(repair.offer(ring([14, 2, 11, 3], { 1: 'DN', 2: 'UJ', 3: 'DN' }), CTX).reason).toBe(
      'not now — cass-1 is DN, cass-2 is UJ and 1 more; a repair needs every node UN',
    );
  });

  it('a stale node\'s view of the ring is not trusted to block', () => {
    const r = ring([14, 2], { 2: 'DN' });
    const stale = { ...r, nodes: r.nodes.map((n) => ({ ...n, stale: true })) };
    expect(stale.nodes.every((n) => n.facts?.kind === 'cassandra')).toBe(true);
    expect(repair.offer(stale, CTX).applies).toBe(true);
  });

  it('offers the least recently repaired node first (the default), all overdue, then every member by repair age', () => {
    const fields = repair.fields(ring([14, undefined, 2, 11]), CTX);
    const node = choices(fields);
    expect(node.default).toBe('least-recent');
    expect(node.options.map((o) => [o.label, o.detail])).toEqual([
      ['least recently repaired', 'now cass-2, never repaired'],
      ['all overdue', '3 nodes, oldest first, checkpoint between'],
      ['cass-2', 'never repaired · overdue'],
      ['cass-1', 'repaired 14 d ago · overdue'],
      ['cass-4', 'repaired 11 d ago · overdue'],
      ['cass-3', 'repaired 2 d ago'],
    ]);
  });

  it('says beside a node that it is down, as the ring sees it', () => {
    const node = choices(repair.fields(ring([14, 2, 11], { 3: 'DN' }, { 2: 'stopped' }), CTX));
    expect(node.options.filter((o) => o.value.startsWith('node:')).map((o) => o.detail)).toEqual([
      'repaired 14 d ago · overdue',
      'repaired 11 d ago · overdue · DN',
      'repaired 2 d ago · stopped',
    ]);
  });

  it('shows "all overdue" disabled, with why, when nothing is overdue', () => {
    const node = choices(repair.fields(ring([1, 2]), CTX));
    const all = node.options.find((o) => o.label === 'all overdue')!;
    expect(all.disabled).toBe('none is overdue (10 d gc_grace)');
    expect(resolveValues([node], { node: all.value })).toEqual({ node: 'least-recent' });
  });

  it('turns the answers into the runbook\'s parameters', () => {
    const node = choices(repair.fields(ring([14, undefined, 2]), CTX));
    const value = (label: string) => node.options.find((o) => o.label === label)!.value;
    expect(repair.toParams('ring', { node: value('least recently repaired') })).toEqual({ cluster: 'ring' });
    expect(repair.toParams('ring', { node: value('all overdue') })).toEqual({ cluster: 'ring', allOverdue: true });
    expect(repair.toParams('ring', { node: value('cass-3') })).toEqual({ cluster: 'ring', node: 'cass-3' });
    // Every answer is something the runbook itself accepts.
    const schema = getRunbook('repair')!.params;
    for (const o of node.options) expect(schema.safeParse(repair.toParams('ring', { node: o.value })).success, o.label).toBe(true);
  });

  it('keeps a node called like a choice apart from the choice', () => {
    const r = ring([14, 2]);
    const odd = { ...r, nodes: r.nodes.map((n, i) => (i === 0 ? { ...n, instance: { ...n.instance, name: 'all-overdue' } } : n)) };
    const node = choices(repair.fields(odd, CTX));
    const named = node.options.find((o) => o.label === 'all-overdue')!;
    expect(repair.toParams('ring', { node: named.value })).toEqual({ cluster: 'ring', node: 'all-overdue' });
  });
});

describe('resolveValues', () => {
  it('keeps a valid answer and falls back to the default for one a refresh took away', () => {
    const fields: Field[] = [
      { key: 'who', label: 'who', kind: 'choice', options: [{ value: 'a', label: 'a' }, { value: 'b', label: 'b' }], default: 'a' },
      { key: 'fast', label: 'fast', kind: 'boolean', default: false },
      { key: 'note', label: 'note', kind: 'text', default: '' },
    ];
    expect(resolveValues(fields, { who: 'b', fast: true, note: 'x' })).toEqual({ who: 'b', fast: true, note: 'x' });
    expect(resolveValues(fields, { who: 'gone', fast: 'yes', note: 3 as unknown as string })).toEqual({ who: 'a', fast: false, note: '' });
  });
});

describe('switchover in the catalog', () => {
  const switchover = catalogEntry('switchover')!;

  function orders(masterRole: 'master' | 'replica' = 'master'): ClusterView {
    const master = mysqlNode('orders', { id: 'i-1', name: 'db-1', role: masterRole, az: 'us-east-1a' });
    const from = master.instance.privateIp;
    return cluster('orders', 'mysql', [
      master,
      mysqlNode('orders', { id: 'i-2', name: 'db-2', az: 'us-east-1b', sourceHost: from, lagSeconds: 4 }),
      mysqlNode('orders', { id: 'i-3', name: 'db-3', az: 'us-east-1c', sourceHost: from, lagSeconds: 1, tags: { [PROMOTION_TAG]: 'never' } }),
    ]);
  }

  it('applies with one writable master and an eligible replica, naming the best; the form lists every candidate, the never one disabled', () => {
    const offer = switchover.offer(orders(), CTX);
    expect(offer.applies).toBe(true);
    expect(offer.reason).toMatch(/^1 eligible replica; best db-2 \(us-east-1b · lag 4 s/);
    const fields = switchover.fields(orders(), CTX);
    expect(fields[0]!.kind === 'choice' && fields[0]!.options.map((o) => [o.label, o.disabled ?? ''])).toEqual([
      ['best ranked', ''],
      ['db-2', ''],
      ['db-3', 'promotion rule never (tag nightshift:promotion=never)'],
    ]);
    expect(switchover.toParams('orders', { candidate: 'node:i-2' })).toEqual({ cluster: 'orders', candidate: 'i-2' });
    expect(switchover.toParams('orders', { candidate: 'best' })).toEqual({ cluster: 'orders' });
  });

  it('does not apply without a writable master, or when no replica may be promoted, and says why', () => {
    expect(switchover.offer(orders('replica'), CTX)).toEqual({ applies: false, reason: 'not now — no writable master answers: a switchover needs a live master (failover is for a dead one)' });
    const lagging = orders();
    lagging.nodes[1]!.lagSeconds = 400;
    expect(switchover.offer(lagging, CTX).reason).toMatch(/^not now — no replica of db-1 can be promoted: db-2: lag 400 s over the 10 s limit/);
  });

  it('failover: applies when no writable master answers, listed first then; with a live master it is listed after switchover, not now', () => {
    const failover = catalogEntry('failover')!;
    const dead = orders('replica');
    dead.nodes[0]!.stale = true;
    delete dead.nodes[0]!.facts;
    const offer = failover.offer(dead, CTX);
    expect(offer.applies).toBe(true);
    expect(offer.reason).toMatch(/^no writable master; most advanced now db-2 \(us-east-1b/);
    expect(offer.reason).toContain('the run checks the master is dead first');
    expect(catalogFor(dead).map((e) => e.name)).toEqual(['failover', 'switchover', 'rebuild']);
    const fields = failover.fields(dead, CTX);
    expect(fields[0]!.kind === 'choice' && fields[0]!.options.map((o) => [o.label, o.disabled ?? ''])).toEqual([
      ['most advanced', ''],
      ['db-2', ''],
      ['db-3', 'promotion rule never (tag nightshift:promotion=never)'],
    ]);
    expect(failover.toParams('orders', { candidate: 'node:i-2' })).toEqual({ cluster: 'orders', candidate: 'i-2' });

    expect(failover.offer(orders(), CTX)).toEqual({ applies: false, reason: 'not now — a writable master answers: failover is for a dead master (switchover moves a live one)' });
    expect(catalogFor(orders()).map((e) => e.name)).toEqual(['switchover', 'failover', 'rebuild']);
  });

  it('rebuild: applies when redundancy is below target (the finding says so), not without a master; the form becomes its params', () => {
    const rebuild = catalogEntry('rebuild')!;
    const short = orders();
    expect(rebuild.offer(short, CTX).applies).toBe(false);
    expect(rebuild.offer(short, CTX).reason).toMatch(/at its target \(2 replicas\)/);
    short.findings.push({ kind: 'redundancy-below-target', level: 'WARN', message: 'redundancy below target: 2 of 3 replicas; rebuild one', nodes: [], suggests: 'rebuild' });
    expect(rebuild.offer(short, CTX)).toEqual({ applies: true, reason: 'redundancy below target: 2 of 3 replicas; rebuild one' });
    const dead = orders('replica');
    dead.nodes[0]!.stale = true;
    delete dead.nodes[0]!.facts;
    expect(rebuild.offer(dead, CTX)).toEqual({ applies: false, reason: 'not now — no writable master answers: fail over first, then rebuild' });

    const fields = rebuild.fields(short, CTX);
    expect(fields.map((f) => f.key)).toEqual(['source', 'target', 'via']);
    // Least lagging first: db-3 (1 s) before db-2 (4 s).
    expect(fields[0]!.kind === 'choice' && fields[0]!.options.map((o) => o.label)).toEqual(['least lagging healthy replica', 'db-3', 'db-2']);
    expect(rebuild.toParams('orders', { source: 'least-lag', target: '', via: 'default' })).toEqual({ cluster: 'orders' });
    expect(rebuild.toParams('orders', { source: 'node:db-2', target: ' spare-1 ', via: 'stream' })).toEqual({ cluster: 'orders', source: 'db-2', target: 'spare-1', via: 'stream' });
    expect(getRunbook('rebuild')!.params.safeParse(rebuild.toParams('orders', { source: 'node:db-2', target: 'spare-1', via: 'ebs' })).success).toBe(true);
  });
});
