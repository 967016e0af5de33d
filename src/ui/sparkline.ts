// A CPU history in one line of block glyphs: shape without colour.

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * The last `width` values as bars scaled to [min, max] (default 0..100, a
 * percentage). Fewer values than width are right-aligned, so "now" is always
 * at the right edge.
 */
export function sparkline(values: readonly number[], width: number, min = 0, max = 100): string {
  if (width <= 0) return '';
  const recent = values.slice(-width);
  const span = max - min || 1;
  const bars = recent.map((v) => {
    if (!Number.isFinite(v)) return ' ';
    const ratio = Math.min(1, Math.max(0, (v - min) / span));
    return BARS[Math.min(BARS.length - 1, Math.floor(ratio * BARS.length))] ?? ' ';
  });
  return ' '.repeat(width - bars.length) + bars.join('');
}
