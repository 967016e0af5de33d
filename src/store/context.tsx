// Hands the vanilla stores to React. Each console (and each test) builds its
// own stores and passes them in; nothing here is module-level state.

import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { FleetState, FleetStore } from './fleet.js';
import type { RunsState, RunsStore } from './runs.js';
import type { UiState, UiStore } from './ui.js';

const FleetContext = createContext<FleetStore | null>(null);
const UiContext = createContext<UiStore | null>(null);
const RunsContext = createContext<RunsStore | null>(null);
const ClockContext = createContext<() => number>(Date.now);

export interface StoresProviderProps {
  fleet: FleetStore;
  ui: UiStore;
  /** Runbook runs; absent in a console that cannot start runs (and in screen tests). */
  runs?: RunsStore;
  /** Wall clock for ages ("refreshed 3 s ago"); tests pass a fixed one. */
  clock?: () => number;
  children: ReactNode;
}

export function StoresProvider({ fleet, ui, runs, clock, children }: StoresProviderProps) {
  return (
    <FleetContext.Provider value={fleet}>
      <UiContext.Provider value={ui}>
        <RunsContext.Provider value={runs ?? null}>
          <ClockContext.Provider value={clock ?? Date.now}>{children}</ClockContext.Provider>
        </RunsContext.Provider>
      </UiContext.Provider>
    </FleetContext.Provider>
  );
}

export function useRunsStore(): RunsStore {
  const store = useContext(RunsContext);
  if (!store) throw new Error('useRunsStore: no runs store was given to <App runs={...}>');
  return store;
}

export function useRuns<T>(selector: (s: RunsState) => T): T {
  return useStore(useRunsStore(), selector);
}

export function useRunsShallow<T>(selector: (s: RunsState) => T): T {
  return useStore(useRunsStore(), useShallow(selector));
}

export function useFleetStore(): FleetStore {
  const store = useContext(FleetContext);
  if (!store) throw new Error('useFleetStore outside <StoresProvider>: mount the screens through <App>');
  return store;
}

export function useUiStore(): UiStore {
  const store = useContext(UiContext);
  if (!store) throw new Error('useUiStore outside <StoresProvider>: mount the screens through <App>');
  return store;
}

export function useClock(): () => number {
  return useContext(ClockContext);
}

/** One value from the fleet store; the component re-renders only when it changes. */
export function useFleet<T>(selector: (s: FleetState) => T): T {
  return useStore(useFleetStore(), selector);
}

/** Several fields at once (an object or array), compared shallowly. */
export function useFleetShallow<T>(selector: (s: FleetState) => T): T {
  return useStore(useFleetStore(), useShallow(selector));
}

export function useUi<T>(selector: (s: UiState) => T): T {
  return useStore(useUiStore(), selector);
}

export function useUiShallow<T>(selector: (s: UiState) => T): T {
  return useStore(useUiStore(), useShallow(selector));
}
