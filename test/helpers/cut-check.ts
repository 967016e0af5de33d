// The oracle behind the no-cut walk-throughs (test/screens/no-cut.test.tsx in
// Ink, bench/walkthrough.ts in real tmux): given one screen as a terminal
// shows it and the texts an engineer must be able to read on it (health
// reasons, findings), it names each one that is not there in full.
//
// A text may wrap: the screen's lines are joined with their padding and box
// drawing removed, and a line break may stand for the space the text had at
// that point, or for nothing (a word split at the edge). A text cut with `…`
// is cut, whatever else the screen shows; so is one that ends in `…` as it
// comes (a reason shortened where it was made).

import ansiRegex from 'ansi-regex';

/** One text that must be whole on a screen, and what it is ("finding", "db-1 health reason"). */
export interface MustBeWhole {
  what: string;
  text: string;
}

export interface CutText extends MustBeWhole {
  /**
   * `cut`: its start is shown, ended by `…`; `missing`: not even that;
   * `cut-before-screen`: shown as it is, but it ends in `…` itself (shortened
   * where it was made, so no width shows the rest).
   */
  verdict: 'cut' | 'missing' | 'cut-before-screen';
  /** The longest start of the text the screen shows (joined as above), with what follows it when that is `…`. */
  shown: string;
}

export interface CutCheckOptions {
  /**
   * Any number stands for any number ("lag 109 s" is whole as "lag 112 s").
   * For a screen captured at another moment than its expected texts were
   * read (a console in tmux beside a separate `ls --json`): the walk is
   * about width, and the sim's lag moves on between the two.
   */
  anyNumbers?: boolean;
}

const ANSI = ansiRegex();
// Box drawing and block elements (borders, rules, sparkline bars): never part of a reason.
const BOX = /[\u2500-\u259f]/g;
const ELLIPSIS = '…';
/** Fewer characters before a `…` are as likely another word's end ("stat-us …"): the text is then called missing. */
const MIN_CUT_START = 4;
/** A start this long, shown without `…`, is worth quoting in a report (the text changed, or was cut without a mark). */
const MIN_TELLING_START = 8;

/**
 * The screen as one string: each line without colour codes, box characters
 * and padding, inner runs of spaces made one, empty lines dropped, joined
 * with "\n" (which the matcher lets stand for a space or for nothing).
 */
export function screenText(frame: string): string {
  return frame
    .replace(ANSI, '')
    .split('\n')
    .map((line) => line.replace(BOX, ' ').replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

/** Each text of `expected` that `frame` does not show whole, with how much of it it shows. */
export function findCuts(frame: string, expected: readonly MustBeWhole[], opts: CutCheckOptions = {}): CutText[] {
  const haystack = screenText(frame);
  const out: CutText[] = [];
  for (const item of expected) {
    const text = collapse(item.text);
    const tokens = tokenize(text, opts.anyNumbers ?? false);
    if (tokens.length === 0) continue;
    if (!matcher(tokens).test(haystack)) out.push({ ...item, ...longestStart(haystack, tokens) });
    else if (text.endsWith(ELLIPSIS)) out.push({ ...item, verdict: 'cut-before-screen', shown: text });
  }
  return out;
}

/** One line per cut text, for a failure message or a bench report. */
export function describeCut(c: CutText): string {
  if (c.verdict === 'cut-before-screen') return `${c.what} cut before it reached the screen (it ends in …): "${c.text}"`;
  return `${c.what} ${c.verdict}: "${c.text}"${c.shown !== '' ? ` (shown: "${c.shown.replace(/\n/g, '⏎')}")` : ''}`;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

type Token = { kind: 'space' } | { kind: 'number' } | { kind: 'char'; char: string };

function tokenize(text: string, anyNumbers: boolean): Token[] {
  const tokens: Token[] = [];
  for (const part of anyNumbers ? text.split(/(\d+)/) : [text]) {
    if (anyNumbers && /^\d+$/.test(part)) tokens.push({ kind: 'number' });
    else for (const char of part) tokens.push(char === ' ' ? { kind: 'space' } : { kind: 'char', char });
  }
  return tokens;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A space in the text matches a space or a line break; between two
 * characters of a word a line break may fall (a word longer than the room
 * left is split).
 */
function pattern(tokens: readonly Token[]): string {
  let source = '';
  tokens.forEach((t, i) => {
    const previous = tokens[i - 1];
    if (i > 0 && t.kind !== 'space' && previous?.kind !== 'space') source += '\\n?';
    source += t.kind === 'space' ? '[ \\n]' : t.kind === 'number' ? '\\d+(?:\\n?\\d+)*' : escape(t.char);
  });
  return source;
}

const matcher = (tokens: readonly Token[]) => new RegExp(pattern(tokens), 'u');

/** How much of the text the screen does show: the longest start of it, and whether `…` follows. */
function longestStart(haystack: string, tokens: readonly Token[]): Pick<CutText, 'verdict' | 'shown'> {
  // A start that matches means every shorter one does: search for the longest.
  let low = 0;
  let high = tokens.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (matcher(tokens.slice(0, mid)).test(haystack)) low = mid;
    else high = mid - 1;
  }
  if (low === 0) return { verdict: 'missing', shown: '' };
  // Of every place that start shows, one followed by `…` (perhaps after a space or line break) is the cut.
  const found = [...haystack.matchAll(new RegExp(`${pattern(tokens.slice(0, low))}[ \\n]?${ELLIPSIS}?`, 'gu'))].map((m) => m[0]);
  const cut = found.find((s) => s.endsWith(ELLIPSIS));
  if (cut !== undefined && low >= MIN_CUT_START) return { verdict: 'cut', shown: cut };
  // A few letters of it are found anywhere; say what was shown only when it tells something.
  return { verdict: 'missing', shown: low >= MIN_TELLING_START ? (found[0] ?? '') : '' };
}
