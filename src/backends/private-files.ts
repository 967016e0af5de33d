// Directories and files nightshift keeps under the state dir (locks, tags of
// a static inventory, the simulated world): private to the user whatever the
// umask, and written so that a crash or a power cut leaves the old file or the
// new one, never an empty or half one, as the journal is.

import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

let tmpCounter = 0;

/**
 * Makes `dir` (and any missing parent) mode 0700, one level at a time: Node's
 * recursive mkdir never returns where a file system refuses new entries with
 * ENOENT (`/proc/x`), and this says which level failed. The mode is set with
 * chmod, as mkdir's passes through the umask.
 */
export function makePrivateDir(dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a level above is a file; the walk up reaches it and names it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      missing.push(at);
      const up = dirname(at);
      if (up === at) break;
      at = up;
      continue;
    }
    if (!isDir) throw Object.assign(new Error(`ENOTDIR: not a directory: ${at}`), { code: 'ENOTDIR', path: at });
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (const d of missing.length > 0 ? missing : [resolve(dir)]) {
    if ((statSync(d).mode & 0o777) !== 0o700) chmodSync(d, 0o700);
  }
}

/**
 * Replaces `path` with `data`, mode 0600: written aside, fsynced, renamed over
 * the old file, then the directory fsynced so the rename itself survives a
 * power cut. A crash at any point leaves the old content or the new.
 * `sync: false` keeps the rename (a killed process still leaves one whole
 * file) but not the fsyncs: for a write a power cut may lose at no cost.
 */
export function writeFileDurably(path: string, data: string, opts: { sync?: boolean } = {}): void {
  const sync = opts.sync ?? true;
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, data);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (sync) syncDir(dirname(path));
}

/** Fsyncs a directory, so a new or renamed entry in it survives a power cut; best effort, as not every platform allows it. */
export function syncDir(dir: string): void {
  // Not every platform can fsync a directory; the file's own fsync is the part that matters most.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}
