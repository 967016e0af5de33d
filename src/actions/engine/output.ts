// Bounded step output for the journal. A backup can print for an hour; the
// journal keeps the first `headBytes`, every line matching a step's
// keepLines (the completion line), and the last `tailBytes`, and says how
// much it left out. Output is cut into whole lines so redaction sees them whole.

export interface OutputLimits {
  headBytes: number;
  tailBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { headBytes: 16 * 1024, tailBytes: 16 * 1024 };

/** What to write now: whole lines, redacted. */
export interface OutputWrite {
  stream: 'stdout' | 'stderr';
  text: string;
  isTail?: boolean;
  droppedBytes?: number;
  droppedLines?: number;
}

export interface OutputBatch {
  journal: OutputWrite[];
  live: OutputWrite[];
}

interface TailLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export class StepOutput {
  private headUsed = 0;
  private readonly partial = { stdout: '', stderr: '' };
  private tail: TailLine[] = [];
  private tailUsed = 0;
  private droppedBytes = 0;
  private droppedLines = 0;

  constructor(
    private readonly limits: OutputLimits,
    private readonly keepLines: readonly RegExp[],
    private readonly redactLine: (line: string) => string,
  ) {}

  /** Feeds one chunk; returns what to journal now and what to show now (whole lines, redacted). */
  push(stream: 'stdout' | 'stderr', chunk: string): OutputBatch {
    const text = this.partial[stream] + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      // Guard against a producer that never prints a newline (a progress bar with \r).
      if (text.length > this.limits.headBytes) {
        this.partial[stream] = '';
        return this.lines(stream, [text]);
      }
      this.partial[stream] = text;
      return { journal: [], live: [] };
    }
    this.partial[stream] = text.slice(cut + 1);
    return this.lines(stream, text.slice(0, cut).split('\n'));
  }

  /** At the end of the step: the unfinished lines and the kept tail. */
  finish(): OutputBatch {
    const writes: OutputWrite[] = [];
    const live: OutputWrite[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') {
        const batch = this.lines(stream, [this.partial[stream]]);
        writes.push(...batch.journal);
        live.push(...batch.live);
      }
      this.partial[stream] = '';
    }
    if (this.tail.length > 0 || this.droppedBytes > 0) {
      const byStream = new Map<'stdout' | 'stderr', string[]>();
      for (const t of this.tail) byStream.set(t.stream, [...(byStream.get(t.stream) ?? []), t.line]);
      let first = true;
      for (const [stream, lines] of byStream) {
        writes.push({
          stream,
          text: lines.join('\n') + '\n',
          isTail: true,
          ...(first ? { droppedBytes: this.droppedBytes, droppedLines: this.droppedLines } : {}),
        });
        first = false;
      }
      if (byStream.size === 0) {
        writes.push({ stream: 'stdout', text: '', isTail: true, droppedBytes: this.droppedBytes, droppedLines: this.droppedLines });
      }
    }
    this.tail = [];
    this.tailUsed = 0;
    this.droppedBytes = 0;
    this.droppedLines = 0;
    return { journal: writes, live };
  }

  private lines(stream: 'stdout' | 'stderr', raw: string[]): OutputBatch {
    const now: string[] = [];
    const all: string[] = [];
    for (const r of raw) {
      const line = this.redactLine(r);
      all.push(line);
      const size = Buffer.byteLength(line) + 1;
      if (this.headUsed + size <= this.limits.headBytes && this.tail.length === 0) {
        this.headUsed += size;
        now.push(line);
      } else if (this.keepLines.some((re) => re.test(line))) {
        now.push(line);
      } else {
        this.tail.push({ stream, line });
        this.tailUsed += size;
        while (this.tailUsed > this.limits.tailBytes && this.tail.length > 0) {
          const gone = this.tail.shift()!;
          this.tailUsed -= Buffer.byteLength(gone.line) + 1;
          this.droppedBytes += Buffer.byteLength(gone.line) + 1;
          this.droppedLines += 1;
        }
      }
    }
    return {
      journal: now.length > 0 ? [{ stream, text: now.join('\n') + '\n' }] : [],
      live: all.length > 0 ? [{ stream, text: all.join('\n') + '\n' }] : [],
    };
  }
}
