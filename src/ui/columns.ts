// Which columns fit a given width. Narrow terminals drop the least important
// columns first (highest priority number), never the essential ones; spare
// width goes to the columns that can use it (names, reasons).

export interface Column<Row> {
  id: string;
  header: string;
  /** Preferred minimum width. */
  width: number;
  /** How far the column may be squeezed to make room for an essential column (default: not at all). */
  minWidth?: number;
  /** Share of the spare width (0 or absent: fixed width). */
  grow?: number;
  maxWidth?: number;
  /** 1 is essential and dropped last; larger numbers go first. */
  priority: number;
  align?: 'left' | 'right';
  text(row: Row): string;
  colour?(row: Row): string | undefined;
  isBold?(row: Row): boolean;
}

export interface PlacedColumn<Row> {
  column: Column<Row>;
  width: number;
}

export const COLUMN_GAP = 1;

/** Lay out `columns` in `width` cells (gaps included), keeping their order on screen. */
export function layoutColumns<Row>(columns: readonly Column<Row>[], width: number): PlacedColumn<Row>[] {
  const byPriority = columns
    .map((column, order) => ({ column, order }))
    .sort((a, b) => a.column.priority - b.column.priority || a.order - b.order);
  const widths = new Map<number, number>();
  const usedWidth = () => {
    let sum = 0;
    for (const w of widths.values()) sum += w;
    return sum + COLUMN_GAP * Math.max(0, widths.size - 1);
  };
  for (const { column, order } of byPriority) {
    const need = column.width + (widths.size > 0 ? COLUMN_GAP : 0);
    if (usedWidth() + need <= width) {
      widths.set(order, column.width);
      continue;
    }
    if (column.priority !== 1) continue;
    // An essential column that does not fit: evict optional columns (least important first),
    // then squeeze the columns that allow it, before giving up on it.
    const trial = new Map(widths);
    const trialUsed = () => {
      let sum = 0;
      for (const w of trial.values()) sum += w;
      return sum + COLUMN_GAP * trial.size;
    };
    const optional = [...trial.keys()].filter((o) => (columns[o]?.priority ?? 1) > 1).sort((a, b) => (columns[b]?.priority ?? 0) - (columns[a]?.priority ?? 0));
    for (const o of optional) {
      if (trialUsed() + column.width <= width) break;
      trial.delete(o);
    }
    for (const [o, w] of trial) {
      if (trialUsed() + column.width <= width) break;
      const min = columns[o]?.minWidth ?? w;
      trial.set(o, Math.max(min, w - (trialUsed() + column.width - width)));
    }
    if (trialUsed() + column.width <= width) {
      trial.set(order, column.width);
      widths.clear();
      for (const [o, w] of trial) widths.set(o, w);
    }
  }
  const used = usedWidth();
  const placed = columns
    .map((column, order) => ({ column, order, width: widths.get(order) ?? 0 }))
    .filter((c) => widths.has(c.order));

  let spare = width - used;
  // Hand out spare cells by weight, a round at a time, until no grower can take more.
  for (let round = 0; spare > 0 && round < 8; round++) {
    const growers = placed.filter((p) => (p.column.grow ?? 0) > 0 && p.width < (p.column.maxWidth ?? Infinity));
    const weight = growers.reduce((sum, p) => sum + (p.column.grow ?? 0), 0);
    if (weight === 0) break;
    let given = 0;
    for (const p of growers) {
      const share = Math.floor((spare * (p.column.grow ?? 0)) / weight);
      const room = (p.column.maxWidth ?? Infinity) - p.width;
      const add = Math.min(share, room);
      p.width += add;
      given += add;
    }
    if (given === 0) {
      // Rounding left a few cells: give them to the first grower with room.
      const first = growers[0];
      if (first) first.width += spare;
      given = spare;
    }
    spare -= given;
  }
  return placed.map(({ column, width: w }) => ({ column, width: w }));
}

/**
 * The first visible row, moving the window as little as possible so the
 * selected row stays in view (no jump to centre on every key press).
 */
export function windowStart(prevStart: number, selected: number, visible: number, total: number): number {
  if (visible <= 0 || total <= visible) return 0;
  let start = Math.min(Math.max(0, prevStart), total - visible);
  if (selected < start) start = selected;
  else if (selected >= start + visible) start = selected - visible + 1;
  return Math.min(Math.max(0, start), total - visible);
}
