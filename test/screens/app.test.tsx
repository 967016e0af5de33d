import { Text } from 'ink';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunController } from '../../src/actions/console-runner.js';
import { stamp } from '../../src/actions/engine/journal.js';
import { RunScreen } from '../../src/screens/run/run-screen.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { createRunsStore } from '../../src/store/runs.js';
import { AWS_TARGET, generateFleet, NOW, sampleFleet, SIM_TARGET } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk } from '../helpers/render.js';
import { renderApp } from './render-app.js';

afterEach(cleanupInk);

const firstLine = (frame: string) => frame.split('\n')[0] ?? '';

describe('header', () => {
  it('says REHEARSAL with scenario, seed and speed on the simulated fleet', async () => {
    const app = await renderApp(sampleFleet(), { target: { kind: 'sim', scenario: 'split-brain', seed: 42, speed: 10 } });
    const head = firstLine(await app.waitForText('REHEARSAL'));
    expect(head).toContain('simulated fleet · split-brain · seed 42 · ×10');
    expect(head).not.toContain('LIVE');
    expect(head).toContain('refreshed 3 s ago');
  });

  it('says READ-ONLY beside the badge on every screen under --read-only, kept whole when the target is cut', async () => {
    const app = await renderApp(sampleFleet(), { target: AWS_TARGET, columns: 60, props: { isReadOnly: true } });
    let head = firstLine(await app.waitForText('READ-ONLY'));
    expect(head.trimStart().startsWith('LIVE · READ-ONLY · 1234')).toBe(true);
    expect(head).toContain('refreshed 3 s ago');
    await app.press(keys.enter);
    await app.waitForText('Fleet › db-billing');
    head = firstLine(app.lastFrame());
    expect(head).toContain('LIVE · READ-ONLY');
    await app.press('?');
    await app.waitForText('Keys ·');
    expect(firstLine(app.lastFrame())).toContain('READ-ONLY');
  });

  it('says nothing of read-only when changes are allowed', async () => {
    const app = await renderApp(sampleFleet(), { target: AWS_TARGET });
    expect(firstLine(await app.waitForText('LIVE'))).not.toContain('READ-ONLY');
  });

  it('says LIVE with account, region and profile on AWS, on every screen', async () => {
    const app = await renderApp(sampleFleet(), { target: AWS_TARGET });
    let head = firstLine(await app.waitForText('LIVE'));
    expect(head.trimStart().startsWith('LIVE · 123456789012 · eu-west-1 · prod-oncall')).toBe(true);
    expect(head).not.toContain('REHEARSAL');
    await app.press(keys.enter);
    await app.waitForText('Fleet › db-billing');
    head = firstLine(app.lastFrame());
    expect(head).toContain('LIVE');
    await app.press('?');
    await app.waitForText('Keys ·');
    expect(firstLine(app.lastFrame())).toContain('LIVE');
  });

  it('says LIVE with the inventory file on a static inventory', async () => {
    const app = await renderApp(sampleFleet(), { target: { kind: 'inventory', file: './hosts.yaml' } });
    expect(firstLine(await app.waitForText('LIVE'))).toContain('LIVE · inventory ./hosts.yaml');
  });

  it('shows refreshing, a late refresh and a failed discovery without dropping the data', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('refreshed 3 s ago');
    app.fleet.getState().actions.setRefreshing(true);
    await app.waitForText('refreshing…');
    app.fleet.getState().actions.setClusters(app.fleet.getState().clusters, NOW - 60_000, 10);
    await app.waitForText('▲ refreshed 1 m ago');
    app.fleet.getState().actions.setError('EC2 DescribeInstances: AccessDenied (request id 1234)');
    const frame = await app.waitForText('✗ refresh failed · data 1 m old');
    expect(frame).toContain('✗ EC2 DescribeInstances: AccessDenied (request id 1234)');
    expect(frame).toContain('db-billing');
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
  });

  it('on a fleet refreshed a slice at a time, gives the age of the oldest data', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText('refreshed 3 s ago');
    app.fleet.getState().actions.setClusters(app.fleet.getState().clusters, NOW - 5_000, 10, true);
    expect(firstLine(await app.waitForText('data ≤ 5 s old'))).not.toContain('refreshed');
    app.fleet.getState().actions.setClusters(app.fleet.getState().clusters, NOW - 60_000, 10, true);
    await app.waitForText('▲ data ≤ 1 m old');
    // r: the whole fleet again, shown as it comes in.
    app.fleet.getState().actions.setClusters(app.fleet.getState().clusters, NOW - 4_000, 10, true, { done: 120, total: 479 });
    await app.waitForText('data ≤ 4 s old · refreshing… 120/479');
  });

  it('keeps the simulated fleet\'s seed and speed on the top line at 80 columns while refreshing, shortening words first', async () => {
    const target = { kind: 'sim' as const, scenario: 'replacement-unhealthy-after-rotate', seed: 123456, speed: 1000 };
    const app = await renderApp(sampleFleet(), { target });
    await app.waitForText('3 s ago');
    app.fleet.getState().actions.setClusters(app.fleet.getState().clusters, NOW - 4_000, 10, true, { done: 120, total: 479 });
    const head = firstLine(await app.waitForText('120/479'));
    // Before, the target was cut after "simulated fleet · replacement-unhe…": which world, and how fast, was gone.
    expect(head).toContain('seed 123456 · ×1000');
    expect(head).toContain('REHEARSAL · sim · ');
    expect(head).toMatch(/≤ 4 s old · ↻ 120\/479$/);
    expect(Array.from(head).length).toBeLessThanOrEqual(80);
    // A shorter scenario: "sim" alone makes the room, and the refresh keeps its words.
    app.fleet.getState().actions.setTarget({ kind: 'sim', scenario: 'healthy', seed: 1, speed: 1 });
    expect(firstLine(await app.waitForText('sim · healthy · seed 1 · ×1'))).toContain('data ≤ 4 s old · refreshing… 120/479');
  });

  it('while the first refresh of a big fleet comes in, says how much of it is there', async () => {
    const store = createFleetStore({ target: SIM_TARGET, refreshSeconds: 5 });
    const app = await renderApp([], { props: { fleet: store } });
    await app.waitForText('loading…');
    const fleet = store.getState();
    fleet.actions.setClusters(sampleFleet().slice(0, 2), NOW, 10, true, { done: 2, total: 479 });
    await app.waitForText('loading… 2/479 clusters');
    fleet.actions.setClusters(sampleFleet().slice(0, 1), NOW, 10, true, { done: 0, total: 1 });
    expect(firstLine(await app.waitForText('loading… 0/1 cluster'))).not.toContain('1 clusters');
    fleet.actions.setClusters(sampleFleet(), NOW, 10, true);
    expect(firstLine(await app.waitForText('data ≤ 0 s old'))).not.toContain('loading');
  });
});

describe('layout', () => {
  it('fits 80x24 exactly, and drops low-priority columns first when narrower', async () => {
    const app = await renderApp(generateFleet(50, 3));
    let frame = await app.waitForText('ENGINE');
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(Math.max(...lines.map((l) => Array.from(l).length))).toBeLessThanOrEqual(80);
    app.stdout.resize(60, 16);
    await vi.waitFor(() => expect(app.lastFrame()).not.toContain('ENGINE'));
    frame = app.lastFrame();
    expect(frame.split('\n').length).toBeLessThanOrEqual(16);
    expect(Math.max(...frame.split('\n').map((l) => Array.from(l).length))).toBeLessThanOrEqual(60);
    for (const essential of ['CLUSTER', 'HEALTH', 'LAG']) expect(frame).toContain(essential);
    expect(frame).toContain('? help');
  });

  it('shows the footer keys of the current screen, help always included', async () => {
    const app = await renderApp(sampleFleet());
    const frame = await app.waitForText('? help');
    const footer = frame.split('\n').filter((l) => l.trim()).at(-1) ?? '';
    for (const k of ['↑↓ move', '⏎ open', '/ filter', 'r refresh', 'q quit', '? help']) expect(footer).toContain(k);
  });
});

describe('run screen slot and errors', () => {
  it('draws the run screen the CLI pushes, and a screen that throws shows its error instead of crashing', async () => {
    function Broken(): never {
      throw new Error('run 7 journal is unreadable');
    }
    const app = await renderApp(sampleFleet(), {
      props: { renderRunScreen: (runId) => (runId === 'good' ? <Text>run screen for good</Text> : <Broken />) },
    });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'run', runId: 'good' });
    await app.waitForText('run screen for good');
    app.ui.getState().actions.pop();
    app.ui.getState().actions.push({ kind: 'run', runId: 'bad' });
    const frame = await app.waitForText('this screen failed to draw: run 7 journal is unreadable');
    expect(frame).toContain('REHEARSAL');
    await app.press(keys.escape);
    await app.waitForText('Fleet · 4 clusters');
  });
});

describe('Ctrl-C', () => {
  /** A run that is running (or stopped at a checkpoint), drawn by the real run screen inside the console. */
  async function liveRun(opts: { checkpoint?: boolean } = {}) {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    const plan = [
      { id: 'repair', title: 'nodetool repair -pr', kind: 'action' as const, danger: 'caution' as const, mutates: true, describe: ['nodetool repair -pr'], node: { id: 'i-2', name: 'cass-2' } },
      { id: 'cp', title: '1 of 2 repaired', kind: 'checkpoint' as const, danger: 'read' as const, mutates: false, describe: [] },
    ];
    apply(stamp('c1', 0, { type: 'run-started', runbook: 'repair', title: 'Cassandra repair', cluster: 'ring-a', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'x', seed: 1, speed: 1 }, params: {}, plan, preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} }));
    apply(stamp('c1', 0, { type: 'step-started', stepId: 'repair', attempt: 1, describe: ['nodetool repair -pr'] }));
    if (opts.checkpoint) {
      apply(stamp('c1', 0, { type: 'step-finished', stepId: 'repair', status: 'ok', via: 'run', realMs: 1, virtualMs: 1 }));
      apply(stamp('c1', 0, { type: 'gate-pending', gateId: 'g1', request: { kind: 'checkpoint', stepId: 'cp', title: '1 of 2 repaired', question: 'Continue?', details: [] } }));
    }
    const abort = vi.fn();
    const answer = vi.fn();
    const controller: RunController = { runId: 'c1', isStarted: true, start: () => {}, abort, answer, done: new Promise(() => {}) };
    const app = await renderApp(sampleFleet(), {
      props: {
        runs,
        renderRunScreen: (runId, slot) => (
          <RunScreen runId={runId} runs={runs} controller={controller} width={slot.width} height={slot.height} isActive={slot.isActive} onBack={() => app.ui.getState().actions.pop()} />
        ),
      },
    });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'run', runId: 'c1' });
    await app.waitForText('Cassandra repair on ring-a');
    return { app, runs, abort, answer };
  }

  it('quits at once where no run runs', async () => {
    const app = await renderApp(sampleFleet());
    await app.waitForText(' cluster');
    await app.press(keys.ctrlC);
    await vi.waitFor(() => expect(app.onQuit).toHaveBeenCalledTimes(1));
  });

  it('on a running run asks first: n returns to the run, y aborts it and stays; once it has ended Ctrl-C quits', async () => {
    const { app, runs, abort } = await liveRun();
    await app.waitForText('x abort');
    await app.press(keys.ctrlC);
    await app.waitForText('Abort run c1?');
    expect(app.lastFrame()).toContain('No step done so far has an undo');
    await app.press('n');
    await app.waitForText('x abort');
    expect(app.lastFrame()).not.toContain('Abort run');
    await app.press(keys.ctrlC);
    await app.waitForText('Abort run c1?');
    await app.press('y');
    await vi.waitFor(() => expect(abort).toHaveBeenCalledTimes(1));
    expect(app.onQuit).not.toHaveBeenCalled();
    runs.getState().actions.apply(stamp('c1', 1, { type: 'run-finished', status: 'aborted', reason: 'aborted by the operator', realMs: 1, virtualMs: 1 }));
    await app.waitForText('esc back');
    await app.press(keys.ctrlC);
    await vi.waitFor(() => expect(app.onQuit).toHaveBeenCalledTimes(1));
  });

  it('at a checkpoint is not the c of continue: it asks to abort, and answers nothing', async () => {
    const { app, answer, abort } = await liveRun({ checkpoint: true });
    await app.waitForText('c continue');
    await app.press(keys.ctrlC);
    await app.waitForText('Abort run c1?');
    expect(answer).not.toHaveBeenCalled();
    await app.press(keys.escape);
    await app.waitForText('c continue');
    expect(answer).not.toHaveBeenCalled();
    expect(abort).not.toHaveBeenCalled();
    expect(app.onQuit).not.toHaveBeenCalled();
  });
});
