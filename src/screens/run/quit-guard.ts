// Ctrl-C is the console's (app.tsx) on every screen, but a screen whose run
// is live must ask before it goes: the run screen registers a guard that
// takes the key (and asks) while its run runs; with none, or when the guard
// lets it through, Ctrl-C quits at once as before.

import { createContext, useContext, useEffect, useRef } from 'react';

/** True when the guard took the key (it asks first); false lets the quit through. */
export type QuitGuard = () => boolean;

export interface QuitGuards {
  set(guard: QuitGuard | undefined): void;
}

export const QuitGuardContext = createContext<QuitGuards | undefined>(undefined);

/** Registers `guard` while mounted and `isActive`; the latest `guard` is called. */
export function useQuitGuard(guard: QuitGuard, isActive: boolean): void {
  const guards = useContext(QuitGuardContext);
  const latest = useRef(guard);
  latest.current = guard;
  useEffect(() => {
    if (!guards || !isActive) return;
    guards.set(() => latest.current());
    return () => guards.set(undefined);
  }, [guards, isActive]);
}
