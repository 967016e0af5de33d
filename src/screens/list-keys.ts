// Keys shared by every list screen, as a pure mapping from a key press to an
// intent, so the mapping is testable without a terminal.

import type { Key } from 'ink';

export type ListIntent =
  | { type: 'move'; delta: number }
  | { type: 'page'; direction: 1 | -1 }
  | { type: 'top' }
  | { type: 'bottom' }
  | { type: 'open' }
  | { type: 'back' }
  | { type: 'filter' }
  | { type: 'help' }
  | { type: 'refresh' }
  | { type: 'quit' }
  | { type: 'other'; input: string };

export function listIntent(input: string, key: Key): ListIntent | null {
  if (key.upArrow) return { type: 'move', delta: -1 };
  if (key.downArrow) return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'page', direction: -1 };
  if (key.pageDown) return { type: 'page', direction: 1 };
  if (key.home) return { type: 'top' };
  if (key.end) return { type: 'bottom' };
  if (key.return) return { type: 'open' };
  if (key.escape) return { type: 'back' };
  if (key.ctrl || key.meta) return null;
  switch (input) {
    case 'k':
      return { type: 'move', delta: -1 };
    case 'j':
      return { type: 'move', delta: 1 };
    case 'g':
      return { type: 'top' };
    case 'G':
      return { type: 'bottom' };
    case '/':
      return { type: 'filter' };
    case '?':
      return { type: 'help' };
    case 'r':
      return { type: 'refresh' };
    case 'q':
      return { type: 'quit' };
    case '':
      return null;
    default:
      return { type: 'other', input };
  }
}

/** Where the cursor is: on its row if that row is still listed, else at the same place, clamped. */
export function resolveIndex(selection: { index: number; id?: string } | undefined, ids: readonly string[]): number {
  if (ids.length === 0) return 0;
  if (selection?.id !== undefined) {
    const at = ids.indexOf(selection.id);
    if (at >= 0) return at;
  }
  return Math.min(Math.max(0, selection?.index ?? 0), ids.length - 1);
}
