// `nightshift resume [RUN]`: continue a run whose session died (or that was
// paused) from its journal. Steps already done are never run again; the step
// that was interrupted is checked with its isDone first.

import type { Command } from 'commander';
import type { GlobalFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { engineDeps } from '../actions/engine/deps.js';
import { createHeadlessGate } from '../actions/engine/gate.js';
import { createRedactor } from '../actions/engine/redact.js';
import { listResumableRuns, loadRun } from '../actions/engine/history.js';
import { resumeRun, type RunOutcome } from '../actions/engine/runner.js';
import { createReporter, targetLine } from '../actions/headless/reporter.js';
import { sameTarget } from '../domain/target.js';
import { getRunbook } from '../actions/runbooks/index.js';
import type { RunView } from '../actions/engine/run-view.js';
import { CommandFailed, UsageError } from '../errors.js';
import { interruptible } from './run.js';
import { runCluster } from '../actions/engine/cluster-params.js';
import { clusterLabel } from '../domain/scope.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface ResumeFlags {
  yes?: boolean;
  confirm?: string[];
  breakLock?: boolean;
  json?: boolean;
  /** `--speed` was on this command line: the simulated clock runs at it, not at the run's. */
  isSpeedGiven?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('resume')
    .description('continue an interrupted or paused run from its journal (without RUN: the only one there is)')
    .argument('[run]', 'run id or a unique prefix (see `nightshift runs`)')
    .option('--yes', 'pass caution gates and checkpoints')
    .option('--confirm <name>', 'pass a destructive gate by naming exactly what it destroys (repeatable)', collect, [])
    .option('--break-lock', 'break a stale cluster lock (with --confirm CLUSTER)')
    .option('--json', 'one JSON record per line instead of text')
    .action(async (run: string | undefined, flags: ResumeFlags, command: Command) => {
      const isSpeedGiven = command.optsWithGlobals<GlobalFlags>().speed !== undefined;
      await resumeCommand(ctx, run, { ...flags, isSpeedGiven });
    });
};

export async function resumeCommand(
  ctx: CommandContext,
  runArg: string | undefined,
  flags: ResumeFlags,
  signal?: AbortSignal,
): Promise<RunOutcome | undefined> {
  let config = await ctx.loadConfig();
  let runId = runArg;
  if (runId === undefined) {
    const resumable = listResumableRuns(config.stateDir);
    if (resumable.length === 0) {
      ctx.io.stdout.write('nothing to resume: no interrupted or paused runs\n');
      return undefined;
    }
    if (resumable.length > 1) {
      const list = resumable.map((r) => `  ${r.runId}  ${r.runbook} ${clusterLabel(runCluster(r))}  ${r.why}${r.atStep ? ` at "${r.atStep}"` : ''}`).join('\n');
      throw new UsageError(`${resumable.length} runs can be resumed; name one:\n${list}`);
    }
    runId = resumable[0]!.runId;
  }
  const loaded = loadRun(config.stateDir, runId);
  const view = loaded.view;
  const speed = simSpeedFor(config, view, flags.isSpeedGiven === true);
  config = speed.config;
  const backends = await ctx.openBackends(config);
  try {
    if (view.target && !sameTarget(view.target, backends.target)) {
      throw new UsageError(
        `run ${view.id} ran against ${targetLine(view.target)}, but this nightshift is looking at ${targetLine(backends.target)}; choose the same target to resume it`,
      );
    }
    if (!flags.json) ctx.io.stdout.write(`${targetLine(backends.target)}\n`);
    if (speed.note) (flags.json ? ctx.io.stderr : ctx.io.stdout).write(`${speed.note}\n`);
    const reporter = createReporter(ctx.io.stdout, { json: flags.json === true });
    reporter.seed(view);
    const gate = createHeadlessGate({ yes: flags.yes === true, confirm: flags.confirm ?? [], breakLock: flags.breakLock === true });
    const deps = engineDeps(config, backends, gate, reporter);
    const { signal: runSignal, dispose } = interruptible(signal);
    try {
      const outcome = await resumeRun(getRunbookOrFail, view.id, deps, runSignal);
      if (outcome.status !== 'succeeded') {
        throw new CommandFailed(createRedactor(config.secrets).text(`run ${outcome.runId} ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`));
      }
      return outcome;
    } finally {
      dispose();
    }
  } finally {
    await backends.close();
  }
}

function getRunbookOrFail(name: string) {
  return getRunbook(name);
}

/**
 * A run rehearsed on the simulated fleet resumes at the speed it was started
 * with: at the default ×1 a repair of seconds would take minutes. `--speed` on
 * the resume's own command line wins, and the output says the clock differs.
 */
export function simSpeedFor(config: Config, view: RunView, isSpeedGiven: boolean): { config: Config; note?: string } {
  const ran = view.target?.kind === 'sim' ? view.target.speed : undefined;
  if (config.target !== 'sim' || ran === undefined || ran === config.sim.speed) return { config };
  if (isSpeedGiven) {
    return { config, note: `note: the simulated clock runs at ×${config.sim.speed} (--speed), not at ×${ran} as run ${view.id} was started` };
  }
  return { config: { ...config, sim: { ...config.sim, speed: ran } } };
}
