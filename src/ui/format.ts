// Short, unambiguous numbers for narrow columns: "3 s", "4 m", "2 h", "12 d".
// Lag is the exception, the same everywhere: see domain/lag-text.ts.

import { lagText } from '../domain/lag-text.js';

/** A duration in seconds as one unit, rounded down: 59 s, 4 m, 2 h, 12 d. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** How long ago `then` (epoch ms) was, seen at `now`. A future time (clock skew) reads as 0 s. */
export function formatAge(then: number, now: number): string {
  return formatSeconds((now - then) / 1000);
}

/** Replication lag as lagText writes it everywhere; a dash where lag does not apply, "?" where it is unknown (threads stopped). */
export function formatLag(lagSeconds: number | null, isReplica: boolean): string {
  if (lagSeconds === null) return isReplica ? '?' : '—';
  return lagText(lagSeconds);
}

/**
 * Fit text into `width` cells: cut with "…" when too long, pad when `pad` is set.
 * Terminal cells are approximated by code points: names, ids and our glyphs are all one cell wide.
 */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left', pad = true): string {
  if (width <= 0) return '';
  const chars = Array.from(text.replace(/[\r\n\t]+/g, ' '));
  if (chars.length > width) return width === 1 ? '…' : chars.slice(0, width - 1).join('') + '…';
  if (!pad) return chars.join('');
  const fill = ' '.repeat(width - chars.length);
  return align === 'right' ? fill + chars.join('') : chars.join('') + fill;
}

/** Split text into lines of at most `width` cells, for long values like GTID sets. */
export function wrap(text: string, width: number): string[] {
  if (width <= 0) return [text];
  const chars = Array.from(text);
  if (chars.length <= width) return [text];
  const lines: string[] = [];
  let at = 0;
  while (at < chars.length) {
    let end = Math.min(chars.length, at + width);
    // Break after a space when there is one in the second half of the line; GTID sets and ids have none and are cut hard.
    if (end < chars.length) {
      const space = chars.lastIndexOf(' ', end - 1);
      if (space > at + width / 2) end = space + 1;
    }
    lines.push(chars.slice(at, end).join('').trimEnd());
    at = end;
  }
  return lines;
}

/** "1 cluster", "6 clusters": the count with its noun. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Words into lines of at most `width` cells (`restWidth` after the first
 * line); a word longer than a line is split. `tail` (a runbook key) is never
 * split: it ends the last line, two spaces after the text, or takes a line of
 * its own. Joined with single spaces, the lines give the words back.
 */
export function wrapWords(text: string, width: number, tail = '', restWidth = width): string[] {
  const cells = (s: string) => Array.from(s).length;
  const lines: string[] = [];
  const room = () => Math.max(1, lines.length === 0 ? width : restWidth);
  let line = '';
  const push = (s: string) => {
    lines.push(s);
    line = '';
  };
  for (const word of text.replace(/[\r\n\t]+/g, ' ').split(' ').filter((x) => x !== '')) {
    let rest = word;
    while (cells(line === '' ? rest : `${line} ${rest}`) > room()) {
      if (line !== '') {
        push(line);
        continue;
      }
      if (cells(rest) <= room()) break;
      const chars = Array.from(rest);
      const w = room();
      push(chars.slice(0, w).join(''));
      rest = chars.slice(w).join('');
    }
    if (rest === '') continue;
    line = line === '' ? rest : `${line} ${rest}`;
  }
  if (tail !== '') {
    if (line === '') line = tail;
    else if (cells(line) + 2 + cells(tail) <= room()) line = `${line}  ${tail}`;
    else {
      push(line);
      line = tail;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * `text` wrapped after a prefix, within `width`: the first line starts with
 * `first`, the others with `indent` spaces, so a wrapped message reads as one
 * block under its label.
 */
export function wrapUnder(text: string, width: number, first: string, indent = Array.from(first).length, tail = ''): string[] {
  const firstRoom = Math.max(1, width - Array.from(first).length);
  const restRoom = Math.max(10, width - indent);
  return wrapWords(text, firstRoom, tail, restRoom).map((l, i) => (i === 0 ? `${first}${l}` : `${' '.repeat(indent)}${l}`));
}
