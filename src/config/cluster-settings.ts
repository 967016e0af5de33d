// One cluster's settings from the config: `clusters.NAME`, with the keys of
// `clusters.NAME.regions.REGION` winning for the cluster in that region (where
// the same name lives in several regions with their own writer record,
// replica target, launch template, subnets, replication user or fence).

import type { ScopedName } from '../domain/scope.js';
import type { Config } from './schema.js';

export type ClusterSettings = Omit<NonNullable<Config['clusters'][string]>, 'regions'>;

/** The settings for the cluster `c`; undefined when the config says nothing of its name. */
export function clusterSettings(config: Pick<Config, 'clusters'>, c: ScopedName): ClusterSettings | undefined {
  const base = config.clusters[c.name];
  if (!base) return undefined;
  const { regions, ...rest } = base;
  const regional = c.region ? regions?.[c.region] : undefined;
  if (!regional) return rest;
  const merged: ClusterSettings = { ...rest };
  for (const [key, value] of Object.entries(regional)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
