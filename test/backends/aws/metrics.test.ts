import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends } from '../../../src/backends/aws/index.js';
import { awsConfig, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
beforeEach(() => {
  account = mockAwsAccount();
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);

describe('AWS metrics', () => {
  it('sends 1,200 queries as exactly three GetMetricData calls of at most 500', async () => {
    const clock = virtualClock(Date.parse('2026-03-01T01:00:42Z'));
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
    const got = await b.metrics.fetch({ instanceIds: ids(1_200), minutes: 30 });

    const calls = account.cloudwatch.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries?.length)).toEqual([500, 500, 200]);
    expect(Object.keys(got)).toHaveLength(1_200);
    const input = calls[0]!.args[0].input;
    // 30 minutes of history ending on a whole minute, one point a minute.
    expect(input.EndTime).toEqual(new Date('2026-03-01T01:00:00Z'));
    expect(input.StartTime).toEqual(new Date('2026-03-01T00:30:00Z'));
    expect(input.MetricDataQueries?.[0]?.MetricStat).toMatchObject({
      Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: ids(1)[0] }] },
      Period: 60,
      Stat: 'Average',
    });
  });

  it('uses query ids CloudWatch accepts, unique across the whole refresh', async () => {
    const config = awsConfig({
      aws: { regions: ['us-east-1'], customMetrics: [{ name: 'lag', namespace: 'Nightshift', metric: 'ReplicaLag', stat: 'Maximum' }] },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell });
    await b.metrics.fetch({ instanceIds: ids(300), minutes: 30 });

    const queryIds = account.cloudwatch
      .commandCalls(GetMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricDataQueries ?? [])
      .map((q) => q.Id ?? '');
    expect(queryIds).toHaveLength(600);
    for (const id of queryIds) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    expect(new Set(queryIds).size).toBe(600);
  });

  it('returns points oldest first, custom metrics by name, and follows NextToken', async () => {
    const [a] = FLEET;
    account.cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'q0', Timestamps: [new Date(3_000_000), new Date(2_940_000)], Values: [30, 29] },
          { Id: 'q1', Timestamps: [new Date(3_000_000)], Values: [4] },
        ],
        NextToken: 'more',
      })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(2_880_000)], Values: [28] }] });
    const config = awsConfig({
      aws: { regions: ['us-east-1'], customMetrics: [{ name: 'lag', namespace: 'Nightshift', metric: 'ReplicaLag' }] },
    });
    const b = await createAwsBackends(config, { shell: unreachableShell });
    const got = await b.metrics.fetch({ instanceIds: [a!.id], minutes: 30 });

    expect(got[a!.id]).toEqual({
      cpu: [
        { t: 2_880_000, v: 28 },
        { t: 2_940_000, v: 29 },
        { t: 3_000_000, v: 30 },
      ],
      extra: { lag: [{ t: 3_000_000, v: 4 }] },
    });
    const calls = account.cloudwatch.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'more']);
    expect(calls[1]!.args[0].input.MetricDataQueries).toEqual(calls[0]!.args[0].input.MetricDataQueries);
  });

  it('leaves out an instance with no data at all', async () => {
    account.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', Timestamps: [], Values: [] }] });
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    expect(await b.metrics.fetch({ instanceIds: [FLEET[0]!.id], minutes: 30 })).toEqual({});
  });
});
