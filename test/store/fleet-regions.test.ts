// The fleet store over several regions: clusters found by key, whether the
// screens name regions, and each region's discovery status cleaned for the
// terminal.

import { describe, expect, it } from 'vitest';
import { createFleetStore, selectCluster, selectIsScopeShown } from '../../src/store/fleet.js';
import { createUiStore, screenKey, selectFilter, selectSelection } from '../../src/store/ui.js';
import { AWS_TARGET } from '../helpers/fleet-fixtures.js';
import { EAST, inScope, twoRegionFleet, WEST } from '../helpers/region-fixtures.js';

describe('fleet store: several regions', () => {
  it('finds each `orders` by its key, never the other region\'s', () => {
    const store = createFleetStore({ target: AWS_TARGET, refreshSeconds: 5 });
    store.getState().actions.setClusters(twoRegionFleet(), 0, 1);
    const east = selectCluster(`${EAST}/orders`)(store.getState())!;
    const west = selectCluster(`${WEST}/orders`)(store.getState())!;
    expect(east.region).toBe(EAST);
    expect(west.region).toBe(WEST);
    expect(east.nodes.map((n) => n.instance.name)).toEqual(['orders-e1', 'orders-e2']);
    expect(selectCluster('orders')(store.getState())).toBeUndefined();
  });

  it('names regions on screen only when more than one region or account is in view', () => {
    const store = createFleetStore({ target: AWS_TARGET, refreshSeconds: 5 });
    store.getState().actions.setClusters(twoRegionFleet(), 0, 1);
    expect(selectIsScopeShown(store.getState())).toBe(true);
    store.getState().actions.setClusters(twoRegionFleet().filter((c) => c.region === WEST), 0, 1);
    expect(selectIsScopeShown(store.getState())).toBe(false);
    // One region, two accounts: shown.
    store.getState().actions.setClusters(twoRegionFleet().filter((c) => c.region === WEST).map((c, i) => inScope(c, WEST, i === 0 ? '111111111111' : '222222222222')), 0, 1);
    expect(selectIsScopeShown(store.getState())).toBe(true);
  });

  it('keeps each region\'s status, its error cleaned of terminal control', () => {
    const store = createFleetStore({ target: AWS_TARGET, refreshSeconds: 5 });
    store.getState().actions.setScopes([{ region: WEST, error: 'AccessDenied\u001B]0;owned\u0007 by policy\nsecond line' }]);
    expect(store.getState().scopes[0]!.error).not.toMatch(/[\u0000-\u001F\u007F]/);
    expect(store.getState().scopes[0]!.error).toContain('AccessDenied');
  });
});

describe('ui store: two clusters of one name', () => {
  it('keeps a selection and a filter per region\'s cluster screen', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    actions.push({ kind: 'cluster', key: `${EAST}/orders` });
    actions.select(1, 'i-e02');
    actions.setFilter('lag');
    actions.pop();
    actions.push({ kind: 'cluster', key: `${WEST}/orders` });
    expect(selectSelection(ui.getState())).toBeUndefined();
    expect(selectFilter(ui.getState())).toBe('');
    expect(screenKey({ kind: 'cluster', key: `${EAST}/orders` })).not.toBe(screenKey({ kind: 'cluster', key: `${WEST}/orders` }));
    expect(screenKey({ kind: 'runbook-form', cluster: `${EAST}/orders`, runbook: 'switchover' })).not.toBe(
      screenKey({ kind: 'runbook-form', cluster: `${WEST}/orders`, runbook: 'switchover' }),
    );
  });
});
