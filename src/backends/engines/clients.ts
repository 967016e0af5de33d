// How the engine tools run on one host: nodetool, the MySQL client, and the
// service manager. Probes and runbooks both ask here, so a host whose
// inventory entry says `nodetool: /opt/cassandra/bin/nodetool` gets it from a
// repair as from the poller.

import type { Config } from '../../config/schema.js';
import type { Instance, Target } from '../../domain/types.js';
import { shellQuote } from './shell-quote.js';

/** Tag naming how the MySQL client runs on one host (set from the static inventory's `mysqlClient`). */
export const MYSQL_CLIENT_TAG = 'nightshift:mysql-client';
/** Tag naming how nodetool runs on one host (the inventory's `nodetool`). */
export const NODETOOL_TAG = 'nightshift:nodetool';
/** Tag naming the service manager command on one host (the inventory's `service`). */
export const SERVICE_TAG = 'nightshift:service';

export type EngineCommands = Pick<Config['engines'], 'nodetool' | 'mysqlClient' | 'serviceCommand'>;

export interface ServiceCommands {
  start(unit: string): string;
  stop(unit: string): string;
  /** Exit code 0 when the unit runs (`systemctl is-active`). */
  isActive(unit: string): string;
}

export interface HostClients {
  nodetool: string;
  mysqlClient: string;
  service: ServiceCommands;
}

export interface ClientSources {
  /** `config.engines` (a runbook: `ctx.config.engines`). */
  engines: EngineCommands;
  /** Where the node came from (a runbook: `ctx.backends.target`). */
  target: Pick<Target, 'kind'> | Target['kind'];
}

/**
 * The commands for this node: its own, from its inventory entry, or the
 * configured ones. Only a static inventory is trusted to name a command: its
 * tags come from the engineer's own file. On AWS a tag is anyone's with
 * ec2:CreateTags, and a tag that chose the command nightshift runs as the
 * operator (often with sudo) would hand them a shell on every node.
 */
export function clientsFor(node: Instance, { engines, target }: ClientSources): HostClients {
  const kind = typeof target === 'string' ? target : target.kind;
  return resolveClients(node, engines, kind === 'inventory');
}

/** clientsFor from a runbook's context: `clientsOf(ctx, node).nodetool`. */
export function clientsOf(ctx: { config: { engines: EngineCommands }; backends: { target: Pick<Target, 'kind'> } }, node: Instance): HostClients {
  return clientsFor(node, { engines: ctx.config.engines, target: ctx.backends.target });
}

/** The one rule behind clientsFor and the probes (which learn trust from the config). */
export function resolveClients(node: Instance, engines: EngineCommands, isTrusted: boolean): HostClients {
  const own = (tag: string): string | undefined => (isTrusted ? node.tags[tag] || undefined : undefined);
  const manager = own(SERVICE_TAG) ?? engines.serviceCommand;
  const service = (verb: string) => (unit: string) => `${manager} ${verb} ${shellQuote(unit)}`;
  return {
    nodetool: own(NODETOOL_TAG) ?? engines.nodetool,
    mysqlClient: own(MYSQL_CLIENT_TAG) ?? engines.mysqlClient,
    service: { start: service('start'), stop: service('stop'), isActive: service('is-active') },
  };
}
