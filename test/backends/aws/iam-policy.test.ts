import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  type Volume as Ec2Volume,
} from '@aws-sdk/client-ec2';
import { DescribeAutoScalingGroupsCommand, ResumeProcessesCommand, SuspendProcessesCommand } from '@aws-sdk/client-auto-scaling';
import { Command } from 'commander';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, type AwsBackends } from '../../../src/backends/aws/index.js';
import type { AwsInventory } from '../../../src/backends/aws/inventory.js';
import { actionsFor, FEATURE_NAMES, FEATURES, PORT_ACTIONS, policyFor, scopeOf, type PortMethod } from '../../../src/backends/aws/iam-actions.js';
import { register } from '../../../src/commands/iam-policy.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';
import { FENCE_SG, mockNetwork } from './network-mock.js';

let account: MockedAccount;
let b: AwsBackends;
beforeEach(async () => {
  account = mockAwsAccount();
  b = await createAwsBackends(awsConfig({ clusters: { orders: { subnets: ['subnet-a'] } } }), { shell: unreachableShell, clock: virtualClock() });
  await b.accountId();
  await b.inventory.discover();
  const volume: Ec2Volume = { VolumeId: 'vol-1', AvailabilityZone: 'us-east-1a', Size: 1, State: 'available', Attachments: [] };
  account.ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-1' });
  account.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [volume] });
  account.ec2.on(AttachVolumeCommand).callsFake(() => {
    account.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [{ ...volume, State: 'in-use', Attachments: [{ InstanceId: FLEET[0]!.id, State: 'attached' as const }] }] });
    return {};
  });
  account.ec2.on(DetachVolumeCommand).callsFake(() => {
    account.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [volume] });
    return {};
  });
  account.ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-1' });
  account.ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', State: 'completed' }] });
  account.ec2.on(DeleteVolumeCommand).resolves({});
  account.ec2.on(DeleteSnapshotCommand).resolves({});
  account.ec2.on(TerminateInstancesCommand).resolves({});
  account.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-a', AvailabilityZone: 'us-east-1a' }] });
  account.ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: FLEET[0]!.id }] });
  account.ec2.on(StopInstancesCommand).callsFake(() => {
    account.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ ...ec2Instance(FLEET[0]!), State: { Name: 'stopped' } }] }] });
    return {};
  });
  const asg = {
    AutoScalingGroupName: 'g',
    MinSize: 1,
    MaxSize: 2,
    DesiredCapacity: 1,
    // $Latest: reading the group resolves it with EC2.
    LaunchTemplate: { LaunchTemplateId: 'lt-1', LaunchTemplateName: 'orders-db', Version: '$Latest' },
    Instances: [{ InstanceId: 'i-new', LifecycleState: 'InService', HealthStatus: 'Healthy', AvailabilityZone: 'us-east-1a', ProtectedFromScaleIn: false }] };
  account.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg as never] });
  account.ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-1', LaunchTemplateName: 'orders-db', LatestVersionNumber: 3, DefaultVersionNumber: 1 }] });
  account.autoscaling.on(SuspendProcessesCommand).resolves({});
  account.autoscaling.on(ResumeProcessesCommand).resolves({});
  account.resetHistory();
});

const owner = { runId: 'r1', owner: 'me@bastion', startedAt: '2026-03-01T01:00:00Z' };
const record = { zoneId: 'Z0NIGHTSHIFT', name: 'orders-writer.db.internal', type: 'A' as const, ttl: 30, values: ['127.0.1.1'] };

/** One call of each port method, as a runbook would make it. */
const CALLS: Record<PortMethod, (b: AwsBackends) => Promise<unknown>> = {
  // A member of a group: the groups are read beside the discovery, and that read is part of it.
  'inventory.discover': async (b) => {
    account.tags.get(FLEET[0]!.id)!['aws:autoscaling:groupName'] = 'g';
    await b.inventory.discover();
    await (b.inventory as AwsInventory).groupsSettled();
    expect((await b.inventory.discover()).groups?.map((g) => g.launchTemplate?.version)).toEqual(['3']);
  },
  'inventory.setTags': (b) => b.inventory.setTags(FLEET[0]!.id, { a: 'b' }),
  'inventory.deleteTags': (b) => b.inventory.deleteTags(FLEET[0]!.id, ['a']),
  'metrics.fetch': (b) => b.metrics.fetch({ instanceIds: [FLEET[0]!.id], minutes: 30 }),
  'dns.getRecord': (b) => b.dns!.getRecord(record.zoneId, record.name, 'A'),
  'dns.swapRecord': (b) => b.dns!.swapRecord(record, { ...record, values: ['127.0.1.2'] }),
  'volumes.create': (b) => b.volumes!.create({ az: 'us-east-1a', sizeGiB: 1, tags: { a: 'b' } }),
  'volumes.get': (b) => b.volumes!.get('vol-1'),
  'volumes.attach': (b) => b.volumes!.attach('vol-1', FLEET[0]!.id, '/dev/sdf'),
  'volumes.detach': (b) => b.volumes!.detach('vol-1'),
  'volumes.find': (b) => b.volumes!.find({ a: 'b' }),
  'volumes.snapshot': (b) => b.volumes!.snapshot('vol-1', { tags: { a: 'b' } }),
  'volumes.waitSnapshot': (b) => b.volumes!.waitSnapshot('snap-1'),
  'volumes.getSnapshot': (b) => b.volumes!.getSnapshot('snap-1'),
  'volumes.findSnapshots': (b) => b.volumes!.findSnapshots({ a: 'b' }),
  'volumes.removeSnapshot': (b) => b.volumes!.removeSnapshot('snap-1'),
  // Both ways: deleted, and refused while attached (then read, to name the instance).
  'volumes.remove': async (b) => {
    const inUse = Object.assign(new Error('Volume vol-1 is currently attached to i-1'), { name: 'VolumeInUse', $metadata: {} });
    account.ec2.on(DeleteVolumeCommand).rejectsOnce(inUse).resolves({});
    await expect(b.volumes!.remove('vol-1')).rejects.toThrow('still attached');
    await b.volumes!.remove('vol-1');
  },
  'scaling.getGroup': (b) => b.scaling!.getGroup('g'),
  'scaling.terminateInGroup': (b) => b.scaling!.terminateInGroup(FLEET[0]!.id),
  'scaling.waitForReplacement': (b) => b.scaling!.waitForReplacement('g', []),
  'scaling.suspendProcesses': (b) => b.scaling!.suspendProcesses('g', ['AZRebalance']),
  'scaling.resumeProcesses': (b) => b.scaling!.resumeProcesses('g', ['AZRebalance']),
  'compute.launch': (b) => b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1a', tags: { 'nightshift:cluster': 'orders' } }),
  'compute.find': (b) => b.compute!.find({ 'nightshift:cluster': 'orders' }),
  'compute.waitReady': (b) => b.compute!.waitReady(FLEET[0]!.id),
  'compute.terminate': (b) => b.compute!.terminate(FLEET[0]!.id),
  'compute.stop': (b) => b.compute!.stop(FLEET[0]!.id),
  // Every step of an isolation: the group checked, the interface changed, the change read back.
  'compute.isolate': async (b) => {
    mockNetwork(account);
    expect((await b.compute!.isolate(FLEET[0]!.id, FENCE_SG)).changed).toBe(true);
  },
  'compute.fenceState': async (b) => {
    const net = mockNetwork(account);
    net.interfaces.set(FLEET[0]!.id, [{ id: 'eni-1', groups: [FENCE_SG] }]);
    expect((await b.compute!.fenceState(FLEET[0]!.id, { securityGroupId: FENCE_SG })).state).toBe('fenced');
  },
  'lock.acquire': async (b) => {
    await b.lock.acquire({ name: 'orders' }, owner);
    await b.lock.acquire({ name: 'events' }, owner);
  },
  'lock.release': async (b) => {
    await b.lock.release({ name: 'orders' }, 'r1');
    await b.lock.release({ name: 'events' }, 'r1');
  },
  'lock.holder': async (b) => {
    await b.lock.holder({ name: 'orders' });
    await b.lock.holder({ name: 'events' });
  },
  'lock.breakLock': async (b) => {
    await b.lock.breakLock({ name: 'orders' }, 'r1');
    await b.lock.breakLock({ name: 'events' }, 'r1');
  },
};

function actionsSent(account: MockedAccount): string[] {
  const prefix: Array<[string, { calls(): Array<{ args: unknown[] }> }]> = [
    ['ec2', account.ec2],
    ['cloudwatch', account.cloudwatch],
    ['autoscaling', account.autoscaling],
    ['route53', account.route53],
    ['sts', account.sts],
  ];
  return prefix.flatMap(([p, m]) => m.calls().map((c) => `${p}:${(c.args[0] as object).constructor.name.replace(/Command$/, '')}`));
}

describe('the IAM action table', () => {
  it.each(Object.keys(CALLS) as PortMethod[])('lists every action %s really sends', async (method) => {
    await CALLS[method](b);
    const sent = [...new Set(actionsSent(account))];
    expect(sent.length).toBeGreaterThan(0);
    for (const action of sent) expect(PORT_ACTIONS[method], `${method} sends ${action}`).toContain(action);
  });

  it('keeps the read-only view free of anything that changes the world', () => {
    const view = actionsFor(['view']);
    expect(view).toContain('ec2:DescribeInstances');
    expect(view).toContain('cloudwatch:GetMetricData');
    for (const a of view) expect(a).toMatch(/:(Describe|List|Get)/);
  });

  it('gives each runbook what its steps need, and no more than the features asked for', () => {
    expect(actionsFor(['rotate'])).toEqual(
      expect.arrayContaining([
        'autoscaling:TerminateInstanceInAutoScalingGroup',
        'autoscaling:SuspendProcesses',
        'autoscaling:ResumeProcesses',
        'ec2:DescribeLaunchTemplates',
      ]),
    );
    // The view shows the drift finding (launch templates read) but changes no group.
    expect(actionsFor(['view'])).toContain('ec2:DescribeLaunchTemplates');
    expect(actionsFor(['view'])).not.toContain('autoscaling:SuspendProcesses');
    expect(actionsFor(['rebuild'])).not.toContain('autoscaling:SuspendProcesses');
    expect(actionsFor(['rotate'])).not.toContain('ec2:StopInstances');
    expect(actionsFor(['failover'])).toEqual(
      expect.arrayContaining(['ec2:StopInstances', 'ec2:ModifyNetworkInterfaceAttribute', 'ec2:DescribeSecurityGroups', 'route53:ChangeResourceRecordSets']),
    );
    // Isolation never needs ModifyInstanceAttribute, which could rewrite an instance's user data.
    expect(actionsFor(FEATURE_NAMES)).not.toContain('ec2:ModifyInstanceAttribute');
    expect(actionsFor(['switchover'])).not.toContain('ec2:ModifyNetworkInterfaceAttribute');
    expect(actionsFor(['rebuild'])).toEqual(expect.arrayContaining(['ec2:CreateSnapshot', 'ec2:RunInstances', 'iam:PassRole']));
    expect(actionsFor(['repair'])).not.toContain('ec2:RunInstances');
    // A resume finds what an earlier attempt made, and a run cleans up what it gave up on.
    expect(actionsFor(['rebuild'])).toEqual(
      expect.arrayContaining(['ec2:DescribeSnapshots', 'ec2:DeleteSnapshot', 'ec2:DeleteVolume', 'ec2:TerminateInstances', 'ec2:DeleteTags']),
    );
    expect(actionsFor(['failover'])).not.toContain('ec2:TerminateInstances');
    expect(Object.keys(FEATURES)).toEqual(['view', 'repair', 'switchover', 'failover', 'rebuild', 'rotate']);
  });

  it('scopes Route 53 to the configured zones and PassRole to the configured roles, passed to EC2', () => {
    const role = 'arn:aws:iam::123456789012:role/orders-db-node';
    const scope = scopeOf(awsConfig({ aws: { regions: ['us-east-1'], instanceRoles: [role] } }));
    const { policy } = policyFor(['failover', 'rebuild'], scope);
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(bySid.NightshiftRecordsRead?.Resource).toEqual(['arn:aws:route53:::hostedzone/Z0NIGHTSHIFT']);
    expect(bySid.NightshiftRecordsChange?.Resource).toEqual(['arn:aws:route53:::hostedzone/Z0NIGHTSHIFT']);
    expect(bySid.NightshiftRecordChanges?.Resource).toBe('arn:aws:route53:::change/*');
    expect(bySid.NightshiftPassInstanceRoles).toMatchObject({ Resource: [role], Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } } });
    expect(bySid.NightshiftRead?.Action.every((a) => !a.startsWith('route53:'))).toBe(true);
    expect(policyFor(['view'], scopeOf(awsConfig({ clusters: {} }))).policy.Statement.flatMap((s) => s.Action).some((a) => a.startsWith('route53:'))).toBe(false);
  });

  // The conditions ask for tags on what a create makes: the adapters must send them.
  it('sends with every create the tags the policy requires of it', async () => {
    const { policy } = policyFor(FEATURE_NAMES, scopeOf(awsConfig({ aws: { regions: ['us-east-1'], instanceRoles: ['arn:aws:iam::123456789012:role/x'] } })));
    const creates: Array<[PortMethod, string]> = [['compute.launch', 'RunInstancesCommand'], ['volumes.create', 'CreateVolumeCommand'], ['volumes.snapshot', 'CreateSnapshotCommand']];
    for (const [method, command] of creates) {
      account.resetHistory();
      await CALLS[method](b);
      const sent = account.ec2.calls().map((c) => c.args[0] as { constructor: { name: string }; input: { TagSpecifications?: Array<{ ResourceType: string; Tags: Array<{ Key: string; Value: string }> }> } });
      const call = sent.find((c) => c.constructor.name === command);
      expect(call, `${method} sends ${command}`).toBeDefined();
      const action = `ec2:${command.replace(/Command$/, '')}`;
      const requiring = policy.Statement.filter((s) => s.Action.includes(action) && Object.values(s.Condition ?? {}).some((c) => Object.keys(c).some((k) => k.startsWith('aws:RequestTag/'))));
      expect(requiring.length, `${action} has a statement requiring tags`).toBeGreaterThan(0);
      for (const s of requiring) {
        for (const arn of [s.Resource].flat()) {
          const type = /:([a-z-]+)\/[^/]*$/.exec(arn)?.[1] ?? '';
          const tags = Object.fromEntries((call!.input.TagSpecifications ?? []).filter((t) => t.ResourceType === type).flatMap((t) => t.Tags.map((x) => [x.Key, x.Value])));
          for (const [op, block] of Object.entries(s.Condition ?? {})) {
            for (const [key, want] of Object.entries(block)) {
              const tag = key.replace(/^aws:RequestTag\//, '');
              if (tag === key) continue;
              expect(tags[tag], `${method}: the ${type} is sent without ${tag} (${s.Sid})`).toBeDefined();
              if (op === 'StringEquals') expect([want].flat(), `${method}: ${type} ${tag}`).toContain(tags[tag]);
            }
          }
        }
      }
    }
  });

  it("changes only the records and types the policy's Route 53 conditions name, by its actions", async () => {
    const { policy } = policyFor(FEATURE_NAMES, scopeOf(awsConfig()));
    const cond = policy.Statement.find((s) => s.Sid === 'NightshiftRecordsChange')?.Condition?.['ForAllValues:StringEquals'];
    expect(cond).toBeDefined();
    // The default config gives orders a writer record, so its lock is a TXT record beside it.
    const withZone = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
    account.resetHistory();
    await CALLS['dns.swapRecord'](withZone);
    await CALLS['lock.acquire'](withZone);
    await CALLS['lock.release'](withZone);
    const changes = account.route53
      .calls()
      .map((c) => c.args[0] as { constructor: { name: string }; input: { ChangeBatch?: { Changes?: Array<{ Action: string; ResourceRecordSet: { Name: string; Type: string } }> } } })
      .filter((c) => c.constructor.name === 'ChangeResourceRecordSetsCommand')
      .flatMap((c) => c.input.ChangeBatch?.Changes ?? []);
    expect(changes.map((c) => c.ResourceRecordSet.Type).sort()).toEqual(['A', 'A', 'TXT', 'TXT']);
    for (const c of changes) {
      expect(cond!['route53:ChangeResourceRecordSetsNormalizedRecordNames']).toContain(c.ResourceRecordSet.Name.toLowerCase().replace(/\.$/, ''));
      expect(cond!['route53:ChangeResourceRecordSetsRecordTypes']).toContain(c.ResourceRecordSet.Type);
      expect(cond!['route53:ChangeResourceRecordSetsActions']).toContain(c.Action);
    }
  });
});

describe('nightshift iam-policy', () => {
  async function run(argv: string[]) {
    let out = '';
    let err = '';
    const program = new Command().exitOverride();
    register(program, {
      io: {
        stdout: { write: (s: string) => ((out += s), true) } as never,
        stderr: { write: (s: string) => ((err += s), true) } as never,
        isInteractive: false,
      },
      loadConfig: async () => awsConfig(),
      openBackends: async () => {
        throw new Error('iam-policy must not open a backend');
      },
    });
    await program.parseAsync(['node', 'nightshift', ...argv]);
    return { out, err };
  }

  it('prints the view policy by default, as JSON', async () => {
    const { out } = await run(['iam-policy']);
    const policy = JSON.parse(out) as ReturnType<typeof policyFor>['policy'];
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.flatMap((s) => s.Action)).not.toContain('ec2:CreateTags');
    expect(policy).toEqual(policyFor(['view'], scopeOf(awsConfig())).policy);
  });

  it('adds runbook features, repeated or comma-separated', async () => {
    const { out } = await run(['iam-policy', '--feature', 'switchover,rotate']);
    expect(JSON.parse(out)).toEqual(policyFor(['switchover', 'rotate'], scopeOf(awsConfig())).policy);
  });

  it("lists rotate's process and launch template actions", async () => {
    const policy = JSON.parse((await run(['iam-policy', '--feature', 'rotate'])).out) as ReturnType<typeof policyFor>['policy'];
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s.Action]));
    expect(bySid.NightshiftClusterGroups).toEqual(expect.arrayContaining(['autoscaling:SuspendProcesses', 'autoscaling:ResumeProcesses']));
    expect(bySid.NightshiftRead).toContain('ec2:DescribeLaunchTemplates');
  });

  it('puts the account given in the ARNs, says on stderr what it left out, and refuses an account that is not 12 digits', async () => {
    const { out, err } = await run(['iam-policy', '--feature', 'rebuild', '--account', '123456789012']);
    const policy = JSON.parse(out) as ReturnType<typeof policyFor>['policy'];
    expect(policy.Statement.find((s) => s.Sid === 'NightshiftClusterInstances')?.Resource).toEqual(['arn:aws:ec2:us-east-1:123456789012:instance/*']);
    expect(err).toBe(
      "note: aws.instanceRoles is not set, so iam:PassRole is left out: a launch template with an instance profile cannot launch; set aws.instanceRoles to the ARNs of its profile's roles (arn:aws:iam::ACCOUNT:role/NAME)\n",
    );
    await expect(run(['iam-policy', '--account', '1234'])).rejects.toThrow('--account 1234: an AWS account id is 12 digits');
  });

  it('refuses an unknown feature with the list of known ones', async () => {
    await expect(run(['iam-policy', '--feature', 'teleport'])).rejects.toThrow(
      'unknown feature teleport: choose from view, repair, switchover, failover, rebuild, rotate, all',
    );
  });
});
