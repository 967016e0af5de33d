// `nightshift sim scenarios` lists the simulated fleet's scenarios;
// `nightshift sim reset [--scenario S] [--seed N]` deletes that world's state
// file (and its locks), so the next start generates it afresh.
// The simulated fleet's code is imported inside the actions, not at the top:
// every start of the CLI, the console's first frame included, would pay for it.

import type { Command } from 'commander';
import { seedFlag } from '../config/load.js';
import { UsageError } from '../errors.js';
import type { CommandContext, RegisterCommand } from './types.js';

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  const sim = program.command('sim').description('the simulated fleet used for rehearsals');
  sim
    .command('scenarios')
    .description('list the scenarios of the simulated fleet')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      await listScenarios(ctx, flags);
    });
  sim
    .command('reset')
    .description('start a simulated world afresh: forget its tags, topology, clock, faults and locks')
    .option('--scenario <name>', 'the scenario whose world to reset (default: the configured one)')
    .option('--seed <n>', 'the seed whose world to reset (default: the configured one)')
    .action(async (flags: { scenario?: string; seed?: string }) => {
      await resetCommand(ctx, flags);
    });
};

export async function listScenarios(ctx: CommandContext, flags: { json?: boolean }): Promise<void> {
  const { SCENARIOS } = await import('../backends/sim/index.js');
  if (flags.json) {
    ctx.io.stdout.write(`${JSON.stringify(SCENARIOS, null, 2)}\n`);
    return;
  }
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  // A scenario of several regions says so: it opens a world of its own, not the one-region world of the seed.
  for (const s of SCENARIOS) ctx.io.stdout.write(`${s.name.padEnd(width)}  ${s.description}${s.regions ? ` (--regions ${s.regions})` : ''}\n`);
}

export async function resetCommand(ctx: CommandContext, flags: { scenario?: string; seed?: string }): Promise<string[]> {
  const { resetSimState, SCENARIOS } = await import('../backends/sim/index.js');
  const config = await ctx.loadConfig();
  const scenario = flags.scenario ?? config.sim.scenario;
  if (!SCENARIOS.some((s) => s.name === scenario)) {
    throw new UsageError(`unknown scenario "${scenario}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  const seed = flags.seed === undefined ? config.sim.seed : seedFlag('--seed', flags.seed);
  const removed = resetSimState(config.stateDir, scenario, seed);
  ctx.io.stdout.write(
    removed.length > 0
      ? `reset the simulated world ${scenario}, seed ${seed} (removed ${removed.join(', ')}); the next start generates it afresh\n`
      : `the simulated world ${scenario}, seed ${seed} had no saved state; nothing to reset\n`,
  );
  return removed;
}
