// Waiting for the world to reach a state, on the fleet's clock: a replica's
// lag reaching zero, a snapshot completing, a replacement instance joining
// the ring. One helper for every runbook, so every wait is bounded, shows
// progress with an ETA, survives a passing error, and says what it waited
// for when it gives up.

import type { Backends, Clock } from '../../backends/ports.js';
import type { Instance } from '../../domain/types.js';
import { errorMessage, formatDuration, isTransientDefault, StepFailed } from './timing.js';
import type { Progress } from './types.js';

export type WaitCheck<T> = { done: true; value: T } | { done: false; progress?: Progress };

export interface WaitOptions<T> {
  clock: Clock;
  signal: AbortSignal;
  /** What is waited for, in words: "db-4 to catch up". */
  what: string;
  /** Asks the world once; read-only. */
  check: (signal: AbortSignal) => Promise<WaitCheck<T>>;
  /** Fleet-clock ms before giving up. */
  timeoutMs: number;
  /** Fleet-clock ms between checks. */
  intervalMs: number;
  /** Where progress goes (a step's ctx.progress, which adds the ETA). */
  onProgress?: (progress: Progress) => void;
  /** Passing errors of the check (a dropped connection) tolerated in a row before the wait fails. */
  maxErrorsInARow?: number;
}

/** Resolves with the check's value once it says done; fails past the timeout, naming the last state seen. */
export async function waitFor<T>(opts: WaitOptions<T>): Promise<T> {
  const { clock, signal } = opts;
  const deadline = clock.now() + opts.timeoutMs;
  const maxErrors = opts.maxErrorsInARow ?? 5;
  let errors = 0;
  let last = 'no answer yet';
  for (;;) {
    try {
      const result = await opts.check(signal);
      errors = 0;
      if (result.done) return result.value;
      if (result.progress) {
        opts.onProgress?.(result.progress);
        if (result.progress.message) last = result.progress.message;
      }
    } catch (err) {
      if (signal.aborted || !isTransientDefault(err) || ++errors >= maxErrors) throw err;
      last = `check failed (${errors} in a row): ${errorMessage(err)}`;
    }
    const left = deadline - clock.now();
    if (left <= 0) throw new StepFailed(`gave up waiting for ${opts.what} after ${formatDuration(opts.timeoutMs)}; last seen: ${last}`);
    await clock.sleep(Math.min(opts.intervalMs, left), signal);
  }
}

/**
 * Progress for a quantity falling to a goal (lag to 0, bytes left to copy):
 * the share of the way from where it was first seen, so the ETA follows the slope.
 */
export function fallingProgress(first: number, now: number, goal = 0, message?: string): Progress {
  const span = Math.max(first - goal, 1e-9);
  const done = Math.min(Math.max(first - now, 0), span);
  return { percent: (100 * done) / span, ...(message !== undefined ? { message } : {}) };
}

/** A new instance answers `true` over SSH: its sshd is up and its host key known (bounded; errors are expected while it boots). */
export async function waitForSsh(backends: Pick<Backends, 'clock' | 'shell'>, node: Instance, signal: AbortSignal): Promise<void> {
  await waitFor({
    clock: backends.clock,
    signal,
    what: `${node.name} to answer over SSH`,
    timeoutMs: 10 * 60_000,
    intervalMs: 10_000,
    maxErrorsInARow: 1_000,
    check: async (s) => ((await backends.shell.exec(node, 'true', { signal: s, timeoutMs: 20_000, readOnly: true })).code === 0 ? { done: true, value: true } : { done: false }),
  });
}
