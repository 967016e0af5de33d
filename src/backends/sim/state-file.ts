// Where the simulated world lives between processes: one JSON file per
// scenario and seed, written as the journal is (temp file, fsync, rename,
// fsync of the directory; mode 0600 in a 0700 directory), with
// a short cross-process critical section around read-modify-write so a repair
// finishing in one process and a tag written by another never lose each other.

import { closeSync, fstatSync, linkSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { makePrivateDir, writeFileDurably } from '../private-files.js';
import type { WorldState } from './state.js';

const SECTION_STALE_MS = 10_000;
const SECTION_WAIT_MS = 5_000;

export function simDir(stateDir: string): string {
  return join(stateDir, 'sim');
}

/** A world of several regions is another world than the one-region world of the same seed; a one-region world keeps the name it had before regions. */
export function worldName(scenario: string, seed: number, nodes: number | null, regions = 1): string {
  return `${safe(scenario)}-${seed}${nodes === null ? '' : `-n${nodes}`}${regions > 1 ? `-r${regions}` : ''}`;
}

export function statePathOf(stateDir: string, scenario: string, seed: number, nodes: number | null, regions = 1): string {
  return join(simDir(stateDir), `${worldName(scenario, seed, nodes, regions)}.json`);
}

export function lockDirOf(stateDir: string, scenario: string, seed: number, nodes: number | null, regions = 1): string {
  return join(simDir(stateDir), 'locks', worldName(scenario, seed, nodes, regions));
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** A --nodes or --regions variant of the world named `prefix`. */
function variant(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}-n`) || name.startsWith(`${prefix}-r`);
}

/** Deletes the world of this scenario and seed (every --nodes and --regions variant) and its locks. */
export function resetSimState(stateDir: string, scenario: string, seed: number): string[] {
  const dir = simDir(stateDir);
  const prefix = `${safe(scenario)}-${seed}`;
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (name === `${prefix}.json` || (variant(name, prefix) && name.endsWith('.json'))) {
      rmSync(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
  }
  const locks = join(dir, 'locks');
  try {
    for (const name of readdirSync(locks)) {
      if (name === prefix || variant(name, prefix)) rmSync(join(locks, name), { recursive: true, force: true });
    }
  } catch {
    // no locks yet
  }
  return removed;
}

/** Bumped on every write in this process, so two worlds in one process see each other at once. */
const localWrites = new Map<string, number>();

export class StateFile {
  private seenStamp: string | undefined;
  private seenLocal = 0;
  /** Its directory made private once, not on every write. */
  private dirReady = false;
  private statAt = -Infinity;
  private tmpCounter = 0;

  constructor(
    readonly path: string,
    /** How long a stat result is trusted, in real ms (keeps 5,000 probes per tick from stat-ing 5,000 times). */
    private readonly statEveryMs = 25,
    /** How long `exclusive` waits for a section held by a live process before it gives up. */
    private readonly sectionWaitMs = SECTION_WAIT_MS,
  ) {}

  read(): WorldState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    this.seenStamp = this.stamp();
    this.seenLocal = localWrites.get(this.path) ?? 0;
    try {
      return JSON.parse(text) as WorldState;
    } catch {
      throw new Error(`the simulated world in ${this.path} is damaged; start it afresh with: nightshift sim reset`);
    }
  }

  /** True when another world object or process wrote the file since we last read or wrote it. */
  changed(force = false): boolean {
    if ((localWrites.get(this.path) ?? 0) !== this.seenLocal) return true;
    const now = performance.now();
    if (!force && now - this.statAt < this.statEveryMs) return false;
    this.statAt = now;
    return this.stamp() !== this.seenStamp;
  }

  /** `durable: false` for a write that only moves the clock: a power cut may lose it, the next reader derives the time anyway. */
  write(state: WorldState, durable = true): void {
    if (!this.dirReady) {
      makePrivateDir(dirname(this.path));
      this.dirReady = true;
    }
    writeFileDurably(this.path, JSON.stringify(state), { sync: durable });
    const n = (localWrites.get(this.path) ?? 0) + 1;
    localWrites.set(this.path, n);
    this.seenLocal = n;
    this.seenStamp = this.stamp();
  }

  /** Runs `fn` holding the world's cross-process section lock; keep `fn` short and synchronous. */
  exclusive<T>(fn: () => T): T {
    const lock = `${this.path}.lock`;
    makePrivateDir(dirname(this.path));
    // The owner is in the file from its first instant (written aside, then
    // linked into place), so a waiter can always tell whose it is.
    const tmp = `${lock}.${process.pid}.${++this.tmpCounter}.tmp`;
    const ours = writeOwner(tmp);
    const started = performance.now();
    try {
      for (;;) {
        try {
          linkSync(tmp, lock);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const holder = readSectionLock(lock);
          if (holder && isAbandoned(holder)) {
            takeOver(lock, holder.ino);
            continue;
          }
          if (performance.now() - started > this.sectionWaitMs) {
            const who = holder?.pid !== undefined ? ` by pid ${holder.pid} on ${holder.host ?? 'this host'}` : '';
            throw new Error(
              `the simulated world ${this.path} stayed locked${who} for ${this.sectionWaitMs / 1000} s; if no other nightshift runs, delete ${lock}`,
            );
          }
          sleepSync(2);
        }
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    try {
      return fn();
    } finally {
      // Only our own: a lock taken over from us (we stalled past SECTION_STALE_MS) is someone else's now.
      if (inodeOf(lock) === ours) {
        try {
          unlinkSync(lock);
        } catch {
          // gone meanwhile
        }
      }
    }
  }

  private stamp(): string | undefined {
    try {
      const s = statSync(this.path);
      return `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
      return undefined;
    }
  }
}

/** Writes this process's name as a section's owner; returns the file's inode. */
function writeOwner(path: string): number {
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, `${process.pid} ${hostname()}\n`);
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

interface SectionHolder {
  ino: number;
  mtimeMs: number;
  pid?: number;
  host?: string;
}

function readSectionLock(path: string): SectionHolder | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const m = /^(\d+)(?: (\S+))?/.exec(readFileSync(fd, 'utf8'));
    return {
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      ...(m ? { pid: Number(m[1]) } : {}),
      ...(m?.[2] !== undefined ? { host: m[2] } : {}),
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * A section whose process is gone (SIGKILL, a crash) is free at once: its
 * owner can only be checked on this host (older files name no host: they were
 * written here). Anything else is free only once older than any section lasts.
 */
function isAbandoned(holder: SectionHolder): boolean {
  if (holder.pid !== undefined && (holder.host === undefined || holder.host === hostname()) && !isAlive(holder.pid)) return true;
  return Date.now() - holder.mtimeMs > SECTION_STALE_MS;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the abandoned lock `ino`, and only it: two waiters may judge the same
 * dead lock, and the slower must not delete the one the faster has taken since.
 * Renaming is atomic, so exactly one of them moves any given file aside; the
 * one that moved a live lock by mistake puts it back.
 */
function takeOver(lock: string, ino: number): void {
  const aside = `${lock}.${process.pid}.taken`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else moved it first
  }
  try {
    if (statSync(aside).ino !== ino) linkSync(aside, lock);
  } catch {
    // EEXIST: a third process took the section meanwhile; the one we moved has lost it
  } finally {
    rmSync(aside, { force: true });
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
