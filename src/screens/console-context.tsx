// What the screens may ask of the console around them: refresh, quit, start a
// runbook, and the thresholds they judge ages against. Callbacks only; the
// screens never reach a backend themselves.

import { createContext, useContext } from 'react';
import type { ScopedName } from '../domain/scope.js';

export interface ScreenThresholds {
  /** Cassandra gc_grace_seconds: an older repair is overdue. */
  gcGraceSeconds: number;
  /** A row not updated for this many refresh intervals is stale even if its last probe did not fail. */
  staleAfterRefreshes: number;
}

export const DEFAULT_THRESHOLDS: ScreenThresholds = { gcGraceSeconds: 864_000, staleAfterRefreshes: 3 };

export interface ConsoleCallbacks {
  onRefresh(): void;
  onQuit(): void;
  /**
   * Plans a runbook with the form's parameters and shows the plan. Settles once
   * the plan is on screen; rejects with why it could not be made (the form shows it).
   */
  onRunbook?: (runbook: string, cluster: ScopedName, params: Record<string, unknown>) => Promise<void> | void;
  /** Runbooks the console can start (names in the catalog); the runbooks key appears only when onRunbook is set. */
  availableRunbooks: readonly string[];
  thresholds: ScreenThresholds;
}

const noop = () => {};

export const ConsoleContext = createContext<ConsoleCallbacks>({
  onRefresh: noop,
  onQuit: noop,
  availableRunbooks: [],
  thresholds: DEFAULT_THRESHOLDS,
});

export function useConsole(): ConsoleCallbacks {
  return useContext(ConsoleContext);
}
