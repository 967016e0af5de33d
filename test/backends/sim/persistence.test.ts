// The simulated world outlives the process: tags, topology and the clock are
// in a state file a second console (or a headless run) reads; locks are
// files shared between processes; `sim reset` starts afresh.

import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSimBackends, resetSimState, statePathOf } from '../../../src/backends/sim/index.js';
import { fleet, openSim, probeMysql, sql, tempStateDir } from './sim-helpers.js';

describe('simulated world persistence', () => {
  it('keeps tags, topology and virtual time for the next process on the same state dir', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const f = await fleet(a);
    const node = f.instances.find((i) => i.tags['nightshift:engine'] === 'cassandra')!;
    await a.inventory.setTags(node.id, { 'last-repaired': '2026-11-20T01:30:00Z' });
    const replica = f.instances.find((i) => i.tags['nightshift:role'] === 'replica' && i.tags['nightshift:engine'] === 'mysql')!;
    await sql(a, replica, 'STOP SLAVE; STOP REPLICA');
    a.world.advance(3_600_000);
    const t = a.clock.now();
    await a.close();

    const path = statePathOf(stateDir, 'healthy', 1, null);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const b = await openSim({ stateDir });
    expect(b.world.instances().find((i) => i.id === node.id)!.tags['last-repaired']).toBe('2026-11-20T01:30:00Z');
    expect(b.clock.now()).toBeGreaterThanOrEqual(t);
    const facts = await probeMysql(b, replica);
    expect(facts.replica).toMatchObject({ ioThread: 'No', sqlThread: 'No', lagSeconds: null });
  });

  it('lets a second world object on the same file see the first one\'s writes at once', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const b = await openSim({ stateDir });
    const id = a.world.instances()[0]!.id;
    await a.inventory.setTags(id, { owner: 'a' });
    await b.inventory.setTags(id, { other: 'b' });
    const tags = (await a.inventory.discover()).instances.find((i) => i.id === id)!.tags;
    expect(tags).toMatchObject({ owner: 'a', other: 'b' });
  });

  it('resets a world: the file goes and the next start is generated afresh', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir, seed: 5 });
    const id = a.world.instances()[0]!.id;
    await a.inventory.setTags(id, { touched: 'yes' });
    await a.close();
    const removed = resetSimState(stateDir, 'healthy', 5);
    expect(removed).toHaveLength(1);
    expect(existsSync(removed[0]!)).toBe(false);
    const b = await openSim({ stateDir, seed: 5 });
    expect(b.world.instances()[0]!.tags.touched).toBeUndefined();
  });

  it('refuses an unknown scenario with the list of known ones', async () => {
    await expect(createSimBackends({ scenario: 'nope', seed: 1, speed: 1, stateDir: tempStateDir() })).rejects.toThrow(/unknown scenario "nope".*healthy/);
  });
});

describe('simulated locks', () => {
  const owner = (runId: string) => ({ runId, owner: 'oncall@bastion', startedAt: '2026-11-20T01:00:00Z' });

  it('refuses a second acquire, naming the holder, across backend sets', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const b = await openSim({ stateDir });
    expect(await a.lock.acquire({ name: 'orders-db' }, owner('run-1'))).toEqual({ acquired: true });
    expect(await b.lock.acquire({ name: 'orders-db' }, owner('run-2'))).toEqual({ acquired: false, heldBy: owner('run-1') });
    expect(await b.lock.holder({ name: 'orders-db' })).toEqual(owner('run-1'));
    await b.lock.release({ name: 'orders-db' }, 'run-2');
    expect(await a.lock.holder({ name: 'orders-db' })).toEqual(owner('run-1'));
    await a.lock.release({ name: 'orders-db' }, 'run-1');
    expect(await b.lock.acquire({ name: 'orders-db' }, owner('run-2'))).toEqual({ acquired: true });
  });

  it('breaks only the lock of the named run', async () => {
    const a = await openSim();
    await a.lock.acquire({ name: 'ring' }, owner('run-1'));
    await expect(a.lock.breakLock({ name: 'ring' }, 'run-9')).rejects.toThrow(/held by run run-1/);
    await a.lock.breakLock({ name: 'ring' }, 'run-1');
    expect(await a.lock.holder({ name: 'ring' })).toBeUndefined();
  });

  it('gives exactly one winner when many acquire at once', async () => {
    const stateDir = tempStateDir();
    const sets = await Promise.all([0, 1, 2, 3].map(() => openSim({ stateDir })));
    const results = await Promise.all(sets.map((s, i) => s.lock.acquire({ name: 'web' }, owner(`run-${i}`))));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });
});
