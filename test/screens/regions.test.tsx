// The console over two regions, driven with real keys at 80x24: a REGION
// column, `orders` twice (one row per region, each opening its own cluster),
// a filter that keeps a region, a stale region marked on its own rows and in
// the header, and a runbook started from a row naming that row's region.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { planRunbooks } from '../../src/console.js';
import type { ConsoleRunner, RunController } from '../../src/actions/console-runner.js';
import { clusterHaystack } from '../../src/screens/fleet/fleet-columns.js';
import { createUiStore, currentScreen } from '../../src/store/ui.js';
import { AWS_TARGET, cluster, mysqlNode, NOW } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';
import { EAST, inScope, TWO_REGION_TARGET, twoRegionFleet, twoRegionScopes, WEST } from '../helpers/region-fixtures.js';
import { cleanupInk } from '../helpers/render.js';
import { renderApp } from './render-app.js';

afterEach(cleanupInk);

const lines = (frame: string) => frame.split('\n');
const selectedRow = (frame: string) => lines(frame).find((l) => l.startsWith('›')) ?? '';
const rowsNamed = (frame: string, name: string) => lines(frame).filter((l) => /^[› ] /.test(l) && l.slice(2).startsWith(`${name} `));

describe('the fleet screen over two regions', () => {
  it('has a REGION column, lists `orders` once per region, worst first across both', async () => {
    const app = await renderApp(twoRegionFleet(), { target: TWO_REGION_TARGET });
    const frame = await app.waitForText('REGION');
    const header = lines(frame).find((l) => l.includes('CLUSTER'))!;
    expect(header.indexOf('REGION')).toBeGreaterThan(header.indexOf('CLUSTER'));
    const orders = rowsNamed(frame, 'orders');
    expect(orders).toHaveLength(2);
    expect(orders[0]).toContain(EAST);
    expect(orders[0]).toContain('✗ CRIT');
    expect(orders[1]).toContain(WEST);
    expect(orders[1]).toContain('✓ OK');
    // Worst first whatever the region: the CRIT orders (us-east-1), the WARN billing (eu-west-1), then the OK ones.
    const order = ['orders', 'billing'].map((n) => lines(frame).findIndex((l) => l.slice(2).startsWith(`${n} `)));
    expect(order[0]).toBeLessThan(order[1]!);
    expect(lines(frame).findIndex((l) => l.includes(WEST) && l.slice(2).startsWith('orders '))).toBeGreaterThan(order[1]!);
    expect(frame).toContain('» orders · us-east-1: ✗ CRIT');
  });

  it('with one region (every cluster carrying it) the table is as before: no REGION column, no scope in names', async () => {
    const one = twoRegionFleet().filter((c) => c.region === WEST);
    const app = await renderApp(one, { target: AWS_TARGET });
    const frame = await app.waitForText('billing');
    expect(frame).not.toContain('REGION');
    expect(frame).toContain('» billing: ▲ WARN');
    await app.press(keys.enter);
    const cluster = await app.waitForText('Fleet › billing ·');
    expect(cluster).not.toContain('billing · eu-west-1');
  });

  it('one region, fresh: the header is the same line as with no scopes at all', async () => {
    const one = twoRegionFleet().filter((c) => c.region === WEST);
    const before = lines(await (await renderApp(one, { target: AWS_TARGET })).waitForText('billing'))[0];
    const app = await renderApp(one, { target: AWS_TARGET });
    app.fleet.getState().actions.setScopes([{ region: WEST, account: '123456789012', profile: 'prod-oncall', at: NOW - 1_000 }]);
    await vi.waitFor(() => expect(app.fleet.getState().scopes).toHaveLength(1));
    expect(lines(await app.waitForText('billing'))[0]).toBe(before);
    // The same region stale: said, though it is the only one.
    app.fleet.getState().actions.setScopes([{ region: WEST, account: '123456789012', profile: 'prod-oncall', at: NOW - 60_000, error: 'Throttling' }]);
    expect(lines(await app.waitForText('eu-west-1 stale 1 m'))[0]).toContain('123456789012');
  });

  it('the simulated fleet narrowed to one of its regions names it in the header', async () => {
    const one = twoRegionFleet().filter((c) => c.region === WEST);
    const app = await renderApp(one, { target: { kind: 'sim', scenario: 'regions-split', seed: 1, speed: 1 } });
    app.fleet.getState().actions.setScopes([{ region: WEST, at: NOW - 1_000 }]);
    expect(lines(await app.waitForText('eu-west-1 1 s'))[0]).toContain('regions-split');
  });

  it('⏎ on each `orders` row opens that region\'s cluster: its own title and nodes', async () => {
    const app = await renderApp(twoRegionFleet(), { target: TWO_REGION_TARGET });
    await app.waitForText('REGION');
    await app.press(keys.enter);
    let frame = await app.waitForText('Fleet › orders · us-east-1');
    expect(frame).toContain('orders-e1');
    expect(frame).not.toContain('orders-w1');
    expect(currentScreen(app.ui.getState())).toEqual({ kind: 'cluster', key: `${EAST}/orders` });
    await app.press(keys.escape);
    await app.waitForText('REGION');
    // The eu-west-1 orders is the last row but one (search, OK, us-east-1, comes after it by name).
    await app.press(keys.end, 'k');
    await vi.waitFor(() => expect(selectedRow(app.lastFrame())).toContain(WEST));
    expect(selectedRow(app.lastFrame()).slice(2)).toMatch(/^orders /);
    await app.press(keys.enter);
    frame = await app.waitForText('Fleet › orders · eu-west-1');
    expect(frame).toContain('orders-w1');
    expect(frame).not.toContain('orders-e1');
    // Its node screen says which region the instance is in.
    await app.press(keys.enter);
    frame = await app.waitForText('Fleet › orders · eu-west-1 › orders-w1');
    expect(frame).toMatch(/region\s+eu-west-1/);
  });

  it('typing `eu-west` in the filter keeps that region\'s rows; the help says so', async () => {
    const app = await renderApp(twoRegionFleet(), { target: TWO_REGION_TARGET });
    await app.waitForText('REGION');
    await app.press('/', 'eu-west', keys.enter);
    const frame = await app.waitForText('2 of 4 clusters match');
    expect(rowsNamed(frame, 'orders')).toHaveLength(1);
    expect(rowsNamed(frame, 'orders')[0]).toContain(WEST);
    expect(rowsNamed(frame, 'billing')).toHaveLength(1);
    expect(rowsNamed(frame, 'search')).toHaveLength(0);
    await app.press(keys.escape, '?');
    expect(await app.waitForText('by region too: /eu-west')).toContain('filter (⏎ keeps it, esc clears)');
  });

  it('the filter matches the region even where AZ names do not carry it', () => {
    const c = inScope(cluster('orders', 'mysql', [mysqlNode('orders', { id: 'i-1' })]), 'lab-north');
    const withRacks = { ...c, nodes: c.nodes.map((n) => ({ ...n, instance: { ...n.instance, az: 'rack-1' } })) };
    expect(clusterHaystack(withRacks)).toContain('lab-north');
    expect(clusterHaystack({ ...withRacks, region: undefined } as never)).not.toContain('lab-north');
  });

  it('a stale region: its rows say so, the others do not; the header names each region\'s freshness; the error is a line', async () => {
    const app = await renderApp(twoRegionFleet(), { target: TWO_REGION_TARGET });
    app.fleet.getState().actions.setScopes(twoRegionScopes());
    const frame = await app.waitForText('eu-west-1 stale');
    for (const row of lines(frame).filter((l) => /^[› ] /.test(l) && (l.includes(EAST) || l.includes(WEST)))) {
      if (row.includes(WEST)) expect(row).toContain(`${WEST} stale`);
      else expect(row).not.toContain('stale');
    }
    const top = lines(frame)[0]!;
    expect(top).toContain('us-east-1 3 s');
    expect(top).toContain('eu-west-1 stale 2 m');
    expect(top.length).toBeLessThanOrEqual(80);
    // Its cluster screen says so too; the other region's does not.
    await app.press(keys.end, 'k', keys.enter);
    expect((await app.waitForText('Fleet › orders · eu-west-1')).replace(/\n\s+/g, ' ')).toContain('▲ eu-west-1 is stale: its discovery failed or is late, so these members are as last seen there');
    await app.press(keys.escape, 'g', keys.enter);
    expect(lines(await app.waitForText('Fleet › orders · us-east-1')).slice(1).join('\n')).not.toContain('stale');
    // Why, naming the region and account, in AWS's words.
    expect(frame.replace(/\n\s+/g, ' ')).toContain('eu-west-1 (prod-oncall, 123456789012): discovery failed: UnauthorizedOperation: You are not authorized');
  });

  it('the header at 80 columns with many regions: the stale ones first, and a count of the fresh rest', async () => {
    const regions = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
    const app = await renderApp(twoRegionFleet(), { target: { kind: 'aws', account: '123456789012', regions, profile: 'prod-oncall' } });
    app.fleet.getState().actions.setScopes(regions.map((region) => ({ region, account: '123456789012', at: NOW - 2_000, ...(region === 'eu-central-1' ? { error: 'RequestLimitExceeded', at: NOW - 300_000 } : {}) })));
    const frame = await app.waitForText('eu-central-1 stale 5 m');
    const top = lines(frame)[0]!;
    expect(top).toContain('+5 fresh');
    expect(top).not.toContain('us-east-2');
    expect(top.length).toBeLessThanOrEqual(80);
  });

  it('several accounts: the header names each account (by profile) with its region', async () => {
    const fleet = twoRegionFleet().map((c) => inScope(c, c.region!, c.region === EAST ? '111111111111' : '222222222222'));
    const target = { kind: 'aws' as const, regions: [EAST, WEST], accounts: [{ profile: 'prod', account: '111111111111' }, { profile: 'payments', account: '222222222222' }] };
    const app = await renderApp(fleet, { target });
    app.fleet.getState().actions.setScopes([
      { region: EAST, account: '111111111111', profile: 'prod', at: NOW - 1_000 },
      { region: WEST, account: '222222222222', profile: 'payments', at: NOW - 2_000 },
    ]);
    const frame = await app.waitForText('prod us-east-1 1 s');
    expect(lines(frame)[0]).toContain('payments eu-west-1 2 s');
    expect(lines(frame).find((l) => l.includes('CLUSTER'))).toContain('ACCOUNT');
    expect(rowsNamed(frame, 'orders').find((r) => r.includes(WEST))).toContain('payments');
    expect(frame).toContain('» orders · 111111111111 us-east-1');
  });
});

describe('a runbook from a row over two regions', () => {
  it('R on the eu-west-1 `orders` titles the list and form with the region, and hands that cluster to onRunbook', async () => {
    const onRunbook = vi.fn();
    const app = await renderApp(twoRegionFleet(), { target: TWO_REGION_TARGET, props: { onRunbook } });
    await app.waitForText('REGION');
    await app.press(keys.end, 'k');
    await vi.waitFor(() => expect(selectedRow(app.lastFrame())).toContain(WEST));
    await app.press('R');
    await app.waitForText('Fleet › orders · eu-west-1 › runbooks');
    expect(currentScreen(app.ui.getState())).toEqual({ kind: 'runbooks', cluster: `${WEST}/orders` });
    await app.press(keys.enter);
    const form = await app.waitForText('Fleet › orders · eu-west-1 ›');
    expect(form).toContain('⏎ plan');
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalled());
    const [, chosen, params] = onRunbook.mock.calls.at(-1)!;
    expect(chosen).toEqual({ name: 'orders', region: WEST });
    expect(params).toMatchObject({ cluster: 'orders' });
  });

  it('planRunbooks puts the chosen cluster\'s region and account in the run params', async () => {
    const plan = vi.fn(async () => ({ runId: 'r-1', abort: vi.fn() }) as unknown as RunController);
    const runner = { plan } as unknown as ConsoleRunner;
    const ui = createUiStore();
    await planRunbooks(() => runner, ui)('switchover', { name: 'orders', region: WEST, account: '222222222222' }, { cluster: 'orders', candidate: 'orders-w2' });
    expect(plan).toHaveBeenCalledWith('switchover', { cluster: 'orders', candidate: 'orders-w2', region: WEST, account: '222222222222' });
    expect(currentScreen(ui.getState())).toEqual({ kind: 'run', runId: 'r-1' });
    // A cluster without a scope (a static inventory): no region, no account, as before.
    await planRunbooks(() => runner, ui)('switchover', { name: 'orders' }, { cluster: 'orders' });
    expect(plan).toHaveBeenLastCalledWith('switchover', { cluster: 'orders' });
  });
});
