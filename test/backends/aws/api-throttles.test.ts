// A region's API throttling as a fleet finding: every AWS call passes
// through `call`, which counts the throttled ones per region and call; the
// poller turns them into findings after each discovery, and they clear when
// no throttle was seen for the window.

import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends } from '../../../src/backends/aws/index.js';
import { THROTTLE_WINDOW_MS } from '../../../src/backends/api-throttles.js';
import { THROTTLING_NAMES } from '../../../src/backends/aws/errors.js';
import { isTransientDefault } from '../../../src/actions/engine/timing.js';
import { throttleFindings } from '../../../src/domain/findings.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { awsConfig, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
beforeEach(() => {
  account = mockAwsAccount();
});

function throttling(name = 'ThrottlingException'): Error {
  return Object.assign(new Error('Rate exceeded'), { name, $metadata: { httpStatusCode: 400, requestId: 'req-throttled' } });
}

describe('AWS API throttling', () => {
  it('counts each throttled DescribeInstances against its region and call; other failures are not throttling', async () => {
    const clock = virtualClock();
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
    account.ec2.on(DescribeInstancesCommand).rejects(throttling());
    for (let i = 0; i < 6; i++) await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'throttled', code: 'ThrottlingException' });

    expect(b.apiThrottles!()).toEqual([{ region: 'us-east-1', call: 'EC2 DescribeInstances', count: 6, windowMs: THROTTLE_WINDOW_MS }]);
    expect(throttleFindings(b.apiThrottles!())).toEqual([
      {
        kind: 'api-throttled',
        level: 'WARN',
        region: 'us-east-1',
        message: 'us-east-1: AWS API throttling (EC2 DescribeInstances throttled 6 times in the last 5 min); the picture may be stale',
        nodes: [],
      },
    ]);

    // Denied is a different trouble, with its own sentence: not counted.
    account.ec2.on(DescribeInstancesCommand).rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation', $metadata: {} }));
    await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'denied' });
    expect(b.apiThrottles!()[0]!.count).toBe(6);
    await b.close();
  });

  it('names every throttled call of the region in one finding, the most throttled first', async () => {
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
    account.cloudwatch.on(GetMetricDataCommand).rejects(throttling('Throttling'));
    await expect(b.metrics.fetch({ instanceIds: ['i-0a0000000000000a1'], minutes: 5 })).rejects.toMatchObject({ kind: 'throttled' });
    account.ec2.on(DescribeInstancesCommand).rejects(throttling('RequestLimitExceeded'));
    for (let i = 0; i < 2; i++) await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'throttled' });

    expect(throttleFindings(b.apiThrottles!()).map((f) => f.message)).toEqual([
      'us-east-1: AWS API throttling (EC2 DescribeInstances throttled 2 times, CloudWatch GetMetricData throttled once in the last 5 min); the picture may be stale',
    ]);
    await b.close();
  });

  it('the poller shows it beside the failed discovery, keeps it while throttles are recent, and clears it 5 minutes after the last', async () => {
    const clock = virtualClock();
    const config = awsConfig();
    const b = await createAwsBackends(config, { shell: unreachableShell, clock });
    const store = createFleetStore({ target: b.target, refreshSeconds: config.refreshSeconds });
    const poller = new Poller(b, store, pollerOptions(config));

    await poller.refreshNow();
    expect(store.getState().apiFindings).toEqual([]);
    const healthy = store.getState().apiFindings;

    account.ec2.on(DescribeInstancesCommand).rejects(throttling());
    await poller.refreshNow();
    let state = store.getState();
    expect(state.error).toMatch(/^discovery failed: AWS is throttling ec2:DescribeInstances in us-east-1/);
    expect(state.apiFindings.map((f) => [f.kind, f.region, f.message])).toEqual([
      ['api-throttled', 'us-east-1', 'us-east-1: AWS API throttling (EC2 DescribeInstances throttled once in the last 5 min); the picture may be stale'],
    ]);
    expect(healthy).not.toBe(state.apiFindings);

    // Discovery works again: the finding stays while the throttle is within the window, and its array is kept.
    account = mockAwsAccount();
    clock.advance(THROTTLE_WINDOW_MS - 1_000);
    const shown = state.apiFindings;
    await poller.refreshNow();
    state = store.getState();
    expect(state.error).toBeNull();
    expect(state.apiFindings).toBe(shown);

    clock.advance(1_000);
    await poller.refreshNow();
    expect(store.getState().apiFindings).toEqual([]);
    poller.stop();
    await b.close();
  });

  it('one list of throttling names: each is a throttle here and worth another attempt to the runbook engine', () => {
    expect(THROTTLING_NAMES.size).toBeGreaterThanOrEqual(7);
    for (const name of THROTTLING_NAMES) {
      expect(isTransientDefault({ name })).toBe(true);
    }
    expect(isTransientDefault({ name: 'UnauthorizedOperation' })).toBe(false);
  });
});
