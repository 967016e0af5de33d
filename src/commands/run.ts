// `nightshift run RUNBOOK --cluster NAME [--dry-run] [--yes] [--confirm NAME] [--json]`:
// a runbook headless, for cron and for the engineer who prefers lines.
// Exit 0 only when the run succeeded (or, with --dry-run, when it could run).

import type { Command } from 'commander';
import { engineDeps } from '../actions/engine/deps.js';
import { createHeadlessGate } from '../actions/engine/gate.js';
import { createRedactor } from '../actions/engine/redact.js';
import { executeRun, prepareRun, type RunOutcome } from '../actions/engine/runner.js';
import { RunAborted } from '../actions/engine/timing.js';
import { createReporter, targetLine } from '../actions/headless/reporter.js';
import { getRunbook, runbookNames } from '../actions/runbooks/index.js';
import type { AnyRunbook } from '../actions/engine/types.js';
import { READ_ONLY_STOP } from '../actions/console-runner.js';
import { CommandFailed, UsageError } from '../errors.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface RunFlags {
  cluster?: string;
  /** Where clusters of that name are in several accounts: which one (the global --region picks the region). */
  account?: string;
  node?: string;
  candidate?: string;
  source?: string;
  target?: string;
  via?: string;
  order?: string;
  /** false with --no-pause (commander's negation). */
  pause?: boolean;
  allOverdue?: boolean;
  param?: string[];
  dryRun?: boolean;
  yes?: boolean;
  confirm?: string[];
  override?: string[];
  breakLock?: boolean;
  targetMinutes?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('run')
    .description('run a runbook headless: preflight, plan, gates by flag, journal; exit 0 only on success')
    .argument('<runbook>', `the runbook: ${runbookNames().join(', ')}`)
    .option('--cluster <name>', 'the cluster to act on (where the name is in several regions, the global --region picks one)')
    .option('--account <id>', 'where clusters of that name are in several accounts in one region: which one')
    .option('--node <name>', 'repair: this node instead of the least recently repaired one')
    .option('--candidate <name>', 'switchover, failover: promote this replica instead of the one the runbook would choose')
    .option('--source <name>', 'rebuild: take the backup from this replica instead of the least lagging healthy one')
    .option('--target <name>', 'rebuild: rebuild this spare host instead of launching a new instance')
    .option('--via <way>', 'rebuild, rotate (MySQL): how the copy moves: ebs (default where EBS exists) or stream')
    .option('--order <nodes>', 'rotate: oldest (every instance on an older launch template, oldest first; the default) or NODE,NODE… in that order')
    .option('--no-pause', 'rotate: no operator checkpoint between instances')
    .option('--all-overdue', 'repair: every overdue or never-repaired node, oldest first, one at a time (checkpoint between nodes)')
    .option('--param <key=value>', 'a runbook parameter (repeatable)', collect, [])
    .option('--dry-run', 'run preflight and print the full plan; change nothing')
    .option('--yes', 'pass caution gates (y/N) and operator checkpoints')
    .option('--confirm <name>', 'pass a destructive gate by naming exactly what it destroys (repeatable)', collect, [])
    .option('--override <check>', 'override a failed preflight check that allows it (with --confirm CLUSTER)', collect, [])
    .option('--break-lock', 'break a stale cluster lock left by a dead run (with --confirm CLUSTER)')
    .option('--target-minutes <n>', 'target recovery time, for `show` to compare against')
    .option('--json', 'one JSON record per line instead of text')
    .action(async (runbook: string, flags: RunFlags) => {
      await runCommand(ctx, runbook, flags);
    });
};

/** The command's body, callable from tests with their own context and signal. */
export async function runCommand(ctx: CommandContext, runbookName: string, flags: RunFlags, signal?: AbortSignal): Promise<RunOutcome> {
  const runbook = getRunbook(runbookName);
  if (!runbook) throw new UsageError(`no runbook "${runbookName}"; there are: ${runbookNames().join(', ')}`);
  checkOverrides(runbook, flags.override ?? []);
  const params = buildParams(flags);
  const targetSeconds = flags.targetMinutes !== undefined ? positive('--target-minutes', flags.targetMinutes) * 60 : undefined;

  const config = await ctx.loadConfig();
  const backends = await ctx.openBackends(config);
  const reporter = createReporter(ctx.io.stdout, { json: flags.json === true });
  if (!flags.json) ctx.io.stdout.write(`${targetLine(backends.target)}${config.readOnly ? ' · READ-ONLY' : ''}\n`);
  const gate = createHeadlessGate({
    yes: flags.yes === true,
    confirm: flags.confirm ?? [],
    overrides: flags.override ?? [],
    breakLock: flags.breakLock === true,
  });
  const deps = engineDeps(config, backends, gate, reporter);
  const { signal: runSignal, dispose } = interruptible(signal);
  // The engine redacts what it reports; the outcome it returns is for the program, and this line is for the operator.
  const redact = createRedactor(config.secrets);
  try {
    const prepared = await prepareRun(runbook, params, deps, runSignal);
    if (flags.dryRun) {
      if (prepared.blocked) throw new CommandFailed(redact.text(`dry run: the run would be blocked: ${prepared.blocked}`));
      if (!flags.json) ctx.io.stdout.write('dry run: nothing was changed\n');
      return { runId: prepared.runId, status: 'succeeded' };
    }
    // Read-only stops at the plan, as --dry-run does, before any lock or journal:
    // every change would be refused at the backend layer, the lock first.
    if (config.readOnly) {
      if (prepared.blocked) throw new CommandFailed(redact.text(`read-only: the run would be blocked: ${prepared.blocked}`));
      (flags.json ? ctx.io.stderr : ctx.io.stdout).write(`${READ_ONLY_STOP}\n`);
      return { runId: prepared.runId, status: 'succeeded' };
    }
    const outcome = await executeRun(prepared, deps, runSignal, targetSeconds !== undefined ? { targetSeconds } : {});
    if (outcome.status !== 'succeeded') {
      throw new CommandFailed(redact.text(`run ${outcome.runId} ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`));
    }
    return outcome;
  } finally {
    dispose();
    await backends.close();
  }
}

export function buildParams(flags: Pick<RunFlags, 'cluster' | 'account' | 'node' | 'candidate' | 'allOverdue' | 'param' | 'source' | 'target' | 'via' | 'order' | 'pause'>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const p of flags.param ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, not "${p}"`);
    const key = p.slice(0, eq);
    const raw = p.slice(eq + 1);
    params[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  if (flags.cluster !== undefined) params.cluster = flags.cluster;
  if (flags.account !== undefined) params.account = flags.account;
  if (flags.node !== undefined) params.node = flags.node;
  if (flags.candidate !== undefined) params.candidate = flags.candidate;
  if (flags.source !== undefined) params.source = flags.source;
  if (flags.target !== undefined) params.target = flags.target;
  if (flags.via !== undefined) params.via = flags.via;
  if (flags.order !== undefined) params.order = flags.order;
  // commander reads --no-pause as pause=false.
  if (flags.pause === false) params.noPause = true;
  if (flags.allOverdue) params.allOverdue = true;
  return params;
}

/**
 * The gate reads --override only for a failed check that allows it, so a
 * mistyped one would be ignored and the run blocked with no word on why:
 * exit 2 at once, with the checks the runbook has.
 */
export function checkOverrides(runbook: AnyRunbook, overrides: readonly string[]): void {
  if (overrides.length === 0) return;
  let checks: ReadonlyArray<{ id: string; overridable?: boolean }>;
  try {
    // Every runbook's list of checks is fixed (its checks read the context only when they run); one
    // that builds its list from the context would throw here, and the gate alone still applies.
    checks = runbook.preflight(undefined as never);
  } catch {
    return;
  }
  const allowed = checks.filter((c) => c.overridable === true).map((c) => c.id);
  const canOverride =
    allowed.length > 0
      ? `the checks of ${runbook.name} that --override takes: ${allowed.join(', ')} (with --confirm CLUSTER)`
      : `no check of ${runbook.name} can be overridden (its checks: ${checks.map((c) => c.id).join(', ')})`;
  for (const id of overrides) {
    if (allowed.includes(id)) continue;
    const known = checks.some((c) => c.id === id);
    throw new UsageError(
      known ? `--override ${id}: the check "${id}" of ${runbook.name} cannot be overridden; ${canOverride}` : `--override ${id}: ${runbook.name} has no check "${id}"; ${canOverride}`,
    );
  }
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} takes a positive number, not "${value}"`);
  return n;
}

/**
 * Ctrl-C (or SIGTERM from cron) aborts the run cleanly: the step's signal fires,
 * compensations run, the lock is released and the journal says so.
 */
export function interruptible(outer?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: string) => () => controller.abort(new RunAborted(`interrupted by ${name}`));
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
