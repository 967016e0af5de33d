// The state dir (journals, locks, tags, the simulated world) is made and
// tried once at start, so a place nightshift cannot write is one clear line
// and exit 2 before anything runs, not a run that fails at its first journal
// record (or, in /proc, a recursive mkdir that never returns).

import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { makePrivateDir } from '../backends/private-files.js';

/** Why `dir` cannot be the state dir, or undefined when it is made (0700 if new) and writable. */
export function stateDirProblem(dir: string): string | undefined {
  const path = resolve(dir);
  const existing = nearestExisting(path);
  if (existing.problem) return existing.problem;
  if (!existing.isDirectory) {
    return existing.path === path ? 'it is a file, not a directory' : `${existing.path} is a file, not a directory`;
  }
  if (existing.path !== path) {
    try {
      makePrivateDir(path);
    } catch (err) {
      const failed = (err as NodeJS.ErrnoException).path ?? path;
      return `cannot create ${failed}: ${errnoText(err, dirname(failed))}`;
    }
  }
  // A file made and removed: the only test that holds for root, read-only mounts and /proc alike.
  const probe = resolve(path, `.nightshift-write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (err) {
    return `cannot write in it: ${errnoText(err, path)}`;
  }
  return undefined;
}

function nearestExisting(path: string): { path: string; isDirectory: boolean; problem?: string } {
  for (let at = path; ; at = dirname(at)) {
    try {
      return { path: at, isDirectory: statSync(at).isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file; the walk up reaches it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { path: at, isDirectory: false, problem: `cannot look at ${at}: ${errnoText(err, at)}` };
      if (dirname(at) === at) return { path: at, isDirectory: false, problem: `${at} does not exist` };
    }
  }
}

function errnoText(err: unknown, parent: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.code})`;
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'ENOENT':
      // The parent is there (the walk found it): its file system takes no new entries, as /proc and /sys do not.
      return `${parent} takes no new files or directories (ENOENT; a special file system such as /proc?)`;
    case 'ENOTDIR':
      return `a part of the path is a file, not a directory (ENOTDIR)`;
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    default:
      return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
  }
}
