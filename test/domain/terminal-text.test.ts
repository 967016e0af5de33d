import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanDeep, cleanForTerminal, CR_SHOWN, jsonForTerminal, NL_SHOWN } from '../../src/domain/terminal-text.js';

/** Anything a terminal could act on, newline aside. */
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

// Pieces hostile output is made of: whole sequences, their introducers alone, and plain text.
const hostilePiece = fc.oneof(
  fc.constantFrom(
    '\x1b]0;pwned\x07', // OSC title, BEL-terminated
    '\x1b]2;pwned\x1b\\', // OSC title, ST-terminated
    '\x1b]8;;https://evil.example/\x1b\\', // OSC 8 hyperlink
    '\x9d0;pwned\x9c', // 8-bit OSC
    '\x1b[2J',
    '\x1b[H',
    '\x1b[10;20H',
    '\x1b[?1049h',
    '\x9b31m', // 8-bit CSI
    '\x1bP1$qm\x1b\\', // DCS
    '\x90qpayload\x9c', // 8-bit DCS
    '\x1b_apc payload\x1b\\', // APC
    '\x1b^pm\x1b\\', // PM
    '\x1bXsos\x1b\\', // SOS
    '\x1bc', // full reset
    '\x1b7',
    '\x1b(0',
    '\x1b',
    '\x9b',
    '\x07',
    '\x08',
    '\r',
    '\t',
    '\x00',
    '\x7f',
    '\x85',
    '\n',
  ),
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'binary' }),
);

describe('cleanForTerminal', () => {
  it.each([
    ['an OSC title change (BEL)', 'a\x1b]0;pwned\x07b', 'ab'],
    ['an OSC title change (ST)', 'a\x1b]2;pwned\x1b\\b', 'ab'],
    ['a screen clear', 'a\x1b[2Jb', 'ab'],
    ['a cursor move', 'a\x1b[10;20Hb', 'ab'],
    ['an 8-bit CSI', 'a\x9b31mb', 'ab'],
    ['a DCS string', 'a\x1bPq#0;2;0;0;0\x1b\\b', 'ab'],
    ['an APC string', 'a\x1b_Gf=100;AAAA\x1b\\b', 'ab'],
    ['colour codes', '\x1b[1;31mred\x1b[0m', 'red'],
    ['BEL and backspaces', 'rm -rf /\x08\x08\x08\x08\x08\x08\x08\x07ok', 'rm -rf /ok'],
    ['an unterminated OSC: the payload shows as text, inert', 'a\x1b]0;pwned', 'a]0;pwned'],
  ])('removes %s', (_what, input, expected) => {
    expect(cleanForTerminal(input)).toBe(expected);
  });

  it('shows a carriage return that would overwrite the line, and drops one that only ends it', () => {
    // A terminal would print "harmless" over the command; the operator must see both.
    expect(cleanForTerminal('DROP DATABASE x\rharmless      ')).toBe(`DROP DATABASE x${CR_SHOWN}harmless      `);
    expect(cleanForTerminal('line one\r\nline two\r\n')).toBe('line one\nline two\n');
    expect(cleanForTerminal('10%\r20%\r')).toBe(`10%${CR_SHOWN}20%`);
  });

  it('expands tabs to the next stop of eight, per line', () => {
    expect(cleanForTerminal('a\tb\nabcdefghi\tj')).toBe('a       b\nabcdefghi       j');
  });

  it('keeps newlines in text that has lines, and shows them in one-line fields', () => {
    expect(cleanForTerminal('one\ntwo')).toBe('one\ntwo');
    expect(cleanForTerminal('db-1\n✓ OK fake row', { multiline: false })).toBe(`db-1${NL_SHOWN}✓ OK fake row`);
  });

  it('property: the output holds no ESC, no C1 and no C0 control but newline', () => {
    fc.assert(
      fc.property(fc.array(hostilePiece, { maxLength: 12 }), fc.boolean(), (pieces, multiline) => {
        const out = cleanForTerminal(pieces.join(''), { multiline });
        expect(out).not.toMatch(UNSAFE);
        if (!multiline) expect(out).not.toContain('\n');
      }),
      { numRuns: 2000 },
    );
  });

  it('property: printable text passes unchanged, and by identity', () => {
    const printable = fc.string({ unit: 'grapheme' }).filter((s) => !UNSAFE.test(s));
    fc.assert(
      fc.property(printable, (s) => {
        expect(cleanForTerminal(s)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: cleaning twice changes nothing more', () => {
    fc.assert(
      fc.property(fc.array(hostilePiece, { maxLength: 12 }), (pieces) => {
        const once = cleanForTerminal(pieces.join(''));
        expect(cleanForTerminal(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('cleanDeep', () => {
  it('cleans every string and key, and returns the same object when nothing needed it', () => {
    const clean = { name: 'db-1', tags: { team: 'payments' }, list: ['a', 'b'], n: 3 };
    expect(cleanDeep(clean)).toBe(clean);
    const dirty = { name: 'db-\x1b]0;pwned\x071', tags: { 'k\x1b[2J': 'v\x9b31m' }, list: ['a', 'b\x07'], n: 3, keep: clean };
    const out = cleanDeep(dirty);
    expect(out).toEqual({ name: 'db-1', tags: { k: 'v' }, list: ['a', 'b'], n: 3, keep: clean });
    expect(out.keep).toBe(clean);
    expect(dirty.name).toContain('\x1b'); // the input is left as it was
  });
});

describe('jsonForTerminal', () => {
  it('escapes DEL and C1 as well as C0, and reads back the same value', () => {
    const value = { out: 'a\x1b[2J\x9b31m\x7f\x85b' };
    const json = jsonForTerminal(value);
    expect(json).not.toMatch(UNSAFE);
    expect(json).toContain('\\u009b31m');
    expect(JSON.parse(json)).toEqual(value);
  });
});
