// Timeouts and retries on the fleet's clock, so a six-hour repair timeout
// means six virtual hours on the simulated fleet, and tests need no sleeps.

import type { Clock } from '../../backends/ports.js';
import { THROTTLING_NAMES } from '../../backends/aws/errors.js';
import type { RetryPolicy } from './types.js';

export class StepTimeoutError extends Error {
  override name = 'StepTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatDuration(timeoutMs)}`);
  }
}

/** An error worth retrying: a dropped connection, a throttled API call. */
export class TransientError extends Error {
  override name = 'TransientError';
  readonly transient = true;
}

/** A step's own failure, with what to do next in words. */
export class StepFailed extends Error {
  override name = 'StepFailed';
}

export class RunAborted extends Error {
  override name = 'RunAborted';
  constructor(reason = 'aborted by the operator') {
    super(reason);
  }
}

const TRANSIENT_CODES = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;
const TRANSIENT_NAMES = new Set(['TransientError', 'ServiceUnavailable', 'InternalError', ...THROTTLING_NAMES]);

/**
 * The one test of "worth another attempt" for every step: errors that say so
 * themselves (`transient` on TransientError and SshError, `isTransient` on
 * AwsError), socket error codes, and the AWS throttling names. A step's
 * isDone is asked before that attempt, so a retry never repeats an effect.
 */
export function isTransientDefault(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { transient?: unknown; isTransient?: unknown; code?: unknown; name?: unknown };
  if (e.transient === true || e.isTransient === true) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.test(e.code)) return true;
  return typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name);
}

/**
 * Runs `fn` with a signal that aborts when the parent does or when `timeoutMs`
 * of fleet time pass. The wait ends on either even if `fn` ignores its signal;
 * the timer is cancelled as soon as anything settles.
 */
export async function withTimeout<T>(
  clock: Clock,
  timeoutMs: number | undefined,
  parent: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
  /** Fleet-clock ms the work may take, once stopped, to clean up and say what became of it. */
  cleanupGraceMs = 0,
): Promise<T> {
  const timer = new AbortController();
  const settled = new AbortController();
  const signal = AbortSignal.any([parent, timer.signal]);
  const work = fn(signal);
  const racers: Array<Promise<T>> = [work];
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    const timeout = new StepTimeoutError(timeoutMs);
    racers.push(
      clock.sleep(timeoutMs, AbortSignal.any([settled.signal, parent])).then(
        () => {
          timer.abort(timeout);
          throw timeout;
        },
        () => new Promise<never>(() => {}),
      ),
    );
  }
  racers.push(
    new Promise<never>((_resolve, reject) => {
      const onAbort = () => reject(parent.reason instanceof Error ? parent.reason : new RunAborted());
      if (parent.aborted) return onAbort();
      parent.addEventListener('abort', onAbort, { once: true });
      settled.signal.addEventListener('abort', () => parent.removeEventListener('abort', onAbort), { once: true });
    }),
  );
  try {
    return await Promise.race(racers);
  } catch (err) {
    if (!signal.aborted || cleanupGraceMs <= 0) throw err;
    // Stopped from outside: the work gets a moment to clean up after itself (cancel a
    // remote job) and say what became of it, which beats the bare reason.
    const said = await Promise.race([
      work.then(
        () => undefined,
        (e: unknown) => e,
      ),
      clock.sleep(cleanupGraceMs).then(
        () => undefined,
        () => undefined,
      ),
    ]);
    throw said instanceof Error && said.message.includes(err instanceof Error ? err.message : String(err)) ? said : err;
  } finally {
    settled.abort();
  }
}


export interface RetryHooks {
  onRetry(attempt: number, err: unknown, delayMs: number): void;
}

/** Runs `fn` up to policy.attempts times, backing off on the fleet clock between transient failures. */
export async function withRetry<T>(
  clock: Clock,
  policy: RetryPolicy | undefined,
  signal: AbortSignal,
  hooks: RetryHooks,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  const attempts = Math.max(1, policy?.attempts ?? 1);
  const isTransient = policy?.isTransient ?? isTransientDefault;
  let delay = policy?.backoffMs ?? 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal.aborted || attempt >= attempts || !isTransient(err)) throw err;
      hooks.onRetry(attempt, err, delay);
      await clock.sleep(delay, signal);
      delay *= 2;
    }
  }
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m ${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
