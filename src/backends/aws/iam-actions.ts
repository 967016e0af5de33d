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

// ------------------------------------------------------------ the policy
//
// Every action that changes something is scoped by the tags nightshift reads
// or sets itself, so that its key cannot stop, terminate, retag or delete what
// is not a cluster's (see the README's "IAM policy"):
//   instances   aws:ResourceTag/<discovery.clusterTag> (or, for
//               discovery.asgClusters, aws:autoscaling:groupName), and the
//               same tag required on what RunInstances creates;
//   volumes and snapshots   MANAGED_TAG, which the volumes adapter puts on
//               every one it creates;
//   groups      autoscaling:ResourceTag/<clusterTag>, or the groups named;
//   roles       iam:PassRole only for aws.instanceRoles, only to EC2;
//   records     the writerDns zones, names and types only.
// Which condition keys each action takes is AWS's Service Authorization
// Reference; test/backends/aws/iam-policy-conditions.test.ts holds it to that.

/**
 * The tag the AWS volumes adapter puts on every volume and snapshot it
 * creates; the policy lets nightshift attach, detach, snapshot and delete
 * only those. Here so that the policy is printed without loading the SDK.
 */
export const MANAGED_TAG = 'nightshift:managed';
export const MANAGED_VALUE = 'true';

/**
 * Tag keys nightshift writes on instances it did not create (spare, role,
 * lock, fenced, promotion...): its own prefix, and the repair runbook's
 * `last-repaired` (REPAIR_TAG; a test keeps the two the same).
 */
export const WRITTEN_TAG_KEYS = ['nightshift:*', 'last-repaired'];

const ASG_NAME_TAG = 'aws:autoscaling:groupName';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** What the policy is scoped to: the config's names, and the account when it is given. */
export interface PolicyScope {
  /** The 12-digit account id, or `*` (any account: the ARNs then name the resource types only). */
  account: string;
  /** aws.regions: the ARNs name it when there is one, and say any (`*`) when there are none or several. */
  regions: string[];
  /** discovery.clusterTag: every instance nightshift changes carries it. */
  clusterTag: string;
  /** discovery.asgClusters' groups: their instances carry aws:autoscaling:groupName, not necessarily the cluster tag. */
  asgGroups: string[];
  /** discovery.securityGroupClusters' names: their instances are changed only where they carry the cluster tag. */
  securityGroupClusters: string[];
  /** clusters.<name>.writerDns: the zones, the writer records, and the lock records beside them. */
  records: Array<{ zoneId: string; name: string; type: string }>;
  /** clusters.<name>.fence.securityGroup: the only groups an isolation may put an interface in. */
  fenceGroups: string[];
  /** aws.instanceRoles: the roles of the launch templates' instance profiles. */
  instanceRoles: string[];
}

interface ClusterScopeConfig {
  writerDns?: { zoneId: string; name: string; type: string } | undefined;
  fence?: { securityGroup?: string | undefined } | undefined;
}

interface ScopeConfig {
  discovery: { clusterTag: string; asgClusters: Array<{ asg: string }>; securityGroupClusters: Array<{ name: string }> };
  clusters: Record<string, ClusterScopeConfig & { regions?: Record<string, ClusterScopeConfig> | undefined }>;
  aws: { regions: string[]; instanceRoles?: string[] | undefined };
}

const uniq = (xs: string[]) => [...new Set(xs)].sort();

export function scopeOf(config: ScopeConfig, account = '*'): PolicyScope {
  // Each cluster's own settings and every region's (clusters.NAME.regions.REGION): a writer record or fence group
  // given for one region only is still one nightshift changes.
  const clusters = Object.values(config.clusters).flatMap((c) => [c, ...Object.values(c.regions ?? {})]);
  return {
    account,
    regions: uniq(config.aws.regions),
    clusterTag: config.discovery.clusterTag,
    asgGroups: uniq(config.discovery.asgClusters.map((a) => a.asg)),
    securityGroupClusters: uniq(config.discovery.securityGroupClusters.map((s) => s.name)),
    records: [
      ...new Map(
        clusters.flatMap((c) => (c.writerDns ? [{ zoneId: c.writerDns.zoneId, name: c.writerDns.name, type: c.writerDns.type }] : [])).map((r) => [`${r.zoneId}|${r.name}|${r.type}`, r]),
      ).values(),
    ],
    fenceGroups: uniq(clusters.flatMap((c) => (c.fence?.securityGroup ? [c.fence.securityGroup] : []))),
    instanceRoles: uniq(config.aws.instanceRoles ?? []),
  };
}

export function actionsFor(features: Feature[]): string[] {
  const out = new Set<string>();
  for (const f of features) for (const m of FEATURES[f]) for (const a of PORT_ACTIONS[m]) out.add(a);
  return [...out].sort();
}

export const isRead = (action: string) => /^[a-z0-9]+:(Describe|List|Get)/.test(action);

/** The name Route 53 compares in route53:ChangeResourceRecordSetsNormalizedRecordNames: lower case, no final dot. */
export function normalizedRecordName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** The lock's TXT record beside a writer record (lock.ts: `_nightshift-lock.<writer>`). */
const lockRecordName = (writer: string) => `_nightshift-lock.${normalizedRecordName(writer)}`;

/** `*`, or the one region when the config names only one. */
function globalRegion(regions: string[]): string {
  return regions.length === 1 ? (regions[0] ?? '*') : '*';
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The least-privilege policy for `features`, and what it had to leave out
 * (notes for stderr: each names the config key that would put it back).
 * Reads that AWS cannot scope by resource (EC2's and Auto Scaling's
 * Describe*, CloudWatch GetMetricData: the reference lists no resource type
 * for them) are on "*"; nothing that changes anything is.
 */
export function policyFor(features: Feature[], scope: PolicyScope): { policy: PolicyDocument; notes: string[] } {
  const actions = new Set(actionsFor(features));
  const methods = new Set(features.flatMap((f) => FEATURES[f] as PortMethod[]));
  const has = (a: string) => actions.has(a);
  const pick = (...list: string[]) => list.filter(has);
  const statements: PolicyStatement[] = [];
  const notes: string[] = [];
  const add = (Sid: string, Action: string[], Resource: string | string[], Condition?: PolicyStatement['Condition']) => {
    if (Action.length > 0 && Resource.length > 0) statements.push({ Sid, Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
  };

  // The one region the config names, else any: one ARN per region and statement would take the whole
  // policy past IAM's size limit with two regions, and the tags already scope every change.
  const region = globalRegion(scope.regions);
  const partition = partitionOf(scope.regions[0] ?? '');
  /** Images and snapshots have no account in their ARNs. */
  const ec2 = (type: string, ids: string[] = ['*']) =>
    ids.map((id) => `arn:${partition}:ec2:${region}:${type === 'image' || type === 'snapshot' ? '' : scope.account}:${type}/${id}`);
  const groupArns = (names: string[]) => names.map((n) => `arn:${partition}:autoscaling:${region}:${scope.account}:autoScalingGroup:*:autoScalingGroupName/${n}`);

  const tagged = { StringLike: { [`aws:ResourceTag/${scope.clusterTag}`]: '*' } };
  const inGroups = scope.asgGroups.length > 0 ? { StringEquals: { [`aws:ResourceTag/${ASG_NAME_TAG}`]: scope.asgGroups } } : undefined;
  const managed = (key: 'aws:ResourceTag' | 'aws:RequestTag') => ({ StringEquals: { [`${key}/${MANAGED_TAG}`]: MANAGED_VALUE } });

  add('NightshiftRead', [...actions].filter((a) => isRead(a) && !a.startsWith('route53:')), '*');

  // Isolation moves interfaces into a fence group: without one configured there is nothing it may use.
  const isolate = has('ec2:ModifyNetworkInterfaceAttribute') && scope.fenceGroups.length > 0;
  if (has('ec2:ModifyNetworkInterfaceAttribute') && !isolate) {
    notes.push(
      'no clusters.<name>.fence.securityGroup configured, so isolating an instance (ec2:ModifyNetworkInterfaceAttribute) is left out; a fence with method: stop needs none',
    );
  }

  // The instance side of every change to an instance, the attachments' included.
  const instanceActions = [
    ...pick('ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:StopInstances', 'ec2:TerminateInstances'),
    ...(isolate ? ['ec2:ModifyNetworkInterfaceAttribute'] : []),
  ].sort();
  add('NightshiftClusterInstances', instanceActions, ec2('instance'), tagged);
  if (inGroups) add('NightshiftGroupInstances', instanceActions, ec2('instance'), inGroups);

  // Tags written on instances that exist (spare, role, lock, fenced...): only nightshift's own keys.
  const tagActions = [
    ...(methods.has('inventory.setTags') || methods.has('lock.acquire') ? ['ec2:CreateTags'] : []),
    ...pick('ec2:DeleteTags'),
  ];
  // The cluster tag too (rotate tags a replacement with it), where it is not one of nightshift's own.
  const ownKey = WRITTEN_TAG_KEYS.some((p) => (p.endsWith('*') ? scope.clusterTag.startsWith(p.slice(0, -1)) : p === scope.clusterTag));
  const keys = { 'ForAllValues:StringLike': { 'aws:TagKeys': uniq([...WRITTEN_TAG_KEYS, ...(ownKey ? [] : [scope.clusterTag])]) } };
  add('NightshiftClusterInstanceTags', tagActions, ec2('instance'), { ...tagged, ...keys });
  if (inGroups) add('NightshiftGroupInstanceTags', tagActions, ec2('instance'), { ...inGroups, ...keys });

  if (has('ec2:RunInstances')) {
    // What the launch creates must carry the cluster tag (compute.ts refuses a launch without it)...
    add('NightshiftLaunchTagged', ['ec2:RunInstances'], [...ec2('instance'), ...ec2('volume')], {
      StringLike: { [`aws:RequestTag/${scope.clusterTag}`]: '*' },
    });
    // ...and what it launches from is the launch template's to choose.
    const from = ['image', 'snapshot', 'launch-template', 'subnet', 'security-group', 'network-interface', 'key-pair', 'placement-group', 'capacity-reservation'];
    add('NightshiftLaunchFrom', ['ec2:RunInstances'], from.flatMap((t) => ec2(t)));
  }

  // Tags given with a create (TagSpecifications) are authorised as ec2:CreateTags, for that create only.
  const creates = pick('ec2:RunInstances', 'ec2:CreateVolume', 'ec2:CreateSnapshot').map((a) => a.slice('ec2:'.length));
  add(
    'NightshiftTagOnCreate',
    creates.length > 0 ? ['ec2:CreateTags'] : [],
    [
      ...(creates.includes('RunInstances') ? ec2('instance') : []),
      ...(creates.includes('RunInstances') || creates.includes('CreateVolume') ? ec2('volume') : []),
      ...(creates.includes('CreateSnapshot') ? ec2('snapshot') : []),
    ],
    { StringEquals: { 'ec2:CreateAction': creates } },
  );

  add('NightshiftCreateVolumes', pick('ec2:CreateVolume'), ec2('volume'), managed('aws:RequestTag'));
  add('NightshiftManagedVolumes', pick('ec2:AttachVolume', 'ec2:CreateSnapshot', 'ec2:DeleteVolume', 'ec2:DetachVolume'), ec2('volume'), managed('aws:ResourceTag'));
  add('NightshiftCreateSnapshots', pick('ec2:CreateSnapshot'), ec2('snapshot'), managed('aws:RequestTag'));
  // A volume is made from a snapshot only a rebuild took.
  add('NightshiftManagedSnapshots', pick('ec2:CreateVolume', 'ec2:DeleteSnapshot'), ec2('snapshot'), managed('aws:ResourceTag'));

  // Interfaces carry no cluster tag of their own; the instance side is above, and the only group allowed is the fence's.
  if (isolate) {
    add('NightshiftIsolateInterfaces', ['ec2:ModifyNetworkInterfaceAttribute'], [...ec2('network-interface'), ...ec2('security-group', scope.fenceGroups)]);
  }

  const groupActions = pick('autoscaling:ResumeProcesses', 'autoscaling:SuspendProcesses', 'autoscaling:TerminateInstanceInAutoScalingGroup');
  add('NightshiftClusterGroups', groupActions, groupArns(['*']), { StringLike: { [`autoscaling:ResourceTag/${scope.clusterTag}`]: '*' } });
  if (scope.asgGroups.length > 0) add('NightshiftNamedGroups', groupActions, groupArns(scope.asgGroups));

  if (has('iam:PassRole')) {
    if (scope.instanceRoles.length > 0) {
      add('NightshiftPassInstanceRoles', ['iam:PassRole'], scope.instanceRoles, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
    } else {
      notes.push(
        "aws.instanceRoles is not set, so iam:PassRole is left out: a launch template with an instance profile cannot launch; set aws.instanceRoles to the ARNs of its profile's roles (arn:aws:iam::ACCOUNT:role/NAME)",
      );
    }
  }

  // Route 53 is used only for clusters with writerDns (DNS swap, TXT lock): no zone, no Route 53 at all.
  const zones = uniq(scope.records.map((r) => r.zoneId.replace(/^\/?hostedzone\//, '')));
  if (zones.length > 0) {
    const zoneArns = zones.map((z) => `arn:${partition}:route53:::hostedzone/${z}`);
    add('NightshiftRecordsRead', pick('route53:ListResourceRecordSets'), zoneArns);
    const swap = methods.has('dns.swapRecord');
    const lock = methods.has('lock.acquire') || methods.has('lock.release') || methods.has('lock.breakLock');
    const names = uniq([...(swap ? scope.records.map((r) => normalizedRecordName(r.name)) : []), ...(lock ? scope.records.map((r) => lockRecordName(r.name)) : [])]);
    const types = uniq([...(swap ? scope.records.map((r) => r.type) : []), ...(lock ? ['TXT'] : [])]);
    // A swap is a DELETE of the record read and a CREATE of the next in one batch (the compare); the lock creates and deletes its TXT record.
    add('NightshiftRecordsChange', pick('route53:ChangeResourceRecordSets'), zoneArns, {
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
        'route53:ChangeResourceRecordSetsRecordTypes': types,
        'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
      },
    });
    add('NightshiftRecordChanges', pick('route53:GetChange'), `arn:${partition}:route53:::change/*`);
  } else if ([...actions].some((a) => a.startsWith('route53:'))) {
    notes.push('no clusters.<name>.writerDns configured, so Route 53 is left out; the DNS swap and the TXT-record lock need it');
  }

  const changesInstances = instanceActions.length > 0 || tagActions.length > 0;
  if (changesInstances && scope.securityGroupClusters.length > 0) {
    notes.push(
      `the instances of ${scope.securityGroupClusters.join(', ')} (discovery.securityGroupClusters) are changed only where they carry the ${scope.clusterTag} tag: tag them with their cluster's name, or list them under discovery.asgClusters`,
    );
  }
  return { policy: { Version: '2012-10-17', Statement: statements }, notes };
}

/** IAM's limit on a managed policy, counted without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

export function policySize(policy: PolicyDocument): number {
  return JSON.stringify(policy).replace(/\s+/g, '').length;
}
