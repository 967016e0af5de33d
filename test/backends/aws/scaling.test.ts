import {
  DescribeAutoScalingGroupsCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  type AutoScalingGroup,
  type Instance as AsgInstance,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../../src/backends/aws/index.js';
import { AwsError } from '../../../src/backends/aws/errors.js';
import { ROTATION_SUSPENDS } from '../../../src/backends/ports.js';
import { awsConfig, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
let b: AwsBackends;
beforeEach(async () => {
  account = mockAwsAccount();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
  await b.accountId();
  account.resetHistory();
});

function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId: 'req-asg' } });
}

function member(InstanceId: string, version?: string, extra: Partial<AsgInstance> = {}): AsgInstance {
  return {
    InstanceId,
    AvailabilityZone: 'us-east-1a',
    LifecycleState: 'InService',
    HealthStatus: 'Healthy',
    ProtectedFromScaleIn: false,
    ...(version ? { LaunchTemplate: { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', Version: version } } : {}),
    ...extra,
  };
}

function ring(extra: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
  return {
    AutoScalingGroupName: 'ring-asg',
    MinSize: 3,
    MaxSize: 4,
    DesiredCapacity: 3,
    DefaultCooldown: 300,
    AvailabilityZones: ['us-east-1a'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date('2026-01-01T00:00:00Z'),
    LaunchTemplate: { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', Version: '$Latest' },
    Instances: [member('i-1', '5'), member('i-2', '7')],
    ...extra,
  };
}

const RING_TEMPLATE = { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', LatestVersionNumber: 7, DefaultVersionNumber: 6 };

describe('AWS scaling: processes', () => {
  it('suspends exactly the processes asked, by the group name, and resumes them the same way', async () => {
    account.autoscaling.on(SuspendProcessesCommand).resolves({});
    account.autoscaling.on(ResumeProcessesCommand).resolves({});

    await b.scaling!.suspendProcesses('ring-asg', ROTATION_SUSPENDS);
    await b.scaling!.resumeProcesses('ring-asg', ['AZRebalance', 'ReplaceUnhealthy']);

    expect(account.autoscaling.commandCalls(SuspendProcessesCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: 'ring-asg', ScalingProcesses: ['AZRebalance', 'ReplaceUnhealthy', 'AlarmNotification', 'ScheduledActions'] },
    ]);
    expect(account.autoscaling.commandCalls(ResumeProcessesCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: 'ring-asg', ScalingProcesses: ['AZRebalance', 'ReplaceUnhealthy'] },
    ]);
    // One region in view: no lookup of the group first.
    expect(account.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(0);
  });

  it('sends nothing for an empty list (to Auto Scaling that would mean every process, Launch included)', async () => {
    account.autoscaling.on(SuspendProcessesCommand).resolves({});
    account.autoscaling.on(ResumeProcessesCommand).resolves({});
    await b.scaling!.suspendProcesses('ring-asg', []);
    await b.scaling!.resumeProcesses('ring-asg', []);
    expect(account.autoscaling.calls()).toHaveLength(0);
  });

  it('waits out throttling and a contended group, since both calls are idempotent', async () => {
    account.autoscaling
      .on(ResumeProcessesCommand)
      .rejectsOnce(serviceError('Throttling', 'Rate exceeded'))
      .rejectsOnce(serviceError('ResourceContentionFault', 'You already have a pending update to an Auto Scaling resource'))
      .resolves({});
    await b.scaling!.resumeProcesses('ring-asg', ROTATION_SUSPENDS);
    expect(account.autoscaling.commandCalls(ResumeProcessesCommand)).toHaveLength(3);
  });

  it('names the group, the region and the permission when refused', async () => {
    account.autoscaling.on(SuspendProcessesCommand).rejects(serviceError('AccessDenied', 'User is not authorized to perform: autoscaling:SuspendProcesses'));
    const err = await b.scaling!.suspendProcesses('ring-asg', ['AZRebalance']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect((err as AwsError).kind).toBe('denied');
    expect((err as AwsError).message).toContain('suspending AZRebalance of group ring-asg');
    expect((err as AwsError).message).toContain('autoscaling:SuspendProcesses in us-east-1');
    expect((err as AwsError).message).toContain('nightshift iam-policy');
  });

  it('says plainly that the group does not exist', async () => {
    account.autoscaling.on(ResumeProcessesCommand).rejects(serviceError('ValidationError', 'AutoScalingGroup name not found - no such group: ring-asg'));
    await expect(b.scaling!.resumeProcesses('ring-asg', ['AZRebalance'])).rejects.toThrow(
      "group ring-asg does not exist in us-east-1 (autoscaling:ResumeProcesses): check the group's name",
    );
  });

  it('finds the region of a group not seen yet among several, and sends the change there only', async () => {
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    const east = mockClient(clients.regional[0]!.autoscaling);
    const west = mockClient(clients.regional[1]!.autoscaling);
    east.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    west.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [ring()] });
    east.on(SuspendProcessesCommand).resolves({});
    west.on(SuspendProcessesCommand).resolves({});
    const two = await createAwsBackends(awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } }), {
      shell: unreachableShell,
      clock: virtualClock(),
      clients: { ...clients },
    });

    await two.scaling!.suspendProcesses('ring-asg', ['AZRebalance']);
    await two.scaling!.suspendProcesses('ring-asg', ['ReplaceUnhealthy']);

    expect(east.commandCalls(SuspendProcessesCommand)).toHaveLength(0);
    expect(west.commandCalls(SuspendProcessesCommand)).toHaveLength(2);
    // The region is remembered: the second change asks no region again.
    expect(west.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(1);
  });

  it('refuses a group found in no region in view, naming them', async () => {
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    for (const r of clients.regional) mockClient(r.autoscaling).on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const two = await createAwsBackends(awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } }), { shell: unreachableShell, clients: { ...clients } });
    await expect(two.scaling!.resumeProcesses('nope-asg', ['AZRebalance'])).rejects.toThrow('group nope-asg is in none of us-east-1, us-west-2');
  });
});

describe('AWS scaling: getGroup', () => {
  it('resolves $Latest to the number the group launches, with one DescribeLaunchTemplates, and reads members and suspended processes', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        ring({
          SuspendedProcesses: [{ ProcessName: 'AZRebalance', SuspensionReason: 'User suspended at 2026-03-01T00:59:00Z' }],
          Instances: [
            member('i-1', '5'),
            member('i-2', '7', { LifecycleState: 'Terminating', HealthStatus: 'Unhealthy', ProtectedFromScaleIn: true, AvailabilityZone: 'us-east-1b' }),
            // Launched before the group moved to a template: no version to compare.
            member('i-3', undefined, { LaunchConfigurationName: 'ring-lc' }),
          ],
        }),
      ],
    });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [RING_TEMPLATE] });

    const g = await b.scaling!.getGroup('ring-asg');

    expect(g).toEqual({
      name: 'ring-asg',
      min: 3,
      max: 4,
      desired: 3,
      suspended: ['AZRebalance'],
      launchTemplate: { id: 'lt-0ring', name: 'ring-node', version: '7', asked: '$Latest' },
      members: [
        { instanceId: 'i-1', az: 'us-east-1a', lifecycle: 'InService', health: 'Healthy', isProtected: false, launchTemplateVersion: '5' },
        { instanceId: 'i-2', az: 'us-east-1b', lifecycle: 'Terminating', health: 'Unhealthy', isProtected: true, launchTemplateVersion: '7' },
        { instanceId: 'i-3', az: 'us-east-1a', lifecycle: 'InService', health: 'Healthy', isProtected: false },
      ],
    });
    const lt = account.ec2.commandCalls(DescribeLaunchTemplatesCommand);
    expect(lt).toHaveLength(1);
    expect(lt[0]!.args[0].input.Filters).toEqual([{ Name: 'launch-template-name', Values: ['ring-node'] }]);
    expect(account.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand)[0]!.args[0].input.AutoScalingGroupNames).toEqual(['ring-asg']);
  });

  it.each([
    ['$Default', '$Default', '6'],
    // Auto Scaling's own default when the group names no version.
    [undefined, '$Default', '6'],
    ['$Latest', '$Latest', '7'],
  ])('resolves version %s as %s = v%s', async (version, asked, number) => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [ring({ LaunchTemplate: { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', ...(version ? { Version: version } : {}) } })],
    });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [RING_TEMPLATE] });
    expect((await b.scaling!.getGroup('ring-asg'))?.launchTemplate).toEqual({ id: 'lt-0ring', name: 'ring-node', version: number, asked });
  });

  it('passes a version number through without asking EC2', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [ring({ LaunchTemplate: { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', Version: '6' } })],
    });
    expect((await b.scaling!.getGroup('ring-asg'))?.launchTemplate).toEqual({ id: 'lt-0ring', name: 'ring-node', version: '6' });
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(0);
  });

  it("takes a mixed instances policy's template", async () => {
    const { LaunchTemplate: _, ...noTemplate } = ring();
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          ...noTemplate,
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0ring', LaunchTemplateName: 'ring-node', Version: '$Default' },
              Overrides: [{ InstanceType: 'r6i.large' }, { InstanceType: 'r7i.large' }],
            },
            InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 100 },
          },
        },
      ],
    });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [RING_TEMPLATE] });
    const g = await b.scaling!.getGroup('ring-asg');
    expect(g?.launchTemplate).toEqual({ id: 'lt-0ring', name: 'ring-node', version: '6', asked: '$Default' });
    expect(g?.members.map((m) => m.launchTemplateVersion)).toEqual(['5', '7']);
  });

  it('asks by id a template the group names by id only', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [ring({ LaunchTemplate: { LaunchTemplateId: 'lt-0ring', Version: '$Latest' } })],
    });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [RING_TEMPLATE] });
    expect((await b.scaling!.getGroup('ring-asg'))?.launchTemplate).toEqual({ id: 'lt-0ring', name: 'ring-node', version: '7', asked: '$Latest' });
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)[0]!.args[0].input).toEqual({ LaunchTemplateIds: ['lt-0ring'] });
  });

  it('leaves a member whose version is a word unknown (today it would mean another version than at its launch)', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [ring({ Instances: [member('i-1', '$Latest')] })] });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [RING_TEMPLATE] });
    expect((await b.scaling!.getGroup('ring-asg'))?.members[0]?.launchTemplateVersion).toBeUndefined();
  });

  it('a group without a template (launch configuration) has none, and costs no EC2 call', async () => {
    const { LaunchTemplate: _, ...noTemplate } = ring();
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...noTemplate, LaunchConfigurationName: 'ring-lc' }] });
    const g = await b.scaling!.getGroup('ring-asg');
    expect(g).toBeDefined();
    expect(g).not.toHaveProperty('launchTemplate');
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(0);
  });

  it('refuses a group whose template is gone: it could not launch a replacement', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [ring()] });
    account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] });
    await expect(b.scaling!.getGroup('ring-asg')).rejects.toThrow(
      'group ring-asg launches from ring-node $Latest, which EC2 does not find (deleted, or in another account) in us-east-1: it cannot launch a replacement',
    );
  });

  it('names the group and region when the read is refused', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).rejects(serviceError('AccessDenied', 'not authorized'));
    await expect(b.scaling!.getGroup('ring-asg')).rejects.toThrow(
      'reading group ring-asg: not allowed to call autoscaling:DescribeAutoScalingGroups in us-east-1 (AccessDenied)',
    );
  });

  it('names the group and region when its template cannot be read', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [ring()] });
    account.ec2.on(DescribeLaunchTemplatesCommand).rejects(serviceError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    await expect(b.scaling!.getGroup('ring-asg')).rejects.toThrow(
      'reading the launch template of group ring-asg: not allowed to call ec2:DescribeLaunchTemplates in us-east-1 (UnauthorizedOperation)',
    );
  });

  it('is undefined for a group that does not exist', async () => {
    account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    expect(await b.scaling!.getGroup('nope-asg')).toBeUndefined();
  });

  it('waits for a replacement without reading launch templates on every poll', async () => {
    account.autoscaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [ring({ Instances: [member('i-2', '7')] })] })
      .resolves({ AutoScalingGroups: [ring({ Instances: [member('i-2', '7'), member('i-new', '7')] })] });
    expect(await b.scaling!.waitForReplacement('ring-asg', ['i-1', 'i-2'])).toBe('i-new');
    expect(account.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(2);
    expect(account.ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(0);
  });
});
