// Hand-built fleets over several regions (and accounts), as the poller stores
// them after a discovery of each: every view and instance carries its region.
// Two `orders` clusters, one in each region, with nodes of the same names:
// only the region tells them apart.

import type { ScopeStatus } from '../../src/backends/ports.js';
import type { ClusterView, Target } from '../../src/domain/types.js';
import { cluster, mysqlNode, NOW, sortClusters } from './fleet-fixtures.js';

/** The view and each of its instances in `region` (and `account`), their AZs that region's. */
export function inScope(c: ClusterView, region: string, account?: string): ClusterView {
  const acc = account !== undefined ? { account } : {};
  return {
    ...c,
    region,
    ...acc,
    nodes: c.nodes.map((n, i) => ({ ...n, instance: { ...n.instance, region, ...acc, az: `${region}${'abc'[i % 3]}` } })),
  };
}

export const EAST = 'us-east-1';
export const WEST = 'eu-west-1';

/** `orders` in both regions (CRIT in us-east-1, OK in eu-west-1), `billing` in eu-west-1 (WARN), `search` in us-east-1 (OK). */
export function twoRegionFleet(): ClusterView[] {
  const orders = (region: string, isLagging: boolean) =>
    cluster('orders', 'mysql', [
      mysqlNode('orders', { id: `i-${region === EAST ? 'e' : 'w'}01`, name: `orders-${region === EAST ? 'e' : 'w'}1`, role: 'master' }),
      mysqlNode('orders', {
        id: `i-${region === EAST ? 'e' : 'w'}02`,
        name: `orders-${region === EAST ? 'e' : 'w'}2`,
        ...(isLagging ? { lagSeconds: 420, level: 'CRIT' as const, reason: 'lag 420 s > 300 s' } : { lagSeconds: 1 }),
      }),
    ]);
  const billing = cluster('billing', 'mysql', [
    mysqlNode('billing', { id: 'i-w11', name: 'billing-1', role: 'master' }),
    mysqlNode('billing', { id: 'i-w12', name: 'billing-2', lagSeconds: 90, level: 'WARN', reason: 'lag 90 s > 60 s' }),
  ]);
  const search = cluster('search', 'mysql', [mysqlNode('search', { id: 'i-e21', name: 'search-1', role: 'master' })]);
  return sortClusters([inScope(orders(EAST, true), EAST), inScope(orders(WEST, false), WEST), inScope(billing, WEST), inScope(search, EAST)]);
}

export const TWO_REGION_TARGET: Target = { kind: 'aws', account: '123456789012', regions: [EAST, WEST], profile: 'prod-oncall' };

/** us-east-1 answered 3 s before NOW; eu-west-1's last try failed, its last good answer 2 min old. */
export function twoRegionScopes(): ScopeStatus[] {
  return [
    { region: EAST, account: '123456789012', profile: 'prod-oncall', at: NOW - 3_000 },
    { region: WEST, account: '123456789012', profile: 'prod-oncall', at: NOW - 120_000, error: 'UnauthorizedOperation: You are not authorized to perform this operation.' },
  ];
}
