// The simulated fleet's noise is a pure function of its inputs; the
// three-part shortcut the hot paths use must give the very same numbers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unit, unit3 } from '../../../src/backends/sim/prng.js';

describe('simulated noise', () => {
  it('unit3 is unit of the same three parts, bit for bit', () => {
    const part = fc.oneof(fc.integer(), fc.double({ noNaN: true, min: -1e15, max: 1e15 }), fc.constantFrom(0, -0, 2 ** 32, 2 ** 53, 1.732e12));
    fc.assert(
      fc.property(part, part, part, (a, b, c) => {
        expect(Object.is(unit3(a, b, c), unit(a, b, c))).toBe(true);
      }),
    );
  });
});
