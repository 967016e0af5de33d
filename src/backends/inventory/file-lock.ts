// The per-cluster run lock for targets without a shared lock service: a file
// `<stateDir>/locks/<cluster>.lock` created with O_EXCL ('wx'), holding its
// owner as JSON. It guards runs from this machine (the bastion everyone uses),
// not from another machine with another state dir; the README says so.
// The directory is 0700 whatever the umask: who holds which cluster is the
// user's business.

import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterLabel, lockKey, type ScopedName } from '../../domain/scope.js';
import { makePrivateDir } from '../private-files.js';
import type { Lock, LockOwner, LockResult } from '../ports.js';

export class FileLock implements Lock {
  constructor(private readonly dir: string) {}

  private path(cluster: ScopedName): string {
    return join(this.dir, `${lockKey(cluster).replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  }

  async acquire(cluster: ScopedName, owner: LockOwner): Promise<LockResult> {
    makePrivateDir(this.dir);
    try {
      const handle = await open(this.path(cluster), 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { acquired: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const heldBy = await this.holder(cluster);
      // Released between our open and our read: try once more.
      if (!heldBy) return this.acquire(cluster, owner);
      return { acquired: false, heldBy };
    }
  }

  async holder(cluster: ScopedName): Promise<LockOwner | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(cluster), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const o = JSON.parse(text) as Partial<LockOwner>;
      if (typeof o.runId === 'string' && typeof o.owner === 'string' && typeof o.startedAt === 'string') {
        return { runId: o.runId, owner: o.owner, startedAt: o.startedAt };
      }
    } catch {
      /* fall through */
    }
    // A torn or foreign file still holds the lock: only a typed break removes it.
    return { runId: 'unreadable', owner: `unreadable lock file ${this.path(cluster)}`, startedAt: '' };
  }

  async release(cluster: ScopedName, runId: string): Promise<void> {
    const held = await this.holder(cluster);
    if (held?.runId === runId) await unlink(this.path(cluster)).catch(() => undefined);
  }

  async breakLock(cluster: ScopedName, runId: string): Promise<void> {
    const held = await this.holder(cluster);
    if (!held) return;
    if (held.runId !== runId) {
      throw new Error(`lock on ${cluster} is now held by run ${held.runId} (${held.owner}), not ${runId}; not broken`);
    }
    await unlink(this.path(cluster)).catch(() => undefined);
  }
}
