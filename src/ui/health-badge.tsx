// Health and step status drawn the same way everywhere: a glyph and a word,
// coloured as a bonus. With NO_COLOR the glyph and the word still say it all.

import { Text } from 'ink';
import type { HealthLevel } from '../domain/types.js';

type Colour = 'green' | 'yellow' | 'red' | 'gray' | 'cyan';

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

export interface HealthBadgeProps {
  level: HealthLevel;
  reason?: string;
}

export function HealthBadge({ level, reason }: HealthBadgeProps) {
  return (
    <Text>
      <Text color={healthColour(level)} bold={level === 'CRIT'}>
        {healthText(level)}
      </Text>
      {reason ? ` ${reason}` : ''}
    </Text>
  );
}

export type Status = 'pending' | 'running' | 'ok' | 'failed' | 'skipped' | 'blocked';

export const STATUS_STYLE: Record<Status, { glyph: string; colour: Colour; label: string }> = {
  pending: { glyph: '·', colour: 'gray', label: 'pending' },
  running: { glyph: '▶', colour: 'cyan', label: 'running' },
  ok: { glyph: '✓', colour: 'green', label: 'done' },
  failed: { glyph: '✗', colour: 'red', label: 'failed' },
  skipped: { glyph: '↷', colour: 'gray', label: 'skipped' },
  blocked: { glyph: '■', colour: 'yellow', label: 'blocked' },
};

export interface StatusIndicatorProps {
  status: Status;
  /** Show the word after the glyph (default true). */
  hasLabel?: boolean;
}

/** One step's state for the run screen and anything else with a status. */
export function StatusIndicator({ status, hasLabel = true }: StatusIndicatorProps) {
  const style = STATUS_STYLE[status];
  return (
    <Text color={style.colour} bold={status === 'failed'}>
      {hasLabel ? `${style.glyph} ${style.label}` : style.glyph}
    </Text>
  );
}
