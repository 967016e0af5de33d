// The `mysql --batch` wire format: a header line of column names, then one
// line per row, tab-separated; NULL is the word NULL; backslash, tab and
// newline inside values are escaped. Several statements in one `-e` print
// their result sets back to back with nothing between them, so the probe puts
// a marker SELECT before each section and we split on it.

export type Row = Record<string, string | null>;

export const MARKER_COLUMN = 'nightshift_section';

export function unescapeBatchValue(raw: string): string | null {
  if (raw === 'NULL') return null;
  // Almost every value has no escape in it; the poller parses hundreds of thousands a tick.
  if (raw.indexOf('\\') === -1) return raw;
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
  for (const [name, section] of scanSections(output)) sections.set(name, section.rows.map((r) => r.toRow()));
  return sections;
}

/** One result set: its column names and rows whose cells are read (and unescaped) on demand. */
export interface BatchSection {
  /** As the header line printed them; empty when the statement returned no rows. */
  readonly columns: readonly string[];
  readonly rows: readonly BatchRow[];
}

/**
 * One row of a result set. The probes read a dozen of SHOW REPLICA STATUS's
 * sixty-odd columns, thousands of times a tick, so a row keeps where its
 * cells are in the output and cuts a cell out when asked, instead of building
 * an object of every column.
 */
export class BatchRow {
  constructor(
    readonly columns: readonly string[],
    private readonly text: string,
    private readonly start: number,
    /** Where each cell ends in `text` (a tab, or the end of the line). */
    private readonly ends: readonly number[],
  ) {}

  /** The value in `column` (null for NULL); undefined when there is no such column. */
  get(column: string): string | null | undefined {
    const k = this.columns.indexOf(column);
    return k === -1 ? undefined : unescapeBatchValue(this.cell(k));
  }

  /** Every column, as an object. */
  toRow(): Row {
    const row: Row = {};
    for (let k = 0; k < this.columns.length; k++) row[this.columns[k]!] = unescapeBatchValue(this.cell(k));
    return row;
  }

  private cell(k: number): string {
    return this.text.slice(k === 0 ? this.start : this.ends[k - 1]! + 1, this.ends[k]);
  }
}

/** Header lines seen before, split: every probe of a flavour prints the same few. */
const headers: Array<{ line: string; columns: readonly string[] }> = [];
const HEADERS_KEPT = 64;

/**
 * Found by comparing with the few lines seen before rather than by a map
 * lookup: SHOW REPLICA STATUS's header is over a thousand characters, and a
 * map hashes every character of each probe's fresh copy, where a comparison
 * of two strings of the same length is one memcmp.
 */
function columnsOf(headerLine: string): readonly string[] {
  for (const h of headers) if (h.line.length === headerLine.length && h.line === headerLine) return h.columns;
  if (headers.length >= HEADERS_KEPT) headers.length = 0;
  const columns = headerLine.split('\t');
  // A copy of its own, not a view that keeps the first probe's whole output alive.
  headers.push({ line: (' ' + headerLine).slice(1), columns });
  return columns;
}

/**
 * The sections of marker-separated batch output, checked line by line (every
 * row has as many cells as its header) in one pass over the text.
 */
export function scanSections(output: string): Map<string, BatchSection> {
  const sections = new Map<string, BatchSection>();
  let current: string | undefined;
  let rows: BatchRow[] = [];
  let header: readonly string[] | undefined;
  const end = output.length;
  let pos = 0;
  let lineNo = 0;
  while (pos < end) {
    let nl = output.indexOf('\n', pos);
    if (nl === -1) nl = end;
    const start = pos;
    pos = nl + 1;
    lineNo++;
    if (nl === start) continue;
    if (nl - start === MARKER_COLUMN.length && output.startsWith(MARKER_COLUMN, start)) {
      let next = pos < end ? output.indexOf('\n', pos) : -1;
      if (next === -1) next = end;
      const name = pos <= end ? output.slice(pos, next) : '';
      if (name === '') throw new BatchParseError('marker without a section name', lineNo, MARKER_COLUMN);
      current = name;
      rows = [];
      header = undefined;
      sections.set(current, { columns: [], rows });
      pos = next + 1;
      lineNo++;
      continue;
    }
    if (current === undefined) {
      const line = output.slice(start, nl);
      throw new BatchParseError(`unexpected output before the first section: "${line}"`, lineNo, line);
    }
    if (!header) {
      header = columnsOf(output.slice(start, nl));
      sections.set(current, { columns: header, rows });
      continue;
    }
    const ends: number[] = [];
    for (let from = start; ; ) {
      const tab = output.indexOf('\t', from);
      if (tab === -1 || tab >= nl) break;
      ends.push(tab);
      from = tab + 1;
    }
    ends.push(nl);
    if (ends.length !== header.length) {
      const line = output.slice(start, nl);
      throw new BatchParseError(`expected ${header.length} columns in section ${current}, got ${ends.length}: "${truncate(line)}"`, lineNo, line);
    }
    rows.push(new BatchRow(header, output, start, ends));
  }
  return sections;
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
