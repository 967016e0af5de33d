import { describe, expect, it } from 'vitest';
import { fit, formatAge, formatLag, formatSeconds, wrap } from '../../src/ui/format.js';

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
    expect(formatLag(7200, true)).toBe('2 h');
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
