import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSimBackends } from '../../src/backends/sim/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { ClusterView } from '../../src/domain/types.js';
import { pollerOptions } from '../../src/poller-options.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { cluster, generateFleet, mysqlNode, sampleFleet } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk } from '../helpers/render.js';
import { renderApp } from './render-app.js';
import { openSimConsole } from './runbooks/sim-console.js';

afterEach(cleanupInk);

const selectedRow = (frame: string) => frame.split('\n').find((l) => l.startsWith('›')) ?? '';

describe('fleet screen', () => {
  it('lists every cluster worst first with engine, nodes, health and reason, lag and findings', async () => {
    const app = await renderApp(sampleFleet());
    const frame = await app.waitForText('db-billing');
    const lines = frame.split('\n');
    const order = ['db-billing', 'db-orders', 'cass-events', 'web'].map((n) => lines.findIndex((l) => l.includes(` ${n} `)));
    expect(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    const orders = lines.find((l) => l.includes(' db-orders '))!;
    expect(orders).toContain('mysql');
    expect(orders).toContain('✗ CRIT');
    expect(orders).toContain('340 s');
    expect(lines.find((l) => l.includes(' web '))).toContain('✓ OK');
    expect(frame).toContain('✗2 two writab');
    // The selected cluster's reasons in full, under the table.
    expect(frame).toContain('» db-billing: ✗ CRIT two writable masters: db-billing-1, db-billing-2');
  });

  it('counts in words: one cluster is "1 cluster", not "1 clusters"', async () => {
    const web = sampleFleet().filter((c) => c.name === 'web');
    const frame = await (await renderApp(web)).waitForText('Fleet ·');
    expect(frame).toMatch(new RegExp(`Fleet · 1 cluster · ${web[0]!.nodes.length} nodes?\\b`));
    expect(frame).not.toContain('1 clusters');
  });

  it('and the cluster screen says "1 node", not "1 nodes"', async () => {
    const one = sampleFleet().find((c) => c.name === 'web')!;
    const app = await renderApp([{ ...one, nodes: one.nodes.slice(0, 1) }]);
    await app.waitForText('Fleet · 1 cluster · 1 node');
    await app.press(keys.enter);
    const frame = await app.waitForText('Fleet › web');
    expect(frame).toMatch(/\b1 node\b/);
    expect(frame).not.toMatch(/\b1 nodes\b/);
  });

  it('lists names in natural order through the real poller: ring-3 before ring-271 before ring-311', { timeout: 60_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-natural-'));
    const backends = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, nodes: 1500 });
    let clusters: ClusterView[];
    try {
      const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
      await new Poller(backends, store, pollerOptions(loadConfig({ stateDir }, { env: {}, cwd: stateDir }))).refreshNow();
      clusters = store.getState().clusters;
    } finally {
      await backends.close();
    }
    const numbered = (name: string) => /^(.*-)(\d+)$/.exec(name);
    // Neighbours of one health and one stem: the number decides, as a number.
    const pairs = clusters.slice(1).map((c, i) => [clusters[i]!, c] as const).filter(([a, b]) => a.health.level === b.health.level && numbered(a.name)?.[1] === numbered(b.name)?.[1] && numbered(a.name));
    const outOfOrder = pairs.filter(([a, b]) => Number(numbered(a.name)![2]) > Number(numbered(b.name)![2]));
    expect(outOfOrder.map(([a, b]) => `${a.name} before ${b.name}`)).toEqual([]);
    // Some neighbours sort differently as strings ("-3" after "-271"), so the check above could fail.
    const telling = pairs.find(([a, b]) => a.name > b.name);
    expect(telling).toBeDefined();
    // The screen shows them in that order.
    const [a, b] = telling!;
    const stem = numbered(a.name)![1]!;
    const app = await renderApp(clusters, { rows: 60, columns: 100 });
    await app.waitForText('Fleet ·');
    await app.press('/', ...stem, keys.enter);
    const frame = await app.waitForText('match');
    const rowOf = (name: string) => frame.split('\n').findIndex((l) => l.includes(` ${name} `));
    expect(rowOf(a.name)).toBeGreaterThan(0);
    expect(rowOf(a.name)).toBeLessThan(rowOf(b.name));
  });

  it('moves with arrows and j/k, jumps with g/G, and opens a cluster with enter', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('1/4');
    await app.press(keys.down);
    await app.waitForText('2/4');
    await app.press('j', 'j');
    await app.waitForText('4/4');
    await app.press('k');
    await app.waitForText('3/4');
    await app.press('g');
    await app.waitForText('1/4');
    await app.press('G');
    expect(selectedRow(await app.waitForText('4/4'))).toContain('web');
    await app.press(keys.up, keys.enter);
    const frame = await app.waitForText('Fleet › cass-events');
    expect(frame).toContain('cass-events-1');
    expect(frame).toContain('REPAIRED');
  });

  it('moves as many rows as a held j or k delivered in one read', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('1/4');
    // A terminal that falls behind hands over "jjj" at once: three rows, not an unknown key.
    await app.press('jjj');
    expect(selectedRow(await app.waitForText('4/4'))).toContain('web');
    await app.press('kk');
    await app.waitForText('2/4');
    // Moves and Enter in one read: the cluster two rows down opens, and the keys after Enter
    // (meant for a list that is no longer on screen) are dropped rather than sent to the old one.
    await app.press('jj\rjjj');
    const frame = await app.waitForText('Fleet › web');
    expect(frame).toContain('web-1');
  });

  it('filters by typed text, keeps it on enter, and esc clears it', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('4 clusters');
    await app.press('/');
    await app.waitForText('esc clear');
    await app.press('c', 'a', 's', 's');
    let frame = await app.waitForText('1 of 4 clusters match');
    expect(frame).toContain('cass-events');
    expect(frame).not.toContain('db-billing');
    await app.press(keys.enter);
    frame = await app.waitForText('filter: cass');
    // The filter is kept and the list has the keyboard again: enter opens the match.
    await app.press(keys.enter);
    await app.waitForText('Fleet › cass-events');
    await app.press(keys.escape);
    await app.waitForText('filter: cass');
    await app.press(keys.escape);
    frame = await app.waitForText('4 clusters');
    expect(frame).not.toContain('filter:');
    expect(frame).toContain('db-billing');
  });

  it('takes what was typed after / in the same read as the filter', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('4 clusters');
    await app.press('/cass\r');
    const frame = await app.waitForText('filter: cass');
    expect(frame).toContain('1 of 4 clusters match');
    // Kept, and the list has the keyboard again.
    await app.press(keys.enter);
    await app.waitForText('Fleet › cass-events');
  });

  it('filters on AZ and health level too', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('4 clusters');
    await app.press('/', 'w', 'a', 'r', 'n');
    const frame = await app.waitForText('1 of 4 clusters match');
    expect(frame).toContain('cass-events');
  });

  it('shows every key in the help overlay, and esc closes it', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('4 clusters');
    await app.press('?');
    const help = await app.waitForText('Keys · fleet');
    for (const k of ['↑/↓ j/k', 'PgUp/PgDn', 'g / G', '⏎', '/', 'r', 'q', 'esc']) expect(help).toContain(k);
    expect(help).toContain('refresh now');
    await app.press(keys.escape);
    const frame = await app.waitForText('4 clusters');
    expect(frame).not.toContain('Keys · fleet');
  });

  it('r calls onRefresh and q calls onQuit', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('4 clusters');
    await app.press('r');
    expect(app.onRefresh).toHaveBeenCalledTimes(1);
    expect(app.onQuit).not.toHaveBeenCalled();
    await app.press('q');
    expect(app.onQuit).toHaveBeenCalledTimes(1);
  });

  it('draws only a window of a 5,000-node fleet, and PgDn/end scroll it', async () => {
    const app = await renderApp(generateFleet(500, 10), { rows: 24 });
    let frame = await app.waitForText('500 clusters · 5000 nodes');
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    const rowLines = (f: string) => f.split('\n').filter((l) => /^[› ] db-\d{4} /.test(l)).length;
    expect(rowLines(frame)).toBeGreaterThan(10);
    expect(rowLines(frame)).toBeLessThan(24);
    await app.press(keys.pageDown);
    // A page keeps one row of context: from row 1 it lands on the last visible row.
    frame = await app.waitForText(`${rowLines(frame)}/500`);
    await app.press('G');
    frame = await app.waitForText('500/500');
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    expect(selectedRow(frame)).toMatch(/db-\d{4}/);
  });

  it('keeps the cursor on its cluster when a refresh re-sorts the list', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('1/4');
    await app.press('j');
    expect(selectedRow(await app.waitForText('2/4'))).toContain('db-orders');
    const [billing, orders, ...rest] = app.fleet.getState().clusters;
    app.fleet.getState().actions.setClusters([orders!, billing!, ...rest], Date.now(), 10);
    const frame = await app.waitForText('1/4');
    expect(selectedRow(frame)).toContain('db-orders');
  });
});

/** The frame's words with the padding and line breaks gone: a message wrapped over lines reads whole again. */
const words = (frame: string) => frame.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ');

describe('fleet screen at 80 columns: nothing an engineer needs is cut', () => {
  const ioError =
    "IO thread connecting: 2003 Error reconnecting to source 'repl@127.10.2.1:3306'. This was attempt 6/86400, with a delay of 60 seconds between attempts";
  const longCluster = () =>
    cluster(
      'db-long',
      'mysql',
      [
        mysqlNode('db-long', { id: 'i-l1', name: 'db-long-1', role: 'master', level: 'CRIT', reason: 'EC2 status checks failing' }),
        mysqlNode('db-long', { id: 'i-l2', name: 'db-long-2', level: 'CRIT', reason: ioError, ioThread: 'Connecting' }),
      ],
      {
        findings: [
          { kind: 'no-writable-master', level: 'CRIT', message: 'no writable master: db-long-1 does not answer, db-long-2 is read-only', nodes: ['i-l1'], suggests: 'failover' },
          { kind: 'redundancy-below-target', level: 'WARN', message: 'redundancy below target: 1 of 2 replicas; rebuild one in eu-west-1c', nodes: [], suggests: 'rebuild' },
        ],
      },
    );

  it('the » lines under the table give the selected cluster every reason and finding whole, each with its level and runbook key', async () => {
    const app = await renderApp([longCluster(), ...sampleFleet()], { props: { onRunbook: vi.fn() } });
    const frame = await app.waitForText('» db-long');
    const text = words(frame);
    // One line of 80 would have cut all of these after the first few words.
    expect(text).toContain('» db-long: ✗ CRIT no writable master: db-long-1 does not answer, db-long-2 is read-only R: failover');
    expect(text).toContain(`✗ CRIT db-long-2: ${ioError}`);
    expect(text).toContain('✗ CRIT db-long-1: EC2 status checks failing');
    expect(text).toContain('▲ WARN redundancy below target: 1 of 2 replicas; rebuild one in eu-west-1c R: rebuild');
    // Wrapped lines stay inside the width and are indented under their message.
    const lines = frame.split('\n');
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    const at = lines.findIndex((l) => l.startsWith('  ✗ CRIT db-long-2: IO thread connecting'));
    expect(lines[at + 1]).toMatch(/^ {9}\S/);
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
  });

  it('on a small terminal the selected cluster keeps its first reason and says where the rest is', async () => {
    const app = await renderApp([longCluster(), ...generateFleet(10, 2)], { rows: 12 });
    const frame = await app.waitForText('» db-long');
    expect(frame).toContain('» db-long: ✗ CRIT no writable master');
    expect(frame).toMatch(/… \d+ more lines: ⏎ opens db-long, which lists them all/);
    expect(frame.split('\n').length).toBeLessThanOrEqual(12);
  });

  it('a long list keeps at least five rows of its own and gives the selected cluster the rest', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ kind: 'role-drift' as const, level: 'WARN' as const, message: `db-long-${i}: role tag says replica, the server says master (drift since the last switchover)`, nodes: [] }));
    const big = cluster('db-aaa', 'mysql', [mysqlNode('db-aaa', { id: 'i-a1', name: 'db-aaa-1', role: 'master' })], { findings: many });
    const app = await renderApp([big, ...generateFleet(40, 2)]);
    const frame = await app.waitForText('» db-aaa');
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(lines.filter((l) => /^[› ] db-\d{4} |^› db-aaa /.test(l)).length).toBeGreaterThanOrEqual(5);
    // What does not fit is counted, and said where to read it.
    expect(frame).toMatch(/… \d+ more lines: ⏎ opens db-aaa, which lists them all/);
    expect(words(frame)).toContain('▲ WARN db-long-0: role tag says replica, the server says master (drift since the last switchover)');
  });

  it('shows the findings that span clusters at the top, whole, in their level\'s glyph', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('db-billing');
    app.fleet.getState().actions.setApiFindings([
      {
        kind: 'api-throttled',
        level: 'WARN',
        region: 'eu-west-1',
        message: 'eu-west-1: EC2 API throttling (RequestLimitExceeded on 14 of the last 20 calls); the picture may be up to 2 refreshes old',
        nodes: [],
      },
    ]);
    const frame = await app.waitForText('▲ WARN eu-west-1');
    const lines = frame.split('\n');
    // Under the title, above the table's header.
    expect(lines[2]).toMatch(/^▲ WARN eu-west-1: EC2 API throttling/);
    expect(lines.findIndex((l) => l.startsWith('  CLUSTER'))).toBeGreaterThan(2);
    expect(words(frame)).toContain('▲ WARN eu-west-1: EC2 API throttling (RequestLimitExceeded on 14 of the last 20 calls); the picture may be up to 2 refreshes old');
  });

  it('az-outage on the simulated fleet: the dark AZ is named at the top of the fleet screen', async () => {
    const { app } = await openSimConsole({ scenario: 'az-outage', seed: 1, speed: 1 });
    const frame = await app.waitForText('✗ CRIT us-east-1c:');
    expect(words(frame)).toMatch(/✗ CRIT us-east-1c: 7 of 7 nodes unreachable or impaired \(7 failing EC2 status checks\)/);
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
  });
});
