// Text from nodes and from AWS (command output, error messages that quote it,
// tag values, instance names) is hostile: a host we are repairing must not be
// able to retitle, clear or redraw the operator's terminal. Everything such
// text passes through on its way to a terminal is cleaned here, once, at the
// boundary where it becomes screen or report data. The journal keeps the text
// as it came: JSON escapes it, so it is inert there.

import ansiRegex from 'ansi-regex';

// CSI (7- and 8-bit), OSC ended by BEL or ST, DCS/SOS/PM/APC strings, and
// two-byte ESC sequences, whole, so no payload (a window title) is left behind.
const SEQUENCE = ansiRegex();

/** Anything that needs work: every C0 control but newline, DEL and C1. */
const NEEDS_WORK = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
/** What is left to drop once the sequences are gone: lone ESC, BEL, BS, NUL, C1... */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

const TAB_STOP = 8;
const ONE_LINE: CleanOptions = { multiline: false };
/** A carriage return in the middle of a line would let what follows overwrite what came before. */
export const CR_SHOWN = '␍';
/** A newline in a one-line field (a name, a tag) would let it forge a line of its own. */
export const NL_SHOWN = '␤';

export interface CleanOptions {
  /** Keep newlines (output, error messages); false for names and tags, where one is shown as ␤. Default true. */
  multiline?: boolean;
  /**
   * Frozen objects already cleaned, by identity (cleanDeep): a ring's parsed
   * status is one frozen list shared by all its members, cleaned once.
   */
  memo?: WeakMap<object, unknown>;
}

/**
 * Text a terminal shows and does not obey: control sequences removed whole,
 * TAB expanded to spaces, a carriage return that would overwrite text shown
 * as ␍ (a CR before a newline or at the end is only a line ending and goes),
 * every other C0/C1 control dropped. Printable text passes unchanged.
 */
export function cleanForTerminal(text: string, opts: CleanOptions = {}): string {
  const multiline = opts.multiline ?? true;
  if (!NEEDS_WORK.test(text) && (multiline || !text.includes('\n'))) return text;
  let out = text.replace(SEQUENCE, '');
  if (out.includes('\r')) out = out.replace(/\r+(?=\n|$)/g, '').replace(/\r+/g, CR_SHOWN);
  if (out.includes('\t')) out = expandTabs(out);
  out = out.replace(CONTROL, '');
  if (!multiline) out = out.replace(/\n/g, NL_SHOWN);
  return out;
}

function expandTabs(text: string): string {
  let out = '';
  let column = 0;
  for (const ch of text) {
    if (ch === '\t') {
      const pad = TAB_STOP - (column % TAB_STOP);
      out += ' '.repeat(pad);
      column += pad;
    } else {
      out += ch;
      column = ch === '\n' ? 0 : column + 1;
    }
  }
  return out;
}

/**
 * Every string (and object key) in a JSON-like value cleaned, for data on its
 * way to a screen or a report. Returns the same value, by identity, when
 * nothing needed cleaning, so a store can still tell "unchanged" by identity.
 */
export function cleanDeep<T>(value: T, opts: CleanOptions = {}): T {
  return clean(value, opts) as T;
}

function clean(value: unknown, opts: CleanOptions): unknown {
  if (typeof value === 'string') return cleanForTerminal(value, opts);
  if (value === null || typeof value !== 'object') return value;
  // Only a frozen object can be remembered: another could change after it was cleaned.
  if (opts.memo && Object.isFrozen(value)) {
    const hit = opts.memo.get(value);
    if (hit !== undefined) return hit;
    const out = cleanObject(value, opts);
    opts.memo.set(value, out);
    return out;
  }
  return cleanObject(value, opts);
}

function cleanObject(value: object, opts: CleanOptions): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const c = clean(v, opts);
      if (c !== v) {
        copy ??= value.slice();
        copy[i] = c;
      }
    }
    return copy ?? value;
  }
  // A copy only once something changed: the poller cleans every answer of a big fleet.
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = record[k];
    const ck = cleanForTerminal(k, ONE_LINE);
    const cv = clean(v, opts);
    if (copy) {
      copy[ck] = cv;
    } else if (ck !== k || cv !== v) {
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]!] = record[keys[j]!];
      copy[ck] = cv;
    }
  }
  return copy ?? value;
}

/**
 * JSON for a terminal (`--json` output): JSON.stringify escapes C0 controls
 * but writes DEL and C1 (the 8-bit CSI \x9b among them) as they are. Escaping
 * them too keeps the value exactly the same for a program that reads it.
 */
export function jsonForTerminal(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
