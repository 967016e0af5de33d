import { describe, expect, it } from 'vitest';
import { StepOutput } from '../../../src/actions/engine/output.js';

const identity = (l: string) => l;

describe('bounded step output', () => {
  it('keeps head and tail, drops the middle and says how much', () => {
    const out = new StepOutput({ headBytes: 30, tailBytes: 20 }, [], identity);
    const journal: string[] = [];
    for (let i = 0; i < 20; i++) journal.push(...out.push('stdout', `line ${String(i).padStart(2, '0')}\n`).journal.map((w) => w.text));
    const end = out.finish().journal;
    expect(journal.join('')).toBe('line 00\nline 01\nline 02\n');
    const tail = end.find((w) => w.isTail)!;
    expect(tail.text).toBe('line 18\nline 19\n');
    expect(tail.droppedLines).toBe(15);
    expect(tail.droppedBytes).toBe(15 * 8);
  });

  it('journals lines matching keepLines even past the cap', () => {
    const out = new StepOutput({ headBytes: 10, tailBytes: 10 }, [/finished/], identity);
    out.push('stdout', 'aaaaaaaaaaaaaa\nbbbbbbbbbbbbb\n');
    const kept = out.push('stdout', 'Repair command #1 finished in 4 minutes\nzzzzzzzzzzzzz\n').journal;
    expect(kept.map((w) => w.text).join('')).toContain('Repair command #1 finished');
  });

  it('holds a partial line until it is complete, and shows every line live', () => {
    const out = new StepOutput({ headBytes: 1000, tailBytes: 1000 }, [], identity);
    expect(out.push('stdout', 'half a li').live).toEqual([]);
    const b = out.push('stdout', 'ne\nnext');
    expect(b.live[0]!.text).toBe('half a line\n');
    expect(out.finish().live[0]!.text).toBe('next\n');
  });
});
