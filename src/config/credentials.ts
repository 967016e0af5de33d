// Replication credentials for switchover and failover: the user from the
// config, the password from a 0600 file or an environment variable, never
// from the config itself (configs get pasted into tickets). A password, once
// read, joins every redactor of the process, so no journal, plan, screen or
// error can show it, whatever a step prints.

import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MIN_SECRET, registerSecret } from '../domain/redact.js';
import { ConfigError } from '../errors.js';
import { clusterLabel, type ScopedName } from '../domain/scope.js';
import { clusterSettings } from './cluster-settings.js';
import type { Config } from './schema.js';
import { lineOf, type YamlSource } from './yaml-source.js';

export interface ReplicationCredentials {
  user: string;
  password: string;
}

type Replication = NonNullable<Config['clusters'][string]['replication']>;

/** Where a cluster's replication block was written, for errors raised long after loading. */
interface Origin {
  file: string;
  line?: number;
  /** The config key of the block: `clusters.orders.replication`, or `clusters.orders.regions.eu-west-1.replication`. */
  key?: string;
}

const origins = new WeakMap<object, Origin>();
const configFiles = new WeakMap<object, string>();

/** The block's config key (regional where the region's own block is the one read). */
const keyOf = (r: Replication | undefined, cluster: ScopedName, field?: string) =>
  `${(r && origins.get(r)?.key) ?? `clusters.${cluster.name}.replication`}${field ? `.${field}` : ''}`;

const scoped = (cluster: string | ScopedName): ScopedName => (typeof cluster === 'string' ? { name: cluster } : cluster);

/**
 * At load: password files become absolute (relative to the config file), are
 * checked (exists, mode 0600 or stricter, not empty) and their passwords
 * registered; a password already in the environment is registered too. A
 * missing variable is not an error yet: only a runbook that needs it fails.
 */
export function prepareReplicationCredentials(
  clusters: Config['clusters'],
  source: Pick<YamlSource, 'file' | 'doc' | 'lines'> | undefined,
  env: NodeJS.ProcessEnv,
): void {
  const file = source?.file;
  if (file) configFiles.set(clusters, file);
  // The cluster's own block and each region's: a region's passwords are as secret, and its files as relative to the config.
  const blocks = Object.entries(clusters).flatMap(([name, c]) => [
    { cluster: { name }, path: ['clusters', name], r: c.replication },
    ...Object.entries(c.regions ?? {}).map(([region, o]) => ({ cluster: { name, region }, path: ['clusters', name, 'regions', region], r: o.replication })),
  ]);
  for (const { cluster, path, r } of blocks) {
    if (!r) continue;
    const field = r.passwordFile !== undefined ? 'passwordFile' : 'passwordEnv';
    const line = source ? lineOf(source, [...path, 'replication', field]) : undefined;
    origins.set(r, { file: file ?? '(config)', ...(line !== undefined ? { line } : {}), key: `${path.join('.')}.replication` });
    if (r.passwordFile !== undefined) {
      r.passwordFile = absolutePath(r.passwordFile, file);
      registerSecret(readPasswordFile(cluster, r));
    } else if (r.passwordEnv !== undefined) {
      const value = env[r.passwordEnv];
      if (value !== undefined && value.length >= MIN_SECRET) registerSecret(value);
    }
  }
}

/**
 * The user and password replicas connect with in `cluster`. Throws a
 * ConfigError naming the key to set when there are none, the variable when it
 * is not set, the file when it is unsafe or unreadable.
 */
export function replicationCredentials(
  config: Pick<Config, 'clusters'>,
  which: string | ScopedName,
  env: NodeJS.ProcessEnv = process.env,
): ReplicationCredentials {
  const cluster = scoped(which);
  const r = clusterSettings(config, cluster)?.replication;
  if (!r) {
    const file = configFiles.get(config.clusters) ?? '(config)';
    throw new ConfigError(
      file,
      undefined,
      keyOf(undefined, cluster),
      `cluster ${clusterLabel(cluster)} has no replication credentials: add \`clusters.${cluster.name}.replication: { user: repl, passwordFile: repl.password }\` (a 0600 file) or \`passwordEnv: VAR\`${cluster.region ? ` (or under clusters.${cluster.name}.regions.${cluster.region} for that region alone)` : ''}`,
    );
  }
  let password: string;
  if (r.passwordFile !== undefined) {
    password = readPasswordFile(cluster, r);
  } else {
    const name = r.passwordEnv!;
    const value = env[name];
    if (value === undefined || value === '') {
      const o = originOf(r);
      throw new ConfigError(
        o.file,
        o.line,
        keyOf(r, cluster, 'passwordEnv'),
        `the environment variable ${name} is not set: the replication password for cluster ${clusterLabel(cluster)} is read from it (export ${name}=... before the run, or use passwordFile)`,
      );
    }
    password = checkLength(cluster, r, 'passwordEnv', value, `$${name}`);
  }
  registerSecret(password);
  return { user: r.user, password };
}

function originOf(r: Replication): Origin {
  return origins.get(r) ?? { file: '(config)' };
}

function absolutePath(path: string, configFile: string | undefined): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  if (isAbsolute(path)) return path;
  return resolve(configFile ? dirname(configFile) : process.cwd(), path);
}

function readPasswordFile(cluster: ScopedName, r: Replication): string {
  const o = originOf(r);
  const key = keyOf(r, cluster, 'passwordFile');
  const path = absolutePath(r.passwordFile!, o.file === '(config)' ? undefined : o.file);
  const fail = (problem: string) => new ConfigError(o.file, o.line, key, problem);
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw fail(`the password file ${path} is not a regular file`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(`cannot read the password file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw fail(
      `the password file ${path} is mode 0${mode.toString(8)}, so others can read it; it must be 0600 or stricter: chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fail(`cannot read the password file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // One line: the newline an editor or `echo` adds is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(password)) throw fail(`the password file ${path} holds more than one line; it must hold the password alone`);
  return checkLength(cluster, r, 'passwordFile', password, `the password file ${path}`);
}

function checkLength(cluster: ScopedName, r: Replication, field: string, password: string, where: string): string {
  if (password.length >= MIN_SECRET) return password;
  const o = originOf(r);
  throw new ConfigError(
    o.file,
    o.line,
    keyOf(r, cluster, field),
    password === ''
      ? `${where} is empty`
      : `${where} holds a password shorter than ${MIN_SECRET} characters, too short to be told apart from other text and redacted`,
  );
}
