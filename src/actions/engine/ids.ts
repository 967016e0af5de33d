// Run ids and who is running: the journal's file name and the lock's owner.

import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';

/** `20261121-233601-repair-3f9a`: sorts by start time, says what it is, and is unique enough per host. */
export function newRunId(runbook: string, now: Date = new Date()): string {
  const iso = now.toISOString();
  const stampPart = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  const name = runbook.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'run';
  return `${stampPart}-${name}-${randomBytes(2).toString('hex')}`;
}

/** Run ids are file names: nothing that could climb out of the runs directory. */
export function isValidRunId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) && !id.includes('..');
}

export function currentHost(): string {
  return hostname();
}

/** user@host, as the lock and the journal name the operator. */
export function currentUser(): string {
  let user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry in some containers: keep the environment's word */
  }
  return `${user}@${hostname()}`;
}

/** True when a process with this pid exists on this host (signal 0 only checks). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
