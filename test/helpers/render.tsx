// Renders an Ink tree into fake streams of a chosen size (ink-testing-library
// hard-codes 100 columns and no rows; the console's layout depends on both).
// Same surface as ink-testing-library: lastFrame(), frames, stdin.write().

import { EventEmitter } from 'node:events';
import { render as inkRender, type Instance } from 'ink';
import type { ReactElement } from 'react';
import { vi } from 'vitest';
import { FakeStdin } from './fake-stdin.js';

class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
  lastFrame = () => this.frames[this.frames.length - 1] ?? '';
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

export interface Rendered {
  lastFrame(): string;
  frames: string[];
  stdin: FakeStdin;
  stdout: FakeStdout;
  /** Writes one key (or typed text) the way a terminal would, after the previous key has been handled. */
  press(...sequences: string[]): Promise<void>;
  /** Waits until the visible frame contains `text`. */
  /** `timeout`: real ms (vi.waitFor's default, 1 s, unless given). */
  waitForText(text: string, opts?: { timeout?: number }): Promise<string>;
  unmount(): void;
  instance: Instance;
}

const mounted: Instance[] = [];

/**
 * Lets React flush pending passive effects (a new screen's input listener) and
 * Ink flush a lone ESC, which it holds for one setImmediate to tell it from
 * the start of an arrow key. A yield, not a sleep: nothing waits on time.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function renderInk(tree: ReactElement, size: { columns?: number; rows?: number } = {}): Promise<Rendered> {
  const stdout = new FakeStdout(size.columns ?? 80, size.rows ?? 24);
  const stdin = new FakeStdin();
  const stderr = new FakeStdout(size.columns ?? 80, size.rows ?? 24);
  const instance = inkRender(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  mounted.push(instance);
  // Input is live once some component has put stdin in raw mode and listens.
  await vi.waitFor(() => {
    if (stdin.listenerCount('readable') === 0) throw new Error('no input listener yet');
  });
  const rendered: Rendered = {
    lastFrame: stdout.lastFrame,
    frames: stdout.frames,
    stdin,
    stdout,
    instance,
    async press(...sequences) {
      for (const s of sequences) {
        await settle();
        stdin.write(s);
      }
      await settle();
    },
    async waitForText(text, opts) {
      await vi.waitFor(
        () => {
          const frame = stdout.lastFrame();
          if (!frame.includes(text)) throw new Error(`frame does not contain "${text}":\n${frame}`);
        },
        opts?.timeout !== undefined ? { timeout: opts.timeout, interval: 50 } : undefined,
      );
      return stdout.lastFrame();
    },
    unmount: () => instance.unmount(),
  };
  return rendered;
}

/** Unmount everything rendered by the current test (call in afterEach). */
export function cleanupInk(): void {
  for (const instance of mounted.splice(0)) {
    instance.unmount();
    instance.cleanup();
  }
}
