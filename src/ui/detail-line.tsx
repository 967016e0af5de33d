// The lines under a table that spell out the selected row in full: what the
// narrow columns had to cut ("✗ CRIT lag 340 s > 300 s", the probe error, the
// instance id) wraps here over the rows the table leaves empty, so nothing is
// lost at 80 columns.

import { Box } from 'ink';
import { fit, wrapUnder } from './format.js';
import { Line } from './line.js';

export interface TextLine {
  text: string;
  colour?: string | undefined;
}

/** The selected row's text after "» ", wrapped; continuation lines indented under it. */
export function detailLines(text: string, width: number, colour?: string): TextLine[] {
  return wrapUnder(text, width, '» ', 2).map((l) => ({ text: l, colour }));
}

/**
 * At most `max` lines: when there are more, the last one kept says how many
 * are not shown and where they are (`more(n)`), so a cut is never silent.
 */
export function capLines(lines: readonly TextLine[], max: number, more: (hidden: number) => string): TextLine[] {
  if (lines.length <= max) return [...lines];
  if (max <= 0) return [];
  const kept = lines.slice(0, max - 1);
  return [...kept, { text: more(lines.length - kept.length) }];
}

export interface TextLinesProps {
  lines: readonly TextLine[];
  width: number;
}

/** Lines laid out beforehand (the screen counts them for its height), each fitted to the width. */
export function TextLines({ lines, width }: TextLinesProps) {
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <Line key={i} segments={[{ text: fit(l.text, width, 'left', false), colour: l.colour }]} width={width} />
      ))}
    </Box>
  );
}
