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
    expect(await backends.lock.holder(RING)).toBeUndefined();
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
    await vi.waitFor(async () => expect((await backends.lock.holder(RING))?.runId).toBe(prepared.runId));
    const second = makeDeps(backends, createHeadlessGate({ yes: true }), stateDir, { who: 'bob@bastion-2', host: 'bastion-2' });
    const refused = await executeRun(await prepareRun(repairRunbook, { cluster: RING }, second, ac.signal), second, new AbortController().signal);
    expect(refused.status).toBe('refused');
    expect(refused.reason).toContain(`locked by run ${prepared.runId} (alice@bastion-1, started`);
    ac.abort();
    expect((await running).status).toBe('aborted');
    expect(await backends.lock.holder(RING)).toBeUndefined();
  });
});
