// The poller's settings, from the config: shared by the console and `ls`.

import type { Config } from './config/schema.js';
import type { PollerOptions } from './store/poller.js';
import { engineOptionsFromConfig } from './backends/engines/index.js';

export const REPAIR_TAG = 'last-repaired';

export function pollerOptions(config: Config): PollerOptions {
  return {
    refreshSeconds: config.refreshSeconds,
    thresholds: config.thresholds,
    roleTag: config.discovery.roleTag,
    repairTag: REPAIR_TAG,
    engine: engineOptionsFromConfig(config),
    targetReplicas: (cluster) => config.clusters[cluster]?.targetReplicas,
  };
}
