// A small mocked AWS account for tests: a MySQL cluster of three and a
// Cassandra ring of three in us-east-1, answered by aws-sdk-client-mock at
// the SDK's `send`, so the real adapters run unchanged. Private IPs are
// 127.x only. Call `mockAwsAccount()` in beforeEach: it resets every mock.

import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeVolumeStatusCommand,
  EC2Client,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock, Shell } from '../../src/backends/ports.js';
import { SshError } from '../../src/backends/ssh/ssh-error.js';
import { configSchema, type Config, type ConfigFile } from '../../src/config/schema.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const WRITER_ZONE = 'Z0NIGHTSHIFT';
export const WRITER_NAME = 'orders-writer.db.internal';

export interface FleetNode {
  id: string;
  name: string;
  ip: string;
  az: string;
  cluster: string;
  engine: 'mysql' | 'cassandra';
  role?: string;
}

export const FLEET: FleetNode[] = [
  { id: 'i-0a0000000000000a1', name: 'orders-db-1', ip: '127.0.1.1', az: 'us-east-1a', cluster: 'orders', engine: 'mysql', role: 'master' },
  { id: 'i-0a0000000000000a2', name: 'orders-db-2', ip: '127.0.1.2', az: 'us-east-1b', cluster: 'orders', engine: 'mysql', role: 'replica' },
  { id: 'i-0a0000000000000a3', name: 'orders-db-3', ip: '127.0.1.3', az: 'us-east-1c', cluster: 'orders', engine: 'mysql', role: 'replica' },
  { id: 'i-0c0000000000000c1', name: 'events-cass-1', ip: '127.0.2.1', az: 'us-east-1a', cluster: 'events', engine: 'cassandra' },
  { id: 'i-0c0000000000000c2', name: 'events-cass-2', ip: '127.0.2.2', az: 'us-east-1b', cluster: 'events', engine: 'cassandra' },
  { id: 'i-0c0000000000000c3', name: 'events-cass-3', ip: '127.0.2.3', az: 'us-east-1c', cluster: 'events', engine: 'cassandra' },
];

export function ec2Instance(n: FleetNode, extraTags: Record<string, string> = {}): Ec2Instance {
  const tags: Record<string, string> = {
    Name: n.name,
    'nightshift:cluster': n.cluster,
    'nightshift:engine': n.engine,
    ...(n.role ? { 'nightshift:role': n.role } : {}),
    ...extraTags,
  };
  return {
    InstanceId: n.id,
    InstanceType: 'r6i.large',
    PrivateIpAddress: n.ip,
    Placement: { AvailabilityZone: n.az },
    State: { Name: 'running', Code: 16 },
    LaunchTime: new Date('2026-01-10T08:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** A config for the mocked account (the orders cluster has a writer record, so its lock is a TXT record). */
export function awsConfig(overrides: ConfigFile = {}): Config {
  const parsed = configSchema.parse({
    target: 'aws',
    aws: { regions: [REGION], profile: 'prod' },
    clusters: { orders: { writerDns: { zoneId: WRITER_ZONE, name: WRITER_NAME, type: 'A' }, targetReplicas: 2 } },
    ...overrides,
  });
  return { ...parsed, target: 'aws', stateDir: '/nonexistent/nightshift-test-state' };
}

/** Virtual time: sleeps return at once and move the clock, so waits of hours take microseconds. */
export function virtualClock(start = Date.parse('2026-03-01T01:00:00Z')): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    speed: 1,
    now: () => t,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/**
 * A shell that reaches nothing: every command fails the way the real SSH
 * shell fails on a refused connection, so rows show as stale with that
 * reason, as on a fleet behind a broken bastion.
 */
export const unreachableShell: Shell = {
  exec: async (node) => {
    const hop = `ec2-user@${node.privateIp}:22`;
    throw new SshError('connect', hop, `${hop}: cannot connect: ECONNREFUSED`);
  },
  loginCommand: (node) => `ssh ${node.privateIp}`,
  close: async () => {},
};

function mockAll() {
  return {
    ec2: mockClient(EC2Client),
    cloudwatch: mockClient(CloudWatchClient),
    autoscaling: mockClient(AutoScalingClient),
    route53: mockClient(Route53Client),
    sts: mockClient(STSClient),
  };
}

export interface MockedAccount extends ReturnType<typeof mockAll> {
  /** Live tags per instance: CreateTags / DeleteTags change them, DescribeInstances shows them. */
  tags: Map<string, Record<string, string>>;
  /** Route 53 records by `name|type`, with CREATE/DELETE semantics (InvalidChangeBatch on a mismatch). */
  records: Map<string, { ttl: number; values: string[] }>;
  /** Every mock's recorded calls forgotten (the responses stay). */
  resetHistory(): void;
}

function invalidChangeBatch(message: string): Error {
  return Object.assign(new Error(message), { name: 'InvalidChangeBatch', $metadata: { httpStatusCode: 400, requestId: 'req-r53' } });
}

/**
 * Mocks every client class the AWS backend uses and answers like a small
 * account would. Tags and DNS records are stateful, so a test can swap the
 * writer record, take a lock, tag a node and see the result on the next read.
 */
export function mockAwsAccount(nodes: FleetNode[] = FLEET): MockedAccount {
  const { ec2, cloudwatch, autoscaling, route53, sts } = mockAll();
  for (const m of [ec2, cloudwatch, autoscaling, route53, sts]) m.reset();

  const tags = new Map(nodes.map((n) => [n.id, tagsOfNode(n)]));
  const records = new Map<string, { ttl: number; values: string[] }>([
    [`${WRITER_NAME}|A`, { ttl: 30, values: [nodes[0]?.ip ?? '127.0.1.1'] }],
  ]);

  const describe = (n: FleetNode): Ec2Instance => ({
    ...ec2Instance(n),
    Tags: Object.entries(tags.get(n.id) ?? {}).map(([Key, Value]) => ({ Key, Value })),
  });

  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const wanted = input.InstanceIds ? nodes.filter((n) => input.InstanceIds!.includes(n.id)) : nodes;
    return { Reservations: [{ Instances: wanted.map(describe) }] };
  });
  ec2.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds?: string[] }) => ({
    InstanceStatuses: nodes
      .filter((n) => !input.InstanceIds || input.InstanceIds.includes(n.id))
      .map((n) => ({ InstanceId: n.id, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } })),
  }));
  // Every volume well: EC2 lists none of them under the not-ok filter.
  ec2.on(DescribeVolumeStatusCommand).resolves({ VolumeStatuses: [] });
  ec2.on(CreateTagsCommand).callsFake((input: { Resources: string[]; Tags: Array<{ Key: string; Value: string }> }) => {
    for (const id of input.Resources) {
      const t = tags.get(id) ?? {};
      for (const tag of input.Tags) t[tag.Key] = tag.Value;
      tags.set(id, t);
    }
    return {};
  });
  ec2.on(DeleteTagsCommand).callsFake(deleteTagsIn(tags));

  cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: Array<{ Id: string }>; EndTime: Date }) => {
    const end = new Date(input.EndTime).getTime();
    const results: MetricDataResult[] = input.MetricDataQueries.map((q, i) => {
      // Newest first, as CloudWatch answers by default: the adapter must turn it round.
      const ts = Array.from({ length: 30 }, (_, k) => new Date(end - (k + 1) * 60_000));
      return { Id: q.Id, Label: q.Id, StatusCode: 'Complete', Timestamps: ts, Values: ts.map((_, k) => 20 + ((i + k) % 7)) };
    });
    return { MetricDataResults: results };
  });

  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

  route53.on(ListResourceRecordSetsCommand).callsFake((input: { StartRecordName: string; StartRecordType: string }) => {
    const name = input.StartRecordName.replace(/\.$/, '');
    const rec = records.get(`${name}|${input.StartRecordType}`);
    return {
      ResourceRecordSets: rec
        ? [{ Name: `${name}.`, Type: input.StartRecordType, TTL: rec.ttl, ResourceRecords: rec.values.map((Value) => ({ Value })) }]
        : [],
      IsTruncated: false,
      MaxItems: 1,
    };
  });
  let changes = 0;
  route53.on(ChangeResourceRecordSetsCommand).callsFake(
    (input: { ChangeBatch: { Changes: Array<{ Action: string; ResourceRecordSet: { Name: string; Type: string; TTL?: number; ResourceRecords?: Array<{ Value: string }> } }> } }) => {
      const next = new Map(records);
      for (const c of input.ChangeBatch.Changes) {
        const rs = c.ResourceRecordSet;
        const key = `${rs.Name.replace(/\.$/, '')}|${rs.Type}`;
        const values = (rs.ResourceRecords ?? []).map((r) => r.Value);
        const live = next.get(key);
        if (c.Action === 'CREATE') {
          if (live) throw invalidChangeBatch(`Tried to create resource record set [name='${rs.Name}.', type='${rs.Type}'] but it already exists`);
          next.set(key, { ttl: rs.TTL ?? 300, values });
        } else if (c.Action === 'DELETE') {
          if (!live || live.ttl !== rs.TTL || live.values.join() !== values.join()) {
            throw invalidChangeBatch(
              `Tried to delete resource record set [name='${rs.Name}.', type='${rs.Type}'] but the values provided do not match the current values`,
            );
          }
          next.delete(key);
        }
      }
      records.clear();
      for (const [k, v] of next) records.set(k, v);
      return { ChangeInfo: { Id: `/change/C${++changes}`, Status: 'PENDING', SubmittedAt: new Date() } };
    },
  );
  route53.on(GetChangeCommand).callsFake((input: { Id: string }) => ({
    ChangeInfo: { Id: `/change/${input.Id}`, Status: 'INSYNC', SubmittedAt: new Date() },
  }));

  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/oncall/me`, UserId: 'AROA:me' });

  return {
    ec2,
    cloudwatch,
    autoscaling,
    route53,
    sts,
    tags,
    records,
    resetHistory: () => {
      for (const m of [ec2, cloudwatch, autoscaling, route53, sts]) m.resetHistory();
    },
  };
}

function tagsOfNode(n: FleetNode): Record<string, string> {
  return Object.fromEntries((ec2Instance(n).Tags ?? []).map((t) => [t.Key!, t.Value!]));
}

/** Every SDK request the mocks received, all services together. */
export function requestCount(account: MockedAccount): number {
  return [account.ec2, account.cloudwatch, account.autoscaling, account.route53, account.sts].reduce((n, m) => n + m.calls().length, 0);
}

/** DeleteTags as EC2 answers it, on a map of instance id → tags: a tag given with a value is deleted only on a match. */
export function deleteTagsIn(tags: Map<string, Record<string, string>>) {
  return (input: { Resources: string[]; Tags: Array<{ Key: string; Value?: string }> }) => {
    for (const id of input.Resources) {
      const t = tags.get(id) ?? {};
      for (const tag of input.Tags) if (tag.Value === undefined || t[tag.Key] === tag.Value) delete t[tag.Key];
    }
    return {};
  };
}
