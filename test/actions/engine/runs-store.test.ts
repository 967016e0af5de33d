import { describe, expect, it } from 'vitest';
import { stamp } from '../../../src/actions/engine/journal.js';
import type { RunEvent } from '../../../src/actions/engine/records.js';
import { createRunsStore, currentStep, OUTPUT_TAIL_LINES, selectRun } from '../../../src/store/runs.js';

const ev = (e: RunEvent, vt = 0) => stamp('r1', vt, e, new Date('2026-11-21T01:00:00Z'));

describe('runs store', () => {
  it('folds events into plain data: steps, output tail, progress, gate prompt, outcome', () => {
    const store = createRunsStore();
    const { apply } = store.getState().actions;
    apply(
      ev({
        type: 'planned',
        runbook: 'repair',
        title: 'Cassandra repair',
        cluster: 'ring-a',
        preflight: [],
        plan: [
          { id: 'a', title: 'A', kind: 'action', danger: 'read', mutates: false, describe: ['x'] },
          { id: 'b', title: 'B', kind: 'action', danger: 'caution', mutates: true, describe: ['y'] },
        ],
      }),
    );
    apply(ev({ type: 'step-started', stepId: 'a', attempt: 1, describe: ['x'] }));
    for (let i = 0; i < OUTPUT_TAIL_LINES + 5; i++) apply(ev({ type: 'step-output-live', stepId: 'a', stream: 'stdout', text: `line ${i}\n` }));
    apply(ev({ type: 'step-progress', stepId: 'a', percent: 40, etaMs: 1000 }));
    let run = selectRun('r1')(store.getState())!;
    expect(currentStep(run)?.id).toBe('a');
    expect(run.steps[0]!.output).toHaveLength(OUTPUT_TAIL_LINES);
    expect(run.steps[0]!.outputDropped).toBe(5);
    expect(run.steps[0]!.output.at(-1)!.text).toBe(`line ${OUTPUT_TAIL_LINES + 4}`);
    expect(run.steps[0]!.progress).toMatchObject({ percent: 40, etaMs: 1000 });

    apply(ev({ type: 'step-finished', stepId: 'a', status: 'ok', via: 'run', realMs: 5, virtualMs: 60_000, state: { n: 1 } }));
    apply(ev({ type: 'gate-pending', gateId: 'g1', request: { kind: 'caution', title: 'B', question: 'Run it? [y/N]', details: [] } }));
    run = selectRun('r1')(store.getState())!;
    expect(run.gate?.gateId).toBe('g1');
    expect(run.state).toEqual({ n: 1 });
    apply(ev({ type: 'gate-cleared', gateId: 'g1' }));
    apply(ev({ type: 'run-finished', status: 'stopped', reason: 'not confirmed', realMs: 9, virtualMs: 60_000 }));
    run = selectRun('r1')(store.getState())!;
    expect(run.gate).toBeUndefined();
    expect(run).toMatchObject({ status: 'stopped', reason: 'not confirmed' });
    expect(run.steps.map((s) => s.status)).toEqual(['ok', 'pending']);
    // Plain data only: it survives structuredClone (no functions, no class instances).
    expect(structuredClone(run)).toEqual(run);
  });

  it('each store is its own: no module-level state', () => {
    const a = createRunsStore();
    const b = createRunsStore();
    a.getState().actions.apply(ev({ type: 'run-finished', status: 'failed', realMs: 1, virtualMs: 1 }));
    expect(b.getState().order).toEqual([]);
  });
});
