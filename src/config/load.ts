// Config file + flags -> validated Config. A bad file gets one error naming
// the file, the line and the key; a bad flag names the flag and the value.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type * as z from 'zod';
import { MAX_SIM_REGIONS, simRegions, SIM_REGIONS } from '../backends/sim/regions.js';
import { SCENARIOS, simRegionCount } from '../backends/sim/scenario-list.js';
import { ConfigError, UsageError } from '../errors.js';
import { prepareReplicationCredentials } from './credentials.js';
import { configSchema, MAX_SIM_NODES, SEED_RANGE, type Config } from './schema.js';
import { stateDirProblem } from './state-dir.js';
import { lineOf, parseYamlSource, type YamlSource } from './yaml-source.js';

/** The global flags that bear on configuration, as commander hands them over. */
export interface GlobalFlags {
  config?: string;
  sim?: boolean;
  scenario?: string;
  seed?: string;
  speed?: string;
  nodes?: string;
  regions?: string;
  /** Repeated for several accounts in one view (commander collects them); one string is one profile. */
  profile?: string | string[];
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
  /**
   * Make the state dir (0700 when new) and try writing in it, so a place
   * nightshift cannot write stops the start with exit 2: the CLI asks for it;
   * a test of the config alone leaves the disk as it is.
   */
  prepareStateDir?: boolean;
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
    const via = flags.config ? '--config' : '$NIGHTSHIFT_CONFIG';
    if (!existsSync(path)) {
      throw new UsageError(`config file ${path} (from ${via}) does not exist`);
    }
    if (isDirectory(path)) {
      const example = join(path, 'nightshift.yaml');
      throw new UsageError(
        `config file ${path} (from ${via}) is a directory, not a file; name the file in it, e.g. ${via === '--config' ? `--config ${example}` : `NIGHTSHIFT_CONFIG=${example}`}`,
      );
    }
    return path;
  }
  const local = resolve(cwd, 'nightshift.yaml');
  if (existsSync(local)) return notADirectory(local);
  if (flags.inventory !== undefined) {
    const beside = join(dirname(resolve(cwd, flags.inventory)), 'nightshift.yaml');
    if (existsSync(beside)) return notADirectory(beside);
  }
  const xdg = join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nightshift', 'config.yaml');
  if (existsSync(xdg)) return notADirectory(xdg);
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A file found by its usual name that is a directory is a mistake to say, not a config to skip. */
function notADirectory(path: string): string {
  if (isDirectory(path)) {
    throw new UsageError(`${path} is a directory, not a config file; move it aside, or name the config with --config FILE`);
  }
  return path;
}

export function loadConfig(flags: GlobalFlags, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = findConfigFile(flags, opts);
  const source = file
    ? parseYamlSource(file, readConfigFile(file), 'the file must be a mapping of keys (for example `refreshSeconds: 5`)')
    : undefined;
  const parsed = validate(source);
  checkScenario(parsed.sim.scenario, source);
  const config = applyFlags(parsed, flags, env, file);
  checkSimRegions(config, flags, source);
  if (opts.prepareStateDir) checkStateDir(config.stateDir, flags, source);
  prepareReplicationCredentials(config.clusters, source, env);
  return config;
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
}

/** The scenario of the file, checked with its line; a flag's is checked in applyFlags. */
function checkScenario(scenario: string, source: YamlSource | undefined): void {
  if (isScenarioName(scenario) || !source) return;
  throw new ConfigError(source.file, lineOf(source, ['sim', 'scenario']), 'sim.scenario', unknownScenario(scenario));
}

/**
 * The simulated regions in view must be regions the simulated fleet models:
 * `--region` names the flag, `sim.region` its line. The scenario may need
 * more regions than one (regions-split), and `--regions` may not give it fewer.
 */
function checkSimRegions(config: Config, flags: GlobalFlags, source: YamlSource | undefined): void {
  if (config.target !== 'sim') return;
  const fromFile = flags.regions === undefined && source !== undefined && typeof source.data.sim === 'object' && source.data.sim !== null && 'regions' in source.data.sim;
  const needs = SCENARIOS.find((s) => s.name === config.sim.scenario)?.regions ?? 1;
  if (config.sim.regions !== undefined && config.sim.regions < needs) {
    const problem = `the scenario ${config.sim.scenario} needs ${needs} regions, not ${config.sim.regions}`;
    if (fromFile) throw new ConfigError(source!.file, lineOf(source!, ['sim', 'regions']), 'sim.regions', `${problem}; make it ${needs} or more`);
    throw new UsageError(`--regions ${config.sim.regions}: ${problem}; give --regions ${needs} or leave it out`);
  }
  const view = config.sim.region ?? [];
  const modelled = simRegions(simRegionCount(config.sim.scenario, config.sim.regions));
  const unknown = view.find((r) => !modelled.includes(r));
  if (unknown === undefined) return;
  const problem =
    modelled.length > 0
      ? `the simulated fleet has no region ${unknown}; its regions: ${modelled.join(', ')}`
      : `the simulated fleet models one region, which has no name; model several with --regions 2 to ${MAX_SIM_REGIONS} (${SIM_REGIONS.join(', ')})`;
  if (flags.region && flags.region.length > 0) throw new UsageError(`--region ${unknown}: ${problem}`);
  throw new ConfigError(source?.file ?? '(defaults)', source ? lineOf(source, ['sim', 'region']) : undefined, 'sim.region', problem);
}

function isScenarioName(name: string): boolean {
  return SCENARIOS.some((s) => s.name === name);
}

function unknownScenario(name: string): string {
  return `unknown scenario "${name}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')} (nightshift sim scenarios describes each)`;
}

function checkStateDir(dir: string, flags: GlobalFlags, source: YamlSource | undefined): void {
  const problem = stateDirProblem(dir);
  if (!problem) return;
  const next = 'name a directory you can write with --state-dir DIR';
  if (flags.stateDir !== undefined) throw new UsageError(`cannot use --state-dir ${flags.stateDir}: ${problem}; ${next}`);
  if (source && typeof source.data.stateDir === 'string') {
    throw new ConfigError(source.file, lineOf(source, ['stateDir']), 'stateDir', `cannot use ${dir}: ${problem}; change it, or ${next}`);
  }
  throw new UsageError(`cannot use the state directory ${dir} (from $XDG_STATE_HOME, else ~/.local/state): ${problem}; ${next}`);
}

function validate(source: YamlSource | undefined): z.output<typeof configSchema> {
  const result = configSchema.safeParse(source?.data ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  const key = path.join('.') || undefined;
  const line = source ? lineOf(source, path) : undefined;
  throw new ConfigError(source?.file ?? '(defaults)', line, key, describeIssue(issue) + otherKeyLine(issue, path, source));
}

/** Where the other key of a pair (lagCritSeconds beside lagWarnSeconds) is, for a problem that needs both. */
function otherKeyLine(issue: z.core.$ZodIssue, path: string[], source: YamlSource | undefined): string {
  const other = issue.code === 'custom' ? (issue.params as { otherKey?: unknown } | undefined)?.otherKey : undefined;
  if (typeof other !== 'string') return '';
  const otherPath = [...path.slice(0, -1), other];
  let at: unknown = source?.data;
  for (const p of otherPath) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[p] : undefined;
  return at === undefined || !source ? ` (${otherPath.join('.')} is its default)` : ` (${otherPath.join('.')} is on line ${lineOf(source, otherPath)})`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown key (check the spelling; see the README for every key)';
  return issue.message;
}

function applyFlags(base: z.output<typeof configSchema>, flags: GlobalFlags, env: NodeJS.ProcessEnv, file?: string): Config {
  const config = structuredClone(base) as Config;
  if (file) config.source = file;
  if (flags.scenario !== undefined) {
    if (!isScenarioName(flags.scenario)) throw new UsageError(`--scenario ${flags.scenario}: ${unknownScenario(flags.scenario)}`);
    config.sim.scenario = flags.scenario;
  }
  if (flags.seed !== undefined) config.sim.seed = seedFlag('--seed', flags.seed);
  if (flags.speed !== undefined) config.sim.speed = positiveFlag('--speed', flags.speed);
  if (flags.nodes !== undefined) {
    config.sim.nodes = intFlag('--nodes', flags.nodes, 1, MAX_SIM_NODES, ' (the largest simulated fleet nightshift generates; see the README)');
  }
  if (flags.regions !== undefined) config.sim.regions = intFlag('--regions', flags.regions, 1, MAX_SIM_REGIONS, ` (the simulated regions: ${SIM_REGIONS.join(', ')})`);
  if (flags.refresh !== undefined) config.refreshSeconds = positiveFlag('--refresh', flags.refresh);
  if (flags.readOnly) config.readOnly = true;
  if (flags.profile !== undefined) {
    // The flag wins over the config's profile(s): one is `aws.profile` as before, several are `aws.profiles`.
    const profiles = [...new Set([flags.profile].flat())];
    if (profiles.length === 1) {
      config.aws.profile = profiles[0];
      config.aws.profiles = [];
    } else {
      delete config.aws.profile;
      config.aws.profiles = profiles;
    }
  }
  if (flags.inventory !== undefined) config.inventory = flags.inventory;

  // --region is the regions in view: the simulated fleet's when a flag or the config chose it, else AWS's.
  const simByFlag = flags.sim || flags.scenario !== undefined || flags.nodes !== undefined || flags.regions !== undefined;
  const simByConfig = base.target === 'sim' || (base.target === undefined && base.sim.regions !== undefined);
  const regions = (flags.region ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  const regionOfSim = regions.length > 0 && (simByFlag || (simByConfig && flags.profile === undefined && flags.inventory === undefined));
  if (regionOfSim) config.sim.region = regions;
  else if (regions.length > 0) config.aws.regions = regions;
  const wantsSim = simByFlag || regionOfSim;
  const wantsAws = flags.profile !== undefined || (regions.length > 0 && !regionOfSim);
  if ([wantsSim, wantsAws, flags.inventory !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('choose one target: --sim (or --scenario/--nodes/--regions, with --region for its regions), --profile/--region, or --inventory');
  }
  if (wantsSim) config.target = 'sim';
  else if (flags.inventory !== undefined) config.target = 'inventory';
  else if (wantsAws) config.target = 'aws';
  else if (!config.target) {
    config.target = config.inventory ? 'inventory' : config.aws.regions.length > 0 || config.aws.profile || config.aws.profiles.length > 0 ? 'aws' : 'sim';
  }
  if (config.target === 'aws' && config.aws.regions.length === 0) {
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('an AWS target needs a region: --region, aws.regions in the config, or $AWS_REGION');
    config.aws.regions = [region];
  }
  if (config.target === 'aws' && !config.aws.profile && config.aws.profiles.length === 0 && env.AWS_PROFILE) config.aws.profile = env.AWS_PROFILE;
  if (config.target === 'inventory' && !config.inventory) {
    throw new UsageError('target inventory needs a file: --inventory FILE or `inventory:` in the config');
  }
  config.stateDir = resolve(flags.stateDir ?? config.stateDir ?? defaultStateDir(env));
  return config;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'nightshift');
}

function intFlag(flag: string, value: string, min: number, max: number, why = ''): number {
  const n = Number(value);
  // Checked on the text too: past 2^53 Number() rounds, and the value used would not be the one typed.
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}${why}, not "${value}"`);
  }
  return n;
}

/** A seed as `--seed` (or `sim reset --seed`) gives it. */
export function seedFlag(flag: string, value: string): number {
  return intFlag(flag, value, SEED_RANGE.min, SEED_RANGE.max);
}

function positiveFlag(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} takes a positive number, not "${value}"`);
  }
  return n;
}
