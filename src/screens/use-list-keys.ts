// The key binding of a list screen. The handler is created once and reads the
// latest rows through a ref and the ui store through getState(), so a refresh
// never re-subscribes the input listener.

import type { Key } from 'ink';
import { useCallback, useRef } from 'react';
import { useUiStore } from '../store/context.js';
import { STOP, useKeys, type KeyPress } from '../ui/keys.js';
import { filterKey } from './filter-line.js';
import { screenKey, currentScreen } from '../store/ui.js';
import { useConsole } from './console-context.js';
import { listIntent, resolveIndex } from './list-keys.js';

export interface ListKeysOptions {
  /** Row ids in display order (after the filter). */
  ids: readonly string[];
  /** Rows moved by PgUp/PgDn. */
  pageSize: number;
  /** Highest index the cursor may take (a scrolled text view stops a page before the end). */
  maxIndex?: number;
  isActive: boolean;
  onOpen?: (id: string) => void;
  /** Screen-specific keys, e.g. { R: startRepair }. */
  extra?: Readonly<Record<string, () => void>>;
}

export function useListKeys(options: ListKeysOptions): void {
  const ui = useUiStore();
  const { onRefresh, onQuit } = useConsole();
  const latest = useRef(options);
  latest.current = options;
  const callbacks = useRef({ onRefresh, onQuit });
  callbacks.current = { onRefresh, onQuit };

  const handleInput = useCallback(
    (input: string, key: Key, rest: readonly KeyPress[]): typeof STOP | void => {
      const intent = listIntent(input, key);
      if (!intent) return;
      const { ids, pageSize, maxIndex, onOpen, extra } = latest.current;
      const state = ui.getState();
      const { actions } = state;
      const last = Math.max(0, Math.min(ids.length - 1, maxIndex ?? Infinity));
      const current = Math.min(resolveIndex(state.selection[screenKey(currentScreen(state))], ids), last);
      const moveTo = (index: number) => {
        const next = Math.min(Math.max(0, index), last);
        actions.select(next, ids[next]);
      };
      switch (intent.type) {
        case 'move':
          return moveTo(current + intent.delta);
        case 'page':
          return moveTo(current + intent.direction * Math.max(1, pageSize));
        case 'top':
          return moveTo(0);
        case 'bottom':
          return moveTo(last);
        case 'open': {
          const id = ids[current];
          if (id !== undefined) onOpen?.(id);
          return STOP;
        }
        case 'back': {
          const filter = state.filter[screenKey(currentScreen(state))];
          if (filter) actions.clearFilter();
          else actions.pop();
          return STOP;
        }
        case 'filter':
          actions.startFilter();
          // What was typed after "/" in the same read ("/orders⏎") is the filter.
          for (const k of rest) if (filterKey(ui, k.input, k.key) === STOP) break;
          return STOP;
        case 'help':
          actions.toggleHelp();
          return STOP;
        case 'refresh':
          return callbacks.current.onRefresh();
        case 'quit':
          callbacks.current.onQuit();
          return STOP;
        case 'other':
          // A screen's own key may open a prompt or a run: the rest of the run of keys is not for this list.
          if (extra?.[intent.input] === undefined) return;
          extra[intent.input]!();
          return STOP;
      }
    },
    [ui],
  );
  useKeys(handleInput, { isActive: options.isActive });
}
