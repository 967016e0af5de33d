// A run as the screens, the headless reporter and resume see it: plain data
// folded from the engine's events by one pure reducer. The same reducer folds
// a journal read from disk (`runs`, `show`, resume), so a live run and a
// replayed one look the same. It belongs to the engine: the store only holds
// what it folds.

import { scopeOfParams } from './cluster-params.js';
import type { CheckResult, GateRequestView, PlanStep, RunRecord, RunStatus, StepStatus } from './records.js';
import type { Json, Progress } from './types.js';
import type { Target } from '../../domain/types.js';

/** Lines of output each step keeps in memory for the output pane. */
export const OUTPUT_TAIL_LINES = 200;

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface StepView extends PlanStep {
  status: StepStatus;
  attempts: number;
  /** Fleet-clock ms when the current (or last) attempt started. */
  startedVt?: number;
  /** Real ISO time when the current (or last) attempt started. */
  startedAt?: string;
  realMs?: number;
  virtualMs?: number;
  progress?: Progress & { etaMs?: number; etaRealMs?: number };
  /** The last OUTPUT_TAIL_LINES lines. */
  output: OutputLine[];
  /** Lines no longer held here (the journal may hold more). */
  outputDropped: number;
  /** Bytes the journal left out (its own cap). */
  journalDroppedBytes: number;
  facts: Record<string, Json>;
  error?: string;
  detail?: string;
  via?: string;
  retries: Array<{ attempt: number; error: string; delayMs: number }>;
}

export type RunViewStatus = 'planned' | 'running' | RunStatus;

export interface GateDecision {
  kind: string;
  stepId?: string;
  decision: string;
  via: string;
  t: string;
  detail?: string;
}

export interface RunView {
  id: string;
  runbook: string;
  title: string;
  cluster: string;
  /** The cluster's region and account, where the run's params name them (journals from before regions have none). */
  region?: string;
  account?: string;
  status: RunViewStatus;
  who?: string;
  host?: string;
  pid?: number;
  target?: Target;
  params?: Json;
  /** Fleet-clock ISO time the run started. */
  startedAt?: string;
  /** Real ISO time the run started. */
  startedAtReal?: string;
  startedVt?: number;
  speed?: number;
  targetSeconds?: number;
  steps: StepView[];
  preflight: CheckResult[];
  /** Why the plan cannot run (dry-run / planned view). */
  blocked?: string;
  overrides: Array<{ checkId: string; reason: string; via: string; t: string }>;
  gates: GateDecision[];
  lock?: { action: string; holder?: { runId: string; owner: string; startedAt: string }; detail?: string };
  /** The question waiting for an answer, if any. */
  gate?: { gateId: string; request: GateRequestView };
  compensations: Array<{ stepId: string; status: string; error?: string; t: string }>;
  /** The critical section open now (opened, not yet closed or overrun), with its fleet-clock deadline. */
  section?: { name: string; stepId: string; budgetMs: number; deadlineVt: number; state: 'open' | 'closed' | 'overrun' };
  /** The run is leaving by its undo (or left by it): from which step, and how it will end. */
  undo?: { fromStep: string; status: RunStatus; reason: string; finished: boolean; ok?: boolean; only?: 'holds' };
  resumes: Array<{ who: string; host: string; pid: number; t: string; fromStep?: string }>;
  /** The runbook state after the last finished step (restored on resume). */
  state?: Json;
  reason?: string;
  finishedAt?: string;
  realMs?: number;
  virtualMs?: number;
  /** Last record's times: how far the story goes. */
  lastT?: string;
  lastVt?: number;
  /** Records applied (a replayed journal: how many it had). */
  records: number;
}

function emptyRun(id: string): RunView {
  return {
    id,
    runbook: '',
    title: '',
    cluster: '',
    status: 'planned',
    steps: [],
    preflight: [],
    overrides: [],
    gates: [],
    compensations: [],
    resumes: [],
    records: 0,
  };
}

function stepFromPlan(p: PlanStep): StepView {
  return { ...p, status: 'pending', attempts: 0, output: [], outputDropped: 0, journalDroppedBytes: 0, facts: {}, retries: [] };
}

function appendOutput(step: StepView, stream: 'stdout' | 'stderr', text: string): StepView {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) return step;
  const output = [...step.output, ...lines.map((l) => ({ stream, text: l }))];
  const over = Math.max(0, output.length - OUTPUT_TAIL_LINES);
  return { ...step, output: over > 0 ? output.slice(over) : output, outputDropped: step.outputDropped + over };
}

/** The one reducer: a run view and a record (journaled or live) give the next view. Pure. */
export function reduceRun(prev: RunView | undefined, r: RunRecord): RunView {
  const run: RunView = { ...(prev ?? emptyRun(r.runId)), records: (prev?.records ?? 0) + 1, lastT: r.t, lastVt: r.vt };
  const updateStep = (id: string, f: (s: StepView) => StepView): RunView => ({
    ...run,
    steps: run.steps.map((s) => (s.id === id ? f(s) : s)),
  });
  switch (r.type) {
    case 'planned':
      return {
        ...run,
        runbook: r.runbook,
        title: r.title,
        cluster: r.cluster,
        ...(r.region !== undefined ? { region: r.region } : {}),
        ...(r.account !== undefined ? { account: r.account } : {}),
        status: 'planned',
        steps: r.plan.map(stepFromPlan),
        preflight: r.preflight,
        ...(r.blocked ? { blocked: r.blocked } : {}),
      };
    case 'run-started':
      return {
        ...run,
        runbook: r.runbook,
        title: r.title,
        cluster: r.cluster,
        ...scopeOfParams(r.params),
        status: 'running',
        who: r.who,
        host: r.host,
        pid: r.pid,
        target: r.target,
        params: r.params,
        startedAt: r.startedAt,
        startedAtReal: r.t,
        startedVt: r.vt,
        speed: r.speed,
        ...(r.targetSeconds !== undefined ? { targetSeconds: r.targetSeconds } : {}),
        steps: r.plan.map(stepFromPlan),
        preflight: r.preflight,
        state: r.state,
      };
    case 'run-resumed':
      return {
        ...run,
        status: 'running',
        host: r.host,
        pid: r.pid,
        resumes: [...run.resumes, { who: r.who, host: r.host, pid: r.pid, t: r.t, ...(r.fromStep ? { fromStep: r.fromStep } : {}) }],
      };
    case 'override':
      return {
        ...run,
        overrides: [...run.overrides, { checkId: r.checkId, reason: r.reason, via: r.via, t: r.t }],
        preflight: run.preflight.map((c) => (c.id === r.checkId ? { ...c, status: 'overridden' } : c)),
      };
    case 'gate':
      return {
        ...run,
        gates: [
          ...run.gates,
          {
            kind: r.kind,
            decision: r.decision,
            via: r.via,
            t: r.t,
            ...(r.stepId ? { stepId: r.stepId } : {}),
            ...(r.detail ? { detail: r.detail } : {}),
          },
        ],
      };
    case 'lock':
      return { ...run, lock: { action: r.action, ...(r.holder ? { holder: r.holder } : {}), ...(r.detail ? { detail: r.detail } : {}) } };
    case 'step-started':
      return updateStep(r.stepId, (s) => {
        const { error: _e, progress: _p, ...rest } = s;
        return {
          ...rest,
          status: 'running',
          attempts: Math.max(s.attempts + 1, r.attempt),
          startedVt: r.vt,
          startedAt: r.t,
          describe: r.describe.length > 0 ? r.describe : s.describe,
        };
      });
    case 'step-output':
      return updateStep(r.stepId, (s) => {
        const withDrop = r.droppedBytes
          ? appendOutput({ ...s, journalDroppedBytes: s.journalDroppedBytes + r.droppedBytes }, r.stream, `… ${r.droppedLines ?? '?'} lines (${r.droppedBytes} bytes) left out of the journal …\n`)
          : s;
        return appendOutput(withDrop, r.stream, r.text);
      });
    case 'step-output-live':
      return updateStep(r.stepId, (s) => appendOutput(s, r.stream, r.text));
    case 'step-progress': {
      const { type: _t, stepId: _s, v: _v, runId: _r, t: _tt, vt: _vt, ...progress } = r;
      return updateStep(r.stepId, (s) => ({ ...s, progress }));
    }
    case 'step-fact':
      return updateStep(r.stepId, (s) => ({ ...s, facts: { ...s.facts, ...r.facts } }));
    case 'step-retry':
      return updateStep(r.stepId, (s) => ({ ...s, retries: [...s.retries, { attempt: r.attempt, error: r.error, delayMs: r.delayMs }] }));
    case 'step-finished': {
      const next = updateStep(r.stepId, (s) => ({
        ...s,
        status: r.status,
        via: r.via,
        realMs: r.realMs,
        virtualMs: r.virtualMs,
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.detail !== undefined ? { detail: r.detail } : {}),
        ...(r.status === 'ok' && s.progress?.percent !== undefined ? { progress: { ...s.progress, percent: 100, etaMs: 0 } } : {}),
      }));
      return r.state !== undefined ? { ...next, state: r.state } : next;
    }
    case 'section':
      return { ...run, section: { name: r.name, stepId: r.stepId, budgetMs: r.budgetMs, deadlineVt: r.deadlineVt, state: r.action === 'opened' ? 'open' : r.action } };
    case 'undo':
      return r.action === 'started'
        ? { ...run, undo: { fromStep: r.fromStep, status: r.status, reason: r.reason, finished: false, ...(r.only ? { only: r.only } : {}) } }
        : { ...run, ...(run.undo ? { undo: { ...run.undo, finished: true, ok: r.ok } } : {}) };
    case 'compensation':
      return {
        ...run,
        compensations: [...run.compensations, { stepId: r.stepId, status: r.status, t: r.t, ...(r.error ? { error: r.error } : {}) }],
      };
    case 'run-finished': {
      const { gate: _g, ...rest } = run;
      return {
        ...rest,
        status: r.status,
        finishedAt: r.t,
        realMs: r.realMs,
        virtualMs: r.virtualMs,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
      };
    }
    case 'gate-pending':
      return { ...run, gate: { gateId: r.gateId, request: r.request } };
    case 'gate-cleared': {
      if (run.gate?.gateId !== r.gateId) return run;
      const { gate: _g, ...rest } = run;
      return rest;
    }
  }
}

/** Folds a journal's records (all of one run) into its view. */
export function foldRun(records: readonly RunRecord[]): RunView | undefined {
  let view: RunView | undefined;
  for (const r of records) view = reduceRun(view, r);
  return view;
}

/** The step running now, or the last one that failed. */
export function currentStep(run: RunView): StepView | undefined {
  return run.steps.find((s) => s.status === 'running') ?? [...run.steps].reverse().find((s) => s.status === 'failed');
}
