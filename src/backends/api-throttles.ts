// Throttled API calls, per region and call, over the last few minutes: what
// the AWS adapters (and the simulated fleet's inventory) record as calls are
// refused, and what Backends.apiThrottles reports. Times are the fleet's
// clock, so a rehearsal forgets a throttle as its own minutes pass.

import type { ApiThrottle, Clock } from './ports.js';

/**
 * How long a throttle is remembered. Long enough that a region throttled on
 * every other refresh keeps its finding steady rather than blinking; short
 * enough that it clears soon after the rate drops.
 */
export const THROTTLE_WINDOW_MS = 5 * 60_000;

export class ThrottleLog {
  /** Times (clock ms) of throttled calls, by region then call, oldest first. */
  private readonly seen = new Map<string, Map<string, number[]>>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly windowMs = THROTTLE_WINDOW_MS,
  ) {}

  /** One call refused as throttled. `call` as an engineer says it: "EC2 DescribeInstances". */
  record(region: string, call: string): void {
    let calls = this.seen.get(region);
    if (!calls) this.seen.set(region, (calls = new Map()));
    let times = calls.get(call);
    if (!times) calls.set(call, (times = []));
    times.push(this.clock.now());
  }

  /** Throttles within the window, by region (in first-seen order) and most-throttled call first. */
  recent(): ApiThrottle[] {
    const since = this.clock.now() - this.windowMs;
    const out: ApiThrottle[] = [];
    for (const [region, calls] of this.seen) {
      const here: ApiThrottle[] = [];
      for (const [call, times] of calls) {
        // Forgotten as they age, so a long-lived console holds only the last window's worth.
        while (times.length > 0 && times[0]! <= since) times.shift();
        if (times.length === 0) calls.delete(call);
        else here.push({ region, call, count: times.length, windowMs: this.windowMs });
      }
      if (calls.size === 0) this.seen.delete(region);
      out.push(...here.sort((a, b) => b.count - a.count || a.call.localeCompare(b.call)));
    }
    return out;
  }
}
