import { describe, expect, it } from 'vitest';
import { clusterFindings, clusterHealth, fleetFindings, ioWaitPegged, sortClusters, withFindingVerdicts } from '../../src/domain/findings.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import type { ClusterView, MetricPoint, VolumeHealth } from '../../src/domain/types.js';
import { instance, mysql, nodeView, replica } from '../helpers/node-views.js';

const opts = { roleTag: 'nightshift:role', thresholds: DEFAULT_THRESHOLDS };

function healthyCluster() {
  const m = instance({ name: 'db-1', privateIp: '127.0.2.1', az: 'us-east-1a' });
  const r1 = instance({ name: 'db-2', privateIp: '127.0.2.2', az: 'us-east-1b' });
  const r2 = instance({ name: 'db-3', privateIp: '127.0.2.3', az: 'us-east-1c' });
  return [nodeView(m, mysql()), nodeView(r1, replica('127.0.2.1')), nodeView(r2, replica('127.0.2.1'))];
}

describe('clusterFindings (mysql)', () => {
  it('finds nothing wrong with a master and two replicas over three AZs', () => {
    expect(clusterFindings('mysql', healthyCluster(), opts)).toEqual([]);
  });

  it('finds two writable masters and names them', () => {
    const nodes = healthyCluster();
    nodes[1] = nodeView(nodes[1]!.instance, mysql({ readOnly: false }));
    const f = clusterFindings('mysql', nodes, opts);
    expect(f.map((x) => x.kind)).toContain('two-writable-masters');
    const split = f.find((x) => x.kind === 'two-writable-masters')!;
    expect(split.message).toBe(
      'two writable masters: db-1, db-2; by hand: find which one takes application writes, SET GLOBAL read_only=ON on the other, compare GTIDs, then rebuild it',
    );
    // No runbook settles which history to keep.
    expect(split.suggests).toBeUndefined();
  });

  it('marks the master the writer record points at, and says to stop writes on the other', () => {
    const nodes = healthyCluster();
    nodes[1] = nodeView(nodes[1]!.instance, mysql({ readOnly: false }));
    const writer = { zoneId: 'Z1', name: 'db.internal', type: 'A' as const, values: ['127.0.2.2'], node: 'db-2', nodeId: nodes[1]!.instance.id };
    const split = clusterFindings('mysql', nodes, { ...opts, writer }).find((x) => x.kind === 'two-writable-masters')!;
    expect(split.message).toBe("two writable masters: db-1, db-2 (writer record); by hand: SET GLOBAL read_only=ON on db-1, compare its GTIDs with db-2's, then rebuild it");
    // A failed read keeps the last values: still marked, and said to be old.
    const old = clusterFindings('mysql', nodes, { ...opts, writer: { ...writer, error: 'throttled' } }).find((x) => x.kind === 'two-writable-masters')!;
    expect(old.message).toContain('db-2 (writer record at its last read)');
  });

  it('does not claim split brain from a stale node', () => {
    const nodes = healthyCluster();
    nodes[1] = nodeView(nodes[1]!.instance, mysql({ readOnly: false }), { stale: true });
    expect(clusterFindings('mysql', nodes, opts).map((x) => x.kind)).not.toContain('two-writable-masters');
  });

  it('finds no writable master when the master is unreachable', () => {
    const nodes = healthyCluster();
    nodes[0] = nodeView(nodes[0]!.instance, mysql(), { stale: true, probeError: 'timed out' });
    const f = clusterFindings('mysql', nodes, opts).find((x) => x.kind === 'no-writable-master');
    expect(f).toMatchObject({ level: 'CRIT', message: 'no writable master', suggests: 'failover' });
  });

  it('finds a replica of a node outside the cluster', () => {
    const nodes = healthyCluster();
    nodes[2] = nodeView(nodes[2]!.instance, replica('127.0.9.9'));
    const f = clusterFindings('mysql', nodes, opts).find((x) => x.kind === 'replica-of-outsider');
    expect(f?.message).toBe('db-3 replicates from 127.0.9.9, outside the cluster');
  });

  it('finds all replicas in one AZ', () => {
    const nodes = healthyCluster();
    nodes[2] = nodeView({ ...nodes[2]!.instance, az: 'us-east-1b' }, nodes[2]!.facts);
    expect(clusterFindings('mysql', nodes, opts).map((x) => x.kind)).toEqual(['replicas-one-az']);
  });

  it('finds drift between the role tag and what the server says', () => {
    const nodes = healthyCluster();
    nodes[1] = nodeView({ ...nodes[1]!.instance, tags: { 'nightshift:role': 'master' } }, nodes[1]!.facts);
    const f = clusterFindings('mysql', nodes, opts);
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toBe('db-2: role tag says master, server says replica');
  });

  it('finds redundancy below the configured target', () => {
    const nodes = healthyCluster().slice(0, 2);
    const f = clusterFindings('mysql', nodes, { ...opts, targetReplicas: 2 });
    expect(f.map((x) => x.message)).toContain('redundancy below target: 1 of 2 replicas; rebuild one');
    expect(f.find((x) => x.kind === 'redundancy-below-target')?.suggests).toBe('rebuild');
  });
});

describe('clusterFindings (cassandra)', () => {
  it('finds overdue repairs and down nodes', () => {
    const a = instance({ name: 'cass-1', privateIp: '127.0.3.1' });
    const b = instance({ name: 'cass-2', privateIp: '127.0.3.2' });
    const ring = [
      { status: 'UN' as const, address: '127.0.3.1', load: '1 GiB', tokens: 16, owns: '50%', hostId: '0'.repeat(36), rack: 'r1', datacenter: 'dc1' },
      { status: 'DN' as const, address: '127.0.3.2', load: '1 GiB', tokens: 16, owns: '50%', hostId: '1'.repeat(36), rack: 'r1', datacenter: 'dc1' },
    ];
    const nodes = [
      nodeView(a, { kind: 'cassandra', cassandra: { status: 'UN', ring } }, { engine: 'cassandra', repairAgeSeconds: 86_400 }),
      nodeView(b, { kind: 'cassandra', cassandra: { status: 'UN', ring } }, { engine: 'cassandra', repairAgeSeconds: 12 * 86_400 }),
    ];
    const f = clusterFindings('cassandra', nodes, opts);
    expect(f.find((x) => x.kind === 'node-down')?.message).toBe('1 node down: cass-2');
    expect(f.find((x) => x.kind === 'repair-overdue')?.message).toBe(
      'repair overdue on 1 node (worst: cass-2, 12 d > 10 d)',
    );
    expect(f.find((x) => x.kind === 'repair-overdue')?.suggests).toBe('repair');
    expect(f.find((x) => x.kind === 'node-down')?.suggests).toBeUndefined();
  });
});

describe('clusterHealth and order', () => {
  it('takes the worst level and lists findings before node reasons', () => {
    const nodes = healthyCluster();
    nodes[1] = { ...nodes[1]!, health: { level: 'WARN', reason: 'lag 40 s > 30 s' } };
    const h = clusterHealth(nodes, [{ kind: 'replicas-one-az', level: 'WARN', message: 'all 2 replicas in one AZ', nodes: [] }]);
    expect(h).toEqual({ level: 'WARN', reasons: ['all 2 replicas in one AZ', 'db-2: lag 40 s > 30 s'] });
  });

  it('sorts worst first, then by name', () => {
    const c = (name: string, level: ClusterView['health']['level']): ClusterView => ({
      name,
      engine: 'mysql',
      health: { level, reasons: [] },
      findings: [],
      nodes: [],
      worstLagSeconds: null,
    });
    expect(sortClusters([c('b', 'OK'), c('a', 'OK'), c('z', 'CRIT'), c('m', 'WARN')]).map((x) => x.name)).toEqual([
      'z',
      'm',
      'a',
      'b',
    ]);
  });
});

describe('clusterFindings when nothing answers', () => {
  it('says no node answered instead of claiming there is no master', () => {
    const nodes = healthyCluster().map((n) => ({ ...n, stale: true, probeError: 'ECONNREFUSED' }));
    const f = clusterFindings('mysql', nodes, opts);
    expect(f).toEqual([{ kind: 'no-node-answered', level: 'UNKNOWN', message: 'no node answered its probe: roles unknown', nodes: [] }]);
  });
});

describe('errant GTIDs', () => {
  it('finds a MariaDB replica that executed a transaction its master never had', () => {
    const nodes = healthyCluster();
    nodes[0] = nodeView(nodes[0]!.instance, mysql({ serverId: 1, gtidExecuted: '0-1-100' }));
    nodes[1] = nodeView(nodes[1]!.instance, replica('127.0.2.1', {}, { serverId: 2, gtidExecuted: '0-1-100' }));
    nodes[2] = nodeView(nodes[2]!.instance, replica('127.0.2.1', {}, { serverId: 3, gtidExecuted: '0-1-100,1-3-4' }));
    const f = clusterFindings('mysql', nodes, opts).filter((x) => x.kind === 'errant-gtid');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toBe('errant GTIDs on db-3: 1-3-4 (writes db-1 never had)');
  });

  it('finds errant MySQL transactions by uuid interval', () => {
    const a = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
    const b = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
    const nodes = healthyCluster();
    nodes[0] = nodeView(nodes[0]!.instance, mysql({ flavour: 'mysql', gtidExecuted: `${a}:1-50` }));
    nodes[1] = nodeView(nodes[1]!.instance, replica('127.0.2.1', {}, { flavour: 'mysql', gtidExecuted: `${a}:1-48` }));
    nodes[2] = nodeView(nodes[2]!.instance, replica('127.0.2.1', {}, { flavour: 'mysql', gtidExecuted: `${a}:1-50,${b}:1-2` }));
    const f = clusterFindings('mysql', nodes, opts).filter((x) => x.kind === 'errant-gtid');
    expect(f.map((x) => x.nodes[0])).toEqual([nodes[2]!.instance.id]);
    expect(f[0]!.message).toContain(`${b}:1-2`);
  });
});

describe('errant GTIDs and probe timing', () => {
  it('does not call a replica errant for the master\'s own later writes, in either flavour', () => {
    const a = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
    const nodes = healthyCluster();
    nodes[0] = nodeView(nodes[0]!.instance, mysql({ flavour: 'mysql', gtidExecuted: `${a}:1-100` }));
    nodes[1] = nodeView(nodes[1]!.instance, replica('127.0.2.1', {}, { flavour: 'mysql', gtidExecuted: `${a}:1-105` }));
    nodes[2] = nodeView(nodes[2]!.instance, replica('127.0.2.1', {}, { flavour: 'mysql', gtidExecuted: `${a}:1-99` }));
    expect(clusterFindings('mysql', nodes, opts).map((x) => x.kind)).not.toContain('errant-gtid');

    const m = healthyCluster();
    m[0] = nodeView(m[0]!.instance, mysql({ serverId: 1, gtidExecuted: '0-1-100' }));
    m[1] = nodeView(m[1]!.instance, replica('127.0.2.1', {}, { serverId: 2, gtidExecuted: '0-1-104' }));
    m[2] = nodeView(m[2]!.instance, replica('127.0.2.1', {}, { serverId: 3, gtidExecuted: '0-3-101' }));
    const f = clusterFindings('mysql', m, opts).filter((x) => x.kind === 'errant-gtid');
    expect(f.map((x) => x.message)).toEqual(['errant GTIDs on db-3: 0-3-101 (writes db-1 never had)']);
  });
});

describe('rows agree with the cluster', () => {
  it('makes every node of a CRIT finding CRIT with the finding as its reason; others keep theirs, as the same objects', () => {
    const nodes = healthyCluster();
    nodes[1] = nodeView(nodes[1]!.instance, mysql({ readOnly: false }));
    const findings = clusterFindings('mysql', nodes, opts);
    const rows = withFindingVerdicts(nodes, findings);
    expect(rows[0]!.health).toEqual({ level: 'CRIT', reason: 'split brain: writable master, as is db-2' });
    expect(rows[1]!.health).toEqual({ level: 'CRIT', reason: 'split brain: writable master, as is db-1' });
    expect(rows[2]).toBe(nodes[2]);
    // The verdict last shown is kept by identity when it has not changed.
    const again = withFindingVerdicts(nodes, findings, new Map(rows.map((n) => [n.instance.id, n])));
    expect(again[0]!.health).toBe(rows[0]!.health);
    // With the writer record read: which one applications write to, and where to stop writes.
    const writer = { zoneId: 'Z1', name: 'db.internal', type: 'A' as const, values: ['127.0.2.1'], node: 'db-1', nodeId: nodes[0]!.instance.id };
    const marked = withFindingVerdicts(nodes, findings, undefined, writer);
    expect(marked[0]!.health.reason).toBe('split brain: writable master, as is db-2; the writer record points here');
    expect(marked[1]!.health.reason).toBe("split brain: writable master, as is db-1 (the writer record's): stop writes here");
    // A record whose read failed marks nothing on the rows (the finding says "at its last read").
    expect(withFindingVerdicts(nodes, findings, undefined, { ...writer, error: 'throttled' })[1]!.health.reason).toBe('split brain: writable master, as is db-1');
  });

  it('leaves nodes alone for WARN findings, and a node already CRIT keeps its own reason', () => {
    const nodes = healthyCluster();
    nodes[2] = nodeView(nodes[2]!.instance, replica('127.0.9.9'), { health: { level: 'CRIT', reason: 'IO thread stopped' } });
    nodes[1] = nodeView({ ...nodes[1]!.instance, tags: { 'nightshift:role': 'master' } }, nodes[1]!.facts);
    const findings = clusterFindings('mysql', nodes, opts);
    expect(findings.map((f) => f.kind).sort()).toEqual(['replica-of-outsider', 'role-drift']);
    expect(withFindingVerdicts(nodes, findings)).toEqual(nodes);
    // Not CRIT yet: the finding, without the row's own name in front.
    const fresh = [nodes[0]!, nodes[1]!, { ...nodes[2]!, health: { level: 'OK' as const, reason: 'ok' } }];
    expect(withFindingVerdicts(fresh, findings)[2]!.health).toEqual({ level: 'CRIT', reason: 'replicates from 127.0.9.9, outside the cluster' });
  });
});

describe('fleetFindings: an AZ gone dark', () => {
  const view = (name: string, nodes: ReturnType<typeof nodeView>[]): ClusterView => ({
    name,
    engine: 'mysql',
    health: { level: 'OK', reasons: [] },
    findings: [],
    nodes,
    worstLagSeconds: null,
  });
  const up = (az: string) => nodeView(instance({ az }), mysql());
  const impaired = (az: string) => nodeView(instance({ az, statusChecks: 'impaired' }), mysql(), { stale: true, health: { level: 'CRIT', reason: 'EC2 status checks failing' } });
  const silent = (az: string) => nodeView(instance({ az }), undefined, { stale: true, probeError: 'connect timed out' });

  it('names the AZ where most nodes are unreachable or impaired, counted across clusters and once each, with why', () => {
    const stopped = nodeView(instance({ az: 'us-east-1c', state: 'stopped' }), undefined, { stale: true });
    const shared = impaired('us-east-1c');
    const f = fleetFindings([
      view('a', [up('us-east-1a'), shared, silent('us-east-1c')]),
      view('b', [up('us-east-1b'), impaired('us-east-1c'), stopped, shared, up('us-east-1c')]),
    ]);
    expect(f).toEqual([
      {
        kind: 'az-impaired',
        level: 'CRIT',
        message: 'us-east-1c: 4 of 5 nodes unreachable or impaired (2 failing EC2 status checks, 1 not answering, 1 stopped)',
        az: 'us-east-1c',
        nodes: [shared.instance.id, expect.any(String), expect.any(String), stopped.instance.id],
      },
    ]);
    expect(f[0]!.suggests).toBeUndefined();
  });

  it('says nothing of half an AZ, of one dead host alone, or of nodes not asked yet', () => {
    expect(fleetFindings([view('a', [impaired('us-east-1c'), silent('us-east-1c'), up('us-east-1c'), up('us-east-1c')])])).toEqual([]);
    expect(fleetFindings([view('a', [impaired('us-east-1c'), up('us-east-1a')])])).toEqual([]);
    const notAsked = () => nodeView(instance({ az: 'us-east-1c' }), undefined, { stale: true, health: { level: 'OK', reason: 'running' } });
    expect(fleetFindings([view('a', [notAsked(), notAsked(), notAsked()])])).toEqual([]);
  });
});

describe('io-impaired: an EBS volume impaired, or I/O wait pegged', () => {
  const NOW = Date.parse('2026-11-20T01:00:00Z');
  const at = { ...opts, now: NOW };
  const MIN = 60_000;
  /** One point a minute ending at `end`: `pegged` points at 95-97% (97 the newest) after `before` at 3%. */
  const ioWait = (before: number, pegged: number, end = NOW): MetricPoint[] => [
    ...Array.from({ length: before }, (_, k) => ({ t: end - (before + pegged - 1 - k) * MIN, v: 3 })),
    ...Array.from({ length: pegged }, (_, k) => ({ t: end - (pegged - 1 - k) * MIN, v: 97 - ((pegged - 1 - k) % 3) })),
  ];
  const impaired: VolumeHealth = { volumeId: 'vol-0123456789abcdef0', device: '/dev/xvda', status: 'impaired', detail: 'I/O performance stalled', since: '2026-11-20T00:48:00.000Z' };
  const withTrouble = (nodes: ReturnType<typeof healthyCluster>, k: number, volumes?: VolumeHealth[], wait?: MetricPoint[]) => {
    const n = nodes[k]!;
    nodes[k] = { ...n, instance: { ...n.instance, ...(volumes ? { volumes } : {}) }, ...(wait ? { metrics: { cpu: [], extra: { 'io-wait': wait } } } : {}) };
    return nodes;
  };
  const io = (f: ReturnType<typeof clusterFindings>) => f.filter((x) => x.kind === 'io-impaired');

  it('names the volume, since when, and the wait; CRIT on a replica with an impaired volume, answered by rebuild', () => {
    const nodes = withTrouble(healthyCluster(), 2, [impaired], ioWait(20, 13));
    expect(io(clusterFindings('mysql', nodes, at))).toEqual([
      {
        kind: 'io-impaired',
        level: 'CRIT',
        message: 'db-3: EBS vol-0123456789abcdef0 on /dev/xvda impaired since 00:48 UTC (I/O performance stalled); I/O wait 97% for 12 m',
        nodes: [nodes[2]!.instance.id],
        suggests: 'rebuild',
      },
    ]);
  });

  it("a warning volume alone is WARN; a replica's pegged wait alone is WARN, a master's is CRIT", () => {
    const warning: VolumeHealth = { volumeId: 'vol-0aaa', status: 'warning', detail: 'io-performance: degraded' };
    const w = io(clusterFindings('mysql', withTrouble(healthyCluster(), 1, [warning]), at));
    expect(w.map((f) => [f.level, f.message, f.suggests])).toEqual([['WARN', 'db-2: EBS vol-0aaa warning (io-performance: degraded)', 'rebuild']]);

    const replicaWait = io(clusterFindings('mysql', withTrouble(healthyCluster(), 1, undefined, ioWait(0, 8)), at));
    expect(replicaWait.map((f) => [f.level, f.message])).toEqual([['WARN', 'db-2: I/O wait 97% for 7 m']]);

    const masterWait = io(clusterFindings('mysql', withTrouble(healthyCluster(), 0, undefined, ioWait(0, 8)), at));
    expect(masterWait.map((f) => [f.level, f.message, f.suggests])).toEqual([['CRIT', 'db-1: I/O wait 97% for 7 m', 'switchover']]);
  });

  it('a master that no longer answers is failed over; insufficient-data and ok volumes are no finding', () => {
    const nodes = withTrouble(healthyCluster(), 0, [impaired]);
    nodes[0] = { ...nodes[0]!, stale: true };
    expect(io(clusterFindings('mysql', nodes, at)).map((f) => f.suggests)).toEqual(['failover']);
    const quiet = withTrouble(healthyCluster(), 1, [{ volumeId: 'vol-0new', status: 'insufficient-data', detail: '' }]);
    expect(io(clusterFindings('mysql', quiet, at))).toEqual([]);
    // A stopped node is node-down's (and the AZ's) business, whatever its volume says.
    const stopped = withTrouble(healthyCluster(), 1, [impaired]);
    stopped[1] = { ...stopped[1]!, instance: { ...stopped[1]!.instance, state: 'stopped' } };
    expect(io(clusterFindings('mysql', stopped, at))).toEqual([]);
  });

  it('Cassandra and generic nodes get the finding without a runbook', () => {
    const ring = [nodeView(instance({ name: 'ring-1', volumes: [impaired] }), { kind: 'cassandra', cassandra: { status: 'UN', ring: [] } }, { role: 'cassandra', repairAgeSeconds: 0 })];
    const f = io(clusterFindings('cassandra', ring, at));
    expect(f.map((x) => [x.level, x.message, x.suggests])).toEqual([['CRIT', 'ring-1: EBS vol-0123456789abcdef0 on /dev/xvda impaired since 00:48 UTC (I/O performance stalled)', undefined]]);
    const member = [nodeView(instance({ name: 'web-1' }), { kind: 'generic' }, { metrics: { cpu: [], extra: { 'io-wait': ioWait(0, 30) } } })];
    expect(io(clusterFindings('generic', member, at)).map((x) => [x.level, x.message, x.suggests])).toEqual([['WARN', 'web-1: I/O wait 97% for 29 m', undefined]]);
  });

  it('a time a day or more ago carries its date', () => {
    const old = { ...impaired, since: '2026-11-18T22:05:00.000Z' };
    expect(io(clusterFindings('mysql', withTrouble(healthyCluster(), 2, [old]), at))[0]!.message).toBe(
      'db-3: EBS vol-0123456789abcdef0 on /dev/xvda impaired since 2026-11-18 22:05 UTC (I/O performance stalled)',
    );
  });

  it('pegged means at or above 80% for the last 5 minutes or more, up to a point no older than 10 minutes', () => {
    expect(ioWaitPegged(ioWait(10, 6), NOW)).toEqual({ percent: 97, forMs: 5 * MIN });
    // Four minutes is a burst (a backup, a compaction), not a stuck disk.
    expect(ioWaitPegged(ioWait(10, 5), NOW)).toBeUndefined();
    // The newest point decides: it came down.
    expect(ioWaitPegged([...ioWait(0, 10), { t: NOW + MIN, v: 40 }], NOW + MIN)).toBeUndefined();
    // A dip inside breaks the run.
    const dipped = ioWait(0, 12).map((p, k) => (k === 8 ? { ...p, v: 79.9 } : p));
    expect(ioWaitPegged(dipped, NOW)).toBeUndefined();
    // A series that stopped 11 minutes ago says nothing about now.
    expect(ioWaitPegged(ioWait(0, 20, NOW - 11 * MIN), NOW)).toBeUndefined();
    expect(ioWaitPegged(ioWait(0, 20, NOW - 9 * MIN), NOW)).toEqual({ percent: expect.any(Number), forMs: 19 * MIN });
    // A gap of the rule's length is no run: two points 5 minutes apart are not 5 minutes pegged.
    expect(ioWaitPegged([{ t: NOW - 5 * MIN, v: 95 }, { t: NOW, v: 95 }], NOW)).toBeUndefined();
    expect(ioWaitPegged([], NOW)).toBeUndefined();
    expect(ioWaitPegged(undefined, NOW)).toBeUndefined();
  });

  it("marks the node's row: CRIT with the finding's words, WARN for a warning; never kinder than the row was", () => {
    const nodes = withTrouble(healthyCluster(), 2, [impaired]);
    const rows = withFindingVerdicts(nodes, clusterFindings('mysql', nodes, at));
    expect(rows[2]!.health).toEqual({ level: 'CRIT', reason: 'EBS vol-0123456789abcdef0 on /dev/xvda impaired since 00:48 UTC (I/O performance stalled)' });
    const warned = withTrouble(healthyCluster(), 1, undefined, ioWait(0, 8));
    expect(withFindingVerdicts(warned, clusterFindings('mysql', warned, at))[1]!.health).toEqual({ level: 'WARN', reason: 'I/O wait 97% for 7 m' });
    const already = withTrouble(healthyCluster(), 1, undefined, ioWait(0, 8));
    already[1] = { ...already[1]!, health: { level: 'WARN', reason: 'lag 40 s > 30 s' } };
    expect(withFindingVerdicts(already, clusterFindings('mysql', already, at))[1]).toBe(already[1]);
  });
});
