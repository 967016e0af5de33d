// Small builders for domain tests: instances and node views with 127.x addresses.

import type { EngineFacts, Instance, MysqlFacts, NodeView, ReplicaStatus } from '../../src/domain/types.js';

let counter = 0;

export function instance(over: Partial<Instance> = {}): Instance {
  counter += 1;
  return {
    id: `i-${counter.toString(16).padStart(17, '0')}`,
    name: `node-${counter}`,
    privateIp: `127.0.1.${counter % 250}`,
    az: 'us-east-1a',
    type: 'r6g.large',
    state: 'running',
    launchTime: '2026-11-01T00:00:00.000Z',
    statusChecks: 'ok',
    tags: {},
    ...over,
  };
}

export function mysql(over: Partial<MysqlFacts> = {}): EngineFacts {
  return {
    kind: 'mysql',
    mysql: {
      flavour: 'mariadb',
      version: '10.11.6-MariaDB',
      serverId: 1,
      readOnly: false,
      logBin: true,
      logReplicaUpdates: true,
      gtidExecuted: '0-1-100',
      ...over,
    },
  };
}

export function replica(source: string, over: Partial<ReplicaStatus> = {}, facts: Partial<MysqlFacts> = {}): EngineFacts {
  return mysql({
    readOnly: true,
    replica: { sourceHost: source, sourcePort: 3306, ioThread: 'Yes', sqlThread: 'Yes', lagSeconds: 0, usingGtid: true, ...over },
    ...facts,
  });
}

export function nodeView(inst: Instance, facts: EngineFacts | undefined, over: Partial<NodeView> = {}): NodeView {
  const role = facts?.kind === 'mysql' ? (facts.mysql.replica ? 'replica' : facts.mysql.readOnly ? 'unknown' : 'master') : 'member';
  return {
    instance: inst,
    role,
    engine: facts?.kind === 'cassandra' ? 'cassandra' : 'mysql',
    ...(facts ? { facts } : {}),
    health: { level: 'OK', reason: 'ok' },
    lagSeconds: facts?.kind === 'mysql' ? (facts.mysql.replica?.lagSeconds ?? null) : null,
    updatedAt: 1,
    stale: false,
    ...over,
  };
}
