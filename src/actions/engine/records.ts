// The events of a run. The engine emits them; the journal writes most of them
// (one JSON line each), the run store folds them into what the screens show,
// and the headless reporter prints them. One vocabulary for all three.

import type { Target } from '../../domain/types.js';
import type { Danger, Json, Progress } from './types.js';

/**
 * `succeeded-lock-held`: every step succeeded but the cluster lock could not be
 * released; never `succeeded` while the run still holds something it took.
 */
export type RunStatus = 'succeeded' | 'succeeded-lock-held' | 'failed' | 'aborted' | 'stopped' | 'blocked' | 'refused' | 'paused';

export type StepStatus = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';

export interface PlanStep {
  id: string;
  title: string;
  kind: 'action' | 'checkpoint';
  danger: Danger;
  mutates: boolean;
  group?: string;
  describe: string[];
  /** Instance id and name it acts on. */
  node?: { id: string; name: string };
  /** Why it cannot run on this target; absent when it can. */
  unavailable?: string;
  canSkip?: boolean | string;
  /** The undo's commands, when the step has one. */
  compensation?: string[];
  timeoutMs?: number;
}

export interface CheckResult {
  id: string;
  title: string;
  status: 'ok' | 'failed' | 'overridden' | 'not-run';
  /** What was found (ok) or why it failed. */
  detail: string;
  overridable: boolean;
}

export type GateKind = 'caution' | 'destructive' | 'override' | 'break-lock' | 'checkpoint' | 'failure' | 'plan';

/** Common to every record: when, on both clocks. */
export interface Stamp {
  v: 1;
  runId: string;
  /** ISO-8601 real time. */
  t: string;
  /** Fleet clock, epoch ms (virtual on the simulated fleet). */
  vt: number;
}

export type RunEvent =
  | {
      type: 'run-started';
      runbook: string;
      title: string;
      cluster: string;
      who: string;
      host: string;
      pid: number;
      target: Target;
      params: Json;
      plan: PlanStep[];
      preflight: CheckResult[];
      /** Fleet-clock ISO time the run started (the repair tag is compared with it). */
      startedAt: string;
      /** How many virtual ms pass per real ms. */
      speed: number;
      /** The runbook state the plan was built from (restored on resume). */
      state: Json;
      /** Target recovery time, for `show` to compare against. */
      targetSeconds?: number;
    }
  | {
      type: 'run-resumed';
      who: string;
      host: string;
      pid: number;
      fromStep?: string;
      /** The journal's last record had been cut short by the interruption (it was closed off). */
      tornRecord?: boolean;
    }
  | { type: 'override'; checkId: string; reason: string; via: string }
  | { type: 'gate'; kind: GateKind; stepId?: string; decision: string; via: string; detail?: string }
  | {
      type: 'lock';
      action: 'acquired' | 'held' | 'refused' | 'released' | 'broken' | 'release-failed';
      cluster: string;
      /** The cluster's region and account, where the run names them (absent in journals from before regions). */
      region?: string;
      account?: string;
      holder?: { runId: string; owner: string; startedAt: string };
      detail?: string;
    }
  | { type: 'step-started'; stepId: string; attempt: number; describe: string[]; resumed?: boolean }
  | {
      type: 'step-output';
      stepId: string;
      stream: 'stdout' | 'stderr';
      text: string;
      /** Set on the record written at the end holding the kept tail. */
      isTail?: boolean;
      /** Bytes of output left out of the journal before this record. */
      droppedBytes?: number;
      droppedLines?: number;
    }
  | ({ type: 'step-progress'; stepId: string; etaMs?: number; etaRealMs?: number } & Progress)
  | { type: 'step-fact'; stepId: string; facts: Record<string, Json> }
  | { type: 'step-retry'; stepId: string; attempt: number; error: string; delayMs: number }
  | {
      type: 'step-finished';
      stepId: string;
      status: 'ok' | 'failed' | 'skipped';
      /** How it was decided: ran, found done on resume, skipped by the operator, unavailable. */
      via: 'run' | 'is-done' | 'operator' | 'unavailable';
      realMs: number;
      virtualMs: number;
      error?: string;
      detail?: string;
      /** The runbook state after the step, restored on resume. */
      state?: Json;
    }
  | { type: 'compensation'; stepId: string; status: 'started' | 'ok' | 'failed'; describe?: string[]; error?: string; via?: 'run' | 'is-done' }
  /** A critical section opened, closed, or ran over its budget (deadline on the fleet clock). */
  | { type: 'section'; action: 'opened' | 'closed' | 'overrun'; name: string; stepId: string; budgetMs: number; deadlineVt: number }
  /**
   * The run is leaving by its undo: every compensation from `fromStep` back
   * runs, then the run ends with `status` and `reason`. A resume after a crash
   * finishes the undo instead of going forward.
   */
  /** `only: 'holds'`: a stopped run gives back what it held (Step.holds), and undoes nothing else. */
  | { type: 'undo'; action: 'started'; fromStep: string; status: RunStatus; reason: string; only?: 'holds' }
  | { type: 'undo'; action: 'finished'; ok: boolean }
  | { type: 'run-finished'; status: RunStatus; reason?: string; realMs: number; virtualMs: number }
  /** Not journaled: every output line as it arrives (redacted), for screens; the journal gets a bounded copy. */
  | { type: 'step-output-live'; stepId: string; stream: 'stdout' | 'stderr'; text: string }
  /** Not journaled: what the screen shows while a gate waits. */
  | { type: 'gate-pending'; gateId: string; request: GateRequestView }
  | { type: 'gate-cleared'; gateId: string }
  /** Not journaled: before run-started, the dry-run / TUI plan. */
  | { type: 'planned'; runbook: string; title: string; cluster: string; region?: string; account?: string; plan: PlanStep[]; preflight: CheckResult[]; blocked?: string };

export type RunRecord = Stamp & RunEvent;

/** A gate request as plain data (the store holds it while the prompt is up). */
export interface GateRequestView {
  kind: GateKind;
  title: string;
  /** The question, in words. */
  question: string;
  /** Lines shown with the prompt: the commands, the holder of a lock, the error. */
  details: string[];
  stepId?: string;
  /** For typed confirmation: the exact name to type. */
  expected?: string;
  /** For failure prompts: what may be chosen. */
  choices?: string[];
  /** The ssh command to open a shell on the node concerned. */
  loginCommand?: string;
}

/** Records worth an fsync; the rest are for screens only. */
export function isJournaled(event: RunEvent): boolean {
  return (
    event.type !== 'gate-pending' &&
    event.type !== 'gate-cleared' &&
    event.type !== 'planned' &&
    event.type !== 'step-output-live'
  );
}
