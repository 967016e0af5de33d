// `nightshift resume [RUN]`: continue a run whose session died (or that was
// paused) from its journal. Steps already done are never run again; the step
// that was interrupted is checked with its isDone first.

import type { Command } from 'commander';
import { engineDeps } from '../actions/engine/deps.js';
import { createHeadlessGate } from '../actions/engine/gate.js';
import { createRedactor } from '../actions/engine/redact.js';
import { listResumableRuns, loadRun } from '../actions/engine/history.js';
import { resumeRun, type RunOutcome } from '../actions/engine/runner.js';
import { createReporter, targetLine } from '../actions/headless/reporter.js';
import { sameTarget } from '../domain/target.js';
import { getRunbook } from '../actions/runbooks/index.js';
import type { Target } from '../domain/types.js';
import { CommandFailed, UsageError } from '../errors.js';
import { interruptible } from './run.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface ResumeFlags {
  yes?: boolean;
  confirm?: string[];
  breakLock?: boolean;
  json?: boolean;
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
    .action(async (run: string | undefined, flags: ResumeFlags) => {
      await resumeCommand(ctx, run, flags);
    });
};

export async function resumeCommand(
  ctx: CommandContext,
  runArg: string | undefined,
  flags: ResumeFlags,
  signal?: AbortSignal,
): Promise<RunOutcome | undefined> {
  const config = await ctx.loadConfig();
  let runId = runArg;
  if (runId === undefined) {
    const resumable = listResumableRuns(config.stateDir);
    if (resumable.length === 0) {
      ctx.io.stdout.write('nothing to resume: no interrupted or paused runs\n');
      return undefined;
    }
    if (resumable.length > 1) {
      const list = resumable.map((r) => `  ${r.runId}  ${r.runbook} ${r.cluster}  ${r.why}${r.atStep ? ` at "${r.atStep}"` : ''}`).join('\n');
      throw new UsageError(`${resumable.length} runs can be resumed; name one:\n${list}`);
    }
    runId = resumable[0]!.runId;
  }
  const loaded = loadRun(config.stateDir, runId);
  const view = loaded.view;
  const backends = await ctx.openBackends(config);
  try {
    if (view.target && !sameTarget(view.target, backends.target)) {
      throw new UsageError(
        `run ${view.id} ran against ${targetLine(view.target)}, but this nightshift is looking at ${targetLine(backends.target)}; choose the same target to resume it`,
      );
    }
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

/** Same fleet, whatever the speed: a run on one world must not be resumed on another. */
