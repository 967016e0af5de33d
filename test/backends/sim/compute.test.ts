// Fencing on the simulated fleet, as the AWS adapter does it: stop (idempotent,
// forceable), isolate in a security group (running but unreachable), and the
// fence state a runbook's isDone reads.

import { describe, expect, it } from 'vitest';
import { parseNodetoolStatus } from '../../../src/backends/engines/cassandra.js';
import { isFenced } from '../../../src/backends/ports.js';
import { fleet, openSim, pastConnectTimeout, probeMysql } from './sim-helpers.js';

const FENCE_SG = 'sg-0fence';

/** Whether a promise has settled, after the turn in which it could have. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
}

describe('simulated isolation (Compute.isolate)', () => {
  it('leaves the master running with healthy status checks, but nothing reaches it: ssh times out, replicas lose it, its GTIDs stop', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [master, r1] = f.members(f.clusters.find((c) => c.engine === 'mysql')!.name);
    expect((await probeMysql(b, r1!)).replica!.ioThread).toBe('Yes');

    const result = await b.compute!.isolate(master!.id, FENCE_SG);

    expect(result).toEqual({ changed: true, before: [{ interfaceId: `eni-${master!.id.slice(2)}`, groups: [`sg-${f.clusters.find((c) => c.engine === 'mysql')!.name}-db`] }] });
    const inst = (await b.inventory.discover()).instances.find((i) => i.id === master!.id)!;
    expect(inst).toMatchObject({ state: 'running', statusChecks: 'ok' });
    // A security group drops silently: a timeout, not a refusal.
    await expect(pastConnectTimeout(b, b.shell.exec(master!, 'true'))).rejects.toThrow(/ETIMEDOUT/);
    const replica = (await probeMysql(b, r1!)).replica!;
    expect(replica.ioThread).toBe('Connecting');
    expect(replica.lastIoError?.message).toMatch(/\(110/);
    const frozen = (await probeMysql(b, r1!)).gtidExecuted;
    b.world.advance(60_000);
    expect((await probeMysql(b, r1!)).gtidExecuted).toBe(frozen);
  });

  it('is idempotent, and fenceState counts it only for the group asked about', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const master = f.members(f.clusters.find((c) => c.engine === 'mysql')!.name)[0]!;
    expect(await b.compute!.fenceState(master.id, { securityGroupId: FENCE_SG })).toMatchObject({ state: 'open', instanceState: 'running' });

    await b.compute!.isolate(master.id, FENCE_SG);
    const again = await b.compute!.isolate(master.id, FENCE_SG);

    expect(again).toEqual({ changed: false, before: [{ interfaceId: `eni-${master.id.slice(2)}`, groups: [FENCE_SG] }] });
    expect(await b.compute!.fenceState(master.id, { securityGroupId: FENCE_SG })).toMatchObject({ state: 'fenced', instanceState: 'running' });
    expect(await isFenced(b.compute!, master.id, { securityGroupId: FENCE_SG })).toBe(true);
    expect(await isFenced(b.compute!, master.id)).toBe(false);
    await expect(b.compute!.isolate(master.id, 'default')).rejects.toThrow(/Invalid id: "default"/);
  });

  it('keeps an isolated ring member Healthy in its group (EC2 checks the hypervisor) while its peers see it DN', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    const [node, peer] = f.members(ring.name);

    await b.compute!.isolate(node!.id, FENCE_SG);

    const member = (await b.scaling!.getGroup(ring.asg!))!.members.find((m) => m.instanceId === node!.id)!;
    expect(member.health).toBe('Healthy');
    const status = parseNodetoolStatus((await b.shell.exec(peer!, 'nodetool status')).stdout);
    expect(status.find((p) => p.address === node!.privateIp)!.status).toBe('DN');
  });
});

describe('simulated stop (Compute.stop) as a fence', () => {
  it('is fencing while stopping and fenced once stopped; stopping again is done at once', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const master = f.members(f.clusters.find((c) => c.engine === 'mysql')!.name)[0]!;

    const stopping = b.compute!.stop(master.id);
    expect(await b.compute!.fenceState(master.id)).toMatchObject({ state: 'fencing', instanceState: 'stopping' });
    b.world.advance(60_000);
    await stopping;

    expect(await b.compute!.fenceState(master.id)).toMatchObject({ state: 'fenced', instanceState: 'stopped' });
    expect(await settled(b.compute!.stop(master.id))).toBe(true);
    // The fenced tag goes on a stopped instance.
    await b.inventory.setTags(master.id, { 'nightshift:fenced': 'run-7' });
    expect((await b.inventory.discover()).instances.find((i) => i.id === master.id)!.tags['nightshift:fenced']).toBe('run-7');
  });

  it('forced, skips the clean shutdown: stopped within seconds where a clean stop takes half a minute or more', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [, r1, r2] = f.members(f.clusters.find((c) => c.engine === 'mysql')!.name);

    const clean = b.compute!.stop(r1!.id);
    const forced = b.compute!.stop(r2!.id, { force: true });
    b.world.advance(10_000);
    expect(await settled(forced)).toBe(true);
    expect(await settled(clean)).toBe(false);
    b.world.advance(30_000);
    await clean;
  });

  it('forcing an instance already stopping brings its stop forward', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const node = f.members(f.clusters.find((c) => c.engine === 'mysql')!.name)[1]!;
    const clean = b.compute!.stop(node.id);
    const forced = b.compute!.stop(node.id, { force: true });
    b.world.advance(10_000);
    expect(await settled(forced)).toBe(true);
    expect(await b.compute!.fenceState(node.id)).toMatchObject({ state: 'fenced', instanceState: 'stopped' });
    b.world.advance(30_000);
    await clean;
  });

  it('counts a terminated instance as fenced, and refuses an unknown one', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    const node = f.members(ring.name)[0]!;
    await b.scaling!.terminateInGroup(node.id);
    b.world.advance(60_000);

    expect(await b.compute!.fenceState(node.id)).toMatchObject({ state: 'fenced', instanceState: 'terminated' });
    expect(await settled(b.compute!.stop(node.id))).toBe(true);
    await expect(b.compute!.isolate(node.id, FENCE_SG)).resolves.toEqual({ changed: false, before: [] });
    await expect(b.compute!.stop('i-0000000000000dead')).rejects.toThrow(/does not exist/);
  });
});
