// The poller's settings, from the config: shared by the console and `ls`.

import type { Config } from './config/schema.js';
import type { PollerOptions } from './store/poller.js';

export const REPAIR_TAG = 'last-repaired';

export function pollerOptions(config: Config): PollerOptions {
  return {
    refreshSeconds: config.refreshSeconds,
    thresholds: config.thresholds,
    roleTag: config.discovery.roleTag,
    repairTag: REPAIR_TAG,
    engine: {
      mysqlClient: config.engines.mysqlClient,
      nodetool: config.engines.nodetool,
      probeTimeoutMs: config.engines.probeTimeoutSeconds * 1000,
    },
    targetReplicas: (cluster) => config.clusters[cluster]?.targetReplicas,
  };
}
