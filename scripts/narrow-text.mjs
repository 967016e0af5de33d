// Ink measures every text it draws with string-width and splits every line it
// writes into graphemes with Intl.Segmenter. Loading those cost ~75 ms before
// the first frame, text or no text: four modules make a segmenter at load,
// and the first Intl object in a process loads ICU's locale data (~25 ms);
// string-width 8 makes a \p{RGI_Emoji} regex at load, for which V8 builds the
// set of every emoji sequence (~50 ms). Most of what a terminal console draws
// needs neither: a text made only of the characters below (ASCII, and the
// glyphs our screens use so that NO_COLOR loses nothing: ● ▲ ✗ … │ ›) is one
// grapheme and one column per character, as string-width and the segmenter
// themselves say (test/build/narrow-text.test.ts checks every one of them).
// The build gives string-width, wrap-ansi's older copy of it, Ink's
// ansi-tokenize and slice-ansi that shortcut, and makes their segmenters and
// the emoji regex at first use; any other text goes the long way, as before.
// Pure text transforms, so a test can check they still apply to what is
// installed. One that no longer applies fails the build (patch-check.mjs),
// naming `file` when the caller gives it (the path the bundler loaded).

import { lookFor, patchError } from './patch-check.mjs';

const PATCH = 'scripts/narrow-text.mjs';

/**
 * Characters that are one column wide to both copies of string-width (8.x for
 * Ink, 7.x for wrap-ansi, which also counts text-style emoji such as ▶ ✔ ↔ as
 * two), not wide to is-fullwidth-code-point, and never joined to a neighbour
 * in a grapheme (no marks, joiners, controls or emoji). All in the BMP, so
 * one code unit is one character.
 */
export const NARROW_RANGES = [
  [0x0020, 0x007e], // printable ASCII
  [0x00a0, 0x00a8], // Latin-1: · × » µ é ..., without © ® (emoji to wrap-ansi) and the soft hyphen (zero width)
  [0x00aa, 0x00ac],
  [0x00af, 0x00ff],
  [0x2010, 0x2027], // dashes, quotes, bullets, …
  [0x2030, 0x203b], // ‰ ′ ‹ › ..., without ‼ and ⁉ (emoji)
  [0x203d, 0x2048],
  [0x204a, 0x205e],
  [0x2190, 0x2193], // arrows ← ↑ → ↓, without the emoji ones (↔ ↕ ↖ ↗ ↘ ↙ ↩ ↪)
  [0x219a, 0x21a8],
  [0x21ab, 0x21ff],
  [0x2200, 0x22ff], // mathematical operators − ∪ ⊆ ...
  [0x2300, 0x2319], // technical symbols ⌘ ⏎ ..., without the wide and emoji ones (⌚ ⌛ ⌨ 〈 〉 ⏏ ⏩-⏺)
  [0x231c, 0x2327],
  [0x232b, 0x23ce],
  [0x23d0, 0x23e8],
  [0x2500, 0x259f], // box drawing │ ─ ┌ and block elements ▁ ▂ █ ▏
  [0x25a0, 0x25a9], // geometric shapes ■ ▲ ● ○ ◆ ◐, without the emoji ones (▪ ▫ ▶ ◀ ◻ ◼ ◽ ◾)
  [0x25ac, 0x25b5],
  [0x25b7, 0x25bf],
  [0x25c1, 0x25fa],
  [0x25ff, 0x25ff],
  [0x2713, 0x2713], // ✓
  [0x2715, 0x2715], // ✕
  [0x2717, 0x2717], // ✗
  [0x2800, 0x28ff], // braille (spinners)
];

const hex = (cp) => `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
const NARROW_CLASS = NARROW_RANGES.map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join('');

/** A regex literal matching a text made only of narrow characters (and of `extra`, a class fragment). */
export function narrowTextRegex(extra = '') {
  return `/^[${extra}${NARROW_CLASS}]*$/`;
}

const SW_SEGMENTER = 'const segmenter = new Intl.Segmenter();';
const SW_SEGMENT = 'segmenter.segment(string)';
const SW_SLOW_PATH = 'let width = 0;\n\tconst eastAsianWidthOptions';
const SW8_EMOJI = 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;';
const SW8_EMOJI_TEST = 'rgiEmojiRegex.test(segment)';

/**
 * string-width (8.x, and the 7.x that wrap-ansi depends on) with a narrow
 * text's width answered as its length, after the ANSI codes are stripped and
 * unless ambiguous characters are asked to be wide; its segmenter, and 8.x's
 * \p{RGI_Emoji} regex, made at their first use (V8 builds the regex's set of
 * emoji sequences when it creates it, literal or `new RegExp`, which is how
 * esbuild writes it). Throws when the code is not what it was.
 */
export function patchStringWidth(source, file = "string-width's index.js") {
  const target = file;
  lookFor(PATCH, target, source, [SW_SEGMENTER, SW_SEGMENT, SW_SLOW_PATH]);
  const hasEmojiRegex = source.includes(SW8_EMOJI);
  // 8.x makes its own emoji regex, 7.x calls emoji-regex's; a copy with the one but not the other has changed.
  if (hasEmojiRegex !== source.includes(SW8_EMOJI_TEST)) {
    const [has, lacks] = hasEmojiRegex ? [SW8_EMOJI, SW8_EMOJI_TEST] : [SW8_EMOJI_TEST, SW8_EMOJI];
    throw patchError(PATCH, target, `it found ${JSON.stringify(has)} without ${JSON.stringify(lacks)}`);
  }
  const patched = source
    .replace(SW_SEGMENTER, `const narrowText = ${narrowTextRegex()};\nlet segmenter;`)
    .replace(SW_SEGMENT, '(segmenter ??= new Intl.Segmenter()).segment(string)')
    .replace(SW_SLOW_PATH, `if (ambiguousIsNarrow && narrowText.test(string)) {\n\t\treturn string.length;\n\t}\n\n\t${SW_SLOW_PATH}`);
  if (!hasEmojiRegex) return patched;
  return patched.replace(SW8_EMOJI, 'let rgiEmojiRegex;').replace(SW8_EMOJI_TEST, '(rgiEmojiRegex ??= /^\\p{RGI_Emoji}$/v).test(segment)');
}

const TOKENIZE_SEGMENTER = 'const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });';
const TOKENIZE_SEGMENT = 'segmenter.segment(str)';

/**
 * @alcalzone/ansi-tokenize's tokenize(), which Ink runs on every line of
 * every frame, with a narrow text (ANSI escapes allowed: ESC is a grapheme of
 * its own) split one code unit per grapheme, which is what the segmenter
 * would say; throws when the code is not what it was.
 */
export function patchAnsiTokenize(source, file = "@alcalzone/ansi-tokenize's build/tokenize.js") {
  lookFor(PATCH, file, source, [TOKENIZE_SEGMENTER, TOKENIZE_SEGMENT]);
  const graphemes = `const narrowText = ${narrowTextRegex('\\u001B')};
let segmenter;
function graphemes(str) {
    if (!narrowText.test(str))
        return (segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })).segment(str);
    const segments = new Array(str.length);
    for (let index = 0; index < str.length; index++)
        segments[index] = { segment: str[index], index };
    return segments;
}`;
  return source.replace(TOKENIZE_SEGMENTER, graphemes).replace(TOKENIZE_SEGMENT, 'graphemes(str)');
}

const SLICE_SEGMENTER = "const GRAPHEME_SEGMENTER = new Intl.Segmenter(undefined, {granularity: 'grapheme'});";

/**
 * slice-ansi (cli-truncate's, for Ink's truncated texts) with its segmenter
 * made at its first use, so that merely loading it does not load ICU's data;
 * throws when the code is not what it was.
 */
export function patchSliceAnsi(source, file = "slice-ansi's tokenize-ansi.js") {
  lookFor(PATCH, file, source, [SLICE_SEGMENTER]);
  return source.replace(
    SLICE_SEGMENTER,
    `let graphemeSegmenter;
const GRAPHEME_SEGMENTER = {
	segment: (string) => (graphemeSegmenter ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'})).segment(string),
};`,
  );
}
