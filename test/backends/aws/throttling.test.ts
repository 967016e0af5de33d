// The real SDK retry path: no aws-sdk-client-mock here (it replaces `send`,
// and with it the retry middleware). A fake HTTP handler answers instead, so
// the SDK's standard retry mode runs for real and no request leaves the process.

import { describe, expect, it } from 'vitest';
import { AwsError, createAwsBackends, createAwsClients } from '../../../src/backends/aws/index.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { awsConfig, unreachableShell } from '../../helpers/aws-fleet.js';

const INSTANCE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-ok</requestId>
<reservationSet><item><reservationId>r-1</reservationId><instancesSet><item>
<instanceId>i-0a0000000000000a1</instanceId><instanceType>r6i.large</instanceType>
<instanceState><code>16</code><name>running</name></instanceState>
<privateIpAddress>127.0.1.1</privateIpAddress><placement><availabilityZone>us-east-1a</availabilityZone></placement>
<launchTime>2026-01-10T08:00:00.000Z</launchTime>
<tagSet><item><key>Name</key><value>orders-db-1</value></item><item><key>nightshift:cluster</key><value>orders</value></item>
<item><key>nightshift:engine</key><value>mysql</value></item></tagSet>
</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;

const STATUS_XML = `<DescribeInstanceStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-st</requestId><instanceStatusSet/></DescribeInstanceStatusResponse>`;

const VOLUME_STATUS_XML = `<DescribeVolumeStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-vs</requestId><volumeStatusSet/></DescribeVolumeStatusResponse>`;

const THROTTLED_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>req-throttled</RequestID></Response>`;

interface FakeRequest {
  hostname: string;
  body?: unknown;
}

/** Answers like EC2 would; DescribeInstances succeeds `okDescribes` times, then is throttled for good. */
function fakeAws(okDescribes: number) {
  const seen: string[] = [];
  let describes = 0;
  const respond = (statusCode: number, body: string, contentType = 'text/xml') => ({
    response: {
      statusCode,
      // EC2 names the request in a header too; that is where the SDK reads it from.
      headers: { 'content-type': contentType, 'x-amzn-requestid': statusCode === 503 ? 'req-throttled' : 'req-ok' },
      body: new TextEncoder().encode(body),
    },
  });
  const handler = {
    async handle(request: FakeRequest) {
      const action = /Action=(\w+)/.exec(String(request.body ?? ''))?.[1] ?? request.hostname;
      seen.push(action);
      if (request.hostname.startsWith('ec2.')) {
        if (action === 'DescribeInstanceStatus') return respond(200, STATUS_XML);
        if (action === 'DescribeVolumeStatus') return respond(200, VOLUME_STATUS_XML);
        if (action === 'DescribeInstances' && describes++ < okDescribes) return respond(200, INSTANCE_XML);
        return respond(503, THROTTLED_XML);
      }
      if (request.hostname.startsWith('monitoring.')) return respond(200, '{"MetricDataResults":[]}', 'application/x-amz-json-1.0');
      // STS and anything else: a plain access error, never the network.
      return respond(403, '<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>');
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return { handler, seen };
}

function clientsWith(handler: unknown, maxAttempts: number) {
  return createAwsClients({
    regions: ['us-east-1'],
    maxAttempts,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: handler as never,
  });
}

describe('throttling', () => {
  it('is retried by the SDK (standard mode), then surfaces as a throttled AwsError', async () => {
    const fake = fakeAws(0);
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clients: clientsWith(fake.handler, 2) });

    const err = await b.inventory.discover().catch((e: unknown) => e);

    expect(fake.seen.filter((a) => a === 'DescribeInstances')).toHaveLength(2);
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ code: 'RequestLimitExceeded', kind: 'throttled', requestId: 'req-throttled' });
    expect((err as AwsError).isTransient).toBe(true);
    expect((err as AwsError).message).toMatch(/AWS is throttling ec2:DescribeInstances in us-east-1 .*stale/);
    // Two throttled attempts, one call that failed: the region's record counts calls, after the SDK's retries.
    expect(b.apiThrottles!().map((t) => [t.region, t.call, t.count])).toEqual([['us-east-1', 'EC2 DescribeInstances', 1]]);
  });

  it('shows as staleness in the poller: the last clusters stay, with the reason, and nothing crashes', async () => {
    const fake = fakeAws(1);
    const config = awsConfig();
    const b = await createAwsBackends(config, { shell: unreachableShell, clients: clientsWith(fake.handler, 2) });
    const store = createFleetStore({ target: b.target, refreshSeconds: config.refreshSeconds });
    const poller = new Poller(b, store, pollerOptions(config));

    await poller.refreshNow();
    expect(store.getState().clusters.map((c) => c.name)).toEqual(['orders']);
    expect(store.getState().error).toBeNull();

    await poller.refreshNow();
    const state = store.getState();
    expect(state.clusters.map((c) => c.name)).toEqual(['orders']);
    expect(state.error).toMatch(/throttling ec2:DescribeInstances.*stale/);
    poller.stop();
  });
});
