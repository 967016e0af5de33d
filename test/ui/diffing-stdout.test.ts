// The diffing stdout is checked against a real terminal emulator
// (@xterm/headless): whatever Ink writes, the screen drawn through it must be
// the screen the raw writes draw, cell by cell, styles included, while far
// fewer bytes cross the wire.

import { EventEmitter } from 'node:events';
import xterm from '@xterm/headless';
import fc from 'fast-check';
import { render } from 'ink';
import { createElement } from 'react';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../src/app.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { CLEAR_TERMINAL, diffingStdout } from '../../src/ui/diffing-stdout.js';
import { FakeStdin } from '../helpers/fake-stdin.js';
import { generateFleet, NOW, SIM_TARGET } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';

// Ink decides once, when it is imported, whether it runs in CI (is-in-ci), and there
// draws nothing until it exits. This test needs the frames a terminal gets, so the
// CI variables are put aside before Ink is imported (vi.hoisted runs before the
// imports) and put back after.
const ciVariables = vi.hoisted(() => {
  const saved: Record<string, string> = {};
  for (const key of Object.keys(process.env)) {
    if (key === 'CI' || key === 'CONTINUOUS_INTEGRATION' || key.startsWith('CI_')) {
      saved[key] = process.env[key]!;
      delete process.env[key];
    }
  }
  return saved;
});
afterAll(() => Object.assign(process.env, ciVariables));

const BSU = '\u001B[?2026h';
const ESU = '\u001B[?2026l';

/** A TTY-looking stdout that hands what is written to a callback and counts the bytes. */
class Tty extends EventEmitter {
  readonly isTTY = true;
  bytes = 0;
  constructor(
    public columns: number,
    public rows: number,
    private readonly sink: (chunk: string) => void,
  ) {
    super();
  }
  write = (chunk: string, encodingOrCallback?: unknown, callback?: unknown) => {
    this.bytes += Buffer.byteLength(chunk);
    this.sink(chunk);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  };
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

/** Two emulators, one fed the raw writes, one fed them through diffingStdout. */
function pair(columns: number, rows: number) {
  // convertEol: a tty's output processing (ONLCR) turns each \n into \r\n, as for the console's stdout.
  const options = { cols: columns, rows, allowProposedApi: true, convertEol: true };
  const raw = new xterm.Terminal(options);
  const diffed = new xterm.Terminal(options);
  const rawTty = new Tty(columns, rows, (c) => raw.write(c));
  const diffedTty = new Tty(columns, rows, (c) => diffed.write(c));
  const through = diffingStdout(diffedTty as unknown as NodeJS.WriteStream);
  return {
    raw,
    diffed,
    rawTty,
    diffedTty,
    through,
    write(chunk: string) {
      rawTty.write(chunk);
      through.write(chunk);
    },
    resize(c: number, r: number) {
      raw.resize(c, r);
      diffed.resize(c, r);
      rawTty.resize(c, r);
      diffedTty.resize(c, r);
    },
  };
}

const flushed = (t: xterm.Terminal) => new Promise<void>((resolve) => t.write('', resolve));

/** The text of every row, and every cell's colours and the styles a user can see. */
function screen(t: xterm.Terminal): { text: string[]; styles: string[] } {
  const buffer = t.buffer.active;
  const cell = buffer.getNullCell();
  const text: string[] = [];
  const styles: string[] = [];
  for (let y = 0; y < t.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y)!;
    text.push(line.translateToString());
    let row = '';
    for (let x = 0; x < t.cols; x++) {
      line.getCell(x, cell);
      row += `${cell.getFgColor()}.${cell.getBgColor()}.${Number(cell.isBold())}${Number(cell.isInverse())}${Number(cell.isDim())} `;
    }
    styles.push(row);
  }
  return { text, styles };
}

async function sameScreens(p: ReturnType<typeof pair>): Promise<void> {
  await flushed(p.raw);
  await flushed(p.diffed);
  const [diffed, raw] = [screen(p.diffed), screen(p.raw)];
  expect(diffed.text).toEqual(raw.text);
  expect(diffed.styles).toEqual(raw.styles);
}

/** A frame as Ink writes it: rows of text, each row's styles closed at its end. */
const frameArb = (columns: number, rows: number) =>
  fc.array(
    fc.record({
      text: fc.stringMatching(new RegExp(`^[ a-z0-9·›✓✗▲]{0,${columns}}$`)),
      style: fc.constantFrom('', '\u001B[1m', '\u001B[31m', '\u001B[7m', '\u001B[2m'),
      full: fc.boolean(),
    }),
    { minLength: rows, maxLength: rows },
  );

function inkFrame(rows: Array<{ text: string; style: string; full: boolean }>, columns: number): string {
  const lines = rows.map(({ text, style, full }) => {
    // Some rows as wide as the terminal: the cursor then waits in the last column.
    const body = full ? text.padEnd(columns, '#').slice(0, columns) : text;
    return style ? `${style}${body}\u001B[0m` : body;
  });
  return CLEAR_TERMINAL + lines.join('\n');
}

describe('diffingStdout', () => {
  it('draws the same screen as the full redraws, for any run of frames, with fewer bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb(20, 6), { minLength: 2, maxLength: 8 }), async (frames) => {
        const p = pair(20, 6);
        for (const f of frames) {
          p.write(BSU);
          p.write(inkFrame(f, 20));
          p.write(ESU);
          await sameScreens(p);
        }
        expect(p.diffedTty.bytes).toBeLessThanOrEqual(p.rawTty.bytes);
      }),
      { numRuns: 60 },
    );
  });

  it('writes only the rows that changed, and the last one', async () => {
    const p = pair(40, 5);
    const rows = ['header', 'row one', 'row two', 'row three', 'keys'];
    p.write(CLEAR_TERMINAL + rows.join('\n'));
    p.write(CLEAR_TERMINAL + rows.join('\n'));
    const before = p.diffedTty.bytes;
    rows[2] = 'row TWO';
    p.write(CLEAR_TERMINAL + rows.join('\n'));
    await sameScreens(p);
    expect(p.diffedTty.bytes - before).toBe('\u001B[3;1H\u001B[2Krow TWO\u001B[5;1H\u001B[2Kkeys'.length);
  });

  it('draws in full after anything it does not know, a resize, or a frame of another height', async () => {
    const p = pair(30, 4);
    const frame = (s: string) => CLEAR_TERMINAL + ['a', s, 'c', 'd'].join('\n');
    p.write(frame('one'));
    p.write(frame('two'));
    // Something else wrote to the screen: the next frame cannot be a diff against the last.
    p.write('\u001B[2;1Hsomething else');
    let before = p.diffedTty.bytes;
    p.write(frame('two'));
    expect(p.diffedTty.bytes - before).toBe(frame('two').length);
    await sameScreens(p);

    p.resize(25, 4);
    before = p.diffedTty.bytes;
    p.write(frame('three'));
    expect(p.diffedTty.bytes - before).toBe(frame('three').length);
    await sameScreens(p);

    before = p.diffedTty.bytes;
    p.write(CLEAR_TERMINAL + ['a', 'b', 'c'].join('\n'));
    expect(p.diffedTty.bytes - before).toBe(CLEAR_TERMINAL.length + 5);
    await sameScreens(p);
  });

  it('passes everything but write through to the real stream', () => {
    const tty = new Tty(80, 24, () => {});
    const through = diffingStdout(tty as unknown as NodeJS.WriteStream);
    expect(through.columns).toBe(80);
    expect(through.isTTY).toBe(true);
    let resized = 0;
    through.on('resize', () => resized++);
    tty.resize(100, 30);
    expect(resized).toBe(1);
    expect(through.rows).toBe(30);
  });
});

describe('the console through diffingStdout', () => {
  const unmounts: Array<() => void> = [];
  afterEach(() => {
    for (const u of unmounts.splice(0)) u();
  });

  it('shows the same screens as Ink drawing in full, moving, opening, filtering and refreshing', async () => {
    const p = pair(80, 24);
    // Ink writes to a tee: the raw emulator gets every write as is, the other one through diffingStdout.
    const tee = new Tty(80, 24, (chunk) => p.write(chunk));
    const fleet = createFleetStore({ target: SIM_TARGET, refreshSeconds: 5 });
    const clusters = generateFleet(60, 4);
    fleet.getState().actions.setClusters(clusters, NOW, 10);
    const stdin = new FakeStdin();
    const app = render(createElement(App, { fleet, onRefresh: () => {}, onQuit: () => {}, clock: () => NOW }), {
      stdout: tee as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 1000,
    });
    unmounts.push(() => app.unmount());
    /** Until the screen (as the raw writes draw it) shows `text`. */
    const showing = (text: string) =>
      vi.waitFor(async () => {
        await flushed(p.raw);
        if (!screen(p.raw).text.join('\n').includes(text)) throw new Error(`the screen does not show "${text}" yet`);
      });
    // A turn of the event loop, so a new screen's input listener is in place before the next key.
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await showing('1/60');
    // Each step, what the screen then shows, and whether it changes only a few rows (a move, a refresh of the same fleet).
    const steps: Array<[() => void, string, 'few rows' | 'many rows']> = [
      // Ink's second frame, the first it draws as a full screen: nothing to compare with yet.
      [() => stdin.write('j'), '2/60', 'many rows'],
      [() => stdin.write('j'), '3/60', 'few rows'],
      [() => stdin.write('jjj'), '6/60', 'few rows'],
      [() => stdin.write('G'), '60/60', 'many rows'],
      [() => stdin.write('k'), '59/60', 'few rows'],
      [() => fleet.getState().actions.setClusters([...clusters], NOW - 1_000, 10), 'refreshed 1 s ago', 'few rows'],
      [() => fleet.getState().actions.setClusters(generateFleet(61, 4), NOW, 10), 'Fleet · 61 clusters', 'many rows'],
      [() => stdin.write(keys.enter), 'Fleet ›', 'many rows'],
      [() => stdin.write('j'), '2/4', 'few rows'],
      [() => stdin.write(keys.escape), 'Fleet · 61 clusters', 'many rows'],
      // The filter line takes a row from the list, which scrolls to keep the selected row in view.
      [() => stdin.write('/'), 'keep filter', 'many rows'],
      [() => stdin.write('db-1'), 'of 61 clusters match', 'many rows'],
      [() => stdin.write(keys.escape), 'Fleet · 61 clusters', 'many rows'],
      [() => stdin.write('?'), 'Keys ·', 'many rows'],
      [() => stdin.write(keys.escape), 'Fleet · 61 clusters', 'many rows'],
    ];
    for (const [step, shows, change] of steps) {
      await settle();
      const diffed = p.diffedTty.bytes;
      step();
      await showing(shows);
      await sameScreens(p);
      // A few rows of 80 columns with their cursor moves, where Ink wrote 860-1,760 bytes.
      if (change === 'few rows') expect(p.diffedTty.bytes - diffed).toBeLessThan(600);
    }
  });
});
