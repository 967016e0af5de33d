// The params that name the cluster a run works on, shared by every runbook:
// its name, and the region (and account) where the same name is in several.
// They are journaled with the other params, so a resume finds the same cluster
// however many regions the resuming process is looking at.

import * as z from 'zod';
import type { ScopedName } from '../../domain/scope.js';
import type { RunInfo } from './types.js';

export const CLUSTER_PARAMS = {
  cluster: z.string().min(1, 'needs --cluster NAME'),
  /** Where clusters of that name are in several regions: which one (`--region`). */
  region: z.string().min(1).optional(),
  /** Where several accounts are in view and the region does not decide: which one (`--account`). */
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id').optional(),
};

/** The cluster a run works on, as the lock and discovery know it. */
export function runCluster(run: Pick<RunInfo, 'cluster' | 'region' | 'account'>): ScopedName {
  return {
    name: run.cluster,
    ...(run.region !== undefined ? { region: run.region } : {}),
    ...(run.account !== undefined ? { account: run.account } : {}),
  };
}

/** The region and account among a run's params, when they name them. */
export function scopeOfParams(params: unknown): { region?: string; account?: string } {
  const p = (params ?? {}) as { region?: unknown; account?: unknown };
  return {
    ...(typeof p.region === 'string' ? { region: p.region } : {}),
    ...(typeof p.account === 'string' ? { account: p.account } : {}),
  };
}

/** The flags that name a cluster's scope on a command line: `--region eu-west-1 --account 123456789012`; '' when it has none. */
export function scopeFlags(c: { region?: string | undefined; account?: string | undefined }): string {
  return [c.region && `--region ${c.region}`, c.account && `--account ${c.account}`].filter(Boolean).join(' ');
}
