// Hand-built fleet data for screen tests and the UI bench: ClusterView and
// NodeView as the poller would store them. Loopback (127.x) addresses only.

import type {
  CassandraPeer,
  ClusterView,
  EngineKind,
  Finding,
  HealthLevel,
  MetricPoint,
  NodeView,
  Role,
  Target,
} from '../../src/domain/types.js';
import { createFleetStore, type FleetStore } from '../../src/store/fleet.js';

/** A fixed "now" for every fixture: 1 AM, as it should be. */
export const NOW = Date.parse('2026-03-01T01:00:00Z');
export const DAY = 86_400_000;

export const SIM_TARGET: Target = { kind: 'sim', scenario: 'healthy', seed: 7, speed: 1 };
export const AWS_TARGET: Target = { kind: 'aws', account: '123456789012', regions: ['eu-west-1'], profile: 'prod-oncall' };

let ipCounter = 0;
function nextIp(): string {
  ipCounter = (ipCounter + 1) % 250_000;
  return `127.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${(ipCounter & 255) || 1}`;
}

/** 31 CPU points, one a minute, ending at `end`, shaped by `f(minute)`. */
export function cpuSeries(end: number, f: (minute: number) => number = (m) => 20 + ((m * 7) % 30)): MetricPoint[] {
  return Array.from({ length: 31 }, (_, i) => ({ t: end - (30 - i) * 60_000, v: f(i) }));
}

export interface NodeOptions {
  id: string;
  name?: string;
  az?: string;
  role?: Role;
  level?: HealthLevel;
  reason?: string;
  lagSeconds?: number | null;
  stale?: boolean;
  updatedAt?: number;
  probeError?: string;
  tags?: Record<string, string>;
  lastRepaired?: string;
  sourceHost?: string;
  ioThread?: 'Yes' | 'No' | 'Connecting';
  sqlThread?: 'Yes' | 'No' | 'Connecting';
  lastSqlError?: { code: number; message: string };
  readOnly?: boolean;
  state?: NodeView['instance']['state'];
}

function instance(cluster: string, engine: EngineKind, o: NodeOptions): NodeView['instance'] {
  return {
    id: o.id,
    name: o.name ?? o.id,
    privateIp: nextIp(),
    az: o.az ?? 'eu-west-1a',
    type: engine === 'cassandra' ? 'i4i.xlarge' : 'r6g.large',
    state: o.state ?? 'running',
    launchTime: new Date(NOW - 40 * DAY).toISOString(),
    statusChecks: 'ok',
    tags: {
      Name: o.name ?? o.id,
      'nightshift:cluster': cluster,
      'nightshift:engine': engine,
      ...(o.role && o.role !== 'cassandra' ? { 'nightshift:role': o.role } : {}),
      ...o.tags,
    },
  };
}

export function mysqlNode(cluster: string, o: NodeOptions): NodeView {
  const isReplica = (o.role ?? 'replica') === 'replica';
  const lag = o.lagSeconds === undefined ? (isReplica ? 0 : null) : o.lagSeconds;
  return {
    instance: instance(cluster, 'mysql', o),
    role: o.role ?? 'replica',
    engine: 'mysql',
    facts: {
      kind: 'mysql',
      mysql: {
        flavour: 'mysql',
        version: '8.0.36',
        serverId: Number.parseInt(o.id.replace(/\D/g, '').slice(-6) || '1', 10),
        readOnly: o.readOnly ?? isReplica,
        superReadOnly: o.readOnly ?? isReplica,
        logBin: true,
        logReplicaUpdates: true,
        gtidExecuted: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4512,8d1c0b1e-71ca-11e1-9e33-c80aa9429562:1-77',
        binlog: { file: 'binlog.000042', position: 19_334_112 },
        ...(isReplica
          ? {
              replica: {
                sourceHost: o.sourceHost ?? '127.0.0.10',
                sourcePort: 3306,
                ioThread: o.ioThread ?? 'Yes',
                sqlThread: o.sqlThread ?? 'Yes',
                lagSeconds: lag,
                usingGtid: true,
                ...(o.lastSqlError ? { lastSqlError: o.lastSqlError } : {}),
              },
            }
          : {}),
      },
    },
    metrics: { cpu: cpuSeries(NOW) },
    health: { level: o.level ?? 'OK', reason: o.reason ?? (isReplica ? 'replicating' : 'writable master') },
    lagSeconds: lag,
    updatedAt: o.updatedAt ?? NOW - 2_000,
    stale: o.stale ?? false,
    ...(o.probeError ? { probeError: o.probeError } : {}),
  };
}

export function cassandraNode(cluster: string, o: NodeOptions, ring: CassandraPeer[] = []): NodeView {
  return {
    instance: instance(cluster, 'cassandra', {
      ...o,
      tags: { ...(o.lastRepaired ? { 'last-repaired': o.lastRepaired } : {}), ...o.tags },
    }),
    role: 'cassandra',
    engine: 'cassandra',
    facts: { kind: 'cassandra', cassandra: { status: 'UN', ring } },
    metrics: { cpu: cpuSeries(NOW, (m) => 40 + (m % 5) * 8) },
    health: { level: o.level ?? 'OK', reason: o.reason ?? 'UN' },
    lagSeconds: null,
    ...(o.lastRepaired ? { lastRepaired: o.lastRepaired, repairAgeSeconds: Math.floor((NOW - Date.parse(o.lastRepaired)) / 1000) } : {}),
    updatedAt: o.updatedAt ?? NOW - 2_000,
    stale: o.stale ?? false,
  };
}

export function genericNode(cluster: string, o: NodeOptions): NodeView {
  return {
    instance: instance(cluster, 'generic', o),
    role: 'member',
    engine: 'generic',
    facts: { kind: 'generic' },
    metrics: { cpu: cpuSeries(NOW) },
    health: { level: o.level ?? 'OK', reason: o.reason ?? 'running, checks ok' },
    lagSeconds: null,
    updatedAt: o.updatedAt ?? NOW - 2_000,
    stale: o.stale ?? false,
  };
}

const RANK: Record<HealthLevel, number> = { CRIT: 0, WARN: 1, UNKNOWN: 2, OK: 3 };

export function cluster(
  name: string,
  engine: EngineKind,
  nodes: NodeView[],
  extra: { findings?: Finding[]; asg?: string; reasons?: string[] } = {},
): ClusterView {
  const worst = nodes.reduce<HealthLevel>((w, n) => (RANK[n.health.level] < RANK[w] ? n.health.level : w), 'OK');
  const findingWorst = (extra.findings ?? []).reduce<HealthLevel>((w, f) => (RANK[f.level] < RANK[w] ? f.level : w), worst);
  const reasons =
    extra.reasons ??
    [
      ...(extra.findings ?? []).map((f) => f.message),
      ...nodes.filter((n) => n.health.level !== 'OK').map((n) => `${n.instance.name}: ${n.health.reason}`),
    ];
  const lags = nodes.map((n) => n.lagSeconds).filter((l): l is number => l !== null);
  return {
    name,
    engine,
    health: { level: findingWorst, reasons },
    findings: extra.findings ?? [],
    nodes,
    worstLagSeconds: lags.length > 0 ? Math.max(...lags) : null,
    ...(extra.asg ? { asg: extra.asg } : {}),
  };
}

export function sortClusters(clusters: ClusterView[]): ClusterView[] {
  return [...clusters].sort((a, b) => RANK[a.health.level] - RANK[b.health.level] || a.name.localeCompare(b.name));
}

/** A small fleet with one of each thing a screen must show. */
export function sampleFleet(): ClusterView[] {
  const orders = cluster('db-orders', 'mysql', [
    mysqlNode('db-orders', { id: 'i-0a000000000000001', name: 'db-orders-1', role: 'master', az: 'eu-west-1a' }),
    mysqlNode('db-orders', {
      id: 'i-0a000000000000002',
      name: 'db-orders-2',
      az: 'eu-west-1b',
      lagSeconds: 340,
      level: 'CRIT',
      reason: 'lag 340 s > 300 s',
    }),
    mysqlNode('db-orders', {
      id: 'i-0a000000000000003',
      name: 'db-orders-3',
      az: 'eu-west-1c',
      lagSeconds: 4,
      stale: true,
      updatedAt: NOW - 42_000,
      probeError: 'ssh: connect timed out after 10 s',
    }),
  ]);
  const billing = cluster(
    'db-billing',
    'mysql',
    [
      mysqlNode('db-billing', { id: 'i-0b000000000000001', name: 'db-billing-1', role: 'master', az: 'eu-west-1a' }),
      mysqlNode('db-billing', {
        id: 'i-0b000000000000002',
        name: 'db-billing-2',
        role: 'master',
        az: 'eu-west-1b',
        readOnly: false,
        level: 'CRIT',
        reason: 'writable, replica role tag',
        tags: { 'nightshift:role': 'replica' },
      }),
    ],
    {
      findings: [
        { kind: 'two-writable-masters', level: 'CRIT', message: 'two writable masters: db-billing-1, db-billing-2', nodes: ['i-0b000000000000001', 'i-0b000000000000002'] },
        { kind: 'role-drift', level: 'WARN', message: 'db-billing-2: role tag says replica, server is writable', nodes: ['i-0b000000000000002'] },
      ],
    },
  );
  const ring: CassandraPeer[] = [1, 2, 3].map((n) => ({
    status: 'UN',
    address: `127.0.1.${n}`,
    load: '212.4 GiB',
    tokens: 16,
    owns: '33.3%',
    hostId: `5f6c0e1a-0000-4000-8000-00000000000${n}`,
    rack: `eu-west-1${'abc'[n - 1]}`,
    datacenter: 'eu-west',
  }));
  const events = cluster(
    'cass-events',
    'cassandra',
    [
      cassandraNode('cass-events', { id: 'i-0c000000000000001', name: 'cass-events-1', az: 'eu-west-1a', lastRepaired: new Date(NOW - 2 * DAY).toISOString() }, ring),
      cassandraNode(
        'cass-events',
        { id: 'i-0c000000000000002', name: 'cass-events-2', az: 'eu-west-1b', lastRepaired: new Date(NOW - 12 * DAY).toISOString(), level: 'WARN', reason: 'repair overdue: 12 d > 10 d' },
        ring,
      ),
      cassandraNode('cass-events', { id: 'i-0c000000000000003', name: 'cass-events-3', az: 'eu-west-1c', level: 'WARN', reason: 'never repaired' }, ring),
    ],
    {
      asg: 'asg-cass-events',
      findings: [
        { kind: 'repair-overdue', level: 'WARN', message: 'repair overdue: cass-events-2 (12 d), cass-events-3 (never)', nodes: ['i-0c000000000000002', 'i-0c000000000000003'] },
      ],
    },
  );
  const web = cluster('web', 'generic', [1, 2, 3, 4].map((n) => genericNode('web', { id: `i-0d00000000000000${n}`, name: `web-${n}`, az: `eu-west-1${'abca'[n - 1]}` })), {
    asg: 'asg-web',
  });
  return sortClusters([orders, billing, events, web]);
}

/** `clusters` MySQL/Cassandra clusters of `nodesPerCluster` nodes each, some unhealthy; deterministic. */
export function generateFleet(clusters: number, nodesPerCluster: number): ClusterView[] {
  const out: ClusterView[] = [];
  for (let c = 0; c < clusters; c++) {
    const name = `db-${String(c).padStart(4, '0')}`;
    const isCassandra = c % 5 === 4;
    const nodes: NodeView[] = [];
    for (let n = 0; n < nodesPerCluster; n++) {
      const id = `i-${c.toString(16).padStart(8, '0')}${n.toString(16).padStart(9, '0')}`;
      const az = `eu-west-1${'abc'[n % 3]}`;
      const unhealthy = n > 0 && (c * 31 + n) % 97 === 0;
      if (isCassandra) {
        nodes.push(
          cassandraNode(name, {
            id,
            name: `${name}-${n}`,
            az,
            lastRepaired: new Date(NOW - ((c + n) % 14) * DAY).toISOString(),
            ...(unhealthy ? { level: 'WARN' as const, reason: 'repair overdue' } : {}),
          }),
        );
      } else {
        nodes.push(
          mysqlNode(name, {
            id,
            name: `${name}-${n}`,
            az,
            role: n === 0 ? 'master' : 'replica',
            ...(n > 0 ? { lagSeconds: unhealthy ? 400 : (c + n) % 3 } : {}),
            ...(unhealthy ? { level: 'CRIT' as const, reason: 'lag 400 s > 300 s' } : {}),
            stale: (c + n) % 211 === 0,
          }),
        );
      }
    }
    out.push(cluster(name, isCassandra ? 'cassandra' : 'mysql', nodes));
  }
  return sortClusters(out);
}

export function fleetStoreWith(clusters: ClusterView[], target: Target = SIM_TARGET, refreshedAt = NOW - 3_000): FleetStore {
  const store = createFleetStore({ target, refreshSeconds: 5 });
  store.getState().actions.setClusters(clusters, refreshedAt, 120);
  return store;
}
