// One entry point for the poller: probe a node's engine, whatever it is.

import type { EngineFacts, EngineKind, Instance } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { probeCassandra } from './cassandra.js';
import { MysqlProber } from './mysql.js';

export interface EngineOptions {
  mysqlClient: string;
  nodetool: string;
  probeTimeoutMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  mysqlClient: 'mysql',
  nodetool: 'nodetool',
  probeTimeoutMs: 10_000,
};

export class EngineProbes {
  private readonly mysql: MysqlProber;

  constructor(
    private readonly shell: Shell,
    private readonly options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {
    this.mysql = new MysqlProber(shell);
  }

  async probe(node: Instance, engine: EngineKind, signal?: AbortSignal): Promise<EngineFacts> {
    const timeoutMs = this.options.probeTimeoutMs;
    switch (engine) {
      case 'mysql':
        return { kind: 'mysql', mysql: await this.mysql.probe(node, { client: this.options.mysqlClient, timeoutMs, signal }) };
      case 'cassandra':
        return {
          kind: 'cassandra',
          cassandra: await probeCassandra(this.shell, node, { nodetool: this.options.nodetool, timeoutMs, signal }),
        };
      case 'generic':
        return { kind: 'generic' };
    }
  }
}
