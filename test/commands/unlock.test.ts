// `nightshift unlock`: the way out the engine names when a run could not
// release its lock; never a way to break a lock a live run holds.

import type { ScopedName } from '../../src/domain/scope.js';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/commands/run.js';
import { unlockCommand } from '../../src/commands/unlock.js';
import { CommandFailed, UsageError } from '../../src/errors.js';
import { drive, MemoryLock } from '../actions/helpers.js';
import { commandEnv } from '../helpers/command-env.js';

/** A lock whose release fails (AWS throttling every call) until told otherwise. */
class StuckLock extends MemoryLock {
  isStuck = true;
  override async release(cluster: ScopedName, runId: string): Promise<void> {
    if (this.isStuck) throw new Error('AWS is throttling: Rate exceeded');
    return super.release(cluster, runId);
  }
}

describe('nightshift unlock', () => {
  it('after a run that could not release its lock: exit non-zero, then unlock clears it with the typed name', async () => {
    const lock = new StuckLock();
    const e = commandEnv({ lock });
    const err = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as Error).message).toMatch(/succeeded-lock-held: every step succeeded, but the lock on cluster ring-a is still held/);
    expect((err as Error).message).toContain('nightshift unlock ring-a --confirm ring-a');
    expect(lock.held.has('ring-a')).toBe(true);
    // The next run is refused while it stays.
    e.reset();
    const refused = await drive(e.clock, runCommand(e.ctx, 'repair', { cluster: 'ring-a', yes: true })).catch((x: unknown) => x);
    expect((refused as Error).message).toMatch(/refused: cluster ring-a is locked by run/);

    lock.isStuck = false;
    await expect(unlockCommand(e.ctx, 'ring-a', {})).rejects.toThrow(UsageError);
    expect(lock.held.has('ring-a')).toBe(true);
    await unlockCommand(e.ctx, 'ring-a', { confirm: 'ring-a' });
    expect(lock.held.has('ring-a')).toBe(false);
    expect(e.output()).toContain('lock of run');
  });

  it('never breaks the lock of a run that is still running on this host', async () => {
    const e = commandEnv();
    // This very process "holds" it: its journal says running, with our pid.
    await e.lock.acquire({ name: 'ring-a' }, { runId: 'run-live', owner: 'bob@bastion', startedAt: '2026-11-21T01:00:00Z' });
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { hostname } = await import('node:os');
    mkdirSync(join(e.stateDir, 'runs'), { recursive: true });
    const started = { v: 1, runId: 'run-live', t: '2026-11-21T01:00:00Z', vt: 0, type: 'run-started', runbook: 'repair', title: 'x', cluster: 'ring-a', who: 'bob@bastion', host: hostname(), pid: process.pid, target: { kind: 'sim', scenario: 't', seed: 1, speed: 1 }, params: {}, plan: [], preflight: [], startedAt: '2026-11-21T01:00:00Z', speed: 1, state: {} };
    writeFileSync(join(e.stateDir, 'runs', 'run-live.jsonl'), JSON.stringify(started) + '\n');
    await expect(unlockCommand(e.ctx, 'ring-a', { confirm: 'ring-a' })).rejects.toThrow(/still running \(pid \d+ on this host\); it is not broken/);
    expect(e.lock.held.has('ring-a')).toBe(true);
  });

  it('says so when there is nothing to clear, and refuses a lock held by another run than named', async () => {
    const e = commandEnv();
    await unlockCommand(e.ctx, 'ring-a', { confirm: 'ring-a' });
    expect(e.output()).toContain('is not locked');
    await e.lock.acquire({ name: 'ring-a' }, { runId: 'run-other', owner: 'x@y', startedAt: '2026-11-21T01:00:00Z' });
    await expect(unlockCommand(e.ctx, 'ring-a', { confirm: 'ring-a', run: 'run-mine' })).rejects.toThrow(/not by run run-mine/);
  });
});
