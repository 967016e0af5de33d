import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { keysOfRead, NO_KEY, splitKeys } from '../../src/ui/keys.js';

const plain = (over: Partial<Key> = {}): Key => ({ ...NO_KEY, ...over });
/** What each key press in `keys` is, in a few words: "esc", "j", "enter", "up". */
const names = (presses: { input: string; key: Key }[]) =>
  presses.map(({ input, key }) =>
    key.escape ? 'esc' : key.return ? 'enter' : key.upArrow ? 'up' : key.meta ? `alt+${input}` : input,
  );

describe('keys of one read', () => {
  it('splits a run of typed characters, Enter included', () => {
    expect(names(splitKeys('jj\r', plain()))).toEqual(['j', 'j', 'enter']);
  });

  // (raw text, what Ink made of it) -> the keys a screen gets
  it('reads ESC before a key as Esc and then that key, as nothing here binds Alt', () => {
    expect(names(keysOfRead('\u001bj', 'j', plain({ meta: true })))).toEqual(['esc', 'j']);
    expect(names(keysOfRead('\u001b\r', '', plain({ return: true })))).toEqual(['esc', 'enter']);
    expect(names(keysOfRead('\u001b/', '/', plain()))).toEqual(['esc', '/']);
    expect(names(keysOfRead('\u001b\u001b', '', plain({ escape: true, meta: true })))).toEqual(['esc', 'esc']);
    expect(names(keysOfRead('\u001b\u001b[A', '', plain({ upArrow: true, meta: true })))).toEqual(['esc', 'up']);
  });

  it('leaves a lone Esc, arrows and plain text as Ink gave them', () => {
    expect(names(keysOfRead('\u001b', '', plain({ escape: true, meta: true })))).toEqual(['esc']);
    expect(names(keysOfRead('\u001b[A', '', plain({ upArrow: true })))).toEqual(['up']);
    expect(names(keysOfRead('\u001bOA', '', plain({ upArrow: true })))).toEqual(['up']);
    expect(names(keysOfRead('jk', 'jk', plain()))).toEqual(['j', 'k']);
    expect(names(keysOfRead(undefined, 'j', plain()))).toEqual(['j']);
  });
});
