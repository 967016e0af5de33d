// `nightshift unlock CLUSTER --confirm CLUSTER`: clears a cluster lock that a
// dead or finished run left behind (a release that failed at the end of a
// run, a run killed and never resumed). A lock held by a live run on this
// host is never broken; anything nightshift cannot see is said before it asks.

import type { Command } from 'commander';
import { typedMatches } from '../actions/engine/gate.js';
import { assessHolder } from '../actions/engine/lock-holder.js';
import { CommandFailed, UsageError } from '../errors.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface UnlockFlags {
  confirm?: string;
  run?: string;
}

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('unlock')
    .description("clear a cluster's run lock left by a dead or finished run (never one a live run holds)")
    .argument('<cluster>', 'the locked cluster')
    .option('--confirm <name>', 'the cluster name again: breaking a lock is a typed decision')
    .option('--run <id>', 'only if this run holds it (as printed by the run that could not release it)')
    .action(async (cluster: string, flags: UnlockFlags) => {
      await unlockCommand(ctx, cluster, flags);
    });
};

export async function unlockCommand(ctx: CommandContext, cluster: string, flags: UnlockFlags): Promise<void> {
  const config = await ctx.loadConfig();
  const backends = await ctx.openBackends(config);
  try {
    const holder = await backends.lock.holder({ name: cluster });
    if (!holder) {
      ctx.io.stdout.write(`cluster ${cluster} is not locked; nothing to do\n`);
      return;
    }
    const who = `run ${holder.runId} (${holder.owner}, started ${holder.startedAt})`;
    if (flags.run !== undefined && flags.run !== holder.runId) {
      throw new CommandFailed(`cluster ${cluster} is locked by ${who}, not by run ${flags.run}; nothing was changed`);
    }
    const assessed = assessHolder(config.stateDir, holder.runId);
    if (assessed.isLive) throw new CommandFailed(`cluster ${cluster} is locked by ${who}: ${assessed.detail}; it is not broken`);
    if (!typedMatches(flags.confirm, cluster)) {
      throw new UsageError(`cluster ${cluster} is locked by ${who}: ${assessed.detail}. To clear it: nightshift unlock ${cluster} --confirm ${cluster}`);
    }
    await backends.lock.breakLock({ name: cluster }, holder.runId);
    ctx.io.stdout.write(`cluster ${cluster}: lock of ${who} cleared (${assessed.detail})\n`);
  } finally {
    await backends.close();
  }
}
