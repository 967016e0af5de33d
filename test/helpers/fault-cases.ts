// The runbooks under fault schedules: the world each starts from, the steps a
// fault may hit, and what each end must look like (RUNBOOKS.md, issue 12).

import { failoverRunbook, FENCED_TAG } from '../../src/actions/runbooks/failover.js';
import { switchoverRunbook } from '../../src/actions/runbooks/switchover.js';
import type { SimBackends } from '../../src/backends/sim/index.js';
import { membersOf, topologyProblems, writableIn, writerTargets, type EndFacts, type RunbookCase } from './fault-schedule.js';

/** Statuses a run ends with when it gave up: the cluster must then be whole, one way or the other. */
const GAVE_UP = new Set(['failed', 'stopped', 'paused', 'aborted']);

async function writerProblems(b: SimBackends, cluster: string, expected: string, what: string): Promise<string[]> {
  const at = await writerTargets(b, cluster);
  return at.length === 1 && at[0] === expected ? [] : [`${what}: the writer record points at ${at.join(', ') || 'nothing'}, expected ${expected}`];
}

/** What the cluster is left with that the reason does not name: a member not following the one writable master, the writer record elsewhere. */
async function leftUnsaid(b: SimBackends, cluster: string, reason: string): Promise<string[]> {
  const unsaid: string[] = [];
  const w = writableIn(b, cluster);
  // No master, or two: only a rollback that failed (and says so) may leave that.
  if (w.length !== 1) return /ROLLBACK OF .* FAILED/.test(reason) ? [] : [`writable: ${w.join(', ') || 'none'}`];
  const master = w[0]!;
  for (const m of membersOf(b, cluster)) {
    if (m.name === master || (m.source === master && m.io && m.sql)) continue;
    if (!reason.includes(m.name)) unsaid.push(`${m.name} replicates from ${m.source ?? 'no one'}${m.source ? ` (IO ${m.io ? 'on' : 'off'}, SQL ${m.sql ? 'on' : 'off'})` : ''}, not from ${master}`);
  }
  const at = await writerTargets(b, cluster);
  if ((at.length !== 1 || at[0] !== master) && !reason.includes('writer record')) unsaid.push(`the writer record points at ${at.join(', ') || 'nothing'}, not ${master}`);
  return unsaid;
}

export const switchoverCase: RunbookCase = {
  runbook: switchoverRunbook,
  slots: ['readonly', 'catch-up', 'promote', 'repoint:*', 'old-master', 'dns', 'tags', 'verify', 'undo:dns', 'undo:old-master', 'undo:repoint:*', 'undo:promote', 'undo:readonly', 'resume'],
  triggers: [
    // The undos of the steps after the outage run only when something after them fails.
    { slot: 'undo:dns', fault: { at: 'verify', nth: 1, kind: 'fail' } },
    { slot: 'undo:old-master', fault: { at: 'verify', nth: 1, kind: 'fail' } },
    { slot: 'undo:repoint:*', fault: { at: 'verify', nth: 1, kind: 'fail' } },
    { slot: 'undo:*', fault: { at: 'promote', nth: 1, kind: 'fail' } },
    { slot: 'resume', fault: { at: 'promote', nth: 1, kind: 'kill-after', downSeconds: 0 } },
  ],
  async setup(b, cluster) {
    const [m1, m2] = membersOf(b, cluster);
    return { params: { cluster, candidate: m2!.name }, confirm: [cluster], oldMaster: m1!.name, candidate: m2!.name };
  },
  writable: writableIn,
  async checkEnd(end: EndFacts) {
    const { b, cluster, setup, status, reason, endingFault } = end;
    if (status === 'succeeded') {
      const cand = setup.candidate!;
      return [...topologyProblems(b, cluster, cand, 'succeeded'), ...(await writerProblems(b, cluster, cand, 'succeeded'))];
    }
    if (!GAVE_UP.has(status)) return [`ended ${status}: ${reason}`];
    // Every way out is the way back (issue 12, main's switchover): the old topology, the writer record
    // on the old master. Only an undo that failed, and says so, may leave less; then the reason names the rest.
    if (/ROLLBACK OF .* FAILED/.test(reason)) {
      const unsaid = await leftUnsaid(b, cluster, reason);
      return unsaid.map((u) => `${status} with a failed rollback: ${u}, and the reason does not say so: ${reason}`);
    }
    const what = `${status}${endingFault?.inOutage ? ' inside the write outage' : ' after the write outage'}`;
    return [...topologyProblems(b, cluster, setup.oldMaster, what), ...(await writerProblems(b, cluster, setup.oldMaster, what))];
  },
};

const FENCED_STATES = new Set(['stopping', 'stopped', 'terminated']);

/**
 * Failover: the master's host hangs (no SSH, no MySQL) and its replicas'
 * IO threads fail to reconnect. Fenced means stopped: until then the dead
 * master still counts as writable (it would be, back on its feet), so a
 * promotion before the fence shows up as two writable masters.
 */
export const failoverCase: RunbookCase = {
  runbook: failoverRunbook,
  slots: ['fence', 'relay-logs', 'choose', 'promote', 'repoint', 'dns', 'tags', 'verify', 'resume'],
  triggers: [{ slot: 'resume', fault: { at: 'promote', nth: 1, kind: 'kill-after', downSeconds: 0 } }],
  async setup(b, cluster) {
    const [m1] = membersOf(b, cluster);
    b.world.inject({ kind: 'kill-node', node: m1!.id });
    (b.clock as unknown as { advance(ms: number): void }).advance(5_000);
    return { params: { cluster }, confirm: [cluster], oldMaster: m1!.name };
  },
  writable: writableIn,
  async facts(b, cluster, setup) {
    const old = (await b.inventory.discover()).instances.find((i) => i.name === setup.oldMaster);
    return { fencedTag: old?.tags[FENCED_TAG], oldMasterState: old?.state };
  },
  async checkEnd(end: EndFacts) {
    const { b, cluster, setup, status, reason, records } = end;
    const old = membersOf(b, cluster).find((m) => m.name === setup.oldMaster)!;
    const isFenced = FENCED_STATES.has(old.state);
    const fenceFinished = records.some((r) => r.type === 'step-finished' && r.stepId === 'fence' && r.status === 'ok');
    const problems: string[] = [];
    // Once fenced, for good: nothing may start it again, whatever the run's end.
    if (fenceFinished && !isFenced) problems.push(`${old.name} was fenced, and is ${old.state} at the end`);
    const live = writableIn(b, cluster).filter((n) => n !== old.name);
    if (status === 'succeeded') {
      if (live.length !== 1) return [...problems, `succeeded with writable ${live.join(', ') || 'none'}`];
      const now = live[0]!;
      problems.push(...topologyProblems(b, cluster, now, 'succeeded', [old.name]));
      problems.push(...(await writerProblems(b, cluster, now, 'succeeded')));
      if (!isFenced) problems.push(`succeeded with ${old.name} ${old.state}, not fenced`);
      return problems;
    }
    if (!GAVE_UP.has(status)) return [...problems, `ended ${status}: ${reason}`];
    // Gave up: the reason must name what is left.
    const unsaid: string[] = [];
    if (!isFenced && !reason.includes('"fence the old master"')) unsaid.push(`${old.name} is not fenced (${old.state})`);
    if (live.length > 1) problems.push(`${status} with two writable masters: ${live.join(', ')}`);
    else if (live.length === 0) {
      if (!reason.includes('"promote the new master"')) unsaid.push('no writable master: the promotion was not done');
    } else {
      const now = live[0]!;
      for (const m of membersOf(b, cluster)) {
        if (m.name === now || m.name === old.name || (m.source === now && m.io && m.sql)) continue;
        if (!reason.includes(m.name) && !reason.includes('"the other replicas replicate from the new master"')) unsaid.push(`${m.name} does not follow ${now}`);
      }
      const at = await writerTargets(b, cluster);
      if ((at.length !== 1 || at[0] !== now) && !reason.includes('writer record')) unsaid.push(`the writer record points at ${at.join(', ') || 'nothing'}, not ${now}`);
    }
    return [...problems, ...unsaid.map((u) => `${status}: ${u}, and the reason does not say so: ${reason}`)];
  },
};

/** By runbook name, for the bench. */
export const CASES: Record<string, RunbookCase> = { switchover: switchoverCase, failover: failoverCase };
