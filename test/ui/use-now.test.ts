import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTicker } from '../../src/ui/use-now.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('createTicker', () => {
  it('tells every listener in the same tick, so the parts showing an age draw in one frame', () => {
    vi.useFakeTimers();
    const ticker = createTicker(1000);
    const seen: string[] = [];
    ticker.subscribe(() => seen.push(`header ${ticker.getSnapshot()}`));
    ticker.subscribe(() => seen.push(`screen ${ticker.getSnapshot()}`));
    vi.advanceTimersByTime(999);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(['header 1', 'screen 1']);
  });

  it('runs its timer only while someone listens', () => {
    vi.useFakeTimers();
    const ticker = createTicker(1000);
    expect(vi.getTimerCount()).toBe(0);
    const stopA = ticker.subscribe(() => {});
    const stopB = ticker.subscribe(() => {});
    expect(vi.getTimerCount()).toBe(1);
    stopA();
    expect(vi.getTimerCount()).toBe(1);
    stopB();
    expect(vi.getTimerCount()).toBe(0);
  });
});
