// The poller's settings, from the config: shared by the console and `ls`.

import { clusterSettings } from './config/cluster-settings.js';
import type { Config } from './config/schema.js';
import type { ScopedName } from './domain/scope.js';
import type { PollerOptions } from './store/poller.js';
import type { Backends } from './backends/ports.js';
import type { WriterRecordRef } from './domain/types.js';
import { engineOptionsFromConfig } from './backends/engines/index.js';

export const REPAIR_TAG = 'last-repaired';

/** A target that names writer records and redundancy targets of its own (the simulated fleet's clusters). */
export type WriterDnsSource = Backends & {
  writerDns?: (cluster: ScopedName) => WriterRecordRef | undefined;
  targetReplicas?: (cluster: ScopedName) => number | undefined;
};

/** `backends`: the target, for the writer records it names itself; the config's clusters.C.writerDns wins. */
export function pollerOptions(config: Config, backends?: WriterDnsSource): PollerOptions {
  const own = backends?.writerDns;
  const ownTarget = backends?.targetReplicas;
  return {
    refreshSeconds: config.refreshSeconds,
    thresholds: config.thresholds,
    roleTag: config.discovery.roleTag,
    repairTag: REPAIR_TAG,
    engine: engineOptionsFromConfig(config),
    targetReplicas: (cluster) => clusterSettings(config, cluster)?.targetReplicas ?? ownTarget?.(cluster),
    writerDns: (cluster) => clusterSettings(config, cluster)?.writerDns ?? own?.(cluster),
  };
}
