// The walkthrough's reading of a pane (bench/walk-rows.ts), on frames as the
// console draws them at 80x24: two regions with an orders-db in each must be
// two rows with two keys, and the header's short refresh words (beside each
// region's freshness) must count as refreshed.

import { describe, expect, it } from 'vitest';
import { fleetRows, isRefreshed, nodeRows } from '../../bench/walk-rows.js';

const TWO_REGIONS = [
  ' REHEARSAL · sim · regions-split · us-east-1 0 s · eu-west-1 0 s        0 s ago',
  'Fleet · 12 clusters · 44 nodes                                              2/12',
  '  CLUSTER       REGION    NODES HEALTH                         LAG FINDINGS',
  '  orders-db     eu-west-1     3 ✗ CRIT no writable master        — ✗2 no writab…',
  '› orders-db     us-east-1     3 ▲ WARN orders-db-03: lag 1…  109 s —',
  '  timeline-ring eu-west-1 stale 6 ▲ WARN repair overdue on 2…    — ▲1 repair ov…',
  '» orders-db · us-east-1: ▲ WARN orders-db-03: lag 109 s > 30 s',
  '  ✗ CRIT orders-db-02: IO thread connecting',
  '',
].join('\n');

const ONE_REGION = [
  ' REHEARSAL · simulated fleet · master-down · seed 1 · ×1       refreshed 2 s ago',
  'Fleet · 6 clusters · 22 nodes                                                1/6',
  '  CLUSTER       NODES HEALTH                                   LAG FINDINGS',
  '› orders-db         3 ✗ CRIT no writable master                  — ✗2 no writab…',
  '  timeline-ring     6 ▲ WARN repair overdue on 2 ranges          — ▲1 repair ov…',
  '',
  '» orders-db: ✗ CRIT no writable master  R: failover',
].join('\n');

describe('fleetRows', () => {
  it('keys each row by region and name under a REGION column, and says which is under the cursor', () => {
    expect(fleetRows(TWO_REGIONS)).toEqual({
      keys: ['eu-west-1/orders-db', 'us-east-1/orders-db', 'eu-west-1/timeline-ring'],
      selected: 'us-east-1/orders-db',
    });
  });

  it('keys rows by name alone without a REGION column, and stops at the first line past the table', () => {
    expect(fleetRows(ONE_REGION)).toEqual({ keys: ['orders-db', 'timeline-ring'], selected: 'orders-db' });
  });

  it('finds no rows on a screen without the fleet table', () => {
    expect(fleetRows('Fleet › orders-db · eu-west-1 · mysql\n› orders-db-01 master')).toEqual({ keys: [], selected: undefined });
  });
});

describe('nodeRows', () => {
  it("keys a cluster screen's rows by node name, the table's only (a node scrolled out of it is not a row)", () => {
    const frame = [
      'Fleet › orders-db · us-east-1 · mysql · 3 nodes · ▲ WARN · worst lag 109 s   2/3',
      '  NODE         ROLE    AZ         STATE      LAG IO/SQL  HEALTH              AGE',
      '  orders-db-01 master  us-east-1b running      — —       ✓ OK writable mast… 0 s',
      '› orders-db-03 replica us-east-1a running  109 s Yes/Yes ▲ WARN lag 109 s >… 0 s',
      '» orders-db-03 · ▲ WARN lag 109 s > 30 s',
      '  orders-db-01 · ✓ OK writable master',
      '  orders-db-02 · ✓ OK replicating, lag 0 s',
    ].join('\n');
    expect(nodeRows(['orders-db-01', 'orders-db-02', 'orders-db-03'])(frame)).toEqual({ keys: ['orders-db-01', 'orders-db-03'], selected: 'orders-db-03' });
  });
});

describe('isRefreshed', () => {
  it.each([
    ['the long form', ' REHEARSAL · simulated fleet · healthy · seed 1 · ×1    refreshed 4 s ago'],
    ['the short form beside the regions', ' REHEARSAL · sim · regions-split · us-east-1 4 s · eu-west-1 4 s        4 s ago'],
    ['a refresh under way', ' REHEARSAL · sim · healthy    refreshed 4 s ago · refreshing…'],
    ['a rolling refresh', ' REHEARSAL · sim · big    data ≤ 5 s old'],
    ['a late one', ' REHEARSAL · sim · healthy    ▲ refreshed 2 m ago'],
  ])('is true for %s', (_, header) => {
    expect(isRefreshed(header)).toBe(true);
  });

  it.each([
    ['nothing yet', ' REHEARSAL · simulated fleet · healthy · seed 1 · ×1                  loading…'],
    ['the first refresh coming in', ' REHEARSAL · sim · regions-split · us-east-1 stale (no answer yet)   loading 3/12'],
    ['a failed refresh', ' REHEARSAL · sim · healthy    ✗ refresh failed · data 42 s old'],
  ])('is false for %s', (_, header) => {
    expect(isRefreshed(header)).toBe(false);
  });
});
