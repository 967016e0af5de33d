// One entry point for the poller: probe a node's engine, whatever it is.

import { DEFAULT_SERVICE_COMMAND, type Config } from '../../config/schema.js';
import { createRedactor, type Redactor } from '../../domain/redact.js';
import type { EngineFacts, EngineKind, Instance } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { probeCassandra, RingParses } from './cassandra.js';
import { resolveClients, type HostClients } from './clients.js';
import { MysqlProber } from './mysql.js';

export { clientsFor, clientsOf, MYSQL_CLIENT_TAG, NODETOOL_TAG, SERVICE_TAG, type ClientSources, type HostClients } from './clients.js';

export interface EngineOptions {
  mysqlClient: string;
  nodetool: string;
  /** Service manager command (`engines.serviceCommand`). */
  serviceCommand?: string;
  probeTimeoutMs: number;
  /** `engines.heartbeatTable`: replica lag from a heartbeat table instead of Seconds_Behind_*. */
  heartbeatTable?: string;
  /**
   * Honour per-node client tags (MYSQL_CLIENT_TAG, NODETOOL_TAG, SERVICE_TAG).
   * Only for targets whose tags come from the engineer's own file: on AWS
   * anyone with ec2:CreateTags could otherwise choose the command nightshift runs.
   */
  trustNodeClientTags?: boolean;
  /** `secrets` from the config: a probe error that quotes its command (a timeout) must not show them. */
  secrets?: readonly string[];
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
    serviceCommand: config.engines.serviceCommand,
    probeTimeoutMs: config.engines.probeTimeoutSeconds * 1000,
    ...(config.engines.heartbeatTable ? { heartbeatTable: config.engines.heartbeatTable } : {}),
    trustNodeClientTags: config.target === 'inventory',
    secrets: config.secrets,
  };
}

export class EngineProbes {
  private readonly mysql: MysqlProber;
  private readonly rings = new RingParses();
  private readonly redactor: Redactor;

  constructor(
    private readonly shell: Shell,
    private readonly options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {
    this.mysql = new MysqlProber(shell);
    this.redactor = createRedactor(options.secrets);
  }

  /** The commands for this node: its own (trusted inventory tags) or the configured ones. */
  clientsFor(node: Instance): HostClients {
    const { mysqlClient, nodetool, serviceCommand = DEFAULT_SERVICE_COMMAND } = this.options;
    return resolveClients(node, { mysqlClient, nodetool, serviceCommand }, this.options.trustNodeClientTags === true);
  }

  mysqlClientFor(node: Instance): string {
    return this.clientsFor(node).mysqlClient;
  }

  nodetoolFor(node: Instance): string {
    return this.clientsFor(node).nodetool;
  }

  async probe(node: Instance, engine: EngineKind, signal?: AbortSignal): Promise<EngineFacts> {
    try {
      return await this.probeEngine(node, engine, signal);
    } catch (err) {
      // An ssh timeout quotes the command it cut, and the command may carry a password (nodetool -pw).
      if (err instanceof Error) err.message = this.redactor.text(err.message);
      throw err;
    }
  }

  private async probeEngine(node: Instance, engine: EngineKind, signal?: AbortSignal): Promise<EngineFacts> {
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
