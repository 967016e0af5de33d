// The writer record through the poller: read once a round per cluster through
// the Dns port, resolved to a node, and a CRIT finding when applications'
// writes go to a read-only node or to no node at all.

import { describe, expect, it } from 'vitest';
import type { Backends, Dns, DnsRecord, Shell } from '../../src/backends/ports.js';
import type { Instance, WriterRecordRef } from '../../src/domain/types.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { MemoryJobs } from '../helpers/jobs.js';
import { mariadbShell, POLLER_DEFAULTS } from '../helpers/poller-fixtures.js';
import { instance as makeInstance } from '../helpers/node-views.js';

function instance(n: number): Instance {
  return makeInstance({ id: `i-0000000000000000${n}`, name: `db-${n}`, privateIp: `127.0.5.${n}`, type: 't3.small' });
}
const db1 = instance(1);
const db2 = instance(2);

/** db-1 a writable MariaDB master, db-2 its read-only replica, as `mysql --batch` answers. */
const shell = (): Shell => mariadbShell((node) => (node.id === db1.id ? undefined : db1));

class FakeDns implements Dns {
  reads = 0;
  record: DnsRecord | undefined;
  failWith: Error | undefined;
  constructor(values: string[], type: DnsRecord['type'] = 'A') {
    this.record = { zoneId: 'Z1', name: 'orders.db.internal', type, ttl: 60, values };
  }
  async getRecord(): Promise<DnsRecord | undefined> {
    this.reads++;
    if (this.failWith) throw this.failWith;
    return this.record;
  }
  async swapRecord(): Promise<{ changeId: string; insyncAfterMs: number }> {
    throw new Error('not in this test');
  }
}

function backends(dns?: Dns, unavailable?: string): Backends {
  const sh = shell();
  const b: Backends = {
    target: { kind: 'inventory', file: 'test.yaml' },
    clock: { now: () => Date.parse('2026-11-21T00:00:00Z'), sleep: async () => {}, speed: 1 },
    inventory: {
      discover: async () => ({
        clusters: [{ name: 'orders', engine: 'mysql', instanceIds: [db1.id, db2.id], source: 'inventory' }],
        instances: [db1, db2],
      }),
      setTags: async () => {},
      deleteTags: async () => {},
    },
    metrics: { fetch: async () => ({}) },
    shell: sh,
    jobs: new MemoryJobs(sh),
    lock: { acquire: async () => ({ acquired: true }), release: async () => {}, holder: async () => undefined, breakLock: async () => {} },
    close: async () => {},
  };
  if (dns) b.dns = dns;
  if (unavailable) b.unavailable = { dns: unavailable };
  return b;
}

function refOf(type: WriterRecordRef['type'] = 'A'): WriterRecordRef {
  return { zoneId: 'Z1', name: 'orders.db.internal', type };
}

const base = POLLER_DEFAULTS;

async function refreshed(b: Backends, ref: WriterRecordRef | null = refOf()) {
  const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
  const poller = new Poller(b, store, { ...base, writerDns: (c) => (c.name === 'orders' && ref ? ref : undefined) });
  await poller.refreshNow();
  return { cluster: () => store.getState().clusters[0]!, poller };
}

describe('Poller: the writer record', () => {
  it('reads it once a refresh for the cluster, not once per node, and resolves an A record to the master', async () => {
    const dns = new FakeDns([db1.privateIp]);
    const { cluster, poller } = await refreshed(backends(dns));
    expect(cluster().writer).toEqual({ zoneId: 'Z1', name: 'orders.db.internal', type: 'A', values: ['127.0.5.1'], node: 'db-1', nodeId: db1.id });
    expect(cluster().findings.filter((f) => f.kind === 'writer-record')).toEqual([]);
    expect(dns.reads).toBe(1);
    await poller.refreshNow();
    expect(dns.reads).toBe(2);
  });

  it('a record at a read-only node is a CRIT finding that names the record and the node', async () => {
    const { cluster } = await refreshed(backends(new FakeDns([db2.privateIp])));
    expect(cluster().writer?.node).toBe('db-2');
    expect(cluster().findings).toContainEqual({
      kind: 'writer-record',
      level: 'CRIT',
      message: 'writer record orders.db.internal points at db-2, which is read-only: application writes fail',
      nodes: [db2.id],
    });
    expect(cluster().health.level).toBe('CRIT');
  });

  it('a record at an address of no node: node null and a CRIT finding', async () => {
    const { cluster } = await refreshed(backends(new FakeDns(['10.0.0.9'])));
    expect(cluster().writer?.node).toBeNull();
    expect(cluster().findings.find((f) => f.kind === 'writer-record')?.message).toBe(
      'writer record orders.db.internal points at 10.0.0.9, no node of this cluster: application writes go nowhere',
    );
  });

  it('a CNAME resolves by node name', async () => {
    const { cluster } = await refreshed(backends(new FakeDns(['db-1.orders.internal.'], 'CNAME')), refOf('CNAME'));
    expect(cluster().writer?.node).toBe('db-1');
    expect(cluster().findings.filter((f) => f.kind === 'writer-record')).toEqual([]);
  });

  it('a record that does not exist is a CRIT finding', async () => {
    const dns = new FakeDns([]);
    dns.record = undefined;
    const { cluster } = await refreshed(backends(dns));
    expect(cluster().writer).toMatchObject({ values: [], node: null, missing: true });
    expect(cluster().findings.find((f) => f.kind === 'writer-record')?.message).toBe(
      'writer record orders.db.internal (A) does not exist in zone Z1: applications cannot find the master',
    );
  });

  it('a failed read keeps the last values, says why, and claims nothing', async () => {
    const dns = new FakeDns([db2.privateIp]);
    const { cluster, poller } = await refreshed(backends(dns));
    expect(cluster().findings.some((f) => f.kind === 'writer-record')).toBe(true);
    dns.failWith = new Error('Throttling: Rate exceeded');
    await poller.refreshNow();
    expect(cluster().writer).toMatchObject({ values: [db2.privateIp], node: 'db-2', error: 'reading orders.db.internal failed: Throttling: Rate exceeded' });
    expect(cluster().findings.some((f) => f.kind === 'writer-record')).toBe(false);
  });

  it('on a target without DNS the cluster says why, and no finding', async () => {
    const { cluster } = await refreshed(backends(undefined, 'static inventory: no Route 53 to switch a writer record'));
    expect(cluster().writer).toMatchObject({ values: [], node: null, error: 'static inventory: no Route 53 to switch a writer record' });
    expect(cluster().findings.some((f) => f.kind === 'writer-record')).toBe(false);
  });

  it('no writer configured: no writer on the view and no read', async () => {
    const dns = new FakeDns([db1.privateIp]);
    const { cluster } = await refreshed(backends(dns), null);
    expect(cluster().writer).toBeUndefined();
    expect(dns.reads).toBe(0);
  });
});
