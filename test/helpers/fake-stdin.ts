// A keyboard for Ink without a terminal: a stdin that says it is a TTY, takes
// raw mode, and hands over each write as one read, as a terminal does. Shared
// by the screen tests (helpers/render.tsx) and the benches (bench/terminal.ts).

import { EventEmitter } from 'node:events';

export class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  write = (data: string) => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  };
  read = () => {
    const { data } = this;
    this.data = null;
    return data;
  };
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}
