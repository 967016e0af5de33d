import { describe, expect, it } from 'vitest';
import { clusterFindings, clusterHealth, fleetFindings, sortClusters, withFindingVerdicts } from '../../src/domain/findings.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import type { ClusterView } from '../../src/domain/types.js';
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
