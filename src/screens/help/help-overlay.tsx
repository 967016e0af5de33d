// Every key of the current screen. It replaces the body rather than floating
// over it, so it reads cleanly at 80x24 and with colours off.

import { Box, Text, type Key } from 'ink';
import { useCallback } from 'react';
import { useUiStore } from '../../store/context.js';
import { fit, wrap } from '../../ui/format.js';
import { STOP, useKeys } from '../../ui/keys.js';
import type { KeyHint } from '../../ui/key-hints.js';
import { HEALTH_STYLE } from '../../ui/status-glyphs.js';

export interface HelpOverlayProps {
  title: string;
  hints: readonly KeyHint[];
  width: number;
  height: number;
  isActive: boolean;
}

const NOTES = [
  `Health: ${Object.entries(HEALTH_STYLE).map(([level, s]) => `${s.glyph} ${level}`).join('  ')}. The reason follows in words.`,
  'A row marked ▲ stale keeps its last good values; its probe failed or is late.',
];

export function HelpOverlay({ title, hints, width, height, isActive }: HelpOverlayProps) {
  const ui = useUiStore();
  const handleInput = useCallback(
    (input: string, key: Key): typeof STOP | void => {
      if (key.escape || input === '?' || input === 'q') {
        ui.getState().actions.closeHelp();
        return STOP;
      }
    },
    [ui],
  );
  useKeys(handleInput, { isActive });

  return <KeysPage title={title} hints={hints} notes={NOTES} width={width} height={height} />;
}

/** A page of keys, then notes wrapped to the width; keys first, so a page longer than the terminal loses notes, never a key. */
export function KeysPage({ title, hints, notes, width, height }: { title: string; hints: readonly KeyHint[]; notes: readonly string[]; width: number; height: number }) {
  const keyWidth = Math.min(12, Math.max(...hints.map((h) => h.keys.length), 3));
  // Notes are wrapped to the width here, so the line count (and the fit in `height`) is known.
  const wrapped = notes.flatMap((n) => wrap(n, Math.max(10, width - 2)));
  const keyLines = hints.slice(0, Math.max(0, height - 2));
  const noteLines = wrapped.slice(0, Math.max(0, height - 3 - keyLines.length));
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Text bold wrap="truncate">{`Keys · ${title}`}</Text>
      <Text> </Text>
      {keyLines.map((h) => (
        <Text key={h.keys + h.label} wrap="truncate">
          {'  '}
          <Text bold>{fit(h.keys, keyWidth)}</Text>
          {`  ${h.label}`}
        </Text>
      ))}
      {noteLines.length > 0 ? <Text> </Text> : null}
      {noteLines.map((n, i) => (
        <Text key={i} wrap="truncate">{`  ${n}`}</Text>
      ))}
    </Box>
  );
}
