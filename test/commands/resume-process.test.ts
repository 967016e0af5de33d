// `nightshift resume` after a SIGKILL, as real processes on the simulated
// fleet: the resume runs at the simulated speed the run was started with
// (`--speed` on the resume's own command line wins, and it says so), and the
// fleet's time does not run back across the kill.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/actions/engine/records.js';
import { cassandraRing, journalsOf, KILL_VAR, nightshift } from '../helpers/kill-harness.js';

const WORLD = { scenario: 'healthy', seed: 7 };
// Fast enough to be short, yet a repair of fleet minutes still spans real time the resume's speed shows in.
const SPEED = 2_000;

let ring = '';
beforeAll(async () => {
  ring = (await cassandraRing(WORLD.scenario, WORLD.seed)).name;
});

/** A repair killed right after its first record (run-started): everything is left to the resume. */
async function killedRun(): Promise<{ home: string; runId: string }> {
  const home = mkdtempSync(join(tmpdir(), 'nightshift-resume-'));
  const run = await nightshift(home, { ...WORLD, speed: SPEED }, ['run', 'repair', '--cluster', ring, '--yes'], { [KILL_VAR]: '1' });
  expect(run.signal, run.out).toBe('SIGKILL');
  const journals = journalsOf(home);
  expect(journals.size).toBe(1);
  const [runId, journal] = [...journals][0]!;
  expect(journal.records.map((r) => r.type)).toEqual(['run-started']);
  expect(journal.records[0]).toMatchObject({ type: 'run-started', target: { kind: 'sim', speed: SPEED } });
  return { home, runId };
}

/** Fleet ms per real ms over the repair step, as the resume ran it. */
function repairSpeed(records: RunRecord[]): number {
  const done = records.find((r): r is Extract<RunRecord, { type: 'step-finished' }> => r.type === 'step-finished' && r.stepId === 'repair' && r.status === 'ok');
  if (!done) throw new Error('the repair step never finished');
  return done.virtualMs / Math.max(1, done.realMs);
}

describe('resume on the simulated fleet (processes)', () => {
  // At the default ×1 the repair would take fleet minutes in real minutes: the time limit is the failure.
  it("runs at the speed the run was started with when no --speed is given", { timeout: 90_000 }, async () => {
    const { home, runId } = await killedRun();
    const resumed = await nightshift(home, WORLD, ['resume', runId, '--yes'], {}, 60_000);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toContain(`REHEARSAL · simulated fleet · healthy · seed 7 · ×${SPEED}`);
    expect(resumed.out).not.toContain('note: the simulated clock');
    const records = journalsOf(home).get(runId)!.records;
    expect(records.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded' });
    expect(repairSpeed(records)).toBeGreaterThan(SPEED * 0.8);
    expect(repairSpeed(records)).toBeLessThan(SPEED * 1.2);
  });

  it('runs at --speed when the resume is given one, and says the clock differs', { timeout: 90_000 }, async () => {
    const { home, runId } = await killedRun();
    const resumed = await nightshift(home, { ...WORLD, speed: 2 * SPEED }, ['resume', runId, '--yes'], {}, 60_000);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toContain(`seed 7 · ×${2 * SPEED}`);
    expect(resumed.out).toContain(`note: the simulated clock runs at ×${2 * SPEED} (--speed), not at ×${SPEED} as run ${runId} was started`);
    const records = journalsOf(home).get(runId)!.records;
    expect(repairSpeed(records)).toBeGreaterThan(2 * SPEED * 0.8);
    expect(repairSpeed(records)).toBeLessThan(2 * SPEED * 1.2);
  });

  it("never runs the fleet's time back across the kill", { timeout: 90_000 }, async () => {
    // Killed mid-run after fleet time the world had not saved: the journal saw it.
    const { home, runId } = await killedRun();
    const resumed = await nightshift(home, WORLD, ['resume', runId, '--yes'], {}, 60_000);
    expect(resumed.code, resumed.out).toBe(0);
    const records = journalsOf(home).get(runId)!.records;
    const back = records.findIndex((r, i) => i > 0 && r.vt < records[i - 1]!.vt);
    expect(back, back >= 0 ? `record ${back + 1} (${records[back]!.type}) is earlier than the one before it` : '').toBe(-1);
  });
});
