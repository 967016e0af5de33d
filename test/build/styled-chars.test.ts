// The build skips ansi-tokenize's escape-code diff between characters of one
// style (scripts/styled-chars.mjs). These check that lines come out byte for
// byte as before, for lines built the way Ink builds them; that the patch
// still applies to what is installed; and that the bundle carries it.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { skipUnchangedStyles } from '../../scripts/styled-chars.mjs';
import { loadBundled } from '../helpers/bundled.js';

interface StyledChar {
  type: 'char';
  value: string;
  fullWidth: boolean;
  styles: { type: 'ansi'; code: string; endCode: string }[];
}
interface AnsiTokenize {
  tokenize: (text: string) => unknown[];
  styledCharsFromTokens: (tokens: unknown[]) => StyledChar[];
  styledCharsToString: (chars: StyledChar[]) => string;
}

const fromInk = createRequire(createRequire(import.meta.url).resolve('ink'));
const tokenizePackage = fromInk.resolve('@alcalzone/ansi-tokenize/package.json');
const entry = join(dirname(tokenizePackage), 'build', 'index.js');
const styledCharsFile = join(dirname(tokenizePackage), 'build', 'styledChars.js');

/** What chalk writes for our colours and emphasis, and the codes that end them; 1m and 2m share their end (22m). */
const codes = ['1', '2', '3', '4', '7', '22', '23', '24', '27', '31', '32', '33', '36', '39', '41', '49', '90', '38;5;208', '48;2;10;20;30', '0'];
const styled = fc
  .array(fc.oneof(fc.constantFrom(...codes).map((c) => `\u001B[${c}m`), fc.constantFrom('a', ' ', '·', '▲', '✗', '漢', 'é')), { maxLength: 40 })
  .map((parts) => parts.join(''));
const blank = (): StyledChar => ({ type: 'char', value: ' ', fullWidth: false, styles: [] });

describe("the build's shortcut in ansi-tokenize's styledCharsToString", () => {
  let ansi: AnsiTokenize;
  let patched: AnsiTokenize['styledCharsToString'];
  beforeAll(async () => {
    [ansi, patched] = await Promise.all([
      loadBundled<AnsiTokenize>(entry, '*'),
      loadBundled<AnsiTokenize['styledCharsToString']>(entry, 'styledCharsToString', { [styledCharsFile]: skipUnchangedStyles }),
    ]);
  });

  it('applies to the ansi-tokenize that Ink uses', () => {
    expect(skipUnchangedStyles(readFileSync(styledCharsFile, 'utf8'))).toContain('else if (!sameStyles(chars[i - 1].styles, char.styles)) {');
  });

  it('fails, naming itself, the file and what it looked for, when the code is not what it expects', () => {
    const source = readFileSync(styledCharsFile, 'utf8');
    expect(() => skipUnchangedStyles(source.replace('if (i === chars.length - 1) {', 'if (i + 1 === chars.length) {'))).toThrow(
      `build: patch scripts/styled-chars.mjs does not apply to @alcalzone/ansi-tokenize's build/styledChars.js: it looks for "if (i === chars.length - 1) {", which is not there`,
    );
  });

  it('writes every line as before: styled texts laid over a row of blanks, as Ink lays them', () => {
    const texts = fc.array(fc.tuple(styled, fc.nat(60)), { maxLength: 4 });
    fc.assert(
      fc.property(texts, (placed) => {
        const row = Array.from({ length: 80 }, blank);
        for (const [text, at] of placed) {
          ansi.styledCharsFromTokens(ansi.tokenize(text)).forEach((c, i) => {
            if (at + i < row.length) row[at + i] = c;
          });
        }
        expect(patched(row)).toBe(ansi.styledCharsToString(row));
      }),
      { numRuns: 3000 },
    );
  });

  it('writes a styled text alone as before, ending its styles', () => {
    fc.assert(
      fc.property(styled, (text) => {
        const chars = ansi.styledCharsFromTokens(ansi.tokenize(text));
        expect(patched(chars)).toBe(ansi.styledCharsToString(chars));
      }),
      { numRuns: 3000 },
    );
    expect(patched([])).toBe('');
  });

  it('is in the bundle in dist/', () => {
    const bundle = readdirSync('dist')
      .filter((f) => /\.c?js$/.test(f))
      .map((f) => readFileSync(join('dist', f), 'utf8'))
      .join('\n');
    expect(bundle).toContain('else if (!sameStyles(chars[i - 1].styles, char.styles)) {');
  });
});
