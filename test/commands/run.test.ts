// The headless commands over an in-test Cassandra ring (test/actions/helpers.ts).
// The process test (run-process.test.ts) drives the real CLI on the simulated fleet.

import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { journalPath } from '../../src/actions/engine/journal.js';
import { describe, expect, it, vi } from 'vitest';
import type { Backends } from '../../src/backends/ports.js';
import type { CommandContext } from '../../src/commands/types.js';
import { runCommand } from '../../src/commands/run.js';
import { runsCommand } from '../../src/commands/runs.js';
import { showCommand } from '../../src/commands/show.js';
import { resumeCommand } from '../../src/commands/resume.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { CommandFailed } from '../../src/errors.js';
import { drive, MemoryLock } from '../actions/helpers.js';
import { commandEnv as env } from '../helpers/command-env.js';

describe('nightshift run repair', () => {
  it('prints the plan, the streamed output and the outcome as lines, and exits 0', async () => {
    const e = env();
    const outcome = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true }));
    expect(outcome.status).toBe('succeeded');
    const text = e.output();
    expect(text).toContain('REHEARSAL · simulated fleet');
    expect(text).toContain('2. nodetool repair -pr · cass-2  [caution]');
    expect(text).toContain('$ on cass-2 (i-002, 10.0.0.2): nodetool repair -pr');
    expect(text).toContain('│ [2026-11-21 01:05:00,000] Repair command #1 finished in 4 minutes 0 seconds');
    expect(text).toMatch(/run \S+ succeeded in/);
  });

  it('fails (exit 1) when stopped at a gate, naming the flag', async () => {
    const e = env();
    const err = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a' })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).exitCode).toBe(1);
    expect((err as Error).message).toContain('pass --yes');
  });

  it('--dry-run prints the full plan and changes nothing', async () => {
    const e = env();
    const before = structuredClone(e.ring.instances);
    await runCommand(e.ctx, 'repair', { cluster: 'ring-a', dryRun: true });
    expect(e.output()).toContain('dry run: nothing was changed');
    expect(e.output()).toContain('nodetool repair -pr');
    expect(e.ring.instances).toEqual(before);
    expect(e.ring.commands.every((c) => c.command.endsWith('status'))).toBe(true);
    expect(e.lock.log).toEqual([]);
  });

  it('read-only stops at the plan with a clear word, before any lock or journal, and exits 0', async () => {
    const e = env();
    const before = structuredClone(e.ring.instances);
    const ctx = { ...e.ctx, loadConfig: async () => ({ ...(await e.ctx.loadConfig()), readOnly: true }) };
    const outcome = await runCommand(ctx, 'repair', { cluster: 'ring-a', yes: true });
    expect(outcome.status).toBe('succeeded');
    expect(e.output()).toContain('nodetool repair -pr');
    expect(e.output().split('\n')[0]).toMatch(/^REHEARSAL · .* · READ-ONLY$/);
    expect(e.output()).toContain('read-only: nothing will change; this is the plan');
    expect(e.output()).not.toContain('started by');
    expect(e.ring.instances).toEqual(before);
    expect(e.ring.commands.every((c) => c.command.endsWith('status'))).toBe(true);
    expect(e.lock.log).toEqual([]);
    expect(existsSync(journalPath(e.stateDir, outcome.runId))).toBe(false);
  });

  it('--json prints one JSON record per line', async () => {
    const e = env();
    await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, json: true }));
    const lines = e.output().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { type: string });
    expect(records[0]!.type).toBe('planned');
    expect(records.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded' });
  });

  it('a second run on the same cluster is refused, naming the first', async () => {
    const e = env();
    e.ring.holdRepair = new Promise(() => {});
    // The first run parks in its repair (nobody advances the clock) while holding the lock.
    void runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true }).catch(() => {});
    await vi.waitFor(() => expect(e.lock.held.get('ring-a')).toBeDefined());
    const holder = e.lock.held.get('ring-a')!;
    const err = await runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as Error).message).toContain(
      `refused: cluster ring-a is locked by run ${holder.runId} (${holder.owner}, started ${holder.startedAt}): it is still running (pid ${process.pid} on this host)`,
    );
    expect(e.lock.held.get('ring-a')).toEqual(holder);
  });

  it('`runs` lists history and `show --markdown` tells the story with durations', async () => {
    const e = env();
    const outcome = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true, targetMinutes: '30' }));
    e.reset();
    const runs = await runsCommand(e.ctx, {});
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: outcome.runId, runbook: 'repair', cluster: 'ring-a', status: 'succeeded' });
    expect(e.output()).toContain(outcome.runId);
    e.reset();
    const md = await showCommand(e.ctx, outcome.runId.slice(0, 20), { markdown: true });
    expect(md).toContain(`# Cassandra repair on ring-a: run ${outcome.runId}`);
    expect(md).toMatch(/\| 2 \| nodetool repair -pr \| cass-2 \| ✓ ok \| .* \| 4m 02s \|/);
    // (the repair polls its job at 1, 3 and 7 s, then every 5 s: it is seen done at 4m 02s)
    expect(md).toContain('**Target recovery time:** 30m 00s; met: 4m 02s (13 % of it)');
    expect(md).toContain('gate caution (step 2): approved by --yes');
    // A tag write passes no gate but changes the world: the postmortem says both.
    expect(md).toContain('### 3. tag last-repaired · cass-2 [changes, no gate]');
    expect(md).toContain('### 1. pick the node to repair [read]');
  });

  it('`resume` with nothing interrupted says so', async () => {
    const e = env();
    expect(await resumeCommand(e.ctx, undefined, {})).toBeUndefined();
    expect(e.output()).toContain('nothing to resume');
  });
});
