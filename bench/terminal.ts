// An in-memory terminal for the benches: a TTY-looking stdout of a chosen
// size that counts and timestamps what Ink writes (nothing is kept, so the
// bench's own memory stays out of the figures), and a stdin that delivers
// one key the way a terminal would.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';

export class Terminal extends EventEmitter {
  readonly isTTY = true;
  writes = 0;
  /** performance.now() of the last write. */
  lastWriteAt = -Infinity;
  /** Times of the writes since the last clearMarks(). */
  marks: number[] = [];
  private waiters: Array<(at: number) => void> = [];

  constructor(
    public columns = 80,
    public rows = 24,
  ) {
    super();
  }

  write = (_chunk: string) => {
    this.writes++;
    const at = performance.now();
    this.lastWriteAt = at;
    if (this.marks.length < 10_000) this.marks.push(at);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f(at);
    return true;
  };

  /** Resolves with the time of the next write. */
  nextWrite(): Promise<number> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The screen tests' keyboard: each write() is one read, as from a terminal. */
export { FakeStdin as Keyboard } from '../test/helpers/fake-stdin.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
