// One line of the screen, drawn from segments that each carry a style.
//
// Ink measures every <Text> with string-width on every frame. For printable
// ASCII that is one regular expression; a single glyph (✓ ▲ ✗ › · …) sends
// the whole text through grapheme segmentation instead, some 10 µs a call
// and 1 µs a character. So the line is drawn as a row of <Text>s, one per
// style, and a long stretch of ASCII gets a <Text> of its own: only the
// glyphs and the few characters around them are measured the slow way.
// Table rows drawn like this, rather than as one <Text> with a <Text> nested
// per coloured cell, take some 40% off Ink's output pass (bench/ui.ts).
//
// The pieces sit side by side, so they must fit the width as given (fit()
// them first); a line that does not, or holds a character whose width is
// not plainly one cell, falls back to one truncated <Text>.

import { Box, Text } from 'ink';
import { memo } from 'react';

export interface Segment {
  text: string;
  colour?: string | undefined;
  isBold?: boolean;
  isInverse?: boolean;
}

export interface LineProps {
  segments: readonly Segment[];
  width: number;
}

/**
 * Shorter ASCII stretches stay with their glyphs: every <Text> costs Ink a layout node and a
 * tokenizer pass of its own (about the price of measuring a dozen characters the slow way).
 */
const MIN_ASCII_PIECE = 12;
/**
 * Characters known to take one cell each, so that the length of a text is its width: printable
 * ASCII, Latin to Georgian, and the punctuation, arrows, boxes and shapes our glyphs come from,
 * without the emoji and wide brackets among them. Anything else (CJK, emoji, a control
 * character) takes the fallback, where Ink measures it properly. (The zero-width marks among
 * these ranges only make a text look longer than it is, which errs towards the fallback.)
 */
const ONE_CELL_EACH = /^[\x20-\x7e\xa0-\u10ff\u2010-\u2027\u2030-\u2319\u231c-\u2328\u232b-\u23e8\u23ed-\u23ef\u23f1\u23f2\u23f4-\u25fc\u25ff\u2713\u2717]*$/;

function LineView({ segments, width }: LineProps) {
  let length = 0;
  for (const s of segments) length += s.text.length;
  if (length > width || !segments.every((s) => ONE_CELL_EACH.test(s.text))) {
    return (
      <Text wrap="truncate">
        {segments.map((s, i) => (
          <Text key={i} color={s.colour} bold={s.isBold ?? false} inverse={s.isInverse ?? false}>
            {s.text}
          </Text>
        ))}
      </Text>
    );
  }
  const pieces = mergeStyles(segments).flatMap((s) => measurablePieces(s.text).map((text) => ({ ...s, text })));
  return (
    <Box height={1} width={width}>
      {pieces.map((p, i) => (
        <Text key={i} color={p.colour} bold={p.isBold ?? false} inverse={p.isInverse ?? false}>
          {p.text}
        </Text>
      ))}
    </Box>
  );
}

/** `text` cut so that every ASCII stretch of MIN_ASCII_PIECE or more is a piece of its own. */
export function measurablePieces(text: string): string[] {
  const pieces: string[] = [];
  let pending = '';
  let at = 0;
  while (at < text.length) {
    let end = at;
    while (end < text.length && isPrintableAscii(text.charCodeAt(end))) end++;
    if (end - at >= MIN_ASCII_PIECE) {
      if (pending) pieces.push(pending);
      pieces.push(text.slice(at, end));
      pending = '';
    } else {
      pending += text.slice(at, end);
    }
    if (end < text.length) pending += text[end];
    at = end + 1;
  }
  if (pending) pieces.push(pending);
  return pieces;
}

function isPrintableAscii(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

/** Neighbouring segments of one style as one, so a caller can build a line from small parts. */
function mergeStyles(segments: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    if (!s.text) continue;
    const last = out[out.length - 1];
    if (last && sameStyle(last, s)) last.text += s.text;
    else out.push({ ...s });
  }
  return out;
}

function sameStyle(a: Segment, b: Segment): boolean {
  return a.colour === b.colour && (a.isBold ?? false) === (b.isBold ?? false) && (a.isInverse ?? false) === (b.isInverse ?? false);
}

function sameSegments(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.text !== y.text || !sameStyle(x, y)) return false;
  }
  return true;
}

/** Re-rendered only when what it draws changes: segments are usually made afresh on every render. */
export const Line = memo(LineView, (prev, next) => prev.width === next.width && sameSegments(prev.segments, next.segments));
