// The printed IAM policy held to what AWS documents: each action only on
// resource types it has, each condition key one the action takes for every
// resource type the statement names, every required resource type granted,
// nothing that changes anything on "*", and each policy within IAM's size.

import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  FEATURE_NAMES,
  isRead,
  MANAGED_POLICY_MAX_CHARS,
  policyFor,
  policySize,
  scopeOf,
  WRITTEN_TAG_KEYS,
  type Feature,
  type PolicyDocument,
  type PolicyScope,
} from '../../../src/backends/aws/iam-actions.js';
import { LOCK_TAG } from '../../../src/backends/aws/lock.js';
import { REPAIR_TAG } from '../../../src/actions/runbooks/repair.js';
import { FENCED_TAG } from '../../../src/actions/runbooks/failover.js';
import { ROLE_TAG } from '../../../src/actions/runbooks/master-change.js';
import { REBUILD_TAG, SPARE_TAG } from '../../../src/domain/types.js';
import { awsConfig } from '../../helpers/aws-fleet.js';

/**
 * What the AWS Service Authorization Reference documents for each action
 * nightshift calls: its resource types (`*` marks a required one) with the
 * condition keys each takes, and the keys the action takes whatever the
 * resource (`keys`). Only the keys a policy here could use are copied (tags,
 * ec2:CreateAction, iam:PassedToService, Route 53's record keys); for
 * ec2:CreateTags and DeleteTags only the three resource types nightshift tags.
 * Sources, "Actions, resources, and condition keys for ...":
 *   Amazon EC2          https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 *   Amazon EC2 Auto Scaling  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
 *   AWS IAM             https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
 *   Amazon Route 53     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
 *   Amazon CloudWatch   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
 * (as of September 2026).
 */
const DOCUMENTED: Record<string, { resources: string[]; keys?: string[] }> = {
  'autoscaling:DescribeAutoScalingGroups': { resources: [] },
  'autoscaling:ResumeProcesses': { resources: ['*autoScalingGroup autoscaling:ResourceTag/${TagKey} aws:ResourceTag/${TagKey}'] },
  'autoscaling:SuspendProcesses': { resources: ['*autoScalingGroup autoscaling:ResourceTag/${TagKey} aws:ResourceTag/${TagKey}'] },
  'autoscaling:TerminateInstanceInAutoScalingGroup': { resources: ['*autoScalingGroup autoscaling:ResourceTag/${TagKey} aws:ResourceTag/${TagKey}'] },
  'cloudwatch:GetMetricData': { resources: ['dataset aws:ResourceTag/${TagKey}'] },
  'ec2:AttachVolume': { resources: ['*instance aws:ResourceTag/${TagKey}', '*volume aws:ResourceTag/${TagKey}'] },
  'ec2:CreateSnapshot': { resources: ['*snapshot aws:RequestTag/${TagKey} aws:TagKeys', '*volume aws:ResourceTag/${TagKey}'] },
  'ec2:CreateTags': {
    resources: [
      'instance aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
      'snapshot aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
      'volume aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
    ],
    keys: ['ec2:CreateAction'],
  },
  'ec2:CreateVolume': { resources: ['snapshot aws:ResourceTag/${TagKey}', '*volume aws:RequestTag/${TagKey} aws:TagKeys'] },
  'ec2:DeleteSnapshot': { resources: ['*snapshot aws:ResourceTag/${TagKey}'] },
  'ec2:DeleteTags': {
    resources: [
      'instance aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
      'snapshot aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
      'volume aws:RequestTag/${TagKey} aws:ResourceTag/${TagKey} aws:TagKeys',
    ],
    keys: ['aws:TagKeys'],
  },
  'ec2:DeleteVolume': { resources: ['*volume aws:ResourceTag/${TagKey}'] },
  'ec2:DescribeInstanceStatus': { resources: [] },
  'ec2:DescribeInstances': { resources: [] },
  'ec2:DescribeLaunchTemplates': { resources: [] },
  'ec2:DescribeSecurityGroups': { resources: [] },
  'ec2:DescribeSnapshots': { resources: [] },
  'ec2:DescribeSubnets': { resources: [] },
  'ec2:DescribeVolumeStatus': { resources: [] },
  'ec2:DescribeVolumes': { resources: [] },
  'ec2:DetachVolume': { resources: ['instance aws:ResourceTag/${TagKey}', '*volume aws:ResourceTag/${TagKey}'] },
  'ec2:ModifyNetworkInterfaceAttribute': {
    resources: ['instance aws:ResourceTag/${TagKey}', '*network-interface aws:ResourceTag/${TagKey}', 'security-group aws:ResourceTag/${TagKey}', 'subnet aws:ResourceTag/${TagKey}'],
  },
  'ec2:RunInstances': {
    resources: [
      'capacity-reservation aws:ResourceTag/${TagKey}',
      'elastic-gpu aws:ResourceTag/${TagKey}',
      'elastic-inference',
      'group',
      '*image aws:ResourceTag/${TagKey}',
      '*instance aws:RequestTag/${TagKey} aws:TagKeys',
      'key-pair aws:ResourceTag/${TagKey}',
      'launch-template aws:ResourceTag/${TagKey}',
      'license-configuration',
      '*network-interface aws:RequestTag/${TagKey} aws:TagKeys',
      'placement-group aws:ResourceTag/${TagKey}',
      'secondary-interface aws:RequestTag/${TagKey} aws:TagKeys',
      'secondary-subnet aws:ResourceTag/${TagKey}',
      '*security-group aws:ResourceTag/${TagKey}',
      'snapshot aws:ResourceTag/${TagKey}',
      'spot-instances-request aws:RequestTag/${TagKey} aws:TagKeys',
      '*subnet aws:ResourceTag/${TagKey}',
      'volume aws:RequestTag/${TagKey} aws:TagKeys',
    ],
  },
  'ec2:StopInstances': { resources: ['*instance aws:ResourceTag/${TagKey}'] },
  'ec2:TerminateInstances': { resources: ['*instance aws:ResourceTag/${TagKey}'] },
  'iam:PassRole': { resources: ['*role'], keys: ['iam:PassedToService'] },
  'route53:ChangeResourceRecordSets': {
    resources: ['*hostedzone'],
    keys: ['route53:ChangeResourceRecordSetsActions', 'route53:ChangeResourceRecordSetsNormalizedRecordNames', 'route53:ChangeResourceRecordSetsRecordTypes'],
  },
  'route53:GetChange': { resources: ['*change'] },
  'route53:ListResourceRecordSets': { resources: ['*hostedzone'] },
};

interface Documented {
  /** resource type -> its condition keys */
  types: Map<string, Set<string>>;
  required: string[];
  keys: Set<string>;
}

function documented(action: string): Documented {
  const d = DOCUMENTED[action];
  if (!d) throw new Error(`${action} is not in DOCUMENTED: copy its row from the Service Authorization Reference`);
  const types = new Map<string, Set<string>>();
  const required: string[] = [];
  for (const row of d.resources) {
    const [head = '', ...keys] = row.split(' ');
    const name = head.replace(/^\*/, '');
    if (head.startsWith('*')) required.push(name);
    types.set(name, new Set(keys));
  }
  return { types, required, keys: new Set(d.keys ?? []) };
}

/** The resource type an ARN in a policy names: instance, volume, autoScalingGroup, role, hostedzone... */
function resourceTypeOf(arn: string): string {
  if (arn === '*') return '*';
  const parts = arn.split(':');
  const service = parts[2];
  const rest = parts.slice(5).join(':');
  if (service === 'autoscaling') return rest.split(':')[0] ?? '';
  return rest.split('/')[0] ?? '';
}

/** `aws:ResourceTag/nightshift:cluster` -> `aws:ResourceTag/${TagKey}`, as the reference writes it. */
function documentedKey(key: string): string {
  return key.replace(/^((?:aws|autoscaling|ec2):(?:ResourceTag|RequestTag))\/.+$/, '$1/${TagKey}');
}

const resourcesOf = (s: { Resource: string | string[] }) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** A config with every kind of scope: two regions, group clusters, writer records in two zones, fence groups, instance roles. */
function fullScope(): PolicyScope {
  const config = awsConfig({
    aws: {
      regions: ['us-east-1', 'us-west-2'],
      instanceRoles: ['arn:aws:iam::123456789012:role/orders-db-node', 'arn:aws:iam::123456789012:role/events-db-node'],
    },
    discovery: {
      asgClusters: [{ name: 'ledger', asg: 'ledger-db', engine: 'cassandra' }],
      securityGroupClusters: [{ name: 'legacy', securityGroup: 'sg-0aaaabbbbccccdddd', engine: 'mysql' }],
    },
    clusters: {
      orders: { writerDns: { zoneId: 'Z0NIGHTSHIFT', name: 'orders-writer.db.internal.', type: 'A' }, fence: { method: 'isolate', securityGroup: 'sg-0123456789abcdef0' } },
      billing: { writerDns: { zoneId: '/hostedzone/Z0NIGHTSHIFT', name: 'Billing-Writer.db.internal', type: 'CNAME' }, fence: { method: 'stop' } },
      events: { writerDns: { zoneId: 'Z0OTHERZONE', name: 'events-writer.prod.internal', type: 'A' }, fence: { method: 'isolate', securityGroup: 'sg-0fedcba9876543210' } },
    },
  });
  return scopeOf(config, '123456789012');
}

const ALL_SETS: Array<[string, Feature[]]> = [...FEATURE_NAMES.map((f): [string, Feature[]] => [f, [f]]), ['all', FEATURE_NAMES]];

function eachStatement(policy: PolicyDocument) {
  return policy.Statement.flatMap((s) => s.Action.map((action) => ({ s, action })));
}

describe.each(ALL_SETS)('the %s policy', (_name, features) => {
  const { policy } = policyFor(features, fullScope());

  it('grants each action only on resource types AWS documents for it, and "*" only where it documents none required', () => {
    for (const { s, action } of eachStatement(policy)) {
      const doc = documented(action);
      for (const arn of resourcesOf(s)) {
        const type = resourceTypeOf(arn);
        if (type === '*') {
          expect(doc.required, `${s.Sid}: ${action} on "*" though it has required resource types`).toEqual([]);
        } else {
          expect([...doc.types.keys()], `${s.Sid}: ${action} on ${arn}`).toContain(type);
        }
      }
    }
  });

  it('uses only condition keys AWS documents for the action and every resource type the statement names', () => {
    for (const { s, action } of eachStatement(policy)) {
      const doc = documented(action);
      for (const [operator, block] of Object.entries(s.Condition ?? {})) {
        for (const key of Object.keys(block)) {
          const k = documentedKey(key);
          if (doc.keys.has(k)) continue;
          for (const arn of resourcesOf(s)) {
            const type = resourceTypeOf(arn);
            expect(type, `${s.Sid}: ${operator} ${key} on "*" for ${action}`).not.toBe('*');
            expect([...(doc.types.get(type) ?? [])], `${s.Sid}: ${action} on ${type} does not take ${key}`).toContain(k);
          }
        }
      }
    }
  });

  it('grants every resource type each of its actions requires', () => {
    const actions = new Set(policy.Statement.flatMap((s) => s.Action));
    for (const action of actions) {
      const granted = new Set(policy.Statement.filter((s) => s.Action.includes(action)).flatMap((s) => resourcesOf(s).map(resourceTypeOf)));
      for (const type of documented(action).required) {
        expect(granted.has(type) || granted.has('*'), `${action} needs ${type}`).toBe(true);
      }
    }
  });

  it('puts nothing that changes anything on "*", and scopes every wildcard ARN of a change by a condition', () => {
    for (const { s, action } of eachStatement(policy)) {
      if (isRead(action)) continue;
      expect(resourcesOf(s), `${s.Sid}: ${action}`).not.toContain('*');
    }
    const mustBeConditioned = ['instance', 'volume', 'snapshot'];
    for (const s of policy.Statement) {
      if (s.Action.every(isRead)) continue;
      const open = resourcesOf(s).filter((arn) => arn.endsWith('/*') && mustBeConditioned.includes(resourceTypeOf(arn)));
      // RunInstances' template side names images and snapshots the template chooses: read, never changed.
      if (s.Sid === 'NightshiftLaunchFrom') continue;
      if (open.length > 0) expect(s.Condition, `${s.Sid} on ${open.join(', ')}`).toBeDefined();
    }
  });

  it('gives every action it needs (with the config naming roles, zones and fence groups), as JSON IAM accepts', () => {
    const granted = new Set(policy.Statement.flatMap((s) => s.Action));
    for (const a of actionsFor(features)) expect(granted, a).toContain(a);
    expect(JSON.parse(JSON.stringify(policy))).toEqual(policy);
    const sids = policy.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9]+$/);
    for (const s of policy.Statement) expect(s.Action.length).toBeGreaterThan(0);
  });

  it(`stays under IAM's ${MANAGED_POLICY_MAX_CHARS} characters for a managed policy`, () => {
    expect(policySize(policy)).toBeLessThan(MANAGED_POLICY_MAX_CHARS);
  });
});

describe('the policy scope', () => {
  it('is what the issue asked: no StopInstances, RunInstances, DeleteVolume, group terminate or PassRole on "*" or unconditioned', () => {
    const { policy } = policyFor(FEATURE_NAMES, fullScope());
    const of = (action: string) => policy.Statement.filter((s) => s.Action.includes(action));
    expect(of('ec2:StopInstances').map((s) => s.Condition)).toEqual([
      { StringLike: { 'aws:ResourceTag/nightshift:cluster': '*' } },
      { StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': ['ledger-db'] } },
    ]);
    expect(of('ec2:DeleteVolume').map((s) => s.Condition)).toEqual([{ StringEquals: { 'aws:ResourceTag/nightshift:managed': 'true' } }]);
    expect(of('ec2:RunInstances').find((s) => s.Sid === 'NightshiftLaunchTagged')).toMatchObject({
      Resource: ['arn:aws:ec2:*:123456789012:instance/*', 'arn:aws:ec2:*:123456789012:volume/*'],
      Condition: { StringLike: { 'aws:RequestTag/nightshift:cluster': '*' } },
    });
    expect(of('autoscaling:TerminateInstanceInAutoScalingGroup').map((s) => [s.Resource, s.Condition])).toEqual([
      [['arn:aws:autoscaling:*:123456789012:autoScalingGroup:*:autoScalingGroupName/*'], { StringLike: { 'autoscaling:ResourceTag/nightshift:cluster': '*' } }],
      [['arn:aws:autoscaling:*:123456789012:autoScalingGroup:*:autoScalingGroupName/ledger-db'], undefined],
    ]);
    expect(of('iam:PassRole')).toEqual([
      {
        Sid: 'NightshiftPassInstanceRoles',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: ['arn:aws:iam::123456789012:role/events-db-node', 'arn:aws:iam::123456789012:role/orders-db-node'],
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
    ]);
    // Tags on create only for that create; tags on what exists only nightshift's keys.
    expect(of('ec2:CreateTags').map((s) => s.Condition)).toEqual([
      { StringLike: { 'aws:ResourceTag/nightshift:cluster': '*' }, 'ForAllValues:StringLike': { 'aws:TagKeys': ['last-repaired', 'nightshift:*'] } },
      { StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': ['ledger-db'] }, 'ForAllValues:StringLike': { 'aws:TagKeys': ['last-repaired', 'nightshift:*'] } },
      { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'CreateVolume', 'CreateSnapshot'] } },
    ]);
  });

  it('lets an isolation put interfaces only into the configured fence groups', () => {
    const { policy } = policyFor(['failover'], fullScope());
    const isolate = policy.Statement.find((s) => s.Sid === 'NightshiftIsolateInterfaces');
    expect(isolate?.Resource).toEqual([
      'arn:aws:ec2:*:123456789012:network-interface/*',
      'arn:aws:ec2:*:123456789012:security-group/sg-0123456789abcdef0',
      'arn:aws:ec2:*:123456789012:security-group/sg-0fedcba9876543210',
    ]);
  });

  it('changes only the writer records and their lock records, A, CNAME and TXT, by CREATE and DELETE', () => {
    const { policy } = policyFor(['switchover'], fullScope());
    const change = policy.Statement.find((s) => s.Sid === 'NightshiftRecordsChange');
    expect(change?.Resource).toEqual(['arn:aws:route53:::hostedzone/Z0NIGHTSHIFT', 'arn:aws:route53:::hostedzone/Z0OTHERZONE']);
    expect(change?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
          '_nightshift-lock.billing-writer.db.internal',
          '_nightshift-lock.events-writer.prod.internal',
          '_nightshift-lock.orders-writer.db.internal',
          'billing-writer.db.internal',
          'events-writer.prod.internal',
          'orders-writer.db.internal',
        ],
        'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'CNAME', 'TXT'],
        'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
      },
    });
    // The view reads records and changes none.
    expect(policyFor(['view'], fullScope()).policy.Statement.flatMap((s) => s.Action)).not.toContain('route53:ChangeResourceRecordSets');
  });

  it('scopes by the writer records and fence groups given per region too (clusters.NAME.regions.REGION)', () => {
    const scope = scopeOf(
      awsConfig({
        aws: { regions: ['us-east-1', 'eu-west-1'] },
        clusters: {
          orders: {
            writerDns: { zoneId: 'ZEAST', name: 'orders-writer.us.internal', type: 'A' },
            regions: {
              'eu-west-1': { writerDns: { zoneId: 'ZWEST', name: 'orders-writer.eu.internal', type: 'CNAME' }, fence: { method: 'isolate', securityGroup: 'sg-0e0e0e0e0e0e0e0e0' } },
              'us-east-1': { writerDns: { zoneId: 'ZEAST', name: 'orders-writer.us.internal', type: 'A' } },
            },
          },
        },
      }),
      '123456789012',
    );
    expect(scope.records).toEqual([
      { zoneId: 'ZEAST', name: 'orders-writer.us.internal', type: 'A' },
      { zoneId: 'ZWEST', name: 'orders-writer.eu.internal', type: 'CNAME' },
    ]);
    expect(scope.fenceGroups).toEqual(['sg-0e0e0e0e0e0e0e0e0']);
  });

  it('leaves out, and says so, what the config gives it nothing to scope by', () => {
    const bare = scopeOf(awsConfig({ clusters: {}, aws: {} }));
    const { policy, notes } = policyFor(FEATURE_NAMES, bare);
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions).not.toContain('iam:PassRole');
    expect(actions).not.toContain('ec2:ModifyNetworkInterfaceAttribute');
    expect(actions.some((a) => a.startsWith('route53:'))).toBe(false);
    expect(notes).toEqual([
      'no clusters.<name>.fence.securityGroup configured, so isolating an instance (ec2:ModifyNetworkInterfaceAttribute) is left out; a fence with method: stop needs none',
      "aws.instanceRoles is not set, so iam:PassRole is left out: a launch template with an instance profile cannot launch; set aws.instanceRoles to the ARNs of its profile's roles (arn:aws:iam::ACCOUNT:role/NAME)",
      'no clusters.<name>.writerDns configured, so Route 53 is left out; the DNS swap and the TXT-record lock need it',
    ]);
    // Without an account or regions, the ARNs say any; still never "*" for a change.
    expect(policy.Statement.find((s) => s.Sid === 'NightshiftClusterInstances')?.Resource).toEqual(['arn:aws:ec2:*:*:instance/*']);
    expect(policyFor(['view'], bare).notes).toEqual(['no clusters.<name>.writerDns configured, so Route 53 is left out; the DNS swap and the TXT-record lock need it']);
  });

  it('names the clusters found by security group, whose instances need the cluster tag to be changed', () => {
    expect(policyFor(['failover'], fullScope()).notes).toEqual([
      'the instances of legacy (discovery.securityGroupClusters) are changed only where they carry the nightshift:cluster tag: tag them with their cluster\'s name, or list them under discovery.asgClusters',
    ]);
  });

  it('uses the configured cluster tag, and the partition of the regions', () => {
    const scope = scopeOf(awsConfig({ aws: { regions: ['cn-north-1'] }, discovery: { clusterTag: 'db-cluster' } }), '123456789012');
    const { policy } = policyFor(['rebuild'], scope);
    const s = policy.Statement.find((x) => x.Sid === 'NightshiftClusterInstances');
    expect(s).toMatchObject({ Resource: ['arn:aws-cn:ec2:cn-north-1:123456789012:instance/*'], Condition: { StringLike: { 'aws:ResourceTag/db-cluster': '*' } } });
    expect(policy.Statement.find((x) => x.Sid === 'NightshiftClusterInstanceTags')?.Condition?.['ForAllValues:StringLike']).toEqual({
      'aws:TagKeys': ['db-cluster', 'last-repaired', 'nightshift:*'],
    });
  });

  it('allows every tag key the runbooks write on instances', () => {
    const allowed = (key: string) => WRITTEN_TAG_KEYS.some((p) => (p.endsWith('*') ? key.startsWith(p.slice(0, -1)) : key === p));
    for (const key of [REPAIR_TAG, LOCK_TAG, FENCED_TAG, ROLE_TAG, SPARE_TAG, REBUILD_TAG, 'nightshift:cluster']) expect(allowed(key), key).toBe(true);
  });
});

describe('size', () => {
  it('does not grow with the regions: one is named in the ARNs, several are any', () => {
    const two = fullScope();
    const three = { ...two, regions: ['eu-west-1', 'us-east-1', 'us-west-2'] };
    expect(policySize(policyFor(FEATURE_NAMES, three).policy)).toBe(policySize(policyFor(FEATURE_NAMES, two).policy));
    const one = policyFor(['failover'], { ...two, regions: ['eu-west-1'] }).policy;
    expect(one.Statement.find((s) => s.Sid === 'NightshiftClusterInstances')?.Resource).toEqual(['arn:aws:ec2:eu-west-1:123456789012:instance/*']);
  });
});
