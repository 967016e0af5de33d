// A run names the cluster it works on whole: `orders · eu-west-1` when its
// params name a region, and the form it offers next is that region's cluster.

import { describe, expect, it } from 'vitest';
import { clusterKey, clusterLabel } from '../../../src/domain/scope.js';
import { nextRunbook, runScope } from '../../../src/screens/run/run-lines.js';
import type { RunView } from '../../../src/store/runs.js';

function run(over: Partial<RunView>): RunView {
  return { id: 'r-1', runbook: 'failover', title: 'Failover', cluster: 'orders', status: 'planned', steps: [], preflight: [], overrides: [], gates: [], compensations: [], resumes: [], records: 0, ...over };
}

describe('runScope', () => {
  it('takes the region and account from the run\'s params', () => {
    const r = run({ params: { cluster: 'orders', region: 'eu-west-1', account: '222222222222' } });
    expect(runScope(r)).toEqual({ name: 'orders', region: 'eu-west-1', account: '222222222222' });
    expect(clusterKey(runScope(r))).toBe('222222222222/eu-west-1/orders');
    expect(clusterLabel(runScope(run({ params: { cluster: 'orders', region: 'eu-west-1' } })))).toBe('orders · eu-west-1');
  });

  it('a run without a region is the bare name, as before regions', () => {
    expect(runScope(run({ params: { cluster: 'orders' } }))).toEqual({ name: 'orders' });
    expect(runScope(run({}))).toEqual({ name: 'orders' });
  });

  it('the rebuild a failover calls for names the region of the cluster it left short', () => {
    const done = run({
      status: 'succeeded',
      params: { cluster: 'orders', region: 'eu-west-1' },
      steps: [{ id: 'redundancy', facts: { replicas: 1, targetReplicas: 2 } } as unknown as RunView['steps'][number]],
    });
    expect(nextRunbook(done)).toEqual({ runbook: 'rebuild', why: 'orders · eu-west-1 has 1 replica of 2' });
  });
});
