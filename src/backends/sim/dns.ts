// Route 53 on the simulated fleet: a compare-and-swap that fails when the
// record is not exactly what the caller last saw, then PENDING until INSYNC a
// few virtual seconds later. Application writes follow the writer record.

import { clusterKey } from '../../domain/scope.js';
import type { CallOptions, Dns, DnsRecord } from '../ports.js';
import { Prng, hash32 } from './prng.js';
import { updateWriters } from './replication.js';
import { dnsKey, normaliseDnsName } from './state.js';
import type { SimWorld } from './world.js';

export class SimDnsError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

function same(a: DnsRecord, b: DnsRecord): boolean {
  const va = [...a.values].sort();
  const vb = [...b.values].sort();
  return a.ttl === b.ttl && a.type === b.type && va.length === vb.length && va.every((v, i) => v === vb[i]);
}

function copy(r: DnsRecord): DnsRecord {
  return { zoneId: r.zoneId, name: r.name, type: r.type, ttl: r.ttl, values: [...r.values] };
}

export class SimDns implements Dns {
  constructor(private readonly world: SimWorld) {}

  async getRecord(zoneId: string, name: string, type: DnsRecord['type'], opts?: CallOptions): Promise<DnsRecord | undefined> {
    opts?.signal?.throwIfAborted();
    const rec = this.world.view().dns[dnsKey(zoneId, name, type)];
    return rec ? copy(rec) : undefined;
  }

  async swapRecord(
    current: DnsRecord,
    next: DnsRecord,
    opts?: CallOptions & { onProgress?: (status: string) => void },
  ): Promise<{ changeId: string; insyncAfterMs: number }> {
    opts?.signal?.throwIfAborted();
    const world = this.world;
    const { changeId, submittedAt, insyncAt } = world.mutate((w, t) => {
      if (current.zoneId !== next.zoneId) throw new SimDnsError('InvalidInput', 'both records of one change batch must be in the same hosted zone');
      const fromKey = dnsKey(current.zoneId, current.name, current.type);
      const toKey = dnsKey(next.zoneId, next.name, next.type);
      const rec = w.dns[fromKey];
      const label = `[name='${normaliseDnsName(current.name)}.', type='${current.type}']`;
      if (!rec) throw new SimDnsError('InvalidChangeBatch', `[Tried to delete resource record set ${label} but it was not found]`);
      if (!same(rec, current)) {
        throw new SimDnsError('InvalidChangeBatch', `[Tried to delete resource record set ${label} but the values provided do not match the current values]`);
      }
      if (toKey !== fromKey && w.dns[toKey]) {
        throw new SimDnsError('InvalidChangeBatch', `[Tried to create resource record set [name='${normaliseDnsName(next.name)}.', type='${next.type}'] but it already exists]`);
      }
      delete w.dns[fromKey];
      const prng = new Prng(hash32(w.seed, 4, ++w.counters.change));
      const id = `/change/C${prng.hex(20).toUpperCase()}`;
      const insync = t + prng.int(15, 60) * 1000;
      w.dns[toKey] = { ...copy(next), changeId: id, insyncAt: insync };
      for (const c of Object.values(w.clusters)) {
        if (c.writerDns !== fromKey) continue;
        c.writerDns = toKey;
        updateWriters(world.env, clusterKey(c), t);
      }
      return { changeId: id, submittedAt: t, insyncAt: insync };
    });
    opts?.onProgress?.('PENDING');
    await world.clock.sleepUntil(insyncAt, opts?.signal);
    opts?.onProgress?.('INSYNC');
    return { changeId, insyncAfterMs: insyncAt - submittedAt };
  }
}
