// The Lock port on the simulated fleet: one lock file per cluster, created
// atomically (written aside, then hard-linked into place, which fails if the
// file exists), so two processes rehearsing on the same world exclude each other.

import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterLabel, lockKey, type ScopedName } from '../../domain/scope.js';
import { makePrivateDir } from '../private-files.js';
import type { CallOptions, Lock, LockOwner, LockResult } from '../ports.js';

export class SimLockError extends Error {
  override name = 'LockError';
}

export class SimLock implements Lock {
  private counter = 0;

  constructor(private readonly dir: string) {}

  async acquire(cluster: ScopedName, owner: LockOwner, opts?: CallOptions): Promise<LockResult> {
    opts?.signal?.throwIfAborted();
    makePrivateDir(this.dir);
    const path = this.pathOf(cluster);
    const tmp = `${path}.${process.pid}.${++this.counter}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ runId: owner.runId, owner: owner.owner, startedAt: owner.startedAt })}\n`, { mode: 0o600 });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, path);
          return { acquired: true };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const heldBy = this.read(path);
          if (heldBy) return { acquired: false, heldBy };
          // Released between our link and our read: try again, a few times.
          if (attempt >= 3) throw new SimLockError(`the lock of ${clusterLabel(cluster)} (${path}) is unreadable; delete it if no run holds it`);
        }
      }
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }

  async release(cluster: ScopedName, runId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const path = this.pathOf(cluster);
    if (this.read(path)?.runId !== runId) return;
    try {
      unlinkSync(path);
    } catch {
      // released meanwhile
    }
  }

  async holder(cluster: ScopedName, opts?: CallOptions): Promise<LockOwner | undefined> {
    opts?.signal?.throwIfAborted();
    return this.read(this.pathOf(cluster));
  }

  async breakLock(cluster: ScopedName, runId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const path = this.pathOf(cluster);
    const held = this.read(path);
    if (!held) return;
    if (held.runId !== runId) {
      throw new SimLockError(`the lock of ${clusterLabel(cluster)} is now held by run ${held.runId} (${held.owner}, since ${held.startedAt}), not ${runId}; not broken`);
    }
    try {
      unlinkSync(path);
    } catch {
      // released meanwhile
    }
  }

  private pathOf(cluster: ScopedName): string {
    return join(this.dir, `${encodeURIComponent(lockKey(cluster))}.lock`);
  }

  private read(path: string): LockOwner | undefined {
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
      if (typeof data.runId !== 'string' || typeof data.owner !== 'string' || typeof data.startedAt !== 'string') return undefined;
      return { runId: data.runId, owner: data.owner, startedAt: data.startedAt };
    } catch {
      return undefined;
    }
  }
}
