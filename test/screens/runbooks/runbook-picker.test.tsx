// The runbook picker in the whole console, on hand-built fleet data, driven
// with real keys: R opens the list for the cluster's engine, ⏎ its form, ⏎
// hands the parameters to onRunbook; Esc goes back at every level.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CassandraPeer } from '../../../src/domain/types.js';
import { cassandraNode, cluster, DAY, NOW, sampleFleet } from '../../helpers/fleet-fixtures.js';
import { keys } from '../../helpers/keys.js';
import { cleanupInk } from '../../helpers/render.js';
import { renderApp } from '../render-app.js';

afterEach(cleanupInk);

const footer = (frame: string) => frame.split('\n').filter((l) => l.trim()).at(-1) ?? '';
const row = (frame: string, text: string) => frame.split('\n').find((l) => l.includes(text)) ?? '';

async function openCluster(name: string, opts: Parameters<typeof renderApp>[1] = {}, clusters = sampleFleet()) {
  const app = await renderApp(clusters, opts);
  // "1 cluster" or "4 clusters": the fleet header is drawn.
  await app.waitForText(' cluster');
  app.ui.getState().actions.push({ kind: 'cluster', key: name });
  await app.waitForText(`Fleet › ${name}`);
  return app;
}

/** A deferred onRunbook: the test says when the plan is ready, or that it failed. */
function pendingRunbook() {
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const onRunbook = vi.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      }),
  );
  return { onRunbook, settle: () => settle };
}

describe('the runbook picker', () => {
  it('R on a Cassandra ring lists repair with why it applies now; ⏎ opens its form; esc goes back at every level', async () => {
    const onRunbook = vi.fn();
    const app = await openCluster('cass-events', { props: { onRunbook } });
    expect(footer(app.lastFrame())).toContain('R runbooks');
    await app.press('R');
    let frame = await app.waitForText('Fleet › cass-events › runbooks');
    expect(row(frame, '● repair')).toContain('2 nodes overdue (1 never repaired), oldest 12 d (gc_grace 10 d)');
    expect(frame).toContain('⏎ opens its form; nothing is planned or run from here.');
    expect(footer(frame)).toContain('⏎ choose');

    await app.press(keys.enter);
    frame = await app.waitForText('Fleet › cass-events › repair');
    expect(frame).toContain('● 2 nodes overdue');
    expect(row(frame, 'least recently repaired')).toMatch(/^› ● least recently repaired +now cass-events-3, never repaired$/);
    expect(row(frame, 'all overdue')).toContain('2 nodes, oldest first, checkpoint between');
    expect(row(frame, '○ cass-events-2')).toContain('repaired 12 d ago · overdue');
    expect(row(frame, '○ cass-events-1')).toContain('repaired 2 d ago');
    expect(frame).toContain('⏎ plan: preflight, then the plan to read; nothing runs until you start it');
    expect(onRunbook).not.toHaveBeenCalled();

    await app.press(keys.escape);
    await app.waitForText('Fleet › cass-events › runbooks');
    await app.press(keys.escape);
    frame = await app.waitForText('Fleet › cass-events ·');
    expect(frame).toContain('NODE');
    await app.press(keys.escape);
    await app.waitForText('Fleet · 4 clusters');
    expect(onRunbook).not.toHaveBeenCalled();
  });

  it('hands the chosen node, or all overdue, or nothing (the runbook picks) to onRunbook as parameters', async () => {
    const onRunbook = vi.fn();
    const app = await openCluster('cass-events', { props: { onRunbook } });
    await app.press('R');
    await app.waitForText('● repair');
    await app.press(keys.enter);
    await app.waitForText('least recently repaired');
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalledTimes(1));
    expect(onRunbook).toHaveBeenLastCalledWith('repair', { name: 'cass-events' }, { cluster: 'cass-events' });

    // The answer follows the cursor: least recently repaired → all overdue → cass-events-3 → cass-events-2.
    await app.press('j', 'j', keys.down);
    const frame = await app.waitForText('› ● cass-events-2');
    expect(row(frame, 'least recently repaired')).toMatch(/^ {2}○ /);
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalledTimes(2));
    expect(onRunbook).toHaveBeenLastCalledWith('repair', { name: 'cass-events' }, { cluster: 'cass-events', node: 'cass-events-2' });

    await app.press('k', 'k');
    await app.waitForText('› ● all overdue');
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalledTimes(3));
    expect(onRunbook).toHaveBeenLastCalledWith('repair', { name: 'cass-events' }, { cluster: 'cass-events', allOverdue: true });
  });

  it('on a generic cluster the key says there is no runbook for it yet, rather than doing nothing', async () => {
    const onRunbook = vi.fn();
    const fleet = sampleFleet();
    delete fleet.find((c) => c.name === 'web')!.asg;
    const app = await openCluster('web', { props: { onRunbook } }, fleet);
    expect(footer(app.lastFrame())).toContain('R runbooks');
    await app.press('R');
    const frame = await app.waitForText('no runbook for this generic cluster');
    expect(frame.replace(/\n +/g, ' ')).toContain('rotate needs an Auto Scaling group, and it has none; the console can start repair (Cassandra), switchover (MySQL), failover (MySQL), rebuild (MySQL).');
    await app.press(keys.enter);
    expect(app.lastFrame()).toContain('no runbook for this generic cluster');
    await app.press(keys.escape);
    await app.waitForText('Fleet › web ·');
    expect(onRunbook).not.toHaveBeenCalled();
  });

  it('on a MySQL cluster whose replicas cannot be promoted, switchover is listed as not now, with why', async () => {
    const app = await openCluster('db-orders', { props: { onRunbook: vi.fn() } });
    await app.press('R');
    const frame = await app.waitForText('switchover');
    expect(frame.replace(/\n +/g, ' ')).toContain('not now — no replica of db-orders-1 can be promoted');
    await app.press(keys.escape);
    await app.waitForText('Fleet › db-orders ·');
  });

  it('on a MySQL cluster whose master is dead, failover comes first and applies; ⏎ opens its form with the candidates', async () => {
    const fleet = sampleFleet();
    const orders = fleet.find((c) => c.name === 'db-orders')!;
    const master = orders.nodes.find((n) => n.facts?.kind === 'mysql' && !n.facts.mysql.replica)!;
    master.stale = true;
    delete master.facts;
    for (const n of orders.nodes) if (n !== master && n.facts?.kind === 'mysql' && n.facts.mysql.replica) n.facts.mysql.replica.ioThread = 'Connecting';
    const app = await openCluster('db-orders', { props: { onRunbook: vi.fn() } }, fleet);
    await app.press('R');
    const frame = await app.waitForText('failover');
    const lines = frame.split('\n');
    expect(lines.findIndex((l) => l.includes('failover'))).toBeLessThan(lines.findIndex((l) => l.includes('switchover')));
    expect(frame.replace(/\n +/g, ' ')).toContain('no writable master; most advanced now');
    await app.press(keys.enter);
    const form = await app.waitForText('new master');
    expect(form).toContain('most advanced');
  });

  it('on a MySQL cluster below its replica target, rebuild applies; its form hands source, spare and way to onRunbook', async () => {
    const fleet = sampleFleet();
    const orders = fleet.find((c) => c.name === 'db-orders')!;
    orders.findings.push({ kind: 'redundancy-below-target', level: 'WARN', message: 'redundancy below target: 1 of 2 replicas; rebuild one', nodes: [], suggests: 'rebuild' });
    const onRunbook = vi.fn(async () => {});
    const app = await openCluster('db-orders', { props: { onRunbook } }, fleet);
    await app.press('R');
    let frame = await app.waitForText('rebuild');
    expect(row(frame, '● rebuild')).toContain('redundancy below target: 1 of 2 replicas; rebuild one');
    while (!row(app.lastFrame(), 'rebuild').startsWith('›')) await app.press(keys.down);
    await app.press(keys.enter);
    frame = await app.waitForText('backup from');
    expect(frame).toContain('spare host (empty: launch one)');
    expect(frame).toContain('stream over SSH');
    // Tab past the source (its answer kept) and the spare host to the way the copy moves; ↓↓ is stream.
    await app.press(keys.tab, keys.tab, keys.down, keys.down);
    frame = await app.waitForText('› ● stream over SSH');
    expect(row(frame, 'least lagging healthy')).toMatch(/● least lagging healthy/);
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalled());
    expect(onRunbook).toHaveBeenLastCalledWith('rebuild', { name: 'db-orders' }, { cluster: 'db-orders', via: 'stream' });
  });

  it('on a ring whose instances run an older launch template, rotate applies; its form hands the instance chosen to onRunbook', async () => {
    const fleet = sampleFleet();
    const ring = fleet.find((c) => c.name === 'cass-events')!;
    ring.findings.push({ kind: 'launch-template-drift', level: 'WARN', message: '3 of 3 instances on launch template v5, the group launches v7', nodes: [], suggests: 'rotate' });
    const onRunbook = vi.fn(async () => {});
    const app = await openCluster('cass-events', { props: { onRunbook } }, fleet);
    await app.press('R');
    let frame = await app.waitForText('rotate');
    expect(row(frame, '● rotate')).toContain('3 of 3 instances on launch template v5');
    while (!row(app.lastFrame(), 'rotate').startsWith('›')) await app.press(keys.down);
    await app.press(keys.enter);
    frame = await app.waitForText('stale ones, oldest first');
    const second = ring.nodes[1]!.instance.name;
    expect(frame).toContain(`only ${second}`);
    await app.press(keys.down, keys.down);
    await app.waitForText(`› ● only ${second}`);
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalled());
    expect(onRunbook).toHaveBeenLastCalledWith('rotate', { name: 'cass-events' }, { cluster: 'cass-events', order: second });
  });

  it('R on the fleet screen opens the runbooks of the selected cluster', async () => {
    const app = await renderApp(sampleFleet(), { props: { onRunbook: vi.fn() } });
    await app.waitForText('4 clusters');
    expect(footer(app.lastFrame())).toContain('R runbooks');
    await app.press('/', ...'cass', keys.enter);
    await app.waitForText('1 of 4 clusters match');
    await app.press('R');
    await app.waitForText('Fleet › cass-events › runbooks');
    await app.press(keys.escape);
    // Back where the operator was, filter kept.
    await app.waitForText('1 of 4 clusters match');
  });

  it('offers no runbooks key when the console cannot start runs', async () => {
    const app = await openCluster('cass-events');
    expect(app.lastFrame()).not.toContain('R runbooks');
    await app.press('R');
    expect(app.lastFrame()).not.toContain('› runbooks');
    await app.press('?');
    expect(await app.waitForText('Keys · cluster cass-events')).not.toContain('runbooks');
  });

  it('says "not now" and why on a ring with a DN node, and still lets the operator see the form', async () => {
    const nodes = [14, 2, 3].map((age, i) =>
      cassandraNode('ring-dn', { id: `i-${i + 1}`, name: `cass-${i + 1}`, lastRepaired: new Date(NOW - age * DAY).toISOString() }),
    );
    const peers: CassandraPeer[] = nodes.map((n, i) => ({
      status: i === 2 ? 'DN' : 'UN',
      address: n.instance.privateIp,
      load: '?',
      tokens: 16,
      owns: '?',
      hostId: `h-${i}`,
      rack: 'r1',
      datacenter: 'dc1',
    }));
    const ring = cluster(
      'ring-dn',
      'cassandra',
      nodes.map((n) => ({ ...n, facts: { kind: 'cassandra' as const, cassandra: { status: 'UN' as const, ring: peers } } })),
    );
    const app = await openCluster('ring-dn', { props: { onRunbook: vi.fn() } }, [ring]);
    await app.press('R');
    const frame = await app.waitForText('○ repair');
    expect(row(frame, '○ repair')).toContain('not now — cass-3 is DN; a repair needs every node UN');
    expect(frame).toContain('○ none applies now');
    await app.press(keys.enter);
    expect(await app.waitForText('Fleet › ring-dn › repair')).toContain('○ not now — cass-3 is DN');
  });

  it('shows that the plan is being made, and why it could not be, on the form', async () => {
    const { onRunbook, settle } = pendingRunbook();
    const app = await openCluster('cass-events', { props: { onRunbook } });
    await app.press('R');
    await app.waitForText('● repair');
    await app.press(keys.enter);
    await app.waitForText('least recently repaired');
    await app.press(keys.enter);
    await app.waitForText('◐ preflight and plan for repair on cass-events…');
    // A second ⏎ while the first plan is being made starts no second one.
    await app.press(keys.enter);
    expect(onRunbook).toHaveBeenCalledTimes(1);
    settle().reject(new Error('repair: Unrecognized key: "allOverdue"'));
    const frame = await app.waitForText('✗ could not plan repair on cass-events: repair: Unrecognized key: "allOverdue"');
    expect(frame).not.toContain('◐ preflight');
    // The operator can change the answer and try again.
    await app.press('j');
    await app.press(keys.enter);
    await vi.waitFor(() => expect(onRunbook).toHaveBeenCalledTimes(2));
    await app.waitForText('◐ preflight and plan');
    settle().resolve();
    await app.waitForText('⏎ plan: preflight');
  });

  it('lists the form\'s keys in help, and fits 80x24 with a long ring', async () => {
    const nodes = Array.from({ length: 40 }, (_, i) =>
      cassandraNode('big-ring', { id: `i-${i}`, name: `big-ring-${String(i).padStart(2, '0')}`, lastRepaired: new Date(NOW - (i % 15) * DAY - 3_600_000).toISOString() }),
    );
    const app = await openCluster('big-ring', { props: { onRunbook: vi.fn() } }, [cluster('big-ring', 'cassandra', nodes)]);
    await app.press('R');
    await app.waitForText('● repair');
    await app.press(keys.enter);
    let frame = await app.waitForText('least recently repaired');
    const fits = (f: string) => {
      expect(f.split('\n').length).toBeLessThanOrEqual(24);
      expect(Math.max(...f.split('\n').map((l) => Array.from(l).length))).toBeLessThanOrEqual(80);
    };
    fits(frame);
    expect(footer(frame)).toContain('⏎ plan');
    // The oldest repairs come first: 14 d ago, big-ring-14 then big-ring-29.
    expect(frame).toContain('○ big-ring-14');
    expect(frame).not.toContain('big-ring-00 ');
    await app.press(keys.pageDown, keys.pageDown, keys.pageDown);
    frame = await app.waitForText('› ● big-ring-');
    fits(frame);
    expect(frame).not.toContain('least recently repaired');
    await app.press('?');
    frame = await app.waitForText('Keys · repair on big-ring');
    expect(frame).toContain('plan: preflight, then the plan to read; nothing runs yet');
    expect(frame).toContain('back to the list of runbooks');
  });
});
