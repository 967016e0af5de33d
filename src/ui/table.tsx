// A list that draws only the rows that fit: 5,000 rows cost as much as 20.
// The selected row is marked with a glyph as well as inverse video, because
// NO_COLOR strips inverse too.

import { Box, Text } from 'ink';
import { memo, useRef } from 'react';
import { COLUMN_GAP, layoutColumns, windowStart, type Column, type PlacedColumn } from './columns.js';
import { fit } from './format.js';

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

function TableView<Row>({ rows, columns, rowKey, selectedIndex, height, width, emptyText }: TableProps<Row>) {
  const startRef = useRef(0);
  const placed = layoutColumns(columns, Math.max(0, width - MARKER_WIDTH));
  const visible = Math.max(0, height - 1);
  const start = windowStart(startRef.current, selectedIndex, visible, rows.length);
  startRef.current = start;
  const window = rows.slice(start, start + visible);
  const gap = ' '.repeat(COLUMN_GAP);

  // Shrink to the rows there are, so what follows the table (the detail line) sits right under it.
  const drawnHeight = Math.min(height, 1 + Math.max(1, window.length));
  return (
    <Box flexDirection="column" height={drawnHeight} width={width}>
      <Text bold wrap="truncate">
        {' '.repeat(MARKER_WIDTH)}
        {placed.map((p) => fit(p.column.header, p.width, p.column.align)).join(gap)}
      </Text>
      {rows.length === 0 ? (
        <Text wrap="truncate">{`${' '.repeat(MARKER_WIDTH)}${emptyText}`}</Text>
      ) : (
        window.map((row, i) => (
          <TableRow
            key={rowKey(row)}
            row={row}
            placed={placed}
            isSelected={start + i === selectedIndex}
            gap={gap}
          />
        ))
      )}
    </Box>
  );
}

interface TableRowProps<Row> {
  row: Row;
  placed: PlacedColumn<Row>[];
  isSelected: boolean;
  gap: string;
}

function TableRow<Row>({ row, placed, isSelected, gap }: TableRowProps<Row>) {
  return (
    <Text wrap="truncate" inverse={isSelected}>
      {isSelected ? `${MARKER} ` : '  '}
      {placed.map((p, i) => (
        <Text key={p.column.id} color={p.column.colour?.(row)} bold={p.column.isBold?.(row) ?? false}>
          {(i > 0 ? gap : '') + fit(p.column.text(row), p.width, p.column.align)}
        </Text>
      ))}
    </Text>
  );
}

// Generic components lose their type parameter through memo; the cast keeps callers typed.
export const Table = memo(TableView) as typeof TableView;
