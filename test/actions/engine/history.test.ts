import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listResumableRuns, listRuns, loadRun } from '../../../src/actions/engine/history.js';
import { Journal, journalPath, stamp } from '../../../src/actions/engine/journal.js';
import type { RunEvent } from '../../../src/actions/engine/records.js';
import { tempStateDir } from '../helpers.js';

function write(stateDir: string, runId: string, events: RunEvent[], torn = false) {
  const j = Journal.create(stateDir, runId);
  events.forEach((e, i) => j.append(stamp(runId, 1000 + i, e, new Date(Date.UTC(2026, 10, 21, 1, 0, i)))));
  j.close();
  if (torn) appendFileSync(journalPath(stateDir, runId), '{"v":1,"runId":"' + runId + '","t":"20');
}

const started = (pid: number, host = 'bastion'): RunEvent => ({
  type: 'run-started',
  runbook: 'repair',
  title: 'Cassandra repair',
  cluster: 'ring-a',
  who: 'alice@bastion',
  host,
  pid,
  target: { kind: 'sim', scenario: 'healthy', seed: 1, speed: 1 },
  params: { cluster: 'ring-a' },
  plan: [{ id: 'repair', title: 'nodetool repair -pr', kind: 'action', danger: 'caution', mutates: true, describe: ['nodetool repair -pr'] }],
  preflight: [],
  startedAt: '2026-11-21T01:00:00Z',
  speed: 1,
  state: {},
});

describe('run history', () => {
  it('offers interrupted and paused runs for resume, not finished or live ones', () => {
    const dir = tempStateDir();
    write(dir, '20261121-010000-repair-0001', [started(111), { type: 'step-started', stepId: 'repair', attempt: 1, describe: [] }], true);
    write(dir, '20261121-010100-repair-0002', [started(222), { type: 'run-finished', status: 'succeeded', realMs: 1, virtualMs: 1 }]);
    write(dir, '20261121-010200-repair-0003', [started(333), { type: 'run-finished', status: 'paused', reason: 'checkpoint', realMs: 1, virtualMs: 1 }]);
    write(dir, '20261121-010300-repair-0004', [started(444)]);
    const alive = (pid: number) => pid === 444;
    const offers = listResumableRuns(dir, { host: 'bastion', isProcessAlive: alive });
    expect(offers.map((o) => [o.runId, o.why, o.atStep ?? '', o.isTorn])).toEqual([
      ['20261121-010200-repair-0003', 'paused', 'nodetool repair -pr', false],
      ['20261121-010000-repair-0001', 'interrupted', 'nodetool repair -pr', true],
    ]);
    // On another host the same pid says nothing: offered.
    expect(listResumableRuns(dir, { host: 'elsewhere', isProcessAlive: alive })).toHaveLength(3);
    expect(listRuns(dir, { host: 'bastion', isProcessAlive: alive }).find((r) => r.isLive)?.view.id).toBe('20261121-010300-repair-0004');
  });

  it('finds a run by a unique prefix and says when a prefix is ambiguous or unknown', () => {
    const dir = tempStateDir();
    write(dir, '20261121-010000-repair-aaaa', [started(1)]);
    write(dir, '20261121-010000-repair-aaab', [started(1)]);
    expect(loadRun(dir, '20261121-010000-repair-aaaa').view.id).toBe('20261121-010000-repair-aaaa');
    expect(() => loadRun(dir, '20261121-010000-repair-aa')).toThrow(/names 2 runs/);
    expect(() => loadRun(dir, 'nope')).toThrow(/no run nope/);
    expect(() => loadRun(dir, '../etc/passwd')).toThrow(/not a run id/);
  });
});
