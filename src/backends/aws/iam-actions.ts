// Which AWS API actions each port method of the AWS backend calls: the one
// table `nightshift iam-policy` derives its least-privilege policy from, and
// that a test checks against the requests the adapters really send.
// No SDK import here: the iam-policy command loads this without the SDK.

export const PORT_ACTIONS = {
  // The clusters' groups and their launch templates (the launch template drift finding) and the EBS volume
  // status checks (the io-impaired finding) are read beside discovery.
  'inventory.discover': [
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceStatus',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeVolumeStatus',
  ],
  'inventory.setTags': ['ec2:CreateTags'],
  'inventory.deleteTags': ['ec2:DeleteTags'],
  'metrics.fetch': ['cloudwatch:GetMetricData'],
  'dns.getRecord': ['route53:ListResourceRecordSets'],
  'dns.swapRecord': ['route53:ChangeResourceRecordSets', 'route53:GetChange'],
  // Tag-on-create (TagSpecifications) is authorised as ec2:CreateTags.
  'volumes.create': ['ec2:CreateVolume', 'ec2:CreateTags', 'ec2:DescribeVolumes'],
  'volumes.get': ['ec2:DescribeVolumes'],
  'volumes.find': ['ec2:DescribeVolumes'],
  'volumes.attach': ['ec2:AttachVolume', 'ec2:DescribeVolumes'],
  'volumes.detach': ['ec2:DetachVolume', 'ec2:DescribeVolumes'],
  'volumes.snapshot': ['ec2:CreateSnapshot', 'ec2:CreateTags'],
  'volumes.waitSnapshot': ['ec2:DescribeSnapshots'],
  'volumes.getSnapshot': ['ec2:DescribeSnapshots'],
  'volumes.findSnapshots': ['ec2:DescribeSnapshots'],
  'volumes.removeSnapshot': ['ec2:DeleteSnapshot'],
  // DescribeVolumes only when the delete is refused, to name the instance the volume is still attached to.
  'volumes.remove': ['ec2:DeleteVolume', 'ec2:DescribeVolumes'],
  // DescribeLaunchTemplates turns a group's $Latest or $Default into the version number it launches.
  'scaling.getGroup': ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeLaunchTemplates'],
  'scaling.terminateInGroup': ['autoscaling:TerminateInstanceInAutoScalingGroup'],
  'scaling.waitForReplacement': ['autoscaling:DescribeAutoScalingGroups'],
  // DescribeAutoScalingGroups only to find the group's region, when several are in view and discovery has not seen it.
  'scaling.suspendProcesses': ['autoscaling:SuspendProcesses', 'autoscaling:DescribeAutoScalingGroups'],
  'scaling.resumeProcesses': ['autoscaling:ResumeProcesses', 'autoscaling:DescribeAutoScalingGroups'],
  // iam:PassRole: a launch template with an instance profile hands its role to the instance.
  'compute.launch': ['ec2:RunInstances', 'ec2:CreateTags', 'ec2:DescribeSubnets', 'iam:PassRole'],
  'compute.find': ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus'],
  'compute.waitReady': ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus'],
  'compute.terminate': ['ec2:TerminateInstances'],
  'compute.stop': ['ec2:StopInstances', 'ec2:DescribeInstances'],
  // Groups set per network interface (never ModifyInstanceAttribute, which can also rewrite user data);
  // DescribeSecurityGroups checks the isolation group lets nothing in before it is used.
  'compute.isolate': ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroups', 'ec2:ModifyNetworkInterfaceAttribute'],
  // An instance in the isolation group alone counts as fenced only if that group lets nothing in.
  'compute.fenceState': ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroups'],
  // The lock is a Route 53 TXT record where the cluster has writerDns, else a tag lease on its members
  // (found by a discovery): both ways are listed, since clusters may use either.
  'lock.acquire': [
    'route53:ChangeResourceRecordSets',
    'route53:ListResourceRecordSets',
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceStatus',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeVolumeStatus',
    'ec2:CreateTags',
    'ec2:DeleteTags',
  ],
  'lock.release': [
    'route53:ChangeResourceRecordSets',
    'route53:ListResourceRecordSets',
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceStatus',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeVolumeStatus',
    'ec2:DeleteTags',
  ],
  'lock.holder': [
    'route53:ListResourceRecordSets',
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceStatus',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeVolumeStatus',
  ],
  'lock.breakLock': [
    'route53:ChangeResourceRecordSets',
    'route53:ListResourceRecordSets',
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceStatus',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeVolumeStatus',
    'ec2:DeleteTags',
  ],
} as const satisfies Record<string, readonly string[]>;

export type PortMethod = keyof typeof PORT_ACTIONS;

const VIEW: PortMethod[] = ['inventory.discover', 'metrics.fetch', 'dns.getRecord', 'scaling.getGroup', 'volumes.get', 'lock.holder'];
const LOCK: PortMethod[] = ['lock.acquire', 'lock.release', 'lock.breakLock'];
const SWITCHOVER: PortMethod[] = [...VIEW, ...LOCK, 'dns.swapRecord', 'inventory.setTags', 'inventory.deleteTags'];

const REBUILD: PortMethod[] = [
  ...VIEW,
  ...LOCK,
  'compute.launch',
  'compute.find',
  'compute.waitReady',
  'compute.terminate',
  'volumes.create',
  'volumes.find',
  'volumes.attach',
  'volumes.detach',
  'volumes.snapshot',
  'volumes.waitSnapshot',
  'volumes.getSnapshot',
  'volumes.findSnapshots',
  'volumes.removeSnapshot',
  'volumes.remove',
  'inventory.setTags',
  'inventory.deleteTags',
];

/** What each feature (the read-only view, each runbook) calls, from RUNBOOKS.md. */
export const FEATURES = {
  view: VIEW,
  repair: [...VIEW, ...LOCK, 'inventory.setTags'],
  switchover: SWITCHOVER,
  // Both fences, stop and isolate: the config chooses per cluster (clusters.C.fence.method).
  failover: [...SWITCHOVER, 'compute.stop', 'compute.isolate', 'compute.fenceState'],
  // A resume finds what an earlier attempt made by its tags (find, findSnapshots) and cleans up what a
  // run gave up on (terminate, remove, removeSnapshot); the new node joins when its spare tag is deleted.
  rebuild: REBUILD,
  // The group's fighting processes are suspended for the run and resumed at its end, abort or resume;
  // a replacement's status checks are awaited before its engine is.
  rotate: [
    ...VIEW,
    ...LOCK,
    'scaling.suspendProcesses',
    'scaling.resumeProcesses',
    'scaling.terminateInGroup',
    'scaling.waitForReplacement',
    'scaling.getGroup',
    // A MySQL replica's replacement is rebuilt with rebuild's own steps.
    ...REBUILD,
  ],
} satisfies Record<string, PortMethod[]>;

export type Feature = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as Feature[];

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export function actionsFor(features: Feature[]): string[] {
  const out = new Set<string>();
  for (const f of features) for (const m of FEATURES[f]) for (const a of PORT_ACTIONS[m]) out.add(a);
  return [...out].sort();
}

const isRead = (action: string) => /^[a-z0-9]+:(Describe|List|Get)/.test(action);
const RECORD_ACTIONS = new Set(['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets']);

/**
 * The least-privilege policy for `features`. Route 53 actions are scoped to
 * `hostedZoneIds` (the clusters' writerDns zones); EC2 and Auto Scaling
 * reads cannot be scoped by resource, so they stay on "*".
 */
export function policyFor(features: Feature[], hostedZoneIds: string[]): PolicyDocument {
  const actions = actionsFor(features);
  const statements: PolicyStatement[] = [];
  const add = (Sid: string, Action: string[], Resource: string | string[], Condition?: PolicyStatement['Condition']) => {
    if (Action.length > 0) statements.push({ Sid, Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
  };
  const plain = actions.filter((a) => !a.startsWith('route53:') && a !== 'iam:PassRole');
  add('NightshiftRead', plain.filter(isRead), '*');
  add('NightshiftChange', plain.filter((a) => !isRead(a)), '*');
  const zones = [...new Set(hostedZoneIds.map((z) => z.replace(/^\/?hostedzone\//, '')))].sort();
  // Route 53 is used only for clusters with writerDns (DNS swap, TXT lock): no zone, no Route 53 at all.
  if (zones.length > 0) {
    add('NightshiftRoute53Records', actions.filter((a) => RECORD_ACTIONS.has(a)), zones.map((z) => `arn:aws:route53:::hostedzone/${z}`));
    add('NightshiftRoute53Changes', actions.filter((a) => a === 'route53:GetChange'), 'arn:aws:route53:::change/*');
  }
  add('NightshiftPassRoleToEc2', actions.filter((a) => a === 'iam:PassRole'), '*', {
    StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
  });
  return { Version: '2012-10-17', Statement: statements };
}
