// What every adapter shares: the clients by region, the config, the clock.

import type { Config } from '../../config/schema.js';
import type { ThrottleLog } from '../api-throttles.js';
import type { Clock } from '../ports.js';
import type { AwsClients } from './clients.js';
import { AwsError, awsCall, callName, type AwsCallContext } from './errors.js';
import type { RegionRouter } from './regions.js';

export interface AwsContext {
  clients: AwsClients;
  router: RegionRouter;
  config: Config;
  clock: Clock;
  profile?: string;
  /** The shared files searched when the profile is in neither (asked after a credentials failure only). */
  missingProfile?: AwsCallContext['missingProfile'];
  /** Where throttled calls are counted, per region (Backends.apiThrottles): every call passes through `call`. */
  throttles?: ThrottleLog;
}

/** One SDK call with its IAM action named, so a failure becomes the right sentence. */
export function call<T>(
  ctx: AwsContext,
  where: Omit<AwsCallContext, 'profile' | 'missingProfile'>,
  fn: () => Promise<T>,
): Promise<T> {
  const context: AwsCallContext = { ...where, profile: ctx.profile, ...(ctx.missingProfile ? { missingProfile: ctx.missingProfile } : {}) };
  const throttles = ctx.throttles;
  const made = awsCall(context, fn);
  if (!throttles) return made;
  return made.catch((err: unknown) => {
    // Only what is still throttled after the SDK's retries: a call that got through late left the picture fresh.
    if (err instanceof AwsError && err.kind === 'throttled') throttles.record(where.region ?? 'global', callName(where.action));
    throw err;
  });
}
