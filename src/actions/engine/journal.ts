// One append-only JSONL file per run, fsync'd on every record, so a dropped
// session or a SIGKILL loses at most the record being written. The reader
// tolerates a torn last line (it reports it) and skips lines it cannot parse,
// so a damaged journal still tells most of its story.

import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  chmodSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { syncDir } from '../../backends/private-files.js';
import type { RunEvent, RunRecord } from './records.js';
import { createRedactor, type Redactor } from './redact.js';

/** Longest string kept in a record; output is bounded before this, params rarely come close. */
const MAX_STRING = 64 * 1024;

// Test fault injection (the kill harness): "N" SIGKILLs this process right after its Nth record is on disk, "N:TYPE" after its Nth record of that type.
// N, N:type, or N:type@step (the Nth record of that type written by that step: a step's count of polls varies with timing).
const KILL_AFTER = /^([1-9]\d*)(?::([a-z-]+)(?:@(\S+))?)?$/.exec(process.env.NIGHTSHIFT_TEST_KILL_AFTER_RECORD ?? '');
let appended = 0;

export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

export function journalPath(stateDir: string, runId: string): string {
  return join(runsDir(stateDir), `${runId}.jsonl`);
}

export interface JournalOptions {
  redactor?: Redactor;
  /** Off only in the benchmark's baseline. */
  fsync?: boolean;
}

export class Journal {
  private fd: number | undefined;
  private readonly redactor: Redactor;
  private readonly fsync: boolean;

  private constructor(
    readonly path: string,
    fd: number,
    opts: JournalOptions,
  ) {
    this.fd = fd;
    this.redactor = opts.redactor ?? createRedactor();
    this.fsync = opts.fsync ?? true;
  }

  /** A new journal; refuses to overwrite one (run ids are unique). */
  static create(stateDir: string, runId: string, opts: JournalOptions = {}): Journal {
    const dir = runsDir(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode only applies to directories it creates, and through the umask.
    chmodSync(dir, 0o700);
    const path = journalPath(stateDir, runId);
    const fd = openSync(path, 'wx', 0o600);
    chmodSync(path, 0o600);
    syncDir(dir);
    return new Journal(path, fd, opts);
  }

  /** Reopens an existing journal to append (resume). A torn last line is closed off first. */
  static reopen(path: string, opts: JournalOptions = {}): Journal {
    const fd = openSync(path, 'a', 0o600);
    const size = fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      const rfd = openSync(path, 'r');
      try {
        readSync(rfd, last, 0, 1, size - 1);
      } finally {
        closeSync(rfd);
      }
      // Without this the next record would be glued onto the torn one and both would be lost.
      if (last[0] !== 0x0a) writeSync(fd, '\n');
    }
    return new Journal(path, fd, opts);
  }

  /** Writes one record as one line, redacted, and waits for the disk. */
  append(record: RunRecord): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    const line = serialize(this.redactor.deep(record));
    writeSync(this.fd, line);
    if (this.fsync) fsyncSync(this.fd);
    if (
      KILL_AFTER &&
      (KILL_AFTER[2] === undefined || KILL_AFTER[2] === record.type) &&
      (KILL_AFTER[3] === undefined || ('stepId' in record && record.stepId === KILL_AFTER[3])) &&
      ++appended === Number(KILL_AFTER[1])
    ) {
      process.kill(process.pid, 'SIGKILL');
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * JSON.stringify escapes newlines and C0 controls, so a record is always one
 * line; DEL and C1 (an 8-bit CSI) are escaped too, so `cat`-ing a journal
 * cannot drive a terminal either.
 */
export function serialize(record: RunRecord): string {
  const json = JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === 'string' && value.length > MAX_STRING) {
      return `${value.slice(0, MAX_STRING)}… [${value.length - MAX_STRING} characters cut]`;
    }
    return value;
  });
  return json.replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + '\n';
}

export interface JournalRead {
  path: string;
  records: RunRecord[];
  /** The line (1-based) each record was read from, by index. */
  recordLines: number[];
  /** The last line was cut short (the process died mid-write). */
  torn?: { line: number; bytes: number };
  /** Lines that were not records (damaged in the middle). */
  bad: Array<{ line: number; problem: string; /** The line as it is, JSON-escaped and cut to a screenful. */ text: string }>;
}

export function readJournal(path: string): JournalRead {
  const text = readFileSync(path, 'utf8');
  return parseJournal(path, text);
}

export function parseJournal(path: string, text: string): JournalRead {
  const result: JournalRead = { path, records: [], recordLines: [], bad: [] };
  const lines = text.split('\n');
  const endsClean = text.endsWith('\n') || text === '';
  lines.forEach((line, i) => {
    if (line === '') return;
    const isLast = i === lines.length - 1 && !endsClean;
    const record = parseRecord(line);
    if (typeof record === 'string') {
      if (isLast) result.torn = { line: i + 1, bytes: Buffer.byteLength(line) };
      else result.bad.push({ line: i + 1, problem: record, text: escapedLine(line) });
      return;
    }
    result.records.push(record);
    result.recordLines.push(i + 1);
  });
  return result;
}

/** A damaged line shown to a person: escaped (it may hold anything) and bounded. */
function escapedLine(line: string): string {
  const cut = line.length > 300 ? `${line.slice(0, 300)}` : line;
  const escaped = JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped + (line.length > 300 ? ` … (${line.length - 300} more characters)` : '');
}

function parseRecord(line: string): RunRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a record';
  const r = value as Partial<RunRecord>;
  if (r.v !== 1 || typeof r.type !== 'string' || typeof r.runId !== 'string' || typeof r.vt !== 'number') {
    return 'not a nightshift run record';
  }
  return value as RunRecord;
}

/** Every journal file in the state dir, newest first (run ids sort by time). */
export function listJournals(stateDir: string): string[] {
  const dir = runsDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .reverse()
    .map((f) => join(dir, f));
}

/** Stamps an event for the journal. */
export function stamp(runId: string, vt: number, event: RunEvent, now: Date = new Date()): RunRecord {
  return { v: 1, runId, t: now.toISOString(), vt, ...event } as RunRecord;
}
