// The simulated fleet's cloud ports: Route 53 compare-and-swap, Auto Scaling
// replacement, EC2 stop, EBS rules, metrics over virtual time.

import { describe, expect, it } from 'vitest';
import { parseNodetoolStatus } from '../../../src/backends/engines/cassandra.js';
import { fleet, openSim, pastConnectTimeout, probeMysql } from './sim-helpers.js';

describe('simulated DNS', () => {
  it('swaps the writer record only when it is what the caller last saw, then reports INSYNC', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const cluster = f.clusters.find((c) => c.engine === 'mysql')!;
    const [master, r1, r2] = f.members(cluster.name);
    const ref = b.world.writerRecord(cluster.name)!;
    const current = (await b.dns!.getRecord(ref.zoneId, ref.name, 'A'))!;
    expect(current.values).toEqual([master!.privateIp]);
    const stale = { ...current, values: [r2!.privateIp] };
    await expect(b.dns!.swapRecord(stale, { ...current, values: [r1!.privateIp] })).rejects.toThrow(/do not match the current values/);
    const progress: string[] = [];
    const swap = b.dns!.swapRecord(current, { ...current, values: [r1!.privateIp] }, { onProgress: (s) => progress.push(s) });
    b.world.advance(120_000);
    const done = await swap;
    expect(done.changeId).toMatch(/^\/change\/C[0-9A-F]+$/);
    expect(done.insyncAfterMs).toBeGreaterThan(0);
    expect(progress).toEqual(['PENDING', 'INSYNC']);
    expect((await b.dns!.getRecord(ref.zoneId, ref.name, 'A'))!.values).toEqual([r1!.privateIp]);
    // The old record is gone: swapping from it again fails.
    await expect(b.dns!.swapRecord(current, { ...current, values: [r2!.privateIp] })).rejects.toThrow(/InvalidChangeBatch|do not match/);
  });

  it('sends application writes where the record points: a read-only old master stops gaining GTIDs', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const master = f.members(f.clusters[0]!.name)[0]!;
    const before = await probeMysql(b, master);
    b.world.advance(60_000);
    const after = await probeMysql(b, master);
    expect(after.gtidExecuted).not.toBe(before.gtidExecuted);
    await b.shell.exec(master, "mysql --batch -e 'SET GLOBAL read_only=1'");
    const frozen = (await probeMysql(b, master)).gtidExecuted;
    b.world.advance(60_000);
    expect((await probeMysql(b, master)).gtidExecuted).toBe(frozen);
  });
});

describe('simulated Auto Scaling and EC2', () => {
  it('replaces a terminated ring member: DN at first, the replacement InService and UN minutes later', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    const nodes = f.members(ring.name);
    const group = (await b.scaling!.getGroup(ring.asg!))!;
    expect(group.desired).toBe(6);
    await b.scaling!.terminateInGroup(nodes[0]!.id);
    const during = parseNodetoolStatus((await b.shell.exec(nodes[1]!, 'nodetool status')).stdout);
    expect(during.find((p) => p.address === nodes[0]!.privateIp)!.status).toBe('DN');
    const waiting = b.scaling!.waitForReplacement(ring.asg!, nodes.map((n) => n.id), { timeoutMs: 30 * 60_000 });
    // Advance a minute at a time and let the waiter take its turn, as a clock does.
    for (let i = 0; i < 20; i++) {
      b.world.advance(60_000);
      await new Promise((r) => setImmediate(r));
    }
    const fresh = await waiting;
    expect(nodes.map((n) => n.id)).not.toContain(fresh);
    expect(fresh).toMatch(/^i-[0-9a-f]{17}$/);
    const after = (await b.scaling!.getGroup(ring.asg!))!;
    expect(after.desired).toBe(6);
    expect(after.members.map((m) => m.instanceId)).not.toContain(nodes[0]!.id);
    const ringNow = parseNodetoolStatus((await b.shell.exec(nodes[1]!, 'nodetool status')).stdout);
    expect(ringNow).toHaveLength(6);
    expect(ringNow.every((p) => p.status === 'UN')).toBe(true);
    const inst = (await b.inventory.discover()).instances.find((i) => i.id === fresh)!;
    expect(inst.privateIp.startsWith('127.')).toBe(true);
    expect(inst.tags['nightshift:cluster']).toBe(ring.name);
  });

  it('stops (fences) an instance: it goes unreachable and its replicas lose it', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [master, r1] = f.members(f.clusters[1]!.name);
    const stopping = b.compute!.stop(master!.id);
    b.world.advance(60_000);
    await stopping;
    expect((await b.inventory.discover()).instances.find((i) => i.id === master!.id)!.state).toBe('stopped');
    await expect(pastConnectTimeout(b, b.shell.exec(master!, 'true'))).rejects.toThrow(/ETIMEDOUT/);
    expect((await probeMysql(b, r1!)).replica!.ioThread).toBe('Connecting');
  });

  it('keeps EBS rules: attach needs the same AZ, delete needs a detached volume', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const node = f.instances[0]!;
    const other = f.instances.find((i) => i.az !== node.az)!;
    const creating = b.volumes!.create({ az: node.az, sizeGiB: 100 });
    b.world.advance(30_000);
    const vol = await creating;
    expect(vol).toMatchObject({ state: 'available', az: node.az });
    await expect(b.volumes!.attach(vol.id, other.id, '/dev/xvdf')).rejects.toThrow(/same availability zone/);
    const attaching = b.volumes!.attach(vol.id, node.id, '/dev/xvdf');
    b.world.advance(30_000);
    await attaching;
    await expect(b.volumes!.remove(vol.id)).rejects.toThrow(/attached/);
    // A snapshot starts pending; waitSnapshot follows it to the end.
    const snap = await b.volumes!.snapshot(vol.id);
    expect(snap.state).toBe('pending');
    const waiting = b.volumes!.waitSnapshot(snap.id);
    b.world.advance(3_600_000);
    expect((await waiting).state).toBe('completed');
  });
});

describe('simulated metrics', () => {
  it('gives a per-minute CPU history that moves with virtual time and is the same for the same seed', async () => {
    const a = await openSim();
    const b = await openSim();
    const ids = a.world.instances().map((i) => i.id);
    const ma = await a.metrics.fetch({ instanceIds: ids, minutes: 30 });
    const mb = await b.metrics.fetch({ instanceIds: ids, minutes: 30 });
    expect(ma).toEqual(mb);
    const cpu = ma[ids[0]!]!.cpu;
    expect(cpu).toHaveLength(30);
    expect(new Set(cpu.map((p) => p.v)).size).toBeGreaterThan(5);
    for (const p of cpu) expect(p.v).toBeGreaterThan(0);
    a.world.advance(10 * 60_000);
    const later = (await a.metrics.fetch({ instanceIds: ids, minutes: 30 }))[ids[0]!]!.cpu;
    expect(later.at(-1)!.t - cpu.at(-1)!.t).toBe(10 * 60_000);
  });
});
