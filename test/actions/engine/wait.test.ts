import { describe, expect, it } from 'vitest';
import { fallingProgress, waitFor } from '../../../src/actions/engine/wait.js';
import { StepFailed, TransientError } from '../../../src/actions/engine/timing.js';
import type { Progress } from '../../../src/actions/engine/types.js';
import { drive, TestClock } from '../helpers.js';

describe('waitFor on the fleet clock', () => {
  it('checks every interval until done, reporting progress, and returns the value', async () => {
    const clock = new TestClock();
    const t0 = clock.now();
    let lag = 300;
    const seen: Progress[] = [];
    const value = await drive(
      clock,
      waitFor({
        clock,
        signal: new AbortController().signal,
        what: 'db-4 to catch up',
        timeoutMs: 3_600_000,
        intervalMs: 10_000,
        onProgress: (p) => seen.push(p),
        check: async () => {
          lag = Math.max(0, lag - 60);
          return lag === 0 ? { done: true, value: 'caught up' } : { done: false, progress: fallingProgress(300, lag, 0, `lag ${lag} s`) };
        },
      }),
    );
    expect(value).toBe('caught up');
    expect(clock.now() - t0).toBe(40_000);
    expect(seen.map((p) => Math.round(p.percent!))).toEqual([20, 40, 60, 80]);
  });

  it('gives up past the timeout naming what it waited for and the last state', async () => {
    const clock = new TestClock();
    const err = await drive(
      clock,
      waitFor({
        clock,
        signal: new AbortController().signal,
        what: 'snapshot snap-1',
        timeoutMs: 60_000,
        intervalMs: 15_000,
        check: async () => ({ done: false, progress: { percent: 12, message: 'snapshot 12 %' } }),
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as Error).message).toBe('gave up waiting for snapshot snap-1 after 1m 00s; last seen: snapshot 12 %');
  });

  it('rides out passing errors, but not a run of them nor a real one', async () => {
    const clock = new TestClock();
    let n = 0;
    const ok = await drive(
      clock,
      waitFor({
        clock,
        signal: new AbortController().signal,
        what: 'x',
        timeoutMs: 600_000,
        intervalMs: 1_000,
        check: async () => {
          n += 1;
          if (n <= 2) throw new TransientError('connection reset');
          return { done: true, value: n };
        },
      }),
    );
    expect(ok).toBe(3);
    const failing = (err: Error, max?: number) =>
      drive(
        clock,
        waitFor({
          clock,
          signal: new AbortController().signal,
          what: 'x',
          timeoutMs: 600_000,
          intervalMs: 1_000,
          ...(max !== undefined ? { maxErrorsInARow: max } : {}),
          check: async () => {
            throw err;
          },
        }),
      ).catch((e: unknown) => e);
    expect(await failing(new TransientError('reset'), 3)).toMatchObject({ message: 'reset' });
    expect(await failing(new Error('access denied'))).toMatchObject({ message: 'access denied' });
  });
});
