// Keys one at a time. Over ssh, keys typed quickly (or a held j) often reach
// the console in one read: "jj\r", "db-orders\r", "y\r". Ink splits escape
// sequences apart but hands a run of plain characters over as one input, to
// keep a paste together, and a screen that compares the input with "j" or
// looks at key.return then loses all of them. useKeys gives a handler every
// key of such a run in turn, as if they had been typed slowly.

import { useInput, type Key } from 'ink';
import { useCallback, useRef } from 'react';

export interface KeyPress {
  input: string;
  key: Key;
}

/** What a handler returns to drop the rest of a run: it changed screen, or answered a prompt. */
export const STOP = 'stop';
/** `rest`: the keys that came after this one in the same read, for a handler that hands them on. */
export type KeyHandler = (input: string, key: Key, rest: readonly KeyPress[]) => typeof STOP | void;

const NO_KEY: Key = {
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
  return Array.from(input, (ch): KeyPress => {
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
  });
}

/** useInput, one key per call (see above). The handler may change from render to render. */
export function useKeys(handler: KeyHandler, options: { isActive?: boolean } = {}): void {
  const latest = useRef(handler);
  latest.current = handler;
  const onInput = useCallback((input: string, key: Key) => {
    const keys = splitKeys(input, key);
    for (let i = 0; i < keys.length; i++) {
      if (latest.current(keys[i]!.input, keys[i]!.key, keys.slice(i + 1)) === STOP) return;
    }
  }, []);
  useInput(onInput, options.isActive === undefined ? {} : { isActive: options.isActive });
}
