// The simulated fleet's clock: virtual time = anchor + real elapsed × speed.
// Sleeps are kept on a virtual deadline, so `advance()` (tests, `--speed`)
// wakes exactly the sleepers that are due, and a sleeper whose deadline has
// already passed resolves at once, in a microtask: one big advance runs a whole
// simulated repair through without a single real timer firing.

import type { Clock } from '../ports.js';

interface Sleeper {
  deadline: number;
  resolve: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

export class VirtualClock implements Clock {
  private anchor: { virtual: number; real: number };
  private readonly sleepers = new Set<Sleeper>();

  constructor(
    virtualNow: number,
    readonly speed: number,
    private readonly realNow: () => number,
  ) {
    if (!(speed > 0)) throw new RangeError(`speed must be positive, got ${speed}`);
    this.anchor = { virtual: virtualNow, real: realNow() };
  }

  now(): number {
    return Math.floor(this.anchor.virtual + (this.realNow() - this.anchor.real) * this.speed);
  }

  /** Moves virtual time forward by `ms` and wakes whoever is due. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('virtual time does not go backwards');
    this.anchor = { virtual: this.anchor.virtual + ms, real: this.anchor.real };
    this.wake();
  }

  /** Catches up with a time another process saw; never goes backwards. */
  catchUp(virtualNow: number): void {
    if (virtualNow <= this.now()) return;
    this.anchor = { virtual: virtualNow, real: this.realNow() };
    this.wake();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.now() + Math.max(0, ms), signal);
  }

  sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    // Already past: resolve on the next macrotask, not in a microtask. The world reads one
    // instant per turn; a caller looping on `world.now()` (waitReady, a snapshot's wait) would
    // otherwise see the same instant for ever and spin with the event loop blocked.
    if (this.now() >= deadline) return new Promise<void>((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.drop(sleeper);
        reject(abortError(signal!));
      };
      const sleeper: Sleeper = {
        deadline,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.add(sleeper);
      this.arm(sleeper);
    });
  }

  /** Sleepers still waiting (tests use it to know a command is parked on the clock). */
  get pending(): number {
    return this.sleepers.size;
  }

  dispose(): void {
    for (const s of this.sleepers) if (s.timer) clearTimeout(s.timer);
    this.sleepers.clear();
  }

  private arm(s: Sleeper): void {
    if (s.timer) clearTimeout(s.timer);
    const realMs = Math.max(0, (s.deadline - this.now()) / this.speed);
    // A real clock that does not move (tests inject one) would otherwise spin.
    s.timer = setTimeout(() => this.fire(s), Math.min(Math.ceil(realMs), 2 ** 31 - 1));
  }

  private fire(s: Sleeper): void {
    if (!this.sleepers.has(s)) return;
    if (this.now() >= s.deadline) {
      this.drop(s);
      s.resolve();
    } else {
      this.arm(s);
    }
  }

  private wake(): void {
    const now = this.now();
    for (const s of [...this.sleepers]) {
      if (now >= s.deadline) {
        this.drop(s);
        s.resolve();
      } else {
        this.arm(s);
      }
    }
  }

  private drop(s: Sleeper): void {
    if (s.timer) clearTimeout(s.timer);
    this.sleepers.delete(s);
  }
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'The operation was aborted');
  err.name = 'AbortError';
  return err;
}
