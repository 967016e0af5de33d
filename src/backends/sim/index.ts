// The simulated fleet as a backend set: every port of ports.ts in memory, on
// a virtual clock, persisted per scenario and seed under <stateDir>/sim/.
// It is a product feature (rehearsals), so the same poller, probes and
// runbooks run against it unchanged.

import type { ScopedName } from '../../domain/scope.js';
import type { Backends } from '../ports.js';
import { SimDns } from './dns.js';
import { SimInventory, SimMetrics } from './inventory.js';
import { SimJobs } from './jobs.js';
import { SimLock } from './lock.js';
import { SimCompute, SimScaling } from './scaling.js';
import { isScenario, SCENARIOS } from './scenarios.js';
import { SimShell } from './shell.js';
import { lockDirOf } from './state-file.js';
import { SimVolumes } from './volumes.js';
import { generatedReplicas, writerDnsConfig } from './fleet.js';
import type { WriterRecordRef } from '../../domain/types.js';
import { SimWorld, type SimWorldOptions } from './world.js';

export { SCENARIOS, isScenario, type ScenarioInfo } from './scenarios.js';
export { resetSimState, statePathOf } from './state-file.js';
export { SimWorld, type SimWorldOptions } from './world.js';
export { SimShell, SimSshError, DEFAULT_COMMAND_TIMEOUT_MS } from './shell.js';
export { SIM_EPOCH, WRITER_ZONE_ID, WRITER_DOMAIN, TAGS as SIM_TAGS } from './fleet.js';
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

/** The simulated fleet's replication user (its replicas are born with it). */
export const SIM_REPLICATION = { user: 'repl', password: 'sim-repl-not-a-secret' } as const;

export interface SimBackendOptions extends SimWorldOptions {
  /** A command's limit when it names none; ssh's (ssh.commandTimeoutSeconds) by default. */
  commandTimeoutMs?: number;
}

export async function createSimBackends(opts: SimBackendOptions): Promise<SimBackends> {
  if (!isScenario(opts.scenario)) {
    throw new Error(`unknown scenario "${opts.scenario}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  if (!Number.isInteger(opts.seed)) throw new Error(`seed must be a whole number, got ${opts.seed}`);
  if (!(opts.speed > 0)) throw new Error(`speed must be positive, got ${opts.speed}`);
  if (opts.nodes !== undefined && (!Number.isInteger(opts.nodes) || opts.nodes < 1)) {
    throw new Error(`nodes must be a positive whole number, got ${opts.nodes}`);
  }
  const worldOpts: SimWorldOptions = { scenario: opts.scenario, seed: opts.seed, speed: opts.speed, stateDir: opts.stateDir };
  if (opts.nodes !== undefined) worldOpts.nodes = opts.nodes;
  if (opts.realNow) worldOpts.realNow = opts.realNow;
  const world = SimWorld.open(worldOpts);
  const shell = new SimShell(world, opts.commandTimeoutMs !== undefined ? { commandTimeoutMs: opts.commandTimeoutMs } : {});
  const inventory = new SimInventory(world);
  return {
    target: { kind: 'sim', scenario: opts.scenario, seed: opts.seed, speed: opts.speed },
    clock: world.clock,
    inventory,
    metrics: new SimMetrics(world),
    shell,
    jobs: new SimJobs(world, shell),
    lock: new SimLock(lockDirOf(opts.stateDir, opts.scenario, opts.seed, opts.nodes ?? null)),
    dns: new SimDns(world),
    volumes: new SimVolumes(world),
    scaling: new SimScaling(world),
    compute: new SimCompute(world),
    apiThrottles: () => inventory.throttles.recent(),
    world,
    writerDns: (cluster) => writerDnsConfig(world.view(), cluster.name),
    targetReplicas: (cluster) => generatedReplicas(world.view(), cluster.name),
    replicationCredentials: (cluster) => (world.view().clusters[cluster.name]?.engine === 'mysql' ? { ...SIM_REPLICATION } : undefined),
    async close() {
      await shell.close();
      world.close();
    },
  };
}
