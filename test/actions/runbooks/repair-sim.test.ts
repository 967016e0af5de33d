// The repair runbook on the simulated fleet (src/backends/sim), in process:
// the sim's nodetool streams its progress over virtual minutes, its lock
// lives in lock files, and its faults fail a repair the way Cassandra does.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHeadlessGate } from '../../../src/actions/engine/gate.js';
import { readJournal } from '../../../src/actions/engine/journal.js';
import { executeRun, prepareRun, type EngineDeps } from '../../../src/actions/engine/runner.js';
import { repairRunbook } from '../../../src/actions/runbooks/repair.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { foldRun } from '../../../src/store/runs.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { configSchema } from '../../../src/config/schema.js';
import { makeDeps, tempStateDir } from '../helpers.js';

const RING = 'telemetry-ring';
const opened: SimBackends[] = [];

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

/** A world whose real clock stands still: virtual time moves only when the test advances it. */
async function world(stateDir = tempStateDir()) {
  const frozen = Date.parse('2026-11-21T01:00:00Z');
  const backends = await createSimBackends({ scenario: 'healthy', seed: 7, speed: 1, stateDir, realNow: () => frozen });
  opened.push(backends);
  return { backends, stateDir };
}

/** Runs the promise to its end, moving virtual time 30 s at a time whenever nothing else can happen. */
async function onVirtualTime<T>(backends: SimBackends, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  for (let i = 0; i < 5_000 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    if (!done) (backends.clock as unknown as { advance(ms: number): void }).advance(30_000);
  }
  return watched;
}

async function tags(backends: SimBackends) {
  const found = await backends.inventory.discover();
  const ids = found.clusters.find((c) => c.name === RING)!.instanceIds;
  return Object.fromEntries(ids.map((id) => [id, found.instances.find((i) => i.id === id)!.tags['last-repaired']]));
}

async function repair(backends: SimBackends, stateDir: string, deps?: EngineDeps) {
  const d = deps ?? makeDeps(backends, createHeadlessGate({ yes: true }), stateDir);
  const ac = new AbortController();
  const prepared = await prepareRun(repairRunbook, { cluster: RING }, d, ac.signal);
  return { prepared, outcome: await onVirtualTime(backends, executeRun(prepared, d, ac.signal)) };
}

describe('repair on the simulated fleet', () => {
  it('repairs the never-repaired node over virtual minutes and tags only it, at the fleet time', async () => {
    const { backends, stateDir } = await world();
    const before = await tags(backends);
    const { prepared, outcome } = await repair(backends, stateDir);
    expect(outcome.status, outcome.reason).toBe('succeeded');
    const after = await tags(backends);
    const changed = Object.keys(after).filter((id) => after[id] !== before[id]);
    expect(changed).toEqual([prepared.plan[1]!.node!.id]);
    expect(before[changed[0]!]).toBeUndefined();
    expect(Date.parse(after[changed[0]!]!)).toBeLessThanOrEqual(backends.clock.now());
    const view = foldRun(readJournal(outcome.journal!).records)!;
    const step = view.steps.find((s) => s.id === 'repair')!;
    // Virtual minutes on the fleet's clock, while the real clock stood still.
    expect(step.virtualMs).toBeGreaterThan(60_000);
    expect(step.output.some((l) => /Repair command #\d+ finished in/.test(l.text))).toBe(true);
    expect(await backends.lock.holder({ name: RING })).toBeUndefined();
  });

  it('a repair that fails (injected fault) leaves every tag as it was and fails the run with the reason', async () => {
    const { backends, stateDir } = await world();
    backends.world.inject({ kind: 'repair-fails', message: 'Got negative replies from endpoints [/10.0.0.9:7000]' });
    const before = await tags(backends);
    const { outcome } = await repair(backends, stateDir);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('exited 2');
    expect(outcome.reason).toContain('Got negative replies');
    expect(await tags(backends)).toEqual(before);
  });

  it('a second run on the ring is refused by the simulated lock, naming the first', async () => {
    const { backends, stateDir } = await world();
    const first = makeDeps(backends, createHeadlessGate({ yes: true }), stateDir, { who: 'alice@bastion-1' });
    const ac = new AbortController();
    const prepared = await prepareRun(repairRunbook, { cluster: RING }, first, ac.signal);
    // Virtual time stands still, so the first run parks in its repair holding the lock.
    const running = executeRun(prepared, first, ac.signal);
    await vi.waitFor(async () => expect((await backends.lock.holder({ name: RING }))?.runId).toBe(prepared.runId));
    const second = makeDeps(backends, createHeadlessGate({ yes: true }), stateDir, { who: 'bob@bastion-2', host: 'bastion-2' });
    const refused = await executeRun(await prepareRun(repairRunbook, { cluster: RING }, second, ac.signal), second, new AbortController().signal);
    expect(refused.status).toBe('refused');
    expect(refused.reason).toContain(`locked by run ${prepared.runId} (alice@bastion-1, started`);
    ac.abort();
    expect((await running).status).toBe('aborted');
    expect(await backends.lock.holder({ name: RING })).toBeUndefined();
  });
});

describe('repair --all-overdue on the simulated fleet', () => {
  async function overdueWorld() {
    const stateDir = tempStateDir();
    const frozen = Date.parse('2026-11-21T01:00:00Z');
    const backends = await createSimBackends({ scenario: 'repair-overdue', seed: 7, speed: 1, stateDir, realNow: () => frozen });
    opened.push(backends);
    return { backends, stateDir };
  }

  async function ringFindings(backends: SimBackends) {
    const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
    await new Poller(backends, store, pollerOptions({ ...configSchema.parse({}), target: 'sim', stateDir: tempStateDir() })).refreshNow();
    return store.getState().clusters.find((c) => c.name === RING)!.findings.map((f) => f.kind);
  }

  it('repairs every overdue node oldest first, one at a time, tags each, and clears the finding', async () => {
    const { backends, stateDir } = await overdueWorld();
    expect(await ringFindings(backends)).toContain('repair-overdue');
    const before = await tags(backends);
    const overdue = Object.entries(before)
      .filter(([, t]) => t === undefined || backends.clock.now() - Date.parse(t) > 864_000_000)
      .sort((a, b) => Date.parse(a[1] ?? '') - Date.parse(b[1] ?? ''))
      .map(([id]) => id);
    expect(overdue.length).toBeGreaterThan(1);

    const deps = makeDeps(backends, createHeadlessGate({ yes: true }), stateDir);
    const ac = new AbortController();
    const prepared = await prepareRun(repairRunbook, { cluster: RING, allOverdue: true }, deps, ac.signal);
    expect(prepared.blocked).toBeUndefined();
    const repairs = prepared.plan.filter((s) => s.id.startsWith('repair:'));
    expect(repairs.map((s) => s.node!.id)).toEqual(overdue);
    // A checkpoint between nodes, none before the first or after the last.
    expect(prepared.plan.filter((s) => s.kind === 'checkpoint')).toHaveLength(overdue.length - 1);
    expect(new Set(repairs.map((s) => s.group)).size).toBe(overdue.length);

    const outcome = await onVirtualTime(backends, executeRun(prepared, deps, ac.signal));
    expect(outcome.status, outcome.reason).toBe('succeeded');
    const after = await tags(backends);
    expect(Object.keys(after).filter((id) => after[id] !== before[id]).sort()).toEqual([...overdue].sort());
    // One at a time: each repair started after the previous node's tag was written.
    const view = foldRun(readJournal(outcome.journal!).records)!;
    const order = view.steps.filter((s) => s.id.startsWith('repair:') || s.id.startsWith('tag:'));
    for (let i = 1; i < order.length; i++) expect(order[i]!.startedVt!).toBeGreaterThanOrEqual(order[i - 1]!.startedVt! + (order[i - 1]!.virtualMs ?? 0));
    expect(await ringFindings(backends)).not.toContain('repair-overdue');
  });

  it('headless without --yes stops at the first gate; with --yes but a paused checkpoint it keeps the lock for resume', async () => {
    const { backends, stateDir } = await overdueWorld();
    const deps = makeDeps(backends, createHeadlessGate({}), stateDir);
    const ac = new AbortController();
    const prepared = await prepareRun(repairRunbook, { cluster: RING, allOverdue: true }, deps, ac.signal);
    const outcome = await onVirtualTime(backends, executeRun(prepared, deps, ac.signal));
    expect(outcome.status).toBe('stopped');
    expect(outcome.reason).toContain('pass --yes');
  });

  it('--node and --all-overdue together are refused by name', async () => {
    const { backends, stateDir } = await overdueWorld();
    const deps = makeDeps(backends, createHeadlessGate({ yes: true }), stateDir);
    await expect(prepareRun(repairRunbook, { cluster: RING, allOverdue: true, node: 'x' }, deps, new AbortController().signal)).rejects.toThrow(
      /--node and --all-overdue cannot go together/,
    );
  });
});
