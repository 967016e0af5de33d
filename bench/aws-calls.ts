// API calls for one refresh of 5,000 instances with 3 metrics each, against
// mocked clients (no network): DescribeInstances pages and GetMetricData calls
// versus one GetMetricStatistics per metric per instance. Also the time to
// import the AWS backend (the SDK load an AWS target adds to start-up).
// Run: npx tsx bench/aws-calls.ts. Prints figures; never fails on time.

const INSTANCES = 5_000;
const METRICS_PER_INSTANCE = 3;

const importStarted = performance.now();
const { createAwsBackends } = await import('../src/backends/aws/index.js');
const importMs = performance.now() - importStarted;

const [{ mockClient }, ec2sdk, cw, asg, r53, sts, { configSchema }] = await Promise.all([
  import('aws-sdk-client-mock'),
  import('@aws-sdk/client-ec2'),
  import('@aws-sdk/client-cloudwatch'),
  import('@aws-sdk/client-auto-scaling'),
  import('@aws-sdk/client-route-53'),
  import('@aws-sdk/client-sts'),
  import('../src/config/schema.js'),
]);

const ids = Array.from({ length: INSTANCES }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
const instance = (id: string, i: number) => ({
  InstanceId: id,
  InstanceType: 'r6i.large',
  PrivateIpAddress: `127.${Math.floor(i / 62_500) % 256}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
  Placement: { AvailabilityZone: ['us-east-1a', 'us-east-1b', 'us-east-1c'][i % 3] },
  State: { Name: 'running' as const, Code: 16 },
  LaunchTime: new Date('2026-01-10T08:00:00Z'),
  Tags: [
    { Key: 'Name', Value: `db-${i}` },
    { Key: 'nightshift:cluster', Value: `c${Math.floor(i / 3)}` },
    { Key: 'nightshift:engine', Value: 'mysql' },
  ],
});

/** Pages of `pageSize` by a numeric NextToken, as EC2 pages its lists. */
function page<T>(items: T[], input: { NextToken?: string; MaxResults?: number }, pageSize = 1000) {
  const start = Number(input.NextToken ?? 0);
  const end = Math.min(items.length, start + Math.min(input.MaxResults ?? pageSize, pageSize));
  return { slice: items.slice(start, end), NextToken: end < items.length ? String(end) : undefined };
}

const ec2 = mockClient(ec2sdk.EC2Client);
const all = ids.map(instance);
ec2.on(ec2sdk.DescribeInstancesCommand).callsFake((input: { NextToken?: string; MaxResults?: number }) => {
  const p = page(all, input);
  return { Reservations: [{ Instances: p.slice }], NextToken: p.NextToken };
});
ec2.on(ec2sdk.DescribeInstanceStatusCommand).callsFake((input: { NextToken?: string; MaxResults?: number }) => {
  const p = page(ids, input);
  return {
    InstanceStatuses: p.slice.map((id) => ({ InstanceId: id, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } })),
    NextToken: p.NextToken,
  };
});
// One volume in a hundred impaired: EC2 lists only those (the read filters on status), in one page.
ec2.on(ec2sdk.DescribeVolumeStatusCommand).callsFake(() => ({
  VolumeStatuses: ids.filter((_, k) => k % 100 === 0).map((id) => ({ VolumeId: `vol-${id.slice(2)}`, VolumeStatus: { Status: 'impaired' }, AttachmentStatuses: [{ InstanceId: id }] })),
}));
const cloudwatch = mockClient(cw.CloudWatchClient);
cloudwatch.on(cw.GetMetricDataCommand).callsFake((input: { MetricDataQueries: Array<{ Id: string }>; EndTime: Date }) => ({
  MetricDataResults: input.MetricDataQueries.map((q) => ({
    Id: q.Id,
    Timestamps: Array.from({ length: 30 }, (_, k) => new Date(new Date(input.EndTime).getTime() - k * 60_000)),
    Values: Array.from({ length: 30 }, (_, k) => k),
  })),
}));
mockClient(asg.AutoScalingClient).onAnyCommand().resolves({});
mockClient(r53.Route53Client).onAnyCommand().resolves({});
mockClient(sts.STSClient).on(sts.GetCallerIdentityCommand).resolves({ Account: '123456789012' });

const config = {
  ...configSchema.parse({
    aws: {
      regions: ['us-east-1'],
      customMetrics: [
        { name: 'lag', namespace: 'Nightshift', metric: 'ReplicaLagSeconds' },
        { name: 'io-wait', namespace: 'CWAgent', metric: 'cpu_usage_iowait' },
      ],
    },
  }),
  target: 'aws' as const,
  stateDir: '/nonexistent',
};
const shell = { exec: async () => ({ code: 0, signal: null, stdout: '', stderr: '' }), loginCommand: () => '', close: async () => {} };

const createStarted = performance.now();
const backends = await createAwsBackends(config, { shell });
const createMs = performance.now() - createStarted;

const refreshStarted = performance.now();
const found = await backends.inventory.discover();
const metrics = await backends.metrics.fetch({ instanceIds: found.instances.map((i) => i.id), minutes: 30 });
const refreshMs = performance.now() - refreshStarted;
// Read beside discovery, never awaited by it: counted once it has answered.
await (backends.inventory as { volumeStatus?: { settled(): Promise<void> } }).volumeStatus?.settled();
const volumeStatusCalls = ec2.commandCalls(ec2sdk.DescribeVolumeStatusCommand).length;

const describePages = ec2.commandCalls(ec2sdk.DescribeInstancesCommand).length;
const statusPages = ec2.commandCalls(ec2sdk.DescribeInstanceStatusCommand).length;
const metricCalls = cloudwatch.commandCalls(cw.GetMetricDataCommand).length;
const ours = describePages + statusPages + volumeStatusCalls + metricCalls;
const naiveMetricCalls = INSTANCES * METRICS_PER_INSTANCE;
const naive = describePages + statusPages + volumeStatusCalls + naiveMetricCalls;

const row = (label: string, value: string) => console.log(`${label.padEnd(46)} ${value}`);
console.log(`one refresh of ${INSTANCES.toLocaleString('en')} instances x ${METRICS_PER_INSTANCE} metrics (mocked clients)`);
row('instances / clusters discovered', `${found.instances.length} / ${found.clusters.length}`);
row('instances with metrics', `${Object.keys(metrics).length}`);
row('DescribeInstances pages (budget <= 5)', `${describePages}${describePages <= 5 ? '' : '  OVER BUDGET'}`);
row('DescribeInstanceStatus pages', `${statusPages}`);
row('DescribeVolumeStatus calls (1% impaired)', `${volumeStatusCalls}`);
row('GetMetricData calls (budget <= 30)', `${metricCalls}${metricCalls <= 30 ? '' : '  OVER BUDGET'}`);
row('GetMetricStatistics calls, one per metric', `${naiveMetricCalls.toLocaleString('en')}`);
row('metric calls: naive / ours', `${(naiveMetricCalls / metricCalls).toFixed(0)}x fewer`);
row('all API calls: ours vs naive', `${ours} vs ${naive.toLocaleString('en')} (${(naive / ours).toFixed(0)}x)`);
row('import src/backends/aws/index.ts (SDK load)', `${importMs.toFixed(0)} ms`);
row('createAwsBackends (no network)', `${createMs.toFixed(1)} ms`);
row('refresh with mocked answers (CPU only)', `${refreshMs.toFixed(0)} ms`);
await backends.close();
