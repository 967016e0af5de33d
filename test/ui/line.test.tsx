import fc from 'fast-check';
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { Line, measurablePieces } from '../../src/ui/line.js';

const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

describe('measurablePieces', () => {
  it('gives a long ASCII stretch a piece of its own and keeps glyphs with their short neighbours', () => {
    expect(measurablePieces('  db-orders  mysql  3 ✗ CRIT lag 340 s > 300 s')).toEqual([
      '  db-orders  mysql  3 ',
      '✗',
      ' CRIT lag 340 s > 300 s',
    ]);
    expect(measurablePieces('… 12 s — ▲1 repair')).toEqual(['… 12 s — ▲1 repair']);
    expect(measurablePieces('plain ascii only')).toEqual(['plain ascii only']);
    expect(measurablePieces('')).toEqual([]);
  });

  it('loses and reorders nothing, and leaves no long ASCII stretch inside a piece with a glyph', () => {
    const text = fc
      .array(fc.oneof(fc.constantFrom('✓', '▲', '…', '›', '—', '▆', '·'), fc.string({ unit: fc.constantFrom('a', ' ', '1', '-') })), { maxLength: 12 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const pieces = measurablePieces(t);
        expect(pieces.join('')).toBe(t);
        for (const p of pieces) {
          if (!isAscii(p)) expect(p).not.toMatch(/[\x20-\x7e]{12}/);
        }
      }),
    );
  });
});

describe('Line', () => {
  it('draws its segments side by side, exactly as one text would be', () => {
    const segments = [
      { text: '› ', isInverse: true },
      { text: 'db-orders-replica-2 ', isBold: true },
      { text: '✗ CRIT lag 340 s > 300 s', colour: 'red' },
      { text: ' — ' },
      { text: '▲ stale 42 s', colour: 'yellow' },
    ];
    const frame = renderToString(<Line segments={segments} width={70} />, { columns: 70 });
    expect(frame).toBe('› db-orders-replica-2 ✗ CRIT lag 340 s > 300 s — ▲ stale 42 s');
  });

  it('truncates a line that does not fit with an ellipsis, as one text does', () => {
    const frame = renderToString(<Line segments={[{ text: 'a very long line ✓ that ' }, { text: 'goes on past the edge' }]} width={20} />, {
      columns: 20,
    });
    expect(frame).toBe('a very long line ✓ …');
  });

  it('measures wide characters instead of taking their length for their width', () => {
    // Four CJK characters and " ok" are eleven cells, not seven: cut to fit ten.
    const frame = renderToString(<Line segments={[{ text: '節点' }, { text: '名前 ok' }]} width={10} />, { columns: 10 });
    expect(frame).toBe('節点名前 …');
  });
});
