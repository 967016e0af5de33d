// What a runbook is made of. A runbook is validated parameters, preflight
// checks and an ordered plan of steps, written against the ports only, so the
// same runbook runs on the simulated fleet, on AWS and on the lab unchanged.

import type * as z from 'zod';
import type { Backends } from '../../backends/ports.js';
import type { Config } from '../../config/schema.js';
import type { Instance } from '../../domain/types.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** read: no gate. caution: y/N, No by default. destructive: type the name. */
export type Danger = 'read' | 'caution' | 'destructive';

/** Ports a step may need beyond the ones every target has. */
export type OptionalPort = 'dns' | 'volumes' | 'scaling' | 'compute';

export interface RunInfo {
  id: string;
  runbook: string;
  /** The cluster's name; with region and account (when the params name them) its identity (engine/cluster-params.ts: runCluster). */
  cluster: string;
  region?: string;
  account?: string;
  /** ISO-8601 on the fleet's clock (virtual on the simulated fleet). */
  startedAt: string;
  /** Epoch ms on the fleet's clock when the run started. */
  startedAtMs: number;
  /** user@host */
  who: string;
}

/** The parts of the config a runbook may read. */
export type RunConfig = Pick<Config, 'engines' | 'ssh' | 'thresholds' | 'secrets' | 'clusters' | 'discovery'>;

export interface RunContext<P, S> {
  backends: Backends;
  config: RunConfig;
  params: P;
  /**
   * What earlier steps found out (the chosen node, a recorded position).
   * Plain JSON: it is journaled after every step and restored on resume.
   */
  state: S;
  run: RunInfo;
  /**
   * Scratch space shared by preflight checks and planning (a discovery both
   * need). Not journaled: nothing a step relies on after a resume may live here.
   */
  scratch: Map<string, unknown>;
}

export interface Progress {
  /** 0..100 */
  percent?: number;
  done?: number;
  total?: number;
  unit?: 'bytes' | 'items' | 'seconds';
  /** Words for the progress line: "lag 340 s", "snapshot 45 %". */
  message?: string;
}

/** What the journal holds about earlier attempts of this step (on resume). */
export interface PreviousAttempts {
  /** How many times the step was started before this session. */
  count: number;
  /** The output kept in the journal (head, sticky lines and tail), joined. */
  output: string;
  /** Facts the step recorded (merged, later ones win). */
  facts: Record<string, Json>;
}

export interface StepContext<P, S> extends RunContext<P, S> {
  step: { id: string; attempt: number };
  /** Streamed command output; bounded and redacted on its way to the journal. */
  output(stream: 'stdout' | 'stderr', chunk: string): void;
  progress(progress: Progress): void;
  /** Facts the step wants on disk at once (an exit code), for isDone after a crash. */
  fact(facts: Record<string, Json>): void;
  previous: PreviousAttempts;
}

export type VerifyResult = { ok: true; detail?: string } | { ok: false; reason: string };

export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  /** Delay before the second attempt; doubles after each further failure (fleet clock). */
  backoffMs: number;
  /** Which errors are worth another attempt; the default: TransientError and connection resets. */
  isTransient?: (err: unknown) => boolean;
}

export interface Compensation<P, S> {
  /** The exact commands / API calls the undo makes, for the plan and the journal. */
  describe(ctx: RunContext<P, S>): string[];
  run(ctx: RunContext<P, S>, signal: AbortSignal): Promise<void>;
  /**
   * Read-only: is the undo's effect already there? Asked when a crash cut an
   * undo short, so resume never undoes twice (check, then act).
   */
  isDone?(ctx: RunContext<P, S>, signal: AbortSignal): Promise<boolean>;
}

/**
 * A stretch of the run that must not be left half-way (writes stopped during
 * a switchover). It opens when its first step starts and closes when its last
 * step finishes; leaving it any other way (a declined gate, stop, abort, a
 * failure, or its budget running out) runs the undo of every step started so far.
 */
export interface CriticalSection {
  /** Words for the screen and the journal: "writes stopped on db-1". */
  name: string;
  /** Fleet-clock ms from the opening step's start; past it the section is left by undo. */
  budgetMs: number;
}

export interface Step<P, S> {
  /** Stable across resumes: the journal names steps by id. */
  id: string;
  title: string;
  /** 'checkpoint' asks the operator continue / pause / stop, and does nothing else. */
  kind?: 'action' | 'checkpoint';
  danger: Danger;
  /** True when it changes the world; the cluster lock is taken before the first such step. */
  mutates: boolean;
  /** Label shared by the steps of one fan-out ("repoint replicas"). */
  group?: string;
  /** The exact commands and API calls it will make. Shown in the plan and journaled when the step starts. */
  describe(ctx: RunContext<P, S>): string[];
  /** The instance it acts on: a failure offers an ssh command to it; a destructive gate asks for its name. */
  node?(ctx: RunContext<P, S>): Instance | undefined;
  /** The name a destructive gate wants typed; default: the node's name, else the cluster's. */
  confirmName?(ctx: RunContext<P, S>): string;
  /** Ports it needs; on a target without one the step is unavailable, with the reason. */
  needs?: OptionalPort[];
  /** Fleet-clock ms; the step's signal aborts past it. */
  timeoutMs?: number;
  /**
   * Once its signal fires, how long (fleet clock) the step may take to clean
   * up (cancel a remote job) and say what became of its work, before the run
   * goes on without it. Default 0: never for a step inside a critical section
   * that cannot say why it needs the time.
   */
  cleanupGraceMs?: number;
  retry?: RetryPolicy;
  run(ctx: StepContext<P, S>, signal: AbortSignal): Promise<void>;
  /**
   * Read-only: has this step's effect already happened? Asked on resume for a
   * step that was started but never finished. Required for mutating steps.
   */
  isDone?(ctx: StepContext<P, S>, signal: AbortSignal): Promise<boolean>;
  /** The post-condition that must hold before the next step. */
  verify?(ctx: StepContext<P, S>, signal: AbortSignal): Promise<VerifyResult>;
  /** Keep asking verify for this long (fleet clock) before calling it failed: eventual consistency. */
  verifyWithinMs?: number;
  /** True, or the reason skipping is safe; the operator may then skip it after a failure. */
  canSkip?: boolean | string;
  /**
   * Why waiting longer may still end well (a replacement still booting): a
   * failure then offers pause beside retry and abort, and a headless run
   * pauses (lock and holds kept; `nightshift resume` tries the step again)
   * instead of aborting.
   */
  pauseOnFailure?: string;
  /**
   * Words for what this step takes for the life of the run ("AZRebalance
   * suspended on orders-asg"). Its `compensate` gives it back at every end
   * but a pause: after a failure or abort with the rest of the undo, and
   * also when the operator stops the run, which undoes nothing else. A later
   * step of the plan gives it back on success (then compensate.isDone says so).
   */
  holds?: string;
  /** Undo, run (newest first) when this step or a later one fails and the run is aborted. */
  compensate?: Compensation<P, S>;
  /** This step opens a critical section (see CriticalSection). */
  opensSection?: CriticalSection;
  /** This step, once finished, closes the section it names. */
  closesSection?: string;
  /** Output lines always journaled even past the cap (a completion line). */
  keepLines?: RegExp[];
}

export type CheckOutcome = { ok: true; detail: string } | { ok: false; reason: string };

export interface Check<P, S> {
  id: string;
  title: string;
  /** A failure can be overridden by typed confirmation (journaled). */
  overridable?: boolean;
  run(ctx: RunContext<P, S>, signal: AbortSignal): Promise<CheckOutcome>;
}

export interface Runbook<P, S> {
  name: string;
  title: string;
  summary: string;
  params: z.ZodType<P>;
  /** The cluster the run acts on (and locks). */
  cluster(params: P): string;
  initialState(params: P): S;
  preflight(ctx: RunContext<P, S>): Check<P, S>[];
  /** Read-only work after preflight that the plan needs (pick the node). */
  prepare?(ctx: RunContext<P, S>, signal: AbortSignal): Promise<void>;
  /** The ordered steps, built from the params and the prepared state. Same ids on resume. */
  plan(ctx: RunContext<P, S>): Step<P, S>[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRunbook = Runbook<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStep = Step<any, any>;

/** Lets a runbook keep its P and S types while the registry holds any. */
export function defineRunbook<P, S>(runbook: Runbook<P, S>): Runbook<P, S> {
  return runbook;
}
