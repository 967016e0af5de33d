// `nightshift unlock CLUSTER --confirm CLUSTER`: clears a cluster lock that a
// dead or finished run left behind (a release that failed at the end of a
// run, a run killed and never resumed). A lock held by a live run on this
// host is never broken; anything nightshift cannot see is said before it asks.

import type { Command } from 'commander';
import { typedMatches } from '../actions/engine/gate.js';
import { assessHolder } from '../actions/engine/lock-holder.js';
import { scopeFlags } from '../actions/engine/cluster-params.js';
import type { Backends } from '../backends/ports.js';
import { clusterLabel, pickFlags, resolveCluster, type ScopedName } from '../domain/scope.js';
import { CommandFailed, UsageError } from '../errors.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface UnlockFlags {
  confirm?: string;
  run?: string;
  /** Where several accounts are in view and the region does not decide. */
  account?: string;
}

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('unlock')
    .description("clear a cluster's run lock left by a dead or finished run (never one a live run holds)")
    .argument('<cluster>', 'the locked cluster')
    .option('--confirm <name>', 'the cluster name again: breaking a lock is a typed decision')
    .option('--run <id>', 'only if this run holds it (as printed by the run that could not release it)')
    .option('--account <id>', 'where clusters of that name are in several accounts: which one (the global --region picks the region)')
    .action(async (cluster: string, flags: UnlockFlags) => {
      await unlockCommand(ctx, cluster, flags);
    });
};

export async function unlockCommand(ctx: CommandContext, cluster: string, flags: UnlockFlags): Promise<void> {
  const config = await ctx.loadConfig();
  const backends = await ctx.openBackends(config);
  try {
    const scoped = await whichCluster(backends, cluster, flags.account);
    const label = clusterLabel(scoped);
    const holder = await backends.lock.holder(scoped);
    if (!holder) {
      ctx.io.stdout.write(`cluster ${label} is not locked; nothing to do\n`);
      return;
    }
    const who = `run ${holder.runId} (${holder.owner}, started ${holder.startedAt})`;
    if (flags.run !== undefined && flags.run !== holder.runId) {
      throw new CommandFailed(`cluster ${label} is locked by ${who}, not by run ${flags.run}; nothing was changed`);
    }
    const assessed = assessHolder(config.stateDir, holder.runId);
    if (assessed.isLive) throw new CommandFailed(`cluster ${label} is locked by ${who}: ${assessed.detail}; it is not broken`);
    if (!typedMatches(flags.confirm, cluster)) {
      const scope = scopeFlags(scoped);
      throw new UsageError(`cluster ${label} is locked by ${who}: ${assessed.detail}. To clear it: nightshift unlock ${cluster}${scope ? ` ${scope}` : ''} --confirm ${cluster}`);
    }
    await backends.lock.breakLock(scoped, holder.runId);
    ctx.io.stdout.write(`cluster ${label}: lock of ${who} cleared (${assessed.detail})\n`);
  } finally {
    await backends.close();
  }
}

/**
 * The cluster the name means in this view, as a run resolves it: the one so
 * named (with its region and account, which name its lock), or refused with
 * the flags that pick each of several. A name discovery does not know (a
 * cluster since gone, a target that cannot be read) is the bare name, as
 * before regions.
 */
async function whichCluster(backends: Backends, name: string, account: string | undefined): Promise<ScopedName> {
  let found;
  try {
    found = await backends.inventory.discover();
  } catch {
    return { name, ...(account !== undefined ? { account } : {}) };
  }
  const r = resolveCluster(found.clusters, { name, account });
  if (r.ok) return { name, ...(r.cluster.region !== undefined ? { region: r.cluster.region } : {}), ...(r.cluster.account !== undefined ? { account: r.cluster.account } : {}) };
  if (r.candidates.length === 0) return { name, ...(account !== undefined ? { account } : {}) };
  const pick = r.candidates.map((c) => `  nightshift unlock ${name} ${pickFlags(c, r.candidates)}`.trimEnd()).join('\n');
  throw new UsageError(`${r.reason}; name one:\n${pick}`);
}
