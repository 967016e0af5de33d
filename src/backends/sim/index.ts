// The simulated fleet as a backend set: every port of ports.ts in memory, on
// a virtual clock, persisted per scenario and seed under <stateDir>/sim/.
// It is a product feature (rehearsals), so the same poller, probes and
// runbooks run against it unchanged.

import { clusterKey, type ScopedName } from '../../domain/scope.js';
import type { Backends } from '../ports.js';
import { SimDns } from './dns.js';
import { SimInventory, SimMetrics } from './inventory.js';
import { SimJobs } from './jobs.js';
import { SimLock } from './lock.js';
import { SimCompute, SimScaling } from './scaling.js';
import { isScenario, SCENARIOS } from './scenarios.js';
import { simRegionCount } from './scenario-list.js';
import { SimShell } from './shell.js';
import { lockDirOf } from './state-file.js';
import { SimVolumes } from './volumes.js';
import { generatedReplicas, writerDnsConfig } from './fleet.js';
import { MAX_SIM_REGIONS, RegionView, simRegions } from './regions.js';
import type { WriterRecordRef } from '../../domain/types.js';
import { SimWorld, type SimWorldOptions } from './world.js';

export { SCENARIOS, isScenario, type ScenarioInfo } from './scenarios.js';
export { resetSimState, statePathOf } from './state-file.js';
export { SimWorld, type SimWorldOptions } from './world.js';
export { SimShell, SimSshError, DEFAULT_COMMAND_TIMEOUT_MS } from './shell.js';
export { SIM_EPOCH, WRITER_ZONE_ID, WRITER_DOMAIN, TAGS as SIM_TAGS } from './fleet.js';
export { SIM_REGIONS, MAX_SIM_REGIONS, simRegions } from './regions.js';
export type { Fault, StoredFault, RepairRecord, SimJob, JobStartRecord } from './state.js';
export { SimJobs } from './jobs.js';

export type SimBackends = Backends & {
  world: SimWorld;
  /** Each MySQL cluster's writer record, as a live target's config names it (clusters.C.writerDns). */
  writerDns: (cluster: ScopedName) => WriterRecordRef | undefined;
  /**
   * The replication user a runbook repoints replicas with, as a live target's
   * config names it (clusters.C.replication). The sim's CHANGE MASTER takes any
   * password; this one is the sim's own, so no config is needed to rehearse.
   */
  replicationCredentials: (cluster: ScopedName) => { user: string; password: string } | undefined;
  /** Each MySQL cluster's redundancy target, as a live target's config names it (clusters.C.targetReplicas): the replicas it was generated with. */
  targetReplicas: (cluster: ScopedName) => number | undefined;
};

/**
 * The world's key of a cluster. A bare name from a caller typed before
 * clusters had a scope (ScopedName) is taken as it was: in a one-region world
 * it is the key; in a world of several it names no cluster, and finds none.
 */
function keyOf(cluster: ScopedName | string): string {
  return typeof cluster === 'string' ? cluster : clusterKey(cluster);
}

/** The simulated fleet's replication user (its replicas are born with it). */
export const SIM_REPLICATION = { user: 'repl', password: 'sim-repl-not-a-secret' } as const;

export interface SimBackendOptions extends SimWorldOptions {
  /** A command's limit when it names none; ssh's (ssh.commandTimeoutSeconds) by default. */
  commandTimeoutMs?: number;
  /**
   * The regions in view (`--region` on a fleet of several): discovery lists
   * them alone and runs act in them alone. Absent or empty: every region.
   */
  view?: string[];
}

export { simRegionCount } from './scenario-list.js';

export async function createSimBackends(opts: SimBackendOptions): Promise<SimBackends> {
  if (!isScenario(opts.scenario)) {
    throw new Error(`unknown scenario "${opts.scenario}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  if (!Number.isInteger(opts.seed)) throw new Error(`seed must be a whole number, got ${opts.seed}`);
  if (!(opts.speed > 0)) throw new Error(`speed must be positive, got ${opts.speed}`);
  if (opts.nodes !== undefined && (!Number.isInteger(opts.nodes) || opts.nodes < 1)) {
    throw new Error(`nodes must be a positive whole number, got ${opts.nodes}`);
  }
  const regionCount = simRegionCount(opts.scenario, opts.regions);
  if (!Number.isInteger(regionCount) || regionCount < 1 || regionCount > MAX_SIM_REGIONS) {
    throw new Error(`regions must be a whole number from 1 to ${MAX_SIM_REGIONS}, got ${regionCount}`);
  }
  const needs = SCENARIOS.find((s) => s.name === opts.scenario)?.regions ?? 1;
  if (regionCount < needs) throw new Error(`the scenario ${opts.scenario} needs ${needs} regions; open it with --regions ${needs} (or leave --regions out)`);
  const modelled = simRegions(regionCount);
  const view = opts.view ?? [];
  for (const r of view) {
    if (!modelled.includes(r)) {
      throw new Error(
        modelled.length > 0
          ? `the simulated fleet has no region ${r}; its regions: ${modelled.join(', ')}`
          : `the simulated fleet models one region, which --region cannot name; model several with --regions 2 (regions: ${simRegions(MAX_SIM_REGIONS).join(', ')})`,
      );
    }
  }
  const regions = new RegionView(view);
  const worldOpts: SimWorldOptions = { scenario: opts.scenario, seed: opts.seed, speed: opts.speed, stateDir: opts.stateDir };
  if (opts.nodes !== undefined) worldOpts.nodes = opts.nodes;
  if (regionCount > 1) worldOpts.regions = regionCount;
  if (opts.realNow) worldOpts.realNow = opts.realNow;
  const world = SimWorld.open(worldOpts);
  const shell = new SimShell(world, opts.commandTimeoutMs !== undefined ? { commandTimeoutMs: opts.commandTimeoutMs } : {});
  const inventory = new SimInventory(world, regions);
  return {
    target: { kind: 'sim', scenario: opts.scenario, seed: opts.seed, speed: opts.speed, ...(modelled.length > 0 ? { regions: modelled.filter((r) => regions.has(r)) } : {}) },
    clock: world.clock,
    inventory,
    metrics: new SimMetrics(world),
    shell,
    jobs: new SimJobs(world, shell),
    lock: new SimLock(lockDirOf(opts.stateDir, opts.scenario, opts.seed, opts.nodes ?? null, regionCount)),
    dns: new SimDns(world),
    volumes: new SimVolumes(world),
    scaling: new SimScaling(world, regions),
    compute: new SimCompute(world, regions),
    apiThrottles: () => inventory.throttles.recent(),
    world,
    // By the cluster's key: `orders-db` names no cluster of a world of several regions, `{orders-db, eu-west-1}` does.
    writerDns: (cluster) => writerDnsConfig(world.view(), keyOf(cluster)),
    targetReplicas: (cluster) => generatedReplicas(world.view(), keyOf(cluster)),
    replicationCredentials: (cluster) => (world.view().clusters[keyOf(cluster)]?.engine === 'mysql' ? { ...SIM_REPLICATION } : undefined),
    async close() {
      await shell.close();
      world.close();
    },
  };
}
