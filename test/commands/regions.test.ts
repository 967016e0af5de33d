// A cluster name in two regions (issue 17): `ring-a` in eu-west-1 and in
// us-east-1 are two clusters. A run refuses the bare name, acts on the one the
// region picks and nowhere else, and its lock, journal, `runs`, `show`,
// resume and `unlock` all name that region.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readJournal, journalPath } from '../../src/actions/engine/journal.js';
import { createHeadlessGate, type Gate } from '../../src/actions/engine/gate.js';
import { executeRun, prepareRun } from '../../src/actions/engine/runner.js';
import { reduceRun, type RunView } from '../../src/actions/engine/run-view.js';
import { getRunbook } from '../../src/actions/runbooks/index.js';
import type { Backends } from '../../src/backends/ports.js';
import { resumeCommand } from '../../src/commands/resume.js';
import { runCommand } from '../../src/commands/run.js';
import { runsCommand } from '../../src/commands/runs.js';
import { showCommand } from '../../src/commands/show.js';
import type { CommandContext } from '../../src/commands/types.js';
import { unlockCommand } from '../../src/commands/unlock.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { UsageError } from '../../src/errors.js';
import { drive, makeBackends, makeDeps, MemoryLock, ringsInView, tempStateDir, TestClock, TestRing } from '../actions/helpers.js';

const EU = 'eu-west-1';
const US = 'us-east-1';

/** Both regions in view, or only those named (what the global --region leaves in view). */
function twoRegions(opts: { inView?: string[] } = {}) {
  const clock = new TestClock();
  // Different repair histories: each region's own least recently repaired node is cass-2 (eu) and cass-3 (us).
  const eu = new TestRing(clock, { region: EU, tags: ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'] });
  const us = new TestRing(clock, { region: US, tags: ['2026-11-10T00:00:00Z', '2026-11-08T00:00:00Z', '2026-11-01T00:00:00Z'] });
  const lock = new MemoryLock();
  const stateDir = tempStateDir();
  const config: Config = { ...configSchema.parse({ secrets: [] }), target: 'sim', stateDir };
  const inView = (opts.inView ?? [EU, US]).map((r) => (r === EU ? eu : us));
  const view = ringsInView(inView);
  const backends: Backends = makeBackends(clock, { inventory: view.inventory, shell: view.shell, lock });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const ctx: CommandContext = { io: { stdout: out, stderr: out, isInteractive: false }, loadConfig: async () => config, openBackends: async () => backends };
  return { clock, eu, us, lock, stateDir, config, backends, ctx, output: () => text, reset: () => (text = '') };
}

function viewOf(stateDir: string, runId: string): RunView {
  let v: RunView | undefined;
  for (const r of readJournal(journalPath(stateDir, runId)).records) v = reduceRun(v, r);
  return v!;
}

describe('a cluster name in two regions', () => {
  it('a bare --cluster is refused before anything runs, listing each cluster with the flag that picks it', async () => {
    const e = twoRegions();
    const err = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).toContain('2 clusters are named ring-a: ring-a · eu-west-1 (--region eu-west-1), ring-a · us-east-1 (--region us-east-1)');
    expect(message).toContain('nightshift run repair --cluster ring-a --region eu-west-1');
    expect(message).toContain('nightshift run repair --cluster ring-a --region us-east-1');
    expect(e.lock.log).toEqual([]);
    expect(e.eu.commands).toEqual([]);
    expect(e.us.commands).toEqual([]);
  });

  it('a region that has no cluster of that name is refused, saying where it is', async () => {
    const e = twoRegions();
    const err = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, param: ['region=ap-south-1'] })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('no cluster ring-a in region ap-south-1; it is in eu-west-1, us-east-1');
  });

  it('with the view narrowed to one region, the run takes that region: it acts there alone, and its lock, journal, runs and show name it', async () => {
    const e = twoRegions({ inView: [EU] });
    const outcome = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true }));
    expect(outcome.status).toBe('succeeded');
    expect(e.output()).toContain('Cassandra repair on ring-a · eu-west-1');
    expect(e.lock.log).toEqual([`acquire ${EU}/ring-a ${outcome.runId}`, `release ${EU}/ring-a ${outcome.runId}`]);
    expect(e.eu.tagWrites.map((w) => w.id)).toEqual([`i-${EU}-002`]);
    expect(e.us.tagWrites).toEqual([]);

    const v = viewOf(e.stateDir, outcome.runId);
    expect(v.params).toMatchObject({ cluster: 'ring-a', region: EU });
    expect(v).toMatchObject({ cluster: 'ring-a', region: EU });
    const started = readJournal(journalPath(e.stateDir, outcome.runId)).records.find((r) => r.type === 'run-started');
    expect(started).toMatchObject({ params: { region: EU } });

    e.reset();
    const runs = await runsCommand(e.ctx, {});
    expect(runs[0]).toMatchObject({ id: outcome.runId, cluster: 'ring-a', region: EU });
    const [header, line] = e.output().split('\n');
    expect(header).toMatch(/CLUSTER +REGION +STATUS/);
    expect(line).toMatch(/ring-a +eu-west-1 +succeeded/);

    e.reset();
    const text = await showCommand(e.ctx, outcome.runId, {});
    expect(text.split('\n')[0]).toBe(`run ${outcome.runId} · Cassandra repair on ring-a · eu-west-1 · succeeded`);
    const md = await showCommand(e.ctx, outcome.runId, { markdown: true });
    expect(md).toContain(`# Cassandra repair on ring-a · eu-west-1: run ${outcome.runId}`);
  });

  it('with both regions in view, the region in the params (the console\'s row, --region) picks the cluster and no node of the other is touched', async () => {
    const e = twoRegions();
    const outcome = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, param: [`region=${US}`] }));
    expect(outcome.status).toBe('succeeded');
    expect(e.us.tagWrites.map((w) => w.id)).toEqual([`i-${US}-003`]);
    expect(e.eu.tagWrites).toEqual([]);
    expect(e.eu.commands).toEqual([]);
    expect(e.lock.log[0]).toBe(`acquire ${US}/ring-a ${outcome.runId}`);
  });

  it('a second run on the same name in the other region is not held up by the first one\'s lock; one in the same region is, and says which', async () => {
    const e = twoRegions();
    const holder = { runId: 'run-eu', owner: 'bob@bastion', startedAt: '2026-11-21T01:00:00Z' };
    await e.lock.acquire({ name: 'ring-a', region: EU }, holder);
    const ok = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, param: [`region=${US}`] }));
    expect(ok.status).toBe('succeeded');
    const refused = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, param: [`region=${EU}`] })).catch((x: unknown) => x);
    expect((refused as Error).message).toMatch(/refused: cluster ring-a · eu-west-1 is locked by run run-eu/);
  });

  it('resume of a journaled run with its region, in a two-region view, goes on with the same cluster and its lock', async () => {
    const e = twoRegions();
    const runbook = getRunbook('repair')!;
    // Every node never repaired: --all-overdue repairs them one at a time, with a checkpoint between, where this session pauses.
    for (const r of [e.eu, e.us]) for (const i of r.instances) delete i.tags['last-repaired'];
    const pausing: Gate = { ...createHeadlessGate({ yes: true }), checkpoint: async () => ({ choice: 'pause', via: 'test' }) };
    const deps1 = makeDeps(e.backends, pausing, e.stateDir);
    const prepared = await prepareRun(runbook, { cluster: 'ring-a', region: EU, allOverdue: true }, deps1, new AbortController().signal);
    expect(prepared.blocked).toBeUndefined();
    const first = await drive(e.clock, executeRun(prepared, deps1, new AbortController().signal));
    expect(first.status).toBe('paused');
    expect(e.lock.held.get(`${EU}/ring-a`)?.runId).toBe(first.runId);
    expect(e.eu.tagWrites).toHaveLength(1);

    e.reset();
    const resumed = await drive(e.clock, resumeCommand(e.ctx, first.runId, { yes: true }));
    expect(resumed?.status).toBe('succeeded');
    expect(e.eu.tagWrites.map((w) => w.id).sort()).toEqual([`i-${EU}-001`, `i-${EU}-002`, `i-${EU}-003`]);
    expect(e.us.tagWrites).toEqual([]);
    expect(e.us.commands).toEqual([]);
    // The lock it kept while paused is the one it finds and gives back.
    expect(e.lock.log.filter((l) => l.startsWith('acquire'))).toEqual([`acquire ${EU}/ring-a ${first.runId}`]);
    expect(e.lock.held.size).toBe(0);
  });

  it('an old journal without a region still reads: runs and show name the bare cluster, no region column', async () => {
    const e = twoRegions({ inView: [] });
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    mkdirSync(join(e.stateDir, 'runs'), { recursive: true });
    const base = { v: 1, runId: 'run-old', t: '2026-11-21T01:00:00Z', vt: 0 };
    const started = { ...base, type: 'run-started', runbook: 'repair', title: 'Cassandra repair', cluster: 'ring-a', who: 'bob@bastion', host: 'gone', pid: 1, target: { kind: 'sim', scenario: 't', seed: 1, speed: 1 }, params: { cluster: 'ring-a' }, plan: [], preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} };
    const finished = { ...base, t: '2026-11-21T01:05:00Z', type: 'run-finished', status: 'succeeded', realMs: 300000, virtualMs: 300000 };
    writeFileSync(join(e.stateDir, 'runs', 'run-old.jsonl'), `${JSON.stringify(started)}\n${JSON.stringify(finished)}\n`);
    const runs = await runsCommand(e.ctx, {});
    expect(runs[0]).toEqual(expect.not.objectContaining({ region: expect.anything() }));
    expect(e.output()).not.toContain('REGION');
    const text = await showCommand(e.ctx, 'run-old', {});
    expect(text.split('\n')[0]).toBe('run run-old · Cassandra repair on ring-a · succeeded');
  });

  it('unlock: a bare name in two regions is refused with the candidates; the narrowed view clears that region\'s lock alone', async () => {
    const e = twoRegions();
    const holder = { runId: 'run-dead', owner: 'bob@bastion', startedAt: '2026-11-21T01:00:00Z' };
    await e.lock.acquire({ name: 'ring-a', region: EU }, holder);
    await e.lock.acquire({ name: 'ring-a', region: US }, holder);
    const err = await unlockCommand(e.ctx, 'ring-a', { confirm: 'ring-a' }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('nightshift unlock ring-a --region eu-west-1');
    expect((err as Error).message).toContain('nightshift unlock ring-a --region us-east-1');
    expect(e.lock.held.size).toBe(2);

    const narrowed = twoRegions({ inView: [US] });
    await narrowed.lock.acquire({ name: 'ring-a', region: EU }, holder);
    await narrowed.lock.acquire({ name: 'ring-a', region: US }, holder);
    const asked = await unlockCommand(narrowed.ctx, 'ring-a', {}).catch((x: unknown) => x);
    expect((asked as Error).message).toContain('cluster ring-a · us-east-1 is locked by run run-dead');
    expect((asked as Error).message).toContain('nightshift unlock ring-a --region us-east-1 --confirm ring-a');
    await unlockCommand(narrowed.ctx, 'ring-a', { confirm: 'ring-a' });
    expect([...narrowed.lock.held.keys()]).toEqual([`${EU}/ring-a`]);
    expect(narrowed.output()).toContain('cluster ring-a · us-east-1: lock of run run-dead');
  });
});
