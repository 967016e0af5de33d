// The AWS target: every port backed by SDK v3 clients. The CLI imports this
// file with a dynamic import(), so the SDK loads only when AWS is the target.

import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Config } from '../../config/schema.js';
import type { Target } from '../../domain/types.js';
import { ThrottleLog } from '../api-throttles.js';
import { ShellJobs } from '../jobs/shell-jobs.js';
import type { Backends, Clock, Shell } from '../ports.js';
import { createAwsClients, defaultRegion, destroyAwsClients, type AwsClients } from './clients.js';
import { AwsCompute } from './compute.js';
import { call, type AwsContext } from './context.js';
import { AwsDns } from './dns.js';
import { AwsError } from './errors.js';
import { AwsInventory } from './inventory.js';
import { AwsLock } from './lock.js';
import { AwsMetrics } from './metrics.js';
import { isProfileConfigured, sharedFiles, type SharedFiles } from './profiles.js';
import { RegionRouter } from './regions.js';
import { AwsScaling } from './scaling.js';
import { AwsVolumes } from './volumes.js';
import { realClock } from './wait.js';

export { AwsError } from './errors.js';
export { createAwsClients, type AwsClients, type AwsClientOptions } from './clients.js';

export type AwsTarget = Extract<Target, { kind: 'aws' }>;

export interface AwsBackends extends Backends {
  target: AwsTarget;
  /**
   * The account id from STS GetCallerIdentity, asked concurrently at creation
   * (never awaited there, so start-up does not wait for it) and written into
   * `target.account` when it arrives. Resolves undefined when STS fails (the
   * same credentials problem then shows up on discovery, with its sentence).
   */
  accountId(): Promise<string | undefined>;
}

export interface AwsBackendDeps {
  shell: Shell;
  clock?: Clock;
  /** Prebuilt clients (tests, a custom endpoint); whatever is missing is built from the config. */
  clients?: Partial<AwsClients>;
}

export async function createAwsBackends(config: Config, deps: AwsBackendDeps): Promise<AwsBackends> {
  const profile = config.aws.profile;
  const clients = await buildClients(config, deps.clients);
  const router = new RegionRouter(clients.regional);
  const clock = deps.clock ?? realClock;
  const throttles = new ThrottleLog(clock);
  const ctx: AwsContext = {
    clients,
    router,
    config,
    clock,
    throttles,
    // Read on each credentials failure (a few small files), so a profile added meanwhile is seen.
    ...(profile ? { profile, missingProfile: () => missingProfile(profile) } : {}),
  };

  const inventory = new AwsInventory(ctx);
  const dns = new AwsDns(ctx);
  const target: AwsTarget = { kind: 'aws', regions: router.names, ...(profile ? { profile } : {}) };

  // Asked now but not awaited: the first frame shows the regions and profile at
  // once, and the account id fills in (target.account) when STS answers.
  const account = call(ctx, { action: 'sts:GetCallerIdentity', doing: 'asking AWS who we are' }, () =>
    clients.sts.send(new GetCallerIdentityCommand({})),
  ).then(
    (id) => {
      if (id.Account) target.account = id.Account;
      return id.Account;
    },
    () => undefined,
  );
  return {
    target,
    clock: ctx.clock,
    inventory,
    metrics: new AwsMetrics(ctx),
    shell: deps.shell,
    jobs: new ShellJobs(deps.shell),
    lock: new AwsLock(ctx, dns, inventory),
    dns,
    volumes: new AwsVolumes(ctx),
    scaling: new AwsScaling(ctx),
    compute: new AwsCompute(ctx),
    apiThrottles: () => throttles.recent(),
    accountId: () => account,
    targetSettled: () => account,
    async close() {
      destroyAwsClients(clients);
      await deps.shell.close();
    },
  };
}

/** The files searched, when the profile is in neither; undefined when it is there or they cannot be read. */
function missingProfile(profile: string): SharedFiles | undefined {
  const files = sharedFiles();
  return isProfileConfigured(profile, files) === false ? files : undefined;
}

async function buildClients(config: Config, given: Partial<AwsClients> = {}): Promise<AwsClients> {
  if (given.regional && given.route53 && given.sts) return given as AwsClients;
  let regions = given.regional?.map((r) => r.region) ?? config.aws.regions;
  if (regions.length === 0) {
    // Nothing configured: whatever the default chain says (AWS_REGION, the profile's region).
    const region = await defaultRegion(config.aws.profile);
    if (!region) {
      throw new AwsError(
        'NoRegion',
        'other',
        'no AWS region: pass --region (for example --region us-east-1), set aws.regions in the config, or set AWS_REGION',
        'none',
      );
    }
    regions = [region];
  }
  const built = createAwsClients({
    regions,
    ...(config.aws.profile ? { profile: config.aws.profile } : {}),
    maxAttempts: config.aws.maxAttempts,
  });
  return { ...built, ...given };
}
