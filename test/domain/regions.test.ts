// The domain over several regions and accounts: a view keeps its ref's scope,
// the fleet is sorted worst first across every region (name, then region, on a
// tie), and an AZ's name is one zone per account, not across accounts.

import { describe, expect, it } from 'vitest';
import { buildClusterViews } from '../../src/domain/cluster-view.js';
import { fleetFindings, sortClusters } from '../../src/domain/findings.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import { clusterKey } from '../../src/domain/scope.js';
import type { ClusterRef, ClusterView } from '../../src/domain/types.js';
import { instance, mysql, nodeView } from '../helpers/node-views.js';

const view = (name: string, level: ClusterView['health']['level'], scope: { region?: string; account?: string }, nodes: ClusterView['nodes'] = []): ClusterView => ({
  name,
  ...scope,
  engine: 'mysql',
  health: { level, reasons: [] },
  findings: [],
  nodes,
  worstLagSeconds: null,
});

describe('several regions in the domain', () => {
  it('a view carries its ref\'s region and account; a ref without them makes a view without them', () => {
    const a = instance({ region: 'eu-west-1', account: '222222222222' });
    const b = instance();
    const refs: ClusterRef[] = [
      { name: 'orders', region: 'eu-west-1', account: '222222222222', engine: 'mysql', instanceIds: [a.id], source: 'tag' },
      { name: 'orders', engine: 'mysql', instanceIds: [b.id], source: 'inventory' },
    ];
    const views = buildClusterViews({
      clusters: refs,
      instances: new Map([a, b].map((i) => [i.id, i])),
      metrics: {},
      probes: new Map(),
      previous: new Map(),
      fleetNow: 0,
      thresholds: DEFAULT_THRESHOLDS,
      roleTag: 'nightshift:role',
      repairTag: 'last-repaired',
      targetReplicas: () => undefined,
    });
    expect(views.map(clusterKey).sort()).toEqual(['222222222222/eu-west-1/orders', 'orders']);
    const bare = views.find((v) => v.region === undefined)!;
    expect('region' in bare || 'account' in bare).toBe(false);
  });

  it('sorts worst first across regions, then by name, then by region', () => {
    const sorted = sortClusters([
      view('orders', 'OK', { region: 'us-east-1' }),
      view('search', 'CRIT', { region: 'us-east-1' }),
      view('orders', 'OK', { region: 'eu-west-1' }),
      view('billing', 'WARN', { region: 'eu-west-1' }),
    ]);
    expect(sorted.map(clusterKey)).toEqual(['us-east-1/search', 'eu-west-1/billing', 'eu-west-1/orders', 'us-east-1/orders']);
  });

  it('an AZ of the same name in two accounts is two zones: neither is dark from the other\'s nodes', () => {
    const down = (account: string) => nodeView(instance({ az: 'us-east-1c', account, statusChecks: 'impaired' }), mysql(), { stale: true, health: { level: 'CRIT', reason: 'EC2 status checks failing' } });
    const up = (account: string) => nodeView(instance({ az: 'us-east-1c', account }), mysql());
    // Account 1: two of three down (dark); account 2: one of three down (not).
    const f = fleetFindings([
      view('a', 'CRIT', { region: 'us-east-1', account: '111111111111' }, [down('111111111111'), down('111111111111'), up('111111111111')]),
      view('b', 'WARN', { region: 'us-east-1', account: '222222222222' }, [down('222222222222'), up('222222222222'), up('222222222222')]),
    ]);
    expect(f.map((x) => [x.az, x.account, x.message])).toEqual([
      ['us-east-1c', '111111111111', 'us-east-1c (account 111111111111): 2 of 3 nodes unreachable or impaired (2 failing EC2 status checks)'],
    ]);
  });
});
