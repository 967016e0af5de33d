// repair (Cassandra): pick the node repaired longest ago (never repaired
// first), run `nodetool repair -pr` on it with its output streamed, and only
// after it finished cleanly tag it `last-repaired=<ISO-8601 UTC>`. RUNBOOKS.md.

import * as z from 'zod';
import {
  nodetoolCommand,
  probeCassandra,
  REPAIR_FINISHED,
  REPAIR_SUBCOMMAND,
} from '../../backends/engines/cassandra.js';
import type { Discovery } from '../../backends/ports.js';
import { chooseRepairNode, type RepairChoice } from '../../domain/repair-choice.js';
import type { Instance } from '../../domain/types.js';
import { defineRunbook, type RunContext, type Step } from '../engine/types.js';
import { StepFailed } from '../engine/timing.js';

export const REPAIR_TAG = 'last-repaired';

export const repairParams = z
  .object({
    cluster: z.string().min(1, 'needs --cluster NAME'),
    /** Repair this node (name or instance id) instead of the least recently repaired one. */
    node: z.string().min(1).optional(),
    /** How long `nodetool repair -pr` may take before it is abandoned (fleet clock). */
    timeoutMinutes: z.number().positive().default(360),
  })
  .strict();

export type RepairParams = z.output<typeof repairParams>;

export interface RepairState {
  /** The node chosen when the plan was made, with why. */
  node?: { instance: Instance; reason: string };
  /** What `nodetool repair -pr` ended with, this run. */
  repair?: { exitCode: number | null; completed: boolean; completionLine?: string };
  /** The tag value written. */
  tag?: string;
}

type Ctx = RunContext<RepairParams, RepairState>;

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

function membersOf(found: Discovery, cluster: string): Instance[] {
  const ref = found.clusters.find((c) => c.name === cluster);
  if (!ref) return [];
  const byId = new Map(found.instances.map((i) => [i.id, i]));
  return ref.instanceIds.map((id) => byId.get(id)).filter((i): i is Instance => i !== undefined);
}

function choose(ctx: Ctx, members: Instance[]): RepairChoice {
  const { node } = ctx.params;
  if (node) {
    const forced = members.find((m) => m.name === node || m.id === node);
    if (!forced) throw new StepFailed(`no node "${node}" in cluster ${ctx.run.cluster}: members are ${members.map((m) => m.name).join(', ')}`);
    return { id: forced.id, name: forced.name, reason: 'chosen by the operator (--node)' };
  }
  const choice = chooseRepairNode(
    members.map((m) => ({ id: m.id, name: m.name, ...(m.tags[REPAIR_TAG] !== undefined ? { lastRepaired: m.tags[REPAIR_TAG] } : {}) })),
  );
  if (!choice) throw new StepFailed(`cluster ${ctx.run.cluster} has no members to repair`);
  return choice;
}

function chosen(ctx: Ctx): Instance {
  const node = ctx.state.node;
  if (!node) throw new Error('repair: no node chosen (the plan was built without one)');
  return node.instance;
}

const pick: Step<RepairParams, RepairState> = {
  id: 'pick',
  title: 'pick the node to repair',
  danger: 'read',
  mutates: false,
  describe: (ctx) => [
    `Inventory.discover() → the ${REPAIR_TAG} tag of every node of ${ctx.run.cluster}`,
    `choose: a node without the tag first, else the oldest tag → ${ctx.state.node ? `${ctx.state.node.instance.name} (${ctx.state.node.reason})` : '?'}`,
  ],
  async run(ctx, signal) {
    const members = membersOf(await discover(ctx, signal, true), ctx.run.cluster);
    const now = choose(ctx, members);
    const planned = ctx.state.node;
    // The plan the operator read named a node; acting on another would betray it.
    if (planned && planned.instance.id !== now.id) {
      throw new StepFailed(
        `the choice changed since the plan was made (${planned.instance.name} → ${now.name}: ${now.reason}); someone repaired meanwhile, so start the run again`,
      );
    }
    const instance = members.find((m) => m.id === now.id)!;
    ctx.state.node = { instance: instance, reason: now.reason };
    ctx.output('stdout', `chose ${instance.name} (${instance.id}, ${instance.privateIp}): ${now.reason}\n`);
  },
};

const repair: Step<RepairParams, RepairState> = {
  id: 'repair',
  title: 'nodetool repair -pr',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.node?.instance,
  describe: (ctx) => {
    const node = ctx.state.node?.instance;
    const cmd = nodetoolCommand(ctx.config.engines.nodetool, REPAIR_SUBCOMMAND);
    return [node ? `on ${node.name} (${node.id}, ${node.privateIp}): ${cmd}` : `on the chosen node: ${cmd}`];
  },
  keepLines: [REPAIR_FINISHED, /Starting repair command/, /error|exception|failed/i],
  // A dropped connection is worth one more go (isDone is asked first); a failed repair is not.
  retry: { attempts: 2, backoffMs: 30_000 },
  async run(ctx, signal) {
    const node = chosen(ctx);
    const cmd = nodetoolCommand(ctx.config.engines.nodetool, REPAIR_SUBCOMMAND);
    let completionLine: string | undefined;
    let keyspace = '';
    const scan = (chunk: string) => {
      for (const line of chunk.split('\n')) {
        // One repair command per keyspace, each counting its own progress from 0 to 100 %.
        const ks = /repairing keyspace (\S+)/.exec(line);
        if (ks) keyspace = ks[1]!;
        const p = /progress:\s*(\d+(?:\.\d+)?)\s*%/i.exec(line);
        if (p) ctx.progress({ percent: Number(p[1]), message: keyspace ? `keyspace ${keyspace}` : 'repair' });
        if (isCompletionLine(line)) completionLine = line.trim();
      }
    };
    const res = await ctx.backends.shell.exec(node, cmd, {
      signal,
      onStdout: (c) => {
        ctx.output('stdout', c);
        scan(c);
      },
      onStderr: (c) => ctx.output('stderr', c),
    });
    // On disk at once: after a crash, isDone reads these.
    const completed = outputShowsCompletion(res.stdout);
    completionLine ??= res.stdout.split('\n').reverse().find(isCompletionLine)?.trim();
    ctx.fact({ exitCode: res.code, signal: res.signal, completed, node: node.id });
    ctx.state.repair = { exitCode: res.code, completed, ...(completionLine ? { completionLine } : {}) };
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
  async isDone(ctx) {
    // Only the journal can tell: the repair leaves no mark on the node we can read cheaply.
    const { facts, output } = ctx.previous;
    return facts.exitCode === 0 && facts.node === ctx.state.node?.instance.id && outputShowsCompletion(output);
  },
  async verify(ctx) {
    const r = ctx.state.repair;
    if (!r) return { ok: false, reason: 'no record of the repair finishing' };
    if (r.exitCode !== 0) return { ok: false, reason: `exit code ${r.exitCode}` };
    if (!r.completed) return { ok: false, reason: 'no completion line in the output' };
    return { ok: true, detail: r.completionLine ?? 'completed' };
  },
};

const tag: Step<RepairParams, RepairState> = {
  id: 'tag',
  title: `tag ${REPAIR_TAG}`,
  danger: 'read',
  mutates: true,
  node: (ctx) => ctx.state.node?.instance,
  describe: (ctx) => {
    const node = ctx.state.node?.instance;
    const target = node ? `${node.id} (${node.name})` : 'the chosen node';
    return [
      `Inventory.setTags(${target}, { ${REPAIR_TAG}: <now, ISO-8601 UTC> })`,
      `Inventory.discover() → read the tag back`,
    ];
  },
  retry: { attempts: 3, backoffMs: 2_000 },
  verifyWithinMs: 60_000,
  async run(ctx, signal) {
    const node = chosen(ctx);
    const value = isoSeconds(ctx.backends.clock.now());
    ctx.state.tag = value;
    await ctx.backends.inventory.setTags(node.id, { [REPAIR_TAG]: value }, { signal });
    ctx.output('stdout', `${node.name}: ${REPAIR_TAG}=${value}\n`);
  },
  async isDone(ctx, signal) {
    const node = chosen(ctx);
    const found = await ctx.backends.inventory.discover({ signal });
    const value = found.instances.find((i) => i.id === node.id)?.tags[REPAIR_TAG];
    const t = value !== undefined ? Date.parse(value) : Number.NaN;
    // Newer than this run's start (tags have second precision): this run wrote it.
    if (Number.isNaN(t) || t < Math.floor(ctx.run.startedAtMs / 1000) * 1000) return false;
    ctx.state.tag = value!;
    return true;
  },
  async verify(ctx, signal) {
    const node = chosen(ctx);
    const found = await ctx.backends.inventory.discover({ signal });
    const value = found.instances.find((i) => i.id === node.id)?.tags[REPAIR_TAG];
    if (value === ctx.state.tag) return { ok: true, detail: `${REPAIR_TAG}=${value}` };
    return { ok: false, reason: `${node.name} has ${REPAIR_TAG}=${value ?? '(none)'}, expected ${ctx.state.tag}` };
  },
};

export const repairRunbook = defineRunbook<RepairParams, RepairState>({
  name: 'repair',
  title: 'Cassandra repair',
  summary: 'Repair the least recently repaired node of a Cassandra ring (nodetool repair -pr) and tag it last-repaired.',
  params: repairParams as unknown as z.ZodType<RepairParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({}),
  preflight: () => [
    {
      id: 'cassandra-ring',
      title: 'the cluster is a Cassandra ring',
      async run(ctx, signal) {
        const found = await discover(ctx, signal);
        const ref = found.clusters.find((c) => c.name === ctx.run.cluster);
        if (!ref) {
          const names = found.clusters.map((c) => c.name).join(', ') || '(none)';
          return { ok: false, reason: `no cluster named ${ctx.run.cluster}; clusters here: ${names}` };
        }
        if (ref.engine !== 'cassandra') return { ok: false, reason: `${ctx.run.cluster} is a ${ref.engine} cluster, not Cassandra` };
        const members = membersOf(found, ctx.run.cluster);
        if (members.length === 0) return { ok: false, reason: `${ctx.run.cluster} has no member instances` };
        return { ok: true, detail: `${ctx.run.cluster}: Cassandra, ${members.length} nodes` };
      },
    },
    {
      id: 'all-up',
      title: 'every node UN in nodetool status',
      async run(ctx, signal) {
        const members = membersOf(await discover(ctx, signal), ctx.run.cluster);
        const notRunning = members.filter((m) => m.state !== 'running');
        if (notRunning.length > 0) {
          return { ok: false, reason: notRunning.map((m) => `${m.name} is ${m.state}`).join('; ') };
        }
        const opts = { nodetool: ctx.config.engines.nodetool, timeoutMs: ctx.config.engines.probeTimeoutSeconds * 1000, signal };
        const probes = await Promise.allSettled(members.map((m) => probeCassandra(ctx.backends.shell, m, opts)));
        const problems: string[] = [];
        probes.forEach((p, i) => {
          const m = members[i]!;
          if (p.status === 'rejected') {
            problems.push(`${m.name}: ${(p.reason as Error).message}`);
            return;
          }
          for (const peer of p.value.ring) {
            if (peer.status === 'UN') continue;
            const who = members.find((x) => x.privateIp === peer.address)?.name ?? peer.address;
            problems.push(`${who} is ${peer.status} (seen from ${m.name})`);
          }
        });
        if (problems.length > 0) {
          // Repairing around a down replica is wasted work: it fails or repairs nothing.
          return { ok: false, reason: [...new Set(problems)].join('; ') };
        }
        return { ok: true, detail: `${members.length}/${members.length} nodes UN` };
      },
    },
  ],
  async prepare(ctx, signal) {
    const members = membersOf(await discover(ctx, signal), ctx.run.cluster);
    const choice = choose(ctx, members);
    const instance = members.find((m) => m.id === choice.id)!;
    ctx.state.node = { instance: instance, reason: choice.reason };
  },
  plan: (ctx) => {
    // The repair's limit comes from the params, so the step is built per run.
    return [pick, { ...repair, timeoutMs: ctx.params.timeoutMinutes * 60_000 }, tag];
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
