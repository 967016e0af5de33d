// Keys one at a time. Over ssh, keys typed quickly (or a held j) often reach
// the console in one read: "jj\r", "db-orders\r", "y\r". Ink splits escape
// sequences apart but hands a run of plain characters over as one input, to
// keep a paste together, and a screen that compares the input with "j" or
// looks at key.return then loses all of them. useKeys gives a handler every
// key of such a run in turn, as if they had been typed slowly.
//
// Esc has the same problem. Terminals send Alt+x as ESC x, so Ink reads an
// Esc and the key after it in one read ("\x1b\x1b", "\x1bj") as one key with
// meta: Esc Esc was one Esc, and Esc j was nothing at all. The console binds
// no Alt keys, so such a read is an Esc and then the key.

import { useInput, useStdin, type Key } from 'ink';
import { useCallback, useEffect, useRef } from 'react';

export interface KeyPress {
  input: string;
  key: Key;
}

/** What a handler returns to drop the rest of a run: it changed screen, or answered a prompt. */
export const STOP = 'stop';
/** `rest`: the keys that came after this one in the same read, for a handler that hands them on. */
export type KeyHandler = (input: string, key: Key, rest: readonly KeyPress[]) => typeof STOP | void;

/** A key with no flag set: what a plain character is, before its own flag. */
export const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** The keys in one input: a run of plain characters split into one key each, anything else as it came. */
export function splitKeys(input: string, key: Key): KeyPress[] {
  if (input.length <= 1 || key.ctrl || key.meta || input.includes('\u001b')) return [{ input, key }];
  return Array.from(input, keyOf);
}

/** One plain character as Ink would report it typed alone. */
function keyOf(ch: string): KeyPress {
  switch (ch) {
    case '\r':
    case '\n':
      return { input: '', key: { ...NO_KEY, return: true } };
    case '\t':
      return { input: '', key: { ...NO_KEY, tab: true } };
    case '\b':
      return { input: '', key: { ...NO_KEY, backspace: true } };
    case '\u007f':
      // What Ink 6 reports for the backspace key of most terminals.
      return { input: '', key: { ...NO_KEY, delete: true } };
    default:
      return { input: ch, key: { ...NO_KEY, shift: /[A-Z]/.test(ch) } };
  }
}

const ESC = '\u001b';
const ESCAPE: Key = { ...NO_KEY, escape: true, meta: true };

/**
 * The keys of one of Ink's inputs, given the text it was parsed from (`raw`):
 * an ESC before another key (what a terminal sends for Alt+key) is an Esc and
 * then that key; anything else as splitKeys gives it.
 */
export function keysOfRead(raw: string | undefined, input: string, key: Key): KeyPress[] {
  const after = raw !== undefined && raw.length > 1 && raw[0] === ESC ? raw.slice(1) : undefined;
  // ESC [ and ESC O start the sequences of arrows and function keys, which Ink has parsed whole.
  if (after === undefined || after[0] === '[' || after[0] === 'O') return splitKeys(input, key);
  if (after === ESC) return [{ input: '', key: ESCAPE }, { input: '', key: ESCAPE }];
  // ESC ESC [ A: an Esc, then the arrow Ink found in it (with Alt, it says; nothing here binds Alt).
  if (after[0] === ESC) return [{ input: '', key: ESCAPE }, { input, key: { ...key, meta: false } }];
  return [{ input: '', key: ESCAPE }, ...Array.from(after, keyOf)];
}

/** useInput, one key per call (see above). The handler may change from render to render. */
export function useKeys(handler: KeyHandler, options: { isActive?: boolean } = {}): void {
  const latest = useRef(handler);
  latest.current = handler;
  // The text of the input Ink is handling. Prepended, so it runs before every
  // useInput listener: set when the handler below is called for that input.
  const raw = useRef<string | undefined>(undefined);
  const { internal_eventEmitter: events } = useStdin();
  useEffect(() => {
    if (options.isActive === false) return;
    const onRaw = (data: string) => void (raw.current = data);
    events.prependListener('input', onRaw);
    return () => void events.off('input', onRaw);
  }, [events, options.isActive]);
  const onInput = useCallback((input: string, key: Key) => {
    const keys = keysOfRead(raw.current, input, key);
    raw.current = undefined;
    for (let i = 0; i < keys.length; i++) {
      if (latest.current(keys[i]!.input, keys[i]!.key, keys.slice(i + 1)) === STOP) return;
    }
  }, []);
  useInput(onInput, options.isActive === undefined ? {} : { isActive: options.isActive });
}
