// Journal overhead per record: append + fsync (what every run pays), against
// append without fsync in the same process as a baseline. Records are the
// size of a typical step-output record. Run: npx tsx bench/journal.ts.
// Prints figures; never fails on time (disks differ wildly: tmpfs, SSD, EBS).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, stamp } from '../src/actions/engine/journal.js';
import type { RunRecord } from '../src/actions/engine/records.js';
import { createRedactor } from '../src/actions/engine/redact.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 2_000);
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'nightshift-bench-'));
const redactor = createRedactor(['a-configured-secret']);

function record(i: number): RunRecord {
  const text = `[2026-11-21 01:0${i % 10}:00,000] Repair session 0b5f-${i} for range [(-9170,-9023]] finished (progress: ${i % 100}%)\n`;
  return stamp('bench', 1_700_000_000_000 + i, { type: 'step-output', stepId: 'repair', stream: 'stdout', text });
}

function measure(label: string, fsync: boolean): { meanUs: number; p95Us: number; perSecond: number } {
  const j = Journal.create(dir, `${label}-${Date.now()}`, { redactor, fsync });
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    const r = record(i);
    const t0 = performance.now();
    j.append(r);
    samples.push((performance.now() - t0) * 1000);
  }
  const totalMs = performance.now() - started;
  j.close();
  samples.sort((a, b) => a - b);
  const meanUs = samples.reduce((a, b) => a + b, 0) / samples.length;
  const p95Us = samples[Math.floor(samples.length * 0.95)]!;
  return { meanUs, p95Us, perSecond: RECORDS / (totalMs / 1000) };
}

// Warm up the JIT and the file system once, so the first measured one is not penalised.
measure('warmup', false);
const baseline = measure('nofsync', false);
const durable = measure('fsync', true);
rmSync(dir, { recursive: true, force: true });

const fmt = (n: number) => n.toFixed(1).padStart(9);
console.log(`journal: ${RECORDS} records of ~${JSON.stringify(record(1)).length} bytes in ${process.env.BENCH_DIR ?? tmpdir()}`);
console.log(`                        mean µs     p95 µs   records/s`);
console.log(`append (no fsync)    ${fmt(baseline.meanUs)}  ${fmt(baseline.p95Us)}  ${fmt(baseline.perSecond)}`);
console.log(`append + fsync       ${fmt(durable.meanUs)}  ${fmt(durable.p95Us)}  ${fmt(durable.perSecond)}`);
console.log(`fsync costs ×${(durable.meanUs / baseline.meanUs).toFixed(1)} per record (${(durable.meanUs - baseline.meanUs).toFixed(1)} µs)`);
