import { describe, expect, it } from 'vitest';
import { fit, formatAge, formatLag, formatSeconds, wrap, wrapUnder, wrapWords } from '../../src/ui/format.js';

describe('formatSeconds', () => {
  it('uses one unit, rounded down', () => {
    expect(formatSeconds(3)).toBe('3 s');
    expect(formatSeconds(59.9)).toBe('59 s');
    expect(formatSeconds(240)).toBe('4 m');
    expect(formatSeconds(2 * 3600 + 59 * 60)).toBe('2 h');
    expect(formatSeconds(12 * 86_400 + 100)).toBe('12 d');
  });
  it('never shows a negative age (clock skew)', () => {
    expect(formatAge(10_000, 9_000)).toBe('0 s');
  });
});

describe('formatLag', () => {
  it('keeps seconds below 1000 so it reads like the thresholds', () => {
    expect(formatLag(340, true)).toBe('340 s');
    expect(formatLag(7200, true)).toBe('2h 00m');
  });
  it('tells "does not apply" from "unknown"', () => {
    expect(formatLag(null, false)).toBe('—');
    expect(formatLag(null, true)).toBe('?');
  });
});

describe('fit', () => {
  it('pads, aligns and cuts with an ellipsis', () => {
    expect(fit('abc', 5)).toBe('abc  ');
    expect(fit('abc', 5, 'right')).toBe('  abc');
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abcdef', 1)).toBe('…');
    expect(fit('a\nb', 3)).toBe('a b');
  });
});

describe('wrap', () => {
  it('splits long values into lines of the width', () => {
    expect(wrap('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(wrap('ab', 3)).toEqual(['ab']);
  });
});

describe('wrapWords / wrapUnder', () => {
  it('breaks at spaces, gives the words back when joined, splits only a word longer than a line', () => {
    expect(wrapWords('aaa bbb cccc dd', 7)).toEqual(['aaa bbb', 'cccc dd']);
    expect(wrapWords('abcdefghijkl xy', 5)).toEqual(['abcde', 'fghij', 'kl xy']);
    const text = 'redundancy below target: 1 of 2 replicas; rebuild one in eu-west-1c';
    expect(wrapWords(text, 20).join(' ')).toBe(text);
  });
  it('never splits the tail: it ends the last line or takes its own', () => {
    expect(wrapWords('one two', 20, 'R: failover')).toEqual(['one two  R: failover']);
    expect(wrapWords('one two three', 14, 'R: failover')).toEqual(['one two three', 'R: failover']);
  });
  it('indents the lines after the first under a prefix, within the width', () => {
    const lines = wrapUnder('lag 730 s > 300 s and the SQL thread makes no progress at all', 30, '▲ WARN ');
    expect(lines[0]!.startsWith('▲ WARN lag')).toBe(true);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {7}\S/);
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(30);
  });
});
