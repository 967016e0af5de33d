import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/ui/columns.js';
import { Table } from '../../src/ui/table.js';

interface Row {
  name: string;
  lag: string;
}

const columns: Column<Row>[] = [
  { id: 'name', header: 'NAME', width: 10, priority: 1, text: (r) => r.name },
  { id: 'lag', header: 'LAG', width: 6, align: 'right', priority: 1, text: (r) => r.lag },
];
const rows: Row[] = [
  { name: 'db-1', lag: '340 s' },
  { name: 'db-2', lag: '—' },
  { name: 'db-3', lag: '3 s' },
];

function draw(selectedIndex: number): string[] {
  const frame = renderToString(
    <Table rows={rows} columns={columns} rowKey={(r) => r.name} selectedIndex={selectedIndex} height={5} width={19} emptyText="none" />,
    { columns: 19 },
  );
  return frame.split('\n');
}

describe('Table', () => {
  it('keeps a right-aligned last column flush right on every row, selected or not', () => {
    expect(draw(1)).toEqual([
      '  NAME          LAG', //
      '  db-1        340 s',
      '› db-2            —',
      '  db-3          3 s',
    ]);
  });
});
