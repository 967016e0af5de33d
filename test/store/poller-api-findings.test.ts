// The poller and a region's API throttling on the simulated fleet: the
// api-throttled fault refuses discovery as EC2 does, the store shows the
// finding beside the failed discovery, and it clears on the fleet's clock.

import { describe, expect, it } from 'vitest';
import { THROTTLE_WINDOW_MS } from '../../src/backends/api-throttles.js';
import { pollerOptions } from '../../src/poller-options.js';
import { configSchema } from '../../src/config/schema.js';
import { createFleetStore, selectFleetFindings } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { openSim } from '../backends/sim/sim-helpers.js';

describe('poller: api findings from the simulated fleet', () => {
  it('a throttled discovery shows the region finding first among the fleet findings; it outlives the throttle by 5 fleet minutes, then clears', async () => {
    const b = await openSim();
    const config = { ...configSchema.parse({}), target: 'sim' as const, stateDir: '/nonexistent' };
    const store = createFleetStore({ target: b.target, refreshSeconds: config.refreshSeconds });
    const poller = new Poller(b, store, pollerOptions(config, b));
    try {
      await poller.refreshNow();
      const clusters = store.getState().clusters.length;
      expect(clusters).toBeGreaterThan(0);

      b.world.inject({ kind: 'api-throttled', calls: 1 });
      await poller.refreshNow();
      let state = store.getState();
      expect(state.error).toMatch(/^discovery failed: AWS is throttling ec2:DescribeInstances in us-east-1 \(RequestLimitExceeded\)/);
      // The last picture stays on show, explained by the finding.
      expect(state.clusters).toHaveLength(clusters);
      const message = 'us-east-1: AWS API throttling (EC2 DescribeInstances throttled once in the last 5 min); the picture may be stale';
      expect(selectFleetFindings(state)[0]).toMatchObject({ kind: 'api-throttled', level: 'WARN', region: 'us-east-1', message });

      // The fault is spent: discovery works, the finding stays for the window.
      await poller.refreshNow();
      state = store.getState();
      expect(state.error).toBeNull();
      expect(state.apiFindings.map((f) => f.message)).toEqual([message]);

      b.world.advance(THROTTLE_WINDOW_MS);
      await poller.refreshNow();
      expect(store.getState().apiFindings).toEqual([]);
    } finally {
      poller.stop();
    }
  });
});
