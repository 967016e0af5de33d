// failover (MySQL / MariaDB, the master dead): fence the old master so it can
// never come back writable, let every replica apply what it received, promote
// the most advanced one, and point the others, the writer record and the role
// tags at it. Refused unless the master is dead, not merely out of nightshift's
// reach: it answers no MySQL AND no replica's IO thread is connected to it.
// There is no way back once the old master is fenced, so there is no undo:
// every step forward is checked before it is taken. RUNBOOKS.md.

import * as z from 'zod';
import { CLUSTER_PARAMS, runCluster } from '../engine/cluster-params.js';
import { clusterSettings } from '../../config/cluster-settings.js';
import type { ScopedName } from '../../domain/scope.js';
import { clusterFlags, runLabel, settingsKey } from './cluster-of.js';
import { clientsOf } from '../../backends/engines/clients.js';
import { describeOp, describeRepoint, promote, repoint, stopIoThread, stopIoThreadSql, waitForGtid } from '../../backends/engines/mysql-ops.js';
import { fenceFor, type Fence } from '../../config/fence.js';
import { chooseFailover, type FailoverReplica } from '../../domain/candidate.js';
import { formatGtidSet, gtidUnion, isGtidSubset, parseGtidSet } from '../../domain/gtid.js';
import type { ClusterView, NodeView } from '../../domain/types.js';
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
  need,
  probe,
  replicatesFrom,
  specTo,
  tagsStep,
  target,
  verifyStep,
  writerRef,
  writerValues,
  type MasterChangeState,
  type Member,
  credentialsCheck,
  mysqlClusterCheck,
} from './master-change.js';

export const FENCED_TAG = 'nightshift:fenced';

export const failoverParams = z
  .object({
    ...CLUSTER_PARAMS,
    /** Promote this replica (name or instance id) instead of the most advanced one; refused if it lacks anything another has. */
    candidate: z.string().min(1).optional(),
    /** How long each replica may take to apply the relay log it already received. */
    relayWaitSeconds: z.number().positive().default(120),
    /** How long the heartbeat written on the new master may take to reach every replica. */
    verifySeconds: z.number().positive().default(60),
  })
  .strict();

export type FailoverParams = z.output<typeof failoverParams>;

/** How the old master is fenced, decided at plan time and journaled. */
type FenceStep =
  | { kind: 'stop'; plan: string }
  | { kind: 'isolate'; securityGroup: string; plan: string }
  | { kind: 'command'; command: string; plan: string }
  /** nightshift cannot: the operator fences it by hand and types its name. */
  | { kind: 'by-hand'; reason: string; plan: string };

export interface FailoverState extends MasterChangeState {
  fence?: FenceStep;
  /** Every replica that answered at plan time: the candidates, and later the others. */
  replicas: Member[];
  /** Each replica's executed set once its relay log is applied, by instance id. */
  applied: Record<string, string>;
}

type Ctx = RunContext<FailoverParams, FailoverState>;
type FailoverStep = Step<FailoverParams, FailoverState>;

const SSH_CHECK = 'ssh-check';

// ---------------------------------------------------------------- is the master dead?

interface Verdict {
  view: ClusterView;
  master?: NodeView;
  /** Replicas that answered, with their facts. */
  replicas: NodeView[];
  /** Members that did not answer, other than the master. */
  silent: NodeView[];
  refusal?: string;
  detail?: string;
}

/**
 * The master is dead when it answers no MySQL and every replica that answers
 * has its IO thread off it. The master is the member the replicas replicate
 * from; a writable member that answers means there is no failover to do.
 */
async function verdict(ctx: Ctx, signal: AbortSignal): Promise<Verdict> {
  const view = await clusterView(ctx, signal);
  const answering = view.nodes.filter((n) => !n.stale && mysqlOf(n) !== undefined);
  const writable = answering.filter((n) => isWritableMaster(mysqlOf(n)!));
  if (writable.length > 0) {
    return {
      view,
      replicas: [],
      silent: [],
      refusal: `${writable.map((n) => n.instance.name).join(', ')} answer${writable.length === 1 ? 's' : ''} and ${writable.length === 1 ? 'is' : 'are'} writable: ${runLabel(ctx.run)} has a live master, there is nothing to fail over (a planned change is \`switchover\`)`,
    };
  }
  const replicas = answering.filter((n) => mysqlOf(n)!.replica !== undefined);
  if (replicas.length === 0) return { view, replicas, silent: [], refusal: `no replica of ${runLabel(ctx.run)} answers: nothing to promote` };
  // The master: the member most replicas name as their source.
  const votes = new Map<NodeView, number>();
  for (const r of replicas) {
    const src = view.nodes.find((n) => n !== r && names(mysqlOf(r)!.replica!.sourceHost, n.instance));
    if (src) votes.set(src, (votes.get(src) ?? 0) + 1);
  }
  const master = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!master) {
    const sources = [...new Set(replicas.map((r) => `${mysqlOf(r)!.replica!.sourceHost}:${mysqlOf(r)!.replica!.sourcePort}`))];
    return { view, replicas, silent: [], refusal: `the replicas replicate from ${sources.join(', ')}, not from a member of ${runLabel(ctx.run)}: nightshift cannot tell which master died` };
  }
  if (!master.stale && mysqlOf(master)) {
    const f = mysqlOf(master)!;
    return { view, master, replicas, silent: [], refusal: `${master.instance.name} answers MySQL (read_only=${f.readOnly ? 1 : 0}${f.replica ? `, a replica of ${f.replica.sourceHost}` : ''}): it is not dead; settle it by hand or with switchover` };
  }
  const ofMaster = replicas.filter((r) => names(mysqlOf(r)!.replica!.sourceHost, master.instance));
  const connected = ofMaster.filter((r) => mysqlOf(r)!.replica!.ioThread === 'Yes');
  if (connected.length > 0) {
    return {
      view,
      master,
      replicas,
      silent: [],
      refusal:
        `${connected.map((r) => r.instance.name).join(', ')} still replicate${connected.length === 1 ? 's' : ''} from ${master.instance.name} (IO thread Yes): ` +
        `the master is alive and only nightshift's path to it is broken (${master.probeError ?? 'no answer'}). Fix the path, or use switchover; nothing was changed`,
    };
  }
  const silent = view.nodes.filter((n) => n !== master && (n.stale || !mysqlOf(n)));
  const io = ofMaster.map((r) => {
    const rep = mysqlOf(r)!.replica!;
    return `${r.instance.name} IO ${rep.ioThread}${rep.lastIoError ? ` (error ${rep.lastIoError.code})` : ''}`;
  });
  return {
    view,
    master,
    replicas: ofMaster,
    silent,
    detail: `${master.instance.name} answers no MySQL (${oneLine(master.probeError ?? master.instance.state)}); ${io.join(', ')}${silent.length > 0 ? `; not answering either: ${silent.map((n) => n.instance.name).join(', ')} (left out)` : ''}`,
  };
}

const oneLine = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}…` : s).replace(/\s+/g, ' ');

/** Does the old master's host still take SSH? Decides whether its fence command can run. */
async function sshAnswers(ctx: Ctx, master: NodeView, signal: AbortSignal): Promise<boolean> {
  const cached = ctx.scratch.get(SSH_CHECK) as boolean | undefined;
  if (cached !== undefined) return cached;
  let ok = false;
  try {
    ok = (await ctx.backends.shell.exec(master.instance, 'true', { signal, timeoutMs: ctx.config.engines.probeTimeoutSeconds * 1000 })).code === 0;
  } catch {
    ok = false;
  }
  ctx.scratch.set(SSH_CHECK, ok);
  return ok;
}

function fencePlan(ctx: Ctx, master: NodeView, sshOk: boolean): FenceStep {
  const f: Fence = fenceFor(ctx.config, runCluster(ctx.run), master.instance, ctx.backends.target);
  switch (f.kind) {
    case 'stop':
      if (!ctx.backends.compute) return byHand(master, `no compute API on this target (${ctx.backends.unavailable?.compute ?? 'unavailable'})`);
      return { kind: 'stop', plan: f.plan };
    case 'isolate':
      return { kind: 'isolate', securityGroup: f.securityGroup, plan: f.plan };
    case 'command':
      if (!sshOk) return byHand(master, `${master.instance.name} does not answer over SSH, so its fence command (${f.command}) cannot run`);
      return { kind: 'command', command: f.command, plan: f.plan };
    case 'none':
      return byHand(master, f.reason);
  }
}

function byHand(master: NodeView, reason: string): FenceStep {
  const name = master.instance.name;
  return { kind: 'by-hand', reason, plan: `${reason}. Fence ${name} by hand (stop its mysqld and keep it stopped, or cut it off the network), then type ${name} to confirm it is fenced` };
}

// ---------------------------------------------------------------- steps

const fenceStep: FailoverStep = {
  id: 'fence',
  title: 'fence the old master',
  danger: 'destructive',
  mutates: true,
  timeoutMs: 300_000,
  node: (ctx) => ctx.state.master?.instance,
  // Typing the cluster's name approves the failover; a fence done by hand is confirmed with the master's own name.
  confirmName: (ctx) => (ctx.state.fence?.kind === 'by-hand' ? masterOf(ctx).instance.name : ctx.run.cluster),
  describe: (ctx) => {
    const fence = need(ctx.state.fence, 'the fence');
    return [fence.plan, `Inventory.setTags(${masterOf(ctx).instance.id}, { ${FENCED_TAG}: ${ctx.run.id} })`];
  },
  async run(ctx, signal) {
    const fence = need(ctx.state.fence, 'the fence');
    const master = masterOf(ctx).instance;
    switch (fence.kind) {
      case 'stop':
        // Forced: a hung host never finishes a clean shutdown, and the step's budget is minutes.
        await need(ctx.backends.compute, 'the compute API').stop(master.id, { signal, force: true });
        ctx.output('stdout', `${master.name}: stopped\n`);
        break;
      case 'isolate': {
        const res = await need(ctx.backends.compute, 'the compute API').isolate(master.id, fence.securityGroup, { signal });
        // The groups it had, journaled: putting them back is by hand.
        if (res.changed) ctx.fact({ groupsBefore: res.before.map((i) => `${i.interfaceId}: ${i.groups.join(' ')}`).join('; ') });
        ctx.output('stdout', `${master.name}: isolated in ${fence.securityGroup}; connections already open to it may survive until they close\n`);
        break;
      }
      case 'command': {
        const res = await ctx.backends.shell.exec(master, fence.command, { signal, timeoutMs: 240_000, onStdout: (c) => ctx.output('stdout', c), onStderr: (c) => ctx.output('stderr', c) });
        if (res.code !== 0) throw new StepFailed(`${master.name}: the fence command exited ${res.code}: ${oneLine(res.stderr || res.stdout || '(no output)')}`);
        break;
      }
      case 'by-hand':
        ctx.output('stdout', `${master.name}: fenced by the operator (confirmed by typing its name)\n`);
        break;
    }
    // Where tags exist: marks the instance so no one starts it again unawares.
    try {
      await ctx.backends.inventory.setTags(master.id, { [FENCED_TAG]: ctx.run.id }, { signal });
    } catch (err) {
      ctx.output('stderr', `${master.name}: could not tag ${FENCED_TAG}: ${(err as Error).message}\n`);
    }
  },
  async isDone(ctx, signal) {
    const fence = need(ctx.state.fence, 'the fence');
    if ((fence.kind !== 'stop' && fence.kind !== 'isolate') || !ctx.backends.compute) return false;
    // Stopping is not fenced yet (it may still answer): the step runs again and waits for stopped.
    const sg = fence.kind === 'isolate' ? { securityGroupId: fence.securityGroup } : {};
    if ((await ctx.backends.compute.fenceState(masterOf(ctx).instance.id, { signal, ...sg })).state !== 'fenced') return false;
    // Fenced but not yet tagged (killed between the two): run again; a second stop or isolate is a no-op.
    const found = await ctx.backends.inventory.discover({ signal });
    return found.instances.find((i) => i.id === masterOf(ctx).instance.id)?.tags[FENCED_TAG] === ctx.run.id;
  },
  verifyWithinMs: 60_000,
  async verify(ctx, signal) {
    const fence = need(ctx.state.fence, 'the fence');
    const master = masterOf(ctx).instance;
    if (fence.kind === 'stop') {
      const found = await ctx.backends.inventory.discover({ signal });
      const state = found.instances.find((i) => i.id === master.id)?.state ?? 'gone';
      return ['stopped', 'terminated', 'gone'].includes(state) ? { ok: true, detail: `${master.name} is ${state}` } : { ok: false, reason: `${master.name} is ${state}` };
    }
    try {
      await probe(ctx, master, signal);
      return { ok: false, reason: `${master.name} answers MySQL after the fence` };
    } catch {
      return { ok: true, detail: `${master.name} answers no MySQL` };
    }
  },
};

const relayStep: FailoverStep = {
  id: 'relay-logs',
  title: 'stop the IO threads; each replica applies what it received',
  danger: 'caution',
  mutates: true,
  describe: (ctx) =>
    ctx.state.replicas.flatMap((r) => {
      const t = target(ctx, r);
      const wait = r.flavour === 'mariadb' ? `MASTER_GTID_WAIT('<its Gtid_IO_Pos>', ${ctx.params.relayWaitSeconds})` : `WAIT_FOR_EXECUTED_GTID_SET('<its Retrieved_Gtid_Set>', ${ctx.params.relayWaitSeconds})`;
      return [`${r.instance.name}: ${stopIoThreadSql(t)} (the SQL thread goes on applying)`, `${r.instance.name}: SELECT ${wait}`];
    }),
  async run(ctx, signal) {
    const total = ctx.state.replicas.length;
    let done = 0;
    ctx.progress({ done, total, unit: 'items', message: `applying relay logs on ${total} replicas` });
    await Promise.all(
      ctx.state.replicas.map(async (r) => {
        const t = target(ctx, r);
        await stopIoThread(ctx.backends.shell, t, { signal });
        const received = (await probe(ctx, r.instance, signal)).replica?.gtidRetrieved ?? '';
        if (received !== '') {
          const res = await waitForGtid(ctx.backends.shell, t, received, ctx.params.relayWaitSeconds, { signal, clock: ctx.backends.clock });
          if (!res.reached) throw new StepFailed(`${r.instance.name} did not apply its relay log (up to ${received}) within ${res.timedOutAfterSeconds} s: its SQL thread may be stopped or slow; look at SHOW SLAVE STATUS there`);
        }
        const applied = (await probe(ctx, r.instance, signal)).gtidExecuted;
        ctx.state.applied[r.instance.id] = applied;
        ctx.output('stdout', `${r.instance.name}: relay log applied; executed ${applied || '(empty set)'}\n`);
        ctx.progress({ done: ++done, total, unit: 'items', message: `${done} of ${total} replicas applied their relay logs` });
      }),
    );
  },
  async isDone(ctx, signal) {
    // Done when every IO thread is stopped and every replica executed all it received.
    const applied: Record<string, string> = {};
    for (const r of ctx.state.replicas) {
      const f = await probe(ctx, r.instance, signal);
      if (!f.replica || f.replica.ioThread === 'Yes' || f.replica.ioThread === 'Connecting') return false;
      try {
        const received = parseGtidSet(f.flavour, f.replica.gtidRetrieved ?? '');
        if (!isGtidSubset(received, parseGtidSet(f.flavour, f.gtidExecuted))) return false;
      } catch {
        return false;
      }
      applied[r.instance.id] = f.gtidExecuted;
    }
    ctx.state.applied = applied;
    return true;
  },
};

const chooseStep: FailoverStep = {
  id: 'choose',
  title: 'choose the most advanced replica',
  danger: 'read',
  mutates: false,
  describe: (ctx) => [
    `compare the executed sets of ${ctx.state.replicas.map((r) => r.instance.name).join(', ')}; the new master must have every transaction any of them has${ctx.params.candidate !== undefined ? ` (the operator picked ${ctx.params.candidate})` : ''}`,
  ],
  async run(ctx, signal) {
    ctx.scratch.delete('view');
    const view = await clusterView(ctx, signal);
    const replicas: FailoverReplica[] = [];
    for (const r of ctx.state.replicas) {
      const node = view.nodes.find((n) => n.instance.id === r.instance.id);
      const executed = ctx.state.applied[r.instance.id];
      if (node && executed !== undefined) replicas.push({ node, executed });
    }
    const picked = chooseFailover(view, replicas, ctx.params.candidate !== undefined ? { pick: ctx.params.candidate, fleet: await fleetViews(ctx, signal) } : {});
    for (const row of picked.ranked) ctx.output('stdout', `  ${row.name}: ${row.gtidExecuted || '(empty)'}${row.excluded.length > 0 ? ` — excluded: ${row.excluded.join('; ')}` : ''}\n`);
    if (!picked.ok) throw new StepFailed(picked.reason);
    const cand = ctx.state.replicas.find((r) => r.instance.id === picked.chosen.id)!;
    const changed = ctx.state.candidate?.instance.id !== cand.instance.id;
    ctx.state.candidate = cand;
    ctx.state.others = ctx.state.replicas.filter((r) => r !== cand);
    const w = ctx.state.writer;
    if (w) w.after = writerValues(w.ref.type, w.before?.values ?? [], masterOf(ctx).instance, cand.instance);
    ctx.fact({ candidate: cand.instance.name });
    ctx.output('stdout', `${cand.instance.name} has every transaction any replica has${changed ? ' (not the one the plan expected: the relay logs settled it)' : ''}\n`);
  },
};

const promoteStep: FailoverStep = {
  id: 'promote',
  title: 'promote the new master',
  danger: 'caution',
  mutates: true,
  timeoutMs: 15_000,
  node: (ctx) => ctx.state.candidate?.instance,
  describe: (ctx) => [describeOp(target(ctx, candidateOf(ctx)), { kind: 'promote' }, 15_000)],
  async run(ctx, signal) {
    await promote(ctx.backends.shell, target(ctx, candidateOf(ctx)), { signal, timeoutMs: 15_000 });
    ctx.fact({ writableAfterMs: ctx.backends.clock.now() - ctx.run.startedAtMs });
    ctx.output('stdout', `${candidateOf(ctx).instance.name}: writable, not a replica\n`);
  },
  async isDone(ctx, signal) {
    return isWritableMaster(await probe(ctx, candidateOf(ctx).instance, signal));
  },
};

const repointStep: FailoverStep = {
  id: 'repoint',
  title: 'the other replicas replicate from the new master',
  danger: 'caution',
  mutates: true,
  timeoutMs: 60_000,
  retry: { attempts: 2, backoffMs: 2_000 },
  describe: (ctx) =>
    ctx.state.others.length === 0
      ? ['no other replica answers: nothing to repoint']
      : ctx.state.others.map((o) => describeRepoint(target(ctx, o), specTo(ctx, candidateOf(ctx).instance, o))),
  async run(ctx, signal) {
    for (const o of ctx.state.others) {
      if (replicatesFrom(await probe(ctx, o.instance, signal), candidateOf(ctx).instance)) continue;
      await repoint(ctx.backends.shell, target(ctx, o), specTo(ctx, candidateOf(ctx).instance, o), { signal, timeoutMs: 20_000 });
      ctx.output('stdout', `${o.instance.name} now replicates from ${candidateOf(ctx).instance.name}\n`);
    }
  },
  async isDone(ctx, signal) {
    for (const o of ctx.state.others) if (!replicatesFrom(await probe(ctx, o.instance, signal), candidateOf(ctx).instance)) return false;
    return true;
  },
  verifyWithinMs: 30_000,
  async verify(ctx, signal) {
    const bad: string[] = [];
    for (const o of ctx.state.others) {
      const f = await probe(ctx, o.instance, signal);
      const r = f.replica;
      if (!r || !replicatesFrom(f, candidateOf(ctx).instance)) bad.push(`${o.instance.name} replicates from ${r ? `${r.sourceHost}:${r.sourcePort}` : 'no one'}`);
      else if (r.ioThread !== 'Yes' || r.sqlThread !== 'Yes') {
        const err = r.lastIoError ?? r.lastSqlError;
        bad.push(`${o.instance.name}: IO thread ${r.ioThread}, SQL thread ${r.sqlThread}${err ? ` (error ${err.code}: ${err.message})` : ''}`);
      }
    }
    return bad.length > 0 ? { ok: false, reason: bad.join('; ') } : { ok: true, detail: `${ctx.state.others.length} replica(s) replicating from ${candidateOf(ctx).instance.name}` };
  },
};

const redundancyStep: FailoverStep = {
  id: 'redundancy',
  title: 'redundancy left',
  danger: 'read',
  mutates: false,
  describe: (ctx) => [`count the replicas of ${runLabel(ctx.run)} against ${settingsKey(ctx.run)}.targetReplicas`],
  async run(ctx) {
    const have = ctx.state.others.length;
    const cluster = runCluster(ctx.run);
    const own = (ctx.backends as { targetReplicas?: (cluster: ScopedName) => number | undefined }).targetReplicas?.(cluster);
    const want = clusterSettings(ctx.config, cluster)?.targetReplicas ?? own ?? ctx.state.replicas.length;
    const line =
      have >= want
        ? `${runLabel(ctx.run)} has ${have} replica${have === 1 ? '' : 's'} (target ${want})`
        : `${runLabel(ctx.run)} has ${have} replica${have === 1 ? '' : 's'}, ${want - have} fewer than its target of ${want}: build ${want - have === 1 ? 'one' : 'them'} back: nightshift run rebuild ${clusterFlags(ctx.run)} (or the runbook picker) — ${masterOf(ctx).instance.name} stays fenced (tag ${FENCED_TAG}=${ctx.run.id})`;
    ctx.fact({ replicas: have, targetReplicas: want });
    ctx.output('stdout', `${line}\n`);
  },
};

// ---------------------------------------------------------------- the runbook

export const failoverRunbook = defineRunbook<FailoverParams, FailoverState>({
  name: 'failover',
  title: 'MySQL master failover',
  summary: 'The master is dead: fence it, let every replica apply its relay log, promote the most advanced one, repoint the others, move the writer record and tags, verify with a heartbeat.',
  params: failoverParams as unknown as z.ZodType<FailoverParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ others: [], replicas: [], applied: {} }),
  preflight: () => [
    mysqlClusterCheck,
    {
      id: 'master-dead',
      title: 'the master is dead, not just out of reach: no MySQL from here, and no replica connected to it',
      async run(ctx, signal) {
        const v = await verdict(ctx, signal);
        if (v.refusal) return { ok: false, reason: v.refusal };
        const ssh = await sshAnswers(ctx, v.master!, signal);
        return { ok: true, detail: `${v.detail}; SSH to ${v.master!.instance.name}: ${ssh ? 'answers' : 'no answer'}` };
      },
    },
    {
      id: 'candidate',
      title: 'a replica may be promoted',
      async run(ctx, signal) {
        const v = await verdict(ctx, signal);
        if (v.refusal) return { ok: false, reason: v.refusal };
        const r = await preview(ctx, v, signal);
        if (!r.ok) return { ok: false, reason: r.reason };
        const skipped = r.ranked.filter((row) => row.excluded.length > 0).map((row) => `${row.name} (${row.excluded.join('; ')})`);
        return {
          ok: true,
          detail: `${r.chosen.name} by what the replicas have received now (settled once their relay logs are applied)${skipped.length > 0 ? `; not eligible: ${skipped.join(', ')}` : ''}`,
        };
      },
    },
    credentialsCheck,
  ],
  async prepare(ctx, signal) {
    const v = await verdict(ctx, signal);
    if (v.refusal) throw new StepFailed(v.refusal);
    const master = v.master!;
    const r = await preview(ctx, v, signal);
    if (!r.ok) throw new StepFailed(r.reason);
    ctx.state.master = { instance: master.instance, flavour: mysqlOf(v.replicas[0]!)!.flavour, version: mysqlOf(v.replicas[0]!)!.version };
    ctx.state.replicas = v.replicas.map(member);
    const cand = ctx.state.replicas.find((m) => m.instance.id === r.chosen.id)!;
    ctx.state.candidate = cand;
    ctx.state.others = ctx.state.replicas.filter((m) => m !== cand);
    const rep = mysqlOf(v.replicas[0]!)!.replica!;
    ctx.state.sourceHost = rep.sourceHost;
    ctx.state.port = rep.sourcePort;
    ctx.state.fence = fencePlan(ctx, master, await sshAnswers(ctx, master, signal));
    const ref = writerRef(ctx);
    if (ref) {
      const before = ctx.backends.dns ? ((await ctx.backends.dns.getRecord(ref.zoneId, ref.name, ref.type, { signal })) ?? null) : null;
      ctx.state.writer = { ref, before, after: writerValues(ref.type, before?.values ?? [], master.instance, cand.instance) };
    }
  },
  plan: (ctx) => [
    fenceStep,
    relayStep,
    chooseStep,
    promoteStep,
    repointStep,
    dnsStep(ctx.state.writer !== undefined) as unknown as FailoverStep,
    tagsStep('fenced') as unknown as FailoverStep,
    verifyStep(ctx.params.verifySeconds * 1000, (c) => c.state.others) as unknown as FailoverStep,
    redundancyStep,
  ],
});

/** The choice as the replicas stand now: executed plus what they received and will apply. */
async function preview(ctx: Ctx, v: Verdict, signal: AbortSignal) {
  const replicas = v.replicas.map((node): FailoverReplica => {
    const f = mysqlOf(node)!;
    let executed = f.gtidExecuted;
    try {
      if (f.replica?.gtidRetrieved) executed = formatGtidSet(gtidUnion(parseGtidSet(f.flavour, f.gtidExecuted), parseGtidSet(f.flavour, f.replica.gtidRetrieved)));
    } catch {
      executed = f.gtidExecuted;
    }
    return { node, executed };
  });
  return chooseFailover(v.view, replicas, ctx.params.candidate !== undefined ? { pick: ctx.params.candidate, fleet: await fleetViews(ctx, signal) } : {});
}
