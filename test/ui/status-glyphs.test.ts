import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { NARROW_RANGES } from '../../scripts/narrow-text.mjs';
import { CHECK_GLYPH, checkGlyph, CHOICE_GLYPH, HEALTH_STYLE, healthText, OFFER_GLYPH, STEP_GLYPH, stepGlyph } from '../../src/ui/status-glyphs.js';

const isNarrow = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return ch.length === 1 && (NARROW_RANGES as [number, number][]).some(([from, to]) => cp >= from && cp <= to);
};

describe('status glyphs', () => {
  it('are each one cell wide, so columns line up and the fast measure applies (no ▶, no ↷)', () => {
    const glyphs = [
      ...Object.values(HEALTH_STYLE).map((s) => s.glyph),
      ...Object.values(STEP_GLYPH),
      ...Object.values(CHECK_GLYPH),
      ...Object.values(OFFER_GLYPH),
      ...Object.values(CHOICE_GLYPH),
    ];
    expect(glyphs.filter((g) => !isNarrow(g))).toEqual([]);
  });

  it('tell the states of one kind apart without colour', () => {
    for (const table of [Object.values(HEALTH_STYLE).map((s) => s.glyph), Object.values(STEP_GLYPH), Object.values(CHECK_GLYPH), Object.values(OFFER_GLYPH), Object.values(CHOICE_GLYPH)]) {
      expect(new Set(table).size).toBe(table.length);
    }
  });

  it('give a status read from a journal of another version a mark rather than nothing', () => {
    expect(stepGlyph('ok')).toBe('✓');
    expect(stepGlyph('interrupted')).toBe('?');
    expect(stepGlyph('toString')).toBe('?');
    expect(checkGlyph('overridden')).toBe('!');
    expect(checkGlyph('something-new')).toBe('✗');
    expect(healthText('CRIT', 'lag 340 s > 300 s')).toBe('✗ CRIT lag 340 s > 300 s');
  });
});
