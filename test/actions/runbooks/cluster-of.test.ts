// Runbooks find their cluster by identity, and read its settings for its own
// region (issue 17): `orders` in eu-west-1 is never served us-east-1's
// members, writer record, replication user or fence.

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterFlags, clusterOfRun, runLabel, runMembers, settingsKey } from '../../../src/actions/runbooks/cluster-of.js';
import { credentials, writerRef, type Ctx } from '../../../src/actions/runbooks/master-change.js';
import type { Discovery } from '../../../src/backends/ports.js';
import { replicationCredentials } from '../../../src/config/credentials.js';
import { fenceFor } from '../../../src/config/fence.js';
import { loadConfig } from '../../../src/config/load.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { createRedactor } from '../../../src/domain/redact.js';
import type { Instance } from '../../../src/domain/types.js';

function inst(id: string, region: string): Instance {
  return { id, name: `db-${id.slice(-1)}`, privateIp: '127.0.0.1', az: `${region}a`, type: 'm5.large', state: 'running', launchTime: '2026-10-01T00:00:00Z', statusChecks: 'ok', tags: {}, region };
}

const found: Discovery = {
  clusters: [
    { name: 'orders', region: 'eu-west-1', engine: 'mysql', instanceIds: ['i-eu1', 'i-eu2'], source: 'tag' },
    { name: 'orders', region: 'us-east-1', engine: 'mysql', instanceIds: ['i-us1', 'i-us2', 'i-us3'], source: 'tag' },
    { name: 'billing', region: 'us-east-1', engine: 'mysql', instanceIds: ['i-b1'], source: 'tag' },
  ],
  instances: [inst('i-eu1', 'eu-west-1'), inst('i-eu2', 'eu-west-1'), inst('i-us1', 'us-east-1'), inst('i-us2', 'us-east-1'), inst('i-us3', 'us-east-1'), inst('i-b1', 'us-east-1')],
};

const ORDERS_DNS = { zoneId: 'Z1', name: 'orders-writer.internal', type: 'CNAME' as const };
const EU_DNS = { zoneId: 'Z2', name: 'orders-writer.eu.internal', type: 'CNAME' as const };

function config(clusters: Record<string, unknown>): Config {
  return { ...configSchema.parse({ clusters }), target: 'aws', stateDir: '/nonexistent' } as Config;
}

function ctx(cfg: Config, region?: string, own: Record<string, unknown> = {}): Ctx {
  return {
    backends: own as never,
    config: cfg,
    params: {},
    state: { others: [] },
    run: { id: 'r1', runbook: 'switchover', cluster: 'orders', ...(region ? { region } : {}), startedAt: '', startedAtMs: 0, who: 'a@b' },
    scratch: new Map(),
  };
}

describe('the run’s cluster in a discovery', () => {
  it('is the one of its region, with that region’s members only', () => {
    const eu = { cluster: 'orders', region: 'eu-west-1' };
    const of = clusterOfRun(found, eu);
    expect(of).toMatchObject({ ok: true, ref: { region: 'eu-west-1', instanceIds: ['i-eu1', 'i-eu2'] } });
    expect(runMembers(found, eu).map((m) => m.id)).toEqual(['i-eu1', 'i-eu2']);
    expect(runMembers(found, { cluster: 'orders', region: 'us-east-1' }).map((m) => m.id)).toEqual(['i-us1', 'i-us2', 'i-us3']);
  });

  it('a bare name in two regions is no cluster: no members, and the reason gives the flag that picks each', () => {
    const of = clusterOfRun(found, { cluster: 'orders' });
    expect(of).toEqual({ ok: false, reason: '2 clusters are named orders: orders · eu-west-1 (--region eu-west-1), orders · us-east-1 (--region us-east-1)' });
    expect(runMembers(found, { cluster: 'orders' })).toEqual([]);
  });

  it('a name nowhere in view lists what is, by label', () => {
    expect(clusterOfRun(found, { cluster: 'payments' })).toEqual({
      ok: false,
      reason: 'no cluster named payments; clusters here: orders · eu-west-1, orders · us-east-1, billing · us-east-1',
    });
  });

  it('what a person reads and types: the label, the flags, the config key', () => {
    const eu = { cluster: 'orders', region: 'eu-west-1' };
    expect(runLabel(eu)).toBe('orders · eu-west-1');
    expect(clusterFlags(eu)).toBe('--cluster orders --region eu-west-1');
    expect(clusterFlags({ ...eu, account: '123456789012' })).toBe('--cluster orders --region eu-west-1 --account 123456789012');
    expect(settingsKey(eu)).toBe('clusters.orders.regions.eu-west-1');
    expect(runLabel({ cluster: 'lab' })).toBe('lab');
    expect(clusterFlags({ cluster: 'lab' })).toBe('--cluster lab');
    expect(settingsKey({ cluster: 'lab' })).toBe('clusters.lab');
  });
});

describe('per-region cluster settings, as the runbooks read them', () => {
  it('switchover’s writer record: the region’s own where it has one, the cluster’s elsewhere', () => {
    const cfg = config({ orders: { writerDns: ORDERS_DNS, regions: { 'eu-west-1': { writerDns: EU_DNS } } } });
    expect(writerRef(ctx(cfg, 'eu-west-1'))).toEqual(EU_DNS);
    expect(writerRef(ctx(cfg, 'us-east-1'))).toEqual(ORDERS_DNS);
    expect(writerRef(ctx(cfg))).toEqual(ORDERS_DNS);
  });

  it('a target’s own writer record and replication user are asked for the scoped cluster, and the config still wins', () => {
    const asked: unknown[] = [];
    const own = {
      writerDns: (c: unknown) => (asked.push(c), { zoneId: 'ZS', name: 'sim', type: 'A' as const }),
      replicationCredentials: (c: unknown) => (asked.push(c), { user: 'sim', password: 'sim-pw-1' }),
    };
    expect(writerRef(ctx(config({}), 'eu-west-1', own))).toEqual({ zoneId: 'ZS', name: 'sim', type: 'A' });
    expect(credentials(ctx(config({}), 'eu-west-1', own))).toEqual({ user: 'sim', password: 'sim-pw-1' });
    expect(asked).toEqual([
      { name: 'orders', region: 'eu-west-1' },
      { name: 'orders', region: 'eu-west-1' },
    ]);
    const cfg = config({ orders: { regions: { 'eu-west-1': { writerDns: EU_DNS } } } });
    expect(writerRef(ctx(cfg, 'eu-west-1', own))).toEqual(EU_DNS);
  });

  it('replication credentials: a region’s own block (its file read relative to the config, its password redacted), else the cluster’s; a missing one names the key', () => {
    const d = mkdtempSync(join(tmpdir(), 'ns-regional-'));
    const pw = join(d, 'eu.password');
    writeFileSync(pw, 'eu-only-pw-3391\n');
    chmodSync(pw, 0o600);
    const f = join(d, 'ns.yaml');
    writeFileSync(
      f,
      'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordEnv: ORDERS_PW\n    regions:\n      eu-west-1:\n        replication:\n          user: repl-eu\n          passwordFile: eu.password\n',
    );
    const cfg = loadConfig({ config: f }, { env: { XDG_CONFIG_HOME: join(d, 'x'), XDG_STATE_HOME: join(d, 's') }, cwd: '/' });
    expect(cfg.clusters.orders!.regions!['eu-west-1']!.replication!.passwordFile).toBe(pw);
    // Registered at load, before any runbook asked for it.
    expect(createRedactor([]).text('pw is eu-only-pw-3391')).not.toContain('eu-only-pw-3391');
    expect(replicationCredentials(cfg, { name: 'orders', region: 'eu-west-1' }, {})).toEqual({ user: 'repl-eu', password: 'eu-only-pw-3391' });
    expect(replicationCredentials(cfg, { name: 'orders', region: 'us-east-1' }, { ORDERS_PW: 'us-pw-7781' })).toEqual({ user: 'repl', password: 'us-pw-7781' });
    expect(() => replicationCredentials(cfg, { name: 'orders', region: 'us-east-1' }, {})).toThrow(/clusters\.orders\.replication\.passwordEnv.*orders · us-east-1/s);
    expect(() => replicationCredentials(config({}), { name: 'billing', region: 'us-east-1' }, {})).toThrow(
      /cluster billing · us-east-1 has no replication credentials.*or under clusters\.billing\.regions\.us-east-1 for that region alone/,
    );
  });

  it('the fence: a region’s own method where it has one', () => {
    const cfg = config({ orders: { fence: { method: 'stop' }, regions: { 'eu-west-1': { fence: { method: 'isolate', securityGroup: 'sg-0123456789abcdef0' } } } } });
    const master = inst('i-eu1', 'eu-west-1');
    expect(fenceFor(cfg, { name: 'orders', region: 'eu-west-1' }, master, 'aws')).toMatchObject({ kind: 'isolate', securityGroup: 'sg-0123456789abcdef0' });
    expect(fenceFor(cfg, { name: 'orders', region: 'us-east-1' }, master, 'aws')).toMatchObject({ kind: 'stop' });
  });
});
