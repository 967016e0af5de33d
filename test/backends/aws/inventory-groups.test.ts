// Discovery.groups on AWS: read beside discovery, never ahead of it, at most
// every few minutes, and never a reason for discovery to fail or wait.

import {
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
  type DescribeAutoScalingGroupsCommandOutput,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, DescribeInstanceStatusCommand, DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../../src/backends/aws/index.js';
import type { AwsInventory } from '../../../src/backends/aws/inventory.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

const ORDERS = FLEET.filter((n) => n.cluster === 'orders');
const EVENTS = FLEET.filter((n) => n.cluster === 'events');

let account: MockedAccount;
let clock: ReturnType<typeof virtualClock>;
let b: AwsBackends;
let inventory: AwsInventory;

beforeEach(async () => {
  GROUPS = groupsOfAccount();
  account = mockAwsAccount();
  // As Auto Scaling tags its members.
  for (const n of ORDERS) account.tags.get(n.id)!['aws:autoscaling:groupName'] = 'orders-asg';
  for (const n of EVENTS) account.tags.get(n.id)!['aws:autoscaling:groupName'] = 'events-asg';
  account.autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake(answerGroups);
  account.ec2.on(DescribeLaunchTemplatesCommand).resolves({
    LaunchTemplates: [
      { LaunchTemplateId: 'lt-0orders', LaunchTemplateName: 'orders-db', LatestVersionNumber: 7, DefaultVersionNumber: 7 },
      { LaunchTemplateId: 'lt-0events', LaunchTemplateName: 'events-node', LatestVersionNumber: 4, DefaultVersionNumber: 3 },
    ],
  });
  clock = virtualClock();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
  inventory = b.inventory as AwsInventory;
});

let GROUPS: Record<string, AutoScalingGroup>;
const groupsOfAccount = (): Record<string, AutoScalingGroup> => ({
  'orders-asg': group('orders-asg', { LaunchTemplateId: 'lt-0orders', LaunchTemplateName: 'orders-db', Version: '$Latest' }, ORDERS.map((n, k) => [n.id, ['5', '7', '7'][k]!])),
  'events-asg': group('events-asg', { LaunchTemplateId: 'lt-0events', LaunchTemplateName: 'events-node', Version: '$Default' }, EVENTS.map((n) => [n.id, '3'])),
  'ring-asg': group('ring-asg', { LaunchTemplateId: 'lt-0events', LaunchTemplateName: 'events-node', Version: '2' }, []),
});

function group(name: string, lt: { LaunchTemplateId: string; LaunchTemplateName: string; Version: string }, members: Array<[string, string]>): AutoScalingGroup {
  return {
    AutoScalingGroupName: name,
    MinSize: 2,
    MaxSize: 4,
    DesiredCapacity: 3,
    DefaultCooldown: 300,
    AvailabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date('2026-01-01T00:00:00Z'),
    LaunchTemplate: lt,
    SuspendedProcesses: [],
    Instances: members.map(([InstanceId, Version]) => ({
      InstanceId,
      AvailabilityZone: 'us-east-1a',
      LifecycleState: 'InService',
      HealthStatus: 'Healthy',
      ProtectedFromScaleIn: false,
      LaunchTemplate: { ...lt, Version },
    })),
  };
}

function answerGroups(input: { AutoScalingGroupNames?: string[] }): Partial<DescribeAutoScalingGroupsCommandOutput> {
  return { AutoScalingGroups: (input.AutoScalingGroupNames ?? []).flatMap((n) => (GROUPS[n] ? [GROUPS[n]] : [])) };
}

function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId: 'req-asg' } });
}

const groupReads = () => account.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand);

describe('Discovery.groups on AWS', () => {
  it('returns the first discovery while the group read is still pending, and the groups on the next one after it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let answered = false;
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake(async (input: { AutoScalingGroupNames?: string[] }) => {
      await gate;
      answered = true;
      return answerGroups(input);
    });

    const first = await b.inventory.discover();

    // Discovery is whole, the read was started beside it, and it has not answered yet.
    expect(first.instances).toHaveLength(6);
    expect(first.clusters.map((c) => c.name)).toEqual(['events', 'orders']);
    expect(first.groups).toBeUndefined();
    expect(groupReads()).toHaveLength(1);
    expect(answered).toBe(false);

    release();
    await inventory.groupsSettled();
    const second = await b.inventory.discover();

    expect(answered).toBe(true);
    expect(second.groups?.map((g) => [g.name, g.launchTemplate, g.members.map((m) => m.launchTemplateVersion)])).toEqual([
      ['events-asg', { id: 'lt-0events', name: 'events-node', version: '3', asked: '$Default' }, ['3', '3', '3']],
      ['orders-asg', { id: 'lt-0orders', name: 'orders-db', version: '7', asked: '$Latest' }, ['5', '7', '7']],
    ]);
    // One call per round for every group of the region, and one for their templates.
    expect(groupReads()).toHaveLength(1);
    expect(groupReads()[0]!.args[0].input).toMatchObject({ AutoScalingGroupNames: ['events-asg', 'orders-asg'], MaxRecords: 100 });
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(1);
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'launch-template-name', Values: ['events-node', 'orders-db'] },
    ]);
    expect(inventory.groupsProblem).toBeUndefined();
  });

  it('a one-shot command (ls) asks for the groups and gets them on its one discovery', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake(async (input: { AutoScalingGroupNames?: string[] }) => answerGroups(input));
    const only = await b.inventory.discover({ withGroups: true });
    expect(only.groups?.map((g) => g.name)).toEqual(['events-asg', 'orders-asg']);
    expect(groupReads()).toHaveLength(1);
  });

  it('reads the groups again at most every 5 minutes, however often discovery runs', async () => {
    await b.inventory.discover();
    await inventory.groupsSettled();
    for (let k = 0; k < 5; k++) {
      clock.advance(59_000);
      expect((await b.inventory.discover()).groups).toHaveLength(2);
    }
    expect(groupReads()).toHaveLength(1);

    clock.advance(5_000); // 5 min since the first read started
    await b.inventory.discover();
    await inventory.groupsSettled();
    expect(groupReads()).toHaveLength(2);
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(2);
  });

  it('still discovers when the group read is refused, and says why', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).rejects(serviceError('AccessDenied', 'User is not authorized to perform: autoscaling:DescribeAutoScalingGroups'));

    const first = await b.inventory.discover();
    await inventory.groupsSettled();
    const second = await b.inventory.discover();

    for (const found of [first, second]) {
      expect(found.instances).toHaveLength(6);
      expect(found.clusters).toHaveLength(2);
      expect(found.groups).toBeUndefined();
    }
    expect(inventory.groupsProblem).toMatch(
      /^groups events-asg, orders-asg not read, so no launch template drift is shown for them: reading the clusters' Auto Scaling groups: not allowed to call autoscaling:DescribeAutoScalingGroups in us-east-1 \(AccessDenied\)/,
    );
  });

  it('keeps the last groups read through a failed refresh, but not past 15 minutes', async () => {
    await b.inventory.discover();
    await inventory.groupsSettled();
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).rejects(serviceError('Throttling', 'Rate exceeded'));

    clock.advance(5 * 60_000);
    await b.inventory.discover();
    await inventory.groupsSettled();
    expect((await b.inventory.discover()).groups).toHaveLength(2);
    expect(inventory.groupsProblem).toContain('AWS is throttling autoscaling:DescribeAutoScalingGroups in us-east-1');

    clock.advance(10 * 60_000 + 1);
    await b.inventory.discover();
    await inventory.groupsSettled();
    expect((await b.inventory.discover()).groups).toBeUndefined();
    expect(groupReads()).toHaveLength(3);
  });

  it('still discovers while the group read hangs, and replaces a read stuck for a whole interval', async () => {
    account.autoscaling
      .on(DescribeAutoScalingGroupsCommand)
      .callsFakeOnce(() => new Promise(() => {}))
      .callsFake(answerGroups);

    for (let k = 0; k < 3; k++) {
      const found = await b.inventory.discover();
      expect(found.instances).toHaveLength(6);
      expect(found.groups).toBeUndefined();
    }
    expect(groupReads()).toHaveLength(1);

    clock.advance(5 * 60_000);
    await b.inventory.discover();
    // The stuck request was told to give up, and a new one answered.
    const stuck = (groupReads()[0]!.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
    expect(stuck?.abortSignal?.aborted).toBe(true);
    await inventory.groupsSettled();
    expect((await b.inventory.discover()).groups?.map((g) => g.name)).toEqual(['events-asg', 'orders-asg']);
    expect(groupReads()).toHaveLength(2);
  });

  it('keeps the groups whose templates cannot be read out of the finding, saying which', async () => {
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [{ LaunchTemplateId: 'lt-0events', LaunchTemplateName: 'events-node', LatestVersionNumber: 4, DefaultVersionNumber: 3 }],
    });
    await b.inventory.discover();
    await inventory.groupsSettled();
    const found = await b.inventory.discover();

    const byName = new Map(found.groups?.map((g) => [g.name, g]));
    expect(byName.get('events-asg')?.launchTemplate?.version).toBe('3');
    // Read, but without a template to compare with: no drift claimed for it.
    expect(byName.get('orders-asg')).toBeDefined();
    expect(byName.get('orders-asg')).not.toHaveProperty('launchTemplate');
    expect(inventory.groupsProblem).toBe(
      'group orders-asg launches from orders-db $Latest, which EC2 does not find (deleted, or in another account) in us-east-1',
    );
  });

  it('asks each region for its own groups, and a region that fails costs only its groups', async () => {
    const west = { ...FLEET[3]!, id: 'i-0w00000000000000w', az: 'us-west-2a', ip: '127.0.3.1' };
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    const withAsg = (n: typeof west, asg: string) => ec2Instance(n, { 'aws:autoscaling:groupName': asg });
    const [eastEc2, westEc2] = clients.regional.map((r) => mockClient(r.ec2));
    const [eastAsg, westAsg] = clients.regional.map((r) => mockClient(r.autoscaling));
    eastEc2!.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: ORDERS.map((n) => withAsg(n, 'orders-asg')) }] });
    westEc2!.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [withAsg(west, 'events-west-asg')] }] });
    for (const m of [eastEc2!, westEc2!]) m.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    westEc2!.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [{ LaunchTemplateId: 'lt-0west', LaunchTemplateName: 'events-west', LatestVersionNumber: 9, DefaultVersionNumber: 9 }],
    });
    eastAsg!.on(DescribeAutoScalingGroupsCommand).rejects(serviceError('AccessDenied', 'not authorized in this region'));
    westAsg!.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group('events-west-asg', { LaunchTemplateId: 'lt-0west', LaunchTemplateName: 'events-west', Version: '$Latest' }, [[west.id, '8']])],
    });
    const two = await createAwsBackends(awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } }), { shell: unreachableShell, clients, clock });
    const inv = two.inventory as AwsInventory;

    await two.inventory.discover();
    await inv.groupsSettled();
    const found = await two.inventory.discover();

    expect(found.groups?.map((g) => [g.name, g.launchTemplate?.version, g.members.map((m) => m.launchTemplateVersion)])).toEqual([
      ['events-west-asg', '9', ['8']],
    ]);
    expect(eastAsg!.commandCalls(DescribeAutoScalingGroupsCommand)[0]!.args[0].input.AutoScalingGroupNames).toEqual(['orders-asg']);
    expect(westAsg!.commandCalls(DescribeAutoScalingGroupsCommand)[0]!.args[0].input.AutoScalingGroupNames).toEqual(['events-west-asg']);
    expect(inv.groupsProblem).toMatch(/^groups orders-asg not read, .*autoscaling:DescribeAutoScalingGroups in us-east-1 \(AccessDenied\)/);
  });

  it("takes a member's version from EC2's tag on the instance when the group's record names none", async () => {
    GROUPS['orders-asg'] = group('orders-asg', { LaunchTemplateId: 'lt-0orders', LaunchTemplateName: 'orders-db', Version: '$Latest' }, [
      [ORDERS[0]!.id, '$Latest'],
      [ORDERS[1]!.id, '$Latest'],
      [ORDERS[2]!.id, '7'],
    ]);
    account.tags.get(ORDERS[0]!.id)!['aws:ec2launchtemplate:version'] = '6';

    await b.inventory.discover();
    await inventory.groupsSettled();
    const orders = (await b.inventory.discover()).groups?.find((g) => g.name === 'orders-asg');

    // The second member has neither: unknown, so it is never counted as drift.
    expect(orders?.members.map((m) => m.launchTemplateVersion)).toEqual(['6', undefined, '7']);
  });

  it('reads the groups of clusters defined by group, beside those their members name', async () => {
    const config = awsConfig({ discovery: { asgClusters: [{ name: 'ring', asg: 'ring-asg', engine: 'cassandra' }] } });
    const withRing = await createAwsBackends(config, { shell: unreachableShell, clock });
    await withRing.inventory.discover();
    await (withRing.inventory as AwsInventory).groupsSettled();
    const found = await withRing.inventory.discover();

    expect(found.groups?.map((g) => [g.name, g.launchTemplate?.version])).toEqual([
      ['events-asg', '3'],
      ['orders-asg', '7'],
      ['ring-asg', '2'],
    ]);
  });

  it('reads no groups for clusters without any, and says nothing about them', async () => {
    for (const n of FLEET) delete account.tags.get(n.id)!['aws:autoscaling:groupName'];
    await b.inventory.discover();
    await inventory.groupsSettled();
    const found = await b.inventory.discover();
    expect(groupReads()).toHaveLength(0);
    expect(found.groups).toBeUndefined();
    expect(inventory.groupsProblem).toBeUndefined();
  });

  it('gives each discovery its own copy of the groups', async () => {
    await b.inventory.discover();
    await inventory.groupsSettled();
    const one = await b.inventory.discover();
    one.groups![0]!.members.length = 0;
    const two = await b.inventory.discover();
    expect(two.groups![0]!.members).toHaveLength(3);
  });
});
