// Bad input at the edges of the config: each one ConfigError or UsageError
// (exit 2) naming the file, the line and the key where there is one.

import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, seedFlag } from '../../src/config/load.js';
import { MAX_SIM_NODES } from '../../src/config/schema.js';
import { stateDirProblem } from '../../src/config/state-dir.js';
import { ConfigError, UsageError } from '../../src/errors.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'ns-config-edges-'));
}

function write(d: string, name: string, text: string): string {
  const p = join(d, name);
  writeFileSync(p, text);
  return p;
}

const env = (d: string) => ({ XDG_CONFIG_HOME: join(d, 'xdg-config'), XDG_STATE_HOME: join(d, 'xdg-state') });

function caught(fn: () => unknown): Error & { exitCode?: number } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}

const BILLION_LAUGHS = `refreshSeconds: 5
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
`;

describe('config edges', () => {
  it('a --config that is a directory: its path, that it is a directory, and the file to name instead', () => {
    const d = dir();
    const err = caught(() => loadConfig({ config: d }, { env: env(d), cwd: d }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`config file ${d} (from --config) is a directory, not a file; name the file in it, e.g. --config ${join(d, 'nightshift.yaml')}`);
    const viaEnv = caught(() => loadConfig({}, { env: { ...env(d), NIGHTSHIFT_CONFIG: d }, cwd: d }));
    expect(viaEnv.message).toContain(`(from $NIGHTSHIFT_CONFIG) is a directory, not a file; name the file in it, e.g. NIGHTSHIFT_CONFIG=${join(d, 'nightshift.yaml')}`);
    // Found by its usual name: said, not skipped for the next candidate.
    mkdirSync(join(d, 'nightshift.yaml'));
    const local = caught(() => loadConfig({}, { env: env(d), cwd: d }));
    expect(local).toBeInstanceOf(UsageError);
    expect(local.message).toBe(`${join(d, 'nightshift.yaml')} is a directory, not a config file; move it aside, or name the config with --config FILE`);
  });

  it('a YAML alias bomb: the file, the line and the key where the expansion blows up', () => {
    const d = dir();
    const f = write(d, 'bomb.yaml', BILLION_LAUGHS);
    const err = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.file).toBe(f);
    // The first alias that alone expands past the library's limit: the first *c, line 5.
    expect(ce.key).toBe('d.0');
    expect(ce.line).toBe(5);
    expect(ce.message).toBe(
      `${f}:5: d.0: too many aliases to expand (anchors within anchors, as in a "billion laughs" file); write the values out, or use fewer *aliases`,
    );
    // A few aliases are fine.
    const fine = write(d, 'fine.yaml', 'clusters:\n  a: &o { keepSnapshots: 2 }\n  b: *o\n');
    expect(loadConfig({ config: fine }, { env: env(d), cwd: d }).clusters.b!.keepSnapshots).toBe(2);
  });

  it('sim.scenario: nope in the file: file:line, the key and the scenarios there are', () => {
    const d = dir();
    const f = write(d, 'c.yaml', 'refreshSeconds: 5\nsim:\n  seed: 3\n  scenario: nope\n');
    const err = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(new RegExp(`^${f}:4: sim\\.scenario: unknown scenario "nope"; one of: healthy, master-down, .*stale-asg \\(nightshift sim scenarios describes each\\)$`));
    const flag = caught(() => loadConfig({ scenario: 'nope' }, { env: env(d), cwd: d }));
    expect(flag).toBeInstanceOf(UsageError);
    expect(flag.message).toMatch(/^--scenario nope: unknown scenario "nope"; one of: healthy, /);
  });

  it('--nodes and sim.nodes above the limit, or not whole: the value and the range', () => {
    const d = dir();
    expect(loadConfig({ nodes: String(MAX_SIM_NODES) }, { env: env(d), cwd: d }).sim.nodes).toBe(MAX_SIM_NODES);
    const big = caught(() => loadConfig({ nodes: '10000000' }, { env: env(d), cwd: d }));
    expect(big).toBeInstanceOf(UsageError);
    expect(big.message).toBe(
      `--nodes takes a whole number from 1 to ${MAX_SIM_NODES} (the largest simulated fleet nightshift generates; see the README), not "10000000"`,
    );
    expect(caught(() => loadConfig({ nodes: '0' }, { env: env(d), cwd: d })).message).toMatch(/^--nodes takes a whole number from 1 to /);
    const f = write(d, 'n.yaml', 'sim:\n  nodes: 10000000\n');
    const file = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(file).toBeInstanceOf(ConfigError);
    expect(file.message).toBe(`${f}:2: sim.nodes: 10000000 is not a whole number from 1 to ${MAX_SIM_NODES} (the largest simulated fleet nightshift generates; see the README)`);
  });

  it('--seed and sim.seed beyond 2^53, or not whole: the value and the range', () => {
    const d = dir();
    const range = 'from -9007199254740991 to 9007199254740991';
    expect(loadConfig({ seed: '9007199254740991' }, { env: env(d), cwd: d }).sim.seed).toBe(9007199254740991);
    expect(loadConfig({ seed: '-12' }, { env: env(d), cwd: d }).sim.seed).toBe(-12);
    for (const bad of ['9007199254740993', '9007199254740992', '1e3', '1.5', 'abc', '']) {
      const err = caught(() => loadConfig({ seed: bad }, { env: env(d), cwd: d }));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe(`--seed takes a whole number ${range}, not "${bad}"`);
    }
    expect(() => seedFlag('--seed', '18446744073709551616')).toThrow(`--seed takes a whole number ${range}, not "18446744073709551616"`);
    const f = write(d, 's.yaml', 'sim:\n  scenario: healthy\n  seed: 18446744073709551616\n');
    const file = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(file).toBeInstanceOf(ConfigError);
    expect(file.message).toBe(`${f}:3: sim.seed: 18446744073709552000 is not a whole number ${range}`);
  });

  it('lagWarnSeconds above lagCritSeconds: file, line and both keys', () => {
    const d = dir();
    const f = write(d, 't.yaml', 'thresholds:\n  lagWarnSeconds: 600\n  cpuWarnPercent: 90\n  lagCritSeconds: 120\n');
    const err = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `${f}:2: thresholds.lagWarnSeconds: 600 is above lagCritSeconds (120): a lag would turn critical without a warning first; make lagWarnSeconds the smaller (thresholds.lagCritSeconds is on line 4)`,
    );
    // Against the default of the other.
    const g = write(d, 'u.yaml', 'thresholds:\n  lagWarnSeconds: 301\n');
    expect(caught(() => loadConfig({ config: g }, { env: env(d), cwd: d })).message).toBe(
      `${g}:2: thresholds.lagWarnSeconds: 301 is above lagCritSeconds (300): a lag would turn critical without a warning first; make lagWarnSeconds the smaller (thresholds.lagCritSeconds is its default)`,
    );
    const equal = write(d, 'v.yaml', 'thresholds:\n  lagWarnSeconds: 300\n');
    expect(loadConfig({ config: equal }, { env: env(d), cwd: d }).thresholds.lagWarnSeconds).toBe(300);
  });
});

describe('the state dir', () => {
  it('is made 0700 and tried when the CLI asks, and left alone otherwise', () => {
    const d = dir();
    const state = join(d, 'a', 'b', 'state');
    loadConfig({ stateDir: state }, { env: env(d), cwd: d });
    expect(() => statSync(state)).toThrow(/ENOENT/);
    const old = process.umask(0);
    try {
      loadConfig({ stateDir: state }, { env: env(d), cwd: d, prepareStateDir: true });
    } finally {
      process.umask(old);
    }
    for (const p of [join(d, 'a'), join(d, 'a', 'b'), state]) expect(statSync(p).mode & 0o777).toBe(0o700);
  });

  it('in /proc, under a file, or in a directory without write access: why, at once', () => {
    expect(stateDirProblem('/proc/x')).toBe('cannot create /proc/x: /proc takes no new files or directories (ENOENT; a special file system such as /proc?)');
    expect(stateDirProblem('/proc/x/y/z')).toMatch(/^cannot create \/proc\/x: \/proc takes no new files/);
    const d = dir();
    const file = write(d, 'plain', 'x');
    expect(stateDirProblem(join(file, 'state'))).toBe(`${file} is a file, not a directory`);
    expect(stateDirProblem(file)).toBe('it is a file, not a directory');
    expect(stateDirProblem(d)).toBeUndefined();
  });

  it('names the flag, or the config key with its line, and the next thing to type', () => {
    const d = dir();
    const flag = caught(() => loadConfig({ stateDir: '/proc/x' }, { env: env(d), cwd: d, prepareStateDir: true }));
    expect(flag).toBeInstanceOf(UsageError);
    expect(flag.message).toBe(
      'cannot use --state-dir /proc/x: cannot create /proc/x: /proc takes no new files or directories (ENOENT; a special file system such as /proc?); name a directory you can write with --state-dir DIR',
    );
    const f = write(d, 'c.yaml', 'refreshSeconds: 5\nstateDir: /proc/x/state\n');
    const key = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d, prepareStateDir: true }));
    expect(key).toBeInstanceOf(ConfigError);
    expect(key.message).toMatch(new RegExp(`^${f}:2: stateDir: cannot use /proc/x/state: cannot create /proc/x: .*; change it, or name a directory you can write with --state-dir DIR$`));
    const fromEnv = caught(() => loadConfig({}, { env: { XDG_STATE_HOME: '/proc/x' }, cwd: d, prepareStateDir: true }));
    expect(fromEnv.message).toMatch(/^cannot use the state directory \/proc\/x\/nightshift \(from \$XDG_STATE_HOME, else ~\/\.local\/state\): cannot create \/proc\/x: /);
  });
});
