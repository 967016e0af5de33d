// Runs started from the console: the plan goes to the run store first (the
// run screen shows it), the operator starts it, gates become prompts on the
// screen, and Ctrl-C-like aborts go through the controller. One runner per
// console, made by a factory; it keeps its controllers, no module state.

import type { Backends } from '../backends/ports.js';
import type { Instance } from '../domain/types.js';
import type { Config } from '../config/schema.js';
import type { RunsStore } from '../store/runs.js';
import { foldRun, type RunView } from './engine/run-view.js';
import { engineDeps } from './engine/deps.js';
import { createPromptGate, type PromptGate, type PromptReply } from './engine/gate.js';
import { listResumableRuns, loadRun, type ResumableRun } from './engine/history.js';
import { stamp } from './engine/journal.js';
import { createRedactor } from './engine/redact.js';
import type { RunRecord } from './engine/records.js';
import { executeRun, prepareRun, resumeRun, type EngineDeps, type PreparedRun, type RunOutcome } from './engine/runner.js';
import { jobCommands } from './engine/remote-job.js';
import { RunAborted } from './engine/timing.js';
import { getRunbook } from './runbooks/index.js';

/**
 * What a run planned under --read-only says where its start would be. It stops
 * there, before any lock or journal: every change would be refused at the
 * backend layer, and the first refusal would be the lock.
 */
export const READ_ONLY_STOP = 'read-only: nothing will change; this is the plan (nightshift was started read-only: --read-only or readOnly in the config; start it without to run this)';

export interface RunController {
  readonly runId: string;
  /** Starts a planned run (no-op once started, or when the plan is blocked). */
  start(): void;
  /** Answers the gate question waiting on the screen. */
  answer(gateId: string, reply: PromptReply): void;
  /** Aborts at once: the step's signal fires, undo steps run, the lock is released. */
  abort(reason?: string): void;
  readonly isStarted: boolean;
  /** Settles when the run has finished (undefined when it was never started). */
  readonly done: Promise<RunOutcome | undefined>;
  /**
   * The jobs this run started on nodes (a repair, a backup), with the shell
   * commands to look at one and to stop it: what an abort asks about, and what
   * the screen names when one may outlive the run.
   */
  remoteJobs?(): RemoteJob[];
}

/** A job a step started on a node, as its facts tell (src/actions/engine/remote-job.ts). */
export interface RemoteJob {
  stepId: string;
  /** The step's title and node: "nodetool repair -pr on cass-2". */
  what: string;
  node: string;
  job: string;
  /** open: no end seen (it runs, or may); cancelled: stopped by an abort; ended: it exited. */
  state: 'open' | 'cancelled' | 'ended';
  /** Shell commands for the operator; absent when the node's address is not known here. */
  check?: string;
  stop?: string;
}

/** The jobs the steps of a run started, from the step facts the job follower writes. */
export function jobsOf(run: RunView): Array<Omit<RemoteJob, 'check' | 'stop'> & { nodeId: string }> {
  const out: Array<Omit<RemoteJob, 'check' | 'stop'> & { nodeId: string }> = [];
  for (const step of run.steps) {
    const { job, jobNode, jobEnd } = step.facts as { job?: unknown; jobNode?: unknown; jobEnd?: unknown };
    if (typeof job !== 'string') continue;
    const nodeId = typeof jobNode === 'string' ? jobNode : (step.node?.id ?? '?');
    const node = step.node?.id === nodeId ? step.node.name : nodeId;
    const end = jobEnd !== null && typeof jobEnd === 'object' ? (jobEnd as Record<string, unknown>) : undefined;
    const state = end?.['job'] !== job ? 'open' : 'cancelled' in end ? 'cancelled' : 'ended';
    out.push({ stepId: step.id, what: `${step.title} on ${node}`, node, nodeId, job, state });
  }
  return out;
}

/** The instance with this id somewhere in a runbook's state (its steps keep the nodes they act on). */
function findInstance(value: unknown, id: string, depth = 0): Instance | undefined {
  if (value === null || typeof value !== 'object' || depth > 6) return undefined;
  const v = value as Record<string, unknown>;
  if (v['id'] === id && typeof v['privateIp'] === 'string' && typeof v['name'] === 'string') return value as Instance;
  for (const child of Array.isArray(value) ? value : Object.values(v)) {
    const found = findInstance(child, id, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export interface ConsoleRunner {
  /** Preflight and plan, into the store; the screen shows them and the operator starts. */
  plan(runbook: string, params: Record<string, unknown>): Promise<RunController>;
  /**
   * Continues an interrupted or paused run (its history is loaded into the
   * store first). With `start: false` it only loads it: the run screen shows
   * where it stopped and the operator starts it (the offer at console start).
   */
  resume(runId: string, opts?: { start?: boolean }): Promise<RunController>;
  /** What to offer at start. */
  resumable(): ResumableRun[];
  get(runId: string): RunController | undefined;
  /** On quit: abort whatever still runs and wait for it to end cleanly. */
  abortAll(reason?: string): Promise<void>;
}

export interface ConsoleRunnerDeps {
  config: Config;
  backends: Backends;
  runs: RunsStore;
  /** Test hook: extra engine settings (who, clocks). */
  engine?: Partial<EngineDeps>;
}

export function createConsoleRunner({ config, backends, runs, engine }: ConsoleRunnerDeps): ConsoleRunner {
  const controllers = new Map<string, RunController>();

  const wire = () => {
    // Gate questions carry the run id of the run that asks; the engine stamps them.
    let currentRun = '';
    // A gate shows the step's commands and a failure's error, which may carry a password (nodetool -pw).
    const redactor = createRedactor(config.secrets);
    const gate: PromptGate = createPromptGate(
      (gateId, request) =>
        runs.getState().actions.apply(stamp(currentRun, backends.clock.now(), { type: 'gate-pending', gateId, request: redactor.deep(request) })),
      (gateId) => runs.getState().actions.apply(stamp(currentRun, backends.clock.now(), { type: 'gate-cleared', gateId })),
    );
    const deps: EngineDeps = {
      ...engineDeps(config, backends, gate, (r: RunRecord) => runs.getState().actions.apply(r)),
      ...engine,
    };
    return { gate, deps, setRun: (id: string) => (currentRun = id) };
  };

  const controllerFor = (
    runId: string,
    gate: PromptGate,
    abort: AbortController,
    begin: (() => Promise<RunOutcome>) | undefined,
    startedAlready: boolean,
    liveState?: () => unknown,
  ): RunController => {
    let started = startedAlready;
    let resolveDone!: (o: RunOutcome | undefined) => void;
    const done = new Promise<RunOutcome | undefined>((r) => (resolveDone = r));
    const go = () => {
      // A plan only (read-only): nothing to start, and nothing may take the lock or write a journal.
      if (!begin) return;
      started = true;
      begin().then(resolveDone, (err: unknown) => {
        // Programming errors only: the engine turns failures into outcomes.
        runs.getState().actions.apply(
          stamp(runId, backends.clock.now(), { type: 'run-finished', status: 'failed', reason: `internal error: ${(err as Error).message}`, realMs: 0, virtualMs: 0 }),
        );
        resolveDone({ runId, status: 'failed', reason: (err as Error).message });
      });
    };
    const controller: RunController = {
      runId,
      get isStarted() {
        return started;
      },
      start: () => {
        if (!started) go();
      },
      answer: (gateId, reply) => gate.answer(gateId, reply),
      abort: (reason = 'aborted by the operator') => {
        abort.abort(new RunAborted(reason));
        if (!started) resolveDone(undefined);
      },
      done,
      remoteJobs: () => {
        const view = runs.getState().runs[runId];
        if (!view) return [];
        return jobsOf(view).map(({ nodeId, ...j }) => {
          const node = findInstance(liveState?.(), nodeId) ?? findInstance(view.state, nodeId);
          const login = node ? safeLogin(backends, node) : undefined;
          return { ...j, ...(login ? jobCommands(login, j.job) : {}) };
        });
      },
    };
    if (startedAlready) go();
    controllers.set(runId, controller);
    return controller;
  };

  return {
    async plan(runbookName, params) {
      const runbook = getRunbook(runbookName);
      if (!runbook) throw new Error(`no runbook "${runbookName}"`);
      const { gate, deps, setRun } = wire();
      const abort = new AbortController();
      // The run id is made inside prepare; the gate learns it from the first event.
      const onEvent = deps.onEvent!;
      // Read-only: the plan is shown as one that cannot start (no ⏎ on the run screen), saying why.
      const isPlanOnly = config.readOnly;
      deps.onEvent = (r) => {
        setRun(r.runId);
        onEvent(isPlanOnly && r.type === 'planned' && !r.blocked ? { ...r, blocked: READ_ONLY_STOP } : r);
      };
      const prepared: PreparedRun = await prepareRun(runbook, params, deps, abort.signal);
      return controllerFor(prepared.runId, gate, abort, isPlanOnly ? undefined : () => executeRun(prepared, deps, abort.signal), false, () => prepared.ctx.state);
    },
    async resume(runId, opts = {}) {
      const loaded = loadRun(config.stateDir, runId);
      runs.getState().actions.load(foldRun(loaded.journal.records)!);
      const { gate, deps, setRun } = wire();
      setRun(loaded.view.id);
      const abort = new AbortController();
      return controllerFor(
        loaded.view.id,
        gate,
        abort,
        () => resumeRun(getRunbook, loaded.view.id, deps, abort.signal),
        opts.start ?? true,
      );
    },
    resumable: () => listResumableRuns(config.stateDir),
    get: (runId) => controllers.get(runId),
    async abortAll(reason = 'nightshift is quitting') {
      const live = [...controllers.values()].filter((c) => c.isStarted);
      for (const c of live) c.abort(reason);
      await Promise.all(live.map((c) => c.done));
    },
  };
}

function safeLogin(backends: Backends, node: Instance): string | undefined {
  try {
    return backends.shell.loginCommand(node);
  } catch {
    return undefined;
  }
}
