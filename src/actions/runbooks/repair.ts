// repair (Cassandra): pick the node repaired longest ago (never repaired
// first), run `nodetool repair -pr` on it with its output streamed, and only
// after it finished cleanly tag it `last-repaired=<ISO-8601 UTC>`. RUNBOOKS.md.

import * as z from 'zod';
import { CLUSTER_PARAMS } from '../engine/cluster-params.js';
import { nodetoolCommand, REPAIR_FINISHED, REPAIR_SUBCOMMAND } from '../../backends/engines/cassandra.js';
import { clientsOf } from '../../backends/engines/clients.js';
import type { Discovery } from '../../backends/ports.js';
import { orderRepairNodes } from '../../domain/repair-choice.js';
import type { Instance } from '../../domain/types.js';
import { defineRunbook, type RunContext, type Step } from '../engine/types.js';
import { jobOutcome, runRemoteJob } from '../engine/remote-job.js';
import { StepFailed } from '../engine/timing.js';
import { clusterOfRun, runLabel, runMembers } from './cluster-of.js';
import { ringProblems } from './ring.js';

export const REPAIR_TAG = 'last-repaired';

export const repairParams = z
  .object({
    ...CLUSTER_PARAMS,
    /** Repair this node (name or instance id) instead of the least recently repaired one. */
    node: z.string().min(1).optional(),
    /** Repair every overdue or never-repaired node, least recently repaired first, one at a time. */
    allOverdue: z.boolean().default(false),
    /** How long one `nodetool repair -pr` may take before it is abandoned (fleet clock); default from engines.repairTimeoutMinutes. */
    timeoutMinutes: z.number().positive().optional(),
  })
  .strict()
  .refine((p) => !(p.allOverdue && p.node), { message: '--node and --all-overdue cannot go together: one names a node, the other chooses them all', path: ['allOverdue'] });

export type RepairParams = z.output<typeof repairParams>;

interface Chosen {
  instance: Instance;
  /** Why this node, in words, for the plan. */
  reason: string;
}

export interface RepairState {
  /** The nodes to repair, in order, chosen when the plan was made. One unless --all-overdue. */
  nodes: Chosen[];
  /** What each node's repair ended with and the tag written, by instance id. */
  results: Record<string, { exitCode: number | null; completed: boolean; completionLine?: string; tag?: string }>;
}

type Ctx = RunContext<RepairParams, RepairState>;
type RepairStep = Step<RepairParams, RepairState>;

const DISCOVERY = 'discovery';

/** Tag values at second precision, as EC2 consoles and the simulated fleet write them. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

async function discover(ctx: Ctx, signal: AbortSignal, fresh = false): Promise<Discovery> {
  const cached = ctx.scratch.get(DISCOVERY) as Discovery | undefined;
  if (cached && !fresh) return cached;
  const found = await ctx.backends.inventory.discover({ signal });
  ctx.scratch.set(DISCOVERY, found);
  return found;
}

/** The nodes this run repairs, in order: the operator's, the least recently repaired, or every overdue one. */
function choose(ctx: Ctx, members: Instance[]): Chosen[] {
  const { node, allOverdue } = ctx.params;
  const byId = new Map(members.map((m) => [m.id, m]));
  if (node) {
    const forced = members.find((m) => m.name === node || m.id === node);
    if (!forced) throw new StepFailed(`no node "${node}" in cluster ${runLabel(ctx.run)}: members are ${members.map((m) => m.name).join(', ')}`);
    return [{ instance: forced, reason: 'chosen by the operator' }];
  }
  const candidates = members.map((m) => ({ id: m.id, name: m.name, ...(m.tags[REPAIR_TAG] !== undefined ? { lastRepaired: m.tags[REPAIR_TAG] } : {}) }));
  const order = allOverdue
    ? orderRepairNodes(candidates, { now: ctx.backends.clock.now(), gcGraceSeconds: ctx.config.thresholds.gcGraceSeconds })
    : orderRepairNodes(candidates).slice(0, 1);
  if (order.length === 0) {
    throw new StepFailed(
      allOverdue
        ? `no node of ${runLabel(ctx.run)} is overdue: every one was repaired within gc_grace_seconds (${ctx.config.thresholds.gcGraceSeconds} s)`
        : `cluster ${runLabel(ctx.run)} has no members to repair`,
    );
  }
  return order.map((c) => ({ instance: byId.get(c.id)!, reason: c.reason }));
}

function nodeOf(ctx: Ctx, id: string): Instance {
  const node = ctx.state.nodes.find((n) => n.instance.id === id);
  if (!node) throw new Error(`repair: node ${id} is not in the plan`);
  return node.instance;
}

function nodetoolOn(ctx: Ctx, node: Instance): string {
  return nodetoolCommand(clientsOf(ctx, node).nodetool, REPAIR_SUBCOMMAND);
}

const pick = (allOverdue: boolean): RepairStep => ({
  id: 'pick',
  title: allOverdue ? 'pick the overdue nodes' : 'pick the node to repair',
  danger: 'read',
  mutates: false,
  describe: (ctx) => [
    `Inventory.discover() → the ${REPAIR_TAG} tag of every node of ${runLabel(ctx.run)}`,
    ctx.params.allOverdue
      ? `every node never repaired or repaired more than gc_grace_seconds ago, oldest first → ${ctx.state.nodes.map((n) => n.instance.name).join(', ') || '?'}`
      : `choose: a node without the tag first, else the oldest tag → ${ctx.state.nodes[0] ? `${ctx.state.nodes[0].instance.name} (${ctx.state.nodes[0].reason})` : '?'}`,
  ],
  async run(ctx, signal) {
    const members = runMembers(await discover(ctx, signal, true), ctx.run);
    const now = choose(ctx, members);
    const planned = ctx.state.nodes.map((n) => n.instance.name).join(', ');
    const found = now.map((n) => n.instance.name).join(', ');
    // The plan the operator read named the nodes; acting on others would betray it.
    if (planned !== found) {
      throw new StepFailed(`the choice changed since the plan was made (${planned} → ${found}); someone repaired meanwhile, so start the run again`);
    }
    for (const n of now) ctx.output('stdout', `chose ${n.instance.name} (${n.instance.id}, ${n.instance.privateIp}): ${n.reason}\n`);
  },
});

/** `nodetool repair -pr` on one node: the repair step of a one-node run, or one of a group. */
function repairStep(id: string, nodeId: string, group: string | undefined, timeoutMs: number): RepairStep {
  return {
    id,
    title: 'nodetool repair -pr',
    ...(group ? { group } : {}),
    danger: 'caution',
    mutates: true,
    timeoutMs,
    // Stopped, it cancels the repair on the node and says whether it still runs.
    cleanupGraceMs: 60_000,
    node: (ctx) => ctx.state.nodes.find((n) => n.instance.id === nodeId)?.instance,
    describe: (ctx) => {
      const node = nodeOf(ctx, nodeId);
      return [`on ${node.name} (${node.id}, ${node.privateIp}): ${nodetoolOn(ctx, node)}`];
    },
    keepLines: [REPAIR_FINISHED, /Starting repair command/, /error|exception|failed/i],
    // A dropped connection is worth one more go (isDone is asked first); a failed repair is not.
    retry: { attempts: 2, backoffMs: 30_000 },
    async run(ctx, signal) {
      const node = nodeOf(ctx, nodeId);
      const cmd = nodetoolOn(ctx, node);
      let completionLine: string | undefined;
      let keyspace = '';
      const scan = (chunk: string) => {
        for (const line of chunk.split('\n')) {
          // One repair command per keyspace, each counting its own progress from 0 to 100 %.
          const ks = /repairing keyspace (\S+)/.exec(line);
          if (ks) keyspace = ks[1]!;
          const p = /progress:\s*(\d+(?:\.\d+)?)\s*%/i.exec(line);
          if (p) ctx.progress({ percent: Number(p[1]), message: `${node.name}: ${keyspace ? `keyspace ${keyspace}` : 'repair'}` });
          if (isCompletionLine(line)) completionLine = line.trim();
        }
      };
      // A job on the node, detached from the channel: it outlives a dropped
      // connection and a nightshift restart, and a resume re-attaches to it.
      const job = await runRemoteJob(ctx, node, cmd, signal, {
        label: 'nodetool repair',
        onLine: (stream, line) => {
          if (stream === 'stdout') scan(line);
        },
      });
      const res = { code: job.code, signal: job.signal, stdout: job.stdoutTail, stderr: job.stderrTail };
      // On disk at once: after a crash, isDone reads these.
      const completed = outputShowsCompletion(res.stdout);
      completionLine ??= res.stdout.split('\n').reverse().find(isCompletionLine)?.trim();
      ctx.fact({ exitCode: res.code, signal: res.signal, completed, node: node.id });
      ctx.state.results[nodeId] = { exitCode: res.code, completed, ...(completionLine ? { completionLine } : {}) };
      if (res.code !== 0) {
        const why = whyFailed(res.stderr, res.stdout);
        throw new StepFailed(
          `nodetool repair -pr on ${node.name} exited ${res.code ?? `by signal ${res.signal}`}: ${why}; the ${REPAIR_TAG} tag is left as it was`,
        );
      }
      if (!completed) {
        throw new StepFailed(`nodetool repair -pr on ${node.name} exited 0 but never printed "Repair command #N finished"; not tagging`);
      }
    },
    async isDone(ctx, signal) {
      // The job's own record on the node decides: its exit code and the completion line in its output.
      const outcome = await jobOutcome(ctx, nodeOf(ctx, nodeId), signal);
      const done = outcome.kind === 'exited' && outcome.code === 0 && outputShowsCompletion(outcome.stdoutTail);
      if (done) {
        const completionLine = outcome.stdoutTail.split('\n').reverse().find(isCompletionLine)?.trim();
        ctx.state.results[nodeId] = { exitCode: 0, completed: true, ...(completionLine ? { completionLine } : {}) };
      }
      return done;
    },
    async verify(ctx) {
      const r = ctx.state.results[nodeId];
      if (!r) return { ok: false, reason: 'no record of the repair finishing' };
      if (r.exitCode !== 0) return { ok: false, reason: `exit code ${r.exitCode}` };
      if (!r.completed) return { ok: false, reason: 'no completion line in the output' };
      return { ok: true, detail: r.completionLine ?? 'completed' };
    },
  };
}

async function tagOf(ctx: Ctx, nodeId: string, signal: AbortSignal): Promise<string | undefined> {
  const found = await ctx.backends.inventory.discover({ signal });
  return found.instances.find((i) => i.id === nodeId)?.tags[REPAIR_TAG];
}

/** `last-repaired=<now>` on one node, once its repair finished cleanly. */
function tagStep(id: string, nodeId: string, group: string | undefined): RepairStep {
  return {
    id,
    title: `tag ${REPAIR_TAG}`,
    ...(group ? { group } : {}),
    danger: 'read',
    mutates: true,
    node: (ctx) => ctx.state.nodes.find((n) => n.instance.id === nodeId)?.instance,
    describe: (ctx) => {
      const node = nodeOf(ctx, nodeId);
      return [`Inventory.setTags(${node.id} (${node.name}), { ${REPAIR_TAG}: <now, ISO-8601 UTC> })`, `Inventory.discover() → read the tag back`];
    },
    retry: { attempts: 3, backoffMs: 2_000 },
    verifyWithinMs: 60_000,
    async run(ctx, signal) {
      const node = nodeOf(ctx, nodeId);
      const value = isoSeconds(ctx.backends.clock.now());
      const result = (ctx.state.results[nodeId] ??= { exitCode: 0, completed: true });
      result.tag = value;
      await ctx.backends.inventory.setTags(node.id, { [REPAIR_TAG]: value }, { signal });
      ctx.output('stdout', `${node.name}: ${REPAIR_TAG}=${value}\n`);
    },
    async isDone(ctx, signal) {
      const value = await tagOf(ctx, nodeId, signal);
      const t = value !== undefined ? Date.parse(value) : Number.NaN;
      // Newer than this run's start (tags have second precision): this run wrote it.
      if (Number.isNaN(t) || t < Math.floor(ctx.run.startedAtMs / 1000) * 1000) return false;
      (ctx.state.results[nodeId] ??= { exitCode: 0, completed: true }).tag = value!;
      return true;
    },
    async verify(ctx, signal) {
      const node = nodeOf(ctx, nodeId);
      const value = await tagOf(ctx, nodeId, signal);
      const expected = ctx.state.results[nodeId]?.tag;
      if (value === expected) return { ok: true, detail: `${REPAIR_TAG}=${value}` };
      return { ok: false, reason: `${node.name} has ${REPAIR_TAG}=${value ?? '(none)'}, expected ${expected}` };
    },
  };
}

/** Between two nodes of --all-overdue: the operator decides whether the next repair starts now. */
function nextNodeCheckpoint(id: string, done: number, total: number, next: string): RepairStep {
  return {
    id,
    title: `${done} of ${total} repaired; next: ${next}`,
    kind: 'checkpoint',
    danger: 'read',
    mutates: false,
    describe: () => [`continue: repair ${next} next; pause: resume later with nightshift resume; stop: end here (${done} of ${total} repaired and tagged)`],
    run: async () => {},
  };
}

export const repairRunbook = defineRunbook<RepairParams, RepairState>({
  name: 'repair',
  title: 'Cassandra repair',
  summary: 'Repair the least recently repaired node of a Cassandra ring (nodetool repair -pr) and tag it last-repaired; or every overdue node, one at a time.',
  params: repairParams as unknown as z.ZodType<RepairParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ nodes: [], results: {} }),
  preflight: () => [
    {
      id: 'cassandra-ring',
      title: 'the cluster is a Cassandra ring',
      async run(ctx, signal) {
        const found = await discover(ctx, signal);
        const of = clusterOfRun(found, ctx.run);
        if (!of.ok) return { ok: false, reason: of.reason };
        const ref = of.ref;
        if (ref.engine !== 'cassandra') return { ok: false, reason: `${runLabel(ctx.run)} is a ${ref.engine} cluster, not Cassandra` };
        const members = runMembers(found, ctx.run);
        if (members.length === 0) return { ok: false, reason: `${runLabel(ctx.run)} has no member instances` };
        return { ok: true, detail: `${runLabel(ctx.run)}: Cassandra, ${members.length} nodes` };
      },
    },
    {
      id: 'all-up',
      title: 'every node UN in nodetool status',
      async run(ctx, signal) {
        const members = runMembers(await discover(ctx, signal), ctx.run);
        const notRunning = members.filter((m) => m.state !== 'running');
        if (notRunning.length > 0) {
          return { ok: false, reason: notRunning.map((m) => `${m.name} is ${m.state}`).join('; ') };
        }
        const problems = await ringProblems(ctx, members, signal);
        if (problems.length > 0) {
          // Repairing around a down replica is wasted work: it fails or repairs nothing.
          return { ok: false, reason: problems.join('; ') };
        }
        return { ok: true, detail: `${members.length}/${members.length} nodes UN` };
      },
    },
  ],
  async prepare(ctx, signal) {
    ctx.state.nodes = choose(ctx, runMembers(await discover(ctx, signal), ctx.run));
  },
  plan: (ctx) => {
    const timeoutMs = (ctx.params.timeoutMinutes ?? ctx.config.engines.repairTimeoutMinutes) * 60_000;
    if (!ctx.params.allOverdue) {
      const only = ctx.state.nodes[0]?.instance.id ?? '';
      return [pick(false), repairStep('repair', only, undefined, timeoutMs), tagStep('tag', only, undefined)];
    }
    // One group per node, ids fixed at plan time (the node names), a checkpoint between nodes.
    const steps: RepairStep[] = [pick(true)];
    const total = ctx.state.nodes.length;
    ctx.state.nodes.forEach(({ instance }, i) => {
      if (i > 0) steps.push(nextNodeCheckpoint(`next:${instance.name}`, i, total, instance.name));
      steps.push(repairStep(`repair:${instance.name}`, instance.id, instance.name, timeoutMs), tagStep(`tag:${instance.name}`, instance.id, instance.name));
    });
    return steps;
  },
});

/**
 * nodetool prints "Repair command #N finished in 4 minutes 2 seconds" for each
 * keyspace it repaired, and "Repair command #N finished with error" when one
 * failed: only the first kind is a completion.
 */
export function isCompletionLine(line: string): boolean {
  return REPAIR_FINISHED.test(line) && !/finished with error/i.test(line);
}

/** The output says the repair completed: a completion line and no failed command. */
export function outputShowsCompletion(output: string): boolean {
  const lines = output.split('\n');
  return lines.some(isCompletionLine) && !lines.some((l) => /Repair command #\d+ (failed|finished with error)/i.test(l));
}

/** nodetool's own sentence, not the Java stack trace under it. */
export function whyFailed(stderr: string, stdout: string): string {
  const head = stderr.split('-- StackTrace --')[0]!.split('\n').map((l) => l.trim()).filter(Boolean);
  const said = head.find((l) => /^error:/i.test(l)) ?? head[0];
  if (said) return said;
  const out = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  return out.reverse().find((l) => /failed|error/i.test(l)) ?? out[0] ?? 'no output';
}
