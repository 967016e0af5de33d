// The `mysql --batch` wire format: a header line of column names, then one
// line per row, tab-separated; NULL is the word NULL; backslash, tab and
// newline inside values are escaped. Several statements in one `-e` print
// their result sets back to back with nothing between them, so the probe puts
// a marker SELECT before each section and we split on it.

export type Row = Record<string, string | null>;

export const MARKER_COLUMN = 'nightshift_section';

export function unescapeBatchValue(raw: string): string | null {
  if (raw === 'NULL') return null;
  return raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === '0' ? '\0' : c));
}

export function escapeBatchValue(value: string | null): string {
  if (value === null) return 'NULL';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\0/g, '\\0');
}

/** Formats result sets as `mysql --batch` prints them (used by the simulated servers). */
export function formatBatch(columns: string[], rows: Array<Array<string | null>>): string {
  if (rows.length === 0) return '';
  const lines = [columns.join('\t'), ...rows.map((r) => r.map(escapeBatchValue).join('\t'))];
  return lines.join('\n') + '\n';
}

export function markerSelect(section: string): string {
  return `SELECT '${section}' AS ${MARKER_COLUMN}`;
}

export class BatchParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly text: string,
  ) {
    super(message);
    this.name = 'BatchParseError';
  }
}

/**
 * Splits marker-separated batch output into sections of rows. A section whose
 * statement returned no rows (SHOW SLAVE STATUS on a master) is present and empty.
 */
export function parseSections(output: string): Map<string, Row[]> {
  const sections = new Map<string, Row[]>();
  const lines = output.split('\n');
  let current: string | undefined;
  let header: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line === MARKER_COLUMN) {
      const name = lines[i + 1];
      if (name === undefined || name === '') {
        throw new BatchParseError('marker without a section name', i + 1, line);
      }
      current = name;
      sections.set(current, []);
      header = undefined;
      i++;
      continue;
    }
    if (current === undefined) {
      throw new BatchParseError(`unexpected output before the first section: "${line}"`, i + 1, line);
    }
    const cells = line.split('\t');
    if (!header) {
      header = cells;
      continue;
    }
    if (cells.length !== header.length) {
      throw new BatchParseError(
        `expected ${header.length} columns in section ${current}, got ${cells.length}: "${truncate(line)}"`,
        i + 1,
        line,
      );
    }
    const row: Row = {};
    header.forEach((name, k) => (row[name] = unescapeBatchValue(cells[k]!)));
    sections.get(current)!.push(row);
  }
  return sections;
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
