// What every adapter shares: the clients by region, the config, the clock.

import type { Config } from '../../config/schema.js';
import type { ThrottleLog } from '../api-throttles.js';
import type { Clock } from '../ports.js';
import type { ProfileAccounts } from './accounts.js';
import type { AwsClients } from './clients.js';
import { AwsError, awsCall, callName, type AwsCallContext } from './errors.js';
import type { RegionRouter } from './regions.js';

export interface AwsContext {
  clients: AwsClients;
  router: RegionRouter;
  config: Config;
  clock: Clock;
  /** The profile of a one-profile target (with several, each call names its scope's). */
  profile?: string;
  /** The shared files searched when the profile is in neither (asked after a credentials failure only). */
  missingProfile?: (profile: string) => ReturnType<NonNullable<AwsCallContext['missingProfile']>>;
  /** Each profile's clients, when several profiles are in view (absent with one): Route 53 goes to the zone's account. */
  byProfile?: ReadonlyMap<string, AwsClients>;
  /** The account of each profile, when several profiles are in view (absent with one). */
  accounts?: ProfileAccounts;
  /** Where throttled calls are counted, per region (Backends.apiThrottles): every call passes through `call`. */
  throttles?: ThrottleLog;
}

/** One SDK call with its IAM action named, so a failure becomes the right sentence. */
export function call<T>(
  ctx: AwsContext,
  where: Omit<AwsCallContext, 'profile' | 'missingProfile'> & { profile?: string | undefined },
  fn: () => Promise<T>,
): Promise<T> {
  // The scope's own profile, so a credentials failure names the profile that needs a login.
  const profile = where.profile ?? ctx.profile;
  const missing = ctx.missingProfile;
  const context: AwsCallContext = { ...where, profile, ...(missing && profile ? { missingProfile: () => missing(profile) } : {}) };
  const throttles = ctx.throttles;
  const made = awsCall(context, fn);
  if (!throttles) return made;
  return made.catch((err: unknown) => {
    // Only what is still throttled after the SDK's retries: a call that got through late left the picture fresh.
    // With several profiles the same region is several scopes: the throttle is the profile's, not the region's.
    if (err instanceof AwsError && err.kind === 'throttled') throttles.record(throttleWhere(ctx, where), callName(where.action));
    throw err;
  });
}

/** Where a scope's throttles are counted (ApiThrottle.region): see throttleWhere. */
export function throttleKey(ctx: AwsContext, r: { region: string; profile?: string | undefined }): string {
  return throttleWhere(ctx, r);
}

/** Where a throttle is counted: the region, or `profile region` when several profiles are in view. */
function throttleWhere(ctx: AwsContext, where: { region?: string; profile?: string | undefined }): string {
  const region = where.region ?? 'global';
  return ctx.router.severalProfiles && where.profile ? `${where.profile} ${region}` : region;
}
