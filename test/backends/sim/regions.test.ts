// The simulated fleet over several regions (`--regions N`), a product
// feature: same seed, same fleet; the first MySQL cluster's name repeats in
// every region and each is a cluster of its own (discovery, writer records,
// replication, locks); a throttled region fails alone; `--region` narrows.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsError } from '../../../src/backends/aws/errors.js';
import { generateFleet, planRegions } from '../../../src/backends/sim/fleet.js';
import { createSimBackends, resetSimState, statePathOf, type SimBackends } from '../../../src/backends/sim/index.js';
import { clusterKey, lockKey, type ScopedName } from '../../../src/domain/scope.js';
import type { ClusterRef, Instance } from '../../../src/domain/types.js';
import { openSim, pastConnectTimeout, probeMysql, tempStateDir } from './sim-helpers.js';

const US = 'us-east-1';
const EU = 'eu-west-1';

/** The two clusters of the name that repeats (the first MySQL cluster's), us-east-1's first. */
async function twins(b: SimBackends): Promise<{ us: ClusterRef; eu: ClusterRef; byId: Map<string, Instance> }> {
  const d = await b.inventory.discover();
  const byId = new Map(d.instances.map((i) => [i.id, i]));
  const first = d.clusters.find((c) => c.engine === 'mysql' && c.region === US)!;
  const same = d.clusters.filter((c) => c.name === first.name);
  return { us: same.find((c) => c.region === US)!, eu: same.find((c) => c.region === EU)!, byId };
}

const masterOf = (c: ClusterRef, byId: Map<string, Instance>) => c.instanceIds.map((id) => byId.get(id)!).find((i) => i.tags['nightshift:role'] === 'master')!;

describe('a simulated fleet of two regions', () => {
  it('gives the same fleet for the same seed, and another than the one-region fleet', async () => {
    const a = await openSim({ seed: 42, regions: 2 });
    const b = await openSim({ seed: 42, regions: 2 });
    expect(b.world.instances()).toEqual(a.world.instances());
    expect((await b.inventory.discover()).clusters).toEqual((await a.inventory.discover()).clusters);
    const one = await openSim({ seed: 42 });
    expect(one.world.instances().map((i) => i.id)).not.toEqual(a.world.instances().map((i) => i.id));
    expect(a.target).toEqual({ kind: 'sim', scenario: 'healthy', seed: 42, speed: 1, regions: [US, EU] });
  });

  it('puts every instance and cluster in a region, with that region\'s AZs and addresses of its own on loopback', async () => {
    const b = await openSim({ regions: 2 });
    const d = await b.inventory.discover();
    expect(d.instances.length).toBe(44);
    for (const i of d.instances) {
      expect([US, EU]).toContain(i.region);
      expect(i.az).toMatch(new RegExp(`^${i.region}[abc]$`));
      expect(i.privateIp).toMatch(/^127\.\d+\.\d+\.\d+$/);
    }
    for (const c of d.clusters) {
      expect([US, EU]).toContain(c.region);
      for (const id of c.instanceIds) expect(d.instances.find((i) => i.id === id)!.region).toBe(c.region);
    }
    expect(new Set(d.instances.map((i) => i.privateIp)).size).toBe(d.instances.length);
    // A block of second octets per region: no address of one region is in the other's /16s.
    const octets = (r: string) => new Set(d.instances.filter((i) => i.region === r).map((i) => i.privateIp.split('.')[1]));
    for (const o of octets(US)) expect(octets(EU).has(o)).toBe(false);
    // A ring's datacenter is its region, as Ec2Snitch names it.
    const ring = d.clusters.find((c) => c.engine === 'cassandra' && c.region === EU)!;
    const status = await b.shell.exec(d.instances.find((i) => i.id === ring.instanceIds[0])!, 'nodetool status');
    expect(status.stdout).toContain(`Datacenter: ${EU}`);
  });

  it('repeats the first MySQL cluster\'s name in every region, with --nodes the total', () => {
    for (const count of [2, 3, 4]) {
      const plans = planRegions(9, 5000, count);
      expect(plans).toHaveLength(count);
      const total = plans.flat().reduce((n, c) => n + (c.kind === 'mysql' ? c.replicas + 1 : c.size), 0);
      expect(total).toBe(5000);
      const first = (p: (typeof plans)[number]) => p.find((c) => c.kind === 'mysql')!.name;
      for (const p of plans) {
        expect(first(p)).toBe(first(plans[0]!));
        expect(new Set(p.map((c) => c.name)).size).toBe(p.length);
      }
      const w = generateFleet('healthy', 9, 1000, count);
      expect(Object.keys(w.instances)).toHaveLength(1000);
      expect(w.regions).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'].slice(0, count));
    }
  });

  it('makes two clusters of the same name: own members, master, writer record, redundancy target and lock', async () => {
    const b = await openSim({ regions: 2 });
    const { us, eu, byId } = await twins(b);
    expect(us.name).toBe(eu.name);
    expect(us.instanceIds).toHaveLength(3);
    expect(eu.instanceIds).toHaveLength(3);
    expect(us.instanceIds.filter((id) => eu.instanceIds.includes(id))).toEqual([]);
    // Same Names in both regions, as two real fleets built from one template would have.
    expect(us.instanceIds.map((id) => byId.get(id)!.name).sort()).toEqual(eu.instanceIds.map((id) => byId.get(id)!.name).sort());

    const usRec = b.writerDns({ name: us.name, region: US })!;
    const euRec = b.writerDns({ name: eu.name, region: EU })!;
    expect(usRec.name).toBe(`${us.name}.${US}.writer.sim.internal`);
    expect(euRec.name).toBe(`${eu.name}.${EU}.writer.sim.internal`);
    expect((await b.dns!.getRecord(usRec.zoneId, usRec.name, 'A'))!.values).toEqual([masterOf(us, byId).privateIp]);
    expect((await b.dns!.getRecord(euRec.zoneId, euRec.name, 'A'))!.values).toEqual([masterOf(eu, byId).privateIp]);
    // The bare name is neither: it must not pick one for a caller that forgot the region.
    expect(b.writerDns({ name: us.name })).toBeUndefined();
    expect(b.targetReplicas({ name: us.name, region: US })).toBe(2);
    expect(b.targetReplicas({ name: us.name, region: EU })).toBe(2);
    expect(b.targetReplicas({ name: us.name })).toBeUndefined();
    expect(b.replicationCredentials({ name: eu.name, region: EU })).toBeDefined();
    expect(b.replicationCredentials({ name: eu.name })).toBeUndefined();
    // A bare name from a caller typed before scopes (runbooks' master-change.ts) finds nothing here, and its cluster in a one-region world.
    const bare = eu.name as unknown as ScopedName;
    expect(b.replicationCredentials(bare)).toBeUndefined();
    const one = await openSim();
    const oneMysql = (await one.inventory.discover()).clusters.find((c) => c.engine === 'mysql')!;
    expect(one.replicationCredentials(oneMysql.name as unknown as ScopedName)).toBeDefined();
    expect(one.writerDns(oneMysql.name as unknown as ScopedName)).toEqual(one.writerDns({ name: oneMysql.name }));

    const owner = (runId: string) => ({ runId, owner: 'ops@bastion', startedAt: '2026-11-20T01:00:00Z' });
    expect(await b.lock.acquire({ name: us.name, region: US }, owner('run-us'))).toEqual({ acquired: true });
    expect(await b.lock.acquire({ name: eu.name, region: EU }, owner('run-eu'))).toEqual({ acquired: true });
    expect(await b.lock.acquire({ name: eu.name, region: EU }, owner('run-2'))).toEqual({ acquired: false, heldBy: owner('run-eu') });
    const lockDir = join(b.world.stateDir, 'sim', 'locks');
    const files = readdirSync(join(lockDir, readdirSync(lockDir)[0]!)).sort();
    expect(files).toEqual([`${lockKey({ name: eu.name, region: EU })}.lock`, `${lockKey({ name: us.name, region: US })}.lock`].sort());
  });

  it('keeps the two clusters\' replication apart: one master down leaves the other region\'s replicas streaming', async () => {
    const b = await openSim({ regions: 2 });
    const { us, eu, byId } = await twins(b);
    const euMaster = masterOf(eu, byId);
    b.world.inject({ kind: 'kill-node', node: euMaster.id });
    b.world.advance(60_000);
    for (const id of us.instanceIds) {
      const m = await probeMysql(b, byId.get(id)!);
      if (m.replica) {
        expect(m.replica).toMatchObject({ sourceHost: masterOf(us, byId).privateIp, ioThread: 'Yes', sqlThread: 'Yes' });
      } else {
        expect(m.readOnly).toBe(false);
      }
    }
    for (const id of eu.instanceIds.filter((i) => i !== euMaster.id)) {
      const m = await probeMysql(b, byId.get(id)!);
      expect(m.replica).toMatchObject({ sourceHost: euMaster.privateIp, ioThread: 'Connecting' });
    }
    expect(b.world.view().clusters[clusterKey({ name: us.name, region: US })]!.region).toBe(US);
  });

  it('refuses a Name two regions share where it must pick one instance, and takes the address', async () => {
    const b = await openSim({ regions: 2 });
    const { eu, byId } = await twins(b);
    const node = masterOf(eu, byId);
    expect(() => b.world.inject({ kind: 'stop-mysqld', node: node.name })).toThrow(
      new RegExp(`^the simulated instance name "${node.name}" is in 2 regions: .*${node.id} \\(${node.privateIp.replace(/\./g, '\\.')}, ${EU}\\).*; name one by its id or address$`),
    );
    b.world.inject({ kind: 'stop-mysqld', node: node.privateIp });
    expect(b.world.faults().map((f) => ('node' in f ? f.node : undefined))).toEqual([node.id]);
  });

  it('keeps its own world file beside the one-region world of the seed, and reopens it as left', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ regions: 2, stateDir });
    await openSim({ stateDir });
    expect(existsSync(statePathOf(stateDir, 'healthy', 1, null, 2))).toBe(true);
    expect(existsSync(statePathOf(stateDir, 'healthy', 1, null))).toBe(true);
    const { eu } = await twins(a);
    a.world.inject({ kind: 'kill-node', node: eu.instanceIds[0]! });
    const again = await openSim({ regions: 2, stateDir });
    expect(again.world.faults()).toEqual(a.world.faults());
    expect((await again.inventory.discover()).clusters).toEqual((await a.inventory.discover()).clusters);
  });
});

describe('a one-region world', () => {
  it('is the world it was before regions: no region anywhere, no scopes, its file name unchanged', async () => {
    const w = generateFleet('healthy', 5, null);
    expect(generateFleet('healthy', 5, null, 1)).toEqual(w);
    expect(JSON.stringify(w)).not.toMatch(/"regions?"/);
    const stateDir = tempStateDir();
    const b = await openSim({ seed: 5, stateDir });
    const d = await b.inventory.discover();
    expect(d.scopes).toBeUndefined();
    expect(d.instances.every((i) => i.region === undefined)).toBe(true);
    expect(d.clusters.every((c) => c.region === undefined)).toBe(true);
    expect(b.target).toEqual({ kind: 'sim', scenario: 'healthy', seed: 5, speed: 1 });
    expect(statePathOf(stateDir, 'healthy', 5, null)).toBe(join(stateDir, 'sim', 'healthy-5.json'));
    expect(b.world.statePath).toBe(join(stateDir, 'sim', 'healthy-5.json'));
  });

  it('is reset by `sim reset` together with the worlds of several regions of its seed', async () => {
    const stateDir = tempStateDir();
    const two = await openSim({ regions: 2, stateDir });
    const one = await openSim({ stateDir });
    await two.close();
    await one.close();
    expect(resetSimState(stateDir, 'healthy', 1).sort()).toEqual([statePathOf(stateDir, 'healthy', 1, null), statePathOf(stateDir, 'healthy', 1, null, 2)].sort());
  });
});

describe('a region throttled alone', () => {
  it('keeps the refused region\'s last good answer, marked in scopes, while the other stays fresh', async () => {
    const b = await openSim({ regions: 2 });
    const before = await b.inventory.discover();
    const firstAt = b.world.now();
    expect(before.scopes).toEqual([
      { region: US, at: firstAt },
      { region: EU, at: firstAt },
    ]);
    b.world.inject({ kind: 'api-throttled', region: EU, calls: 2 });
    b.world.advance(30_000);
    // A change in us-east-1 that a fresh answer shows.
    const usNode = before.instances.find((i) => i.region === US)!;
    await b.inventory.setTags(usNode.id, { team: 'night' });

    const during = await b.inventory.discover();
    const now = b.world.now();
    expect(during.scopes).toEqual([
      { region: US, at: now },
      { region: EU, at: firstAt, error: expect.stringMatching(/^AWS is throttling ec2:DescribeInstances in eu-west-1 \(RequestLimitExceeded\)/), throttled: true },
    ]);
    expect(during.instances.find((i) => i.id === usNode.id)!.tags.team).toBe('night');
    expect(during.instances.filter((i) => i.region === EU)).toEqual(before.instances.filter((i) => i.region === EU));
    expect(during.clusters).toEqual(before.clusters);
    expect(b.apiThrottles!()).toEqual([expect.objectContaining({ region: EU, call: 'EC2 DescribeInstances', count: 1 })]);

    await b.inventory.discover();
    const after = await b.inventory.discover();
    expect(after.scopes!.map((s) => s.error)).toEqual([undefined, undefined]);
    expect(b.world.faults()).toEqual([]);
  });

  it('fails discovery only when every region in view is refused', async () => {
    const b = await openSim({ regions: 2 });
    b.world.inject({ kind: 'api-throttled' });
    const err = await b.inventory.discover().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ kind: 'throttled', region: US });
    expect(b.apiThrottles!().map((t) => t.region)).toEqual([US, EU]);

    const narrowed = await openSim({ regions: 2, view: [EU], stateDir: tempStateDir() });
    narrowed.world.inject({ kind: 'api-throttled', region: EU });
    await expect(narrowed.inventory.discover()).rejects.toMatchObject({ kind: 'throttled', region: EU });
  });

  it('refuses a throttle of a region the fleet does not model', async () => {
    const b = await openSim({ regions: 2 });
    expect(() => b.world.inject({ kind: 'api-throttled', region: 'us-west-2' })).toThrow('the simulated fleet has no region "us-west-2"; its regions: us-east-1, eu-west-1');
    const one = await openSim();
    expect(() => one.world.inject({ kind: 'api-throttled', region: US })).toThrow(/it models one region, which has no name/);
  });
});

describe('--region on the simulated fleet', () => {
  it('lists only the regions in view, and acts only there', async () => {
    const b = await openSim({ regions: 2, view: [EU] });
    const d = await b.inventory.discover();
    expect(d.instances.length).toBe(22);
    expect(new Set(d.instances.map((i) => i.region))).toEqual(new Set([EU]));
    expect(new Set(d.clusters.map((c) => c.region))).toEqual(new Set([EU]));
    expect(d.scopes).toEqual([{ region: EU, at: b.world.now() }]);
    expect(b.target).toMatchObject({ regions: [EU] });

    const all = await openSim({ regions: 2 });
    const usGroup = (await all.inventory.discover()).groups!.find((g) => g.name.includes(US))!;
    expect(await all.scaling!.getGroup(usGroup.name)).toBeDefined();
    expect(await b.scaling!.getGroup(usGroup.name)).toBeUndefined();
    expect(new Set((await b.compute!.find({ 'nightshift:engine': 'mysql' })).map((i) => i.region))).toEqual(new Set([EU]));
    const { us } = await twins(all);
    await expect(b.compute!.launch({ launchTemplate: `${us.name}-lt`, az: `${US}a`, tags: { 'nightshift:cluster': us.name } })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    const launched = await b.compute!.launch({ launchTemplate: `${us.name}-lt`, az: `${EU}b`, tags: { 'nightshift:cluster': us.name } });
    expect(launched).toMatchObject({ region: EU, az: `${EU}b` });
    expect(launched.tags['nightshift:cluster']).toBe(us.name);
    // Named as its cluster's members are, without the region (the key is the world's, not a Name).
    expect(launched.name).toBe(`${us.name}-04`);
    const lt = b.world.view().launchTemplates[launched.tags['aws:ec2launchtemplate:id']!]!;
    expect(lt.region).toBe(EU);
  });

  it('refuses a region the fleet does not model, listing its regions', async () => {
    const stateDir = tempStateDir();
    await expect(createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, regions: 2, view: ['us-west-2'] })).rejects.toThrow(
      'the simulated fleet has no region us-west-2; its regions: us-east-1, eu-west-1',
    );
    await expect(createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, view: [US] })).rejects.toThrow(/models one region, which --region cannot name/);
  });
});

describe('the regions-split scenario', () => {
  it('opens on two regions: the eu-west-1 twin\'s master hung, the us-east-1 one healthy', async () => {
    const b = await openSim({ scenario: 'regions-split' });
    expect(b.world.regions).toEqual([US, EU]);
    const { us, eu, byId } = await twins(b);
    const euMaster = masterOf(eu, byId);
    await expect(pastConnectTimeout(b, probeMysql(b, euMaster))).rejects.toThrow(/ETIMEDOUT/);
    expect(byId.get(euMaster.id)!.statusChecks).toBe('impaired');
    const usMaster = await probeMysql(b, masterOf(us, byId));
    expect(usMaster.readOnly).toBe(false);
    for (const id of eu.instanceIds.filter((i) => i !== euMaster.id)) {
      expect((await probeMysql(b, byId.get(id)!)).replica).toMatchObject({ ioThread: 'Connecting', lastIoError: { code: 2003 } });
    }
    await expect(openSim({ scenario: 'regions-split', regions: 1 })).rejects.toThrow('the scenario regions-split needs 2 regions; open it with --regions 2 (or leave --regions out)');
  });
});
