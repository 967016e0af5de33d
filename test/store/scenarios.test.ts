// Each scenario of the simulated fleet, through the real poller, probes and
// domain rules, produces the finding it is named for. (Simulated fleet: a
// product feature, not a mock.)

import { lagText } from '../../src/domain/lag-text.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimBackends } from '../../src/backends/sim/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { ClusterView } from '../../src/domain/types.js';
import { pollerOptions } from '../../src/poller-options.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';

async function fleetOf(scenario: string): Promise<ClusterView[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-scenario-'));
  const config = loadConfig({ scenario, stateDir }, { env: {}, cwd: stateDir });
  const backends = await createSimBackends({ scenario, seed: 1, speed: 1, stateDir });
  try {
    const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
    await new Poller(backends, store, pollerOptions(config)).refreshNow();
    expect(store.getState().error).toBeNull();
    return store.getState().clusters;
  } finally {
    await backends.close();
  }
}

const kinds = (clusters: ClusterView[]) => clusters.flatMap((c) => c.findings.map((f) => f.kind));

describe('scenarios as the console sees them', () => {
  it('healthy: no cluster is critical and every node was probed', async () => {
    const clusters = await fleetOf('healthy');
    expect(clusters.length).toBeGreaterThanOrEqual(5);
    expect(clusters.filter((c) => c.health.level === 'CRIT').map((c) => c.name)).toEqual([]);
    expect(clusters.flatMap((c) => c.nodes).filter((n) => n.stale)).toEqual([]);
    expect(kinds(clusters)).not.toContain('two-writable-masters');
    expect(kinds(clusters)).not.toContain('no-writable-master');
  });

  it('master-down: no writable master, and the replicas say their IO thread is connecting', async () => {
    const clusters = await fleetOf('master-down');
    const hit = clusters.find((c) => c.findings.some((f) => f.kind === 'no-writable-master'));
    expect(hit).toBeDefined();
    expect(hit!.health.level).toBe('CRIT');
    const replicas = hit!.nodes.filter((n) => n.role === 'replica');
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    for (const r of replicas) expect(r.health.reason).toMatch(/^IO thread connecting: 2003/);
    // The hung master keeps its probe waiting out ssh's connect timeout; the refresh does not wait for it.
    const dead = hit!.nodes.find((n) => n.stale);
    expect(dead?.facts).toBeUndefined();
    expect(dead?.health).toEqual({ level: 'CRIT', reason: 'EC2 status checks failing' });
  });

  it('lagging-replica: a replica far behind is critical, with the lag in the reason', async () => {
    const clusters = await fleetOf('lagging-replica');
    const lagging = clusters.flatMap((c) => c.nodes).filter((n) => (n.lagSeconds ?? 0) > 300);
    expect(lagging).toHaveLength(1);
    expect(lagging[0]!.health).toEqual({ level: 'CRIT', reason: `lag ${lagText(lagging[0]!.lagSeconds!)} > 300 s` });
  });

  it('repair-overdue: the ring is flagged with the overdue nodes', async () => {
    const clusters = await fleetOf('repair-overdue');
    const ring = clusters.find((c) => c.engine === 'cassandra')!;
    const finding = ring.findings.find((f) => f.kind === 'repair-overdue');
    expect(finding?.nodes.length).toBeGreaterThanOrEqual(4);
    expect(finding?.message).toMatch(/^repair overdue on \d+ nodes/);
  });

  it('split-brain: two writable masters, named', async () => {
    const clusters = await fleetOf('split-brain');
    const finding = clusters.flatMap((c) => c.findings).find((f) => f.kind === 'two-writable-masters');
    expect(finding?.level).toBe('CRIT');
    expect(finding?.nodes).toHaveLength(2);
    expect(finding?.message).toMatch(/^two writable masters: \S+( \(writer record\))?, \S+( \(writer record\))?; by hand: /);
  });

  it('az-outage: the ring sees nodes down and the unreachable rows are stale, not blank', async () => {
    const clusters = await fleetOf('az-outage');
    expect(kinds(clusters)).toContain('node-down');
    const unreachable = clusters.flatMap((c) => c.nodes).filter((n) => n.instance.az === 'us-east-1c');
    expect(unreachable.length).toBeGreaterThan(0);
    for (const n of unreachable) expect(n.health.level === 'UNKNOWN' || n.health.level === 'CRIT').toBe(true);
  });
});
