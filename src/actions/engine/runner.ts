// The runner every runbook uses: preflight, plan, gates, lock, journal,
// steps with timeouts and retries, compensation, and resume. It knows no
// runbook and no backend: it drives Step objects over the ports.

import { runCluster, scopeFlags, scopeOfParams } from './cluster-params.js';
import type { Backends } from '../../backends/ports.js';
import { UsageError } from '../../errors.js';
import { clusterLabel, pickFlags, resolveCluster } from '../../domain/scope.js';
import type { Instance } from '../../domain/types.js';
import { reduceRun, type RunView } from './run-view.js';
import { typedMatches, type ConfirmRequest, type FailureChoice, type Gate } from './gate.js';
import { currentHost, currentUser, isProcessAlive, newRunId } from './ids.js';
import { assessHolder } from './lock-holder.js';
import { Journal, journalPath, readJournal, stamp, type JournalRead } from './journal.js';
import { DEFAULT_OUTPUT_LIMITS, StepOutput, type OutputLimits, type OutputWrite } from './output.js';
import { isJournaled, type CheckResult, type PlanStep, type RunEvent, type RunRecord, type RunStatus } from './records.js';
import { createRedactor, type Redactor } from './redact.js';
import { errorMessage, formatDuration, RunAborted, StepFailed, StepTimeoutError, withRetry, withTimeout } from './timing.js';
import type { AnyRunbook, AnyStep, Json, PreviousAttempts, Progress, RunConfig, RunContext, StepContext } from './types.js';

/** How long a preflight check may take (fleet clock) before it counts as failed. */
const CHECK_TIMEOUT_MS = 120_000;
/** Preflight results older than this (real time) are checked again when the run starts. */
const PREFLIGHT_FRESH_MS = 60_000;

export interface EngineDeps {
  backends: Backends;
  config: RunConfig & { stateDir: string };
  gate: Gate;
  /** Every event, journaled or not, already redacted: the run store, the headless reporter. */
  onEvent?: (record: RunRecord) => void;
  /** user@host; default the current user. */
  who?: string;
  host?: string;
  pid?: number;
  outputLimits?: OutputLimits;
  /** Real clock (journal stamps, real durations). */
  now?: () => number;
  isProcessAlive?: (pid: number) => boolean;
}

export interface PreparedRun {
  runId: string;
  runbook: AnyRunbook;
  params: unknown;
  ctx: RunContext<unknown, Json>;
  steps: AnyStep[];
  plan: PlanStep[];
  preflight: CheckResult[];
  /** Why the run cannot start; absent when it can. */
  blocked?: string;
  /** Overrides and their gate decisions, journaled when the run starts. */
  overrides: Array<{ checkId: string; reason: string; via: string }>;
  /** Real ms when preflight ran. */
  preparedAt: number;
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  reason?: string;
  journal?: string;
}

/** Ends the run from anywhere inside it with a status and a reason. */
class RunEnd extends Error {
  constructor(
    public status: RunStatus,
    reason: string,
  ) {
    super(reason);
  }
}

/** The open critical section ran past its budget. */
class SectionOverrun extends Error {
  override name = 'SectionOverrun';
}

/** What an undo did, in the run's last words: a stop gives back what the run held; anything else rolls back. */
function undone(step: AnyStep, only: 'holds' | undefined): string {
  return only === 'holds' && step.holds ? `gave back ${step.holds}` : `rolled back "${step.title}"`;
}

/** How many times a compensation is tried, and the first pause between tries (doubling), before the undo says it failed. */
const UNDO_ATTEMPTS = 3;
const UNDO_BACKOFF_MS = 1_000;

/** How often, and how patiently, the lock is released before the run says it still holds it. */
const LOCK_RELEASE_ATTEMPTS = 5;
const LOCK_RELEASE_BACKOFF_MS = 1_000;

class JournalBroken extends Error {
  override name = 'JournalBroken';
}

// ---------------------------------------------------------------- prepare

/** Parses the params, runs preflight and builds the plan. Read-only: `--dry-run` is this and nothing more. */
export async function prepareRun(
  runbook: AnyRunbook,
  rawParams: unknown,
  deps: EngineDeps,
  signal: AbortSignal,
): Promise<PreparedRun> {
  const parsed = runbook.params.safeParse(rawParams);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new UsageError(`${runbook.name}: ${where}${issue.message}`);
  }
  const params = parsed.data;
  const clock = deps.backends.clock;
  const now = deps.now ?? Date.now;
  const runId = newRunId(runbook.name, new Date(now()));
  const cluster = runbook.cluster(params);
  await scopeParams(runbook, cluster, params, deps, signal);
  const ctx: RunContext<unknown, Json> = {
    backends: deps.backends,
    config: deps.config,
    params,
    state: runbook.initialState(params) as Json,
    run: {
      id: runId,
      runbook: runbook.name,
      cluster,
      ...scopeOfParams(params),
      startedAt: new Date(clock.now()).toISOString(),
      startedAtMs: clock.now(),
      who: deps.who ?? currentUser(),
    },
    scratch: new Map(),
  };
  const prepared: PreparedRun = {
    runId,
    runbook,
    params,
    ctx,
    steps: [],
    plan: [],
    preflight: [],
    overrides: [],
    preparedAt: now(),
  };
  const redactor = createRedactor(deps.config.secrets);
  const emit = (event: RunEvent) => deps.onEvent?.(redactor.deep(stamp(runId, clock.now(), event, new Date(now()))));

  const checked = await runChecks(prepared, deps, signal, emit);
  prepared.preflight = checked.results;
  if (checked.blocked) {
    prepared.blocked = checked.blocked;
  } else {
    try {
      await runbook.prepare?.(ctx, signal);
      prepared.steps = runbook.plan(ctx);
      assertWellFormed(runbook, prepared.steps);
      prepared.plan = prepared.steps.map((s) => toPlanStep(s, ctx));
      const missing = prepared.plan.find((p) => p.unavailable && !p.canSkip);
      if (missing) prepared.blocked = `step "${missing.title}" cannot run on this target: ${missing.unavailable}`;
    } catch (err) {
      if (signal.aborted) throw err;
      prepared.blocked = `could not build the plan: ${errorMessage(err)}`;
    }
  }
  emit({
    type: 'planned',
    runbook: runbook.name,
    title: runbook.title,
    cluster,
    ...scopeOfParams(params),
    plan: prepared.plan,
    preflight: prepared.preflight,
    ...(prepared.blocked ? { blocked: prepared.blocked } : {}),
  });
  return prepared;
}

/**
 * `--cluster orders` against what this process sees: the one cluster so named
 * gives its region and account to the params, so the journal records them and
 * a resume in a wider view finds the same cluster. Several so named (or none in
 * the region asked for) are refused with the flags that pick each; no cluster
 * of that name at all, or a discovery that fails, is left to the preflight,
 * which says so as before regions.
 */
async function scopeParams(runbook: AnyRunbook, name: string, params: unknown, deps: EngineDeps, signal: AbortSignal): Promise<void> {
  if (typeof params !== 'object' || params === null) return;
  let found;
  try {
    found = await deps.backends.inventory.discover({ signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return;
  }
  const r = resolveCluster(found.clusters, { name, ...scopeOfParams(params) });
  if (r.ok) {
    const p = params as { region?: string; account?: string };
    if (r.cluster.region !== undefined) p.region = r.cluster.region;
    if (r.cluster.account !== undefined) p.account = r.cluster.account;
    return;
  }
  if (r.candidates.length === 0) return;
  const pick = r.candidates.map((c) => `  nightshift run ${runbook.name} --cluster ${c.name} ${pickFlags(c, r.candidates)}`.trimEnd()).join('\n');
  throw new UsageError(`${runbook.name}: ${r.reason}; name one:\n${pick}`);
}

/** What the typed name stands for where the run's cluster has a region: ` (the cluster orders · eu-west-1)`; '' where the name is all there is. */
function typedNote(run: RunContext<unknown, Json>['run']): string {
  const label = clusterLabel(runCluster(run));
  return label === run.cluster ? '' : ` (the cluster ${label})`;
}

async function runChecks(
  prepared: PreparedRun,
  deps: EngineDeps,
  signal: AbortSignal,
  emit: (e: RunEvent) => void,
): Promise<{ results: CheckResult[]; blocked?: string }> {
  const { runbook, ctx } = prepared;
  const checks = runbook.preflight(ctx);
  const results: CheckResult[] = [];
  let blocked: string | undefined;
  for (const check of checks) {
    const overridable = check.overridable === true;
    if (blocked) {
      results.push({ id: check.id, title: check.title, status: 'not-run', detail: 'not run: an earlier check failed', overridable });
      continue;
    }
    let outcome;
    try {
      // A backstop for the operator waiting at the screen: real minutes. On a simulated fleet
      // running ×N, nightshift's own work costs N× its real time in fleet time, and a loaded
      // machine would otherwise time checks out that only waited for the CPU.
      const speed = Math.max(1, deps.backends.clock.speed);
      outcome = await withTimeout(deps.backends.clock, CHECK_TIMEOUT_MS * speed, signal, (s) => check.run(ctx, s));
    } catch (err) {
      if (signal.aborted) throw err;
      outcome = { ok: false as const, reason: err instanceof StepTimeoutError ? `timed out after ${formatDuration(CHECK_TIMEOUT_MS)}` : errorMessage(err) };
    }
    if (outcome.ok) {
      results.push({ id: check.id, title: check.title, status: 'ok', detail: outcome.detail, overridable });
      continue;
    }
    const already = prepared.overrides.find((o) => o.checkId === check.id);
    if (overridable && already) {
      results.push({ id: check.id, title: check.title, status: 'overridden', detail: outcome.reason, overridable });
      continue;
    }
    if (overridable) {
      const expected = ctx.run.cluster;
      const request: ConfirmRequest = {
        kind: 'override',
        stepId: check.id,
        title: `preflight check failed: ${check.title}`,
        question: `Override this check and run anyway? Type ${expected}${typedNote(ctx.run)} to override.`,
        details: [outcome.reason],
        expected,
      };
      const reply = await deps.gate.confirm(request, signal);
      const approved = reply.approved && typedMatches(reply.typed, expected);
      emit({
        type: 'gate',
        kind: 'override',
        stepId: check.id,
        decision: approved ? 'overridden' : 'refused',
        via: reply.via,
        ...(reply.missing ? { detail: `missing ${reply.missing}` } : reply.approved && !approved ? { detail: `typed "${reply.typed ?? ''}", not "${expected}"` } : {}),
      });
      if (approved) {
        prepared.overrides.push({ checkId: check.id, reason: outcome.reason, via: reply.via });
        results.push({ id: check.id, title: check.title, status: 'overridden', detail: outcome.reason, overridable });
        continue;
      }
      results.push({ id: check.id, title: check.title, status: 'failed', detail: outcome.reason, overridable });
      blocked = `preflight "${check.title}" failed: ${outcome.reason}${reply.missing ? ` (to override: ${reply.missing})` : ''}`;
      continue;
    }
    results.push({ id: check.id, title: check.title, status: 'failed', detail: outcome.reason, overridable });
    blocked = `preflight "${check.title}" failed: ${outcome.reason}`;
  }
  return { results, ...(blocked ? { blocked } : {}) };
}

function assertWellFormed(runbook: AnyRunbook, steps: AnyStep[]): void {
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.id)) throw new Error(`runbook ${runbook.name}: two steps with id "${s.id}"`);
    seen.add(s.id);
    // Resume relies on it: without isDone a half-done mutating step would have to be run blind.
    if (s.mutates && s.kind !== 'checkpoint' && !s.isDone) {
      throw new Error(`runbook ${runbook.name}: mutating step "${s.id}" has no isDone, so it could not be resumed safely`);
    }
  }
}

function toPlanStep(step: AnyStep, ctx: RunContext<unknown, Json>): PlanStep {
  const node = safe(() => step.node?.(ctx));
  const missing = (step.needs ?? []).filter((port) => !ctx.backends[port]);
  const unavailable =
    missing.length > 0
      ? missing.map((p) => `${p}: ${ctx.backends.unavailable?.[p] ?? `no ${p} API on this target`}`).join('; ')
      : undefined;
  return {
    id: step.id,
    title: step.title,
    kind: step.kind ?? 'action',
    danger: step.danger,
    mutates: step.mutates,
    ...(step.group ? { group: step.group } : {}),
    describe: safe(() => step.describe(ctx)) ?? ['(the commands depend on earlier steps)'],
    ...(node ? { node: { id: node.id, name: node.name } } : {}),
    ...(unavailable ? { unavailable } : {}),
    ...(step.canSkip !== undefined ? { canSkip: step.canSkip } : {}),
    ...(step.compensate ? { compensation: safe(() => step.compensate!.describe(ctx)) ?? [] } : {}),
    ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
  };
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- execute

export interface ExecuteOptions {
  /** Target recovery time in seconds, journaled for `show`. */
  targetSeconds?: number;
}

/** Runs a prepared plan. Resolves with the outcome; rejects only on programming errors. */
export async function executeRun(
  prepared: PreparedRun,
  deps: EngineDeps,
  signal: AbortSignal,
  opts: ExecuteOptions = {},
): Promise<RunOutcome> {
  const now = deps.now ?? Date.now;
  if (!prepared.blocked && now() - prepared.preparedAt > PREFLIGHT_FRESH_MS) {
    // The operator read the plan for a while: the fleet may have changed under it.
    const redactor = createRedactor(deps.config.secrets);
    const emit = (event: RunEvent) =>
      deps.onEvent?.(redactor.deep(stamp(prepared.runId, deps.backends.clock.now(), event, new Date(now()))));
    const again = await runChecks(prepared, deps, signal, emit);
    prepared.preflight = again.results;
    if (again.blocked) prepared.blocked = again.blocked;
    prepared.preparedAt = now();
  }
  const exec = new Execution(deps, prepared.runbook, prepared.ctx, prepared.steps, prepared.plan);
  return exec.start(prepared, signal, opts);
}

/** Continues an interrupted (or paused) run from its journal. */
export async function resumeRun(
  runbook: AnyRunbook | ((name: string) => AnyRunbook | undefined),
  runId: string,
  deps: EngineDeps,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const path = journalPath(deps.config.stateDir, runId);
  const read = readJournal(path);
  let view: RunView | undefined;
  for (const r of read.records) view = reduceRun(view, r);
  if (!view || !view.runbook || view.startedVt === undefined) {
    throw new UsageError(`run ${runId}: its journal has no run-started record, so there is nothing to resume`);
  }
  if (view.status !== 'running' && view.status !== 'paused') {
    throw new UsageError(`run ${runId} already finished (${view.status}${view.reason ? `: ${view.reason}` : ''}); start a new run instead`);
  }
  // A simulated fleet's fast clock died with the killed process; its journal saw that time, and the fleet's never runs back.
  const seenVt = read.records.at(-1)?.vt;
  if (seenVt !== undefined) deps.backends.clock.catchUp?.(seenVt);
  const alive = deps.isProcessAlive ?? isProcessAlive;
  if (view.status === 'running' && view.host === (deps.host ?? currentHost()) && view.pid !== undefined && view.pid !== (deps.pid ?? process.pid) && alive(view.pid)) {
    throw new UsageError(`run ${runId} is still running (pid ${view.pid} on this host); it cannot be resumed twice`);
  }
  const rb = typeof runbook === 'function' ? runbook(view.runbook) : runbook;
  if (!rb || rb.name !== view.runbook) throw new UsageError(`run ${runId} used runbook "${view.runbook}", which this nightshift does not know`);
  const params = rb.params.parse(view.params);
  const ctx: RunContext<unknown, Json> = {
    backends: deps.backends,
    config: deps.config,
    params,
    state: (view.state ?? rb.initialState(params)) as Json,
    run: {
      id: runId,
      runbook: rb.name,
      cluster: view.cluster,
      ...scopeOfParams(params),
      startedAt: view.startedAt ?? new Date(view.startedVt).toISOString(),
      startedAtMs: view.startedVt,
      who: view.who ?? 'unknown',
    },
    scratch: new Map(),
  };
  const steps = rb.plan(ctx);
  assertWellFormed(rb, steps);
  const ids = steps.map((s) => s.id).join(',');
  const journaled = view.steps.map((s) => s.id).join(',');
  if (ids !== journaled) {
    throw new UsageError(`run ${runId}: the ${rb.name} runbook's steps changed since the run started (${journaled} → ${ids}); it cannot be resumed`);
  }
  const plan = steps.map((s) => toPlanStep(s, ctx));
  const exec = new Execution(deps, rb, ctx, steps, plan);
  return exec.resume(path, view, read, signal);
}

interface StepHistory {
  status: string;
  attempts: number;
  previous: PreviousAttempts;
}

class Execution {
  private journal: Journal | undefined;
  private readonly redactor: Redactor;
  private readonly now: () => number;
  private isLockHeld = false;
  /** Some mutating step completed: stopping now leaves the cluster half-way. */
  private hasChanged = false;
  private readonly history = new Map<string, StepHistory>();
  /** Compensations finished, by step id: an undo cut short by a crash goes on from here. */
  private readonly undone = new Map<string, 'ok' | 'failed'>();
  /** The critical section open now, with the timer that ends it at its deadline. */
  private section: { name: string; stepId: string; deadlineVt: number; overrun: AbortController; timer: AbortController } | undefined;
  /** Steps whose outcome a damaged journal line hides; only their isDone may let the run go on. */
  private uncertain = new Map<string, { line: number; problem: string }>();
  private startedReal = 0;
  private startedVt = 0;
  private outcome: RunOutcome | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly runbook: AnyRunbook,
    private readonly ctx: RunContext<unknown, Json>,
    private readonly steps: AnyStep[],
    private readonly plan: PlanStep[],
  ) {
    this.redactor = createRedactor(deps.config.secrets);
    this.now = deps.now ?? Date.now;
  }

  private historyOf(stepId: string): StepHistory {
    let h = this.history.get(stepId);
    if (!h) {
      h = { status: 'pending', attempts: 0, previous: { count: 0, output: '', facts: {} } };
      this.history.set(stepId, h);
    }
    return h;
  }

  private get clock() {
    return this.deps.backends.clock;
  }

  /** The run's region and account, on the records that name its cluster (the lock's). */
  private get scope(): { region?: string; account?: string } {
    const { region, account } = this.ctx.run;
    return { ...(region !== undefined ? { region } : {}), ...(account !== undefined ? { account } : {}) };
  }

  private get runId() {
    return this.ctx.run.id;
  }

  private emit(event: RunEvent): void {
    const record = stamp(this.runId, this.clock.now(), event, new Date(this.now()));
    if (event.type === 'step-finished') {
      this.historyOf(event.stepId).status = event.status;
    } else if (event.type === 'step-started') {
      const h = this.historyOf(event.stepId);
      h.status = 'running';
      h.attempts = event.attempt;
    } else if (event.type === 'step-fact') {
      // Later facts win, as in the journal's fold: isDone before a retry reads them.
      Object.assign(this.historyOf(event.stepId).previous.facts, event.facts);
    } else if (event.type === 'compensation' && event.status !== 'started') {
      this.undone.set(event.stepId, event.status);
    }
    if (isJournaled(event) && this.journal) {
      try {
        this.journal.append(record);
      } catch (err) {
        throw new JournalBroken(`could not write the journal ${this.journal.path}: ${errorMessage(err)}`);
      }
    }
    this.deps.onEvent?.(this.redactor.deep(record));
  }

  async start(prepared: PreparedRun, signal: AbortSignal, opts: ExecuteOptions): Promise<RunOutcome> {
    const { ctx } = this;
    this.startedReal = this.now();
    this.startedVt = this.clock.now();
    ctx.run.startedAt = new Date(this.startedVt).toISOString();
    ctx.run.startedAtMs = this.startedVt;
    this.journal = Journal.create(this.deps.config.stateDir, this.runId, { redactor: this.redactor });
    this.emit({
      type: 'run-started',
      runbook: this.runbook.name,
      title: this.runbook.title,
      cluster: ctx.run.cluster,
      who: ctx.run.who,
      host: this.deps.host ?? currentHost(),
      pid: this.deps.pid ?? process.pid,
      target: this.deps.backends.target,
      params: prepared.params as Json,
      plan: this.plan,
      preflight: prepared.preflight,
      startedAt: ctx.run.startedAt,
      speed: this.clock.speed,
      state: ctx.state,
      ...(opts.targetSeconds !== undefined ? { targetSeconds: opts.targetSeconds } : {}),
    });
    for (const o of prepared.overrides) this.emit({ type: 'override', checkId: o.checkId, reason: o.reason, via: o.via });
    if (prepared.blocked) return this.finish({ status: 'blocked', reason: prepared.blocked });
    return this.loop(0, signal);
  }

  async resume(path: string, view: RunView, read: JournalRead, signal: AbortSignal): Promise<RunOutcome> {
    const { records } = read;
    this.startedReal = view.startedAtReal ? Date.parse(view.startedAtReal) : this.now();
    this.startedVt = view.startedVt ?? this.clock.now();
    const interruptedUndo = new Set<string>();
    for (const c of view.compensations) {
      if (c.status === 'started') interruptedUndo.add(c.stepId);
      else {
        interruptedUndo.delete(c.stepId);
        this.undone.set(c.stepId, c.status as 'ok' | 'failed');
      }
    }
    for (const s of view.steps) {
      const output = records
        .filter((r): r is Extract<RunRecord, { type: 'step-output' }> => r.type === 'step-output' && r.stepId === s.id)
        .map((r) => r.text)
        .join('');
      this.history.set(s.id, { status: s.status, attempts: s.attempts, previous: { count: s.attempts, output, facts: { ...s.facts } } });
      if (s.mutates && (s.status === 'ok' || s.status === 'running' || s.status === 'failed')) this.hasChanged = true;
    }
    const from = view.steps.findIndex((s) => s.status !== 'ok' && s.status !== 'skipped');
    this.uncertain = damagedAt(read, view, from);
    this.journal = Journal.reopen(path, { redactor: this.redactor });
    this.emit({
      type: 'run-resumed',
      who: this.deps.who ?? currentUser(),
      host: this.deps.host ?? currentHost(),
      pid: this.deps.pid ?? process.pid,
      ...(from >= 0 ? { fromStep: view.steps[from]!.id } : {}),
      ...(read.torn !== undefined ? { tornRecord: true } : {}),
    });
    try {
      // Re-take the lock (or find it still ours) before touching anything.
      if (view.undo || this.steps.slice(Math.max(0, from)).some((s) => s.mutates) || view.lock?.action === 'acquired') {
        await this.takeLock(signal);
      }
    } catch (err) {
      return this.finishFrom(err);
    }
    try {
      // A crash during the undo: finish the undo, never go forward.
      if (view.undo && !view.undo.finished) {
        const at = Math.max(0, this.steps.findIndex((s) => s.id === view.undo!.fromStep));
        const undone = await this.undo(at, view.undo.status, view.undo.reason, { interrupted: interruptedUndo }, view.undo.only);
        return await this.finish({ status: view.undo.status, reason: [view.undo.reason, undone, this.leftBehind(at)].filter(Boolean).join('; ') });
      }
      const section = view.section;
      // The step that closes the section finished, and the kill came before the record
      // saying the section closed: it is closed; undoing a finished promotion would be wrong.
      const closer = section?.state === 'open' ? this.steps.find((s) => s.closesSection === section.name) : undefined;
      if (section?.state === 'open' && closer && this.history.get(closer.id)?.status === 'ok') {
        this.emit({ type: 'section', action: 'closed', name: section.name, stepId: section.stepId, budgetMs: section.budgetMs, deadlineVt: section.deadlineVt });
      } else if (section?.state === 'open') {
        const opener = this.steps.find((s) => s.id === section.stepId);
        const last = Math.max(0, from < 0 ? this.steps.length - 1 : from);
        if (!opener?.opensSection || this.clock.now() >= section.deadlineVt) {
          // The budget ran out while nightshift was away: the section is left the only safe way.
          this.emit({ type: 'section', action: 'overrun', name: section.name, stepId: section.stepId, budgetMs: section.budgetMs, deadlineVt: section.deadlineVt });
          const reason = `critical section "${section.name}" ran over its budget of ${formatDuration(section.budgetMs)} while the run was interrupted`;
          return await this.leaveByUndo(last, 'failed', reason);
        }
        this.openSection(opener, section.deadlineVt, false);
      }
    } catch (err) {
      return this.finishFrom(err);
    }
    return this.loop(from < 0 ? this.steps.length : from, signal);
  }

  private async loop(from: number, signal: AbortSignal): Promise<RunOutcome> {
    let failedAt = -1;
    try {
      for (let i = from; i < this.steps.length; i++) {
        if (signal.aborted) throw new RunAborted(abortReason(signal));
        failedAt = i;
        await this.runStep(i, signal);
      }
      failedAt = -1;
      return await this.finish({ status: 'succeeded' });
    } catch (err) {
      if (err instanceof JournalBroken) return this.finishFrom(err);
      const end = toRunEnd(err, signal);
      const section = this.section;
      if (section?.overrun.signal.aborted) {
        end.status = 'failed';
        end.message = errorMessage(section.overrun.signal.reason);
      }
      // Inside a critical section every way out is through the undo; elsewhere only failure and abort undo.
      const isUndo = failedAt >= 0 && (end.status === 'failed' || end.status === 'aborted' || (section !== undefined && end.status !== 'refused'));
      if (section && isUndo && (end.status === 'paused' || end.status === 'stopped')) {
        end.status = 'stopped';
        end.message += `; inside "${section.name}", so the run is undone rather than left half-way`;
      }
      if (isUndo) return this.leaveByUndo(failedAt, end.status, end.message);
      // A stop keeps what was done, but gives back what the run held (suspended processes).
      if (end.status === 'stopped' && failedAt >= 0) return this.leaveByUndo(failedAt, end.status, end.message, 'holds');
      return this.finish({ status: end.status, reason: end.message });
    }
  }

  /** Runs the undo from `fromIndex` back, journaled so a crash resumes into it, then ends the run. */
  private async leaveByUndo(fromIndex: number, status: RunStatus, reason: string, only?: 'holds'): Promise<RunOutcome> {
    this.section?.timer.abort();
    const undone = await this.undo(fromIndex, status, reason, undefined, only);
    if (this.section) this.closeSection('closed');
    const left = only ? undefined : this.leftBehind(fromIndex);
    return this.finish({ status, reason: [reason, undone, left].filter(Boolean).join('; ') });
  }

  /**
   * What a run that gives up leaves standing, for the operator who takes over:
   * the changes no undo took back (a step without one, or whose undo failed),
   * a failed step that may have acted before it failed, and the steps from
   * `fromIndex` on that did not finish. Nothing when every change was undone.
   */
  private leftBehind(fromIndex: number): string | undefined {
    const named = (s: AnyStep) => {
      const node = safe(() => s.node?.(this.ctx));
      return `"${s.title}"${node ? ` (${node.name})` : ''}`;
    };
    const kept = (s: AnyStep, ...statuses: string[]) =>
      s.mutates && statuses.includes(this.history.get(s.id)?.status ?? '') && this.undone.get(s.id) !== 'ok';
    const stands = this.steps.filter((s) => kept(s, 'ok'));
    const maybe = this.steps.filter((s) => kept(s, 'failed', 'running'));
    if (stands.length === 0 && maybe.length === 0) return undefined;
    const open = this.steps.slice(fromIndex).filter((s) => {
      const st = this.history.get(s.id)?.status;
      return st !== 'ok' && st !== 'skipped' && !maybe.includes(s);
    });
    return [
      stands.length > 0 ? `done and left as it is: ${stands.map(named).join(', ')}` : '',
      maybe.length > 0 ? `failed, and may have acted before it did: ${maybe.map(named).join(', ')}` : '',
      open.length > 0 ? `not done: ${open.map(named).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }

  private async runStep(i: number, runSignal: AbortSignal): Promise<void> {
    const step = this.steps[i]!;
    const planned = this.plan[i]!;
    const past = this.history.get(step.id);
    if (past && (past.status === 'ok' || past.status === 'skipped')) return;

    if (planned.unavailable) {
      // prepare blocks unskippable ones; these are safe to leave out.
      this.emit({ type: 'step-finished', stepId: step.id, status: 'skipped', via: 'unavailable', realMs: 0, virtualMs: 0, detail: planned.unavailable });
      return;
    }

    const h = this.historyOf(step.id);
    let attempt = h.attempts;
    const previous = h.previous;

    const doubt = this.uncertain.get(step.id);
    if ((h.status === 'running' || h.status === 'failed' || doubt) && step.isDone) {
      // Check, then act: a step interrupted after its effect must not happen twice.
      if (await this.foundDone(step, attempt, previous, 'found already done on resume', this.sectionSignal(runSignal))) return;
    }
    if (doubt && step.mutates) {
      throw new RunEnd(
        'refused',
        `journal line ${doubt.line} is damaged (${doubt.problem}) where step "${step.title}" was running, and its own check (isDone) cannot confirm it finished; nightshift will not run it again blind. Look at the node${this.loginHint(step)}, then start a new run`,
      );
    }

    if (step.mutates && !this.isLockHeld) await this.takeLock(runSignal);

    if (step.kind === 'checkpoint') {
      await this.checkpoint(step, this.sectionSignal(runSignal));
      return;
    }
    await this.gate(step, this.sectionSignal(runSignal));
    if (step.opensSection && !this.section) this.openSection(step, this.clock.now() + step.opensSection.budgetMs);
    this.enforceBudget();
    const signal = this.sectionSignal(runSignal);
    signal.throwIfAborted();

    // Set once an attempt has run in this session: every later attempt asks isDone first.
    let hasRun = false;
    for (;;) {
      const t0 = this.now();
      const v0 = this.clock.now();
      let output: StepOutput | undefined;
      let isDoneAlready = false;
      try {
        await withRetry(
          this.clock,
          step.retry,
          signal,
          {
            onRetry: (n, err, delayMs) => {
              this.flushOutput(step.id, output);
              this.emit({ type: 'step-retry', stepId: step.id, attempt: n, error: errorMessage(err), delayMs });
            },
          },
          async () => {
            if (hasRun && step.isDone && (await step.isDone(this.stepContext(step, attempt, previous, undefined), signal))) {
              isDoneAlready = true;
              return;
            }
            hasRun = true;
            attempt += 1;
            output = new StepOutput(this.deps.outputLimits ?? DEFAULT_OUTPUT_LIMITS, step.keepLines ?? [], this.redactor.stream());
            const ctx = this.stepContext(step, attempt, previous, output);
            this.emit({ type: 'step-started', stepId: step.id, attempt, describe: safe(() => step.describe(this.ctx)) ?? [] });
            await withTimeout(this.clock, step.timeoutMs, signal, (s) => step.run(ctx, s), step.cleanupGraceMs);
          },
        );
        this.flushOutput(step.id, output);
        if (!isDoneAlready) await this.verify(step, attempt, previous, signal);
        this.emit({
          type: 'step-finished',
          stepId: step.id,
          status: 'ok',
          via: isDoneAlready ? 'is-done' : 'run',
          realMs: this.now() - t0,
          virtualMs: this.clock.now() - v0,
          ...(isDoneAlready ? { detail: 'found already done before another attempt' } : {}),
          state: this.ctx.state,
        });
        if (step.mutates) this.hasChanged = true;
        if (step.closesSection && this.section?.name === step.closesSection) this.closeSection('closed');
        return;
      } catch (err) {
        if (err instanceof JournalBroken) throw err;
        this.flushOutput(step.id, output);
        const aborted = signal.aborted;
        // A step that cleaned up after an abort says what became of its work ("cancelled …", "may still run …").
        const reason = abortReason(signal);
        const message = aborted ? (errorMessage(err).startsWith(reason) ? errorMessage(err) : reason) : errorMessage(err);
        this.emit({
          type: 'step-finished',
          stepId: step.id,
          status: 'failed',
          via: 'run',
          realMs: this.now() - t0,
          virtualMs: this.clock.now() - v0,
          error: message,
        });
        if (step.mutates) this.hasChanged = true; // it may have changed something before failing
        if (aborted) throw new RunAborted(message);
        const choice = await this.askFailure(step, message, signal);
        if (choice === 'retry') continue;
        if (choice === 'skip') {
          this.emit({ type: 'step-finished', stepId: step.id, status: 'skipped', via: 'operator', realMs: 0, virtualMs: 0, detail: `skipped after: ${message}` });
          return;
        }
        if (choice === 'pause') {
          throw new RunEnd('paused', `paused after "${step.title}" failed: ${message}; resume with: nightshift resume ${this.runId} (it tries that step again)`);
        }
        throw new RunEnd('failed', `step "${step.title}" failed: ${message}`);
      }
    }
  }

  /** Asks a step's isDone; when it says yes, journals the step as done without running it. */
  private async foundDone(step: AnyStep, attempt: number, previous: PreviousAttempts, detail: string, signal: AbortSignal): Promise<boolean> {
    const t0 = this.now();
    const v0 = this.clock.now();
    const done = await step.isDone!(this.stepContext(step, attempt, previous, undefined), signal);
    if (!done) return false;
    this.emit({ type: 'step-finished', stepId: step.id, status: 'ok', via: 'is-done', realMs: this.now() - t0, virtualMs: this.clock.now() - v0, detail, state: this.ctx.state });
    if (step.mutates) this.hasChanged = true;
    if (step.closesSection && this.section?.name === step.closesSection) this.closeSection('closed');
    return true;
  }

  private loginHint(step: AnyStep): string {
    const node = safe(() => step.node?.(this.ctx));
    const login = node ? safe(() => this.deps.backends.shell.loginCommand(node)) : undefined;
    return login ? ` (${login})` : '';
  }

  // ------------------------------------------------------------ critical sections

  /** The run's signal, plus the open section's: past its budget, whatever runs inside it is stopped. */
  private sectionSignal(signal: AbortSignal): AbortSignal {
    return this.section ? AbortSignal.any([signal, this.section.overrun.signal]) : signal;
  }

  /**
   * The budget's timer fires only when the event loop gets a turn; a step
   * inside the section starts only if the deadline has not passed meanwhile.
   */
  private enforceBudget(): void {
    const section = this.section;
    if (!section || section.overrun.signal.aborted || this.clock.now() < section.deadlineVt) return;
    const step = this.steps.find((s) => s.id === section.stepId);
    const budgetMs = step?.opensSection?.budgetMs ?? 0;
    this.safeEmit({ type: 'section', action: 'overrun', name: section.name, stepId: section.stepId, budgetMs, deadlineVt: section.deadlineVt });
    section.overrun.abort(new SectionOverrun(`critical section "${section.name}" ran over its budget of ${formatDuration(budgetMs)}`));
  }

  private openSection(step: AnyStep, deadlineVt: number, isNew = true): void {
    const spec = step.opensSection!;
    const overrun = new AbortController();
    const timer = new AbortController();
    this.section = { name: spec.name, stepId: step.id, deadlineVt, overrun, timer };
    if (isNew) this.emit({ type: 'section', action: 'opened', name: spec.name, stepId: step.id, budgetMs: spec.budgetMs, deadlineVt });
    this.clock.sleep(Math.max(0, deadlineVt - this.clock.now()), timer.signal).then(
      () => {
        if (this.section?.overrun !== overrun) return;
        this.safeEmit({ type: 'section', action: 'overrun', name: spec.name, stepId: step.id, budgetMs: spec.budgetMs, deadlineVt });
        overrun.abort(new SectionOverrun(`critical section "${spec.name}" ran over its budget of ${formatDuration(spec.budgetMs)}`));
      },
      () => {},
    );
  }

  private closeSection(action: 'closed'): void {
    const section = this.section;
    if (!section) return;
    section.timer.abort();
    this.section = undefined;
    const step = this.steps.find((s) => s.id === section.stepId);
    this.emit({ type: 'section', action, name: section.name, stepId: section.stepId, budgetMs: step?.opensSection?.budgetMs ?? 0, deadlineVt: section.deadlineVt });
  }

  private async verify(step: AnyStep, attempt: number, previous: PreviousAttempts, signal: AbortSignal): Promise<void> {
    if (!step.verify) return;
    const deadline = this.clock.now() + (step.verifyWithinMs ?? 0);
    const ctx = this.stepContext(step, attempt, previous, undefined);
    for (;;) {
      const result = await step.verify(ctx, signal);
      if (result.ok) return;
      const left = deadline - this.clock.now();
      if (left <= 0) throw new StepFailed(`post-condition not met: ${result.reason}`);
      await this.clock.sleep(Math.min(left, 1000), signal);
    }
  }

  private async askFailure(step: AnyStep, message: string, signal: AbortSignal): Promise<FailureChoice> {
    const choices: FailureChoice[] = ['retry', ...(step.canSkip ? (['skip'] as const) : []), ...(step.pauseOnFailure ? (['pause'] as const) : []), 'abort'];
    const node = safe(() => step.node?.(this.ctx));
    const login = node ? safe(() => this.deps.backends.shell.loginCommand(node)) : undefined;
    const reply = await this.ask(
      () =>
        this.deps.gate.failure(
          {
            kind: 'failure',
            stepId: step.id,
            title: `step failed: ${step.title}`,
            question: `Retry, ${step.canSkip ? 'skip, ' : ''}${step.pauseOnFailure ? 'pause (resume later), ' : ''}or abort?`,
            details: [
              message,
              ...(typeof step.canSkip === 'string' ? [`skipping is safe: ${step.canSkip}`] : []),
              ...(step.pauseOnFailure ? [`pausing keeps the run: ${step.pauseOnFailure}`] : []),
            ],
            choices,
            ...(login ? { loginCommand: login } : {}),
          },
          signal,
        ),
      signal,
    );
    this.emit({ type: 'gate', kind: 'failure', stepId: step.id, decision: reply.choice, via: reply.via });
    return reply.choice;
  }

  /**
   * The steps a section opened by `step` runs: from it to the one that closes
   * it. Their questions are all asked at its gate, before the section opens:
   * an operator must never have to answer inside the budget.
   */
  private sectionSteps(step: AnyStep): AnyStep[] {
    if (!step.opensSection) return [step];
    const name = step.opensSection.name;
    const from = this.steps.indexOf(step);
    const to = this.steps.findIndex((s, i) => i > from && s.closesSection === name);
    return this.steps.slice(from, to < 0 ? from + 1 : to + 1);
  }

  private async gate(step: AnyStep, signal: AbortSignal): Promise<void> {
    // Inside a section, the gate of the step that opened it answered for this one.
    if (this.section) return;
    const covered = this.sectionSteps(step);
    const danger = covered.some((s) => s.danger === 'destructive') ? 'destructive' : covered.some((s) => s.danger === 'caution') ? 'caution' : 'read';
    if (danger === 'read') return;
    const node = safe(() => step.node?.(this.ctx));
    const expected = danger === 'destructive' ? (safe(() => step.confirmName?.(this.ctx)) ?? node?.name ?? this.ctx.run.cluster) : undefined;
    const describe =
      covered.length === 1
        ? (safe(() => step.describe(this.ctx)) ?? [])
        : [
            `one answer, ${covered.length} steps: ${step.opensSection!.name}, ${Math.round(step.opensSection!.budgetMs / 1000)} s at most`,
            ...covered.map((s, i) => `${i + 1}. ${s.title}${s.danger === 'read' ? '' : ` [${s.danger}]`}`),
            'over budget or on a failure inside it, the undo runs',
          ];
    const request: ConfirmRequest = {
      kind: danger,
      stepId: step.id,
      title: step.title,
      question:
        danger === 'destructive'
          ? `This step is destructive. Type ${expected}${expected === this.ctx.run.cluster ? typedNote(this.ctx.run) : ''} to run it.`
          : `Run this step${node ? ` on ${node.name}` : ''}? [y/N]`,
      details: describe,
      ...(expected ? { expected } : {}),
    };
    const reply = await this.ask(() => this.deps.gate.confirm(request, signal), signal);
    const approved = reply.approved && (expected === undefined || typedMatches(reply.typed, expected));
    const detail = reply.missing
      ? `missing ${reply.missing}`
      : reply.approved && !approved
        ? `typed "${reply.typed ?? ''}", not "${expected}"`
        : undefined;
    this.emit({ type: 'gate', kind: danger, stepId: step.id, decision: approved ? 'approved' : 'declined', via: reply.via, ...(detail ? { detail } : {}) });
    if (approved) return;
    const why = reply.missing
      ? `stopped before "${step.title}": it needs confirmation; pass ${reply.missing}`
      : detail
        ? `stopped before "${step.title}": ${detail}`
        : `stopped before "${step.title}": not confirmed`;
    throw new RunEnd(this.hasChanged ? 'paused' : 'stopped', why);
  }

  private async checkpoint(step: AnyStep, signal: AbortSignal): Promise<void> {
    const t0 = this.now();
    const v0 = this.clock.now();
    const reply = await this.ask(
      () =>
        this.deps.gate.checkpoint(
          {
            kind: 'checkpoint',
            stepId: step.id,
            title: step.title,
            question: 'Continue, pause (resume later), or stop here?',
            details: safe(() => step.describe(this.ctx)) ?? [],
            choices: ['continue', 'pause', 'stop'],
          },
          signal,
        ),
      signal,
    );
    this.emit({
      type: 'gate',
      kind: 'checkpoint',
      stepId: step.id,
      decision: reply.choice,
      via: reply.via,
      ...(reply.missing ? { detail: `missing ${reply.missing}` } : {}),
    });
    if (reply.choice === 'continue') {
      this.emit({ type: 'step-finished', stepId: step.id, status: 'ok', via: 'operator', realMs: this.now() - t0, virtualMs: this.clock.now() - v0, state: this.ctx.state });
      return;
    }
    if (reply.choice === 'pause') {
      throw new RunEnd('paused', `paused at "${step.title}"${reply.missing ? ` (pass ${reply.missing} to continue past checkpoints)` : ''}; resume with: nightshift resume ${this.runId}`);
    }
    throw new RunEnd('stopped', `stopped by the operator at "${step.title}"`);
  }

  /** A gate question, shown on screens while it waits. */
  private async ask<T>(f: () => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (signal.aborted) throw new RunAborted(abortReason(signal));
      throw err;
    }
  }

  private async takeLock(signal: AbortSignal): Promise<void> {
    const { lock } = this.deps.backends;
    // The name is what is typed; the label (with its region) is what is read.
    const cluster = this.ctx.run.cluster;
    const label = clusterLabel(runCluster(this.ctx.run));
    const owner = { runId: this.runId, owner: this.ctx.run.who, startedAt: new Date(this.startedReal).toISOString() };
    let result = await lock.acquire(runCluster(this.ctx.run), owner, { signal });
    if (!result.acquired && result.heldBy.runId === this.runId) {
      this.isLockHeld = true;
      this.emit({ type: 'lock', ...this.scope, action: 'held', cluster, holder: result.heldBy, detail: 'still held by this run' });
      return;
    }
    if (result.acquired) {
      this.isLockHeld = true;
      this.emit({ type: 'lock', ...this.scope, action: 'acquired', cluster, holder: owner });
      return;
    }
    const holder = result.heldBy;
    const who = `run ${holder.runId} (${holder.owner}, started ${holder.startedAt})`;
    const staleness = this.assessHolder(holder.runId);
    this.emit({ type: 'lock', ...this.scope, action: 'refused', cluster, holder, detail: staleness.detail });
    if (staleness.isLive) throw new RunEnd('refused', `cluster ${label} is locked by ${who}: ${staleness.detail}`);
    const reply = await this.ask(
      () =>
        this.deps.gate.confirm(
          {
            kind: 'break-lock',
            title: `cluster ${label} is locked`,
            question: `Break the lock held by ${who}? Type ${cluster}${typedNote(this.ctx.run)} to break it.`,
            details: [staleness.detail],
            expected: cluster,
          },
          signal,
        ),
      signal,
    );
    const approved = reply.approved && typedMatches(reply.typed, cluster);
    this.emit({
      type: 'gate',
      kind: 'break-lock',
      decision: approved ? 'approved' : 'declined',
      via: reply.via,
      ...(reply.missing ? { detail: `missing ${reply.missing}` } : {}),
    });
    if (!approved) {
      throw new RunEnd(
        'refused',
        `cluster ${label} is locked by ${who}${reply.missing ? `; if that run is dead, break the lock with ${reply.missing}` : ''}`,
      );
    }
    await lock.breakLock(runCluster(this.ctx.run), holder.runId, { signal });
    this.emit({ type: 'lock', ...this.scope, action: 'broken', cluster, holder, detail: staleness.detail });
    result = await lock.acquire(runCluster(this.ctx.run), owner, { signal });
    if (!result.acquired) {
      this.emit({ type: 'lock', ...this.scope, action: 'refused', cluster, holder: result.heldBy });
      throw new RunEnd('refused', `cluster ${label} was locked again by run ${result.heldBy.runId} (${result.heldBy.owner})`);
    }
    this.isLockHeld = true;
    this.emit({ type: 'lock', ...this.scope, action: 'acquired', cluster, holder: owner });
  }

  private assessHolder(runId: string) {
    return assessHolder(this.deps.config.stateDir, runId, {
      ...(this.deps.host !== undefined ? { host: this.deps.host } : {}),
      ...(this.deps.isProcessAlive ? { isProcessAlive: this.deps.isProcessAlive } : {}),
    });
  }

  /** `resumed`: the undo had started before a crash; `interrupted` are the compensations it cut short. */
  private async undo(fromIndex: number, status: RunStatus, reason: string, resumed?: { interrupted: Set<string> }, only?: 'holds'): Promise<string | undefined> {
    const interrupted = resumed?.interrupted ?? new Set<string>();
    const todo = this.steps
      .slice(0, fromIndex + 1)
      .reverse()
      .filter((step) => {
        if (!step.compensate || this.undone.get(step.id) === 'ok') return false;
        if (only === 'holds' && !step.holds) return false;
        // Only what actually started can need undoing.
        const started = this.history.get(step.id)?.status;
        return started === 'ok' || started === 'failed' || started === 'running';
      });
    if (todo.length === 0) return undefined;
    if (!resumed) this.emit({ type: 'undo', action: 'started', fromStep: this.steps[fromIndex]!.id, status, reason, ...(only ? { only } : {}) });
    const done: string[] = [];
    let ok = true;
    for (const step of todo) {
      const undo = step.compensate!;
      // Its own signal: the run's may be the one that was aborted, and the undo must still happen.
      const own = new AbortController();
      let delay = UNDO_BACKOFF_MS;
      for (let attempt = 1; ; attempt++) {
        try {
          // Check, then act: an attempt cut short by a crash or a lost answer may have done its work.
          if ((attempt > 1 || interrupted.has(step.id) || this.undone.get(step.id) === 'failed') && undo.isDone && (await undo.isDone(this.ctx, own.signal))) {
            this.emit({ type: 'compensation', stepId: step.id, status: 'ok', via: 'is-done' });
            done.push(`${undone(step, only)} (${attempt > 1 ? `found done after attempt ${attempt - 1}` : 'found done on resume'})`);
            break;
          }
          const describe = safe(() => undo.describe(this.ctx)) ?? [];
          this.emit({ type: 'compensation', stepId: step.id, status: 'started', describe });
          await withTimeout(this.clock, step.timeoutMs, own.signal, (s) => undo.run(this.ctx, s));
          this.emit({ type: 'compensation', stepId: step.id, status: 'ok', via: 'run' });
          done.push(undone(step, only));
          break;
        } catch (err) {
          if (err instanceof JournalBroken) throw err;
          // Any error, not only a transient one: an undo given up leaves the cluster as no one
          // planned it (writes stopped for good), and a refusal may be a moment's (a lock wait).
          if (attempt < UNDO_ATTEMPTS) {
            this.emit({ type: 'compensation', stepId: step.id, status: 'failed', error: `${errorMessage(err)} (attempt ${attempt} of ${UNDO_ATTEMPTS}; trying again in ${formatDuration(delay)})` });
            await this.clock.sleep(delay, own.signal);
            delay *= 2;
            continue;
          }
          ok = false;
          this.emit({ type: 'compensation', stepId: step.id, status: 'failed', error: errorMessage(err) });
          done.push(`ROLLBACK OF "${step.title}" FAILED after ${UNDO_ATTEMPTS} attempts: ${errorMessage(err)}`);
          break;
        }
      }
    }
    this.emit({ type: 'undo', action: 'finished', ok });
    return done.join('; ');
  }

  private flushOutput(stepId: string, output: StepOutput | undefined): void {
    if (!output) return;
    const batch = output.finish();
    this.writeOutput(stepId, batch.journal, batch.live);
  }

  private writeOutput(stepId: string, journal: OutputWrite[], live: OutputWrite[]): void {
    for (const w of journal) {
      if (!this.journal) continue;
      this.historyOf(stepId).previous.output += w.text;
      const record = stamp(this.runId, this.clock.now(), { type: 'step-output', stepId, ...w }, new Date(this.now()));
      try {
        this.journal.append(record);
      } catch (err) {
        throw new JournalBroken(`could not write the journal ${this.journal.path}: ${errorMessage(err)}`);
      }
      // The tail is news to a reader of the journal, not to a screen that saw it live.
    }
    for (const w of live) this.emitLive({ type: 'step-output-live', stepId, stream: w.stream, text: w.text });
  }

  private emitLive(event: RunEvent): void {
    this.deps.onEvent?.(stamp(this.runId, this.clock.now(), event, new Date(this.now())));
  }

  private stepContext(step: AnyStep, attempt: number, previous: PreviousAttempts, output: StepOutput | undefined): StepContext<unknown, Json> {
    const base = this.ctx;
    const stepStartVt = this.clock.now();
    let lastJournaled: { decile: number; vt: number; message?: string } = { decile: -1, vt: stepStartVt };
    let first: { vt: number; fraction: number } | undefined;
    const ctx = {
      backends: base.backends,
      config: base.config,
      params: base.params,
      run: base.run,
      scratch: base.scratch,
      step: { id: step.id, attempt },
      previous,
    } as StepContext<unknown, Json>;
    // One state for the whole run: a step that replaces it (ctx.state = …) replaces it for the next step too.
    Object.defineProperty(ctx, 'state', { get: () => base.state, set: (v: Json) => (base.state = v), enumerable: true });
    ctx.output = (stream, chunk) => {
      if (!output) return;
      const batch = output.push(stream, chunk);
      this.writeOutput(step.id, batch.journal, batch.live);
    };
    ctx.fact = (facts) => this.emit({ type: 'step-fact', stepId: step.id, facts });
    ctx.progress = (p: Progress) => {
      const vt = this.clock.now();
      const fraction = p.percent !== undefined ? p.percent / 100 : p.done !== undefined && p.total ? p.done / p.total : undefined;
      let eta: { etaMs: number; etaRealMs: number } | undefined;
      if (fraction !== undefined) {
        if (!first || fraction < first.fraction) first = { vt, fraction };
        // The rate since the first report, so setup time before the work does not skew it.
        const rate = (fraction - first.fraction) / Math.max(1, vt - first.vt);
        if (rate > 0 && fraction < 1) {
          const etaMs = (1 - fraction) / rate;
          eta = { etaMs, etaRealMs: etaMs / Math.max(this.clock.speed, 1e-9) };
        }
      }
      const decile = fraction !== undefined ? Math.floor(fraction * 10) : lastJournaled.decile;
      const event: RunEvent = { type: 'step-progress', stepId: step.id, ...p, ...(eta ?? {}) };
      // Every report reaches the screens; the journal gets one per tenth or per five fleet minutes.
      if (decile !== lastJournaled.decile || vt - lastJournaled.vt >= 300_000) {
        lastJournaled = { decile, vt };
        this.emit(event);
      } else {
        this.emitLive(event);
      }
    };
    return ctx;
  }

  private finishFrom(err: unknown): Promise<RunOutcome> {
    if (err instanceof JournalBroken) {
      this.journal = undefined; // nothing more can be written; say so on the screen and in the exit
      return this.finish({ status: 'failed', reason: err.message });
    }
    const end = toRunEnd(err, undefined);
    return this.finish({ status: end.status, reason: end.message });
  }

  private async finish(end: { status: RunStatus; reason?: string }): Promise<RunOutcome> {
    if (this.outcome) return this.outcome;
    // A paused run keeps the cluster: it is half-way and will be resumed.
    if (this.isLockHeld && end.status !== 'paused') {
      const failure = await this.releaseLock();
      if (failure) {
        const cluster = this.ctx.run.cluster;
        const scope = scopeFlags(this.ctx.run);
        const held = `the lock on cluster ${clusterLabel(runCluster(this.ctx.run))} is still held by this run (release failed ${LOCK_RELEASE_ATTEMPTS} times: ${failure}); clear it with: nightshift unlock ${cluster}${scope ? ` ${scope}` : ''} --confirm ${cluster}`;
        end =
          end.status === 'succeeded'
            ? { status: 'succeeded-lock-held', reason: `every step succeeded, but ${held}` }
            : { status: end.status, reason: `${end.reason ? `${end.reason}; ` : ''}${held}` };
      }
    }
    const realMs = this.now() - this.startedReal;
    const virtualMs = this.clock.now() - this.startedVt;
    this.safeEmit({ type: 'run-finished', status: end.status, ...(end.reason ? { reason: end.reason } : {}), realMs, virtualMs });
    const path = this.journal?.path;
    this.journal?.close();
    this.outcome = { runId: this.runId, status: end.status, ...(end.reason ? { reason: end.reason } : {}), ...(path ? { journal: path } : {}) };
    return this.outcome;
  }

  /** Releases the cluster lock, retrying with backoff; returns why it could not, or nothing. */
  private async releaseLock(): Promise<string | undefined> {
    const cluster = this.ctx.run.cluster;
    let delay = LOCK_RELEASE_BACKOFF_MS;
    let last = '';
    for (let attempt = 1; attempt <= LOCK_RELEASE_ATTEMPTS; attempt++) {
      try {
        await this.deps.backends.lock.release(runCluster(this.ctx.run), this.runId);
        this.isLockHeld = false;
        this.safeEmit({ type: 'lock', ...this.scope, action: 'released', cluster });
        return undefined;
      } catch (err) {
        last = errorMessage(err);
        this.safeEmit({ type: 'lock', ...this.scope, action: 'release-failed', cluster, detail: `attempt ${attempt} of ${LOCK_RELEASE_ATTEMPTS}: ${last}` });
        if (attempt < LOCK_RELEASE_ATTEMPTS) await this.clock.sleep(delay);
        delay *= 2;
      }
    }
    return last;
  }

  private safeEmit(event: RunEvent): void {
    try {
      this.emit(event);
    } catch {
      this.journal = undefined;
      this.deps.onEvent?.(this.redactor.deep(stamp(this.runId, this.clock.now(), event, new Date(this.now()))));
    }
  }
}

/**
 * The step a damaged journal line may hide the outcome of: the one resume
 * would start from, when a line after the last finished step's record is
 * unreadable (it may have been that step's start, a fact, or its finish).
 */
function damagedAt(read: JournalRead, view: RunView, from: number): Map<string, { line: number; problem: string }> {
  const doubts = new Map<string, { line: number; problem: string }>();
  if (from < 0 || read.bad.length === 0) return doubts;
  const before = new Set(view.steps.slice(0, from).map((s) => s.id));
  let settledLine = 0;
  read.records.forEach((r, i) => {
    if (r.type === 'run-started' || (r.type === 'step-finished' && before.has(r.stepId))) settledLine = read.recordLines[i] ?? settledLine;
  });
  const bad = read.bad.find((b) => b.line > settledLine);
  if (bad) doubts.set(view.steps[from]!.id, { line: bad.line, problem: bad.problem });
  return doubts;
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  if (typeof r === 'string') return r;
  return 'aborted by the operator';
}

function toRunEnd(err: unknown, signal: AbortSignal | undefined): RunEnd {
  if (err instanceof RunEnd) return err;
  if (err instanceof RunAborted || signal?.aborted) return new RunEnd('aborted', err instanceof Error ? err.message : 'aborted');
  return new RunEnd('failed', errorMessage(err));
}

export { formatDuration };
