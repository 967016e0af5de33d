// A wall clock that ticks, for ages on screen ("refreshed 3 s ago"). Only the
// parts that show an age use it, so a tick re-renders little.

import { useEffect, useState } from 'react';
import { useClock } from '../store/context.js';

export function useNow(intervalMs = 1000): number {
  const clock = useClock();
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), intervalMs);
    // A ticking clock must never keep a finished console (or test) alive.
    timer.unref?.();
    return () => clearInterval(timer);
  }, [clock, intervalMs]);
  // Read at render time, so a render caused by a store update is not a tick behind.
  return clock();
}
