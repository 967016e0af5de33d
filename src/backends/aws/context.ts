// What every adapter shares: the clients by region, the config, the clock.

import type { Config } from '../../config/schema.js';
import type { Clock } from '../ports.js';
import type { AwsClients } from './clients.js';
import { awsCall, type AwsCallContext } from './errors.js';
import type { RegionRouter } from './regions.js';

export interface AwsContext {
  clients: AwsClients;
  router: RegionRouter;
  config: Config;
  clock: Clock;
  profile?: string;
  /** The shared files searched when the profile is in neither (asked after a credentials failure only). */
  missingProfile?: AwsCallContext['missingProfile'];
}

/** One SDK call with its IAM action named, so a failure becomes the right sentence. */
export function call<T>(
  ctx: AwsContext,
  where: Omit<AwsCallContext, 'profile' | 'missingProfile'>,
  fn: () => Promise<T>,
): Promise<T> {
  return awsCall({ ...where, profile: ctx.profile, ...(ctx.missingProfile ? { missingProfile: ctx.missingProfile } : {}) }, fn);
}
