// A list that draws only the rows that fit: 5,000 rows cost as much as 20.
// The selected row is marked with a glyph as well as inverse video, because
// NO_COLOR strips inverse too.
//
// Ink measures, tokenizes and lays out every line on every frame, so a row is
// plain strings fitted to their columns, drawn by one <Line> (line.tsx says
// why that is cheaper than one <Text> with a <Text> per cell). Rows are
// compared by what they draw: a key press re-renders the two rows whose
// selection changed, and a refresh only the rows whose text did.

import { Box, Text } from 'ink';
import { memo, useMemo, useRef } from 'react';
import { COLUMN_GAP, layoutColumns, windowStart, type Column, type PlacedColumn } from './columns.js';
import { fit } from './format.js';
import { Line, type Segment } from './line.js';

export interface TableProps<Row> {
  rows: readonly Row[];
  columns: readonly Column<Row>[];
  rowKey(row: Row): string;
  selectedIndex: number;
  /** Lines available, the header line included. */
  height: number;
  width: number;
  emptyText: string;
}

const MARKER = '›';
const MARKER_WIDTH = 2;
const GAP = ' '.repeat(COLUMN_GAP);

/** The columns as a table of this width places them (after its selection marker): what a cell has room for. */
export function placeColumns<Row>(columns: readonly Column<Row>[], width: number): PlacedColumn<Row>[] {
  return layoutColumns(columns, Math.max(0, width - MARKER_WIDTH));
}

function TableView<Row>({ rows, columns, rowKey, selectedIndex, height, width, emptyText }: TableProps<Row>) {
  const startRef = useRef(0);
  const placed = useMemo(() => placeColumns(columns, width), [columns, width]);
  const header = useMemo(
    () => ' '.repeat(MARKER_WIDTH) + placed.map((p) => fit(p.column.header, p.width, p.column.align)).join(GAP).trimEnd(),
    [placed],
  );
  const visible = Math.max(0, height - 1);
  const start = windowStart(startRef.current, selectedIndex, visible, rows.length);
  startRef.current = start;
  const window = rows.slice(start, start + visible);

  // Shrink to the rows there are, so what follows the table (the detail line) sits right under it.
  const drawnHeight = Math.min(height, 1 + Math.max(1, window.length));
  return (
    <Box flexDirection="column" height={drawnHeight} width={width}>
      <Text bold wrap="truncate">
        {header}
      </Text>
      {rows.length === 0 ? (
        <Text wrap="truncate">{`${' '.repeat(MARKER_WIDTH)}${emptyText}`}</Text>
      ) : (
        window.map((row, i) => {
          const isSelected = start + i === selectedIndex;
          return <Line key={rowKey(row)} segments={rowSegments(row, placed, isSelected)} width={width} />;
        })
      )}
    </Box>
  );
}

/** A row as styled cells (the line merges neighbours of one style). */
function rowSegments<Row>(row: Row, placed: readonly PlacedColumn<Row>[], isSelected: boolean): Segment[] {
  const segments: Segment[] = [{ text: isSelected ? `${MARKER} ` : ' '.repeat(MARKER_WIDTH), isInverse: isSelected }];
  for (let i = 0; i < placed.length; i++) {
    const { column, width } = placed[i]!;
    // Spaces after the last cell show nothing yet cost Ink a tokenize per frame, except
    // on the selected row, where inverse video draws the whole width. (Right-aligned, the
    // padding comes first and places the text.)
    const pad = isSelected || i < placed.length - 1 || column.align === 'right';
    const text = (i > 0 ? GAP : '') + fit(column.text(row), width, column.align, pad);
    segments.push({ text, colour: column.colour?.(row), isBold: column.isBold?.(row) ?? false, isInverse: isSelected });
  }
  return segments;
}

// Generic components lose their type parameter through memo; the cast keeps callers typed.
export const Table = memo(TableView) as typeof TableView;
