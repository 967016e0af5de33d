// Bounded, abortable polling on the backend's clock, so the simulated clock
// in tests makes hour-long waits (snapshots) take milliseconds.

import type { Clock } from '../ports.js';
import { AwsError } from './errors.js';

export interface PollOptions {
  clock: Clock;
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** What is awaited, for the timeout sentence: "volume vol-1 to attach". */
  what: string;
  /** Wait this long before the first check, when an immediate one is known to be wasted. */
  firstCheckAfterMs?: number;
}

/** Calls `check` until it returns a value (not undefined), the timeout passes, or the signal aborts. */
export async function pollUntil<T>(opts: PollOptions, check: () => Promise<T | undefined>): Promise<T> {
  const started = opts.clock.now();
  if (opts.firstCheckAfterMs) await sleep(opts, opts.firstCheckAfterMs);
  for (;;) {
    throwIfAborted(opts.signal, opts.what);
    const value = await check();
    if (value !== undefined) return value;
    const waited = opts.clock.now() - started;
    if (waited >= opts.timeoutMs) {
      throw new AwsError(
        'WaitTimeout',
        'timeout',
        `gave up waiting for ${opts.what} after ${Math.round(waited / 1000)} s: check it in the AWS console before retrying`,
        'wait',
      );
    }
    await sleep(opts, Math.min(opts.intervalMs, opts.timeoutMs - waited));
  }
}

/**
 * Runs an idempotent call again while AWS throttles it, beyond the SDK's own
 * few quick retries, backing off on the backend's clock. A fence or a record
 * swap is wanted most during an incident, when every tool in the account is
 * calling the API: failing the step on a busy API would leave the operator to
 * retry by hand what a short wait would have done.
 */
export async function retryThrottled<T>(
  opts: { clock: Clock; signal?: AbortSignal; what: string; timeoutMs?: number },
  fn: () => Promise<T>,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? THROTTLE_RETRY_MS;
  const started = opts.clock.now();
  let delay = THROTTLE_FIRST_DELAY_MS;
  for (;;) {
    throwIfAborted(opts.signal, opts.what);
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof AwsError) || err.kind !== 'throttled') throw err;
      const waited = opts.clock.now() - started;
      if (waited + delay > timeoutMs) {
        throw new AwsError(
          err.code,
          'throttled',
          `AWS kept throttling ${err.action}${err.region ? ` in ${err.region}` : ''} (${err.code}) while ${opts.what}, for ${Math.round(waited / 1000)} s: the call was not carried out; retry the step when the rate drops`,
          err.action,
          err.requestId,
          err.region,
          { cause: err },
        );
      }
      await sleep({ clock: opts.clock, intervalMs: delay, timeoutMs, what: opts.what, ...(opts.signal ? { signal: opts.signal } : {}) }, delay);
      delay = Math.min(delay * 2, THROTTLE_MAX_DELAY_MS);
    }
  }
}

/** How long a throttled mutating call is retried: long enough to ride out a burst, short next to a step's timeout. */
const THROTTLE_RETRY_MS = 2 * 60_000;
const THROTTLE_FIRST_DELAY_MS = 2_000;
const THROTTLE_MAX_DELAY_MS = 20_000;

async function sleep(opts: PollOptions, ms: number): Promise<void> {
  await opts.clock.sleep(ms, opts.signal).catch((err: unknown) => {
    throwIfAborted(opts.signal, opts.what);
    throw err;
  });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AwsError('AbortError', 'aborted', `stopped waiting for ${what}: cancelled`, 'wait');
}

/** Real time, for a live fleet. */
export const realClock: Clock = {
  speed: 1,
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
