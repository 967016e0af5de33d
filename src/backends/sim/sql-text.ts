// Just enough SQL lexing for the statements nightshift sends: split a `-e`
// script into statements, split a select list or an option list at top-level
// commas, and read literals. Quotes and parentheses are respected throughout.

export interface Statement {
  text: string;
  /** 1-based line of the script the statement starts on, as the client reports it. */
  line: number;
}

export function splitStatements(script: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  let quote: string | null = null;
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (c === '\n') line++;
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) {
        if (script[i + 1] === quote) i++;
        else quote = null;
      }
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === ';') {
      push(script.slice(start, i), startLine);
      start = i + 1;
      startLine = line;
    }
  }
  push(script.slice(start), startLine);
  return out;

  function push(raw: string, at: number): void {
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (text) out.push({ text, line: at + (raw.slice(0, lead).match(/\n/g)?.length ?? 0) });
  }
}

/** Splits at commas outside quotes and parentheses. */
export function splitTopLevel(s: string, sep = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === sep && depth === 0) {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts;
}

const STRING = /^'((?:[^'\\]|\\.|'')*)'$|^"((?:[^"\\]|\\.|"")*)"$/s;

export function stringLiteral(s: string): string | undefined {
  const m = STRING.exec(s.trim());
  if (!m) return undefined;
  const body = m[1] ?? m[2]!;
  return body.replace(/''/g, "'").replace(/""/g, '"').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === '0' ? '\0' : c));
}

export interface SelectItem {
  expr: string;
  /** The column name the client prints: the alias, or the expression as written. */
  column: string;
}

export function selectItem(raw: string): SelectItem {
  const m = /^(.*?)\s+(?:AS\s+)?(`[^`]+`|'[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*)$/is.exec(raw);
  if (m && balanced(m[1]!) && !/^AS$/i.test(m[2]!)) {
    const alias = m[2]!.replace(/^[`'"]|[`'"]$/g, '');
    return { expr: m[1]!.trim(), column: alias };
  }
  const expr = raw.trim();
  const lit = stringLiteral(expr);
  return { expr, column: lit ?? expr };
}

function balanced(s: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
  }
  return depth === 0 && quote === null;
}

/** `KEY = value, KEY2 = 'v'` -> upper-case keys to raw values (literals unquoted). */
export function optionList(s: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of splitTopLevel(s)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/s.exec(part);
    if (!m) return undefined;
    const v = m[2]!.trim();
    out.set(m[1]!.toUpperCase(), stringLiteral(v) ?? v);
  }
  return out;
}

/** What the server quotes back in a 1064: the statement from the offending token on, at most 80 characters. */
export function nearText(s: string): string {
  return s.length > 80 ? s.slice(0, 80) : s;
}
