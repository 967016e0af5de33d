// The runbooks under fault schedules: the world each starts from, the steps a
// fault may hit, and what each end must look like (RUNBOOKS.md, issue 12).

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
  slots: ['readonly', 'catch-up', 'promote', 'repoint:*', 'old-master', 'dns', 'tags', 'verify', 'undo:promote', 'undo:readonly', 'resume'],
  triggers: [
    { slot: 'undo:*', fault: { at: 'promote', nth: 1, kind: 'fail' } },
    { slot: 'resume', fault: { at: 'promote', nth: 1, kind: 'kill-after', downSeconds: 0 } },
  ],
  async setup(b, cluster) {
    const [m1, m2] = membersOf(b, cluster);
    return { params: { cluster, candidate: m2!.name }, confirm: [m1!.name], oldMaster: m1!.name, candidate: m2!.name };
  },
  writable: writableIn,
  async checkEnd(end: EndFacts) {
    const { b, cluster, setup, status, reason, endingFault } = end;
    if (status === 'succeeded') {
      return [...topologyProblems(b, cluster, setup.candidate, 'succeeded'), ...(await writerProblems(b, cluster, setup.candidate, 'succeeded'))];
    }
    if (!GAVE_UP.has(status)) return [`ended ${status}: ${reason}`];
    if (endingFault?.inOutage) {
      // Left inside the write outage: the undo must have put everything back.
      return [...topologyProblems(b, cluster, setup.oldMaster, `${status} inside the write outage`), ...(await writerProblems(b, cluster, setup.oldMaster, `${status} inside the write outage`))];
    }
    // Left after the outage: every member following one writable master that the writer record
    // names, or a reason that names each thing left otherwise.
    return leftUnsaid(b, cluster, reason).then((unsaid) => unsaid.map((u) => `${status} after the write outage: ${u}, and the reason does not say so: ${reason}`));
  },
};

/** By runbook name, for the bench. */
export const CASES: Record<string, RunbookCase> = { switchover: switchoverCase };
