import { describe, expect, it } from 'vitest';
import { bucketize } from '../../src/screens/cluster/node-facts.js';
import { sparkline } from '../../src/ui/sparkline.js';

describe('sparkline', () => {
  it('maps 0..100 onto eight bars, newest at the right edge', () => {
    expect(sparkline([0, 50, 100], 3)).toBe('▁▅█');
    expect(sparkline([100], 4)).toBe('   █');
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toBe('▁▁▁');
  });
  it('clamps values outside the range instead of breaking the line', () => {
    expect(sparkline([-5, 250], 2)).toBe('▁█');
  });
});

describe('bucketize', () => {
  it('keeps the peak of each slot, so a spike is not averaged away', () => {
    const end = 1_800_000;
    const points = [
      { t: end - 25 * 60_000, v: 10 },
      { t: end - 24 * 60_000, v: 90 },
      { t: end - 1 * 60_000, v: 20 },
      { t: end, v: 30 },
    ];
    const slots = bucketize(points, 3);
    expect(slots[0]).toBe(90);
    expect(slots[2]).toBe(30);
  });
});
