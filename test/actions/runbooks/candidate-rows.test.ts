// The candidate list the switchover and failover forms will show, on
// hand-built views and on the simulated fleet through the real poller (its
// writer records included).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidateRows, shortGtid } from '../../../src/actions/runbooks/catalog.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { loadConfig } from '../../../src/config/load.js';
import { PROMOTION_TAG } from '../../../src/domain/candidate.js';
import type { ClusterView } from '../../../src/domain/types.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { cluster, mysqlNode } from '../../helpers/fleet-fixtures.js';

function orders(): ClusterView {
  const master = mysqlNode('orders', { id: 'i-1', name: 'db-1', role: 'master', az: 'us-east-1a' });
  const from = master.instance.privateIp;
  return cluster('orders', 'mysql', [
    master,
    mysqlNode('orders', { id: 'i-2', name: 'db-2', az: 'us-east-1b', sourceHost: from, lagSeconds: 4 }),
    mysqlNode('orders', { id: 'i-3', name: 'db-3', az: 'us-east-1c', sourceHost: from, lagSeconds: 1, tags: { [PROMOTION_TAG]: 'never' } }),
    mysqlNode('orders', { id: 'i-4', name: 'db-4', az: 'us-east-1a', sourceHost: from, lagSeconds: 340 }),
  ]);
}

describe('candidateRows', () => {
  it('switchover while the master lives: best first with AZ, lag, rule and GTID position; the rest disabled with why', () => {
    const list = candidateRows(orders());
    expect(list.kind).toBe('switchover');
    expect(list.refusal).toBeUndefined();
    expect(list.options.map((o) => [o.label, o.isDefault, o.disabled])).toEqual([
      ['db-2', true, undefined],
      ['db-3', false, `promotion rule never (tag ${PROMOTION_TAG}=never)`],
      ['db-4', false, 'lag 340 s over the 10 s limit'],
    ]);
    expect(list.options[0]!.detail).toBe('us-east-1b · lag 4 s · 3e11fa47…:1-4512,8d1c0b1e…:1-77');
    expect(list.options[1]!.detail).toContain(' · never · ');
    expect(list.options[0]!.value).toBe('node:i-2');
  });

  it('the lag limit is the caller\'s', () => {
    expect(candidateRows(orders(), { lagLimitSeconds: 1000 }).options.find((o) => o.label === 'db-4')!.disabled).toBeUndefined();
    expect(candidateRows(orders(), { lagLimitSeconds: 2 }).refusal).toMatch(/^no replica of db-1 can be promoted: db-2: lag 4 s over the 2 s limit/);
  });

  it('failover when no master answers: the replicas that answer, most advanced first', () => {
    const c = orders();
    c.nodes[0] = { ...c.nodes[0]!, stale: true };
    const list = candidateRows(c);
    expect(list.kind).toBe('failover');
    expect(list.options.map((o) => o.label)).toEqual(['db-2', 'db-4', 'db-3']);
    expect(list.options[0]!.isDefault).toBe(true);
  });

  it('shortens MySQL uuids and leaves MariaDB positions whole', () => {
    expect(shortGtid('0-1-100,1-2-5')).toBe('0-1-100,1-2-5');
    expect(shortGtid('')).toBe('no GTIDs');
  });
});

describe('on the simulated fleet', () => {
  async function fleet(scenario: string, act?: (b: SimBackends) => Promise<void>): Promise<ClusterView[]> {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-candidates-'));
    const config = loadConfig({ scenario, stateDir }, { env: {}, cwd: stateDir });
    // Fast, so a DNS change reaches INSYNC without real seconds going by.
    const backends = await createSimBackends({ scenario, seed: 1, speed: 100_000, stateDir });
    try {
      await act?.(backends);
      const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
      await new Poller(backends, store, pollerOptions(config, backends)).refreshNow();
      return store.getState().clusters;
    } finally {
      await backends.close();
    }
  }

  it('healthy: each MySQL cluster has a switchover candidate, and its writer record at the master', async () => {
    const clusters = (await fleet('healthy')).filter((c) => c.engine === 'mysql');
    expect(clusters).toHaveLength(4);
    for (const c of clusters) {
      const list = candidateRows(c, { lagLimitSeconds: 3600 });
      expect(list).toMatchObject({ kind: 'switchover' });
      expect(list.options.filter((o) => o.isDefault)).toHaveLength(1);
      expect(c.writer?.node).toBe(c.nodes.find((n) => n.role === 'master')!.instance.name);
      expect(c.findings.filter((f) => f.kind === 'writer-record')).toEqual([]);
    }
  });

  it('master-down: the stricken cluster lists failover candidates', async () => {
    const hit = (await fleet('master-down')).find((c) => c.findings.some((f) => f.kind === 'no-writable-master'))!;
    const list = candidateRows(hit);
    expect(list.kind).toBe('failover');
    expect(list.options.length).toBeGreaterThanOrEqual(2);
  });

  it('a writer record swapped to a replica is a CRIT finding on the next refresh', async () => {
    let moved = '';
    const clusters = await fleet('healthy', async (b) => {
      const first = b.world.view();
      const name = Object.values(first.clusters).find((c) => c.engine === 'mysql')!.name;
      const ref = b.writerDns({ name: name })!;
      const current = (await b.dns!.getRecord(ref.zoneId, ref.name, ref.type))!;
      const replica = Object.values(first.instances).find((i) => i.cluster === name && first.mysql[i.id]?.replica)!;
      moved = name;
      await b.dns!.swapRecord(current, { ...current, values: [replica.privateIp] });
    });
    const c = clusters.find((x) => x.name === moved)!;
    expect(c.writer?.node).toMatch(/-0[23]$/);
    expect(c.findings.find((f) => f.kind === 'writer-record')).toMatchObject({
      level: 'CRIT',
      message: `writer record ${moved}.writer.sim.internal points at ${c.writer!.node}, which is read-only: application writes fail`,
    });
  });
});
