// What the screens may ask of the console around them: refresh, quit, start a
// runbook, and the thresholds they judge ages against. Callbacks only; the
// screens never reach a backend themselves.

import { createContext, useContext } from 'react';

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
  onRunbook?: (runbook: string, cluster: string) => void;
  /** Runbooks the console can start; their keys appear only when listed here and onRunbook is set. */
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
