// rotate (Auto Scaling group): replace a group's instances one at a time,
// engine-aware, with a checkpoint after each. AWS's instance refresh looks at
// EC2 health alone; this waits for what the engine says: a Cassandra
// replacement UN in every node's view, a MySQL replacement rebuilt from a
// replica's backup and caught up. RUNBOOKS.md, issue 14.

import * as z from 'zod';
import { CLUSTER_PARAMS } from '../engine/cluster-params.js';
import { clusterFlags, clusterOfRun, findRunCluster, refMembers, runLabel, runMembers } from './cluster-of.js';
import { nodetoolCommand } from '../../backends/engines/cassandra.js';
import { clientsOf } from '../../backends/engines/clients.js';
import { DATADIR_TAG } from '../../backends/inventory/static-inventory.js';
import { ROTATION_SUSPENDS, type Discovery, type Scaling } from '../../backends/ports.js';
import { lagOf } from '../../domain/health.js';
import { cleanForTerminal } from '../../domain/terminal-text.js';
import { SPARE_TAG, type ClusterRef, type EngineKind, type Instance, type ScalingGroup } from '../../domain/types.js';
import { StepFailed } from '../engine/timing.js';
import { defineRunbook, type Check, type RunContext, type Step, type StepContext } from '../engine/types.js';
import { waitFor, waitForSsh } from '../engine/wait.js';
import { clusterTag, COPY_PARAMS, copySteps, prepareSource, targetCheckStep, type RebuildParams, type RebuildState, type RebuildStep } from './rebuild.js';
import { clusterView, credentialsCheck, isWritableMaster, mysqlOf, need, type MasterChangeState } from './master-change.js';
import { ringProblems } from './ring.js';
import { lagOrUnknown } from '../../domain/lag-text.js';

export const rotateParams = z
  .object({
    ...CLUSTER_PARAMS,
    /** `oldest`: every instance on an older launch template version, oldest launch first; or NODE,NODE… in that order. */
    order: z.string().min(1).default('oldest'),
    /** No operator checkpoint between instances. */
    noPause: z.boolean().default(false),
    /** How long a replacement may take to be InService, pass its status checks and answer over SSH. */
    replacementMinutes: z.number().positive().default(30),
    /** How long a Cassandra replacement may take to be UN in every node's view. */
    joinMinutes: z.number().positive().default(60),
    /** MySQL: the most a replica may lag, before the start and as a backup source. */
    lagLimitSeconds: z.number().positive().default(60),
    /** MySQL: how the replacement is rebuilt (rebuild's --via, catch-up and copy limits). */
    ...COPY_PARAMS,
  })
  .strict();

export type RotateParams = z.output<typeof rotateParams>;

export interface Outgoing {
  id: string;
  name: string;
  /** Its address, which its peers' views keep naming after it is gone. */
  privateIp?: string;
  launchTime: string;
  /** Its launch template version when the run started. */
  version?: string;
  /** The instance the group launched in its place, once seen. */
  replacement?: Instance;
  /** MySQL: the rebuild of the replacement, once its source is chosen. */
  rebuild?: RebuildState;
}

export interface RotateState {
  engine?: EngineKind;
  group: string;
  /** The group's launch template version when the run started. */
  groupVersion?: string;
  /** The group's members when the run started: a replacement is a member not among them nor an earlier replacement. */
  startMembers: string[];
  /** The processes this run suspended (not those suspended before it): only these are resumed. */
  suspendedByRun: string[];
  nodes: Outgoing[];
  /** The master left out of the order (MySQL), for the plan. */
  masterLeftOut?: string;
}

type Ctx = RunContext<RotateParams, RotateState>;
type SCtx = StepContext<RotateParams, RotateState>;
type RotateStep = Step<RotateParams, RotateState>;

const LEAVING = /^Terminat/;
const oneLine = (s: string) => cleanForTerminal(s.replace(/\s+/g, ' ').trim()).slice(0, 240);
const asMc = (ctx: Ctx) => ctx as unknown as RunContext<unknown, MasterChangeState>;
const scalingOf = (ctx: Ctx): Scaling => need(ctx.backends.scaling, 'the Auto Scaling API');
const outOf = (ctx: Ctx, i: number): Outgoing => need(ctx.state.nodes[i], `instance ${i + 1} of the rotation`);
const replacementOf = (ctx: Ctx, i: number): Instance => need(outOf(ctx, i).replacement, `the replacement of ${outOf(ctx, i).name}`);
const spareValue = (ctx: Ctx) => `rotate ${ctx.run.id}`;

async function discover(ctx: Ctx, signal: AbortSignal, fresh = false): Promise<Discovery> {
  const cached = ctx.scratch.get('discovery') as Discovery | undefined;
  if (cached && !fresh) return cached;
  const found = await ctx.backends.inventory.discover({ signal });
  ctx.scratch.set('discovery', found);
  return found;
}

/** The cluster's group: the one its discovery names, else the one all its members carry. */
function groupName(found: Discovery, ref: ClusterRef): string | undefined {
  if (ref.asg) return ref.asg;
  const groups = new Set(refMembers(found, ref).map((m) => m.asg));
  const [only] = groups;
  return groups.size === 1 ? only : undefined;
}

async function readGroup(ctx: Ctx, signal: AbortSignal): Promise<ScalingGroup> {
  const g = await scalingOf(ctx).getGroup(ctx.state.group, { signal });
  if (!g) throw new StepFailed(`Auto Scaling group ${ctx.state.group} no longer exists`);
  return g;
}

/** Why the group cannot lose one instance now, or undefined: only one out at a time, never below its minimum. */
function roomProblem(g: ScalingGroup, leaving?: string): string | undefined {
  const out = g.members.filter((m) => m.instanceId !== leaving && (m.lifecycle !== 'InService' || m.health !== 'Healthy'));
  if (out.length > 0) {
    return `${out.map((m) => `${m.instanceId} is ${m.lifecycle}${m.health === 'Unhealthy' ? ', Unhealthy' : ''}`).join('; ')}: only one instance may be out at a time`;
  }
  const healthy = g.members.filter((m) => m.lifecycle === 'InService' && m.health === 'Healthy').length;
  if (healthy < g.min + 1) {
    return `${g.name} has ${healthy} healthy instances and a minimum of ${g.min}: no room to take one out safely (raise its desired capacity by one, or lower its minimum, first)`;
  }
  if (healthy < g.desired) return `${g.name} has ${healthy} healthy instances of ${g.desired} desired: one is already missing`;
  return undefined;
}

// ---------------------------------------------------------------- choosing the instances

interface Choice {
  nodes: Outgoing[];
  masterLeftOut?: string;
  refusal?: string;
}

/** The instances to rotate, in order. MySQL: never the master. */
async function choose(ctx: Ctx, signal: AbortSignal): Promise<Choice> {
  const found = await discover(ctx, signal);
  const members = runMembers(found, ctx.run);
  const g = ctx.scratch.get('group') as ScalingGroup;
  const versions = new Map(g.members.map((m) => [m.instanceId, m.launchTemplateVersion]));
  const now = Number(g.launchTemplate?.version);
  const ref = need(findRunCluster(found, ctx.run), `cluster ${runLabel(ctx.run)}`);
  const master = ref.engine === 'mysql' ? await mysqlMaster(ctx, signal) : undefined;
  const asOut = (m: Instance): Outgoing => ({ id: m.id, name: m.name, privateIp: m.privateIp, launchTime: m.launchTime, ...(versions.get(m.id) ? { version: versions.get(m.id)! } : {}) });
  const inGroup = members.filter((m) => versions.has(m.id));
  let picked: Instance[];
  let masterLeftOut: string | undefined;
  if (ctx.params.order === 'oldest') {
    const stale = inGroup.filter((m) => Number.isInteger(now) && /^\d+$/.test(versions.get(m.id) ?? '') && Number(versions.get(m.id)) < now);
    if (stale.length === 0) {
      return { nodes: [], refusal: `every instance of ${g.name} runs launch template v${g.launchTemplate?.version ?? '?'} already: nothing is stale; name instances with --order NODE,NODE to rotate them anyway` };
    }
    picked = stale.sort((a, b) => a.launchTime.localeCompare(b.launchTime) || a.name.localeCompare(b.name));
    if (master && picked.some((m) => m.id === master.id)) {
      masterLeftOut = master.name;
      picked = picked.filter((m) => m.id !== master.id);
      if (picked.length === 0) return { nodes: [], masterLeftOut, refusal: masterAdvice(ctx, master.name) };
    }
  } else {
    picked = [];
    for (const word of ctx.params.order.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = members.find((x) => x.name === word || x.id === word);
      if (!m) return { nodes: [], refusal: `--order ${word}: no such member of ${runLabel(ctx.run)} (members: ${members.map((x) => x.name).join(', ')})` };
      if (!versions.has(m.id)) return { nodes: [], refusal: `--order ${word}: ${m.name} is not an instance of ${g.name}` };
      if (picked.includes(m)) return { nodes: [], refusal: `--order names ${m.name} twice` };
      if (master && m.id === master.id) return { nodes: [], refusal: masterAdvice(ctx, m.name) };
      picked.push(m);
    }
    if (picked.length === 0) return { nodes: [], refusal: '--order names no instance' };
  }
  return { nodes: picked.map(asOut), ...(masterLeftOut ? { masterLeftOut } : {}) };
}

function masterAdvice(ctx: Ctx, name: string): string {
  return `${name} is the master of ${runLabel(ctx.run)}: a master is never terminated by a rotation; rotate the replicas first, switch over to one of them (nightshift run switchover ${clusterFlags(ctx.run)}), then rotate ${name}`;
}

async function mysqlMaster(ctx: Ctx, signal: AbortSignal): Promise<Instance | undefined> {
  const view = await mysqlPicture(ctx, signal);
  return view.nodes.find((n) => mysqlOf(n) && isWritableMaster(mysqlOf(n)!))?.instance;
}

async function mysqlPicture(ctx: Ctx, signal: AbortSignal) {
  const cached = ctx.scratch.get('mysql') as Awaited<ReturnType<typeof clusterView>> | undefined;
  if (cached) return cached;
  const view = await clusterView(asMc(ctx), signal);
  ctx.scratch.set('mysql', view);
  return view;
}

/** Why the engine is not healthy enough to lose a node, or undefined. */
async function engineProblem(ctx: Ctx, engine: EngineKind, members: Instance[], signal: AbortSignal): Promise<string | undefined> {
  const notRunning = members.filter((m) => m.state !== 'running' || (m.statusChecks !== 'ok' && m.statusChecks !== 'unknown'));
  if (notRunning.length > 0) return notRunning.map((m) => `${m.name} is ${m.state}${m.state === 'running' ? `, status checks ${m.statusChecks}` : ''}`).join('; ');
  if (engine === 'cassandra') {
    const problems = await ringProblems(ctx, members, signal);
    return problems.length > 0 ? `${problems.join('; ')}: a ring that is not all UN would lose data availability when one more node goes` : undefined;
  }
  if (engine === 'mysql') {
    const view = await mysqlPicture(ctx, signal);
    const master = view.nodes.find((n) => mysqlOf(n) && isWritableMaster(mysqlOf(n)!));
    if (!master) return `${runLabel(ctx.run)} has no writable master answering (run failover first)`;
    const bad: string[] = [];
    for (const n of view.nodes) {
      if (n === master) continue;
      const f = mysqlOf(n);
      if (!f) bad.push(`${n.instance.name} does not answer MySQL (${oneLine(n.probeError ?? 'no answer')})`);
      else if (!f.replica || f.replica.ioThread !== 'Yes' || f.replica.sqlThread !== 'Yes') bad.push(`${n.instance.name} is not replicating (IO ${f.replica?.ioThread ?? '-'}, SQL ${f.replica?.sqlThread ?? '-'})`);
      else if ((lagOf(n.facts) ?? Infinity) > ctx.params.lagLimitSeconds) bad.push(`${n.instance.name} lags ${lagOrUnknown(lagOf(n.facts))} (limit ${ctx.params.lagLimitSeconds} s)`);
    }
    if (bad.length > 0) return bad.join('; ');
    const replicas = view.nodes.length - 1;
    if (replicas < 2) return `${runLabel(ctx.run)} has ${replicas} replica: a replacement is rebuilt from a backup of another replica, and there would be none left to take it from; rebuild a second replica first (nightshift run rebuild ${clusterFlags(ctx.run)})`;
  }
  return undefined;
}

// ---------------------------------------------------------------- steps

const suspendStep = (count: number): RotateStep => ({
  id: 'suspend',
  title: 'suspend the processes that fight a rotation',
  danger: 'caution',
  mutates: true,
  needs: ['scaling'],
  holds: 'the processes this run suspended on the group',
  describe: (ctx) => [
    `AutoScaling.SuspendProcesses(${ctx.state.group}, [${ROTATION_SUSPENDS.join(', ')}]) (those not suspended already; resumed at the end, on stop and on abort)`,
    `one answer for the whole rotation: ${count} instance${count === 1 ? '' : 's'} terminated one at a time (${ctx.state.nodes.map((n) => n.name).join(', ')}), each replacement waited for${ctx.params.noPause ? ', no pause between them (--no-pause)' : ', a checkpoint after each'}`,
  ],
  async run(ctx, signal) {
    const g = await readGroup(ctx, signal);
    // What someone suspended before us stays suspended after us.
    const todo = ROTATION_SUSPENDS.filter((p) => !g.suspended.includes(p));
    if (ctx.previous.count === 0 || ctx.state.suspendedByRun.length === 0) ctx.state.suspendedByRun = todo;
    ctx.fact({ suspended: ctx.state.suspendedByRun });
    if (todo.length > 0) await scalingOf(ctx).suspendProcesses(ctx.state.group, todo, { signal });
    ctx.output('stdout', `${ctx.state.group}: ${todo.length > 0 ? `suspended ${todo.join(', ')}` : 'nothing to suspend'}${g.suspended.length > 0 ? ` (already suspended before this run, left so: ${g.suspended.join(', ')})` : ''}\n`);
  },
  async isDone(ctx, signal) {
    const was = ctx.previous.facts.suspended;
    if (Array.isArray(was)) ctx.state.suspendedByRun = was.map(String);
    const g = await readGroup(ctx, signal);
    return ctx.state.suspendedByRun.length > 0 && ctx.state.suspendedByRun.every((p) => g.suspended.includes(p));
  },
  compensate: {
    describe: (ctx) => [`AutoScaling.ResumeProcesses(${ctx.state.group}, [${ctx.state.suspendedByRun.join(', ') || 'what this run suspended'}])`],
    async run(ctx, signal) {
      if (ctx.state.suspendedByRun.length > 0) await scalingOf(ctx).resumeProcesses(ctx.state.group, ctx.state.suspendedByRun, { signal });
    },
    async isDone(ctx, signal) {
      const g = await scalingOf(ctx).getGroup(ctx.state.group, { signal });
      return !g || !ctx.state.suspendedByRun.some((p) => g.suspended.includes(p));
    },
  },
});

const resumeStep: RotateStep = {
  id: 'resume-processes',
  title: 'resume the suspended processes',
  danger: 'read',
  mutates: true,
  needs: ['scaling'],
  describe: (ctx) => [`AutoScaling.ResumeProcesses(${ctx.state.group}, [${ctx.state.suspendedByRun.join(', ') || 'what this run suspended'}])`],
  retry: { attempts: 3, backoffMs: 5_000 },
  async run(ctx, signal) {
    if (ctx.state.suspendedByRun.length > 0) await scalingOf(ctx).resumeProcesses(ctx.state.group, ctx.state.suspendedByRun, { signal });
    ctx.output('stdout', `${ctx.state.group}: resumed ${ctx.state.suspendedByRun.join(', ') || 'nothing (this run suspended nothing)'}\n`);
  },
  async isDone(ctx, signal) {
    const g = await readGroup(ctx, signal);
    return !ctx.state.suspendedByRun.some((p) => g.suspended.includes(p));
  },
  async verify(ctx, signal) {
    const g = await readGroup(ctx, signal);
    const still = ctx.state.suspendedByRun.filter((p) => g.suspended.includes(p));
    if (still.length > 0) return { ok: false, reason: `${g.name} still has ${still.join(', ')} suspended` };
    const stale = g.members.filter((m) => !LEAVING.test(m.lifecycle) && /^\d+$/.test(m.launchTemplateVersion ?? '') && Number(m.launchTemplateVersion) < Number(g.launchTemplate?.version));
    return { ok: true, detail: `${g.name}: ${g.members.length} instances, desired ${g.desired}${stale.length > 0 ? `; ${stale.length} still on an older launch template version` : ''}${g.suspended.length > 0 ? `; suspended before this run and left so: ${g.suspended.join(', ')}` : ''}` };
  },
};

function drainStep(i: number, name: string): RotateStep {
  return {
    id: `drain:${name}`,
    title: 'nodetool drain',
    group: name,
    danger: 'read',
    mutates: true,
    timeoutMs: 15 * 60_000,
    node: (ctx) => instanceOf(ctx, i),
    describe: (ctx) => [`on ${name}: ${nodetoolCommand(clientsOf(ctx, instanceOf(ctx, i)).nodetool, 'drain')} (flushes memtables, stops accepting writes, so no hint or commit log is lost with the instance)`],
    async run(ctx, signal) {
      const node = await liveInstance(ctx, i, signal);
      const res = await ctx.backends.shell.exec(node, nodetoolCommand(clientsOf(ctx, node).nodetool, 'drain'), { signal, timeoutMs: 10 * 60_000 });
      // A second drain of a drained node finds nothing listening: the first one did its work.
      if (res.code !== 0 && !(ctx.previous.count > 0 && /connection refused|failed to connect/i.test(res.stderr))) {
        throw new StepFailed(`nodetool drain on ${name} exited ${res.code ?? res.signal}: ${oneLine(res.stderr || res.stdout) || 'no output'}`);
      }
      ctx.fact({ drained: true });
      ctx.output('stdout', `${name}: drained\n`);
    },
    async isDone(ctx) {
      return ctx.previous.facts.drained === true;
    },
  };
}

/** The outgoing node as last discovered, for the plan and a failure's ssh line (after a resume, as far as known). */
function instanceOf(ctx: Ctx, i: number): Instance {
  const found = ctx.scratch.get('discovery') as Discovery | undefined;
  const o = outOf(ctx, i);
  return found?.instances.find((x) => x.id === o.id) ?? ({ id: o.id, name: o.name, privateIp: o.privateIp ?? '', az: '', type: '', state: 'running', launchTime: o.launchTime, statusChecks: 'unknown', tags: {} } as Instance);
}

/** The outgoing node as discovery lists it now (its ssh endpoint, its tags): what a command is run on. */
async function liveInstance(ctx: Ctx, i: number, signal: AbortSignal): Promise<Instance> {
  const o = outOf(ctx, i);
  const inst = (await discover(ctx, signal)).instances.find((x) => x.id === o.id);
  if (!inst) throw new StepFailed(`${o.name} (${o.id}) is no longer listed: someone else terminated it; start a new run`);
  return inst;
}

function leaveStep(i: number, name: string): RotateStep {
  return {
    id: `leave:${name}`,
    title: 'leave the replication checks',
    group: name,
    danger: 'read',
    mutates: true,
    node: (ctx) => instanceOf(ctx, i),
    describe: (ctx) => [`Inventory.setTags(${outOf(ctx, i).id} (${name}), { ${SPARE_TAG}: "${spareValue(ctx)}" }): no longer a member, so its going raises no replication finding`],
    async run(ctx, signal) {
      await ctx.backends.inventory.setTags(outOf(ctx, i).id, { [SPARE_TAG]: spareValue(ctx) }, { signal });
    },
    async isDone(ctx, signal) {
      const found = await discover(ctx, signal, true);
      const inst = found.instances.find((x) => x.id === outOf(ctx, i).id);
      return !inst || inst.tags[SPARE_TAG] === spareValue(ctx);
    },
    compensate: {
      describe: (ctx) => [`Inventory.deleteTags(${outOf(ctx, i).id} (${name}), [${SPARE_TAG}]) if it still runs`],
      async run(ctx, signal) {
        const found = await ctx.backends.inventory.discover({ signal });
        const inst = found.instances.find((x) => x.id === outOf(ctx, i).id);
        if (inst && inst.state === 'running') await ctx.backends.inventory.deleteTags(inst.id, [SPARE_TAG], { signal });
      },
    },
  };
}

function terminateStep(i: number, name: string): RotateStep {
  return {
    id: `terminate:${name}`,
    title: 'terminate in the group (desired capacity kept)',
    group: name,
    danger: 'caution',
    mutates: true,
    needs: ['scaling'],
    node: (ctx) => instanceOf(ctx, i),
    describe: (ctx) => [
      `AutoScaling.DescribeAutoScalingGroups(${ctx.state.group}): every other instance InService and Healthy, none below the minimum`,
      `AutoScaling.TerminateInstanceInAutoScalingGroup(${outOf(ctx, i).id} (${name}), ShouldDecrementDesiredCapacity=false): the group launches a replacement`,
    ],
    pauseOnFailure: 'nothing was terminated; resume checks the group again',
    async run(ctx, signal) {
      const o = outOf(ctx, i);
      const g = await readGroup(ctx, signal);
      const me = g.members.find((m) => m.instanceId === o.id);
      if (!me) throw new StepFailed(`${name} (${o.id}) is no longer in ${g.name}: someone else terminated it; start a new run`);
      const problem = roomProblem(g, o.id);
      if (problem) throw new StepFailed(`not terminating ${name}: ${problem}`);
      await scalingOf(ctx).terminateInGroup(o.id, { signal });
      ctx.output('stdout', `${name} (${o.id}): terminating; ${g.name} keeps desired capacity ${g.desired}\n`);
    },
    async isDone(ctx, signal) {
      const g = await readGroup(ctx, signal);
      const me = g.members.find((m) => m.instanceId === outOf(ctx, i).id);
      return !me || LEAVING.test(me.lifecycle);
    },
  };
}

/** Members that are neither where the run started nor an earlier replacement. */
function freshMembers(ctx: Ctx, g: ScalingGroup, i: number) {
  const known = new Set([...ctx.state.startMembers, ...ctx.state.nodes.slice(0, i).map((n) => n.replacement?.id).filter((x): x is string => x !== undefined)]);
  return g.members.filter((m) => !known.has(m.instanceId));
}

function replacementStep(i: number, name: string): RotateStep {
  return {
    id: `replacement:${name}`,
    title: `wait for ${name}'s replacement`,
    group: name,
    danger: 'read',
    mutates: true,
    needs: ['scaling', 'compute'],
    node: (ctx) => outOf(ctx, i).replacement,
    describe: (ctx) => [
      `AutoScaling.DescribeAutoScalingGroups(${ctx.state.group}) every 10 s: a new instance, InService and Healthy`,
      ...(ctx.state.engine === 'mysql' ? [`as soon as it appears: Inventory.setTags(it, { ${SPARE_TAG}: "${spareValue(ctx)}", ${clusterTag(ctx)}: ${ctx.run.cluster} }) — an empty server is no member until it is rebuilt`] : []),
      'EC2 status checks ok; `true` over SSH',
      `at most ${ctx.params.replacementMinutes} min; then retry, pause or abort — the next instance is not touched`,
    ],
    pauseOnFailure: 'the replacement may still come up; resume waits for it again, and nothing more is terminated meanwhile',
    async run(ctx, signal) {
      const scaling = scalingOf(ctx);
      const compute = need(ctx.backends.compute, 'the compute API');
      let tagged = '';
      const id = await waitFor({
        clock: ctx.backends.clock,
        signal,
        what: `a replacement for ${name} InService in ${ctx.state.group}`,
        timeoutMs: ctx.params.replacementMinutes * 60_000,
        intervalMs: 10_000,
        onProgress: (p) => ctx.progress(p),
        check: async (s) => {
          const g = await scaling.getGroup(ctx.state.group, { signal: s });
          const fresh = g ? freshMembers(ctx, g, i) : [];
          // Tag it the moment it exists: an empty, writable MySQL server must never count as a member.
          if (ctx.state.engine === 'mysql') {
            for (const f of fresh) {
              if (f.instanceId === tagged) continue;
              await ctx.backends.inventory.setTags(f.instanceId, { [SPARE_TAG]: spareValue(ctx), [clusterTag(ctx)]: ctx.run.cluster }, { signal: s });
              tagged = f.instanceId;
            }
          }
          const ready = fresh.find((m) => m.lifecycle === 'InService' && m.health === 'Healthy');
          if (ready) return { done: true, value: ready.instanceId };
          return { done: false, progress: { message: fresh.length === 0 ? `no replacement launched yet in ${ctx.state.group}` : fresh.map((m) => `${m.instanceId} ${m.lifecycle}`).join(', ') } };
        },
      });
      ctx.fact({ replacement: id });
      await compute.waitReady(id, { signal, onProgress: (status) => ctx.progress({ message: `${id}: ${status}` }) });
      const inst = (await discover(ctx, signal, true)).instances.find((x) => x.id === id);
      if (!inst) throw new StepFailed(`${id} is InService in ${ctx.state.group} but discovery does not list it yet`);
      outOf(ctx, i).replacement = inst;
      await waitForSsh(ctx.backends, inst, signal);
      ctx.output('stdout', `${inst.name} (${inst.id}, ${inst.az}): InService, status checks ok, SSH answers\n`);
    },
    async isDone() {
      // Waiting again costs one look at the group: the replacement is found by what is new in it.
      return false;
    },
  };
}

function ringStep(i: number, name: string): RotateStep {
  return {
    id: `ring:${name}`,
    title: `${name}'s replacement UN everywhere`,
    group: name,
    danger: 'read',
    mutates: false,
    describe: (ctx) => [
      `on every member of ${runLabel(ctx.run)}: ${nodetoolCommand('nodetool', 'status')} every 30 s, until every peer is UN and the replacement is among them`,
      `at most ${ctx.params.joinMinutes} min; then retry, pause or abort — the next instance is not touched`,
    ],
    pauseOnFailure: 'the replacement may still be streaming its data; resume waits again, and nothing more is terminated meanwhile',
    async run(ctx, signal) {
      const repl = replacementOf(ctx, i);
      const problems = await waitFor({
        clock: ctx.backends.clock,
        signal,
        what: `${repl.name} to be UN in every node's view`,
        timeoutMs: ctx.params.joinMinutes * 60_000,
        intervalMs: 30_000,
        onProgress: (p) => ctx.progress(p),
        check: async (s) => {
          const members = runMembers(await discover(ctx, s, true), ctx.run).filter((m) => m.state === 'running');
          const gone = ctx.state.nodes.filter((n) => n.privateIp !== undefined).map((n) => ({ name: n.name, privateIp: n.privateIp! }));
          const seen = await ringProblems(ctx, members, s, [repl], gone);
          return seen.length === 0 ? { done: true, value: members.length } : { done: false, progress: { message: oneLine(seen.join('; ')) } };
        },
      });
      ctx.output('stdout', `${repl.name}: UN in the view of all ${problems} members\n`);
    },
  };
}

/** Rebuild's parameters for the replacement of one node. */
function rebuildParamsOf(ctx: Ctx, i: number): RebuildParams {
  return {
    cluster: ctx.run.cluster,
    target: replacementOf(ctx, i).id,
    ...(ctx.params.via ? { via: ctx.params.via } : {}),
    sourceLagLimitSeconds: ctx.params.lagLimitSeconds,
    catchUpMinutes: ctx.params.catchUpMinutes,
    copyHours: ctx.params.copyHours,
  };
}

function rebuildPlanStep(i: number, name: string): RotateStep {
  return {
    id: `rebuild-plan:${name}`,
    title: 'choose the backup source',
    group: name,
    danger: 'read',
    mutates: false,
    describe: () => ['the master and its healthiest replica now (as `nightshift run rebuild` chooses), its datadir and size'],
    pauseOnFailure: 'a replica lagging now may catch up; resume chooses again',
    async run(ctx, signal) {
      const repl = replacementOf(ctx, i);
      const base = ctx.run.id.replace(/[^A-Za-z0-9-]/g, '-').slice(-44);
      const sub: RebuildState = { others: [], tok: `${base}-${i + 1}` };
      const subCtx = { ...ctx, params: rebuildParamsOf(ctx, i), state: sub, scratch: new Map() } as unknown as RunContext<RebuildParams, RebuildState>;
      const dd = await prepareSource(subCtx, signal);
      sub.target = repl;
      sub.targetDatadir = (ctx.backends.target.kind === 'inventory' ? repl.tags[DATADIR_TAG] : undefined) ?? dd.dir.replace(/\/+$/, '');
      sub.fresh = true;
      sub.targetHasData = true;
      outOf(ctx, i).rebuild = sub;
      ctx.output('stdout', `${repl.name} is rebuilt from ${sub.source!.instance.name} (${sub.via}), replicating from ${sub.master!.instance.name}\n`);
    },
  };
}

/** One of rebuild's steps, acting on the rebuild of node i's replacement. */
function embedded(inner: RebuildStep, i: number, name: string): RotateStep {
  const sub = <C extends Ctx>(ctx: C) => ({ ...ctx, params: rebuildParamsOf(ctx, i), state: need(outOf(ctx, i).rebuild, `the rebuild of ${name}'s replacement`) }) as unknown as C & RunContext<RebuildParams, RebuildState>;
  const known = (ctx: Ctx) => outOf(ctx, i).rebuild !== undefined;
  // The replacement's datadir holds the empty server its image made, or nothing at all.
  const isDatadir = inner.id === 'datadir';
  const out: RotateStep = {
    id: `${inner.id}:${name}`,
    title: inner.title.replace(/the target/g, 'the replacement').replace(/new replica/g, 'replacement'),
    group: name,
    danger: 'read',
    mutates: inner.mutates,
    ...(inner.needs ? { needs: inner.needs } : {}),
    ...(inner.timeoutMs !== undefined ? { timeoutMs: inner.timeoutMs } : {}),
    ...(inner.retry ? { retry: inner.retry } : {}),
    ...(inner.keepLines ? { keepLines: inner.keepLines } : {}),
    ...(inner.verifyWithinMs !== undefined ? { verifyWithinMs: inner.verifyWithinMs } : {}),
    ...(inner.cleanupGraceMs !== undefined ? { cleanupGraceMs: inner.cleanupGraceMs } : {}),
    node: (ctx) => (known(ctx) ? inner.node?.(sub(ctx)) : undefined),
    describe: (ctx) => (known(ctx) ? inner.describe(sub(ctx)) : [`as rebuild's "${inner.title}", on ${name}'s replacement once it is known`]),
    async run(ctx, signal) {
      const s = sub(ctx as SCtx);
      if (isDatadir && !s.state.targetHasData) {
        ctx.output('stdout', `${replacementOf(ctx, i).name}: the datadir is empty; nothing to move aside\n`);
        return;
      }
      await inner.run(s, signal);
    },
  };
  if (inner.isDone) out.isDone = async (ctx, signal) => known(ctx) && (isDatadir && !sub(ctx).state.targetHasData ? true : await inner.isDone!(sub(ctx), signal));
  if (inner.verify) out.verify = (ctx, signal) => inner.verify!(sub(ctx), signal);
  if (inner.compensate) {
    const c = inner.compensate;
    out.compensate = {
      describe: (ctx) => (known(ctx) ? c.describe(sub(ctx)) : []),
      run: async (ctx, signal) => {
        if (known(ctx)) await c.run(sub(ctx), signal);
      },
      ...(c.isDone ? { isDone: async (ctx: Ctx, signal: AbortSignal) => !known(ctx) || (await c.isDone!(sub(ctx), signal)) } : {}),
    };
  }
  return out;
}

function checkpointStep(done: number, total: number, next: string): RotateStep {
  return {
    id: `next:${next}`,
    title: `${done} of ${total} rotated; next: ${next}`,
    kind: 'checkpoint',
    danger: 'read',
    mutates: false,
    describe: () => [`next: ${next}; stop resumes the group's processes; pause keeps them`],
    run: async () => {},
  };
}

// ---------------------------------------------------------------- preflight

const checks: Check<RotateParams, RotateState>[] = [
  {
    id: 'group',
    title: 'the cluster is an Auto Scaling group with room for one out',
    async run(ctx, signal) {
      const found = await discover(ctx, signal);
      const of = clusterOfRun(found, ctx.run);
      if (!of.ok) return { ok: false, reason: of.reason };
      const name = groupName(found, of.ref);
      if (!name) return { ok: false, reason: `${runLabel(ctx.run)} is not backed by one Auto Scaling group (its members carry no aws:autoscaling:groupName, or several): rotate replaces instances through their group` };
      if (!ctx.backends.scaling) return { ok: false, reason: `this target has no Auto Scaling API (${ctx.backends.unavailable?.scaling ?? 'unavailable'})` };
      const g = await ctx.backends.scaling.getGroup(name, { signal });
      if (!g) return { ok: false, reason: `Auto Scaling group ${name} (of ${runLabel(ctx.run)}) was not found` };
      ctx.scratch.set('group', g);
      const blocked = ['Launch', 'Terminate'].filter((p) => g.suspended.includes(p));
      if (blocked.length > 0) return { ok: false, reason: `${name} has ${blocked.join(' and ')} suspended: a terminated instance would not be replaced; resume ${blocked.length > 1 ? 'them' : 'it'} first (aws autoscaling resume-processes --auto-scaling-group-name ${name} --scaling-processes ${blocked.join(' ')})` };
      const problem = roomProblem(g);
      if (problem) return { ok: false, reason: problem };
      return { ok: true, detail: `${name}: ${g.members.length} instances, min ${g.min}, desired ${g.desired}, max ${g.max}; launches ${g.launchTemplate ? `${g.launchTemplate.name} v${g.launchTemplate.version}${g.launchTemplate.asked ? ` (${g.launchTemplate.asked})` : ''}` : 'no launch template'}` };
    },
  },
  {
    id: 'engine',
    title: 'every member healthy for its engine',
    async run(ctx, signal) {
      const found = await discover(ctx, signal);
      const of = clusterOfRun(found, ctx.run);
      if (!of.ok) return { ok: false, reason: of.reason };
      const ref = of.ref;
      const members = runMembers(found, ctx.run);
      const problem = await engineProblem(ctx, ref.engine, members, signal);
      if (problem) return { ok: false, reason: problem };
      return { ok: true, detail: `${members.length} members: ${ref.engine === 'cassandra' ? 'every peer UN in every view' : ref.engine === 'mysql' ? `replicating, lag ≤ ${ctx.params.lagLimitSeconds} s` : 'running, status checks ok'}` };
    },
  },
  {
    id: 'order',
    title: 'the instances to rotate',
    async run(ctx, signal) {
      if (!ctx.scratch.get('group')) return { ok: false, reason: 'no group to choose from (see the group check)' };
      const c = await choose(ctx, signal);
      ctx.scratch.set('choice', c);
      if (c.refusal) return { ok: false, reason: c.refusal };
      return { ok: true, detail: `${c.nodes.map((n) => `${n.name}${n.version ? ` (v${n.version})` : ''}`).join(', ')}${c.masterLeftOut ? `; the master ${c.masterLeftOut} is left out: switch over, then rotate it` : ''}` };
    },
  },
  {
    id: 'replacement',
    title: 'what a replacement needs to be healthy',
    async run(ctx, signal) {
      const found = await discover(ctx, signal);
      const engine = findRunCluster(found, ctx.run)?.engine;
      if (engine === 'cassandra') return { ok: true, detail: 'Cassandra: it joins the ring as its image bootstraps it; waited for until UN in every view, no other peer down' };
      if (engine !== 'mysql') return { ok: true, detail: 'generic: InService, status checks ok, SSH answers' };
      const via = ctx.params.via ?? (ctx.backends.volumes ? 'ebs' : 'stream');
      if (via === 'ebs' && !ctx.backends.volumes) return { ok: false, reason: `--via ebs needs EBS volumes, which this target lacks: use --via stream` };
      if (via === 'stream' && !ctx.backends.shell.pipe) return { ok: false, reason: '--via stream needs a shell that relays between two nodes: use --via ebs' };
      const creds = await (credentialsCheck as unknown as Check<RotateParams, RotateState>).run(ctx, signal);
      return creds.ok ? { ok: true, detail: `replacements rebuilt by ${via}; ${creds.detail}` } : creds;
    },
  },
];

export const rotateRunbook = defineRunbook<RotateParams, RotateState>({
  name: 'rotate',
  title: 'Rotate an Auto Scaling group',
  summary: "Replace a group's instances one at a time (oldest launch template first): drain, terminate keeping desired capacity, wait until the replacement is healthy for its engine (Cassandra UN everywhere; MySQL rebuilt and caught up), checkpoint; the group's fighting processes suspended meanwhile.",
  params: rotateParams as unknown as z.ZodType<RotateParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ group: '', startMembers: [], suspendedByRun: [], nodes: [] }),
  preflight: () => checks,
  async prepare(ctx, signal) {
    const found = await discover(ctx, signal);
    const ref = need(findRunCluster(found, ctx.run), `cluster ${runLabel(ctx.run)}`);
    const g = need(ctx.scratch.get('group') as ScalingGroup | undefined, 'the group');
    const c = (ctx.scratch.get('choice') as Choice | undefined) ?? (await choose(ctx, signal));
    if (c.refusal) throw new StepFailed(c.refusal);
    ctx.state.engine = ref.engine;
    ctx.state.group = g.name;
    if (g.launchTemplate) ctx.state.groupVersion = g.launchTemplate.version;
    ctx.state.startMembers = g.members.map((m) => m.instanceId);
    ctx.state.nodes = c.nodes;
    if (c.masterLeftOut) ctx.state.masterLeftOut = c.masterLeftOut;
  },
  plan(ctx) {
    const { nodes, engine } = ctx.state;
    const steps: RotateStep[] = [suspendStep(nodes.length)];
    const replacementMs = ctx.params.replacementMinutes * 60_000 + 15 * 60_000;
    nodes.forEach((n, i) => {
      if (i > 0 && !ctx.params.noPause) steps.push(checkpointStep(i, nodes.length, n.name));
      if (engine === 'cassandra') steps.push(drainStep(i, n.name));
      if (engine === 'mysql') steps.push(leaveStep(i, n.name));
      const term = terminateStep(i, n.name);
      // The one question is asked at the start; a checkpoint (or --no-pause) answers for the rest.
      steps.push({ ...term, danger: 'read' }, { ...replacementStep(i, n.name), timeoutMs: replacementMs });
      if (engine === 'cassandra') steps.push(ringStep(i, n.name));
      if (engine === 'mysql') {
        steps.push(rebuildPlanStep(i, n.name));
        const via = ctx.params.via ?? (ctx.backends.volumes ? 'ebs' : 'stream');
        for (const s of [targetCheckStep, ...copySteps(ctx.params, via, 'caution')]) steps.push(embedded(s, i, n.name));
      }
    });
    steps.push(resumeStep);
    return steps;
  },
});
