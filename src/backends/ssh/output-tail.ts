// What a command printed, bounded: the newest `max` characters, with a line
// saying how much of the start was dropped. An exec's stdout and stderr, and
// a pipe's two ends, keep their output in one each.

export class OutputTail {
  private parts: string[] = [];
  private size = 0;
  private dropped = 0;
  constructor(private readonly max: number) {}

  push(s: string): void {
    if (!s) return;
    this.parts.push(s);
    this.size += s.length;
    if (this.size > this.max * 2) this.compact();
  }

  private compact(): void {
    const all = this.parts.join('');
    const keep = all.slice(all.length - this.max);
    this.dropped += all.length - keep.length;
    this.parts = [keep];
    this.size = keep.length;
  }

  /** All that is kept, after `tail` (the decoder's last bytes). */
  text(tail = ''): string {
    this.push(tail);
    if (this.size > this.max) this.compact();
    const all = this.parts.join('');
    return this.dropped > 0 ? `[nightshift: first ${this.dropped} characters of output dropped]\n${all}` : all;
  }
}
