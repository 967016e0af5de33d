// The api-throttled fault: the simulated fleet's discovery is refused as
// EC2 refuses a throttled DescribeInstances, so the finding it raises can be
// rehearsed and tested without AWS.

import { describe, expect, it } from 'vitest';
import { AwsError } from '../../../src/backends/aws/errors.js';
import { THROTTLE_WINDOW_MS } from '../../../src/backends/api-throttles.js';
import { createSimBackends } from '../../../src/backends/sim/index.js';
import { openSim, tempStateDir } from './sim-helpers.js';

describe('api-throttled fault', () => {
  it('refuses the next `calls` discoveries with the throttled AwsError AWS gives, counts them, then clears itself', async () => {
    const b = await openSim();
    b.world.inject({ kind: 'api-throttled', calls: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await b.inventory.discover().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsError);
      expect(err).toMatchObject({ code: 'RequestLimitExceeded', kind: 'throttled', action: 'ec2:DescribeInstances', region: 'us-east-1' });
      expect((err as Error).message).toMatch(/^AWS is throttling ec2:DescribeInstances in us-east-1 \(RequestLimitExceeded\)/);
    }
    expect((await b.inventory.discover()).clusters.length).toBeGreaterThan(0);
    expect(b.world.faults().filter((f) => f.kind === 'api-throttled')).toEqual([]);
    expect(b.apiThrottles!()).toEqual([{ region: 'us-east-1', call: 'EC2 DescribeInstances', count: 2, windowMs: THROTTLE_WINDOW_MS }]);

    // Forgotten on the fleet's clock: a rehearsal at ×60 clears it in five real seconds.
    b.world.advance(THROTTLE_WINDOW_MS - 1);
    expect(b.apiThrottles!()).toHaveLength(1);
    b.world.advance(1);
    expect(b.apiThrottles!()).toEqual([]);
  });

  it('without calls, throttles every discovery until healed, across processes (the fault is in the saved world)', async () => {
    const stateDir = tempStateDir();
    const b = await openSim({ stateDir });
    b.world.inject({ kind: 'api-throttled' });
    for (let i = 0; i < 3; i++) await expect(b.inventory.discover()).rejects.toMatchObject({ kind: 'throttled' });
    expect(b.apiThrottles!()[0]!.count).toBe(3);

    const other = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, realNow: () => 0 });
    try {
      await expect(other.inventory.discover()).rejects.toMatchObject({ kind: 'throttled' });
    } finally {
      await other.close();
    }

    b.world.heal();
    expect((await b.inventory.discover()).instances.length).toBeGreaterThan(0);
  });
});
