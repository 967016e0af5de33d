// The build answers the width and graphemes of narrow texts without
// Intl.Segmenter or the emoji regex (scripts/narrow-text.mjs). These check
// that the shortcut says exactly what the libraries say, for every character
// it covers and for styled and mixed texts; that it still applies to what is
// installed; and that the bundle `npm start` runs carries it.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { NARROW_RANGES, patchAnsiTokenize, patchSliceAnsi, patchStringWidth } from '../../scripts/narrow-text.mjs';
import { loadBundled } from '../helpers/bundled.js';

type StringWidth = (text: string, options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean }) => number;
type Tokenize = (text: string, endChar?: number) => unknown[];
type SliceAnsi = (text: string, start: number, end?: number) => string;

/** The copies Ink really runs: resolved from Ink and from the packages of Ink's that measure text. */
const fromInk = createRequire(createRequire(import.meta.url).resolve('ink'));
const resolveFrom = (pkg: string, request: string) => createRequire(fromInk.resolve(pkg)).resolve(request);
const stringWidthCopies = [
  ...new Set([
    fromInk.resolve('string-width'),
    resolveFrom('cli-truncate', 'string-width'),
    resolveFrom('widest-line', 'string-width'),
    resolveFrom('wrap-ansi', 'string-width'),
  ]),
];
const tokenizePackage = fromInk.resolve('@alcalzone/ansi-tokenize/package.json');
const tokenizeFile = join(dirname(tokenizePackage), 'build', 'tokenize.js');
const sliceAnsiFile = resolveFrom('cli-truncate', 'slice-ansi');
const sliceAnsiTokenizeFile = join(dirname(sliceAnsiFile), 'tokenize-ansi.js');

const narrow: string[] = [];
for (const [from, to] of NARROW_RANGES as [number, number][]) {
  for (let cp = from; cp <= to; cp++) narrow.push(String.fromCodePoint(cp));
}

const named = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} ${c}`;

/** Texts the shortcut must leave to the libraries: joiners, marks, emoji, wide and zero-width characters. */
const others = ['\uFE0F', '\u200D', '\u0301', '\u00AD', '©', '▶', '✔', '↔', '⌚', '⚠', '⛔', '漢', 'ｶ', '😀', '👍🏽', '🇫🇷', '\r\n', '\t', '\u0007', '\u0081', '\u2028'];
const styles = ['\u001B[1m', '\u001B[22m', '\u001B[7m', '\u001B[36m', '\u001B[39m', '\u001B[38;5;208m', '\u001B[0m', '\u001B]8;;https://example.net\u0007'];
const text = (alphabet: fc.Arbitrary<string>) => fc.array(alphabet, { maxLength: 30 }).map((parts) => parts.join(''));
const styledNarrow = text(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...narrow) }, fc.constantFrom(...styles)));
const mixed = text(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...narrow) }, fc.constantFrom(...styles), fc.constantFrom(...others)));

describe('the narrow-text shortcut', () => {
  it('applies to the copies of string-width, ansi-tokenize and slice-ansi that Ink uses', () => {
    expect(stringWidthCopies.length).toBeGreaterThan(0);
    for (const file of stringWidthCopies) expect(patchStringWidth(readFileSync(file, 'utf8')), file).toContain('narrowText.test(string)');
    expect(patchStringWidth(readFileSync(fromInk.resolve('string-width'), 'utf8'))).toContain('(rgiEmojiRegex ??= /^\\p{RGI_Emoji}$/v)');
    expect(patchAnsiTokenize(readFileSync(tokenizeFile, 'utf8'))).toContain('graphemes(str)');
    expect(patchSliceAnsi(readFileSync(sliceAnsiTokenizeFile, 'utf8'))).toContain('graphemeSegmenter ??=');
  });

  it('fails, naming itself, the file and what it looked for, when the code is not what it expects', () => {
    expect(() => patchStringWidth('export default function stringWidth() {}')).toThrow(
      `build: patch scripts/narrow-text.mjs does not apply to string-width's index.js: it looks for "const segmenter = new Intl.Segmenter();" and `,
    );
    expect(() => patchAnsiTokenize('export function tokenize() {}')).toThrow(/narrow-text\.mjs does not apply to @alcalzone\/ansi-tokenize's build\/tokenize\.js: it looks for "const segmenter = new Intl\.Segmenter\(undefined/);
    expect(() => patchSliceAnsi('export default function tokenizeAnsi() {}')).toThrow(/narrow-text\.mjs does not apply to slice-ansi's tokenize-ansi\.js: it looks for "const GRAPHEME_SEGMENTER = /);
    // string-width 8 with its emoji regex made elsewhere than it expects: half a match is no match.
    const sw8 = readFileSync(fromInk.resolve('string-width'), 'utf8');
    expect(() => patchStringWidth(sw8.replace('rgiEmojiRegex.test(segment)', 'isEmoji(segment)'))).toThrow(
      `string-width's index.js: it found "const rgiEmojiRegex = /^\\\\p{RGI_Emoji}$/v;" without "rgiEmojiRegex.test(segment)"`,
    );
  });

  it('covers only characters that are one column and one grapheme each, as the libraries themselves say', async () => {
    const widths = await Promise.all(stringWidthCopies.map((file) => loadBundled<StringWidth>(file)));
    const isFullwidthCodePoint = await loadBundled<(cp: number) => boolean>(createRequire(tokenizePackage).resolve('is-fullwidth-code-point'));
    const segmenter = new Intl.Segmenter();
    const graphemes = (s: string) => [...segmenter.segment(s)].length;
    const wrong = narrow.filter(
      (c) =>
        widths.some((width) => width(c) !== 1) ||
        isFullwidthCodePoint(c.codePointAt(0)!) ||
        [`x${c}`, `${c}x`, `${c}${c}`, `\u001B${c}`].some((pair) => graphemes(pair) !== 2),
    );
    expect(wrong.map(named)).toEqual([]);
  });

  describe.each(stringWidthCopies)('string-width at %s', (file) => {
    let original: StringWidth;
    let patched: StringWidth;
    beforeAll(async () => {
      [original, patched] = await Promise.all([
        loadBundled<StringWidth>(file),
        loadBundled<StringWidth>(file, 'default', { [file]: patchStringWidth }),
      ]);
    });

    it('gives every narrow character, alone, styled or followed by a mark, the width it gave', () => {
      const wrong = narrow.filter((c) =>
        [c, `a${c}b`, `\u001B[36m${c}\u001B[39m`, `${c}\u0301`, `${c}\uFE0F`, `${c}\u200D${c}`].some(
          (t) => patched(t) !== original(t) || patched(t, { ambiguousIsNarrow: false }) !== original(t, { ambiguousIsNarrow: false }),
        ),
      );
      expect(wrong.map(named)).toEqual([]);
    });

    it('gives styled and mixed texts the width they had, with every option', () => {
      fc.assert(
        fc.property(fc.oneof(styledNarrow, mixed), fc.boolean(), fc.boolean(), (t, ambiguousIsNarrow, countAnsiEscapeCodes) => {
          expect(patched(t, { ambiguousIsNarrow, countAnsiEscapeCodes })).toBe(original(t, { ambiguousIsNarrow, countAnsiEscapeCodes }));
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('ansi-tokenize', () => {
    let original: Tokenize;
    let patched: Tokenize;
    beforeAll(async () => {
      [original, patched] = await Promise.all([
        loadBundled<Tokenize>(tokenizeFile, 'tokenize'),
        loadBundled<Tokenize>(tokenizeFile, 'tokenize', { [tokenizeFile]: patchAnsiTokenize }),
      ]);
    });

    it('splits every narrow character, alone or styled, as the segmenter did', () => {
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      const wrong = narrow.filter((c) => [c, `a${c}b`, `\u001B[1m${c}\u001B[22m${c}`, `${c}\u0301`].some((t) => !same(patched(t), original(t))));
      expect(wrong.map(named)).toEqual([]);
    });

    it('gives styled and mixed texts the tokens they had, up to any column', () => {
      fc.assert(
        fc.property(fc.oneof(styledNarrow, mixed), fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }), (t, endChar) => {
          expect(patched(t, endChar)).toEqual(original(t, endChar));
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('slice-ansi', () => {
    it('cuts styled and mixed texts where it did', async () => {
      const [original, patched] = await Promise.all([
        loadBundled<SliceAnsi>(sliceAnsiFile),
        loadBundled<SliceAnsi>(sliceAnsiFile, 'default', { [sliceAnsiTokenizeFile]: patchSliceAnsi }),
      ]);
      fc.assert(
        fc.property(fc.oneof(styledNarrow, mixed), fc.nat(30), fc.nat(30), (t, a, b) => {
          expect(patched(t, a, a + b)).toBe(original(t, a, a + b));
        }),
        { numRuns: 500 },
      );
    });
  });

  it('is in the bundle in dist/, and no segmenter is made before it is needed', () => {
    const bundle = readdirSync('dist')
      .filter((f) => /\.c?js$/.test(f))
      .map((f) => readFileSync(join('dist', f), 'utf8'))
      .join('\n');
    expect(bundle).toMatch(/narrowText\d*\.test\(string\d*\)/);
    expect(bundle).toMatch(/narrowText\d*\.test\(str\d*\)/);
    expect(bundle).toContain('graphemeSegmenter ??=');
    // Every segmenter and emoji regex is made at its first use (`x ??= new Intl.Segmenter(...)`), none at load.
    expect(bundle.match(/new Intl\.Segmenter\(/g)?.length).toBe(bundle.match(/\?\?= new Intl\.Segmenter\(/g)?.length);
    expect(bundle.match(/RGI_Emoji/g)?.length).toBe(bundle.match(/\?\?= new RegExp\("\^\\\\p\{RGI_Emoji\}/g)?.length);
  });
});
