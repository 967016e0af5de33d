// Every status glyph, in one table, for the screens and for the headless
// output alike: a status is a glyph and a word, coloured as a bonus, so a
// terminal without colours (NO_COLOR, a cron mail) loses nothing. Plain data,
// no Ink: the headless reporter imports it without loading React.
//
// Every glyph here is one cell wide to Ink's measure (scripts/narrow-text.mjs
// lists the narrow ranges; ▶ and ↷ are not in them, being emoji to some
// terminals).

import type { HealthLevel } from '../domain/types.js';

export type Colour = 'green' | 'yellow' | 'red' | 'gray' | 'cyan';

export const HEALTH_STYLE: Record<HealthLevel, { glyph: string; colour: Colour }> = {
  OK: { glyph: '✓', colour: 'green' },
  WARN: { glyph: '▲', colour: 'yellow' },
  CRIT: { glyph: '✗', colour: 'red' },
  UNKNOWN: { glyph: '?', colour: 'gray' },
};

/** "✗ CRIT" (and the reason after it when given), as plain text for tables. */
export function healthText(level: HealthLevel, reason?: string): string {
  const label = `${HEALTH_STYLE[level].glyph} ${level}`;
  return reason ? `${label} ${reason}` : label;
}

export function healthColour(level: HealthLevel): Colour {
  return HEALTH_STYLE[level].colour;
}

/** A runbook step, on the run screen, in headless output and in `show`. */
export const STEP_GLYPH = { pending: '○', running: '◐', ok: '✓', failed: '✗', skipped: '–' } as const;

export type StepStatus = keyof typeof STEP_GLYPH;

/** A status read from a journal may be one this version does not know: it still gets a mark. */
export function stepGlyph(status: string): string {
  return Object.hasOwn(STEP_GLYPH, status) ? STEP_GLYPH[status as StepStatus] : '?';
}

/** A preflight check's result. */
export const CHECK_GLYPH = { ok: '✓', overridden: '!', 'not-run': '○', failed: '✗' } as const;

export function checkGlyph(status: string): string {
  return Object.hasOwn(CHECK_GLYPH, status) ? CHECK_GLYPH[status as keyof typeof CHECK_GLYPH] : '✗';
}

/** Whether a runbook applies to a cluster now (the runbook picker): its reason follows in words. */
export const OFFER_GLYPH = { applies: '●', notNow: '○' } as const;

/** An answer of a choice in a runbook's form: chosen, not chosen, not available (its reason follows). */
export const CHOICE_GLYPH = { chosen: '●', notChosen: '○', unavailable: '–' } as const;
