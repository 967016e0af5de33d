import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'ns-config-'));
}

function write(d: string, name: string, text: string): string {
  const p = join(d, name);
  writeFileSync(p, text);
  return p;
}

const env = (d: string) => ({ XDG_CONFIG_HOME: join(d, 'xdg-config'), XDG_STATE_HOME: join(d, 'xdg-state') });

describe('loadConfig', () => {
  it('defaults to the simulated fleet with no file at all', () => {
    const d = dir();
    const c = loadConfig({}, { env: env(d), cwd: d });
    expect(c.target).toBe('sim');
    expect(c.refreshSeconds).toBe(5);
    expect(c.sim).toMatchObject({ scenario: 'healthy', seed: 1, speed: 1 });
    expect(c.stateDir).toBe(join(d, 'xdg-state', 'nightshift'));
  });

  it('reads ./nightshift.yaml, then $XDG_CONFIG_HOME, with --config and $NIGHTSHIFT_CONFIG first', () => {
    const d = dir();
    mkdirSync(join(d, 'xdg-config', 'nightshift'), { recursive: true });
    write(join(d, 'xdg-config', 'nightshift'), 'config.yaml', 'refreshSeconds: 7\n');
    expect(loadConfig({}, { env: env(d), cwd: d }).refreshSeconds).toBe(7);
    write(d, 'nightshift.yaml', 'refreshSeconds: 9\n');
    expect(loadConfig({}, { env: env(d), cwd: d }).refreshSeconds).toBe(9);
    const other = write(d, 'other.yaml', 'refreshSeconds: 11\n');
    expect(loadConfig({}, { env: { ...env(d), NIGHTSHIFT_CONFIG: other }, cwd: d }).refreshSeconds).toBe(11);
    const flag = write(d, 'flag.yaml', 'refreshSeconds: 13\n');
    expect(loadConfig({ config: flag }, { env: { ...env(d), NIGHTSHIFT_CONFIG: other }, cwd: d }).refreshSeconds).toBe(13);
  });

  it('names file, line and key for a value of the wrong type', () => {
    const d = dir();
    const f = write(d, 'bad.yaml', 'refreshSeconds: 5\nthresholds:\n  lagWarnSeconds: soon\n');
    let err: unknown;
    try {
      loadConfig({ config: f }, { env: env(d), cwd: d });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.exitCode).toBe(2);
    expect(ce.file).toBe(f);
    expect(ce.line).toBe(3);
    expect(ce.key).toBe('thresholds.lagWarnSeconds');
    expect(ce.message).toMatch(new RegExp(`^${f}:3: thresholds.lagWarnSeconds: `));
  });

  it('names an unknown key and its line', () => {
    const d = dir();
    const f = write(d, 'bad.yaml', 'refreshSeconds: 5\nssh:\n  concurency: 4\n');
    expect(() => loadConfig({ config: f }, { env: env(d), cwd: d })).toThrow(`${f}:3: ssh.concurency: unknown key`);
  });

  it('takes ssh.connectConcurrency, and names it when it is not a positive integer', () => {
    const d = dir();
    const ok = write(d, 'ok.yaml', 'ssh:\n  connectConcurrency: 4\n');
    expect(loadConfig({ config: ok }, { env: env(d), cwd: d }).ssh.connectConcurrency).toBe(4);
    expect(loadConfig({}, { env: env(d), cwd: d }).ssh.connectConcurrency).toBe(16);
    const bad = write(d, 'bad.yaml', 'ssh:\n  connectConcurrency: 0\n');
    expect(() => loadConfig({ config: bad }, { env: env(d), cwd: d })).toThrow(`${bad}:2: ssh.connectConcurrency: `);
  });

  it('names the line of broken YAML', () => {
    const d = dir();
    const f = write(d, 'bad.yaml', 'refreshSeconds: 5\nsim:\n  seed: [1, 2\n');
    expect(() => loadConfig({ config: f }, { env: env(d), cwd: d })).toThrow(/bad\.yaml:\d+: not valid YAML/);
  });

  it('refuses a missing --config file and bad flag values as usage errors', () => {
    const d = dir();
    expect(() => loadConfig({ config: join(d, 'nope.yaml') }, { env: env(d), cwd: d })).toThrow(UsageError);
    expect(() => loadConfig({ seed: 'abc' }, { env: env(d), cwd: d })).toThrow('--seed takes a whole number from -9007199254740991 to 9007199254740991, not "abc"');
    expect(() => loadConfig({ speed: '-2' }, { env: env(d), cwd: d })).toThrow('--speed takes a positive number, not "-2"');
    expect(() => loadConfig({ refresh: '0' }, { env: env(d), cwd: d })).toThrow('--refresh');
  });

  it('chooses the target from flags, refusing two at once', () => {
    const d = dir();
    expect(loadConfig({ profile: 'prod', region: ['us-east-1'] }, { env: env(d), cwd: d })).toMatchObject({
      target: 'aws',
      aws: { profile: 'prod', regions: ['us-east-1'] },
    });
    expect(loadConfig({ region: ['us-east-1,eu-west-1'] }, { env: env(d), cwd: d }).aws.regions).toEqual([
      'us-east-1',
      'eu-west-1',
    ]);
    expect(loadConfig({ inventory: 'lab.yaml' }, { env: env(d), cwd: d }).target).toBe('inventory');
    expect(() => loadConfig({ sim: true, inventory: 'x.yaml' }, { env: env(d), cwd: d })).toThrow(/choose one target/);
    expect(() => loadConfig({ profile: 'prod' }, { env: env(d), cwd: d })).toThrow(/needs a region/);
    expect(loadConfig({ profile: 'prod' }, { env: { ...env(d), AWS_REGION: 'eu-west-1' }, cwd: d }).aws.regions).toEqual([
      'eu-west-1',
    ]);
  });

  it('takes --profile repeated as several accounts (aws.profiles), one --profile as before, and the flag over the config', () => {
    const d = dir();
    const opts = { env: { ...env(d), AWS_PROFILE: 'ambient' }, cwd: d };
    const one = loadConfig({ profile: ['prod'], region: ['us-east-1'] }, opts);
    expect(one.aws).toMatchObject({ profile: 'prod', profiles: [] });
    const two = loadConfig({ profile: ['prod', 'stage', 'prod'], region: ['us-east-1'] }, opts);
    expect(two.target).toBe('aws');
    expect(two.aws.profiles).toEqual(['prod', 'stage']);
    // Several profiles: AWS_PROFILE does not sneak in as a third.
    expect(two.aws.profile).toBeUndefined();
    const f = write(d, 'accounts.yaml', 'aws:\n  regions: [eu-west-1]\n  profiles: [prod, stage]\n');
    expect(loadConfig({ config: f }, opts).aws).toMatchObject({ profiles: ['prod', 'stage'], regions: ['eu-west-1'] });
    expect(loadConfig({ config: f }, opts).aws.profile).toBeUndefined();
    expect(loadConfig({ config: f }, opts).target).toBe('aws');
    expect(loadConfig({ config: f, profile: ['only'] }, opts).aws).toMatchObject({ profile: 'only', profiles: [] });
  });

  it('applies sim flags', () => {
    const d = dir();
    const c = loadConfig({ scenario: 'split-brain', seed: '7', speed: '60', nodes: '5000' }, { env: env(d), cwd: d });
    expect(c.sim).toEqual({ scenario: 'split-brain', seed: 7, speed: 60, nodes: 5000 });
  });
});
