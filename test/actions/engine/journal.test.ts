import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal, journalPath, listJournals, parseJournal, readJournal, runsDir, serialize, stamp } from '../../../src/actions/engine/journal.js';
import type { RunRecord } from '../../../src/actions/engine/records.js';
import { createRedactor } from '../../../src/actions/engine/redact.js';
import { tempStateDir } from '../helpers.js';

const rec = (runId: string, text: string): RunRecord =>
  stamp(runId, 1000, { type: 'step-output', stepId: 's', stream: 'stdout', text }, new Date('2026-11-21T01:00:00Z'));

describe('journal', () => {
  it('creates the run file 0600 in a 0700 directory and refuses to overwrite it', () => {
    const dir = tempStateDir();
    const j = Journal.create(dir, 'r1');
    j.append(rec('r1', 'hello'));
    j.close();
    expect(statSync(runsDir(dir)).mode & 0o777).toBe(0o700);
    expect(statSync(journalPath(dir, 'r1')).mode & 0o777).toBe(0o600);
    expect(() => Journal.create(dir, 'r1')).toThrow(/EEXIST/);
    expect(readJournal(journalPath(dir, 'r1')).records).toHaveLength(1);
  });

  it('reads a journal whose last line was torn by a kill, and reports it', () => {
    const dir = tempStateDir();
    const j = Journal.create(dir, 'r2');
    j.append(rec('r2', 'one'));
    j.append(rec('r2', 'two'));
    j.close();
    const path = journalPath(dir, 'r2');
    appendFileSync(path, serialize(rec('r2', 'three')).slice(0, 25));
    const read = readJournal(path);
    expect(read.records.map((r) => (r as { text: string }).text)).toEqual(['one', 'two']);
    expect(read.torn).toEqual({ line: 3, bytes: 25 });
    expect(read.bad).toEqual([]);
  });

  it('closes off a torn line before appending on resume, so the next record survives', () => {
    const dir = tempStateDir();
    const path = journalPath(dir, 'r3');
    Journal.create(dir, 'r3').close();
    writeFileSync(path, serialize(rec('r3', 'one')) + '{"v":1,"runId":"r3","t":"2026');
    const j = Journal.reopen(path);
    j.append(rec('r3', 'after'));
    j.close();
    const read = readJournal(path);
    expect(read.records.map((r) => (r as { text: string }).text)).toEqual(['one', 'after']);
    expect(read.bad).toHaveLength(1);
    expect(read.bad[0]!.line).toBe(2);
    expect(read.torn).toBeUndefined();
  });

  it('skips damaged lines in the middle and keeps the rest', () => {
    const text = serialize(rec('r', 'a')) + 'garbage\n' + '{"json":"but not ours"}\n' + serialize(rec('r', 'b'));
    const read = parseJournal('x', text);
    expect(read.records).toHaveLength(2);
    expect(read.bad.map((b) => b.line)).toEqual([2, 3]);
  });

  it('writes every record as exactly one line that reads back equal, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const line = serialize(rec('r', text));
        expect(line.indexOf('\n')).toBe(line.length - 1);
        const read = parseJournal('x', line);
        expect(read.records).toHaveLength(1);
        // Lone surrogates are escaped by JSON.stringify and come back as they went in.
        expect((read.records[0] as { text: string }).text).toBe(text);
      }),
      { numRuns: 120 },
    );
  });

  it('redacts before writing: the secret is nowhere in the file', () => {
    const dir = tempStateDir();
    const j = Journal.create(dir, 'r4', { redactor: createRedactor(['hunter2-very-secret']) });
    j.append(rec('r4', "mysql -uroot -phunter2-very-secret -e \"CREATE USER x IDENTIFIED BY 'pw1'\""));
    j.close();
    const raw = readFileSync(journalPath(dir, 'r4'), 'utf8');
    expect(raw).not.toContain('hunter2');
    expect(raw).not.toContain('pw1');
    expect(raw).toContain('[redacted]');
  });

  it('lists journals newest first by run id', () => {
    const dir = tempStateDir();
    for (const id of ['20261120-010000-repair-aaaa', '20261121-010000-repair-bbbb', '20261119-010000-repair-cccc']) {
      Journal.create(dir, id).close();
    }
    expect(listJournals(dir).map((p) => p.split('/').pop())).toEqual([
      '20261121-010000-repair-bbbb.jsonl',
      '20261120-010000-repair-aaaa.jsonl',
      '20261119-010000-repair-cccc.jsonl',
    ]);
  });
});

describe('a journal read with cat', () => {
  it('holds no raw C1 or DEL byte (an 8-bit CSI could drive the terminal), and still reads back equal', () => {
    const record = stamp('r1', 0, { type: 'step-output', stepId: 's', stream: 'stdout', text: 'a\x9b2Jb\x7fc\x85d' });
    const line = serialize(record);
    expect(line).not.toMatch(/[\x7f-\x9f]/);
    expect(line).toContain('\\u009b2J');
    expect(JSON.parse(line)).toEqual(record);
  });
});
