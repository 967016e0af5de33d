import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { SPARE_TAG } from '../../../src/domain/types.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, createAwsClients } from '../../../src/backends/aws/index.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type FleetNode, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
beforeEach(() => {
  account = mockAwsAccount();
});

function manyNodes(count: number): FleetNode[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `i-${i.toString(16).padStart(17, '0')}`,
    name: `big-${i}`,
    ip: `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    az: ['us-east-1a', 'us-east-1b', 'us-east-1c'][i % 3]!,
    cluster: `big-${Math.floor(i / 3)}`,
    engine: 'mysql',
  }));
}

describe('AWS inventory', () => {
  it('follows DescribeInstances NextToken over three pages, 1,000 a page, with the tag filters', async () => {
    const nodes = manyNodes(2_400);
    const pages = [nodes.slice(0, 1000), nodes.slice(1000, 2000), nodes.slice(2000)];
    account.ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: pages[0]!.map((n) => ec2Instance(n)) }], NextToken: 't1' })
      .resolvesOnce({ Reservations: [{ Instances: pages[1]!.map((n) => ec2Instance(n)) }], NextToken: 't2' })
      .resolvesOnce({ Reservations: [{ Instances: pages[2]!.map((n) => ec2Instance(n)) }] });
    account.ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    const config = awsConfig({ discovery: { readinessTag: { key: 'status', value: 'ready' } } });
    const b = await createAwsBackends(config, { shell: unreachableShell, clock: virtualClock() });

    const found = await b.inventory.discover();

    expect(found.instances).toHaveLength(2_400);
    expect(found.clusters).toHaveLength(800);
    const calls = account.ec2.commandCalls(DescribeInstancesCommand);
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.args[0].input.NextToken)).toEqual([undefined, 't1', 't2']);
    const first = calls[0]!.args[0].input;
    expect(first.MaxResults).toBe(1000);
    expect(first.InstanceIds).toBeUndefined();
    expect(first.Filters).toEqual(
      expect.arrayContaining([
        { Name: 'tag-key', Values: ['nightshift:cluster'] },
        { Name: 'tag:status', Values: ['ready'] },
        { Name: 'instance-state-name', Values: expect.not.arrayContaining(['terminated']) },
      ]),
    );
    // Over 500 running instances: the region's statuses are listed by page, never by id with MaxResults.
    for (const c of account.ec2.commandCalls(DescribeInstanceStatusCommand)) {
      expect(c.args[0].input.InstanceIds === undefined || c.args[0].input.MaxResults === undefined).toBe(true);
    }
  });

  it('turns instances into our shape with engine, status checks and clusters', async () => {
    account.ec2.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: [
        { InstanceId: FLEET[0]!.id, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } },
        { InstanceId: FLEET[1]!.id, InstanceStatus: { Status: 'impaired' }, SystemStatus: { Status: 'ok' } },
      ],
    });
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    const found = await b.inventory.discover();

    expect(found.clusters.map((c) => [c.name, c.engine, c.instanceIds.length, c.source])).toEqual([
      ['events', 'cassandra', 3, 'tag'],
      ['orders', 'mysql', 3, 'tag'],
    ]);
    const byId = new Map(found.instances.map((i) => [i.id, i]));
    expect(byId.get(FLEET[0]!.id)).toMatchObject({
      name: 'orders-db-1',
      privateIp: '127.0.1.1',
      az: 'us-east-1a',
      state: 'running',
      statusChecks: 'ok',
      launchTime: '2026-01-10T08:00:00.000Z',
    });
    expect(byId.get(FLEET[1]!.id)?.statusChecks).toBe('impaired');
    expect(byId.get(FLEET[2]!.id)?.statusChecks).toBe('unknown');
    // Few instances: status by id, and never MaxResults with InstanceIds (EC2 rejects the pair).
    const status = account.ec2.commandCalls(DescribeInstanceStatusCommand);
    expect(status).toHaveLength(1);
    expect(status[0]!.args[0].input.InstanceIds).toHaveLength(6);
    expect(status[0]!.args[0].input.MaxResults).toBeUndefined();
  });

  it('takes the engine from the config when the engine tag is missing', async () => {
    account.ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ ...ec2Instance(FLEET[3]!), Tags: [{ Key: 'nightshift:cluster', Value: 'events' }] }] }],
    });
    const config = awsConfig({ clusters: { events: { engine: 'cassandra' } } });
    const b = await createAwsBackends(config, { shell: unreachableShell });
    const found = await b.inventory.discover();
    expect(found.clusters[0]).toMatchObject({ name: 'events', engine: 'cassandra' });
  });

  it('finds clusters by Auto Scaling Group, describing members by id without MaxResults', async () => {
    const asgNodes = manyNodes(3).map((n) => ({ ...n, cluster: '' }));
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'ring-asg',
          MinSize: 3,
          MaxSize: 4,
          DesiredCapacity: 3,
          Instances: asgNodes.map((n) => ({ InstanceId: n.id, AvailabilityZone: n.az, LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false })),
        } as never,
      ],
    });
    account.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
      Reservations: [{ Instances: input.InstanceIds ? asgNodes.map((n) => ({ ...ec2Instance(n), Tags: [] })) : [] }],
    }));
    const config = awsConfig({ discovery: { asgClusters: [{ name: 'ring', asg: 'ring-asg', engine: 'cassandra' }] } });
    const b = await createAwsBackends(config, { shell: unreachableShell });
    const found = await b.inventory.discover();

    expect(found.clusters).toEqual([
      { name: 'ring', engine: 'cassandra', instanceIds: asgNodes.map((n) => n.id).sort(), source: 'asg', asg: 'ring-asg', region: 'us-east-1' },
    ]);
    const byId = account.ec2.commandCalls(DescribeInstancesCommand).filter((c) => c.args[0].input.InstanceIds);
    expect(byId).toHaveLength(1);
    expect(byId[0]!.args[0].input.MaxResults).toBeUndefined();
  });

  it('asks for many groups a hundred names a call (more in one call is refused)', async () => {
    const asgClusters = Array.from({ length: 150 }, (_, k) => ({ name: `c${k}`, asg: `asg-${k}`, engine: 'generic' as const }));
    const b = await createAwsBackends(awsConfig({ discovery: { asgClusters } }), { shell: unreachableShell });
    await b.inventory.discover();
    const calls = account.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand);
    expect(calls.map((c) => c.args[0].input.AutoScalingGroupNames?.length)).toEqual([100, 50]);
    expect(calls.every((c) => c.args[0].input.MaxRecords === 100)).toBe(true);
  });

  it('finds clusters by security group membership', async () => {
    account.ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Array<{ Name: string }> }) => {
      const bySg = input.Filters?.some((f) => f.Name === 'instance.group-id');
      return {
        Reservations: [
          {
            Instances: bySg
              ? [
                  { ...ec2Instance(FLEET[0]!), Tags: [], SecurityGroups: [{ GroupId: 'sg-0db' }] },
                  { ...ec2Instance(FLEET[1]!), Tags: [], SecurityGroups: [{ GroupId: 'sg-other' }] },
                ]
              : [],
          },
        ],
      };
    });
    const config = awsConfig({ discovery: { securityGroupClusters: [{ name: 'legacy', securityGroup: 'sg-0db', engine: 'mysql' }] } });
    const b = await createAwsBackends(config, { shell: unreachableShell });
    const found = await b.inventory.discover();
    expect(found.clusters).toEqual([{ name: 'legacy', engine: 'mysql', instanceIds: [FLEET[0]!.id], source: 'security-group', region: 'us-east-1' }]);
  });

  describe('a spare (nightshift:spare, any value) is listed but no member', () => {
    const spare = { ...FLEET[2]!, id: 'i-0a00000000000spare', name: 'orders-rebuild-1', ip: '127.0.1.9' };

    it('in a tag-defined cluster, and joins once the tag is removed', async () => {
      account = mockAwsAccount([...FLEET, spare]);
      account.tags.get(spare.id)![SPARE_TAG] = '';
      const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });

      const found = await b.inventory.discover();

      expect(found.instances.map((i) => i.id)).toContain(spare.id);
      expect(found.clusters.find((c) => c.name === 'orders')?.instanceIds).toEqual(FLEET.slice(0, 3).map((n) => n.id).sort());
      await b.inventory.deleteTags(spare.id, [SPARE_TAG]);
      const joined = await b.inventory.discover();
      expect(joined.clusters.find((c) => c.name === 'orders')?.instanceIds).toContain(spare.id);
    });

    it('in an Auto Scaling Group cluster', async () => {
      const nodes = manyNodes(3).map((n) => ({ ...n, cluster: '' }));
      account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
        AutoScalingGroups: [
          {
            AutoScalingGroupName: 'ring-asg',
            MinSize: 3,
            MaxSize: 4,
            DesiredCapacity: 3,
            Instances: nodes.map((n) => ({ InstanceId: n.id, AvailabilityZone: n.az, LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false })),
          } as never,
        ],
      });
      account.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
        Reservations: [
          {
            Instances: input.InstanceIds
              ? nodes.map((n, k) => ({ ...ec2Instance(n), Tags: k === 1 ? [{ Key: SPARE_TAG, Value: 'true' }] : [] }))
              : [],
          },
        ],
      }));
      const config = awsConfig({ discovery: { asgClusters: [{ name: 'ring', asg: 'ring-asg', engine: 'cassandra' }] } });
      const b = await createAwsBackends(config, { shell: unreachableShell });

      const found = await b.inventory.discover();

      expect(found.instances.map((i) => i.id).sort()).toEqual(nodes.map((n) => n.id).sort());
      expect(found.clusters[0]?.instanceIds).toEqual([nodes[0]!.id, nodes[2]!.id].sort());
    });

    it('in a security-group cluster', async () => {
      account.ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Array<{ Name: string }> }) => {
        const bySg = input.Filters?.some((f) => f.Name === 'instance.group-id');
        return {
          Reservations: [
            {
              Instances: bySg
                ? [
                    { ...ec2Instance(FLEET[0]!), Tags: [], SecurityGroups: [{ GroupId: 'sg-0db' }] },
                    { ...ec2Instance(FLEET[1]!), Tags: [{ Key: SPARE_TAG, Value: 'true' }], SecurityGroups: [{ GroupId: 'sg-0db' }] },
                  ]
                : [],
            },
          ],
        };
      });
      const config = awsConfig({ discovery: { securityGroupClusters: [{ name: 'legacy', securityGroup: 'sg-0db', engine: 'mysql' }] } });
      const b = await createAwsBackends(config, { shell: unreachableShell });

      const found = await b.inventory.discover();

      expect(found.instances.map((i) => i.id).sort()).toEqual([FLEET[0]!.id, FLEET[1]!.id].sort());
      expect(found.clusters).toEqual([{ name: 'legacy', engine: 'mysql', instanceIds: [FLEET[0]!.id], source: 'security-group', region: 'us-east-1' }]);
    });
  });

  it('keeps a cluster seen in two regions as one cluster per region (a ring with a DC in each is a row per region), each region asked with its own client', async () => {
    const west = { ...FLEET[3]!, id: 'i-0w00000000000000w', az: 'us-west-2a', ip: '127.0.3.1' };
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    // One mock per client instance (mocking an instance lifts the class-level mock, so both are mocked here).
    const eastEc2 = mockClient(clients.regional[0]!.ec2);
    eastEc2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: FLEET.map((n) => ec2Instance(n)) }] });
    eastEc2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    const westEc2 = mockClient(clients.regional[1]!.ec2);
    westEc2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [ec2Instance(west)] }] });
    westEc2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    westEc2.on(CreateTagsCommand).resolves({});
    eastEc2.on(CreateTagsCommand).resolves({});
    const config = awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } });
    const b = await createAwsBackends(config, { shell: unreachableShell, clients });
    const found = await b.inventory.discover();

    expect(b.target).toMatchObject({ kind: 'aws', regions: ['us-east-1', 'us-west-2'] });
    expect(found.clusters.map((c) => [c.name, c.region, c.instanceIds.length])).toEqual([
      ['events', 'us-east-1', 3],
      ['events', 'us-west-2', 1],
      ['orders', 'us-east-1', 3],
    ]);
    expect(found.clusters.find((c) => c.region === 'us-west-2')?.instanceIds).toEqual([west.id]);
    expect(found.instances.find((i) => i.id === west.id)?.region).toBe('us-west-2');
    expect(found.instances.filter((i) => i.region === 'us-east-1')).toHaveLength(FLEET.length);
    // Tags for the western node go to the western client, not the eastern one.
    await b.inventory.setTags(west.id, { 'last-repaired': '2026-03-01T01:00:00Z' });
    expect(westEc2.commandCalls(CreateTagsCommand)).toHaveLength(1);
    expect(eastEc2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(eastEc2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('writes and removes tags on one instance', async () => {
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    await b.inventory.discover();
    await b.inventory.setTags(FLEET[3]!.id, { 'last-repaired': '2026-03-01T01:00:00Z' });
    await b.inventory.deleteTags(FLEET[3]!.id, ['nightshift:role']);

    expect(account.ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: [FLEET[3]!.id],
      Tags: [{ Key: 'last-repaired', Value: '2026-03-01T01:00:00Z' }],
    });
    expect(account.ec2.commandCalls(DeleteTagsCommand)[0]!.args[0].input).toEqual({
      Resources: [FLEET[3]!.id],
      Tags: [{ Key: 'nightshift:role' }],
    });
    expect(account.tags.get(FLEET[3]!.id)?.['last-repaired']).toBe('2026-03-01T01:00:00Z');
  });

  it('fills the account id from STS without making start-up wait for it', async () => {
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    expect(b.target).toMatchObject({ kind: 'aws', regions: ['us-east-1'], profile: 'prod' });
    expect(await b.accountId()).toBe('123456789012');
    expect(b.target.account).toBe('123456789012');
  });

  it('passes the caller\'s AbortSignal to every request', async () => {
    const controller = new AbortController();
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    await b.inventory.discover({ signal: controller.signal });
    const calls = [...account.ec2.commandCalls(DescribeInstancesCommand), ...account.ec2.commandCalls(DescribeInstanceStatusCommand)];
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect((c.args as unknown[])[1]).toEqual({ abortSignal: controller.signal });
  });
});
