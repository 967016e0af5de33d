// Several regions and accounts in one view, each region (and each profile's
// region) answered by its own mocked clients: same-named clusters stay two
// clusters, a failing or throttled scope goes stale alone, several profiles
// put their account on every ref, a lock touches only its own region, and the
// per-refresh call budget holds per region.

import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSubnetsCommand,
  DescribeVolumeStatusCommand,
  EC2Client,
  RunInstancesCommand,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, createAwsClients, type AwsClients } from '../../../src/backends/aws/index.js';
import type { RegionClients } from '../../../src/backends/aws/clients.js';
import { LOCK_TAG } from '../../../src/backends/aws/lock.js';
import type { LockOwner } from '../../../src/backends/ports.js';
import { awsConfig, deleteTagsIn, ec2Instance, unreachableShell, virtualClock, type FleetNode } from '../../helpers/aws-fleet.js';

const CREDENTIALS = { accessKeyId: 'AKIDNIGHTSHIFTTEST', secretAccessKey: 'not-a-secret' };

function throttled(): Error {
  return Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503, requestId: 'req-throttled' } });
}

function denied(message: string): Error {
  return Object.assign(new Error(message), { name: 'AccessDenied', $metadata: { httpStatusCode: 403, requestId: 'req-denied' } });
}

/** A MySQL cluster of three in one region, masters first. */
function mysql(name: string, region: string, prefix: string, ipBlock: number): FleetNode[] {
  return [1, 2, 3].map((k) => ({
    id: `i-0${prefix}${'0'.repeat(14)}${k}`,
    name: `${name}-${region}-${k}`,
    ip: `127.0.${ipBlock}.${k}`,
    az: `${region}${'abc'[k - 1]}`,
    cluster: name,
    engine: 'mysql' as const,
    role: k === 1 ? 'master' : 'replica',
  }));
}

const mockEc2 = (c: EC2Client) => mockClient(c);
const mockCloudWatch = (c: CloudWatchClient) => mockClient(c);
const mockSts = (c: STSClient) => mockClient(c);
const mockRoute53 = (c: Route53Client) => mockClient(c);

interface FakeScope {
  ec2: ReturnType<typeof mockEc2>;
  cloudwatch: ReturnType<typeof mockCloudWatch>;
  tags: Map<string, Record<string, string>>;
  /** While set, DescribeInstances fails with it (a region down, or throttled). */
  failWith?: () => Error;
}

/**
 * One scope's EC2 and CloudWatch answering with its own nodes only: a
 * region's DescribeInstances never lists another region's instances, and
 * its tags are its own.
 */
function fakeScope(r: RegionClients, nodes: FleetNode[]): FakeScope {
  const ec2 = mockClient(r.ec2);
  const cloudwatch = mockClient(r.cloudwatch);
  mockClient(r.autoscaling).on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  const tags = new Map(nodes.map((n) => [n.id, Object.fromEntries((ec2Instance(n).Tags ?? []).map((t) => [t.Key!, t.Value!]))]));
  const scope: FakeScope = { ec2, cloudwatch, tags };
  const describe = (n: FleetNode): Ec2Instance => ({ ...ec2Instance(n), Tags: Object.entries(tags.get(n.id) ?? {}).map(([Key, Value]) => ({ Key, Value })) });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[]; NextToken?: string; MaxResults?: number }) => {
    if (scope.failWith) throw scope.failWith();
    const wanted = input.InstanceIds ? nodes.filter((n) => input.InstanceIds!.includes(n.id)) : nodes;
    // Pages as EC2 gives them: MaxResults a page, NextToken the offset.
    const from = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? wanted.length;
    const page = wanted.slice(from, from + size);
    const next = from + size < wanted.length ? String(from + size) : undefined;
    return { Reservations: [{ Instances: page.map(describe) }], ...(next ? { NextToken: next } : {}) };
  });
  ec2.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds?: string[]; NextToken?: string; MaxResults?: number }) => {
    const wanted = input.InstanceIds ? nodes.filter((n) => input.InstanceIds!.includes(n.id)) : nodes;
    const from = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? wanted.length;
    const next = from + size < wanted.length ? String(from + size) : undefined;
    return {
      InstanceStatuses: wanted.slice(from, from + size).map((n) => ({ InstanceId: n.id, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } })),
      ...(next ? { NextToken: next } : {}),
    };
  });
  ec2.on(DescribeVolumeStatusCommand).resolves({ VolumeStatuses: [] });
  ec2.on(CreateTagsCommand).callsFake((input: { Resources: string[]; Tags: Array<{ Key: string; Value: string }> }) => {
    for (const id of input.Resources) {
      const t = tags.get(id);
      // EC2 answers for its own region's instances only.
      if (!t) throw Object.assign(new Error(`The instance ID '${id}' does not exist`), { name: 'InvalidInstanceID.NotFound', $metadata: { httpStatusCode: 400 } });
      for (const tag of input.Tags) t[tag.Key] = tag.Value;
    }
    return {};
  });
  ec2.on(DeleteTagsCommand).callsFake(deleteTagsIn(tags));
  cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: Array<{ Id: string }>; EndTime: Date }) => ({
    MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, Timestamps: [new Date(input.EndTime)], Values: [r.region === 'us-east-1' ? 10 : 90] })),
  }));
  return scope;
}

/** One profile's clients over these regions, STS and Route 53 mocked on the instances (never the class). */
function profileClients(profile: string, regions: string[], account: string | (() => Error)): AwsClients {
  const clients = createAwsClients({ regions, profile, maxAttempts: 1, credentials: CREDENTIALS });
  const sts = mockClient(clients.sts);
  stsMocks.set(clients, sts);
  if (typeof account === 'string') sts.on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:aws:sts::${account}:assumed-role/oncall/me` });
  else sts.on(GetCallerIdentityCommand).callsFake(() => { throw account(); });
  route53Mocks.set(clients, mockClient(clients.route53));
  return clients;
}

const stsMocks = new Map<AwsClients, ReturnType<typeof mockSts>>();
const route53Mocks = new Map<AwsClients, ReturnType<typeof mockRoute53>>();

beforeEach(() => {
  // Class-level mocks left by other files would answer for our instances; these tests mock each instance.
  mockClient(EC2Client).restore();
  mockClient(CloudWatchClient).restore();
  mockClient(AutoScalingClient).restore();
  mockClient(Route53Client).restore();
  mockClient(STSClient).restore();
});

const EAST = mysql('orders', 'us-east-1', 'e', 1);
const WEST = mysql('orders', 'eu-west-1', 'w', 2);
const regions = ['us-east-1', 'eu-west-1'];
/** No writer record for orders: its lock is the lease tag on its members. */
const twoRegions = (extra: Parameters<typeof awsConfig>[0] = {}) => awsConfig({ aws: { regions, profile: 'prod' }, clusters: {}, ...extra });

async function twoRegionFleet(clock = virtualClock()) {
  const clients = profileClients('prod', regions, '111111111111');
  const east = fakeScope(clients.regional[0]!, EAST);
  const west = fakeScope(clients.regional[1]!, WEST);
  const b = await createAwsBackends(twoRegions(), { shell: unreachableShell, clock, clients });
  return { b, east, west, clock };
}

describe('several regions', () => {
  it('keeps `orders` in us-east-1 and in eu-west-1 as two clusters, each with its own master and region', async () => {
    const { b } = await twoRegionFleet();
    const found = await b.inventory.discover();

    expect(found.clusters.map((c) => [c.name, c.region, c.account, c.instanceIds])).toEqual([
      ['orders', 'eu-west-1', undefined, WEST.map((n) => n.id)],
      ['orders', 'us-east-1', undefined, EAST.map((n) => n.id)],
    ]);
    // One master in each: never a single cluster of six with two writable masters.
    for (const c of found.clusters) {
      const masters = found.instances.filter((i) => c.instanceIds.includes(i.id) && i.tags['nightshift:role'] === 'master');
      expect(masters.map((m) => m.region)).toEqual([c.region]);
    }
    expect(new Set(found.instances.map((i) => `${i.id} ${i.region}`))).toEqual(
      new Set([...EAST.map((n) => `${n.id} us-east-1`), ...WEST.map((n) => `${n.id} eu-west-1`)]),
    );
    expect(found.instances.every((i) => i.account === undefined)).toBe(true);
    expect(found.scopes?.map((s) => [s.region, s.profile, s.error, s.at !== undefined])).toEqual([
      ['us-east-1', 'prod', undefined, true],
      ['eu-west-1', 'prod', undefined, true],
    ]);
  });

  it('a failing region goes stale alone with its last good clusters; the other stays fresh', async () => {
    const { b, west, clock } = await twoRegionFleet();
    const first = await b.inventory.discover();
    const firstAt = first.scopes!.find((s) => s.region === 'eu-west-1')!.at!;

    clock.advance(30_000);
    west.failWith = () => denied('not authorized to perform ec2:DescribeInstances');
    const second = await b.inventory.discover();

    expect(second.clusters.map((c) => [c.name, c.region, c.instanceIds.length])).toEqual([
      ['orders', 'eu-west-1', 3],
      ['orders', 'us-east-1', 3],
    ]);
    const [east, westScope] = second.scopes!;
    expect(east).toEqual({ region: 'us-east-1', profile: 'prod', at: firstAt + 30_000 });
    expect(westScope).toMatchObject({ region: 'eu-west-1', at: firstAt });
    expect(westScope!.error).toMatch(/ec2:DescribeInstances.*eu-west-1/);
    expect(westScope!.throttled).toBeUndefined();

    // Back: fresh again, and the error gone.
    west.failWith = undefined;
    clock.advance(30_000);
    const third = await b.inventory.discover();
    expect(third.scopes!.map((s) => [s.region, s.at, s.error])).toEqual([
      ['us-east-1', firstAt + 60_000, undefined],
      ['eu-west-1', firstAt + 60_000, undefined],
    ]);
  });

  it('a throttled region is marked throttled alone, and counted against that region only', async () => {
    const { b, west } = await twoRegionFleet();
    await b.inventory.discover();
    west.failWith = throttled;
    const found = await b.inventory.discover();

    const byRegion = new Map(found.scopes!.map((s) => [s.region, s]));
    expect(byRegion.get('eu-west-1')).toMatchObject({ throttled: true, error: expect.stringMatching(/throttling ec2:DescribeInstances in eu-west-1/) });
    expect(byRegion.get('us-east-1')?.throttled).toBeUndefined();
    expect(byRegion.get('us-east-1')?.error).toBeUndefined();
    expect(b.apiThrottles!().map((t) => t.region)).toEqual(['eu-west-1']);
    expect(found.clusters.filter((c) => c.region === 'eu-west-1')).toHaveLength(1);
  });

  it('rejects when every region failed, the first time as later (nothing in the answer would be fresh)', async () => {
    const { b, east, west } = await twoRegionFleet();
    east.failWith = throttled;
    west.failWith = throttled;
    await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'throttled' });
    east.failWith = undefined;
    west.failWith = undefined;
    await b.inventory.discover();
    east.failWith = throttled;
    west.failWith = throttled;
    await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'throttled' });
  });

  it('a region that never answered is listed in scopes with its error and no age, while the other shows', async () => {
    const { b, west } = await twoRegionFleet();
    west.failWith = () => denied('not authorized');
    const found = await b.inventory.discover();
    expect(found.clusters.map((c) => c.region)).toEqual(['us-east-1']);
    const stale = found.scopes!.find((s) => s.region === 'eu-west-1')!;
    expect(stale.at).toBeUndefined();
    expect(stale.error).toMatch(/not allowed to call ec2:DescribeInstances in eu-west-1/);
  });

  it('locks `orders` in eu-west-1 with lease tags on eu-west-1 members only, and refuses a bare `orders`, naming both', async () => {
    const { b, east, west } = await twoRegionFleet();
    const owner: LockOwner = { runId: 'run-w', owner: 'me@host', startedAt: '2026-03-01T01:00:00Z' };

    await expect(b.lock.acquire({ name: 'orders' }, owner)).rejects.toThrow(
      /2 clusters are named orders: orders · eu-west-1 \(--region eu-west-1\), orders · us-east-1 \(--region us-east-1\)/,
    );
    expect(west.ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);

    expect(await b.lock.acquire({ name: 'orders', region: 'eu-west-1' }, owner)).toEqual({ acquired: true });
    expect(WEST.map((n) => west.tags.get(n.id)?.[LOCK_TAG])).toEqual(WEST.map(() => 'run-w|me@host|2026-03-01T01:00:00Z'));
    expect(EAST.map((n) => east.tags.get(n.id)?.[LOCK_TAG])).toEqual([undefined, undefined, undefined]);
    expect(east.ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    // The other region's cluster is free, and takes its own lock.
    expect(await b.lock.holder({ name: 'orders', region: 'us-east-1' })).toBeUndefined();
    expect(await b.lock.holder({ name: 'orders', region: 'eu-west-1' })).toMatchObject({ runId: 'run-w' });

    await b.lock.release({ name: 'orders', region: 'eu-west-1' }, 'run-w');
    expect(WEST.map((n) => west.tags.get(n.id)?.[LOCK_TAG])).toEqual([undefined, undefined, undefined]);
    expect(east.ec2.commandCalls(DeleteTagsCommand)).toHaveLength(0);
  });

  it('reads per-region cluster settings: the writer record of `orders` in eu-west-1 makes its lock a TXT record there alone', async () => {
    const clients = profileClients('prod', regions, '111111111111');
    const east = fakeScope(clients.regional[0]!, EAST);
    const west = fakeScope(clients.regional[1]!, WEST);
    const route53 = route53Mocks.get(clients)!;
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false });
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const config = twoRegions({
      clusters: { orders: { regions: { 'eu-west-1': { writerDns: { zoneId: 'ZWEST', name: 'orders-writer.eu.internal', type: 'A' } } } } },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients, clock: virtualClock() });
    const owner: LockOwner = { runId: 'run-1', owner: 'me@host', startedAt: '2026-03-01T01:00:00Z' };

    expect(await b.lock.acquire({ name: 'orders', region: 'eu-west-1' }, owner)).toEqual({ acquired: true });
    const created = route53.commandCalls(ChangeResourceRecordSetsCommand).map((call) => call.args[0].input);
    expect(created.map((i) => [i.HostedZoneId, i.ChangeBatch?.Changes?.[0]?.Action, i.ChangeBatch?.Changes?.[0]?.ResourceRecordSet?.Name])).toEqual([
      ['ZWEST', 'CREATE', '_nightshift-lock.orders-writer.eu.internal'],
    ]);
    expect(west.ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);

    // us-east-1 has no writer record: its lock is the lease tag on its own members.
    expect(await b.lock.acquire({ name: 'orders', region: 'us-east-1' }, { ...owner, runId: 'run-2' })).toEqual({ acquired: true });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(EAST.map((n) => east.tags.get(n.id)?.[LOCK_TAG]?.split('|')[0])).toEqual(['run-2', 'run-2', 'run-2']);
  });
});

describe('several profiles (accounts)', () => {
  const A = '111111111111';
  const B = '222222222222';

  it('puts each profile\'s account on its refs; the same name in two accounts and one region is two clusters', async () => {
    const prod = profileClients('prod', ['us-east-1'], A);
    const stage = profileClients('stage', ['us-east-1'], B);
    const inProd = fakeScope(prod.regional[0]!, EAST);
    const other = mysql('orders', 'us-east-1', 'f', 3);
    const inStage = fakeScope(stage.regional[0]!, other);
    const config = awsConfig({ aws: { regions: ['us-east-1'], profiles: ['prod', 'stage'] }, clusters: {} });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });
    expect(b.target).toEqual({ kind: 'aws', regions: ['us-east-1'], accounts: [{ profile: 'prod' }, { profile: 'stage' }] });

    const found = await b.inventory.discover();
    expect(found.clusters.map((c) => [c.name, c.region, c.account, c.instanceIds])).toEqual([
      ['orders', 'us-east-1', A, EAST.map((n) => n.id)],
      ['orders', 'us-east-1', B, other.map((n) => n.id)],
    ]);
    expect(found.instances.map((i) => i.account)).toEqual([A, A, A, B, B, B]);
    expect(found.scopes).toEqual([
      { region: 'us-east-1', account: A, profile: 'prod', at: expect.any(Number) },
      { region: 'us-east-1', account: B, profile: 'stage', at: expect.any(Number) },
    ]);
    await b.targetSettled!();
    expect(b.target).toEqual({ kind: 'aws', regions: ['us-east-1'], accounts: [{ profile: 'prod', account: A }, { profile: 'stage', account: B }] });

    // Each account's instance is tagged through its own profile's client.
    await b.inventory.setTags(other[0]!.id, { x: '1' });
    expect(inStage.ec2.commandCalls(CreateTagsCommand)).toHaveLength(1);
    expect(inProd.ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    // A lock asks for the account when the name and region repeat.
    await expect(b.lock.holder({ name: 'orders', region: 'us-east-1' })).rejects.toThrow(/--region us-east-1 --account 222222222222/);
    expect(await b.lock.holder({ name: 'orders', region: 'us-east-1', account: B })).toBeUndefined();
    // STS once per profile, however many discoveries.
    await b.inventory.discover();
    expect(stsMocks.get(prod)!.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
    expect(stsMocks.get(stage)!.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it('lists no scope of a profile whose account is unknown yet, says why, and asks STS again next time', async () => {
    let stsDown = true;
    const prod = profileClients('prod', ['us-east-1', 'eu-west-1'], A);
    const stage = profileClients('stage', ['us-east-1'], () => denied('The security token included in the request is expired'));
    fakeScope(prod.regional[0]!, EAST);
    fakeScope(prod.regional[1]!, WEST);
    const stageNodes = mysql('billing', 'us-east-1', 'b', 4);
    fakeScope(stage.regional[0]!, stageNodes);
    stsMocks.get(stage)!.on(GetCallerIdentityCommand).callsFake(() => {
      if (stsDown) throw denied('not authorized to call sts:GetCallerIdentity');
      return { Account: B };
    });
    const config = awsConfig({ aws: { regions: ['us-east-1', 'eu-west-1'], profiles: ['prod', 'stage'] }, clusters: {} });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });

    const first = await b.inventory.discover();
    expect(first.clusters.map((c) => [c.name, c.region, c.account])).toEqual([
      ['orders', 'eu-west-1', A],
      ['orders', 'us-east-1', A],
    ]);
    const stageScope = first.scopes!.find((s) => s.profile === 'stage')!;
    expect(stageScope).toMatchObject({ region: 'us-east-1', profile: 'stage' });
    expect(stageScope.account).toBeUndefined();
    expect(stageScope.error).toMatch(/^profile stage's account is not known yet, so its clusters are not listed .*sts:GetCallerIdentity/);
    expect(first.instances.some((i) => stageNodes.some((n) => n.id === i.id))).toBe(false);

    stsDown = false;
    const second = await b.inventory.discover();
    expect(second.clusters.map((c) => [c.name, c.region, c.account])).toEqual([
      ['billing', 'us-east-1', B],
      ['orders', 'eu-west-1', A],
      ['orders', 'us-east-1', A],
    ]);
    expect(second.scopes!.every((s) => s.error === undefined)).toBe(true);
  });
});

describe('groups of the same name in two accounts', () => {
  it('reads each account\'s group from its own profile, and refuses to change a group whose name is in both', async () => {
    const prod = profileClients('prod', ['us-east-1'], '111111111111');
    const stage = profileClients('stage', ['us-east-1'], '222222222222');
    const other = mysql('orders', 'us-east-1', 'f', 3);
    const inProd = fakeScope(prod.regional[0]!, EAST);
    const inStage = fakeScope(stage.regional[0]!, other);
    for (const s of [inProd, inStage]) for (const t of s.tags.values()) t['aws:autoscaling:groupName'] = 'orders-asg';
    const asked = new Map<string, string[][]>();
    for (const [profile, set] of [['prod', prod], ['stage', stage]] as const) {
      const asg = mockClient(set.regional[0]!.autoscaling);
      asg.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames?: string[] }) => {
        asked.set(profile, [...(asked.get(profile) ?? []), input.AutoScalingGroupNames ?? []]);
        return { AutoScalingGroups: [] };
      });
    }
    const config = awsConfig({ aws: { regions: ['us-east-1'], profiles: ['prod', 'stage'] }, clusters: {} });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });

    const found = await b.inventory.discover({ withGroups: true });
    expect(found.clusters.map((c) => [c.account, c.asg])).toEqual([
      ['111111111111', 'orders-asg'],
      ['222222222222', 'orders-asg'],
    ]);
    expect(Object.fromEntries(asked)).toEqual({ prod: [['orders-asg']], stage: [['orders-asg']] });
    await expect(b.scaling!.resumeProcesses('orders-asg', ['AZRebalance'])).rejects.toThrow(
      /group orders-asg exists in us-east-1 \(profile prod\) and us-east-1 \(profile stage\)/,
    );
  });
});

describe('creating in a view of several accounts', () => {
  it('launches a node of `billing` in the account it was discovered in, in the subnet configured for its region', async () => {
    const prod = profileClients('prod', ['us-east-1', 'eu-west-1'], '111111111111');
    const stage = profileClients('stage', ['eu-west-1'], '222222222222');
    fakeScope(prod.regional[0]!, EAST);
    const prodWest = fakeScope(prod.regional[1]!, WEST);
    const billing = mysql('billing', 'eu-west-1', 'b', 4);
    const stageWest = fakeScope(stage.regional[0]!, billing);
    const launched = { ...ec2Instance({ ...billing[0]!, id: 'i-0b00000000000000new' }), State: { Name: 'pending' as const, Code: 0 } };
    stageWest.ec2.on(RunInstancesCommand).resolves({ Instances: [launched] });
    stageWest.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-0eu1b', AvailabilityZone: 'eu-west-1b' }] });
    const config = awsConfig({
      aws: { regions: ['us-east-1', 'eu-west-1'], profiles: ['prod', 'stage'] },
      clusters: { billing: { subnets: ['subnet-0us1b'], regions: { 'eu-west-1': { subnets: ['subnet-0eu1b'] } } } },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });
    await b.inventory.discover();

    const inst = await b.compute!.launch({ launchTemplate: 'billing-db', az: 'eu-west-1b', tags: { 'nightshift:cluster': 'billing' } });
    expect(inst).toMatchObject({ id: 'i-0b00000000000000new', region: 'eu-west-1', account: '222222222222' });
    expect(stageWest.ec2.commandCalls(DescribeSubnetsCommand)[0]!.args[0].input.SubnetIds).toEqual(['subnet-0eu1b']);
    expect(stageWest.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.SubnetId).toBe('subnet-0eu1b');
    expect(prodWest.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    // `orders` lives in prod only here, but an unknown cluster in a region both profiles share cannot be placed.
    await expect(b.compute!.launch({ launchTemplate: 'x', az: 'eu-west-1a', tags: { 'nightshift:cluster': 'nobody' } })).rejects.toThrow(
      /eu-west-1a is in view under several profiles \(prod, stage\) and cluster nobody was seen in none of them/,
    );
  });
});

describe('Route 53 with several accounts', () => {
  it('sends a zone\'s reads and changes to the account that holds it, found once', async () => {
    const prod = profileClients('prod', ['eu-west-1'], '111111111111');
    const stage = profileClients('stage', ['eu-west-1'], '222222222222');
    fakeScope(prod.regional[0]!, WEST);
    const billing = mysql('billing', 'eu-west-1', 'b', 4);
    fakeScope(stage.regional[0]!, billing);
    const noSuchZone = () => Object.assign(new Error('No hosted zone found with ID: ZSTAGE'), { name: 'NoSuchHostedZone', $metadata: { httpStatusCode: 404 } });
    route53Mocks.get(prod)!.on(ListResourceRecordSetsCommand).callsFake(() => { throw noSuchZone(); });
    route53Mocks.get(prod)!.on(ChangeResourceRecordSetsCommand).callsFake(() => { throw noSuchZone(); });
    const stage53 = route53Mocks.get(stage)!;
    stage53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false });
    stage53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    const config = awsConfig({
      aws: { regions: ['eu-west-1'], profiles: ['prod', 'stage'] },
      clusters: { billing: { writerDns: { zoneId: 'ZSTAGE', name: 'billing-writer.internal', type: 'A' } } },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });
    const owner: LockOwner = { runId: 'run-b', owner: 'me@host', startedAt: '2026-03-01T01:00:00Z' };

    expect(await b.lock.acquire({ name: 'billing', region: 'eu-west-1', account: '222222222222' }, owner)).toEqual({ acquired: true });
    expect(stage53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(route53Mocks.get(prod)!.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    expect(await b.lock.holder({ name: 'billing', region: 'eu-west-1', account: '222222222222' })).toBeUndefined();
    // The zone was looked for in prod once; every later call went straight to stage.
    expect(route53Mocks.get(prod)!.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);

    const unknown = awsConfig({
      aws: { regions: ['eu-west-1'], profiles: ['prod', 'stage'] },
      clusters: { billing: { writerDns: { zoneId: 'ZGONE', name: 'billing-writer.internal', type: 'A' } } },
    });
    stage53.on(ListResourceRecordSetsCommand).callsFake(() => { throw noSuchZone(); });
    const c = await createAwsBackends(unknown, { shell: unreachableShell, clients: [prod, stage], clock: virtualClock() });
    await expect(c.dns!.getRecord('ZGONE', 'billing-writer.internal', 'A')).rejects.toThrow(
      /hosted zone ZGONE is in none of the accounts in view \(prod: NoSuchHostedZone, stage: NoSuchHostedZone\)/,
    );
  });
});

describe('per-region call budget', () => {
  it('two regions of 5,000 instances, 3 metrics each: at most 35 GetMetricData calls per region, side by side', async () => {
    const big = (region: string, prefix: string): FleetNode[] =>
      Array.from({ length: 5_000 }, (_, i) => ({
        id: `i-${prefix}${i.toString(16).padStart(16, '0')}`,
        name: `big-${region}-${i}`,
        ip: `127.${prefix === 'e' ? 10 : 20}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        az: `${region}${'abc'[i % 3]}`,
        cluster: `big-${Math.floor(i / 3)}`,
        engine: 'mysql' as const,
      }));
    const eastNodes = big('us-east-1', 'e');
    const westNodes = big('eu-west-1', 'w');
    const clients = profileClients('prod', regions, '111111111111');
    const east = fakeScope(clients.regional[0]!, eastNodes);
    const west = fakeScope(clients.regional[1]!, westNodes);
    const config = twoRegions({
      aws: {
        regions,
        profile: 'prod',
        customMetrics: [
          { name: 'lag', namespace: 'Nightshift', metric: 'ReplicaLag' },
          { name: 'conns', namespace: 'Nightshift', metric: 'Connections' },
        ],
      },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients, clock: virtualClock() });

    const found = await b.inventory.discover();
    expect(found.instances).toHaveLength(10_000);
    expect(found.clusters.filter((c) => c.region === 'us-east-1')).toHaveLength(1_667);
    // Discovery per region: 5 pages of instances, 5 of status checks, and one read of the volume statuses EBS says are not ok.
    const discoveryCalls = (s: FakeScope) => ({
      instances: s.ec2.commandCalls(DescribeInstancesCommand).length,
      statuses: s.ec2.commandCalls(DescribeInstanceStatusCommand).length,
      volumes: s.ec2.commandCalls(DescribeVolumeStatusCommand).length,
      all: s.ec2.calls().length,
    });
    expect(discoveryCalls(east)).toEqual({ instances: 5, statuses: 5, volumes: 1, all: 11 });
    expect(discoveryCalls(west)).toEqual({ instances: 5, statuses: 5, volumes: 1, all: 11 });

    // Both regions in flight at once: the eastern calls are not all done before the first western one starts.
    let inFlight = 0;
    let most = 0;
    for (const s of [east, west]) {
      s.cloudwatch.on(GetMetricDataCommand).callsFake(async (input: { MetricDataQueries: Array<{ Id: string }>; EndTime: Date }) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await Promise.resolve();
        await Promise.resolve();
        inFlight--;
        return { MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, Timestamps: [new Date(input.EndTime)], Values: [1] })) };
      });
    }
    const got = await b.metrics.fetch({ instanceIds: found.instances.map((i) => i.id), minutes: 30 });
    expect(Object.keys(got)).toHaveLength(10_000);
    // 15,000 queries a region at 500 a call: 30 each, under the budget of 35.
    expect(east.cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(30);
    expect(west.cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(30);
    // Each region asked only about its own instances.
    const asked = (s: FakeScope) =>
      new Set(
        s.cloudwatch
          .commandCalls(GetMetricDataCommand)
          .flatMap((call) => (call.args[0].input.MetricDataQueries ?? []).map((q) => q.MetricStat?.Metric?.Dimensions?.[0]?.Value ?? '')),
      );
    expect(asked(east).size).toBe(5_000);
    expect(asked(west).size).toBe(5_000);
    expect([...asked(east)].every((id) => id.startsWith('i-e'))).toBe(true);
    expect([...asked(west)].every((id) => id.startsWith('i-w'))).toBe(true);
    expect(most).toBeGreaterThan(4); // more than one region's limit of 4 in flight: the two ran side by side
  });
});
