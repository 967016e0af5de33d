import { afterEach, describe, expect, it, vi } from 'vitest';
import { cluster, DAY, generateFleet, mysqlNode, NOW, sampleFleet } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk } from '../helpers/render.js';
import { renderApp } from './render-app.js';
import { openSimConsole } from './runbooks/sim-console.js';

afterEach(cleanupInk);

/** The table row of a node (not a finding or the detail line that also names it). */
const line = (frame: string, name: string) => frame.split('\n').find((l) => l.startsWith(`› ${name}`) || l.startsWith(`  ${name}`)) ?? '';

async function openCluster(name: string, opts: Parameters<typeof renderApp>[1] = {}, clusters = sampleFleet()) {
  const app = await renderApp(clusters, opts);
  await app.waitForText(' cluster');
  app.ui.getState().actions.push({ kind: 'cluster', key: name });
  await app.waitForText(`Fleet › ${name}`);
  return app;
}

describe('cluster screen', () => {
  it('shows each node with role as the server says, AZ, lag, threads and health reason', async () => {
    const app = await openCluster('db-orders');
    const frame = app.lastFrame();
    // CRIT because of one node and no cluster-wide finding: the line under the title says which node, never a ✓.
    expect(frame).toContain('✗ CRIT no cluster-wide finding; 1 node CRIT: db-orders-2 lag 340 s > 300 s');
    expect(frame).not.toContain('no cluster findings');
    const master = line(frame, 'db-orders-1 ');
    expect(master).toContain('master');
    expect(master).toContain('eu-west-1a');
    const lagging = line(frame, 'db-orders-2 ');
    expect(lagging).toContain('replica');
    expect(lagging).toContain('340 s');
    expect(lagging).toContain('Yes/Yes');
    expect(lagging).toContain('✗ CRIT');
  });

  it('marks a stale row and keeps its last values', async () => {
    const app = await openCluster('db-orders');
    const stale = line(app.lastFrame(), 'db-orders-3 ');
    expect(stale).toContain('▲ stale 42 s');
    expect(stale).toContain('4 s');
    await app.press('G');
    // The detail line says why: the probe error.
    expect(await app.waitForText('ssh: connect timed out')).toContain('» db-orders-3 · ✓ OK replicating · ▲ stale 42 s');
  });

  it('calls a row stale when it has not been updated for a few refreshes, even without a failed probe', async () => {
    const late = cluster('db-late', 'mysql', [mysqlNode('db-late', { id: 'i-late', name: 'db-late-1', role: 'master', updatedAt: NOW - 60_000 })]);
    const app = await openCluster('db-late', {}, [late]);
    expect(line(app.lastFrame(), 'db-late-1 ')).toContain('▲ stale 1 m');
  });

  it('lists cluster findings above the nodes', async () => {
    const app = await openCluster('db-billing');
    const frame = app.lastFrame();
    const finding = frame.indexOf('✗ CRIT two writable masters: db-billing-1, db-billing-2');
    expect(finding).toBeGreaterThan(0);
    expect(frame.indexOf('NODE')).toBeGreaterThan(finding);
    expect(frame).toContain('▲ WARN db-billing-2: role tag says replica');
  });

  it('says "no cluster findings" only on a cluster that is OK', async () => {
    const ok = cluster('db-ok', 'mysql', [mysqlNode('db-ok', { id: 'i-ok1', name: 'db-ok-1', role: 'master' })]);
    const app = await openCluster('db-ok', {}, [ok]);
    expect(app.lastFrame()).toContain('✓ no cluster findings');
  });

  it('shows the runbook that answers each finding with its key; a long finding wraps into the free rows, else is cut before its key', async () => {
    const nodes = [mysqlNode('db-f', { id: 'i-f1', name: 'db-f-1', role: 'replica' })];
    const words = Array.from({ length: 16 }, (_, i) => `word${i}`).join(' ');
    const findings = [
      { kind: 'no-writable-master' as const, level: 'CRIT' as const, message: 'no writable master', nodes: [], suggests: 'failover' },
      { kind: 'redundancy-below-target' as const, level: 'WARN' as const, message: `redundancy below target: 0 of 2 replicas; ${words}`, nodes: [], suggests: 'rebuild' },
      { kind: 'replicas-one-az' as const, level: 'WARN' as const, message: 'all 2 replicas in one AZ (us-east-1a)', nodes: [] },
    ];
    const fleet = () => [cluster('db-f', 'mysql', nodes, { findings })];
    const app = await openCluster('db-f', { props: { onRunbook: vi.fn() } }, fleet());
    let lines = app.lastFrame().split('\n');
    expect(lines).toContain('✗ CRIT no writable master  R: failover');
    const at = lines.findIndex((l) => l.startsWith('▲ WARN redundancy below target: 0 of 2 replicas; word0 word1'));
    expect(at).toBeGreaterThan(0);
    // Continued under the message, nothing cut, the key whole at the end.
    expect(lines[at + 1]).toMatch(/^ {7}word\d+ /);
    // The key is never split: here it takes a line of its own.
    expect(lines[at + 2]).toBe('       R: rebuild');
    expect(`${lines[at]} ${lines[at + 1]!.trim()}`).toBe(`▲ WARN redundancy below target: 0 of 2 replicas; ${words}`);
    expect(lines[at + 3]).toBe('▲ WARN all 2 replicas in one AZ (us-east-1a)');
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    cleanupInk();

    // No free rows (a short terminal): one line each, the message cut, the key whole.
    const short = await openCluster('db-f', { rows: 10, props: { onRunbook: vi.fn() } }, fleet());
    lines = short.lastFrame().split('\n');
    expect(lines.find((l) => l.startsWith('▲ WARN redundancy below target'))).toMatch(/…  R: rebuild$/);
    expect(lines).toContain('▲ WARN all 2 replicas in one AZ (us-east-1a)');
    cleanupInk();

    // Where the console cannot start runbooks, no key that does nothing: the command to type.
    const headless = await openCluster('db-f', {}, fleet());
    expect(headless.lastFrame().split('\n')).toContain('✗ CRIT no writable master  run failover');
  });

  it('a CRIT cluster whose findings are only WARN names the nodes that make it CRIT first', async () => {
    const nodes = [
      mysqlNode('db-l', { id: 'i-l1', name: 'db-l-1', role: 'master' }),
      { ...mysqlNode('db-l', { id: 'i-l2', name: 'db-l-2', lagSeconds: 1523 }), health: { level: 'CRIT' as const, reason: 'lag 1523 s > 300 s' } },
    ];
    const findings = [{ kind: 'redundancy-below-target' as const, level: 'WARN' as const, message: 'redundancy below target: 0 of 2 replicas; rebuild one', nodes: [], suggests: 'rebuild' }];
    const app = await openCluster('db-l', {}, [cluster('db-l', 'mysql', nodes, { findings })]);
    const lines = app.lastFrame().split('\n');
    const at = lines.indexOf('✗ CRIT 1 node CRIT: db-l-2 lag 1523 s > 300 s');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe('▲ WARN redundancy below target: 0 of 2 replicas; rebuild one  run rebuild');
  });

  it('counts the findings that do not fit, and keeps the node table', async () => {
    const nodes = [mysqlNode('db-m', { id: 'i-m1', name: 'db-m-1', role: 'master' })];
    const findings = Array.from({ length: 9 }, (_, i) => ({ kind: 'role-drift' as const, level: 'WARN' as const, message: `finding ${i}`, nodes: [] }));
    const app = await openCluster('db-m', { rows: 12 }, [cluster('db-m', 'mysql', nodes, { findings })]);
    const frame = app.lastFrame();
    expect(frame).toContain('▲ WARN finding 0');
    expect(frame).toMatch(/  … \d more findings \(node screens list theirs\)/);
    expect(frame).toContain('db-m-1');
    expect(frame.split('\n').length).toBeLessThanOrEqual(12);
  });

  it('shows the writer record in one line under the title, "(no node)" when it points at none', async () => {
    const nodes = [mysqlNode('db-w', { id: 'i-w1', name: 'db-w-1', role: 'master' })];
    const at = (values: string[], node: string | null) => ({
      ...cluster('db-w', 'mysql', nodes),
      writer: { zoneId: 'Z1', name: 'db.example.internal', type: 'A' as const, values, node },
    });
    const app = await openCluster('db-w', {}, [at(['10.0.0.1'], 'db-w-1')]);
    const lines = app.lastFrame().split('\n');
    const i = lines.findIndex((l) => l.startsWith('writer db.example.internal → db-w-1'));
    expect(i).toBe(lines.findIndex((l) => l.includes('Fleet › db-w')) + 1);
    cleanupInk();
    // Red comes from writerText's `bad` (test/domain/cluster-view-writer.test.ts): these frames carry no colour.
    const lost = await openCluster('db-w', {}, [at(['10.0.0.9'], null)]);
    expect(lost.lastFrame()).toContain('writer db.example.internal → 10.0.0.9 (no node)');
  });

  it('shows Cassandra repair age, flagging overdue (against gc_grace_seconds) and never-repaired nodes', async () => {
    const app = await openCluster('cass-events');
    const frame = app.lastFrame();
    expect(line(frame, 'cass-events-1 ')).toMatch(/ 2 d ago/);
    expect(line(frame, 'cass-events-1 ')).not.toContain('✗ 2 d');
    expect(line(frame, 'cass-events-2 ')).toContain('✗ 12 d ago');
    expect(line(frame, 'cass-events-3 ')).toContain('✗ never');
    cleanupInk();
    // With a longer grace period the 12-day-old repair is no longer overdue.
    const relaxed = await openCluster('cass-events', { props: { thresholds: { gcGraceSeconds: 20 * DAY / 1000 } } });
    expect(line(relaxed.lastFrame(), 'cass-events-2 ')).not.toContain('✗ 12 d');
  });

  it('offers R (runbooks) on any cluster only when a runbook handler is given; R itself starts nothing', async () => {
    const onRunbook = vi.fn();
    for (const name of ['cass-events', 'db-orders', 'web']) {
      const app = await openCluster(name, { props: { onRunbook } });
      expect(app.lastFrame()).toContain('R runbooks');
      await app.press('R');
      await app.waitForText(`Fleet › ${name} › runbooks`);
      cleanupInk();
    }
    expect(onRunbook).not.toHaveBeenCalled();

    const without = await openCluster('cass-events');
    expect(without.lastFrame()).not.toContain('R runbooks');
    await without.press('R');
    expect(without.ui.getState().stack.at(-1)).toEqual({ kind: 'cluster', key: 'cass-events' });
  });

  it('opens a node with enter and goes back with esc; q still quits from there', async () => {
    const app = await openCluster('db-orders');
    await app.press('j', keys.enter);
    let frame = await app.waitForText('Fleet › db-orders › db-orders-2');
    expect(frame).toContain('i-0a000000000000002');
    await app.press(keys.escape);
    frame = await app.waitForText('Fleet › db-orders ·');
    expect(frame).toContain('2/3');
    await app.press(keys.escape);
    await app.waitForText('Fleet · 4 clusters');
    app.ui.getState().actions.push({ kind: 'cluster', key: 'db-orders' });
    await app.waitForText('Fleet › db-orders');
    await app.press('q');
    expect(app.onQuit).toHaveBeenCalledTimes(1);
  });

  it('takes an Esc that arrives in one read with the next key as Esc, never as Alt+key', async () => {
    // A terminal sends Alt+j as ESC j; over ssh, Esc and a quick next key arrive the same way.
    const app = await openCluster('db-orders');
    await app.press('j', keys.enter);
    await app.waitForText('Fleet › db-orders › db-orders-2');
    await app.press(`${keys.escape}q`);
    // Esc went back; the q, typed for the screen Esc left, is dropped like any key after a screen change.
    await app.waitForText('Fleet › db-orders ·');
    expect(app.onQuit).not.toHaveBeenCalled();
    await app.press('?');
    await app.waitForText('esc close help');
    await app.press(`${keys.escape}${keys.escape}`);
    const frame = await app.waitForText('Fleet › db-orders ·');
    expect(frame).not.toContain('esc close help');
  });

  it('filters nodes by AZ and shows the cluster help', async () => {
    const app = await openCluster('db-orders');
    await app.press('/', '1', 'c', keys.enter);
    const frame = await app.waitForText('1 of 3 nodes match');
    expect(frame).toContain('db-orders-3');
    expect(frame).not.toContain('db-orders-1 ');
    await app.press('?');
    const help = await app.waitForText('Keys · cluster db-orders');
    expect(help).toContain('open the node');
    await app.press('?');
    await app.waitForText('1 of 3 nodes match');
  });

  it('says so when the cluster is gone after a refresh, and esc still goes back', async () => {
    const app = await openCluster('db-orders');
    app.fleet.getState().actions.setClusters([], NOW, 1);
    await app.waitForText('cluster db-orders is not in the last refresh');
    await app.press(keys.escape);
    await app.waitForText('no clusters discovered yet');
  });

  it('windows a 50-node cluster', async () => {
    const app = await openCluster('db-0000', {}, generateFleet(3, 50));
    const frame = app.lastFrame();
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    expect(frame).toContain('1/50');
    await app.press('G');
    expect(await app.waitForText('50/50')).toContain('db-0000-49');
  });
});

describe('node screen', () => {
  it('shows every fact: instance, engine facts with the GTID set and binlog, and all tags', async () => {
    const app = await renderApp(sampleFleet(), { rows: 80 });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'cluster', key: 'db-orders' });
    app.ui.getState().actions.push({ kind: 'node', cluster: 'db-orders', id: 'i-0a000000000000002' });
    const frame = await app.waitForText('Tags (');
    for (const text of ['private ip', '127.', 'r6g.large', 'read_only', 'binlog.000042:19334112', '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4512', 'replica of', '127.0.0.10:3306', 'IO thread', 'nightshift:cluster', 'db-orders'])
      expect(frame).toContain(text);
  });

  it('shows the last SQL error and a role tag that disagrees with the server', async () => {
    const broken = cluster('db-x', 'mysql', [
      mysqlNode('db-x', { id: 'i-x1', name: 'db-x-1', sqlThread: 'No', lagSeconds: null, level: 'CRIT', reason: 'SQL thread stopped: 1062', lastSqlError: { code: 1062, message: "Duplicate entry '42' for key 'PRIMARY'" }, tags: { 'nightshift:role': 'master' } }),
    ]);
    const app = await renderApp([broken], { rows: 80 });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'node', cluster: 'db-x', id: 'i-x1' });
    const frame = await app.waitForText('last SQL error');
    expect(frame).toContain("1062: Duplicate entry '42'");
    expect(frame).toContain('▲ disagrees with the server');
  });

  it('scrolls at 80x24 and filters lines (a tag by name)', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'cluster', key: 'cass-events' });
    app.ui.getState().actions.push({ kind: 'node', cluster: 'cass-events', id: 'i-0c000000000000002' });
    let frame = await app.waitForText('Health');
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    expect(frame).not.toContain('Tags (');
    await app.press('G');
    frame = await app.waitForText('Tags (');
    await app.press('g', '/');
    for (const ch of 'repaired') await app.press(ch);
    await app.press(keys.enter);
    frame = await app.waitForText('filter: repaired');
    expect(frame).toContain('last-repaired');
    expect(frame).toContain('overdue');
    expect(frame).not.toContain('private ip');
  });
});

describe('freshness edge cases', () => {
  it('a node never probed says "no data", not an age since 1970, and keeps the AZ column', async () => {
    const dead = cluster('db-dead', 'mysql', [
      mysqlNode('db-dead', { id: 'i-d1', name: 'db-dead-1', role: 'master', az: 'eu-west-1a' }),
      { ...mysqlNode('db-dead', { id: 'i-d2', name: 'db-dead-2', az: 'eu-west-1b', stale: true, level: 'CRIT', reason: 'unreachable' }), updatedAt: 0 },
    ]);
    const app = await renderApp([dead]);
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'cluster', key: 'db-dead' });
    const frame = await app.waitForText('Fleet › db-dead');
    const row = line(frame, 'db-dead-2');
    expect(row).toContain('▲ no data');
    expect(row).toContain('eu-west-1b');
    expect(frame).not.toMatch(/\d{4,} d/);
  });
});

describe('narrow terminal', () => {
  it('at 60 columns still shows every row\'s freshness and health', async () => {
    const app = await renderApp(sampleFleet(), { columns: 60, rows: 20 });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'cluster', key: 'db-orders' });
    const frame = await app.waitForText('Fleet › db-orders');
    expect(line(frame, 'db-orders-3')).toContain('▲ stale 42 s');
    expect(line(frame, 'db-orders-2')).toContain('✗ CRIT');
    expect(Math.max(...frame.split('\n').map((l) => Array.from(l).length))).toBeLessThanOrEqual(60);
  });
});

describe('cluster screen on the simulated fleet (split-brain, az-outage), at 80x24', () => {
  it('split-brain: both masters CRIT on their rows; the finding marks the writer record\'s master and says what to do by hand, whole', async () => {
    const { app, ui } = await openSimConsole({ scenario: 'split-brain', seed: 1, speed: 1 });
    await app.waitForText(' cluster');
    ui.getState().actions.push({ kind: 'cluster', key: 'users-db' });
    const frame = await app.waitForText('Fleet › users-db');
    // The finding wraps: its words, joined again, say it all.
    const text = frame.split('\n').map((l) => l.trim()).join(' ');
    expect(text).toContain(
      "✗ CRIT two writable masters: users-db-01 (writer record), users-db-02; by hand: SET GLOBAL read_only=ON on users-db-02, compare its GTIDs with users-db-01's, then rebuild it",
    );
    for (const name of ['users-db-01 ', 'users-db-02 ']) {
      expect(line(frame, name)).toContain('✗ CRIT split brain');
      expect(line(frame, name)).not.toContain('✓ OK');
    }
  });

  it('az-outage: the master gone names failover with its key; a cluster CRIT only through its nodes says which', async () => {
    const { app, ui } = await openSimConsole({ scenario: 'az-outage', seed: 1, speed: 1 });
    await app.waitForText(' cluster');
    ui.getState().actions.push({ kind: 'cluster', key: 'search-db' });
    const search = await app.waitForText('Fleet › search-db');
    expect(search.split('\n')).toContain('✗ CRIT no writable master  R: failover');
    cleanupInk();
    const again = await openSimConsole({ scenario: 'az-outage', seed: 1, speed: 1 });
    await again.app.waitForText(' cluster');
    again.ui.getState().actions.push({ kind: 'cluster', key: 'web' });
    const web = await again.app.waitForText('Fleet › web');
    expect(web).not.toContain('no cluster findings');
    expect(web).toContain('✗ CRIT no cluster-wide finding; 1 node CRIT: web-03 EC2 status checks failing');
  });
});

describe('cluster screen at 80 columns: every node\'s health whole somewhere on screen', () => {
  const words = (frame: string) => frame.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ');
  const ioError =
    "IO thread connecting: 2003 Error reconnecting to source 'repl@127.10.2.1:3306'. This was attempt 6/86400, with a delay of 60 seconds between attempts";

  it('the selected node wraps in full under the table; the others whose HEALTH cell was cut follow whole', async () => {
    const nodes = [
      mysqlNode('db-c', { id: 'i-c1', name: 'db-c-1', role: 'master' }),
      mysqlNode('db-c', { id: 'i-c2', name: 'db-c-2', level: 'CRIT', reason: ioError, ioThread: 'Connecting' }),
      mysqlNode('db-c', { id: 'i-c3', name: 'db-c-3', reason: 'replicating, lag 0 s' }),
      mysqlNode('db-c', { id: 'i-c4', name: 'db-c-4', level: 'CRIT', reason: 'SQL thread stopped: 1062 Duplicate entry', sqlThread: 'No', stale: true, probeError: 'db-c-4 (ops@127.0.0.14:22): not reachable: connect ETIMEDOUT after 5 s; failed 5 times in a row, next attempt in 4 s' }),
    ];
    const app = await openCluster('db-c', {}, [cluster('db-c', 'mysql', nodes)]);
    let frame = app.lastFrame();
    let text = words(frame);
    // The table's HEALTH column cuts each of these; below it they read whole.
    expect(line(frame, 'db-c-2')).toContain('…');
    expect(text).toContain(`db-c-2 · ✗ CRIT ${ioError}`);
    expect(text).toContain('db-c-3 · ✓ OK replicating, lag 0 s');
    expect(text).toContain('db-c-4 · ✗ CRIT SQL thread stopped: 1062 Duplicate entry');
    // db-c-1's "✓ OK writable master" fits its cell: not repeated.
    expect(frame.split('\n').some((l) => l.startsWith('  db-c-1 · '))).toBe(false);
    for (const l of frame.split('\n')) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);

    // The selected node's » lines: every part, the probe error whole, wrapped under the marker.
    await app.press(keys.down, keys.down, keys.down);
    frame = await app.waitForText('» db-c-4');
    text = words(frame);
    expect(text).toContain('» db-c-4 · ✗ CRIT SQL thread stopped: 1062 Duplicate entry · ▲ stale');
    expect(text).toContain('db-c-4 (ops@127.0.0.14:22): not reachable: connect ETIMEDOUT after 5 s; failed 5 times in a row, next attempt in 4 s');
    expect(text).toContain('· i-c4');
    const lines = frame.split('\n');
    expect(lines[lines.findIndex((l) => l.startsWith('» db-c-4')) + 1]).toMatch(/^ {2}\S/);
  });

  it('an Auto Scaling group whose name the title would cut gets a line of its own', async () => {
    const nodes = [mysqlNode('db-orders-eu', { id: 'i-g1', name: 'db-orders-eu-1', role: 'master' }), mysqlNode('db-orders-eu', { id: 'i-g2', name: 'db-orders-eu-2', lagSeconds: 1620, level: 'CRIT', reason: 'lag 27m 00s > 300 s' })];
    const app = await openCluster('db-orders-eu', {}, [cluster('db-orders-eu', 'mysql', nodes, { asg: 'db-orders-eu-west-1-asg-20260101' })]);
    const lines = app.lastFrame().split('\n');
    expect(lines[1]).toContain('worst lag 27m 00s');
    expect(lines[1]).not.toContain('asg');
    expect(lines).toContain('asg db-orders-eu-west-1-asg-20260101');
    expect(lines.length).toBeLessThanOrEqual(24);
  });

  it('a big cluster keeps its table; the node reasons that do not fit below are counted', async () => {
    const nodes = Array.from({ length: 30 }, (_, i) =>
      mysqlNode('db-big', { id: `i-b${i}`, name: `db-big-${i}`, ...(i === 0 ? { role: 'master' as const } : { level: 'CRIT' as const, reason: `lag ${400 + i} s > 300 s; SQL thread waiting for the IO thread` }) }),
    );
    const app = await openCluster('db-big', {}, [cluster('db-big', 'mysql', nodes)]);
    const frame = app.lastFrame();
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    // The table takes the screen; no row is given up for the others' reasons.
    expect(frame.split('\n').filter((l) => /^[› ] db-big-\d+ /.test(l)).length).toBeGreaterThanOrEqual(14);
    expect(frame).toContain('» db-big-0 · ✓ OK writable master');
  });

  it('a cluster CRIT only through its nodes wraps the node verdict instead of cutting it', async () => {
    const nodes = [
      mysqlNode('db-v', { id: 'i-v1', name: 'db-v-1', role: 'master' }),
      mysqlNode('db-v', { id: 'i-v2', name: 'db-v-2', level: 'CRIT', reason: ioError, ioThread: 'Connecting' }),
    ];
    const app = await openCluster('db-v', {}, [cluster('db-v', 'mysql', nodes)]);
    expect(words(app.lastFrame())).toContain(`✗ CRIT no cluster-wide finding; 1 node CRIT: db-v-2 ${ioError}`);
  });
});

describe('node screen at 80 columns', () => {
  it('wraps the health line and the findings about the node at spaces: each reads whole', async () => {
    const reason =
      "IO thread connecting: 2003 Error reconnecting to source 'repl@127.10.2.1:3306'. This was attempt 6/86400, with a delay of 60 seconds between attempts";
    const finding = 'split brain: db-n-2 is writable beside db-n-1 (writer record); by hand: SET GLOBAL read_only=ON on db-n-2, compare its GTIDs with db-n-1';
    const nodes = [
      mysqlNode('db-n', { id: 'i-n1', name: 'db-n-1', role: 'master' }),
      mysqlNode('db-n', { id: 'i-n2', name: 'db-n-2', level: 'CRIT', reason, ioThread: 'Connecting' }),
    ];
    const findings = [{ kind: 'two-writable-masters' as const, level: 'CRIT' as const, message: finding, nodes: ['i-n2'] }];
    const app = await openCluster('db-n', {}, [cluster('db-n', 'mysql', nodes, { findings })]);
    app.ui.getState().actions.push({ kind: 'node', cluster: 'db-n', id: 'i-n2' });
    let frame = await app.waitForText('Fleet › db-n › db-n-2');
    const words = (f: string) => f.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ');
    expect(words(frame)).toContain(`health ✗ CRIT ${reason}`);
    for (const l of frame.split('\n')) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    await app.press('G');
    frame = await app.waitForText('Findings about this node');
    expect(words(frame)).toContain(`✗ CRIT ${finding}`);
  });
});
