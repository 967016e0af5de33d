// The static inventory file (`--inventory FILE`): hosts with ssh endpoints,
// engine and cluster, for fleets without a cloud API and for the lab. A bad
// file is one ConfigError naming the file, the line and the key.
//
//   ssh:                     # optional, for every host; paths relative to this file
//     configFile: ssh_config
//     knownHosts: known_hosts
//     user: ops
//     jump: bastion.example.com
//   defaults:                # optional: any host field, for every host
//     engine: mysql
//     cluster: orders
//   hosts:
//     - name: db-a1
//       host: 10.0.1.11      # ssh endpoint (an alias from the ssh config works)
//       port: 22
//       user: ec2-user
//       privateIp: 10.0.1.11 # what replicas report as their source; default: host
//       az: eu-west-1a
//       role: master         # a hint; the server's own answer is the truth
//       tags: { team: payments }
//       mysqlClient: sudo mysql
//       nodetool: /opt/cassandra/bin/nodetool
//       service: sudo systemctl   # default: engines.serviceCommand from the config
//       fence: sudo systemctl stop mariadb   # failover runs it here when this master is dead but reachable
//       datadir: /var/lib/mysql   # absolute; the rebuild's target datadir on this host
//     - name: db-spare
//       host: 10.0.1.19
//       spare: true          # listed, but not a member of its cluster: a rebuild target

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { lineOf, parseYamlSource } from '../../config/yaml-source.js';
import * as z from 'zod';
import { commandPrefix, oneLineCommand } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

export const inventoryHostSchema = z
  .object({
    name,
    cluster: name,
    engine: z.enum(['mysql', 'cassandra', 'generic']),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    privateIp: z.string().min(1).optional(),
    az: z.string().min(1).optional(),
    role: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    tags: z.record(z.string(), z.string()).default({}),
    /** How the MySQL client is run on this host (`sudo mysql`, `mysql --defaults-file=...`). */
    mysqlClient: z.string().min(1).optional(),
    /** How nodetool is run on this host. */
    nodetool: z.string().min(1).optional(),
    /** The service manager on this host (`sudo systemctl`, `systemctl --user`): nightshift appends start|stop|is-active UNIT. */
    service: commandPrefix.optional(),
    /** What fences this host when it is a dead master (a whole command, run as it is); default: clusters.C.fence.command. */
    fence: oneLineCommand.optional(),
    /** Not a member of its cluster (yet): a host kept ready for a rebuild (tag nightshift:spare). */
    spare: z.boolean({ error: 'true or false' }).optional(),
    /** Where this host's MySQL datadir is, when not the server's own answer (tag nightshift:datadir). */
    datadir: z
      .string()
      .min(1)
      .refine((p) => isAbsolute(p) && !p.includes('\n'), 'an absolute path, e.g. /var/lib/mysql')
      .optional(),
  })
  .strict();

export type InventoryHost = z.output<typeof inventoryHostSchema>;

export const inventorySshSchema = z
  .object({
    configFile: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    jump: z.string().min(1).optional(),
  })
  .strict();

export type InventorySsh = z.output<typeof inventorySshSchema>;

const fileSchema = z
  .object({
    ssh: inventorySshSchema.optional(),
    defaults: inventoryHostSchema.omit({ name: true }).partial().strict().optional(),
    hosts: z.array(z.record(z.string(), z.unknown())).min(1, 'list at least one host'),
  })
  .strict();

export interface InventoryFile {
  file: string;
  ssh: InventorySsh;
  hosts: InventoryHost[];
}

function hasPath(data: unknown, path: Array<string | number>): boolean {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !(String(seg) in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[String(seg)];
  }
  return true;
}

function keyText(path: Array<string | number>): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function issuePath(issue: z.core.$ZodIssue): Array<string | number> {
  const path = issue.path.map((s) => (typeof s === 'number' ? s : String(s)));
  if (issue.code === 'unrecognized_keys' && issue.keys[0]) path.push(issue.keys[0]);
  return path;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown key (check the spelling; see the README for the inventory format)';
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return 'required';
  return issue.message;
}

/** Reads and validates an inventory; throws ConfigError (file:line: key: problem). */
export function loadInventoryFile(file: string): InventoryFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, undefined, undefined, `cannot read the inventory: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseInventory(file, text);
}

export function parseInventory(file: string, text: string): InventoryFile {
  const p = parseYamlSource(file, text, 'an inventory is a mapping with a `hosts:` list (see the README)');
  const top = fileSchema.safeParse(p.data);
  if (!top.success) {
    const issue = top.error.issues[0]!;
    const path = issuePath(issue);
    throw new ConfigError(file, lineOf(p, path), keyText(path) || undefined, describe(issue));
  }
  const defaults = top.data.defaults ?? {};
  const hosts: InventoryHost[] = [];
  const seen = new Map<string, number>();
  const engines = new Map<string, { engine: string; index: number }>();
  top.data.hosts.forEach((raw, index) => {
    const merged = { ...defaults, ...raw, tags: { ...(defaults.tags ?? {}), ...((raw.tags as object | undefined) ?? {}) } };
    const result = inventoryHostSchema.safeParse(merged);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const sub = issuePath(issue);
      // Point at the host's own key, else at the default it inherited, else at the host entry.
      const inHost = ['hosts', index, ...sub];
      const inDefaults = ['defaults', ...sub];
      const path = hasPath(p.data, inHost) ? inHost : hasPath(p.data, inDefaults) ? inDefaults : inHost;
      throw new ConfigError(file, lineOf(p, path), keyText(path), describe(issue));
    }
    const host = result.data;
    const first = seen.get(host.name);
    if (first !== undefined) {
      throw new ConfigError(
        file,
        lineOf(p, ['hosts', index, 'name']),
        keyText(['hosts', index, 'name']),
        `"${host.name}" is already the name of hosts[${first}]; names must be unique`,
      );
    }
    seen.set(host.name, index);
    const known = engines.get(host.cluster);
    if (known && known.engine !== host.engine) {
      const path = hasPath(p.data, ['hosts', index, 'engine']) ? ['hosts', index, 'engine'] : ['hosts', index];
      throw new ConfigError(
        file,
        lineOf(p, path),
        keyText(['hosts', index, 'engine']),
        `cluster ${host.cluster} is ${known.engine} (hosts[${known.index}]), this host says ${host.engine}`,
      );
    }
    if (!known) engines.set(host.cluster, { engine: host.engine, index });
    hosts.push(host);
  });
  return { file, ssh: resolveSshPaths(file, top.data.ssh ?? {}), hosts };
}

function resolveSshPaths(file: string, ssh: InventorySsh): InventorySsh {
  const base = dirname(resolve(file));
  const abs = (p: string | undefined) => (p === undefined ? undefined : p.startsWith('~') || isAbsolute(p) ? p : resolve(base, p));
  const out: InventorySsh = { ...ssh };
  const configFile = abs(ssh.configFile);
  const knownHosts = abs(ssh.knownHosts);
  if (configFile) out.configFile = configFile;
  if (knownHosts) out.knownHosts = knownHosts;
  return out;
}

/** Only the `ssh:` block, for building the shell before the backends open. */
export function readInventorySsh(file: string): InventorySsh {
  return loadInventoryFile(file).ssh;
}
