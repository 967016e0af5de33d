// Every key of every screen, in one place: the footer, the help overlay and
// the README all read from here, so they cannot disagree with each other.

import type { KeyHint } from '../ui/key-hints.js';
import type { ScreenRef } from '../store/ui.js';

/**
 * The one key that opens the runbooks of a cluster (the catalog lists them).
 * Upper-case: a runbook is never one slip of a lower-case navigation key
 * away; and the list, the form and the plan still stand between it and any
 * change.
 */
export const RUNBOOKS_KEY = 'R';

export interface HintOptions {
  /** The console can start runbooks (a runner is wired): the runbooks key is offered. */
  canStartRunbooks?: boolean;
}

const MOVE: KeyHint = { keys: '↑/↓ j/k', short: '↑↓', label: 'move', isFooter: true };
const PAGE: KeyHint = { keys: 'PgUp/PgDn', label: 'page up / down' };
const ENDS: KeyHint = { keys: 'g / G', label: 'first / last row' };
const FILTER: KeyHint = { keys: '/', label: 'filter (⏎ keeps it, esc clears)', footerLabel: 'filter', isFooter: true };
const REFRESH: KeyHint = { keys: 'r', label: 'refresh now', footerLabel: 'refresh', isFooter: true };
const HELP: KeyHint = { keys: '?', label: 'this help (esc, ? or q closes it)', footerLabel: 'help', isFooter: true };
const QUIT: KeyHint = { keys: 'q', label: 'quit nightshift', footerLabel: 'quit', isFooter: true };
const BACK: KeyHint = { keys: 'esc', label: 'clear the filter, else back', footerLabel: 'back', isFooter: true };

export function hintsFor(screen: ScreenRef, { canStartRunbooks = false }: HintOptions = {}): KeyHint[] {
  const runbooks = (where: string): KeyHint[] =>
    canStartRunbooks ? [{ keys: RUNBOOKS_KEY, label: `runbooks for ${where}: list, form, then the plan`, footerLabel: 'runbooks', isFooter: true }] : [];
  switch (screen.kind) {
    case 'fleet':
      return [
        MOVE,
        { keys: '⏎', label: 'open the cluster', footerLabel: 'open', isFooter: true },
        ...runbooks('the selected cluster'),
        // The filter matches the region too: typing `eu-west` keeps that region's rows.
        { ...FILTER, label: 'filter (⏎ keeps it, esc clears); by region too: /eu-west' },
        { keys: 'esc', label: 'clear the filter' },
        PAGE,
        ENDS,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'cluster':
      return [
        MOVE,
        { keys: '⏎', label: 'open the node: all facts and tags', footerLabel: 'node', isFooter: true },
        BACK,
        ...runbooks('this cluster'),
        FILTER,
        PAGE,
        ENDS,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'node':
      return [
        { keys: '↑/↓ j/k', short: '↑↓', label: 'scroll', isFooter: true },
        BACK,
        PAGE,
        ENDS,
        FILTER,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'runbooks':
      return [
        MOVE,
        { keys: '⏎', label: 'open the runbook\'s form (nothing runs yet)', footerLabel: 'choose', isFooter: true },
        BACK,
        FILTER,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'runbook-form':
      return [
        { keys: '↑/↓ j/k', short: '↑↓', label: 'move; in a choice the answer follows the cursor', footerLabel: 'choose', isFooter: true },
        { keys: '⏎', label: 'plan: preflight, then the plan to read; nothing runs yet', footerLabel: 'plan', isFooter: true },
        { keys: 'esc', label: 'back to the list of runbooks', footerLabel: 'back', isFooter: true },
        { keys: 'tab', label: 'next field, every answer kept (shift-tab: the one before)' },
        { keys: 'space', label: 'switch a yes/no answer' },
        { keys: 'PgUp/PgDn', label: 'page up / down' },
        { keys: 'q', label: 'quit nightshift (in a text answer, q is a letter)', footerLabel: 'quit', isFooter: true },
        HELP,
      ];
    case 'run':
      return [];
  }
}
