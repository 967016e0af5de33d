// What switchover and failover share: the cluster as probed now, the members
// of a master change (old master, candidate, the others), how the others are
// pointed at the new master, and the steps after the promotion (writer record,
// role tags, a heartbeat seen on every replica). RUNBOOKS.md.

import { clientsOf } from '../../backends/engines/clients.js';
import { MysqlProber } from '../../backends/engines/mysql.js';
import {
  DEFAULT_HEARTBEAT_TABLE,
  describeOp,
  describeRepoint,
  resetReplicaAll,
  mysqlTarget,
  readHeartbeat,
  repoint,
  writeHeartbeat,
  type Heartbeat,
  type MysqlTarget,
  type RepointSpec,
} from '../../backends/engines/mysql-ops.js';
import type { Discovery, DnsRecord } from '../../backends/ports.js';
import { clusterSettings } from '../../config/cluster-settings.js';
import type { ScopedName } from '../../domain/scope.js';
import { runCluster } from '../engine/cluster-params.js';
import { clusterOfRun, refMembers, runLabel, runMembers } from './cluster-of.js';
import { replicationCredentials, type ReplicationCredentials } from '../../config/credentials.js';
import { lagOf, roleOf } from '../../domain/health.js';
import type { ClusterView, Instance, MysqlFacts, MysqlFlavour, NodeView, WriterRecordRef } from '../../domain/types.js';
import { StepFailed } from '../engine/timing.js';
import type { Check, RunContext, Step } from '../engine/types.js';
import { waitFor } from '../engine/wait.js';
import { lagOrUnknown } from '../../domain/lag-text.js';

export const ROLE_TAG = 'nightshift:role';

export interface Member {
  instance: Instance;
  flavour: MysqlFlavour;
  version: string;
}

/** What a master change has found out: journaled after every step. */
export interface MasterChangeState {
  master?: Member;
  candidate?: Member;
  /** Every other replica, repointed at the candidate. */
  others: Member[];
  /** The master as its replicas name it (its address or name) and its port: the form the new source takes too. */
  sourceHost?: string;
  port?: number;
  /** The writer record as read at plan time (undefined: none configured). */
  writer?: { ref: WriterRecordRef; before: DnsRecord | null; after: string[] };
  heartbeat?: Heartbeat;
}

export type Ctx = RunContext<unknown, MasterChangeState>;
export type MasterChangeStep = Step<unknown, MasterChangeState>;

const DISCOVERY = 'discovery';
const VIEW = 'view';

// ---------------------------------------------------------------- facts

export async function discover(ctx: Ctx, signal: AbortSignal): Promise<Discovery> {
  const cached = ctx.scratch.get(DISCOVERY) as Discovery | undefined;
  if (cached) return cached;
  const found = await ctx.backends.inventory.discover({ signal });
  ctx.scratch.set(DISCOVERY, found);
  return found;
}


function prober(ctx: Ctx): MysqlProber {
  let p = ctx.scratch.get('prober') as MysqlProber | undefined;
  if (!p) ctx.scratch.set('prober', (p = new MysqlProber(ctx.backends.shell)));
  return p;
}

export async function probe(ctx: Ctx, node: Instance, signal: AbortSignal): Promise<MysqlFacts> {
  return prober(ctx).probe(node, {
    client: clientsOf(ctx, node).mysqlClient,
    timeoutMs: ctx.config.engines.probeTimeoutSeconds * 1000,
    signal,
    ...(ctx.config.engines.heartbeatTable ? { heartbeatTable: ctx.config.engines.heartbeatTable } : {}),
  });
}

/** The cluster as the candidate rules read it: every member probed now. */
export async function clusterView(ctx: Ctx, signal: AbortSignal): Promise<ClusterView> {
  const cached = ctx.scratch.get(VIEW) as ClusterView | undefined;
  if (cached) return cached;
  const members = runMembers(await discover(ctx, signal), ctx.run);
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
  const view: ClusterView = { ...runCluster(ctx.run), engine: 'mysql', health: { level: 'OK', reasons: [] }, findings: [], nodes, worstLagSeconds: null };
  ctx.scratch.set(VIEW, view);
  return view;
}

/** Every cluster of the discovery, by its members alone: what a pick from another cluster is told. */
export async function fleetViews(ctx: Ctx, signal: AbortSignal): Promise<ClusterView[]> {
  const found = await discover(ctx, signal);
  return found.clusters.map((c) => ({
    name: c.name,
    ...(c.region !== undefined ? { region: c.region } : {}),
    ...(c.account !== undefined ? { account: c.account } : {}),
    engine: c.engine,
    health: { level: 'OK' as const, reasons: [] },
    findings: [],
    worstLagSeconds: null,
    nodes: refMembers(found, c).map((instance): NodeView => ({ instance, role: 'unknown', engine: c.engine, health: { level: 'OK', reason: '' }, lagSeconds: null, updatedAt: 0, stale: true })),
  }));
}

export const mysqlOf = (n: NodeView): MysqlFacts | undefined => (n.facts?.kind === 'mysql' ? n.facts.mysql : undefined);

export function member(n: NodeView): Member {
  const f = mysqlOf(n)!;
  return { instance: n.instance, flavour: f.flavour, version: f.version };
}

export function target(ctx: Ctx, m: Member): MysqlTarget {
  return mysqlTarget(m.instance, clientsOf(ctx, m.instance).mysqlClient, m);
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not in the plan`);
  return value;
}

export const masterOf = (ctx: Ctx) => need(ctx.state.master, 'the master');
export const candidateOf = (ctx: Ctx) => need(ctx.state.candidate, 'the candidate');

/** Does this replica host string name the node (address, name or ssh host)? */
export function names(host: string, node: Instance): boolean {
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
type OwnCredentials = { replicationCredentials?: (cluster: ScopedName) => ReplicationCredentials | undefined };

export function credentials(ctx: Ctx): ReplicationCredentials {
  const cluster = runCluster(ctx.run);
  const own = clusterSettings(ctx.config, cluster)?.replication === undefined ? (ctx.backends as OwnCredentials).replicationCredentials?.(cluster) : undefined;
  return own ?? replicationCredentials(ctx.config, cluster);
}

export function specTo(ctx: Ctx, source: Instance, replica: Member, opts: { wasMaster?: boolean } = {}): RepointSpec {
  // The plan shows the user only: describeRepoint redacts the password itself.
  const creds = credentials(ctx);
  const spec: RepointSpec = { host: hostFor(ctx, source), port: need(ctx.state.port, 'the port'), user: creds.user, password: creds.password };
  if (opts.wasMaster) spec.wasMaster = true;
  // MySQL 8's caching_sha2_password refuses a replica that never connected before over plain TCP without the key.
  if (replica.flavour === 'mysql') spec.getSourcePublicKey = true;
  return spec;
}

/** The writer record this cluster has, from the config or (the sim) the target itself. */
export function writerRef(ctx: Ctx): WriterRecordRef | undefined {
  const own = (ctx.backends as { writerDns?: (cluster: ScopedName) => WriterRecordRef | undefined }).writerDns;
  const cluster = runCluster(ctx.run);
  return clusterSettings(ctx.config, cluster)?.writerDns ?? own?.(cluster);
}

/** Where the record should point after the switch: the old master's value rewritten for the candidate. */
export function writerValues(type: WriterRecordRef['type'], values: string[], master: Instance, candidate: Instance): string[] {
  return values.map((v) => {
    const bare = v.endsWith('.') ? v.slice(0, -1) : v;
    if (type === 'A') return master.ssh?.host !== undefined && bare === master.ssh.host ? (candidate.ssh?.host ?? candidate.privateIp) : candidate.privateIp;
    if (bare.toLowerCase() === master.name.toLowerCase()) return candidate.name;
    if (bare.toLowerCase().startsWith(`${master.name.toLowerCase()}.`)) return `${candidate.name}${bare.slice(master.name.length)}`;
    return candidate.privateIp;
  });
}

/** Replicates from `source`, both threads running. */
export function replicatesFrom(f: MysqlFacts, source: Instance): boolean {
  return f.replica !== undefined && names(f.replica.sourceHost, source);
}

export const isWritableMaster = (f: MysqlFacts) => !f.readOnly && !f.superReadOnly && f.replica === undefined;

// ---------------------------------------------------------------- steps after the promotion

/** Points one node at the new master and waits for both threads to run. */
export function repointStep(id: string, title: string, pick: (ctx: Ctx) => Member, wasMaster: boolean, group?: string): MasterChangeStep {
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
    // The way back (switchover's undo): the old master stops replicating, to be made writable
    // by the read-only step's undo; any other replica follows the old master again.
    compensate: wasMaster
      ? {
          describe: (ctx) => [describeOp(target(ctx, pick(ctx)), { kind: 'reset-replica-all' })],
          async run(ctx, signal) {
            await resetReplicaAll(ctx.backends.shell, target(ctx, pick(ctx)), { signal });
          },
          async isDone(ctx, signal) {
            return (await probe(ctx, pick(ctx).instance, signal)).replica === undefined;
          },
        }
      : {
          describe: (ctx) => [describeRepoint(target(ctx, pick(ctx)), specTo(ctx, masterOf(ctx).instance, pick(ctx)))],
          async run(ctx, signal) {
            await repoint(ctx.backends.shell, target(ctx, pick(ctx)), specTo(ctx, masterOf(ctx).instance, pick(ctx)), { signal, timeoutMs: 20_000 });
          },
          async isDone(ctx, signal) {
            return replicatesFrom(await probe(ctx, pick(ctx).instance, signal), masterOf(ctx).instance);
          },
        },
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
      return { ok: true, detail: `replicating from ${candidateOf(ctx).instance.name}, lag ${lagOrUnknown(r.lagSeconds)}` };
    },
  };
}

const sameValues = (a: readonly string[], b: readonly string[]) => [...a].sort().join(',') === [...b].sort().join(',');

/**
 * `undoable`: the way back (switchover's undo) swaps the record back to the
 * old master, so it never points at a node the undo made read-only; the same
 * compare-and-swap, and never over a change someone else made.
 */
export const dnsStep = (configured: boolean, opts: { undoable?: boolean } = {}): MasterChangeStep => ({
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
    let res: { changeId: string; insyncAfterMs: number };
    try {
      res = await dns.swapRecord(before, { ...before, values: w.after }, { signal, onProgress: (s) => ctx.progress({ message: `change ${s}` }) });
    } catch (err) {
      const now = await dns.getRecord(w.ref.zoneId, w.ref.name, w.ref.type, { signal }).catch(() => undefined);
      // Our own change landed and only its answer was lost (a dropped connection): the record is where it should be.
      if (now && sameValues(now.values, w.after)) {
        ctx.output('stdout', `${w.ref.name} → ${w.after.join(', ')}: the change landed, its answer was lost (${(err as Error).message})\n`);
        return;
      }
      // The compare-and-swap refused: someone else moved the record since the plan read it.
      if (now === undefined || now === null || now.values.join(',') !== before.values.join(',')) {
        throw new StepFailed(
          `${w.ref.name} changed during the run: it is now ${now ? now.values.join(', ') : '(gone)'}, the plan read ${before.values.join(', ')}; nightshift does not overwrite another change. Settle where writes go, then point the record by hand`,
        );
      }
      throw err;
    }
    ctx.fact({ changeId: res.changeId, insyncAfterMs: res.insyncAfterMs });
    ctx.output('stdout', `${w.ref.name} → ${w.after.join(', ')}: INSYNC after ${res.insyncAfterMs} ms; resolvers holding the old answer drop it within the TTL (${before.ttl} s)\n`);
  },
  async isDone(ctx, signal) {
    const w = ctx.state.writer;
    if (!w) return true;
    const rec = await ctx.backends.dns?.getRecord(w.ref.zoneId, w.ref.name, w.ref.type, { signal });
    return rec !== undefined && rec.values.join(',') === w.after.join(',');
  },
  ...(configured && opts.undoable
    ? {
        compensate: {
          describe: (ctx: Ctx) => {
            const w = need(ctx.state.writer, 'the writer record');
            return [`Dns.swapRecord(${w.ref.zoneId} ${w.ref.name} ${w.ref.type}: DELETE [${w.after.join(', ')}] + CREATE [${w.before?.values.join(', ') ?? '?'}] in one batch), if it points at the new master`];
          },
          async run(ctx: Ctx, signal: AbortSignal) {
            const w = need(ctx.state.writer, 'the writer record');
            const before = need(w.before ?? undefined, 'the writer record');
            const dns = need(ctx.backends.dns, 'the DNS API');
            const now = await dns.getRecord(w.ref.zoneId, w.ref.name, w.ref.type, { signal });
            if (now && sameValues(now.values, before.values)) return;
            if (!now || !sameValues(now.values, w.after)) {
              throw new StepFailed(`${w.ref.name} is now ${now ? now.values.join(', ') : '(gone)'}, neither the old master's nor the new one's: someone else moved it; nightshift leaves it alone. Point it at the writable master by hand`);
            }
            await dns.swapRecord(now, { ...now, values: before.values }, { signal });
          },
          async isDone(ctx: Ctx, signal: AbortSignal) {
            const w = need(ctx.state.writer, 'the writer record');
            const now = await ctx.backends.dns?.getRecord(w.ref.zoneId, w.ref.name, w.ref.type, { signal });
            return now !== undefined && w.before !== null && sameValues(now.values, w.before.values);
          },
        },
      }
    : {}),
});

/** The role tags follow the change: the candidate is the master, the old master `oldRole`. */
export function tagsStep(oldRole: string): MasterChangeStep {
  return {
    id: 'tags',
    title: `role tags (${ROLE_TAG})`,
    danger: 'read',
    mutates: true,
    retry: { attempts: 3, backoffMs: 2_000 },
    describe: (ctx) => [
      `Inventory.setTags(${candidateOf(ctx).instance.id} (${candidateOf(ctx).instance.name}), { ${ROLE_TAG}: master })`,
      `Inventory.setTags(${masterOf(ctx).instance.id} (${masterOf(ctx).instance.name}), { ${ROLE_TAG}: ${oldRole} })`,
    ],
    async run(ctx, signal) {
      await ctx.backends.inventory.setTags(candidateOf(ctx).instance.id, { [ROLE_TAG]: 'master' }, { signal });
      await ctx.backends.inventory.setTags(masterOf(ctx).instance.id, { [ROLE_TAG]: oldRole }, { signal });
    },
    async isDone(ctx, signal) {
      const found = await ctx.backends.inventory.discover({ signal });
      const tag = (id: string) => found.instances.find((i) => i.id === id)?.tags[ROLE_TAG];
      return tag(candidateOf(ctx).instance.id) === 'master' && tag(masterOf(ctx).instance.id) === oldRole;
    },
  };
}

/**
 * A heartbeat written on the new master must reach each of `readers` within
 * `limitMs`, plus the worst replication lag among them when the step starts:
 * a replica that lags by minutes (a failover takes replicas as they are) is
 * given its lag, and the progress line says so.
 */
export function verifyStep(limitMs: number, readers: (ctx: Ctx) => Member[]): MasterChangeStep {
  return {
    id: 'verify',
    title: 'a heartbeat on the new master reaches every replica',
    danger: 'read',
    mutates: true,
    describe: (ctx) => {
      const table = ctx.config.engines.heartbeatTable ?? DEFAULT_HEARTBEAT_TABLE;
      const names = readers(ctx).map((m) => m.instance.name).join(', ');
      return [`${candidateOf(ctx).instance.name}: REPLACE INTO ${table} (server_id, ts) VALUES (@@server_id, <now>)`, `${names}: read it back, within ${limitMs / 1000} s plus the worst lag among them`];
    },
    async run(ctx, signal) {
      const table = ctx.config.engines.heartbeatTable ?? DEFAULT_HEARTBEAT_TABLE;
      const beat = await writeHeartbeat(ctx.backends.shell, target(ctx, candidateOf(ctx)), table, ctx.backends.clock.now(), { signal });
      ctx.state.heartbeat = beat;
      const started = ctx.backends.clock.now();
      const from = readers(ctx);
      const missing = new Set(from.map((r) => r.instance.name));
      const lags = await Promise.all(from.map(async (r) => (await probe(ctx, r.instance, signal).catch(() => undefined))?.replica?.lagSeconds ?? 0));
      const worstLag = Math.max(0, ...lags);
      if (worstLag > 0) ctx.output('stdout', `worst replica lag now ${lagOrUnknown(worstLag)}: the heartbeat may take that long to arrive\n`);
      await waitFor({
        clock: ctx.backends.clock,
        signal,
        what: `the heartbeat ${beat.ts} on ${[...missing].join(', ')}`,
        timeoutMs: limitMs + worstLag * 1000,
        intervalMs: 250,
        onProgress: (p) => ctx.progress(p),
        check: async (s) => {
          for (const r of from) {
            if (!missing.has(r.instance.name)) continue;
            if ((await readHeartbeat(ctx.backends.shell, target(ctx, r), beat, { signal: s })).arrived) missing.delete(r.instance.name);
          }
          if (missing.size === 0) return { done: true, value: undefined };
          return { done: false, progress: { done: from.length - missing.size, total: from.length, unit: 'items', message: `waiting on ${[...missing].join(', ')}` } };
        },
      });
      ctx.output('stdout', `heartbeat ${beat.ts} seen on ${from.map((r) => r.instance.name).join(', ')} after ${ctx.backends.clock.now() - started} ms\n`);
    },
    async isDone() {
      // Writing another heartbeat is harmless; asking again is the check.
      return false;
    },
  };
}


// ---------------------------------------------------------------- preflight both share

export const mysqlClusterCheck: Check<unknown, MasterChangeState> = {
  id: 'mysql-cluster',
  title: 'the cluster is a MySQL cluster',
  async run(ctx, signal) {
    const found = await discover(ctx, signal);
    const of = clusterOfRun(found, ctx.run);
    if (!of.ok) return { ok: false, reason: of.reason };
    const ref = of.ref;
    if (ref.engine !== 'mysql') return { ok: false, reason: `${runLabel(ctx.run)} is a ${ref.engine} cluster, not MySQL` };
    return { ok: true, detail: `${runLabel(ctx.run)}: MySQL, ${ref.instanceIds.length} nodes` };
  },
};

export const credentialsCheck: Check<unknown, MasterChangeState> = {
  id: 'credentials',
  title: 'replication credentials',
  async run(ctx) {
    try {
      return { ok: true, detail: `user ${credentials(ctx).user}` };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  },
};
