// One entry point for the poller: probe a node's engine, whatever it is.

import type { Config } from '../../config/schema.js';
import type { EngineFacts, EngineKind, Instance } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { probeCassandra, RingParses } from './cassandra.js';
import { MysqlProber } from './mysql.js';

/** Tag naming how the MySQL client runs on one host (set from the static inventory's `mysqlClient`). */
export const MYSQL_CLIENT_TAG = 'nightshift:mysql-client';
/** Tag naming how nodetool runs on one host (the inventory's `nodetool`). */
export const NODETOOL_TAG = 'nightshift:nodetool';

export interface EngineOptions {
  mysqlClient: string;
  nodetool: string;
  probeTimeoutMs: number;
  /** `engines.heartbeatTable`: replica lag from a heartbeat table instead of Seconds_Behind_*. */
  heartbeatTable?: string;
  /**
   * Honour per-node client tags (MYSQL_CLIENT_TAG, NODETOOL_TAG). Only for
   * targets whose tags come from the engineer's own file: on AWS anyone with
   * ec2:CreateTags could otherwise choose the command nightshift runs.
   */
  trustNodeClientTags?: boolean;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  mysqlClient: 'mysql',
  nodetool: 'nodetool',
  probeTimeoutMs: 10_000,
};

/** The engine options the config asks for. */
export function engineOptionsFromConfig(config: Config): EngineOptions {
  return {
    mysqlClient: config.engines.mysqlClient,
    nodetool: config.engines.nodetool,
    probeTimeoutMs: config.engines.probeTimeoutSeconds * 1000,
    ...(config.engines.heartbeatTable ? { heartbeatTable: config.engines.heartbeatTable } : {}),
    trustNodeClientTags: config.target === 'inventory',
  };
}

export class EngineProbes {
  private readonly mysql: MysqlProber;
  private readonly rings = new RingParses();

  constructor(
    private readonly shell: Shell,
    private readonly options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {
    this.mysql = new MysqlProber(shell);
  }

  /** The client command for this node: its own (trusted inventory tag) or the configured one. */
  mysqlClientFor(node: Instance): string {
    return (this.options.trustNodeClientTags && node.tags[MYSQL_CLIENT_TAG]) || this.options.mysqlClient;
  }

  nodetoolFor(node: Instance): string {
    return (this.options.trustNodeClientTags && node.tags[NODETOOL_TAG]) || this.options.nodetool;
  }

  async probe(node: Instance, engine: EngineKind, signal?: AbortSignal): Promise<EngineFacts> {
    const timeoutMs = this.options.probeTimeoutMs;
    switch (engine) {
      case 'mysql':
        return {
          kind: 'mysql',
          mysql: await this.mysql.probe(node, {
            client: this.mysqlClientFor(node),
            timeoutMs,
            ...(signal ? { signal } : {}),
            ...(this.options.heartbeatTable ? { heartbeatTable: this.options.heartbeatTable } : {}),
          }),
        };
      case 'cassandra':
        return {
          kind: 'cassandra',
          cassandra: await probeCassandra(this.shell, node, { nodetool: this.nodetoolFor(node), timeoutMs, signal }, this.rings),
        };
      case 'generic':
        return { kind: 'generic' };
    }
  }
}
