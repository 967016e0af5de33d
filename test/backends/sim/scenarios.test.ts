// Each scenario of the simulated fleet produces the condition it is named
// for, as the real probes (EngineProbes, parseNodetoolStatus) see it.

import { describe, expect, it } from 'vitest';
import { parseNodetoolStatus } from '../../../src/backends/engines/cassandra.js';
import { EngineProbes } from '../../../src/backends/engines/index.js';
import { SCENARIOS } from '../../../src/backends/sim/index.js';
import type { EngineFacts, Instance } from '../../../src/domain/types.js';
import { fleet, openSim, pastConnectTimeout, probeMysql } from './sim-helpers.js';

type Probed = { node: Instance; facts?: EngineFacts; error?: string };

async function probeAll(scenario: string) {
  const b = await openSim({ scenario });
  const f = await fleet(b);
  const probes = new EngineProbes(b.shell);
  const byCluster = new Map<string, Probed[]>();
  for (const c of f.clusters) {
    const rows: Probed[] = [];
    for (const node of f.members(c.name)) {
      try {
        rows.push({ node, facts: await pastConnectTimeout(b, probes.probe(node, c.engine)) });
      } catch (err) {
        rows.push({ node, error: (err as Error).message });
      }
    }
    byCluster.set(c.name, rows);
  }
  return { b, f, byCluster };
}

const mysqlOf = (p: Probed) => (p.facts?.kind === 'mysql' ? p.facts.mysql : undefined);

describe('scenarios of the simulated fleet', () => {
  it('lists every scenario the design names', () => {
    expect(SCENARIOS.map((s) => s.name).sort()).toEqual(
      ['az-outage', 'ebs-stuck', 'healthy', 'lagging-replica', 'lost-replica', 'master-down', 'regions-split', 'repair-overdue', 'split-brain', 'stale-asg'].sort(),
    );
  });

  it('healthy: every node answers, one writable master per MySQL cluster, every replica running', async () => {
    const { byCluster } = await probeAll('healthy');
    for (const rows of byCluster.values()) {
      for (const r of rows) expect(r.error).toBeUndefined();
      const mysql = rows.map(mysqlOf).filter((m) => m !== undefined);
      if (mysql.length === 0) continue;
      expect(mysql.filter((m) => !m.readOnly)).toHaveLength(1);
      for (const m of mysql.filter((x) => x.replica)) {
        expect(m.replica!.ioThread).toBe('Yes');
        expect(m.replica!.sqlThread).toBe('Yes');
        expect(m.replica!.lagSeconds).not.toBeNull();
      }
    }
  });

  it('master-down: the master does not answer over SSH and its replicas show IO Connecting with error 2003', async () => {
    const { byCluster, f } = await probeAll('master-down');
    const down = [...byCluster.values()].find((rows) => rows.some((r) => r.error));
    expect(down).toBeDefined();
    const dead = down!.find((r) => r.error)!;
    expect(dead.error).toMatch(/ETIMEDOUT 127\.\d+\.\d+\.\d+:22/);
    expect(dead.node.tags['nightshift:role']).toBe('master');
    const replicas = down!.filter((r) => !r.error).map(mysqlOf);
    expect(replicas).toHaveLength(2);
    for (const m of replicas) {
      expect(m!.replica!.sourceHost).toBe(dead.node.privateIp);
      expect(m!.replica!.ioThread).toBe('Connecting');
      expect(m!.replica!.lastIoError?.code).toBe(2003);
    }
    expect(f.instances.find((i) => i.id === dead.node.id)!.statusChecks).toBe('impaired');
  });

  it('lagging-replica: a replica is far behind (> 300 s) while its threads run', async () => {
    const { byCluster } = await probeAll('lagging-replica');
    const lags = [...byCluster.values()].flat().map(mysqlOf).map((m) => m?.replica?.lagSeconds ?? 0);
    expect(Math.max(...lags)).toBeGreaterThan(300);
  });

  it('repair-overdue: several ring nodes were last repaired more than 10 days ago', async () => {
    const { b, f } = await probeAll('repair-overdue');
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    const now = b.clock.now();
    const overdue = f.members(ring.name).filter((n) => now - Date.parse(n.tags['last-repaired'] ?? '1970-01-01T00:00:00Z') > 864_000_000);
    expect(overdue.length).toBeGreaterThanOrEqual(3);
  });

  it('split-brain: two nodes of one cluster are writable, and the new one has GTIDs the master lacks', async () => {
    const { byCluster } = await probeAll('split-brain');
    const split = [...byCluster.values()].find((rows) => rows.map(mysqlOf).filter((m) => m && !m.readOnly).length === 2);
    expect(split).toBeDefined();
    const [a, b] = split!.map(mysqlOf).filter((m) => m && !m.readOnly);
    const uuids = (set: string) => new Set(set.split(',').map((p) => p.split(':')[0]));
    const extra = [...uuids(b!.gtidExecuted)].filter((u) => !uuids(a!.gtidExecuted).has(u));
    expect(extra.length).toBeGreaterThan(0);
  });

  it('ebs-stuck: one replica has I/O wait pegged and its lag grows with time', async () => {
    const { b, f } = await probeAll('ebs-stuck');
    const metrics = await b.metrics.fetch({ instanceIds: f.instances.map((i) => i.id), minutes: 10 });
    const stuck = Object.entries(metrics).filter(([, m]) => (m.extra?.['io-wait']?.at(-1)?.v ?? 0) > 90);
    expect(stuck).toHaveLength(1);
    const node = f.instances.find((i) => i.id === stuck[0]![0])!;
    const before = (await probeMysql(b, node)).replica!.lagSeconds!;
    b.world.advance(120_000);
    const after = (await probeMysql(b, node)).replica!.lagSeconds!;
    expect(after - before).toBeGreaterThanOrEqual(115);
  });

  it('az-outage: every node in one AZ is unreachable and the ring shows them DN', async () => {
    const { b, f, byCluster } = await probeAll('az-outage');
    const failed = [...byCluster.values()].flat().filter((r) => r.error);
    expect(failed.length).toBeGreaterThan(3);
    expect(new Set(failed.map((r) => r.node.az))).toEqual(new Set(['us-east-1c']));
    // Generic nodes have no engine probe; EC2 says what happened to them.
    for (const i of f.instances.filter((x) => x.az === 'us-east-1c')) {
      if (i.tags['nightshift:engine'] === 'generic') expect(i.statusChecks).toBe('impaired');
      else expect(failed.map((r) => r.node.id)).toContain(i.id);
    }
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    const viewer = f.members(ring.name).find((n) => n.az !== 'us-east-1c')!;
    const res = await b.shell.exec(viewer, 'nodetool status');
    const peers = parseNodetoolStatus(res.stdout);
    const dn = peers.filter((p) => p.status === 'DN').map((p) => p.address).sort();
    expect(dn).toEqual(f.members(ring.name).filter((n) => n.az === 'us-east-1c').map((n) => n.privateIp).sort());
  });

  it('stale-asg: group instances were launched long before their launch template changed', async () => {
    const b = await openSim({ scenario: 'stale-asg' });
    const w = b.world.view();
    for (const g of Object.values(w.asgs)) {
      const lt = w.launchTemplates[g.launchTemplate]!;
      for (const id of g.members) {
        expect(Date.parse(lt.updatedAt) - Date.parse(w.instances[id]!.launchTime)).toBeGreaterThan(100 * 86_400_000);
        expect(Number(w.instances[id]!.tags['aws:ec2launchtemplate:version'])).toBeLessThan(lt.version);
      }
    }
  });

  it("healthy: the wave replica's lag climbs and falls with virtual time", async () => {
    const b = await openSim();
    const f = await fleet(b);
    const replica = f.members(f.clusters[0]!.name)[2]!;
    const seen: number[] = [];
    for (let i = 0; i < 24; i++) {
      seen.push((await probeMysql(b, replica)).replica!.lagSeconds!);
      b.world.advance(5 * 60_000);
    }
    expect(Math.max(...seen)).toBeGreaterThan(60);
    expect(Math.min(...seen)).toBeLessThan(5);
  });
});
