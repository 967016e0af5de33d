// The footer: the keys of the current screen, as many as fit, with "? help"
// always last so the full list is one key away even at 40 columns.

import { useMemo } from 'react';
import { Line } from './line.js';

export interface KeyHint {
  /** As drawn in the help: "↑/↓ j/k", "⏎", "esc", "R". */
  keys: string;
  /** Shorter keys for the footer ("↑↓"). */
  short?: string;
  /** As worded in the help. */
  label: string;
  /** Shorter words for the footer. */
  footerLabel?: string;
  /** Shown in the footer (all hints are shown in the help overlay). */
  isFooter?: boolean;
}

const HELP_HINT: KeyHint = { keys: '?', label: 'help' };
const SEP = '  ';

export function hintText(hint: KeyHint): string {
  return `${hint.short ?? hint.keys} ${hint.footerLabel ?? hint.label}`;
}

/** The hints that fit in `width`, in order, with help pinned at the end. */
export function fitHints(hints: readonly KeyHint[], width: number, isHelpPinned = true): KeyHint[] {
  const rest = hints.filter((h) => h.isFooter && h.keys !== '?');
  const pinned = isHelpPinned ? hintText(HELP_HINT).length : 0;
  const out: KeyHint[] = [];
  let used = pinned;
  for (const h of rest) {
    const need = hintText(h).length + SEP.length;
    if (used + need > width) break;
    out.push(h);
    used += need;
  }
  return isHelpPinned ? [...out, HELP_HINT] : out;
}

export interface KeyHintsProps {
  hints: readonly KeyHint[];
  width: number;
  /** False inside the help itself. */
  isHelpPinned?: boolean;
}

export function KeyHints({ hints, width, isHelpPinned = true }: KeyHintsProps) {
  const segments = useMemo(
    () =>
      fitHints(hints, width, isHelpPinned).flatMap((h, i) => [
        { text: i > 0 ? SEP : '' },
        { text: h.short ?? h.keys, isBold: true },
        { text: ` ${h.footerLabel ?? h.label}` },
      ]),
    [hints, width, isHelpPinned],
  );
  return <Line segments={segments} width={width} />;
}
