// switchover (MySQL / MariaDB, the master alive): move the writes to a replica
// with the shortest possible write outage and a way back from every step of
// it. The outage (old master read-only → candidate writable) is a critical
// section with a time budget: past it, or on any failure, decline or abort
// inside it, the old master is made writable again and the candidate
// repointed at it. After it, the other replicas and the old master follow the
// new master, the writer record and the role tags move, and a heartbeat
// written on the new master must reach every replica. RUNBOOKS.md.

import * as z from 'zod';
import { CLUSTER_PARAMS } from '../engine/cluster-params.js';
import { runLabel, settingsKey } from './cluster-of.js';
import {
  describeOp,
  describeReadOnly,
  describeRepoint,
  promote,
  readOnlyState,
  repoint,
  setReadOnly,
  waitForGtid,
} from '../../backends/engines/mysql-ops.js';
import { rankSwitchover } from '../../domain/candidate.js';
import { resolveWriter } from '../../domain/cluster-view.js';
import { formatGtidSet, gtidDifference, mariadbBinlogStateErrant, parseGtidSet } from '../../domain/gtid.js';
import { StepFailed } from '../engine/timing.js';
import { defineRunbook, type RunContext, type Step } from '../engine/types.js';
import {
  candidateOf,
  clusterView,
  credentials,
  discover,
  dnsStep,
  fleetViews,
  isWritableMaster,
  masterOf,
  member,
  mysqlOf,
  names,
  probe,
  replicatesFrom,
  repointStep,
  specTo,
  tagsStep,
  target,
  verifyStep,
  writerRef,
  writerValues,
  type MasterChangeState,
  credentialsCheck,
  mysqlClusterCheck,
} from './master-change.js';
import { lagOrUnknown } from '../../domain/lag-text.js';

export { ROLE_TAG } from './master-change.js';

export const switchoverParams = z
  .object({
    ...CLUSTER_PARAMS,
    /** Promote this replica (name or instance id) instead of the best ranked one. */
    candidate: z.string().min(1).optional(),
    /** The write outage's budget: past it the old master is made writable again. */
    writeBudgetSeconds: z.number().positive().default(30),
    /** Replicas further behind than this block the switchover (RUNBOOKS: 10 s). */
    lagLimitSeconds: z.number().positive().default(10),
    /** How long the heartbeat written on the new master may take to reach every replica. */
    verifySeconds: z.number().positive().default(60),
  })
  .strict();

export type SwitchoverParams = z.output<typeof switchoverParams>;

export interface SwitchoverState extends MasterChangeState {
  /** Fleet ms when the old master went read-only: the outage's start. */
  readOnlyAt?: number;
  /** The old master's executed set, read after it went read-only. */
  masterGtid?: string;
}

type Ctx = RunContext<SwitchoverParams, SwitchoverState>;
type SwitchoverStep = Step<SwitchoverParams, SwitchoverState>;

// ---------------------------------------------------------------- steps

const readOnlyStep: SwitchoverStep = {
  id: 'readonly',
  title: 'old master read-only',
  danger: 'destructive',
  mutates: true,
  timeoutMs: 15_000,
  node: (ctx) => ctx.state.master?.instance,
  // The issue's contract (`--confirm C`): the outage is the whole cluster's, so its name is what the operator types.
  confirmName: (ctx) => ctx.run.cluster,
  opensSection: { name: 'writes stopped', budgetMs: 30_000 },
  describe: (ctx) => [describeOp(target(ctx, masterOf(ctx)), { kind: 'set-read-only', isOn: true }, 15_000)],
  async run(ctx, signal) {
    ctx.state.readOnlyAt = ctx.backends.clock.now();
    const state = await setReadOnly(ctx.backends.shell, target(ctx, masterOf(ctx)), true, { signal, timeoutMs: 15_000 });
    ctx.output('stdout', `${masterOf(ctx).instance.name}: ${describeReadOnly(state)}\n`);
  },
  async isDone(ctx, signal) {
    ctx.state.readOnlyAt ??= ctx.backends.clock.now();
    return (await readOnlyState(ctx.backends.shell, target(ctx, masterOf(ctx)), { signal })).readOnly;
  },
  compensate: {
    describe: (ctx) => [describeOp(target(ctx, masterOf(ctx)), { kind: 'set-read-only', isOn: false })],
    async run(ctx, signal) {
      await setReadOnly(ctx.backends.shell, target(ctx, masterOf(ctx)), false, { signal });
    },
    async isDone(ctx, signal) {
      const s = await readOnlyState(ctx.backends.shell, target(ctx, masterOf(ctx)), { signal });
      return !s.readOnly && !s.superReadOnly;
    },
  },
};

function waitStep(budgetMs: number): SwitchoverStep {
  return {
    id: 'catch-up',
    title: 'candidate executes everything the old master wrote',
    danger: 'read',
    mutates: false,
    node: (ctx) => ctx.state.candidate?.instance,
    describe: (ctx) => {
      const c = target(ctx, candidateOf(ctx));
      const fn = c.server.flavour === 'mariadb' ? 'MASTER_GTID_WAIT' : 'WAIT_FOR_EXECUTED_GTID_SET';
      return [
        `${masterOf(ctx).instance.name}: read its executed GTID set (now read-only, so it is final)`,
        `check: nothing on ${c.node.name} that ${masterOf(ctx).instance.name} never had (errant GTIDs)`,
        `${c.node.name}: SELECT ${fn}('<that set>', <what is left of the ${budgetMs / 1000} s budget>)`,
      ];
    },
    async run(ctx, signal) {
      const master = masterOf(ctx);
      const cand = candidateOf(ctx);
      const mf = await probe(ctx, master.instance, signal);
      if (!mf.readOnly) throw new StepFailed(`${master.instance.name} is writable again: someone undid read_only; not promoting`);
      ctx.state.masterGtid = mf.gtidExecuted;
      ctx.fact({ masterGtid: mf.gtidExecuted });
      // Exact now: with the master read-only nothing is in flight.
      const cf = await probe(ctx, cand.instance, signal);
      const errant =
        cf.flavour === 'mariadb' && cf.gtidBinlogState !== undefined && mf.gtidBinlogState !== undefined
          ? mariadbBinlogStateErrant(cf.gtidBinlogState, mf.gtidBinlogState)
          : formatGtidSet(gtidDifference(parseGtidSet(cf.flavour, cf.gtidExecuted), parseGtidSet(mf.flavour, mf.gtidExecuted)));
      if (errant !== '') {
        throw new StepFailed(`${cand.instance.name} has errant GTIDs ${errant} (writes ${master.instance.name} never had); promoting it would send them to every replica`);
      }
      const left = budgetMs - (ctx.backends.clock.now() - (ctx.state.readOnlyAt ?? ctx.backends.clock.now()));
      const seconds = Math.max(1, Math.floor(left / 1000) - 1);
      ctx.progress({ message: `waiting for ${cand.instance.name} to execute ${mf.gtidExecuted || '(empty set)'}` });
      const res = await waitForGtid(ctx.backends.shell, target(ctx, cand), mf.gtidExecuted, seconds, { signal, clock: ctx.backends.clock });
      if (!res.reached) throw new StepFailed(`${cand.instance.name} did not execute ${master.instance.name}'s position within ${res.timedOutAfterSeconds} s`);
      ctx.output('stdout', `${cand.instance.name} executed ${mf.gtidExecuted} after ${res.waitedMs} ms\n`);
    },
  };
}

const promoteStep: SwitchoverStep = {
  id: 'promote',
  title: 'promote the candidate',
  danger: 'caution',
  mutates: true,
  timeoutMs: 15_000,
  node: (ctx) => ctx.state.candidate?.instance,
  closesSection: 'writes stopped',
  describe: (ctx) => [describeOp(target(ctx, candidateOf(ctx)), { kind: 'promote' }, 15_000)],
  async run(ctx, signal) {
    const state = await promote(ctx.backends.shell, target(ctx, candidateOf(ctx)), { signal, timeoutMs: 15_000 });
    const outage = ctx.backends.clock.now() - (ctx.state.readOnlyAt ?? ctx.backends.clock.now());
    ctx.fact({ writeOutageMs: outage });
    ctx.output('stdout', `${candidateOf(ctx).instance.name}: ${describeReadOnly(state)}, not a replica; writes were stopped ${outage} ms\n`);
  },
  async isDone(ctx, signal) {
    return isWritableMaster(await probe(ctx, candidateOf(ctx).instance, signal));
  },
  compensate: {
    describe: (ctx) => [
      describeOp(target(ctx, candidateOf(ctx)), { kind: 'set-read-only', isOn: true }),
      describeRepoint(target(ctx, candidateOf(ctx)), specTo(ctx, masterOf(ctx).instance, candidateOf(ctx), {})),
    ],
    async run(ctx, signal) {
      const c = target(ctx, candidateOf(ctx));
      await setReadOnly(ctx.backends.shell, c, true, { signal });
      await repoint(ctx.backends.shell, c, specTo(ctx, masterOf(ctx).instance, candidateOf(ctx), {}), { signal });
    },
    async isDone(ctx, signal) {
      const f = await probe(ctx, candidateOf(ctx).instance, signal);
      return f.readOnly && replicatesFrom(f, masterOf(ctx).instance) && f.replica?.ioThread !== 'No';
    },
  },
};

// ---------------------------------------------------------------- the runbook

export const switchoverRunbook = defineRunbook<SwitchoverParams, SwitchoverState>({
  name: 'switchover',
  title: 'MySQL master switchover',
  summary: 'Planned master change: old master read-only, candidate catches up and is promoted, replicas and the old master follow it, writer record and tags move, heartbeat verified.',
  params: switchoverParams as unknown as z.ZodType<SwitchoverParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ others: [] }),
  preflight: () => [
    mysqlClusterCheck,
    {
      id: 'replicas-healthy',
      title: 'one writable master; every replica reachable, replicating, within the lag limit',
      async run(ctx, signal) {
        const view = await clusterView(ctx, signal);
        const masters = view.nodes.filter((n) => !n.stale && mysqlOf(n) !== undefined && isWritableMaster(mysqlOf(n)!));
        if (masters.length !== 1) {
          return { ok: false, reason: masters.length === 0 ? `${runLabel(ctx.run)} has no writable master that answers: a switchover needs a live master (if it is dead, run failover)` : `${masters.length} writable masters (${masters.map((n) => n.instance.name).join(', ')}): settle which one is the master first` };
        }
        const master = masters[0]!;
        const problems: string[] = [];
        for (const n of view.nodes) {
          if (n === master) continue;
          const f = mysqlOf(n);
          if (n.stale || !f) {
            problems.push(`${n.instance.name}: not answering (${n.probeError ?? n.instance.state})`);
            continue;
          }
          if (!f.replica) problems.push(`${n.instance.name}: not a replica`);
          else if (!names(f.replica.sourceHost, master.instance)) problems.push(`${n.instance.name}: replicates from ${f.replica.sourceHost}:${f.replica.sourcePort}, not from ${master.instance.name}`);
          else if (f.replica.ioThread !== 'Yes' || f.replica.sqlThread !== 'Yes') problems.push(`${n.instance.name}: IO thread ${f.replica.ioThread}, SQL thread ${f.replica.sqlThread}`);
          else if (n.lagSeconds === null || n.lagSeconds > ctx.params.lagLimitSeconds) problems.push(`${n.instance.name}: lag ${lagOrUnknown(n.lagSeconds)} over the ${ctx.params.lagLimitSeconds} s limit`);
        }
        if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
        return { ok: true, detail: `master ${master.instance.name}; ${view.nodes.length - 1} replicas replicating within ${ctx.params.lagLimitSeconds} s` };
      },
    },
    {
      id: 'candidate',
      title: 'the candidate may be promoted',
      async run(ctx, signal) {
        const view = await clusterView(ctx, signal);
        const r = rankSwitchover(view, { lagLimitSeconds: ctx.params.lagLimitSeconds, ...(ctx.params.candidate !== undefined ? { pick: ctx.params.candidate, fleet: await fleetViews(ctx, signal) } : {}) });
        if (!r.ok) return { ok: false, reason: r.reason };
        const skipped = r.ranked.filter((row) => row.excluded.length > 0).map((row) => `${row.name} (${row.excluded.join('; ')})`);
        return {
          ok: true,
          detail: `${r.chosen.name} (${r.chosen.az}, lag ${lagOrUnknown(r.chosen.lagSeconds)}${ctx.params.candidate !== undefined ? ', chosen by the operator' : ''})${skipped.length > 0 ? `; not eligible: ${skipped.join(', ')}` : ''}`,
        };
      },
    },
    {
      id: 'writer-record',
      title: 'the writer record points at the master',
      async run(ctx, signal) {
        const ref = writerRef(ctx);
        if (!ref) return { ok: true, detail: 'no writer record configured' };
        if (!ctx.backends.dns) return { ok: true, detail: `${ref.name}: no DNS API on this target (${ctx.backends.unavailable?.dns ?? 'unavailable'}); the record is left alone` };
        const view = await clusterView(ctx, signal);
        const rec = await ctx.backends.dns.getRecord(ref.zoneId, ref.name, ref.type, { signal });
        if (!rec) return { ok: false, reason: `no ${ref.type} record ${ref.name} in ${ref.zoneId}: fix ${settingsKey(ctx.run)}.writerDns or create it` };
        const w = resolveWriter({ ref, values: rec.values }, view.nodes);
        const master = view.nodes.find((n) => !n.stale && mysqlOf(n) && isWritableMaster(mysqlOf(n)!));
        if (!master || w.node !== master.instance.name) return { ok: false, reason: `${ref.name} → ${rec.values.join(', ')} (${w.node ?? 'no node'}), not the master ${master?.instance.name ?? '?'}: settle where writes go first` };
        return { ok: true, detail: `${ref.name} → ${master.instance.name}` };
      },
    },
    credentialsCheck,
  ],
  async prepare(ctx, signal) {
    const view = await clusterView(ctx, signal);
    const r = rankSwitchover(view, { lagLimitSeconds: ctx.params.lagLimitSeconds, ...(ctx.params.candidate !== undefined ? { pick: ctx.params.candidate, fleet: await fleetViews(ctx, signal) } : {}) });
    if (!r.ok) throw new StepFailed(r.reason);
    const master = view.nodes.find((n) => n.instance.name === r.master)!;
    const cand = view.nodes.find((n) => n.instance.id === r.chosen.id)!;
    ctx.state.master = member(master);
    ctx.state.candidate = member(cand);
    ctx.state.others = view.nodes.filter((n) => n !== master && n !== cand).map(member);
    const replica = mysqlOf(cand)!.replica!;
    ctx.state.sourceHost = replica.sourceHost;
    ctx.state.port = replica.sourcePort;
    const ref = writerRef(ctx);
    if (ref) {
      const before = ctx.backends.dns ? ((await ctx.backends.dns.getRecord(ref.zoneId, ref.name, ref.type, { signal })) ?? null) : null;
      ctx.state.writer = { ref, before, after: writerValues(ref.type, before?.values ?? [], master.instance, cand.instance) };
    }
  },
  plan: (ctx) => {
    const budgetMs = ctx.params.writeBudgetSeconds * 1000;
    const master = ctx.state.master?.instance.name ?? '?';
    return [
      { ...readOnlyStep, opensSection: { name: `writes stopped on ${master}`, budgetMs } },
      waitStep(budgetMs),
      { ...promoteStep, closesSection: `writes stopped on ${master}` },
      ...ctx.state.others.map((o) => repointStep(`repoint:${o.instance.name}`, `${o.instance.name} replicates from the new master`, (c) => c.state.others.find((x) => x.instance.id === o.instance.id)!, false, 'repoint replicas')),
      repointStep('old-master', 'old master replicates from the new master', masterOf, true),
      dnsStep(ctx.state.writer !== undefined, { undoable: true }),
      tagsStep('replica'),
      verifyStep(ctx.params.verifySeconds * 1000, (c) => [masterOf(c), ...c.state.others]),
    ];
  },
});
