// `ls` with a cluster name in two regions (issue 17): JSON carries each
// cluster's region (and account where several are in view), text names the
// region where more than one is in view, and a finding's run line picks it.

import { describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { lsJson, lsText } from '../../src/commands/ls.js';
import { cli, workspace } from './cli-helpers.js';
import type { ClusterView, Instance, NodeView, Target } from '../../src/domain/types.js';

function node(id: string, region?: string, account?: string): NodeView {
  const instance: Instance = {
    id,
    name: `db-${id}`,
    privateIp: '127.0.0.1',
    az: `${region ?? 'eu-west-1'}a`,
    type: 'm5.large',
    state: 'running',
    launchTime: '2026-10-01T00:00:00Z',
    statusChecks: 'ok',
    tags: {},
    ...(region ? { region } : {}),
    ...(account ? { account } : {}),
  };
  return { instance, role: 'replica', engine: 'generic', health: { level: 'OK', reason: '' }, lagSeconds: null, updatedAt: 0, stale: false };
}

function cluster(name: string, nodes: NodeView[], scope: { region?: string; account?: string } = {}): ClusterView {
  return { name, ...scope, engine: 'generic', health: { level: 'OK', reasons: [] }, findings: [], nodes, worstLagSeconds: null };
}

const aws = (regions: string[]): Target => ({ kind: 'aws', regions });
const answers = { timeoutSeconds: 5, unanswered: new Set<string>() };

describe('ls with regions', () => {
  it('JSON: every cluster carries its region, and its account only where one is set', () => {
    const clusters = [cluster('orders', [node('a', 'eu-west-1')], { region: 'eu-west-1' }), cluster('orders', [node('b', 'us-east-1')], { region: 'us-east-1', account: '123456789012' })];
    const json = lsJson(aws(['eu-west-1', 'us-east-1']), clusters, [], answers);
    expect(json.clusters.map((c) => [c.name, c.region, c.account])).toEqual([
      ['orders', 'eu-west-1', undefined],
      ['orders', 'us-east-1', '123456789012'],
    ]);
    expect('account' in json.clusters[0]!).toBe(false);
  });

  it('JSON: a view that does not say its region takes its members’ (every member is in the cluster’s region)', () => {
    const json = lsJson(aws(['eu-west-1']), [cluster('orders', [node('a', 'eu-west-1')])], [], answers);
    expect(json.clusters[0]).toMatchObject({ name: 'orders', region: 'eu-west-1' });
  });

  it('JSON: a static inventory’s clusters carry neither', () => {
    const json = lsJson({ kind: 'inventory', file: 'inv.yaml' }, [cluster('lab', [node('a')])], [], answers);
    expect(Object.keys(json.clusters[0]!)).not.toContain('region');
    expect(Object.keys(json.clusters[0]!)).not.toContain('account');
  });

  it('text: each cluster names its region where two are in view, and its finding’s run line picks it', () => {
    const eu = cluster('orders', [node('a', 'eu-west-1')], { region: 'eu-west-1' });
    eu.findings = [{ kind: 'no-writable-master', level: 'CRIT', message: 'orders has no writable master', nodes: [], suggests: 'failover' }];
    const text = lsText(aws(['eu-west-1', 'us-east-1']), [eu, cluster('orders', [node('b', 'us-east-1')], { region: 'us-east-1' })], [], answers);
    expect(text).toContain('orders · eu-west-1  (generic, 1 node)');
    expect(text).toContain('orders · us-east-1  (generic, 1 node)');
    expect(text).toContain('→ nightshift run failover --cluster orders --region eu-west-1');
  });

  it('text: one region in view reads as before regions', () => {
    const text = lsText(aws(['eu-west-1']), [cluster('orders', [node('a', 'eu-west-1')], { region: 'eu-west-1' })], [], answers);
    expect(text).toContain(' orders  (generic, 1 node)');
    expect(text).not.toContain('·  eu-west-1');
    expect(text).not.toContain('orders · eu-west-1');
  });
});

describe('--region before the command', () => {
  it('takes one value a flag: `--region eu-west-1 ls` is ls narrowed to eu-west-1, not a region named ls (the variadic flag took the command)', async () => {
    const { dir, flags } = workspace();
    const one = await cli([...flags, '--scenario', 'regions-split', '--seed', '7', '--region', 'eu-west-1', 'ls', '--json']);
    expect(one.stderr).toBe('');
    expect(one.code).not.toBe(2);
    const regions = (JSON.parse(one.stdout) as { clusters: { region?: string }[] }).clusters.map((c) => c.region);
    expect(new Set(regions)).toEqual(new Set(['eu-west-1']));
    const both = await cli([...flags, '--scenario', 'regions-split', '--seed', '7', '--region', 'eu-west-1', '--region', 'us-east-1', 'ls', '--json']);
    expect(new Set((JSON.parse(both.stdout) as { clusters: { region?: string }[] }).clusters.map((c) => c.region))).toEqual(new Set(['eu-west-1', 'us-east-1']));
    rmSync(dir, { recursive: true, force: true });
  });
});
