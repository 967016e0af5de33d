import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { createHeadlessGate } from '../../../src/actions/engine/gate.js';
import { journalPath, readJournal } from '../../../src/actions/engine/journal.js';
import { executeRun, prepareRun, resumeRun } from '../../../src/actions/engine/runner.js';
import { repairRunbook } from '../../../src/actions/runbooks/repair.js';
import { chooseRepairNode } from '../../../src/domain/repair-choice.js';
import { foldRun } from '../../../src/store/runs.js';
import { drive, eventsOf, makeBackends, makeDeps, MemoryLock, tempStateDir, TestClock, TestRing, type RingOptions } from '../helpers.js';

function setup(opts: RingOptions = {}) {
  const clock = new TestClock();
  const ring = new TestRing(clock, opts);
  const lock = new MemoryLock();
  const backends = makeBackends(clock, { inventory: ring.inventory(), shell: ring.shell(), lock });
  const stateDir = tempStateDir();
  return { clock, ring, lock, backends, stateDir };
}

async function repair(env: ReturnType<typeof setup>, flags: Parameters<typeof createHeadlessGate>[0] = { yes: true }, params: Record<string, unknown> = {}) {
  const deps = makeDeps(env.backends, createHeadlessGate(flags), env.stateDir);
  const ac = new AbortController();
  const prepared = await prepareRun(repairRunbook, { cluster: env.ring.cluster, ...params }, deps, ac.signal);
  const outcome = await drive(env.clock, executeRun(prepared, deps, ac.signal));
  const records = outcome.journal ? readJournal(outcome.journal).records : [];
  return { prepared, outcome, deps, records, view: records.length ? foldRun(records)! : undefined };
}

describe('repair choice', () => {
  it('prefers a node without the tag, then the oldest tag; ties by name', () => {
    expect(chooseRepairNode([
      { id: 'a', name: 'n1', lastRepaired: '2026-11-01T00:00:00Z' },
      { id: 'b', name: 'n2' },
    ])).toMatchObject({ id: 'b', reason: expect.stringContaining('never repaired') });
    expect(chooseRepairNode([
      { id: 'a', name: 'n1', lastRepaired: '2026-11-05T00:00:00Z' },
      { id: 'b', name: 'n2', lastRepaired: '2026-11-01T00:00:00Z' },
      { id: 'c', name: 'n3', lastRepaired: '2026-11-03T00:00:00Z' },
    ])?.id).toBe('b');
    expect(chooseRepairNode([
      { id: 'a', name: 'n2', lastRepaired: 'yesterday' },
      { id: 'b', name: 'n1', lastRepaired: '2026-11-01T00:00:00Z' },
    ])).toMatchObject({ id: 'a', reason: expect.stringContaining('not a time') });
    expect(chooseRepairNode([])).toBeUndefined();
  });
});

describe('repair runbook (on an in-test ring)', () => {
  it('plans the exact command on the chosen node before anything runs', async () => {
    const env = setup({ tags: ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'] });
    const deps = makeDeps(env.backends, createHeadlessGate({}), env.stateDir);
    const prepared = await prepareRun(repairRunbook, { cluster: 'ring-a' }, deps, new AbortController().signal);
    expect(prepared.blocked).toBeUndefined();
    expect(prepared.plan.map((s) => [s.id, s.danger])).toEqual([['pick', 'read'], ['repair', 'caution'], ['tag', 'read']]);
    expect(prepared.plan[1]!.describe).toEqual(['on cass-2 (i-002, 10.0.0.2): nodetool repair -pr']);
    expect(prepared.plan[2]!.describe[0]).toContain('Inventory.setTags(i-002 (cass-2)');
    expect(env.ring.commands.filter((c) => c.command.includes('repair'))).toEqual([]);
  });

  it('repairs the never-repaired node, streams output, and tags it with the fleet time in ISO-8601 UTC', async () => {
    const env = setup({ tags: ['2026-11-10T00:00:00Z', undefined, '2026-11-08T00:00:00Z'] });
    const { outcome, view, deps } = await repair(env);
    expect(outcome.status).toBe('succeeded');
    expect(env.ring.tagWrites).toHaveLength(1);
    expect(env.ring.tagWrites[0]!.id).toBe('i-002');
    // Four sessions of a fleet minute each, seen by polls at 1, 3 and 7 s, then every 5 s (the first after
    // 4 min is at 4:02): the tag is the fleet's time, not the wall clock's.
    expect(env.ring.tagOf(1)).toBe('2026-11-21T01:04:02Z');
    const repairStep = view!.steps.find((s) => s.id === 'repair')!;
    expect(repairStep.virtualMs).toBe(4 * 60_000 + 2_000);
    expect(repairStep.output.map((l) => l.text).join('\n')).toMatch(/Repair command #1 finished/);
    expect(eventsOf(deps.events, 'step-progress').map((p) => p.percent)).toEqual([25, 50, 75, 100]);
    expect(env.lock.held.size).toBe(0);
  });

  it('a DN node blocks the run before anything changes', async () => {
    const env = setup({ down: [2] });
    const { outcome } = await repair(env);
    expect(outcome.status).toBe('blocked');
    // Named once, with every node that sees it down.
    expect(outcome.reason).toContain('cass-3 is DN (seen from all 3 members)');
    expect(outcome.reason!.match(/cass-3 is DN/g)).toHaveLength(1);
    expect(env.ring.tagWrites).toEqual([]);
    expect(env.ring.commands.some((c) => c.command.includes('repair'))).toBe(false);
  });

  it('a cluster that is not Cassandra, or not there, is refused by name', async () => {
    const env = setup();
    const deps = makeDeps(env.backends, createHeadlessGate({}), env.stateDir);
    const prepared = await prepareRun(repairRunbook, { cluster: 'nope' }, deps, new AbortController().signal);
    expect(prepared.blocked).toContain('no cluster named nope; clusters here: ring-a');
  });

  it('a failed repair leaves the tag untouched and fails the run with the reason', async () => {
    const env = setup({ tags: ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'] });
    env.ring.failRepair = { code: 2, stderr: 'error: Repair job has failed with the error message: Endpoint not alive: /10.0.0.3' };
    const { outcome } = await repair(env);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('nodetool repair -pr on cass-2 exited 2: error: Repair job has failed');
    expect(env.ring.tagWrites).toEqual([]);
    expect(env.ring.tagOf(1)).toBe('2026-11-02T00:00:00Z');
  });

  it('without --yes it stops before the repair and says so', async () => {
    const env = setup();
    const { outcome } = await repair(env, {});
    expect(outcome.status).toBe('stopped');
    expect(outcome.reason).toContain('pass --yes');
    expect(env.ring.commands.some((c) => c.command.includes('repair'))).toBe(false);
  });

  it('--node repairs that node instead of the chosen one', async () => {
    const env = setup({ tags: [undefined, undefined, undefined] });
    await repair(env, { yes: true }, { node: 'cass-3' });
    expect(env.ring.tagWrites.map((w) => w.id)).toEqual(['i-003']);
  });

  describe('resume', () => {
    const TAGS = ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'];
    const repairs = (env: ReturnType<typeof setup>) => env.ring.commands.filter((c) => c.command.endsWith('repair -pr')).length;

    /**
     * Starts a run whose session then "dies": its fleet clock is moved on only
     * until `until` holds, then nobody advances it again, so its promises hang
     * as a killed process's would. The resumed session gets a clock of its own
     * that carries on from the same fleet time, as a new process would. Jobs
     * live on the "node" (the ring's MemoryJobs), so they outlive the session.
     */
    async function startAndAbandon(env: ReturnType<typeof setup>, until: (deps: ReturnType<typeof makeDeps>) => boolean) {
      const deps = makeDeps(env.backends, createHeadlessGate({ yes: true }), env.stateDir);
      const prepared = await prepareRun(repairRunbook, { cluster: 'ring-a' }, deps, new AbortController().signal);
      void executeRun(prepared, deps, new AbortController().signal);
      for (let i = 0; i < 10_000 && !until(deps); i++) {
        await new Promise((r) => setImmediate(r));
        const next = env.clock.nextDeadline();
        if (next !== undefined) env.clock.advanceTo(next);
      }
      expect(until(deps)).toBe(true);
      const clock = new TestClock(env.clock.now());
      const resumed = makeDeps({ ...env.backends, clock }, createHeadlessGate({ yes: true }), env.stateDir);
      return { runId: prepared.runId, clock, resumed };
    }

    it('re-attaches to a repair still running on the node: no second repair, one tag', async () => {
      const env = setup({ tags: TAGS, sessionMs: 0 });
      let release!: () => void;
      env.ring.holdRepair = new Promise<void>((r) => (release = r));
      const { runId, clock, resumed } = await startAndAbandon(env, (d) => eventsOf(d.events, 'step-progress').some((p) => p.percent === 100));
      // The repair ends on the node only once the resumed session has found it running and followed it.
      const onEvent = resumed.onEvent!;
      resumed.onEvent = (r) => {
        onEvent(r);
        if (r.type === 'step-started' && r.stepId === 'repair') release();
      };
      const out = await drive(clock, resumeRun(repairRunbook, runId, resumed, new AbortController().signal));
      expect(out.status).toBe('succeeded');
      expect(repairs(env)).toBe(1);
      expect(env.ring.tagWrites.map((w) => w.id)).toEqual(['i-002']);
      const view = foldRun(readJournal(journalPath(env.stateDir, runId)).records)!;
      const step = view.steps.find((s) => s.id === 'repair')!;
      expect(step.attempts).toBe(2);
      // The output read before the kill is not handed on twice.
      expect(step.output.filter((l) => /progress: 25%/.test(l.text))).toHaveLength(1);
      expect(step.output.some((l) => /Repair command #1 finished/.test(l.text))).toBe(true);
    });

    it('the job\'s own record on the node decides: a repair that finished while nightshift was away is not run again', async () => {
      const env = setup({ tags: TAGS, sessionMs: 0 });
      let release!: () => void;
      env.ring.holdRepair = new Promise<void>((r) => (release = r));
      const { runId, clock, resumed } = await startAndAbandon(env, (d) => eventsOf(d.events, 'step-fact').some((f) => f.facts.job !== undefined));
      // The journal holds only the job's id; the repair ends on the node after the "kill".
      release();
      await vi.waitFor(() => expect(env.ring.commands.some((c) => c.command.endsWith('repair -pr'))).toBe(true));
      await new Promise((r) => setImmediate(r));
      const out = await drive(clock, resumeRun(repairRunbook, runId, resumed, new AbortController().signal));
      expect(out.status).toBe('succeeded');
      expect(repairs(env)).toBe(1);
      const view = foldRun(readJournal(journalPath(env.stateDir, runId)).records)!;
      expect(view.steps.map((s) => `${s.id}:${s.status}:${s.via}`)).toEqual(['pick:ok:run', 'repair:ok:is-done', 'tag:ok:run']);
    });

    it("the tag step's isDone sees a tag written after the run started, and does not tag again", async () => {
      const env = setup({ tags: TAGS, sessionMs: 0 });
      const inv = env.backends.inventory;
      // The tag is written, then the session dies before the step's end reaches the journal.
      env.backends.inventory = { ...inv, setTags: async (...a) => { await inv.setTags(...a); await new Promise<void>(() => {}); } };
      const { runId, clock, resumed } = await startAndAbandon(env, () => env.ring.tagWrites.length === 1);
      resumed.backends.inventory = inv;
      const out = await drive(clock, resumeRun(repairRunbook, runId, resumed, new AbortController().signal));
      expect(out.status).toBe('succeeded');
      expect(env.ring.tagWrites).toHaveLength(1);
      const view = foldRun(readJournal(journalPath(env.stateDir, runId)).records)!;
      expect(view.steps.map((s) => s.via)).toEqual(['run', 'run', 'is-done']);
    });

    it("an old tag does not satisfy the tag step's isDone", async () => {
      const env = setup({ tags: TAGS, sessionMs: 0 });
      const inv = env.backends.inventory;
      env.backends.inventory = { ...inv, setTags: () => new Promise<void>(() => {}) };
      const { runId, clock, resumed } = await startAndAbandon(env, (d) => eventsOf(d.events, 'step-started').some((e) => e.stepId === 'tag'));
      resumed.backends.inventory = inv;
      const out = await drive(clock, resumeRun(repairRunbook, runId, resumed, new AbortController().signal));
      expect(out.status).toBe('succeeded');
      expect(env.ring.tagWrites).toHaveLength(1);
      expect(env.ring.tagOf(1)).not.toBe('2026-11-02T00:00:00Z');
    });
  });
});
