// `--regions N` / `sim.regions` and what `--region` means beside them: the
// simulated fleet's regions in view when a flag or the config chose the
// simulated fleet, AWS's regions otherwise. Bad values are exit 2 naming the
// flag, or the file, line and key.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetOf } from '../../src/backends/index.js';
import { loadConfig, type GlobalFlags } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'ns-config-'));
}

const env = (d: string) => ({ XDG_CONFIG_HOME: join(d, 'xdg-config'), XDG_STATE_HOME: join(d, 'xdg-state') });

function load(flags: GlobalFlags, file?: string) {
  const d = dir();
  if (file !== undefined) writeFileSync(join(d, 'nightshift.yaml'), file);
  return { d, path: join(d, 'nightshift.yaml'), run: () => loadConfig(flags, { env: env(d), cwd: d }) };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('--regions and sim.regions', () => {
  it('chooses the simulated fleet and keeps the count; absent stays absent (one region, as before)', () => {
    const c = load({ regions: '2' }).run();
    expect(c.target).toBe('sim');
    expect(c.sim.regions).toBe(2);
    expect(load({}).run().sim.regions).toBeUndefined();
    expect(load({}, 'sim:\n  regions: 3\n').run().sim.regions).toBe(3);
  });

  it('refuses a count outside 1..4 naming the flag, or the file, line and key', () => {
    for (const bad of ['0', '5', 'two', '1.5']) {
      const err = errorOf(load({ regions: bad }).run);
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe(`--regions takes a whole number from 1 to 4 (the simulated regions: us-east-1, eu-west-1, ap-southeast-2, us-west-2), not "${bad}"`);
    }
    const l = load({}, 'refreshSeconds: 5\nsim:\n  regions: 9\n');
    const err = errorOf(l.run);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`${l.path}:3: sim.regions: 9 is not a whole number from 1 to 4 (the simulated regions: us-east-1, eu-west-1, ap-southeast-2, us-west-2)`);
  });

  it('refuses fewer regions than the scenario needs', () => {
    expect(errorOf(load({ scenario: 'regions-split', regions: '1' }).run).message).toBe(
      '--regions 1: the scenario regions-split needs 2 regions, not 1; give --regions 2 or leave it out',
    );
    const l = load({}, 'sim:\n  scenario: regions-split\n  regions: 1\n');
    expect(errorOf(l.run).message).toBe(`${l.path}:3: sim.regions: the scenario regions-split needs 2 regions, not 1; make it 2 or more`);
    // Left out, the scenario opens with the regions it needs (see the backends).
    expect(load({ scenario: 'regions-split' }).run().sim.regions).toBeUndefined();
  });
});

describe('--region beside the simulated fleet', () => {
  it('narrows the simulated fleet when a flag chose it, and leaves the AWS regions alone', () => {
    const c = load({ regions: '2', region: ['eu-west-1'] }).run();
    expect(c.target).toBe('sim');
    expect(c.sim.region).toEqual(['eu-west-1']);
    expect(c.aws.regions).toEqual([]);
    expect(load({ sim: true, regions: '3', region: ['us-east-1,ap-southeast-2'] }).run().sim.region).toEqual(['us-east-1', 'ap-southeast-2']);
    // The scenario that needs two regions models them without --regions.
    expect(load({ scenario: 'regions-split', region: ['eu-west-1'] }).run().sim.region).toEqual(['eu-west-1']);
  });

  it('narrows the simulated fleet when the config chose it (target: sim, or sim.regions)', () => {
    for (const file of ['target: sim\nsim:\n  regions: 2\n', 'sim:\n  regions: 2\n']) {
      const c = load({ region: ['eu-west-1'] }, file).run();
      expect(c.target).toBe('sim');
      expect(c.sim.region).toEqual(['eu-west-1']);
    }
  });

  it('names the regions in view in the target, for the header before the fleet is open', () => {
    expect(targetOf(load({ regions: '2', region: ['eu-west-1'] }).run())).toEqual({ kind: 'sim', scenario: 'healthy', seed: 1, speed: 1, regions: ['eu-west-1'] });
    expect(targetOf(load({ scenario: 'regions-split' }).run())).toMatchObject({ regions: ['us-east-1', 'eu-west-1'] });
    expect(targetOf(load({ sim: true }).run())).toEqual({ kind: 'sim', scenario: 'healthy', seed: 1, speed: 1 });
  });

  it('still means AWS with no simulated fleet chosen, or with --profile', () => {
    const c = load({ region: ['eu-west-1'] }).run();
    expect(c.target).toBe('aws');
    expect(c.aws.regions).toEqual(['eu-west-1']);
    expect(c.sim.region).toBeUndefined();
    const p = load({ region: ['eu-west-1'], profile: 'prod' }, 'sim:\n  regions: 2\n').run();
    expect(p.target).toBe('aws');
    expect(p.aws.regions).toEqual(['eu-west-1']);
  });

  it('refuses a region the simulated fleet does not model, listing those it does', () => {
    expect(errorOf(load({ regions: '2', region: ['us-west-2'] }).run).message).toBe(
      '--region us-west-2: the simulated fleet has no region us-west-2; its regions: us-east-1, eu-west-1',
    );
    const one = errorOf(load({ sim: true, region: ['us-east-1'] }).run);
    expect(one).toBeInstanceOf(UsageError);
    expect(one.message).toBe(
      '--region us-east-1: the simulated fleet models one region, which has no name; model several with --regions 2 to 4 (us-east-1, eu-west-1, ap-southeast-2, us-west-2)',
    );
    const l = load({}, 'sim:\n  regions: 2\n  region: mars-1\n');
    const err = errorOf(l.run);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`${l.path}:3: sim.region: the simulated fleet has no region mars-1; its regions: us-east-1, eu-west-1`);
  });

  it('keeps --sim with --profile an error', () => {
    const err = errorOf(load({ sim: true, profile: 'prod' }).run);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^choose one target/);
    expect(errorOf(load({ regions: '2', profile: 'prod' }).run).message).toMatch(/^choose one target/);
  });
});
