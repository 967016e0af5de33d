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
import { ProfileAccounts } from './accounts.js';
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
  /**
   * Prebuilt clients (tests, a custom endpoint); whatever is missing is built
   * from the config. Several profiles: one full set per profile, in the order
   * of aws.profiles.
   */
  clients?: Partial<AwsClients> | AwsClients[];
}

/** The profiles in view: aws.profiles when given, else aws.profile (or the default chain, undefined). */
export function profilesOf(config: Config): Array<string | undefined> {
  const several = [...new Set(config.aws.profiles)];
  return several.length > 0 ? several : [config.aws.profile];
}

export async function createAwsBackends(config: Config, deps: AwsBackendDeps): Promise<AwsBackends> {
  const profiles = profilesOf(config);
  if (profiles.length > 1) return createMultiAccount(config, profiles as string[], deps);
  const profile = profiles[0];
  const clients = await buildClients(config, profile, Array.isArray(deps.clients) ? deps.clients[0] : deps.clients);
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
    ...(profile ? { profile, missingProfile } : {}),
  };

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
  return assemble(ctx, target, deps, [clients], () => account, () => account);
}

/**
 * Several profiles in one view: each its own credentials and clients for every
 * region; a scope is (profile, region), and every ref carries its account.
 * Route 53 (writer records, TXT locks) goes to the account that holds the zone.
 */
async function createMultiAccount(config: Config, profiles: string[], deps: AwsBackendDeps): Promise<AwsBackends> {
  const given = Array.isArray(deps.clients) ? deps.clients : [];
  const sets: AwsClients[] = [];
  for (const [k, profile] of profiles.entries()) sets.push(await buildClients(config, profile, given[k]));
  const router = new RegionRouter(sets.flatMap((set, k) => set.regional.map((r) => ({ ...r, profile: profiles[k]! }))));
  const clock = deps.clock ?? realClock;
  const throttles = new ThrottleLog(clock);
  const byProfile = new Map(profiles.map((p, k) => [p, sets[k]!]));
  const ctx: AwsContext = { clients: sets[0]!, byProfile, router, config, clock, throttles, missingProfile };
  const target: AwsTarget = { kind: 'aws', regions: router.names, accounts: profiles.map((profile) => ({ profile })) };
  ctx.accounts = new ProfileAccounts(ctx, byProfile, (profile, account) => {
    const entry = target.accounts?.find((a) => a.profile === profile);
    if (entry) entry.account = account;
  });
  const accounts = ctx.accounts;
  return assemble(
    ctx,
    target,
    deps,
    sets,
    async () => {
      await accounts.settled();
      return accounts.get(profiles[0]!);
    },
    () => accounts.settled(),
  );
}

function assemble(
  ctx: AwsContext,
  target: AwsTarget,
  deps: AwsBackendDeps,
  sets: AwsClients[],
  accountId: () => Promise<string | undefined>,
  targetSettled: () => Promise<unknown>,
): AwsBackends {
  const inventory = new AwsInventory(ctx);
  const dns = new AwsDns(ctx);
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
    apiThrottles: () => ctx.throttles!.recent(),
    accountId,
    targetSettled,
    async close() {
      for (const set of sets) destroyAwsClients(set);
      await deps.shell.close();
    },
  };
}

/** The files searched, when the profile is in neither; undefined when it is there or they cannot be read. */
function missingProfile(profile: string): SharedFiles | undefined {
  const files = sharedFiles();
  return isProfileConfigured(profile, files) === false ? files : undefined;
}

async function buildClients(config: Config, profile: string | undefined, given: Partial<AwsClients> = {}): Promise<AwsClients> {
  if (given.regional && given.route53 && given.sts) return given as AwsClients;
  let regions = given.regional?.map((r) => r.region) ?? config.aws.regions;
  if (regions.length === 0) {
    // Nothing configured: whatever the default chain says (AWS_REGION, the profile's region).
    const region = await defaultRegion(profile);
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
    ...(profile ? { profile } : {}),
    maxAttempts: config.aws.maxAttempts,
  });
  return { ...built, ...given };
}
