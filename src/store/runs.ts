// Runbook runs for the screens: the engine's events folded by reduceRun
// (src/actions/engine/run-view.ts) into a zustand store.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RunRecord } from '../actions/engine/records.js';
import { reduceRun, type RunView } from '../actions/engine/run-view.js';
import { cleanDeep } from '../domain/terminal-text.js';

export { currentStep, foldRun, OUTPUT_TAIL_LINES, reduceRun } from '../actions/engine/run-view.js';
export type { GateDecision, OutputLine, RunView, RunViewStatus, StepView } from '../actions/engine/run-view.js';

export interface RunsState {
  runs: Record<string, RunView>;
  /** Run ids, oldest first. */
  order: string[];
  actions: {
    apply(record: RunRecord): void;
    /** Puts a replayed run (from its journal) in the store. */
    load(view: RunView): void;
    remove(runId: string): void;
  };
}

export type RunsStore = StoreApi<RunsState>;

export function createRunsStore(): RunsStore {
  return createStore<RunsState>()((set) => ({
    runs: {},
    order: [],
    actions: {
      // The screens' side of the engine: a node's output and errors are cleaned here, as they become
      // screen data (the journal keeps them as they came).
      apply: (raw) => {
        const record = cleanDeep(raw);
        set((s) => ({
          runs: { ...s.runs, [record.runId]: reduceRun(s.runs[record.runId], record) },
          order: s.order.includes(record.runId) ? s.order : [...s.order, record.runId],
        }));
      },
      load: (raw) => {
        const view = cleanDeep(raw);
        set((s) => ({
          runs: { ...s.runs, [view.id]: view },
          order: s.order.includes(view.id) ? s.order : [...s.order, view.id],
        }));
      },
      remove: (runId) =>
        set((s) => {
          const { [runId]: _gone, ...runs } = s.runs;
          return { runs, order: s.order.filter((id) => id !== runId) };
        }),
    },
  }));
}

// Selectors: plain functions.
export const selectRun = (runId: string) => (s: RunsState) => s.runs[runId];
export const selectRunStatus = (runId: string) => (s: RunsState) => s.runs[runId]?.status;
export const selectRunGate = (runId: string) => (s: RunsState) => s.runs[runId]?.gate;
export const selectRunSteps = (runId: string) => (s: RunsState) => s.runs[runId]?.steps;
export const selectRunIds = (s: RunsState) => s.order;
