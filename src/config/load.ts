// Config file + flags -> validated Config. A bad file gets one error naming
// the file, the line and the key; a bad flag names the flag and the value.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type * as z from 'zod';
import { ConfigError, UsageError } from '../errors.js';
import { prepareReplicationCredentials } from './credentials.js';
import { configSchema, type Config } from './schema.js';
import { lineOf, parseYamlSource, type YamlSource } from './yaml-source.js';

/** The global flags that bear on configuration, as commander hands them over. */
export interface GlobalFlags {
  config?: string;
  sim?: boolean;
  scenario?: string;
  seed?: string;
  speed?: string;
  nodes?: string;
  profile?: string;
  region?: string[];
  inventory?: string;
  refresh?: string;
  readOnly?: boolean;
  stateDir?: string;
  /** false with `--no-color` (commander's negated flag); the console reads it, the config does not. */
  color?: boolean;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Which file to read: the first that applies; explicit ones must exist. A
 * `nightshift.yaml` beside the `--inventory` file comes after ./nightshift.yaml
 * and before the user's own: what a fleet needs (replication credentials,
 * fences) travels with its inventory, as the lab's does.
 */
export function findConfigFile(flags: GlobalFlags, opts: LoadOptions = {}): string | undefined {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = flags.config ?? env.NIGHTSHIFT_CONFIG;
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      const via = flags.config ? '--config' : '$NIGHTSHIFT_CONFIG';
      throw new UsageError(`config file ${path} (from ${via}) does not exist`);
    }
    return path;
  }
  const local = resolve(cwd, 'nightshift.yaml');
  if (existsSync(local)) return local;
  if (flags.inventory !== undefined) {
    const beside = join(dirname(resolve(cwd, flags.inventory)), 'nightshift.yaml');
    if (existsSync(beside)) return beside;
  }
  const xdg = join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nightshift', 'config.yaml');
  if (existsSync(xdg)) return xdg;
  return undefined;
}

export function loadConfig(flags: GlobalFlags, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = findConfigFile(flags, opts);
  const source = file
    ? parseYamlSource(file, readFileSync(file, 'utf8'), 'the file must be a mapping of keys (for example `refreshSeconds: 5`)')
    : undefined;
  const parsed = validate(source);
  const config = applyFlags(parsed, flags, env, file);
  prepareReplicationCredentials(config.clusters, source, env);
  return config;
}

function validate(source: YamlSource | undefined): z.output<typeof configSchema> {
  const result = configSchema.safeParse(source?.data ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  const key = path.join('.') || undefined;
  const line = source ? lineOf(source, path) : undefined;
  throw new ConfigError(source?.file ?? '(defaults)', line, key, describeIssue(issue));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown key (check the spelling; see the README for every key)';
  return issue.message;
}

function applyFlags(base: z.output<typeof configSchema>, flags: GlobalFlags, env: NodeJS.ProcessEnv, file?: string): Config {
  const config = structuredClone(base) as Config;
  if (file) config.source = file;
  if (flags.scenario !== undefined) config.sim.scenario = flags.scenario;
  if (flags.seed !== undefined) config.sim.seed = intFlag('--seed', flags.seed);
  if (flags.speed !== undefined) config.sim.speed = positiveFlag('--speed', flags.speed);
  if (flags.nodes !== undefined) config.sim.nodes = intFlag('--nodes', flags.nodes, 1);
  if (flags.refresh !== undefined) config.refreshSeconds = positiveFlag('--refresh', flags.refresh);
  if (flags.readOnly) config.readOnly = true;
  if (flags.profile !== undefined) config.aws.profile = flags.profile;
  if (flags.region && flags.region.length > 0) {
    config.aws.regions = flags.region.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  }
  if (flags.inventory !== undefined) config.inventory = flags.inventory;

  const wantsSim = flags.sim || flags.scenario !== undefined || flags.nodes !== undefined;
  const wantsAws = flags.profile !== undefined || (flags.region?.length ?? 0) > 0;
  if ([wantsSim, wantsAws, flags.inventory !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('choose one target: --sim (or --scenario/--nodes), --profile/--region, or --inventory');
  }
  if (wantsSim) config.target = 'sim';
  else if (flags.inventory !== undefined) config.target = 'inventory';
  else if (wantsAws) config.target = 'aws';
  else if (!config.target) {
    config.target = config.inventory ? 'inventory' : config.aws.regions.length > 0 || config.aws.profile ? 'aws' : 'sim';
  }
  if (config.target === 'aws' && config.aws.regions.length === 0) {
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('an AWS target needs a region: --region, aws.regions in the config, or $AWS_REGION');
    config.aws.regions = [region];
  }
  if (config.target === 'aws' && !config.aws.profile && env.AWS_PROFILE) config.aws.profile = env.AWS_PROFILE;
  if (config.target === 'inventory' && !config.inventory) {
    throw new UsageError('target inventory needs a file: --inventory FILE or `inventory:` in the config');
  }
  config.stateDir = resolve(flags.stateDir ?? config.stateDir ?? defaultStateDir(env));
  return config;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'nightshift');
}

function intFlag(flag: string, value: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`${flag} takes a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${value}"`);
  }
  return Number(value);
}

function positiveFlag(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} takes a positive number, not "${value}"`);
  }
  return n;
}
