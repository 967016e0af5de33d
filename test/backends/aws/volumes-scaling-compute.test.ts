import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  RunInstancesCommand,
  type Volume as Ec2Volume,
  type VolumeState,
} from '@aws-sdk/client-ec2';
import {
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, type AwsBackends } from '../../../src/backends/aws/index.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
let b: AwsBackends;
let clock: ReturnType<typeof virtualClock>;
beforeEach(async () => {
  account = mockAwsAccount();
  clock = virtualClock();
  b = await createAwsBackends(
    awsConfig({ clusters: { orders: { subnets: ['subnet-a', 'subnet-b'] } } }),
    { shell: unreachableShell, clock },
  );
});

const vol = (state: VolumeState, attached?: string): Ec2Volume => ({
  VolumeId: 'vol-1',
  AvailabilityZone: 'us-east-1a',
  Size: 120,
  State: state,
  Attachments: attached ? [{ InstanceId: attached, Device: '/dev/sdf', State: 'attached' as const }] : [],
  Tags: [{ Key: 'nightshift:run', Value: 'r1' }],
});

describe('AWS volumes', () => {
  it('creates a tagged gp3 volume from a snapshot and waits until it is available', async () => {
    account.ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-1' });
    account.ec2.on(DescribeVolumesCommand).resolvesOnce({ Volumes: [vol('creating')] }).resolves({ Volumes: [vol('available')] });

    const v = await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 120, snapshotId: 'snap-1', tags: { 'nightshift:run': 'r1' } });

    expect(v).toEqual({ id: 'vol-1', az: 'us-east-1a', sizeGiB: 120, state: 'available', tags: { 'nightshift:run': 'r1' } });
    expect(account.ec2.commandCalls(CreateVolumeCommand)[0]!.args[0].input).toEqual({
      AvailabilityZone: 'us-east-1a',
      Size: 120,
      VolumeType: 'gp3',
      SnapshotId: 'snap-1',
      // nightshift:managed always: the IAM policy lets nightshift change only the volumes that carry it.
      TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'nightshift:run', Value: 'r1' }, { Key: 'nightshift:managed', Value: 'true' }] }],
    });
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(2);
  });

  it('attaches and waits for the attachment; detaches and waits for available', async () => {
    account.ec2.on(AttachVolumeCommand).resolves({});
    account.ec2.on(DetachVolumeCommand).resolves({});
    account.ec2
      .on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [{ ...vol('in-use'), Attachments: [{ InstanceId: FLEET[1]!.id, State: 'attaching' }] }] })
      .resolvesOnce({ Volumes: [vol('in-use', FLEET[1]!.id)] })
      .resolvesOnce({ Volumes: [vol('in-use', FLEET[1]!.id)] })
      .resolves({ Volumes: [vol('available')] });

    await b.volumes!.attach('vol-1', FLEET[1]!.id, '/dev/sdf');
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(2);
    await b.volumes!.detach('vol-1');
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(4);
  });

  it('starts a snapshot tagged with the caller\'s tags and its volume, and returns it pending without waiting', async () => {
    account.ec2.on(CreateSnapshotCommand).resolves({
      SnapshotId: 'snap-9',
      VolumeId: 'vol-1',
      State: 'pending',
      Progress: '',
      StartTime: new Date('2026-03-01T01:00:00Z'),
    });

    const snap = await b.volumes!.snapshot('vol-1', { description: 'rebuild r1', tags: { 'nightshift:rebuild': 'r1' } });

    expect(snap).toEqual({
      id: 'snap-9',
      volumeId: 'vol-1',
      state: 'pending',
      progressPercent: 0,
      tags: { 'nightshift:rebuild': 'r1', 'nightshift:source-volume': 'vol-1', 'nightshift:managed': 'true' },
      startTime: '2026-03-01T01:00:00.000Z',
    });
    expect(account.ec2.commandCalls(CreateSnapshotCommand)[0]!.args[0].input).toEqual({
      VolumeId: 'vol-1',
      Description: 'rebuild r1',
      TagSpecifications: [
        {
          ResourceType: 'snapshot',
          Tags: [
            { Key: 'nightshift:rebuild', Value: 'r1' },
            { Key: 'nightshift:source-volume', Value: 'vol-1' },
            { Key: 'nightshift:managed', Value: 'true' },
          ],
        },
      ],
    });
    expect(account.ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(0);
  });

  it('marks a volume made without tags as its own all the same, as the IAM policy requires', async () => {
    account.ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-1' });
    account.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [vol('available')] });
    await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 1, tags: { 'nightshift:managed': 'no' } });
    expect(account.ec2.commandCalls(CreateVolumeCommand)[0]!.args[0].input.TagSpecifications).toEqual([
      { ResourceType: 'volume', Tags: [{ Key: 'nightshift:managed', Value: 'true' }] },
    ]);
  });

  it('gives up on a wait after its bound, and stops at once when aborted', async () => {
    account.ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-1' });
    account.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [vol('creating')] });
    await expect(b.volumes!.create({ az: 'us-east-1a', sizeGiB: 1 })).rejects.toMatchObject({ kind: 'timeout' });

    const controller = new AbortController();
    controller.abort();
    await expect(b.volumes!.detach('vol-1', { signal: controller.signal })).rejects.toBeDefined();
  });

  it('treats an already deleted volume as removed, and an unknown one as absent', async () => {
    const notFound = Object.assign(new Error("The volume 'vol-1' does not exist."), { name: 'InvalidVolume.NotFound', $metadata: {} });
    account.ec2.on(DeleteVolumeCommand).rejects(notFound);
    account.ec2.on(DescribeVolumesCommand).rejects(notFound);
    await expect(b.volumes!.remove('vol-1')).resolves.toBeUndefined();
    await expect(b.volumes!.get('vol-1')).resolves.toBeUndefined();
  });
});

describe('AWS scaling', () => {
  const group = (ids: Array<[string, string, string]>) => ({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'ring-asg',
        MinSize: 3,
        MaxSize: 4,
        DesiredCapacity: 3,
        Instances: ids.map(([InstanceId, LifecycleState, HealthStatus]) => ({
          InstanceId,
          LifecycleState,
          HealthStatus,
          AvailabilityZone: 'us-east-1a',
          ProtectedFromScaleIn: false,
        })),
      } as never,
    ],
  });

  it('terminates without lowering desired capacity and waits for an InService replacement', async () => {
    account.autoscaling.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
    account.autoscaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce(group([['i-old2', 'InService', 'Healthy'], ['i-old3', 'InService', 'Healthy']]))
      .resolvesOnce(group([['i-old2', 'InService', 'Healthy'], ['i-old3', 'InService', 'Healthy'], ['i-new', 'Pending', 'Healthy']]))
      .resolves(group([['i-old2', 'InService', 'Healthy'], ['i-old3', 'InService', 'Healthy'], ['i-new', 'InService', 'Healthy']]));

    await b.scaling!.terminateInGroup(FLEET[3]!.id);
    const progress: string[] = [];
    const replacement = await b.scaling!.waitForReplacement('ring-asg', ['i-old1', 'i-old2', 'i-old3'], { onProgress: (s) => progress.push(s) });

    expect(account.autoscaling.commandCalls(TerminateInstanceInAutoScalingGroupCommand)[0]!.args[0].input).toEqual({
      InstanceId: FLEET[3]!.id,
      ShouldDecrementDesiredCapacity: false,
    });
    expect(replacement).toBe('i-new');
    expect(progress).toEqual(['no replacement launched yet in ring-asg', 'i-new Pending Healthy', 'i-new InService Healthy']);
  });

  it('reads a group into our shape', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves(group([['i-1', 'InService', 'Unhealthy']]));
    expect(await b.scaling!.getGroup('ring-asg')).toEqual({
      name: 'ring-asg',
      min: 3,
      max: 4,
      desired: 3,
      members: [{ instanceId: 'i-1', az: 'us-east-1a', lifecycle: 'InService', health: 'Unhealthy', isProtected: false }],
      suspended: [],
    });
  });
});

// Stopping (fencing) is tested in fence.test.ts, with isolation and fenceState.
describe('AWS compute', () => {
  it('launches from the launch template in the configured subnet of the AZ and returns it pending at once', async () => {
    const fresh = { ...FLEET[2]!, id: 'i-0new0000000000001', ip: '127.0.1.9' };
    account.ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        { SubnetId: 'subnet-a', AvailabilityZone: 'us-east-1a' },
        { SubnetId: 'subnet-b', AvailabilityZone: 'us-east-1b' },
      ],
    });
    account.ec2.on(RunInstancesCommand).resolves({ Instances: [{ ...ec2Instance(fresh), State: { Name: 'pending', Code: 0 } }] });
    account.resetHistory();

    const inst = await b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: { 'nightshift:cluster': 'orders' } });

    expect(inst).toMatchObject({ id: fresh.id, privateIp: '127.0.1.9', state: 'pending', statusChecks: 'unknown' });
    expect(account.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input).toEqual({
      LaunchTemplate: { LaunchTemplateName: 'orders-db', Version: '$Default' },
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-b',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'nightshift:cluster', Value: 'orders' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'nightshift:cluster', Value: 'orders' }] },
      ],
    });
    // Pending at once: the wait for running and status checks is waitReady's.
    expect(account.ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });
});
