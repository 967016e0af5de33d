// A finding (or a health reason) as the screens draw it: its level's glyph and
// word, the message wrapped under itself, and the runbook that answers it at
// the end, never split.

import type { HealthLevel } from '../domain/types.js';
import type { TextLine } from '../ui/detail-line.js';
import { wrapUnder } from '../ui/format.js';
import { HEALTH_STYLE, healthColour } from '../ui/status-glyphs.js';
import { RUNBOOKS_KEY } from './screen-keys.js';

/** `R: failover` where the console can start runbooks, `run failover` where it cannot; '' when no runbook answers. */
export function runbookHint(suggests: string | undefined, canStartRunbooks: boolean): string {
  if (suggests === undefined) return '';
  return canStartRunbooks ? `${RUNBOOKS_KEY}: ${suggests}` : `run ${suggests}`;
}

/** "✗ CRIT message  R: failover", wrapped to the width, continuation lines under the message; `lead` goes before the glyph. */
export function levelLines(level: HealthLevel, message: string, width: number, hint = '', lead = ''): TextLine[] {
  const head = `${lead}${HEALTH_STYLE[level].glyph} ${level} `;
  return wrapUnder(message, width, head, Array.from(head).length, hint).map((text) => ({ text, colour: healthColour(level) }));
}
