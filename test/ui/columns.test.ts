import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMN_GAP, layoutColumns, windowStart, type Column } from '../../src/ui/columns.js';

const col = (id: string, width: number, priority: number, grow = 0): Column<unknown> => ({
  id,
  header: id,
  width,
  priority,
  grow,
  text: () => id,
});

describe('layoutColumns', () => {
  const cols = [col('name', 10, 1), col('engine', 9, 4), col('health', 20, 1, 1), col('lag', 6, 2)];

  it('keeps every column when there is room and gives the spare width to growers', () => {
    const placed = layoutColumns(cols, 80);
    expect(placed.map((p) => p.column.id)).toEqual(['name', 'engine', 'health', 'lag']);
    const total = placed.reduce((s, p) => s + p.width, 0) + COLUMN_GAP * (placed.length - 1);
    expect(total).toBe(80);
    expect(placed.find((p) => p.column.id === 'health')?.width).toBe(80 - 10 - 9 - 6 - 3);
  });

  it('drops the least important column first and keeps screen order', () => {
    const placed = layoutColumns(cols, 40);
    expect(placed.map((p) => p.column.id)).toEqual(['name', 'health', 'lag']);
  });

  it('never exceeds the width, and keeps essential columns whenever they fit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ width: fc.integer({ min: 1, max: 30 }), priority: fc.integer({ min: 1, max: 6 }), grow: fc.integer({ min: 0, max: 3 }) }), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.integer({ min: 0, max: 200 }),
        (specs, width) => {
          const columns = specs.map((s, i) => col(`c${i}`, s.width, s.priority, s.grow));
          const placed = layoutColumns(columns, width);
          const total = placed.reduce((s, p) => s + p.width, 0) + COLUMN_GAP * Math.max(0, placed.length - 1);
          expect(total).toBeLessThanOrEqual(width);
          const essentials = columns.filter((c) => c.priority === 1);
          const essentialNeed = essentials.reduce((s, c) => s + c.width, 0) + COLUMN_GAP * Math.max(0, essentials.length - 1);
          if (essentialNeed <= width) for (const e of essentials) expect(placed.some((p) => p.column === e)).toBe(true);
        },
      ),
    );
  });
});

describe('windowStart', () => {
  it('scrolls only as far as needed to keep the selection visible', () => {
    expect(windowStart(0, 5, 10, 100)).toBe(0);
    expect(windowStart(0, 10, 10, 100)).toBe(1);
    expect(windowStart(20, 15, 10, 100)).toBe(15);
    expect(windowStart(95, 99, 10, 100)).toBe(90);
    expect(windowStart(3, 2, 10, 5)).toBe(0);
  });
});

describe('layoutColumns squeezing', () => {
  it('evicts optional columns and squeezes a shrinkable one before dropping an essential column', () => {
    const cols: Column<unknown>[] = [
      col('name', 12, 1),
      col('cpu', 10, 3),
      { ...col('health', 18, 1, 3), minWidth: 10 },
      col('age', 9, 1),
    ];
    const placed = layoutColumns(cols, 36);
    expect(placed.map((p) => p.column.id)).toEqual(['name', 'health', 'age']);
    expect(placed.find((p) => p.column.id === 'health')?.width).toBe(36 - 12 - 9 - 2);
  });
});
