// The static-inventory target: hosts from a file, engines over SSH, no cloud
// API. DNS, EBS, Auto Scaling and EC2 are absent and say why.

import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { ShellJobs } from '../jobs/shell-jobs.js';
import type { Backends, Clock, Metrics, Shell } from '../ports.js';
import { FileLock } from './file-lock.js';
import { loadInventoryFile } from './inventory-file.js';
import { StaticInventory } from './static-inventory.js';

export { loadInventoryFile, parseInventory, readInventorySsh, type InventoryFile, type InventoryHost } from './inventory-file.js';
export { DATADIR_TAG, MYSQL_CLIENT_TAG, NODETOOL_TAG, StaticInventory } from './static-inventory.js';
export { FileLock } from './file-lock.js';

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  speed: 1,
};

/** No metrics service behind a static inventory: every node simply has no series. */
const noMetrics: Metrics = { fetch: async () => ({}) };

export async function createInventoryBackends(config: Config, deps: { shell: Shell }): Promise<Backends> {
  const file = config.inventory;
  if (!file) throw new Error('createInventoryBackends: config.inventory is not set');
  // Validate now, so a bad file stops the console before the first frame with file:line.
  loadInventoryFile(file);
  const inventory = new StaticInventory(file, config.stateDir, {
    clusterTag: config.discovery.clusterTag,
    engineTag: config.discovery.engineTag,
    roleTag: config.discovery.roleTag,
  });
  const why = 'a static inventory has no cloud API';
  return {
    target: { kind: 'inventory', file },
    clock: realClock,
    inventory,
    metrics: noMetrics,
    shell: deps.shell,
    jobs: new ShellJobs(deps.shell),
    lock: new FileLock(join(config.stateDir, 'locks')),
    unavailable: {
      dns: `${why}: no Route 53 to switch a writer record (point your DNS by hand)`,
      volumes: `${why}: no EBS volumes or snapshots (use the stream path of rebuild)`,
      scaling: `${why}: no Auto Scaling groups`,
      compute: `${why}: cannot launch or stop instances`,
    },
    close: () => deps.shell.close(),
  };
}
