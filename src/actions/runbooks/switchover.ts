// switchover (MySQL / MariaDB, the master alive): move the writes to a replica
// with the shortest possible write outage and a way back from every step of
// it. The outage (old master read-only → candidate writable) is a critical
// section with a time budget: past it, or on any failure, decline or abort
// inside it, the old master is made writable again and the candidate
// repointed at it. After it, the other replicas and the old master follow the
// new master, the writer record and the role tags move, and a heartbeat
// written on the new master must reach every replica. RUNBOOKS.md.

import * as z from 'zod';
import { clientsOf } from '../../backends/engines/clients.js';
import { MysqlProber } from '../../backends/engines/mysql.js';
import {
  DEFAULT_HEARTBEAT_TABLE,
  describeOp,
  describeReadOnly,
  describeRepoint,
  mysqlTarget,
  promote,
  readHeartbeat,
  readOnlyState,
  repoint,
  setReadOnly,
  waitForGtid,
  writeHeartbeat,
  type Heartbeat,
  type MysqlTarget,
  type RepointSpec,
} from '../../backends/engines/mysql-ops.js';
import type { Discovery, DnsRecord } from '../../backends/ports.js';
import { replicationCredentials, type ReplicationCredentials } from '../../config/credentials.js';
import { rankSwitchover } from '../../domain/candidate.js';
import { resolveWriter } from '../../domain/cluster-view.js';
import { formatGtidSet, gtidDifference, isEmptyGtidSet, parseGtidSet } from '../../domain/gtid.js';
import { lagOf, roleOf } from '../../domain/health.js';
import type { ClusterView, Instance, MysqlFacts, MysqlFlavour, NodeView, WriterRecordRef } from '../../domain/types.js';
import { StepFailed } from '../engine/timing.js';
import { defineRunbook, type RunContext, type Step } from '../engine/types.js';
import { waitFor } from '../engine/wait.js';

export const ROLE_TAG = 'nightshift:role';

export const switchoverParams = z
  .object({
    cluster: z.string().min(1, 'needs --cluster NAME'),
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

interface Member {
  instance: Instance;
  flavour: MysqlFlavour;
  version: string;
}

export interface SwitchoverState {
  master?: Member;
  candidate?: Member;
  /** Every other replica, repointed at the candidate in S6. */
  others: Member[];
  /** The master as its replicas name it (its address or name) and its port: the form the new source takes too. */
  sourceHost?: string;
  port?: number;
  /** The writer record as read at plan time (undefined: none configured). */
  writer?: { ref: WriterRecordRef; before: DnsRecord | null; after: string[] };
  /** Fleet ms when the old master went read-only: the outage's start. */
  readOnlyAt?: number;
  /** The old master's executed set, read after it went read-only. */
  masterGtid?: string;
  heartbeat?: Heartbeat;
}

type Ctx = RunContext<SwitchoverParams, SwitchoverState>;
type SwitchoverStep = Step<SwitchoverParams, SwitchoverState>;

const DISCOVERY = 'discovery';
const VIEW = 'view';

// ---------------------------------------------------------------- facts

async function discover(ctx: Ctx, signal: AbortSignal): Promise<Discovery> {
  const cached = ctx.scratch.get(DISCOVERY) as Discovery | undefined;
  if (cached) return cached;
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

function prober(ctx: Ctx): MysqlProber {
  let p = ctx.scratch.get('prober') as MysqlProber | undefined;
  if (!p) ctx.scratch.set('prober', (p = new MysqlProber(ctx.backends.shell)));
  return p;
}

async function probe(ctx: Ctx, node: Instance, signal: AbortSignal): Promise<MysqlFacts> {
  return prober(ctx).probe(node, {
    client: clientsOf(ctx, node).mysqlClient,
    timeoutMs: ctx.config.engines.probeTimeoutSeconds * 1000,
    signal,
    ...(ctx.config.engines.heartbeatTable ? { heartbeatTable: ctx.config.engines.heartbeatTable } : {}),
  });
}

/** The cluster as the candidate rules read it: every member probed now. */
async function clusterView(ctx: Ctx, signal: AbortSignal): Promise<ClusterView> {
  const cached = ctx.scratch.get(VIEW) as ClusterView | undefined;
  if (cached) return cached;
  const members = membersOf(await discover(ctx, signal), ctx.run.cluster);
  const now = ctx.backends.clock.now();
  const probes = await Promise.allSettled(members.map((m) => probe(ctx, m, signal)));
  const nodes = members.map((instance, i): NodeView => {
    const p = probes[i]!;
    const facts = p.status === 'fulfilled' ? { kind: 'mysql' as const, mysql: p.value } : undefined;
    const node: NodeView = {
      instance,
      role: roleOf(facts),
      engine: 'mysql',
      health: { level: 'OK', reason: '' },
      lagSeconds: lagOf(facts),
      updatedAt: now,
      stale: p.status === 'rejected',
    };
    if (facts) node.facts = facts;
    if (p.status === 'rejected') node.probeError = (p.reason as Error).message;
    return node;
  });
  const view: ClusterView = { name: ctx.run.cluster, engine: 'mysql', health: { level: 'OK', reasons: [] }, findings: [], nodes, worstLagSeconds: null };
  ctx.scratch.set(VIEW, view);
  return view;
}

const mysqlOf = (n: NodeView): MysqlFacts | undefined => (n.facts?.kind === 'mysql' ? n.facts.mysql : undefined);

function member(n: NodeView): Member {
  const f = mysqlOf(n)!;
  return { instance: n.instance, flavour: f.flavour, version: f.version };
}

function target(ctx: Ctx, m: Member): MysqlTarget {
  return mysqlTarget(m.instance, clientsOf(ctx, m.instance).mysqlClient, m);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`switchover: ${what} is not in the plan`);
  return value;
}

const masterOf = (ctx: Ctx) => need(ctx.state.master, 'the master');
const candidateOf = (ctx: Ctx) => need(ctx.state.candidate, 'the candidate');

/** Does this replica host string name the node (address, name or ssh host)? */
function names(host: string, node: Instance): boolean {
  const h = host.toLowerCase();
  return h === node.privateIp || h === node.name.toLowerCase() || h === node.ssh?.host?.toLowerCase();
}

/** The node in the form the replicas named the old master: address, ssh host or name. */
function hostFor(ctx: Ctx, node: Instance): string {
  const master = masterOf(ctx).instance;
  const form = need(ctx.state.sourceHost, 'the source host');
  if (form === master.privateIp) return node.privateIp;
  if (master.ssh?.host !== undefined && form === master.ssh.host) return node.ssh?.host ?? node.privateIp;
  if (form.toLowerCase() === master.name.toLowerCase()) return node.name;
  return node.privateIp;
}

/** A target that knows its own replication user (the simulated fleet); the config's clusters.C.replication wins. */
type OwnCredentials = { replicationCredentials?: (cluster: string) => ReplicationCredentials | undefined };

function credentials(ctx: Ctx): ReplicationCredentials {
  const own = ctx.config.clusters[ctx.run.cluster]?.replication === undefined ? (ctx.backends as OwnCredentials).replicationCredentials?.(ctx.run.cluster) : undefined;
  return own ?? replicationCredentials(ctx.config, ctx.run.cluster);
}

function specTo(ctx: Ctx, source: Instance, replica: Member, opts: { wasMaster?: boolean } = {}): RepointSpec {
  // The plan shows the user only: describeRepoint redacts the password itself.
  const creds = credentials(ctx);
  const spec: RepointSpec = { host: hostFor(ctx, source), port: need(ctx.state.port, 'the port'), user: creds.user, password: creds.password };
  if (opts.wasMaster) spec.wasMaster = true;
  // MySQL 8's caching_sha2_password refuses a replica that never connected before over plain TCP without the key.
  if (replica.flavour === 'mysql') spec.getSourcePublicKey = true;
  return spec;
}

/** The writer record this cluster has, from the config or (the sim) the target itself. */
function writerRef(ctx: Ctx): WriterRecordRef | undefined {
  const own = (ctx.backends as { writerDns?: (cluster: string) => WriterRecordRef | undefined }).writerDns;
  return ctx.config.clusters[ctx.run.cluster]?.writerDns ?? own?.(ctx.run.cluster);
}

/** Where the record should point after the switch: the old master's value rewritten for the candidate. */
function writerValues(type: WriterRecordRef['type'], values: string[], master: Instance, candidate: Instance): string[] {
  return values.map((v) => {
    const bare = v.endsWith('.') ? v.slice(0, -1) : v;
    if (type === 'A') return master.ssh?.host !== undefined && bare === master.ssh.host ? (candidate.ssh?.host ?? candidate.privateIp) : candidate.privateIp;
    if (bare.toLowerCase() === master.name.toLowerCase()) return candidate.name;
    if (bare.toLowerCase().startsWith(`${master.name.toLowerCase()}.`)) return `${candidate.name}${bare.slice(master.name.length)}`;
    return candidate.privateIp;
  });
}

/** Replicates from `source`, both threads running. */
function replicatesFrom(f: MysqlFacts, source: Instance): boolean {
  return f.replica !== undefined && names(f.replica.sourceHost, source);
}

const isWritableMaster = (f: MysqlFacts) => !f.readOnly && !f.superReadOnly && f.replica === undefined;

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
      const errant = gtidDifference(parseGtidSet(cf.flavour, cf.gtidExecuted), parseGtidSet(mf.flavour, mf.gtidExecuted));
      if (!isEmptyGtidSet(errant)) {
        throw new StepFailed(`${cand.instance.name} has errant GTIDs ${formatGtidSet(errant)} (writes ${master.instance.name} never had); promoting it would send them to every replica`);
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

/** Points one node at the new master and waits for both threads to run. */
function repointStep(id: string, title: string, pick: (ctx: Ctx) => Member, wasMaster: boolean, group?: string): SwitchoverStep {
  return {
    id,
    title,
    ...(group ? { group } : {}),
    danger: 'caution',
    mutates: true,
    timeoutMs: 30_000,
    node: (ctx) => pick(ctx).instance,
    describe: (ctx) => [describeRepoint(target(ctx, pick(ctx)), specTo(ctx, candidateOf(ctx).instance, pick(ctx), { wasMaster }))],
    retry: { attempts: 2, backoffMs: 2_000 },
    async run(ctx, signal) {
      const node = pick(ctx);
      await repoint(ctx.backends.shell, target(ctx, node), specTo(ctx, candidateOf(ctx).instance, node, { wasMaster }), { signal, timeoutMs: 20_000 });
      ctx.output('stdout', `${node.instance.name} now replicates from ${candidateOf(ctx).instance.name}\n`);
    },
    async isDone(ctx, signal) {
      return replicatesFrom(await probe(ctx, pick(ctx).instance, signal), candidateOf(ctx).instance);
    },
    verifyWithinMs: 30_000,
    async verify(ctx, signal) {
      const f = await probe(ctx, pick(ctx).instance, signal);
      const r = f.replica;
      if (!r || !replicatesFrom(f, candidateOf(ctx).instance)) return { ok: false, reason: `${pick(ctx).instance.name} replicates from ${r ? `${r.sourceHost}:${r.sourcePort}` : 'no one'}` };
      if (r.ioThread !== 'Yes' || r.sqlThread !== 'Yes') {
        const err = r.lastIoError ?? r.lastSqlError;
        return { ok: false, reason: `IO thread ${r.ioThread}, SQL thread ${r.sqlThread}${err ? ` (error ${err.code}: ${err.message})` : ''}` };
      }
      if (!f.readOnly) return { ok: false, reason: `${pick(ctx).instance.name} is writable: a replica must be read-only` };
      return { ok: true, detail: `replicating from ${candidateOf(ctx).instance.name}, lag ${r.lagSeconds ?? '?'} s` };
    },
  };
}

const dnsStep = (configured: boolean): SwitchoverStep => ({
  id: 'dns',
  title: 'writer record to the new master',
  danger: 'caution',
  mutates: true,
  ...(configured ? { needs: ['dns' as const] } : {}),
  canSkip: configured ? 'the writer record stays on the old master, which is read-only: point it at the new one by hand' : 'no writer record configured',
  timeoutMs: 300_000,
  describe: (ctx) => {
    const w = ctx.state.writer;
    if (!w) return ['no writer record configured for this cluster (clusters.C.writerDns): nothing to change'];
    return [
      `Dns.swapRecord(${w.ref.zoneId} ${w.ref.name} ${w.ref.type}: DELETE [${w.before?.values.join(', ') ?? '?'}] + CREATE [${w.after.join(', ')}] in one batch), then wait for INSYNC`,
    ];
  },
  async run(ctx, signal) {
    const w = ctx.state.writer;
    if (!w) {
      ctx.output('stdout', 'no writer record configured: nothing to change\n');
      return;
    }
    const dns = ctx.backends.dns;
    if (!dns) throw new StepFailed(`no DNS API on this target: ${ctx.backends.unavailable?.dns ?? 'unavailable'}`);
    const before = need(w.before ?? undefined, 'the writer record');
    const res = await dns.swapRecord(before, { ...before, values: w.after }, { signal, onProgress: (s) => ctx.progress({ message: `change ${s}` }) });
    ctx.fact({ changeId: res.changeId, insyncAfterMs: res.insyncAfterMs });
    ctx.output('stdout', `${w.ref.name} → ${w.after.join(', ')}: INSYNC after ${res.insyncAfterMs} ms; resolvers holding the old answer drop it within the TTL (${before.ttl} s)\n`);
  },
  async isDone(ctx, signal) {
    const w = ctx.state.writer;
    if (!w) return true;
    const rec = await ctx.backends.dns?.getRecord(w.ref.zoneId, w.ref.name, w.ref.type, { signal });
    return rec !== undefined && rec.values.join(',') === w.after.join(',');
  },
});

const tagsStep: SwitchoverStep = {
  id: 'tags',
  title: `role tags (${ROLE_TAG})`,
  danger: 'read',
  mutates: true,
  retry: { attempts: 3, backoffMs: 2_000 },
  describe: (ctx) => [
    `Inventory.setTags(${candidateOf(ctx).instance.id} (${candidateOf(ctx).instance.name}), { ${ROLE_TAG}: master })`,
    `Inventory.setTags(${masterOf(ctx).instance.id} (${masterOf(ctx).instance.name}), { ${ROLE_TAG}: replica })`,
  ],
  async run(ctx, signal) {
    await ctx.backends.inventory.setTags(candidateOf(ctx).instance.id, { [ROLE_TAG]: 'master' }, { signal });
    await ctx.backends.inventory.setTags(masterOf(ctx).instance.id, { [ROLE_TAG]: 'replica' }, { signal });
  },
  async isDone(ctx, signal) {
    const found = await ctx.backends.inventory.discover({ signal });
    const tag = (id: string) => found.instances.find((i) => i.id === id)?.tags[ROLE_TAG];
    return tag(candidateOf(ctx).instance.id) === 'master' && tag(masterOf(ctx).instance.id) === 'replica';
  },
};

function verifyStep(limitMs: number): SwitchoverStep {
  return {
    id: 'verify',
    title: 'a heartbeat on the new master reaches every replica',
    danger: 'read',
    mutates: true,
    describe: (ctx) => {
      const table = ctx.config.engines.heartbeatTable ?? DEFAULT_HEARTBEAT_TABLE;
      const readers = [masterOf(ctx), ...ctx.state.others].map((m) => m.instance.name).join(', ');
      return [`${candidateOf(ctx).instance.name}: REPLACE INTO ${table} (server_id, ts) VALUES (@@server_id, <now>)`, `${readers}: read it back, within ${limitMs / 1000} s`];
    },
    async run(ctx, signal) {
      const table = ctx.config.engines.heartbeatTable ?? DEFAULT_HEARTBEAT_TABLE;
      const beat = await writeHeartbeat(ctx.backends.shell, target(ctx, candidateOf(ctx)), table, ctx.backends.clock.now(), { signal });
      ctx.state.heartbeat = beat;
      const started = ctx.backends.clock.now();
      const readers = [masterOf(ctx), ...ctx.state.others];
      const missing = new Set(readers.map((r) => r.instance.name));
      await waitFor({
        clock: ctx.backends.clock,
        signal,
        what: `the heartbeat ${beat.ts} on ${[...missing].join(', ')}`,
        timeoutMs: limitMs,
        intervalMs: 250,
        onProgress: (p) => ctx.progress(p),
        check: async (s) => {
          for (const r of readers) {
            if (!missing.has(r.instance.name)) continue;
            if ((await readHeartbeat(ctx.backends.shell, target(ctx, r), beat, { signal: s })).arrived) missing.delete(r.instance.name);
          }
          if (missing.size === 0) return { done: true, value: undefined };
          return { done: false, progress: { done: readers.length - missing.size, total: readers.length, unit: 'items', message: `waiting on ${[...missing].join(', ')}` } };
        },
      });
      ctx.output('stdout', `heartbeat ${beat.ts} seen on ${readers.map((r) => r.instance.name).join(', ')} after ${ctx.backends.clock.now() - started} ms\n`);
    },
    async isDone() {
      // Writing another heartbeat is harmless; asking again is the check.
      return false;
    },
  };
}

// ---------------------------------------------------------------- the runbook

export const switchoverRunbook = defineRunbook<SwitchoverParams, SwitchoverState>({
  name: 'switchover',
  title: 'MySQL master switchover',
  summary: 'Planned master change: old master read-only, candidate catches up and is promoted, replicas and the old master follow it, writer record and tags move, heartbeat verified.',
  params: switchoverParams as unknown as z.ZodType<SwitchoverParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ others: [] }),
  preflight: () => [
    {
      id: 'mysql-cluster',
      title: 'the cluster is a MySQL cluster',
      async run(ctx, signal) {
        const found = await discover(ctx, signal);
        const ref = found.clusters.find((c) => c.name === ctx.run.cluster);
        if (!ref) return { ok: false, reason: `no cluster named ${ctx.run.cluster}; clusters here: ${found.clusters.map((c) => c.name).join(', ') || '(none)'}` };
        if (ref.engine !== 'mysql') return { ok: false, reason: `${ctx.run.cluster} is a ${ref.engine} cluster, not MySQL` };
        return { ok: true, detail: `${ctx.run.cluster}: MySQL, ${ref.instanceIds.length} nodes` };
      },
    },
    {
      id: 'replicas-healthy',
      title: 'one writable master; every replica reachable, replicating, within the lag limit',
      async run(ctx, signal) {
        const view = await clusterView(ctx, signal);
        const masters = view.nodes.filter((n) => !n.stale && mysqlOf(n) !== undefined && isWritableMaster(mysqlOf(n)!));
        if (masters.length !== 1) {
          return { ok: false, reason: masters.length === 0 ? `${ctx.run.cluster} has no writable master that answers: a switchover needs a live master (if it is dead, run failover)` : `${masters.length} writable masters (${masters.map((n) => n.instance.name).join(', ')}): settle which one is the master first` };
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
          else if (n.lagSeconds === null || n.lagSeconds > ctx.params.lagLimitSeconds) problems.push(`${n.instance.name}: lag ${n.lagSeconds ?? '?'} s over the ${ctx.params.lagLimitSeconds} s limit`);
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
        const r = rankSwitchover(view, { lagLimitSeconds: ctx.params.lagLimitSeconds, ...(ctx.params.candidate !== undefined ? { pick: ctx.params.candidate } : {}) });
        if (!r.ok) return { ok: false, reason: r.reason };
        return { ok: true, detail: `${r.chosen.name} (${r.chosen.az}, lag ${r.chosen.lagSeconds ?? '?'} s${ctx.params.candidate !== undefined ? ', chosen by the operator' : ''})` };
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
        if (!rec) return { ok: false, reason: `no ${ref.type} record ${ref.name} in ${ref.zoneId}: fix clusters.${ctx.run.cluster}.writerDns or create it` };
        const w = resolveWriter({ ref, values: rec.values }, view.nodes);
        const master = view.nodes.find((n) => !n.stale && mysqlOf(n) && isWritableMaster(mysqlOf(n)!));
        if (!master || w.node !== master.instance.name) return { ok: false, reason: `${ref.name} → ${rec.values.join(', ')} (${w.node ?? 'no node'}), not the master ${master?.instance.name ?? '?'}: settle where writes go first` };
        return { ok: true, detail: `${ref.name} → ${master.instance.name}` };
      },
    },
    {
      id: 'credentials',
      title: 'replication credentials',
      async run(ctx) {
        try {
          return { ok: true, detail: `user ${credentials(ctx).user}` };
        } catch (err) {
          return { ok: false, reason: (err as Error).message };
        }
      },
    },
  ],
  async prepare(ctx, signal) {
    const view = await clusterView(ctx, signal);
    const r = rankSwitchover(view, { lagLimitSeconds: ctx.params.lagLimitSeconds, ...(ctx.params.candidate !== undefined ? { pick: ctx.params.candidate } : {}) });
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
      dnsStep(ctx.state.writer !== undefined),
      tagsStep,
      verifyStep(ctx.params.verifySeconds * 1000),
    ];
  },
});
