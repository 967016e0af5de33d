import { describe, expect, it } from 'vitest';
import { createAwsBackends } from '../../../src/backends/aws/index.js';
import { MUTATING_METHODS, type Backends } from '../../../src/backends/ports.js';
import { withReadOnly } from '../../../src/backends/read-only.js';
import { ReadOnlyError } from '../../../src/errors.js';
import { awsConfig, FLEET, mockAwsAccount, requestCount, unreachableShell, virtualClock } from '../../helpers/aws-fleet.js';

/** Plausible arguments for each mutating method, so a refusal is not an argument error. */
const ARGS: Record<string, unknown[]> = {
  'inventory.setTags': [FLEET[0]!.id, { a: 'b' }],
  'inventory.deleteTags': [FLEET[0]!.id, ['a']],
  'dns.swapRecord': [
    { zoneId: 'Z0NIGHTSHIFT', name: 'orders-writer.db.internal', type: 'A', ttl: 30, values: ['127.0.1.1'] },
    { zoneId: 'Z0NIGHTSHIFT', name: 'orders-writer.db.internal', type: 'A', ttl: 30, values: ['127.0.1.2'] },
  ],
  'volumes.create': [{ az: 'us-east-1a', sizeGiB: 100 }],
  'volumes.attach': ['vol-1', FLEET[0]!.id, '/dev/sdf'],
  'volumes.detach': ['vol-1'],
  'volumes.snapshot': ['vol-1'],
  'volumes.remove': ['vol-1'],
  'volumes.removeSnapshot': ['snap-1'],
  'scaling.terminateInGroup': [FLEET[0]!.id],
  'scaling.suspendProcesses': ['ring-asg', ['AZRebalance']],
  'scaling.resumeProcesses': ['ring-asg', ['AZRebalance']],
  'compute.launch': [{ launchTemplate: 'orders-db', az: 'us-east-1a', tags: {} }],
  'compute.stop': [FLEET[0]!.id],
  'compute.terminate': [FLEET[0]!.id],
  'compute.isolate': [FLEET[0]!.id, 'sg-0fence'],
  'lock.acquire': ['orders', { runId: 'r', owner: 'me@here', startedAt: '2026-03-01T01:00:00Z' }],
  'lock.release': ['orders', 'r'],
  'lock.breakLock': ['orders', 'r'],
  'jobs.start': [{ id: FLEET[0]!.id, name: 'orders-db-1', privateIp: '10.0.0.1' }, { id: 'run/step.1', command: 'nodetool repair -pr' }],
  'jobs.cancel': [{ id: FLEET[0]!.id, name: 'orders-db-1', privateIp: '10.0.0.1' }, 'run/step.1'],
};

describe('--read-only on the AWS backend', () => {
  it('refuses every mutating method of every port with zero SDK requests sent', async () => {
    const account = mockAwsAccount();
    const live = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
    await live.accountId(); // the start-up identity call is a read; count only what follows
    account.resetHistory();
    const b = withReadOnly(live);

    let refused = 0;
    for (const [port, methods] of Object.entries(MUTATING_METHODS)) {
      const target = b[port as keyof Backends] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      expect(target, `${port} is present on the AWS backend`).toBeDefined();
      for (const method of methods) {
        const args = ARGS[`${port}.${method}`];
        expect(args, `test arguments for ${port}.${method}`).toBeDefined();
        await expect(target[method]!(...args!)).rejects.toBeInstanceOf(ReadOnlyError);
        refused++;
      }
    }
    expect(refused).toBe(Object.values(MUTATING_METHODS).flat().length);
    expect(requestCount(account)).toBe(0);

    // Reads still work through the wrapper, and do reach the (mocked) SDK.
    const found = await b.inventory.discover();
    expect(found.clusters).toHaveLength(2);
    expect(requestCount(account)).toBeGreaterThan(0);
  });

  it('each mutating method without the wrapper does send requests (so the zero above means something)', async () => {
    const account = mockAwsAccount();
    const live = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
    await live.accountId();
    await live.inventory.discover();
    account.resetHistory();
    await live.inventory.setTags(FLEET[0]!.id, { a: 'b' });
    await live.lock.acquire({ name: 'orders' }, { runId: 'r', owner: 'me@here', startedAt: '2026-03-01T01:00:00Z' });
    expect(requestCount(account)).toBeGreaterThanOrEqual(2);
  });
});
