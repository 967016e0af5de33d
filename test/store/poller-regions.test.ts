// Two regions, each with a cluster named `orders`, each with a writable master
// that answers: two clusters to the poller, never one of four nodes, so no
// false "two writable masters"; each reads its own region's writer record;
// and each region's discovery freshness reaches the store.

import { describe, expect, it } from 'vitest';
import type { Backends, Discovery, Dns, DnsRecord, ScopeStatus, Shell } from '../../src/backends/ports.js';
import { clusterKey, type ScopedName } from '../../src/domain/scope.js';
import type { ClusterRef, Instance, ScalingGroup, WriterRecordRef } from '../../src/domain/types.js';
import { createFleetStore, selectCluster } from '../../src/store/fleet.js';
import { groupKey, Poller } from '../../src/store/poller.js';
import { MemoryJobs } from '../helpers/jobs.js';
import { mariadbShell, POLLER_DEFAULTS } from '../helpers/poller-fixtures.js';
import { instance as makeInstance } from '../helpers/node-views.js';

const FLEET_NOW = Date.parse('2026-11-21T00:00:00Z');

/** db-N of `orders` in `region`: N=1 the master, N=2 its replica. */
function node(region: string, n: number, at: number): Instance {
  return makeInstance({ id: `i-${region === 'us-east-1' ? 'a' : 'b'}000000000000000${n}`, name: `orders-${n}`, privateIp: `127.0.${at}.${n}`, az: `${region}a`, region });
}
const east = [node('us-east-1', 1, 6), node('us-east-1', 2, 6)];
const west = [node('eu-west-1', 1, 7), node('eu-west-1', 2, 7)];
const masters = new Set([east[0]!.id, west[0]!.id]);

/** Each region's master writable (read_only 0), each replica replicating from its own region's master, as `mysql --batch` answers. */
const shell = (): Shell => mariadbShell((i) => (masters.has(i.id) ? undefined : (i.region === 'us-east-1' ? east : west)[0]!));

/** Answers each region's writer record with that region's master. */
class RegionalDns implements Dns {
  asked: string[] = [];
  async getRecord(_zone: string, name: string): Promise<DnsRecord | undefined> {
    this.asked.push(name);
    const master = name.startsWith('us-east-1') ? east[0]! : west[0]!;
    return { zoneId: 'Z1', name, type: 'A', ttl: 60, values: [master.privateIp] };
  }
  async swapRecord(): Promise<{ changeId: string; insyncAfterMs: number }> {
    throw new Error('not in this test');
  }
}

const refs: ClusterRef[] = [
  { name: 'orders', region: 'us-east-1', engine: 'mysql', instanceIds: east.map((i) => i.id), source: 'tag', asg: 'asg-orders' },
  { name: 'orders', region: 'eu-west-1', engine: 'mysql', instanceIds: west.map((i) => i.id), source: 'tag', asg: 'asg-orders' },
];

function group(members: Instance[], version: string): ScalingGroup {
  return {
    name: 'asg-orders',
    min: 2,
    max: 2,
    desired: 2,
    suspended: [],
    launchTemplate: { id: 'lt-1', name: 'orders', version },
    members: members.map((m) => ({ instanceId: m.id, az: m.az, lifecycle: 'InService', health: 'Healthy', isProtected: false, launchTemplateVersion: '3' })),
  };
}

function backends(discovery: () => Discovery, dns: Dns, speed = 1): Backends {
  const sh = shell();
  return {
    target: { kind: 'aws', regions: ['eu-west-1', 'us-east-1'], account: '123456789012', profile: 'prod' },
    clock: { now: () => FLEET_NOW, sleep: async () => {}, speed },
    inventory: { discover: async () => discovery(), setTags: async () => {}, deleteTags: async () => {} },
    metrics: { fetch: async () => ({}) },
    shell: sh,
    jobs: new MemoryJobs(sh),
    dns,
    lock: { acquire: async () => ({ acquired: true }), release: async () => {}, holder: async () => undefined, breakLock: async () => {} },
    close: async () => {},
  };
}

const base = POLLER_DEFAULTS;

describe('Poller: the same cluster name in two regions', () => {
  it('is two clusters, each with its own nodes and writer record, and no two-writable-masters finding', async () => {
    const dns = new RegionalDns();
    const asked: ScopedName[] = [];
    const store = createFleetStore({ target: { kind: 'aws', regions: ['eu-west-1', 'us-east-1'] }, refreshSeconds: 5 });
    const writerDns = (c: ScopedName): WriterRecordRef => {
      asked.push({ ...c });
      return { zoneId: 'Z1', name: `${c.region}.orders.db.internal`, type: 'A' };
    };
    const poller = new Poller(backends(() => ({ clusters: refs, instances: [...east, ...west] }), dns), store, { ...base, writerDns, targetReplicas: () => 1 });
    await poller.refreshNow();

    const clusters = store.getState().clusters;
    expect(clusters.map(clusterKey)).toEqual(['eu-west-1/orders', 'us-east-1/orders']);
    for (const [key, own] of [['us-east-1/orders', east], ['eu-west-1/orders', west]] as const) {
      const c = selectCluster(key)(store.getState())!;
      expect(c.region).toBe(key.split('/')[0]);
      expect(c.nodes.map((n) => n.instance.id).sort()).toEqual(own.map((i) => i.id).sort());
      expect(c.nodes.map((n) => n.role).sort()).toEqual(['master', 'replica']);
      // Both masters answer writable, one per region: each is its own cluster's only master.
      expect(c.findings.map((f) => f.kind)).not.toContain('two-writable-masters');
      expect(c.health.level).toBe('OK');
      expect(c.writer?.node).toBe('orders-1');
      expect(c.writer?.nodeId).toBe(own[0]!.id);
    }
    // The writer settings are asked with the region (per-region config), and each region's record is read.
    expect(asked.map((c) => c.region).sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(dns.asked.sort()).toEqual(['eu-west-1.orders.db.internal', 'us-east-1.orders.db.internal']);
    poller.stop();
  });

  it('finds each cluster its own region\'s Auto Scaling group of the same name', async () => {
    const store = createFleetStore({ target: { kind: 'aws', regions: ['eu-west-1', 'us-east-1'] }, refreshSeconds: 5 });
    // us-east-1's group launches v3 (its members' version), eu-west-1's launches v5: only eu-west-1 drifts.
    const groups = [group(east, '3'), group(west, '5')];
    const poller = new Poller(backends(() => ({ clusters: refs, instances: [...east, ...west], groups }), new RegionalDns()), store, base);
    await poller.refreshNow();
    const drift = (key: string) => selectCluster(key)(store.getState())!.findings.filter((f) => f.kind === 'launch-template-drift').map((f) => f.message);
    expect(drift('eu-west-1/orders')).toEqual(['2 of 2 instances on launch template v3, the group launches v5']);
    expect(drift('us-east-1/orders')).toEqual([]);
    expect(groupKey(groups[1]!, new Map(west.map((i) => [i.id, i])))).toBe('eu-west-1/asg-orders');
    poller.stop();
  });

  it('a cluster gone from one region leaves only that region\'s row', async () => {
    let clusters = refs;
    const store = createFleetStore({ target: { kind: 'aws', regions: ['eu-west-1', 'us-east-1'] }, refreshSeconds: 5 });
    const poller = new Poller(backends(() => ({ clusters, instances: [...east, ...west] }), new RegionalDns()), store, base);
    await poller.refreshNow();
    expect(store.getState().clusters).toHaveLength(2);
    clusters = [refs[0]!];
    await poller.refreshNow();
    expect(store.getState().clusters.map(clusterKey)).toEqual(['us-east-1/orders']);
    poller.stop();
  });

  it('keeps each region\'s discovery in the store, its last good answer in real time', async () => {
    const scopes: ScopeStatus[] = [
      { region: 'us-east-1', account: '123456789012', profile: 'prod', at: FLEET_NOW - 2_000 },
      { region: 'eu-west-1', account: '123456789012', profile: 'prod', at: FLEET_NOW - 120_000, error: 'UnauthorizedOperation: not allowed\u001B[2J' },
    ];
    const store = createFleetStore({ target: { kind: 'aws', regions: ['eu-west-1', 'us-east-1'] }, refreshSeconds: 5 });
    const wallNow = 5_000_000;
    // The fleet's clock runs ×10 here (as the simulated fleet's may): 120 s of it is 12 s of real time.
    const poller = new Poller(backends(() => ({ clusters: refs, instances: [...east, ...west], scopes }), new RegionalDns(), 10), store, { ...base, now: () => wallNow });
    await poller.refreshNow();
    const shown = store.getState().scopes;
    expect(shown.map((s) => [s.region, s.at])).toEqual([
      ['us-east-1', wallNow - 200],
      ['eu-west-1', wallNow - 12_000],
    ]);
    // AWS's words are cleaned before any screen: no escape sequence reaches the terminal.
    expect(shown[1]!.error).toBe('UnauthorizedOperation: not allowed');
    poller.stop();
  });
});
