// Every runbook, killed with SIGKILL right after each of its journal records
// and resumed, ends as an uninterrupted run does (test/helpers/kill-harness.ts).
// Real processes on the simulated fleet; a runbook adds itself with one call.

import { describe, expect, it } from 'vitest';
import type { WorldState } from '../../src/backends/sim/state.js';
import { cassandraRing, expectEveryRecordKilled, killEveryRecord, type KillReport } from '../helpers/kill-harness.js';

const REPAIR_TAG = 'last-repaired';
// A repair of fleet minutes in milliseconds: every case is two processes, hundreds of cases a runbook.
const SPEED = 10_000;

/** Which nodes got a new last-repaired tag, and every other tag that changed. */
function tagFacts(world: WorldState, before: WorldState) {
  const tagged: string[] = [];
  const otherChanges: string[] = [];
  for (const [id, inst] of Object.entries(world.instances)) {
    const was = before.instances[id]?.tags ?? {};
    for (const key of new Set([...Object.keys(was), ...Object.keys(inst.tags)])) {
      if (was[key] === inst.tags[key]) continue;
      if (key === REPAIR_TAG) tagged.push(inst.name);
      else otherChanges.push(`${inst.name}:${key}`);
    }
  }
  return { tagged: tagged.sort(), otherChanges: otherChanges.sort() };
}

/**
 * What repair does to the world, since `before`: every job it started on a
 * node (a resume re-attaches to the running one; a second start is the
 * repair done twice), and every nodetool repair that ran to its end.
 */
function repairEffects(world: WorldState, before: WorldState): string[] {
  const name = (id: string) => world.instances[id]?.name ?? id;
  const earlierRepairs = new Set(before.repairs.map((r) => r.id));
  const earlierJobs = before.jobStarts.length;
  return [
    ...world.jobStarts.slice(earlierJobs).map((j) => `job started on ${name(j.node)}: ${j.command}`),
    ...world.repairs.filter((r) => r.outcome === 'ok' && !earlierRepairs.has(r.id)).map((r) => `nodetool repair ran to its end on ${name(r.node)}`),
  ];
}

/** A case for every N up to the first run that ended before its kill, and a kill right after every record of the uninterrupted run. */

function summary(report: KillReport): string {
  const killed = [...report.cases, ...report.targeted].filter((c) => c.killed).length;
  return `${report.cases.length} + ${report.targeted.length} cases (${killed} killed) for ${report.reference.records.length} records, ${Math.round(report.realMs / 1000)} s`;
}

describe('kill harness (processes on the simulated fleet)', () => {
  it('repair: killed after every journal record and resumed, it ends as an uninterrupted run', { timeout: 300_000 }, async () => {
    const scenario = 'healthy';
    const seed = 7;
    const ring = await cassandraRing(scenario, seed);
    const report = await killEveryRecord({
      runbook: 'repair',
      args: ['--cluster', ring.name],
      scenario,
      seed,
      speed: SPEED,
      facts: tagFacts,
      effects: repairEffects,
    });
    console.log(`kill harness, repair: ${summary(report)}`);
    expect(report.reference.status).toBe('succeeded');
    const never = ring.nodes.find((n) => n.tags[REPAIR_TAG] === undefined)!.name;
    expect(report.reference.effects).toEqual([`job started on ${never}: nodetool repair -pr`, `nodetool repair ran to its end on ${never}`]);
    expect(report.problems).toEqual([]);
    expectEveryRecordKilled(report);
  });

  it('repair --all-overdue: killed after every journal record and resumed, it ends as an uninterrupted run', { timeout: 600_000 }, async () => {
    const scenario = 'repair-overdue';
    const seed = 1;
    const ring = await cassandraRing(scenario, seed);
    // Oldest repair first, as --all-overdue takes them. Two of them are repaired beforehand with plain
    // `repair --node`: two nodes and the checkpoint between them are every kind of record the form
    // writes, at half the cases of four.
    const overdue = ring.nodes
      .filter((n) => n.tags[REPAIR_TAG] !== undefined)
      .sort((a, b) => Date.parse(a.tags[REPAIR_TAG]!) - Date.parse(b.tags[REPAIR_TAG]!))
      .map((n) => n.name);
    expect(overdue.length).toBeGreaterThanOrEqual(3);
    const report = await killEveryRecord({
      runbook: 'repair',
      args: ['--cluster', ring.name, '--all-overdue'],
      setup: overdue.slice(2).map((node) => ['run', 'repair', '--cluster', ring.name, '--node', node, '--yes']),
      scenario,
      seed,
      speed: SPEED,
      facts: tagFacts,
      effects: repairEffects,
    });
    console.log(`kill harness, repair --all-overdue: ${summary(report)}`);
    expect(report.reference.status).toBe('succeeded');
    expect(report.reference.facts).toEqual({ tagged: overdue.slice(0, 2).sort(), otherChanges: [] });
    expect(report.reference.effects).toHaveLength(4);
    expect(report.problems).toEqual([]);
    expectEveryRecordKilled(report);
  });
});
