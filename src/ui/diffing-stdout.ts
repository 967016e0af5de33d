// Ink redraws a frame that fills the terminal by clearing the whole screen
// and writing every line again, even when one number changed. Over ssh that
// is ~3 KB a frame, and on a big fleet refreshed in slices there are four
// frames a second; on a terminal without synchronized output the screen also
// blanks for a moment each time. This stream goes between Ink and the real
// stdout and turns such a redraw into rewrites of the lines that changed,
// each placed by absolute cursor position, so nothing depends on where the
// cursor was left.
//
// It only ever skips work it can prove is a no-op: any write it does not
// recognise, a resize, or a frame of another height makes the next frame a
// full redraw again. Ink's own incremental mode moves the cursor relatively
// and left duplicated lines in tmux when we tried it.

/** What Ink writes before a full-screen frame (ansi-escapes' clearTerminal: erase screen, scrollback, cursor home). */
export const CLEAR_TERMINAL = '\u001B[2J\u001B[3J\u001B[H';

/** Writes that do not change what is on the screen: synchronized output on/off, cursor hide/show. */
const HARMLESS = new Set(['\u001B[?2026h', '\u001B[?2026l', '\u001B[?25l', '\u001B[?25h']);

type WriteCallback = (err?: Error | null) => void;

/**
 * `stdout` with its write() turning Ink's full-screen redraws into line
 * updates; everything else (size, resize events, isTTY) is the real stream's.
 */
export function diffingStdout(stdout: NodeJS.WriteStream): NodeJS.WriteStream {
  /** The lines on the screen, top to bottom, when the last write was a frame; undefined when not known. */
  let shown: string[] | undefined;
  stdout.on('resize', () => (shown = undefined));

  const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof chunk !== 'string' || !chunk.startsWith(CLEAR_TERMINAL)) {
      if (typeof chunk !== 'string' || !HARMLESS.has(chunk)) shown = undefined;
      return stdout.write(chunk, encoding as BufferEncoding, callback);
    }
    const lines = chunk.slice(CLEAR_TERMINAL.length).split('\n');
    const before = shown;
    // A frame taller than the terminal scrolls, so its rows are not where their index says.
    shown = lines.length <= stdout.rows ? lines : undefined;
    if (!before || !shown || before.length !== lines.length) return stdout.write(chunk, done);
    const last = lines.length - 1;
    let out = '';
    for (let i = 0; i < last; i++) {
      if (lines[i] !== before[i]) out += lineAt(i, lines[i]!);
    }
    // The last line always, so the cursor ends where a full redraw leaves it (after that line).
    out += lineAt(last, lines[last]!);
    // A mostly blank frame can be shorter than its changes with their cursor moves.
    return stdout.write(out.length < chunk.length ? out : chunk, done);
  };

  return new Proxy(stdout, {
    get(target, prop) {
      if (prop === 'write') return write;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Row `index` (0-based) rewritten: cursor to its first column, the row
 * erased, then the text. Erasing first matters: after a line as wide as the
 * terminal the cursor waits in the last column, where an erase-to-end would
 * take that column's character with it. Ink ends every line's styles, so
 * lines do not depend on each other.
 */
function lineAt(index: number, text: string): string {
  return `\u001B[${index + 1};1H\u001B[2K${text}`;
}
