// The filter line above the footer. While it is active it owns the keyboard:
// typed text filters the rows as you type, ⏎ keeps the filter, esc clears it.

import { Text, type Key } from 'ink';
import { STOP, useKeys } from '../ui/keys.js';
import { useCallback } from 'react';
import { useUi, useUiStore } from '../store/context.js';
import { selectFilter, selectIsFilterActive, type UiStore } from '../store/ui.js';
import { fit } from '../ui/format.js';

export interface FilterLineProps {
  width: number;
  isActive: boolean;
}

/**
 * One key typed into the filter: text filters as it is typed, ⏎ keeps the filter, esc clears it.
 * STOP when the filter line is done with the keyboard.
 */
export function filterKey(ui: UiStore, input: string, key: Key): typeof STOP | void {
  const { actions } = ui.getState();
  const current = selectFilter(ui.getState());
  if (key.escape || key.return) {
    if (key.return && current) actions.keepFilter();
    else actions.clearFilter();
    return STOP;
  }
  if (key.backspace || key.delete) return actions.setFilter(Array.from(current).slice(0, -1).join(''));
  if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab) return;
  // Pasted text arrives as one chunk; keep only what can be typed on one line.
  const printable = input.replace(/[\u0000-\u001f\u007f]/g, '');
  if (printable) actions.setFilter(current + printable);
}

export function FilterLine({ width, isActive }: FilterLineProps) {
  const ui = useUiStore();
  const text = useUi(selectFilter);
  const isTyping = useUi(selectIsFilterActive);

  const handleInput = useCallback((input: string, key: Key) => filterKey(ui, input, key), [ui]);
  useKeys(handleInput, { isActive: isActive && isTyping });

  if (isTyping) {
    return (
      <Text wrap="truncate">
        <Text bold>/</Text>
        {fit(`${text}▏`, Math.max(0, width - 32), 'left')}
        {'  ⏎ keep filter · esc clear'}
      </Text>
    );
  }
  return <Text wrap="truncate">{fit(`filter: ${text}  (esc clears)`, width)}</Text>;
}

/** Rows whose text contains every word of the filter, case-insensitively. */
export function matchesFilter(haystack: string, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  return words.every((w) => haystack.includes(w));
}
