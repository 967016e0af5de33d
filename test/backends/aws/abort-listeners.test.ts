// One abort signal is handed to every AWS call of a console's life (the
// poller's, whose listener limit is lifted for that: src/store/poller.ts) or
// of a run. Each SDK request in flight hangs a listener on it. Here the real
// adapters, the real SDK clients and its Node HTTP handler talk to a local
// fake of AWS (127.0.0.1): many calls at once on one signal, round after
// round, then the signal must hold no listener of ours or the SDK's: an
// all-night console would otherwise keep one per call.

import { getEventListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../../src/backends/aws/index.js';
import { awsConfig, unreachableShell } from '../../helpers/aws-fleet.js';
import { startFakeAws, type FakeAws } from '../../helpers/aws-http.js';

let aws: FakeAws;
/** The signal under test, and the most listeners it held when a request reached the fake. */
let watched: AbortSignal | undefined;
let most = 0;
beforeAll(async () => {
  aws = await startFakeAws({ instances: 12, onRequest: () => (most = Math.max(most, watched ? getEventListeners(watched, 'abort').length : 0)) });
});
afterAll(async () => {
  await aws?.close();
});

let backends: AwsBackends | undefined;
afterEach(async () => {
  await backends?.close();
  backends = undefined;
  vi.unstubAllEnvs();
});

async function open(): Promise<AwsBackends> {
  vi.stubEnv('AWS_ENDPOINT_URL', aws.url);
  const clients = createAwsClients({ regions: ['us-east-1'], maxAttempts: 1, credentials: { accessKeyId: 'AKIDNIGHTSHIFTTEST', secretAccessKey: 'not-a-secret' } });
  backends = await createAwsBackends(awsConfig(), { shell: unreachableShell, clients });
  return backends;
}

describe('one abort signal shared by many AWS calls', () => {
  it('holds no listener once the calls are done, round after round', async () => {
    const b = await open();
    await b.accountId();
    const signal = new AbortController().signal;
    watched = signal;
    const ids = (await b.inventory.discover({ signal })).instances.map((i) => i.id);
    expect(ids).toHaveLength(12);
    const before = aws.seen.length;
    for (let round = 0; round < 5; round++) {
      // As a refresh asks: discovery, metrics, the writer record, each several times over.
      await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          Promise.all([
            b.inventory.discover({ signal, withGroups: k === 0 }),
            b.metrics.fetch({ instanceIds: ids, minutes: 10 }, { signal }),
            b.dns!.getRecord('Z0NIGHTSHIFT', 'orders-writer.db.internal', 'A', { signal }).catch(() => undefined),
          ]),
        ),
      );
      expect(getEventListeners(signal, 'abort'), `after round ${round}`).toHaveLength(0);
    }
    // More than the 10 at which Node warns were in flight at once, and all went to the fake over HTTP.
    expect(most).toBeGreaterThan(10);
    expect(aws.seen.length - before).toBeGreaterThanOrEqual(5 * 8 * 3);
  });

  it('an aborted signal stops the calls in flight and leaves nothing on the signal', async () => {
    const b = await open();
    const controller = new AbortController();
    const calls = Array.from({ length: 12 }, () => b.inventory.discover({ signal: controller.signal, withGroups: true }).then(() => 'done', (e: Error) => e.name));
    controller.abort();
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => o !== 'done')).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
