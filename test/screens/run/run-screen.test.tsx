// The run screen over the console runner and an in-test Cassandra ring
// (test/actions/helpers.ts), driven with real keys.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConsoleRunner, type RunController } from '../../../src/actions/console-runner.js';
import { existsSync } from 'node:fs';
import { journalPath, stamp } from '../../../src/actions/engine/journal.js';
import type { Backends } from '../../../src/backends/ports.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { RunScreen } from '../../../src/screens/run/run-screen.js';
import { createRunsStore } from '../../../src/store/runs.js';
import { drive, makeBackends, MemoryLock, tempStateDir, TestClock, TestRing } from '../../actions/helpers.js';
import { keys } from '../../helpers/keys.js';
import { cleanupInk, renderInk } from '../../helpers/render.js';

afterEach(cleanupInk);

async function setup(params: Record<string, unknown> = { cluster: 'ring-a' }, opts: { failCancel?: boolean; columns?: number; readOnly?: boolean } = {}) {
  const clock = new TestClock();
  const ring = new TestRing(clock, { tags: ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'] });
  const lock = new MemoryLock();
  const backends: Backends = makeBackends(clock, { inventory: ring.inventory(), shell: ring.shell(), lock });
  if (opts.failCancel) backends.jobs.cancel = async () => Promise.reject(new Error('ssh: connection reset by 10.0.0.2'));
  const config: Config = { ...configSchema.parse({ readOnly: opts.readOnly ?? false }), target: 'sim', stateDir: tempStateDir() };
  const runs = createRunsStore();
  const runner = createConsoleRunner({ config, backends, runs, engine: { who: 'alice@bastion' } });
  const controller = await runner.plan('repair', params);
  const onBack = vi.fn();
  const onQuit = vi.fn();
  const app = await renderInk(
    <RunScreen runId={controller.runId} runs={runs} controller={controller} width={opts.columns ?? 100} height={23} isActive onBack={onBack} onQuit={onQuit} />,
    { columns: opts.columns ?? 100, rows: 24 },
  );
  return { clock, ring, runs, controller, app, onBack, onQuit, lock, config };
}

describe('run screen', () => {
  it('shows the plan with each step and its command before anything runs', async () => {
    const { app, ring } = await setup();
    const frame = await app.waitForText('plan: ⏎ to start');
    expect(frame).toContain('○ 1. pick the node to repair');
    expect(frame).toContain('○ 2. nodetool repair -pr · cass-2 [caution]');
    expect(frame).toContain('✓ every node UN in nodetool status: 3/3 nodes UN');
    await app.press(keys.down);
    await app.waitForText('$ on cass-2 (i-002, 10.0.0.2): nodetool repair -pr');
    expect(ring.commands.some((c) => c.command.endsWith('repair -pr'))).toBe(false);
  });

  it('shows the whole of a plan over several nodes before the start, checkpoints marked, and says what scrolled away once running', async () => {
    const { app, controller, clock } = await setup({ cluster: 'ring-a', allOverdue: true });
    const frame = await app.waitForText('plan: ⏎ to start');
    // Three overdue nodes, oldest first: 1 pick + 3 × (repair, tag) + 2 checkpoints.
    expect(frame).toContain('○ 2. nodetool repair -pr · cass-2 [caution]');
    expect(frame).toContain('○ 4. 1 of 3 repaired; next: cass-3 [checkpoint]');
    expect(frame).toContain('○ 9. tag last-repaired · cass-1');
    expect(frame).not.toContain('↑↓ for the rest');
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    // Running, the output gets the room: the step list is a window, and says so.
    expect(app.lastFrame()).toMatch(/steps 1-\d of 9, ↑↓ for the rest/);
    controller.abort();
    await drive(clock, controller.done);
  });

  it('Enter at the caution gate means No: the run stops and nothing is repaired', async () => {
    const { app, ring, controller } = await setup();
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('Run this step on cass-2? [y/N]');
    expect(app.lastFrame()).toContain('› No');
    await app.press(keys.enter);
    expect((await controller.done)?.status).toBe('stopped');
    await app.waitForText('stopped: stopped before "nodetool repair -pr": not confirmed');
    expect(ring.commands.some((c) => c.command.endsWith('repair -pr'))).toBe(false);
  });

  it('y runs the repair: output streams, steps turn ✓ with durations, the node is tagged', async () => {
    const { app, ring, controller, clock } = await setup();
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    const outcome = await drive(clock, controller.done);
    expect(outcome?.status).toBe('succeeded');
    const frame = await app.waitForText('succeeded');
    expect(frame).toMatch(/✓ 2\. nodetool repair -pr · cass-2 \[caution\]\s+\d/);
    expect(frame).toContain('✓ 3. tag last-repaired');
    expect(ring.tagWrites.map((w) => w.id)).toEqual(['i-002']);
  });

  it('on failure shows the error, the ssh command to the node, and retry / abort (no skip)', async () => {
    const { app, ring, controller, clock } = await setup();
    ring.failRepair = { code: 2, stderr: 'error: Repair job has failed: Endpoint not alive' };
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    void drive(clock, controller.done);
    const frame = await app.waitForText('r retry · a abort');
    expect(frame).toContain('✗ step failed: nodetool repair -pr');
    expect(frame).toContain('shell on the node: ssh -J bastion ec2-user@10.0.0.2');
    expect(frame).toContain('! error: Repair job has failed: Endpoint not alive');
    expect(frame).not.toContain('s skip');
    await app.press('s');
    expect(app.lastFrame()).toContain('r retry · a abort');
    await app.press('a');
    expect((await controller.done)?.status).toBe('failed');
    expect(ring.tagWrites).toEqual([]);
  });
});

describe('a run planned read-only', () => {
  it('stops at the plan saying so, and ⏎ starts nothing: no lock, no journal, no command beyond preflight', async () => {
    const { app, ring, controller, lock, config } = await setup({ cluster: 'ring-a' }, { readOnly: true });
    const frame = await app.waitForText('read-only: nothing will change; this is the plan');
    expect(frame).toContain('○ 2. nodetool repair -pr · cass-2 [caution]');
    expect(frame).not.toContain('⏎ to start');
    await app.press(keys.enter);
    controller.start();
    expect(controller.isStarted).toBe(false);
    expect(lock.log).toEqual([]);
    expect(existsSync(journalPath(config.stateDir, controller.runId))).toBe(false);
    expect(ring.commands.every((c) => c.command.endsWith('status'))).toBe(true);
  });
});

describe('a plan blocked by its preflight', () => {
  it('keeps the screen whole at 80x24 when the reason runs to many lines, and shows each check', async () => {
    const runs = createRunsStore();
    const downs = Array.from({ length: 12 }, (_, i) => `ring-0${i % 3} is DN (seen from ring-1${i})`).join('; ');
    const reason = `every node UN in nodetool status: ${downs}`;
    runs.getState().actions.apply(
      stamp('r9', 0, {
        type: 'planned',
        runbook: 'repair',
        title: 'Cassandra repair',
        cluster: 'ring',
        plan: [],
        preflight: [
          { id: 'ring', title: 'the cluster is a Cassandra ring', status: 'ok', detail: 'ring: Cassandra, 6 nodes', overridable: false },
          { id: 'all-up', title: 'every node UN in nodetool status', status: 'failed', detail: downs, overridable: false },
        ],
        blocked: `preflight ${reason}`,
      }),
    );
    const controller: RunController = { runId: 'r9', isStarted: false, start: vi.fn(), abort: () => {}, answer: () => {}, done: new Promise(() => {}) };
    const app = await renderInk(<RunScreen runId="r9" runs={runs} controller={controller} width={80} height={22} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    const frame = await app.waitForText('more lines');
    const lines = frame.split('\n');
    expect(lines[0]).toBe('Cassandra repair on ring · BLOCKED');
    expect(lines.length).toBeLessThanOrEqual(22);
    expect(frame).toContain('─ no steps planned');
    expect(frame).toContain('✓ the cluster is a Cassandra ring: ring: Cassandra, 6 nodes');
    expect(frame).toContain('✗ blocked: preflight every node UN in nodetool status: ring-00 is DN');
    expect(frame).toMatch(/… \d+ more lines/);
    // No journal to point to: the plan never started.
    expect(frame).not.toContain('nightshift show');
    await app.press(keys.enter);
    expect(controller.start).not.toHaveBeenCalled();
  });
});

describe('run screen gates (planted questions)', () => {
  function planted(kind: 'destructive' | 'caution', details = ['SET GLOBAL read_only=1']) {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    apply(stamp('r1', 0, { type: 'planned', runbook: 'test', title: 'Test', cluster: 'db-a', preflight: [], plan: [{ id: 's', title: 'make read-only', kind: 'action', danger: kind, mutates: true, describe: ['SET GLOBAL read_only=1'] }] }));
    apply(stamp('r1', 0, { type: 'run-started', runbook: 'test', title: 'Test', cluster: 'db-a', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'x', seed: 1, speed: 1 }, params: {}, plan: [{ id: 's', title: 'make read-only', kind: 'action', danger: kind, mutates: true, describe: ['SET GLOBAL read_only=1'] }], preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} }));
    apply(stamp('r1', 0, { type: 'gate-pending', gateId: 'g1', request: { kind, stepId: 's', title: 'make read-only', question: kind === 'destructive' ? 'Type db-a1 to run it.' : 'Run it? [y/N]', details, ...(kind === 'destructive' ? { expected: 'db-a1' } : {}) } }));
    const answers: unknown[] = [];
    const controller: RunController = { runId: 'r1', isStarted: true, start: () => {}, abort: () => {}, answer: (_id, reply) => void answers.push(reply), done: new Promise(() => {}) };
    return { runs, controller, answers };
  }

  it('a critical section\'s single question shows every step it covers, at 80x24', async () => {
    const lines = ['one answer, 3 steps: writes stopped on db-a1, 30 s at most', '1. old master read-only [destructive]', '2. candidate catches up', '3. promote the candidate [caution]', 'over budget or on a failure inside it, the undo runs'];
    const { runs, controller } = planted('destructive', lines);
    const app = await renderInk(<RunScreen runId="r1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    const frame = await app.waitForText('Type  db-a1  to confirm');
    for (const l of lines) expect(frame).toContain(l);
  });

  it('a gate\'s long detail wraps at 80 columns instead of losing its end', async () => {
    const detail = 'SET GLOBAL read_only=1 on db-a1 (127.10.1.1:3306), then FLUSH TABLES WITH READ LOCK for at most 30 s while the candidate db-a2 catches up';
    const { runs, controller } = planted('caution', [detail]);
    const app = await renderInk(<RunScreen runId="r1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    const frame = await app.waitForText('[y/N]');
    expect(frame.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ')).toContain(detail);
    // The question lists the step's commands; the step's detail above it does not repeat them.
    expect(frame.split('\n').filter((l) => l.includes('SET GLOBAL read_only=1'))).toHaveLength(1);
  });

  it('a destructive gate refuses a wrong name and confirms only the exact one', async () => {
    const { runs, controller, answers } = planted('destructive');
    const app = await renderInk(<RunScreen runId="r1" runs={runs} controller={controller} width={100} height={24} isActive onBack={() => {}} />, { columns: 100, rows: 24 });
    await app.waitForText('Type  db-a1  to confirm');
    await app.press(keys.enter);
    await app.press('db-a2');
    await app.waitForText('› db-a2');
    await app.press(keys.enter);
    await app.waitForText('"db-a2" is not "db-a1"; nothing was done');
    expect(answers).toEqual([]);
    await app.press(keys.backspace);
    await app.waitForText('› db-a▏');
    await app.press('1');
    await app.waitForText('› db-a1');
    await app.press(keys.enter);
    await vi.waitFor(() => expect(answers).toEqual([{ approved: true, typed: 'db-a1' }]));
  });

  it('esc at a caution gate answers No', async () => {
    const { runs, controller, answers } = planted('caution');
    const app = await renderInk(<RunScreen runId="r1" runs={runs} controller={controller} width={100} height={24} isActive onBack={() => {}} />, { columns: 100, rows: 24 });
    await app.waitForText('[y/N]');
    await app.press(keys.escape);
    await vi.waitFor(() => expect(answers).toEqual([{ approved: false }]));
  });
});

describe('run screen: critical sections and the undo', () => {
  it('says in its first line when the run is inside a critical section, and when it is undoing', async () => {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    const plan = [{ id: 'ro', title: 'old master read-only', kind: 'action' as const, danger: 'destructive' as const, mutates: true, describe: ['SET GLOBAL read_only=1'] }];
    apply(stamp('r2', 0, { type: 'run-started', runbook: 'switchover', title: 'Switchover', cluster: 'db-a', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'x', seed: 1, speed: 1 }, params: {}, plan, preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} }));
    apply(stamp('r2', 0, { type: 'section', action: 'opened', name: 'writes stopped on db-1', stepId: 'ro', budgetMs: 30_000, deadlineVt: 30_000 }));
    const controller: RunController = { runId: 'r2', isStarted: true, start: () => {}, abort: () => {}, answer: () => {}, done: new Promise(() => {}) };
    const app = await renderInk(<RunScreen runId="r2" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    const frame = await app.waitForText('CRITICAL');
    expect(frame.split('\n')[0]).toContain('running · CRITICAL: writes stopped on db-1, budget 30 s');
    apply(stamp('r2', 1, { type: 'undo', action: 'started', fromStep: 'ro', status: 'failed', reason: 'critical section ran over its budget' }));
    const undoing = await app.waitForText('UNDOING');
    expect(undoing.split('\n')[0]).toContain('UNDOING: critical section ran over its budget');
  });
});

describe('run screen: what comes next', () => {
  /** A failover that ended with `have` replicas of `want`, as its journal says. */
  function finishedFailover(have: number, want: number) {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    const plan = [{ id: 'redundancy', title: 'redundancy left', kind: 'action' as const, danger: 'read' as const, mutates: false, describe: ['count the replicas'] }];
    apply(stamp('f1', 0, { type: 'run-started', runbook: 'failover', title: 'MySQL master failover', cluster: 'orders-db', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'master-down', seed: 1, speed: 1 }, params: {}, plan, preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} }));
    apply(stamp('f1', 0, { type: 'step-started', stepId: 'redundancy', attempt: 1, describe: ['count the replicas'] }));
    apply(stamp('f1', 0, { type: 'step-fact', stepId: 'redundancy', facts: { replicas: have, targetReplicas: want } }));
    apply(stamp('f1', 0, { type: 'step-finished', stepId: 'redundancy', status: 'ok', via: 'run', realMs: 1, virtualMs: 1 }));
    apply(stamp('f1', 0, { type: 'run-finished', status: 'succeeded', realMs: 10, virtualMs: 10 }));
    const controller: RunController = { runId: 'f1', isStarted: true, start: () => {}, abort: () => {}, answer: () => {}, done: Promise.resolve(undefined) };
    return { runs, controller };
  }

  it('a failover that left too few replicas offers rebuild: n opens its form for the cluster', async () => {
    const { runs, controller } = finishedFailover(1, 2);
    const onNext = vi.fn();
    const app = await renderInk(<RunScreen runId="f1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} onNext={onNext} />, { columns: 80, rows: 24 });
    await app.waitForText('n rebuild next');
    await app.press('n');
    await vi.waitFor(() => expect(onNext).toHaveBeenCalledWith('orders-db', 'rebuild'));
  });

  it('a failover that kept its redundancy offers nothing, and n does nothing', async () => {
    const { runs, controller } = finishedFailover(2, 2);
    const onNext = vi.fn();
    const app = await renderInk(<RunScreen runId="f1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} onNext={onNext} />, { columns: 80, rows: 24 });
    await app.waitForText('esc back');
    expect(app.lastFrame()).not.toContain('rebuild next');
    await app.press('n');
    expect(onNext).not.toHaveBeenCalled();
  });
});

/** The step line the cursor (›) is on. */
const cursorLine = (frame: string) => frame.replace(/\u001b\[[0-9;]*m/g, '').split('\n').find((l) => l.startsWith('›')) ?? '';
/** The frame without any white space: a long command wrapped over lines, read whole. */
const squeezed = (text: string) => text.replace(/\s+/g, '');
/** The job a step of the run started on its node, from the step's facts. */
const jobOf = (runs: ReturnType<typeof createRunsStore>, runId: string, stepId: string) => String(runs.getState().runs[runId]!.steps.find((s) => s.id === stepId)!.facts['job']);

describe('run screen: the cursor follows the run', () => {
  it('moved by hand it stays while the run is on the same step, then follows the step whose gate waits', async () => {
    const { app, controller, clock } = await setup({ cluster: 'ring-a', allOverdue: true });
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('Run this step on cass-2? [y/N]');
    expect(cursorLine(app.lastFrame())).toContain('2. nodetool repair -pr · cass-2');
    await app.press('y');
    await app.waitForText('Starting repair command');
    await app.press(keys.up);
    await vi.waitFor(() => expect(cursorLine(app.lastFrame())).toContain('1. pick the overdue nodes'));
    // The repair goes on (same step): the cursor stays where the operator put it.
    clock.advance(60_000);
    await app.waitForText('cass-2: keyspace ks · 25 %');
    expect(cursorLine(app.lastFrame())).toContain('1. pick the overdue nodes');
    void drive(clock, controller.done);
    const frame = await app.waitForText('◆ checkpoint');
    expect(cursorLine(frame)).toContain('4. 1 of 3 repaired; next: cass-3 [checkpoint]');
    await app.press('c');
    await vi.waitFor(() => expect(cursorLine(app.lastFrame())).toContain('5. nodetool repair -pr · cass-3'));
    controller.abort();
    await drive(clock, controller.done);
  });
});

describe('run screen: help, q and esc', () => {
  it('? shows every key of the screen; esc, ? or q closes it; q quits once nothing runs', async () => {
    const { app, onQuit, onBack } = await setup();
    await app.waitForText('plan: ⏎ to start');
    expect(app.lastFrame()).toContain('⏎ start  esc back  q quit  ? help');
    for (const close of ['?', 'q', keys.escape]) {
      await app.press('?');
      const help = await app.waitForText('Keys · run');
      expect(help).toContain('start the run');
      expect(help).toContain('back (the plan is dropped; nothing ran)');
      expect(help).toContain('quit nightshift');
      expect(help).toMatch(/ctrl-c\s+quit nightshift/);
      await app.press(close);
      await app.waitForText('plan: ⏎ to start');
    }
    expect(onQuit).not.toHaveBeenCalled();
    expect(onBack).not.toHaveBeenCalled();
    await app.press('q');
    await vi.waitFor(() => expect(onQuit).toHaveBeenCalledTimes(1));
    await app.press(keys.escape);
    await vi.waitFor(() => expect(onBack).toHaveBeenCalledTimes(1));
  });

  it('q on a running run asks first, naming the job on the node and how to check it; n returns, y aborts and the job is cancelled', async () => {
    const { app, controller, clock, onQuit, runs } = await setup();
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    await app.waitForText('Starting repair command');
    expect(app.lastFrame()).toContain('↑↓ step  x abort  ? help');
    await app.press('q');
    let frame = await app.waitForText(`Abort run ${controller.runId}?`);
    expect(frame).toContain('No step done so far has an undo: what was done stays as it is.');
    const job = jobOf(runs, controller.runId, 'repair');
    expect(squeezed(frame)).toContain(squeezed(`On the node: nodetool repair -pr on cass-2 (job ${job}) is cancelled; if the cancel fails it keeps running.`));
    const dir = `~/.nightshift/jobs/${job}`;
    expect(squeezed(frame)).toContain(squeezed(`check with: ssh -J bastion ec2-user@10.0.0.2 'cat ${dir}/pid ${dir}/exit; tail ${dir}/out'`));
    expect(frame).toContain('The lock on ring-a is released.');
    await app.press('n');
    await app.waitForText('x abort');
    expect(app.lastFrame()).not.toContain('Abort run');
    expect(runsStatus(app.lastFrame())).toBe('running');
    await app.press('q');
    await app.waitForText('Abort run');
    await app.press('y');
    expect((await drive(clock, controller.done))?.status).toBe('aborted');
    frame = await app.waitForText('its job was cancelled, it no longer runs');
    expect(frame).toContain('✓ nodetool repair -pr on cass-2: its job was cancelled, it no longer runs');
    expect(frame).not.toContain('may still run');
    expect(onQuit).not.toHaveBeenCalled();
  });

  it('an abort whose cancel fails says the repair may still run on the node, with the commands to check and to stop it, at 80x24', async () => {
    const { app, controller, clock, runs } = await setup({ cluster: 'ring-a' }, { failCancel: true, columns: 80 });
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    await app.waitForText('Starting repair command');
    await app.press('x');
    const asked = await app.waitForText('Abort run');
    expect(asked.split('\n').length).toBeLessThanOrEqual(23);
    expect(Math.max(...asked.split('\n').map((l) => Array.from(l).length))).toBeLessThanOrEqual(80);
    expect(asked).toContain('› No');
    await app.press('y');
    expect((await drive(clock, controller.done))?.status).toBe('aborted');
    const frame = await app.waitForText('may still run on cass-2');
    const dir = `~/.nightshift/jobs/${jobOf(runs, controller.runId, 'repair')}`;
    expect(squeezed(frame)).toContain(squeezed(`✗ may still run on cass-2: nodetool repair -pr on cass-2 (job ${jobOf(runs, controller.runId, 'repair')})`));
    expect(squeezed(frame)).toContain(squeezed(`check: ssh -J bastion ec2-user@10.0.0.2 'cat ${dir}/pid ${dir}/exit; tail ${dir}/out'`));
    expect(squeezed(frame)).toContain(squeezed(`stop: ssh -J bastion ec2-user@10.0.0.2 'kill -TERM -- -$(cut -d" " -f1 ${dir}/pid)'`));
    expect(frame.split('\n').length).toBeLessThanOrEqual(23);
    expect(frame).toContain('esc back');
  });

  it('the question names the undo that an abort runs, last step first', async () => {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    const plan = [
      { id: 'suspend', title: 'suspend AZRebalance', kind: 'action' as const, danger: 'caution' as const, mutates: true, describe: ['suspend'], compensation: ['resume AZRebalance'] },
      { id: 'ro', title: 'old master read-only', kind: 'action' as const, danger: 'destructive' as const, mutates: true, describe: ['SET GLOBAL read_only=1'], node: { id: 'i-1', name: 'db-1' }, compensation: ['SET GLOBAL read_only=0'] },
      { id: 'wait', title: 'wait for the candidate', kind: 'action' as const, danger: 'read' as const, mutates: false, describe: ['poll'] },
    ];
    apply(stamp('u1', 0, { type: 'run-started', runbook: 'switchover', title: 'Switchover', cluster: 'db-a', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'x', seed: 1, speed: 1 }, params: {}, plan, preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} }));
    for (const id of ['suspend', 'ro']) {
      apply(stamp('u1', 0, { type: 'step-started', stepId: id, attempt: 1, describe: [] }));
      apply(stamp('u1', 0, { type: 'step-finished', stepId: id, status: 'ok', via: 'run', realMs: 1, virtualMs: 1 }));
    }
    apply(stamp('u1', 0, { type: 'step-started', stepId: 'wait', attempt: 1, describe: [] }));
    const abort = vi.fn();
    const controller: RunController = { runId: 'u1', isStarted: true, start: () => {}, abort, answer: () => {}, done: new Promise(() => {}) };
    const app = await renderInk(<RunScreen runId="u1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    await app.waitForText('x abort');
    await app.press('x');
    const frame = await app.waitForText('Abort run u1?');
    expect(frame).toContain('Its undo runs: 2. old master read-only · db-1; 1. suspend AZRebalance.');
    expect(frame).not.toContain('On the node');
    await app.press(keys.escape);
    await app.waitForText('x abort');
    expect(abort).not.toHaveBeenCalled();
  });
});

function runsStatus(frame: string): string {
  return /· (\w+)/.exec(frame.split('\n')[0] ?? '')?.[1] ?? '';
}

describe('run screen at 80 columns: progress, ETA, commands and output wrap instead of being cut', () => {
  const words = (frame: string) => frame.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ');

  it('the running step\'s progress and ETA, its every command and its output read whole', async () => {
    const runs = createRunsStore();
    const apply = runs.getState().actions.apply;
    const command = 'on ring-03 (i-0abc123, 127.10.5.3): nohup nodetool -h 127.0.0.1 repair -pr --full --dc us-east keyspace_orders table_events > /var/tmp/nightshift/repair.log 2>&1 &';
    const check = 'poll the job: kill -0 $(cat /var/tmp/nightshift/repair.pid) && tail -n 5 /var/tmp/nightshift/repair.log';
    const plan = [
      { id: 'pick', title: 'pick the node to repair', kind: 'action' as const, danger: 'read' as const, mutates: false, describe: ['read the ring'] },
      { id: 'repair', title: 'nodetool repair -pr', kind: 'action' as const, danger: 'caution' as const, mutates: true, describe: [command, check], node: { id: 'i-3', name: 'ring-03' } },
    ];
    apply(stamp('p1', 0, { type: 'run-started', runbook: 'repair', title: 'Cassandra repair', cluster: 'timeline-ring', who: 'a@b', host: 'b', pid: 1, target: { kind: 'sim', scenario: 'repair-overdue', seed: 1, speed: 60 }, params: {}, plan, preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 60, state: {} }));
    apply(stamp('p1', 0, { type: 'step-started', stepId: 'pick', attempt: 1, describe: ['read the ring'] }));
    apply(stamp('p1', 0, { type: 'step-finished', stepId: 'pick', status: 'ok', via: 'run', realMs: 1, virtualMs: 1 }));
    apply(stamp('p1', 0, { type: 'step-started', stepId: 'repair', attempt: 1, describe: [command, check] }));
    const message = 'repairing keyspace_orders.table_events: 212 of 256 token ranges streamed from ring-01 and ring-05';
    apply(stamp('p1', 0, { type: 'step-progress', stepId: 'repair', percent: 83, message, etaMs: 3_600_000, etaRealMs: 60_000 }));
    const output = '[2026-11-21 01:02:03,456] Repair session 5f1e2d3c-aaaa-bbbb-cccc-0123456789ab for range [(-9223372036854775808,-4611686018427387904]] finished';
    apply(stamp('p1', 0, { type: 'step-output', stepId: 'repair', stream: 'stdout', text: output }));
    const controller: RunController = { runId: 'p1', isStarted: true, start: () => {}, abort: () => {}, answer: () => {}, done: new Promise(() => {}) };
    const app = await renderInk(<RunScreen runId="p1" runs={runs} controller={controller} width={80} height={24} isActive onBack={() => {}} />, { columns: 80, rows: 24 });
    const frame = await app.waitForText('Repair session');
    const text = words(frame);
    // The step list's line has no room for these at 80 columns; the detail under it has.
    expect(text).toContain(`◐ ${message} · 83 % · ETA 1m 00s (fleet 1h 00m)`);
    expect(text).toContain(`$ ${command}`);
    expect(text).toContain(`$ ${check}`);
    // Output is split by characters (a table's spacing survives): joined without the gutter, every character is there.
    const out = frame.split('\n').filter((l) => l.startsWith('│ ')).map((l) => l.slice(2)).join('');
    expect(out.replace(/\s/g, '')).toContain(output.replace(/\s/g, ''));
    // Only the step list's own line is cut, and what it cut is above.
    expect(frame.split('\n').filter((l) => l.includes('…'))).toEqual([expect.stringMatching(/^›◐ 2\. nodetool repair -pr · ring-03 \[caution\]  repairing .*…$/)]);
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(80);
  });
});
