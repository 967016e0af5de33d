// A wall clock that ticks, for ages on screen ("refreshed 3 s ago"). Only the
// parts that show an age use it, and they share one ticker (the App provides
// it): a second passing is then one render and one frame, where a timer per
// part drew the header and the screen in two frames, out of step.

import { createContext, useContext, useState, useSyncExternalStore } from 'react';
import { useClock } from '../store/context.js';

export interface Ticker {
  subscribe(onTick: () => void): () => void;
  /** Ticks so far; it changing is what re-renders the subscribers. */
  getSnapshot(): number;
}

/** A ticker whose timer runs only while someone listens. */
export function createTicker(intervalMs = 1000): Ticker {
  const listeners = new Set<() => void>();
  let ticks = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    subscribe(onTick) {
      listeners.add(onTick);
      if (!timer) {
        timer = setInterval(() => {
          ticks++;
          for (const listener of listeners) listener();
        }, intervalMs);
        // A ticking clock must never keep a finished console (or test) alive.
        timer.unref?.();
      }
      return () => {
        listeners.delete(onTick);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    getSnapshot: () => ticks,
  };
}

/** The App's ticker, shared by everything it draws. */
export const TickerContext = createContext<Ticker | null>(null);

export function useNow(): number {
  const shared = useContext(TickerContext);
  // A part drawn without the App (a test of one component) ticks on its own.
  const [own] = useState(createTicker);
  const ticker = shared ?? own;
  useSyncExternalStore(ticker.subscribe, ticker.getSnapshot);
  // Read at render time, so a render caused by a store update is not a tick behind.
  return useClock()();
}

/**
 * A value of the wall clock, re-read on every tick, that re-renders only when
 * it changes: "which regions are stale" moves a few times an hour, and a
 * screen of 500 rows should not redraw every second to learn it has not.
 * `read` must return a primitive (compared with ===).
 */
export function useClockValue<T extends string | number | boolean>(read: (now: number) => T): T {
  const shared = useContext(TickerContext);
  const [own] = useState(createTicker);
  const ticker = shared ?? own;
  const clock = useClock();
  return useSyncExternalStore(ticker.subscribe, () => read(clock()));
}
