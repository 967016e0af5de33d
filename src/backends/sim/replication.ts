// Replication on the simulated fleet. Every transaction belongs to a segment
// (a run of writes by one server); a node's executed GTID set is how far it
// has got into each segment. A replica applies what its source had executed
// `delay` seconds ago (τ = t − delay), bounded by where its relay log ends
// when the IO thread is down. All of it is a function of the persisted state
// and virtual time, so reading is cheap and needs no ticking.

import type { ThreadState } from '../../domain/types.js';
import { keyOf, smoothNoise } from './prng.js';
import type { LagProfile, MysqlNode, ReplicaConfig, Segment, WorldState } from './state.js';

/**
 * Segment id -> highest seq applied. What executed() returns is never changed
 * afterwards (it is memoised, and gtid.ts caches its text), hence readonly.
 */
export type Knowledge = Readonly<Record<string, number>>;

/**
 * executed() results for the current instant and state, by node and then by
 * time. Not keyed by one `${id}@${t}` string: thousands of look-ups a refresh
 * would each build and hash a fresh string. Most nodes are asked about one
 * time only (now), so a node's first answer is kept without a Map of its own;
 * a source asked about each of its replicas' apply points gets one.
 */
export class KnowledgeMemo {
  private readonly byNode = new Map<string, { t: number; k: Knowledge; more?: Map<number, Knowledge> }>();

  get(id: string, t: number): Knowledge | undefined {
    const first = this.byNode.get(id);
    if (!first) return undefined;
    return first.t === t ? first.k : first.more?.get(t);
  }

  set(id: string, t: number, k: Knowledge): void {
    const first = this.byNode.get(id);
    if (!first) this.byNode.set(id, { t, k });
    else if (first.t === t) first.k = k;
    else (first.more ??= new Map()).set(t, k);
  }

  clear(): void {
    this.byNode.clear();
  }
}

/** What replication needs to know about the world besides its state. */
export interface ReplEnv {
  w: WorldState;
  /** mysqld answers (its host is up and it runs). */
  mysqlUp(id: string): boolean;
  nodeByIp(host: string): string | undefined;
  membersOf(cluster: string): string[];
  /** Results of executed() for the current instant; the world clears it whenever state or time moves. */
  memo?: KnowledgeMemo;
}

const MAX_DEPTH = 4;

export function seqAt(seg: Segment, t: number): number {
  if (t < seg.startT) return seg.startSeq;
  const end = seg.endT === null ? t : Math.min(t, seg.endT);
  return seg.startSeq + seg.bonus + Math.floor((seg.rate * (end - seg.startT)) / 1000);
}

/** The lag a replica would have on its own, in seconds; its slope stays under 1 s/s so replicas never un-apply. */
export function naturalDelayAt(profile: LagProfile, seed: number, id: string, t: number): number {
  const key = keyOf(id);
  const jitter = 0.3 + 0.35 * (smoothNoise(seed, key, t, 45_000) + 1);
  switch (profile.kind) {
    case 'steady':
      return jitter;
    case 'wave': {
      const s = Math.max(0, Math.sin(2 * Math.PI * (t / profile.periodMs + profile.phase)));
      return jitter + profile.peak * s * s;
    }
    case 'high':
      return profile.level * (1 + 0.25 * smoothNoise(seed, key ^ 0x5bd1e995, t, 1_800_000));
    case 'stuck':
      return profile.initial + Math.max(0, t - profile.since) / 1000;
  }
}

export function delayAt(w: WorldState, id: string, t: number): number {
  const node = w.mysql[id]!;
  let delay = naturalDelayAt(node.lag, w.seed, id, t);
  const c = node.replica?.catchup;
  if (c) delay = Math.max(delay, c.seconds - (Math.max(0, t - c.at) / 1000) * c.rate);
  return delay;
}

export function sourceOf(env: ReplEnv, id: string): string | undefined {
  const r = env.w.mysql[id]?.replica;
  return r ? env.nodeByIp(r.sourceHost) : undefined;
}

export function sqlApplying(env: ReplEnv, id: string): boolean {
  const r = env.w.mysql[id]?.replica;
  return !!r && r.sql && !r.sqlError && env.mysqlUp(id);
}

/** Where a replica stands at t, as SHOW REPLICA STATUS reports it. */
export interface ReplicaProgress {
  /** The instance the source address names, if any. */
  source: string | undefined;
  io: ThreadState;
  /** The SQL thread runs without error on a running server. */
  applying: boolean;
  /** Source time at which the relay log ends, when the IO thread is not fetching. */
  relayEnd: number | undefined;
  /** τ: the source time up to which the replica has applied; null when it is not applying. */
  applyPoint: number | null;
  /** Seconds_Behind_Master / _Source: null when the SQL thread is stopped, or idle with the IO thread down. */
  lag: number | null;
}

/** All of a replica's progress at once: a probe needs every part, and they share the source and the delay. */
export function replicaProgress(env: ReplEnv, id: string, r: ReplicaConfig, t: number): ReplicaProgress {
  const source = env.nodeByIp(r.sourceHost);
  const up = env.mysqlUp(id);
  const applying = r.sql && !r.sqlError && up;
  const relayEnd = relayEndOf(env, r, source);
  let io: ThreadState = 'Yes';
  if (!r.io || r.ioError || !up) io = 'No';
  else if (source === undefined || !env.mysqlUp(source)) io = 'Connecting';
  if (!applying || source === undefined) return { source, io, applying, relayEnd, applyPoint: null, lag: null };
  const delay = delayAt(env.w, id, t);
  const tau = t - delay * 1000;
  return {
    source,
    io,
    applying,
    relayEnd,
    applyPoint: relayEnd === undefined ? tau : Math.min(tau, relayEnd),
    // Idle: everything in the relay log is applied and nothing more arrives.
    lag: relayEnd !== undefined && tau >= relayEnd ? null : Math.max(0, Math.floor(delay)),
  };
}

function relayEndOf(env: ReplEnv, r: ReplicaConfig, source: string | undefined): number | undefined {
  if (!r.io) return r.ioStoppedAt ?? r.connectedAt;
  if (r.ioError) return r.ioError.at;
  if (source === undefined) return r.connectedAt;
  return env.w.mysql[source]?.downSince;
}

/** τ (see ReplicaProgress), for a replica whose source address names `source`. */
function applyPointOf(env: ReplEnv, id: string, r: ReplicaConfig, source: string, t: number): number | null {
  if (!r.sql || r.sqlError || !env.mysqlUp(id)) return null;
  const tau = t - delayAt(env.w, id, t) * 1000;
  const end = relayEndOf(env, r, source);
  return end === undefined ? tau : Math.min(tau, end);
}

export function executed(env: ReplEnv, id: string, t: number, depth = 0): Knowledge {
  const hit = env.memo?.get(id, t);
  if (hit) return hit;
  const k = computeExecuted(env, id, t, depth);
  env.memo?.set(id, t, k);
  return k;
}

function computeExecuted(env: ReplEnv, id: string, t: number, depth: number): Knowledge {
  const node = env.w.mysql[id];
  if (!node) return {};
  const out: Record<string, number> = { ...node.base };
  const until = node.downSince !== undefined ? Math.min(t, node.downSince) : t;
  for (const sid of node.ownSegments) {
    const seg = env.w.segments[sid]!;
    const v = seqAt(seg, until);
    if (v > (out[sid] ?? seg.startSeq)) out[sid] = v;
  }
  if (depth >= MAX_DEPTH || node.downSince !== undefined || !node.replica) return out;
  const source = env.nodeByIp(node.replica.sourceHost);
  if (source === undefined) return out;
  const tau = applyPointOf(env, id, node.replica, source, t);
  if (tau === null) return out;
  const src = sourceAt(env, source, tau, depth + 1);
  for (const sid in src) {
    const seg = env.w.segments[sid]!;
    if (src[sid]! > (out[sid] ?? seg.startSeq)) out[sid] = src[sid]!;
  }
  return out;
}

/**
 * What `source` had executed at τ, as a replica reading it then saw it. The
 * source's materialised knowledge may be newer than τ (it was frozen later);
 * nothing can be ahead of the segment itself at τ.
 */
export function sourceAt(env: ReplEnv, source: string, tau: number, depth = 0): Knowledge {
  const src = executed(env, source, tau, depth);
  const out: Record<string, number> = {};
  for (const sid in src) out[sid] = Math.min(src[sid]!, seqAt(env.w.segments[sid]!, tau));
  return out;
}

/** How far behind (in source seconds) a replica is when it (re)starts applying from `source`. */
export function backlogSeconds(env: ReplEnv, id: string, source: string, t: number): number {
  const mine = executed(env, id, t);
  const theirs = executed(env, source, t);
  let worst = 0;
  for (const sid in theirs) {
    const seg = env.w.segments[sid]!;
    const missing = theirs[sid]! - Math.max(mine[sid] ?? seg.startSeq, seg.startSeq);
    if (missing <= 0) continue;
    // A closed history segment is applied at full speed; a live one at the pace it was written.
    const secs = seg.rate > 0 ? missing / seg.rate : missing / 2000;
    worst = Math.max(worst, secs);
  }
  return worst;
}

/** Freezes what each node has applied as of `at`, before anything about replication changes. */
export function materialize(env: ReplEnv, ids: Iterable<string>, at: number): void {
  const snapshots: Array<[MysqlNode, Knowledge]> = [];
  for (const id of ids) {
    const node = env.w.mysql[id];
    if (node) snapshots.push([node, executed(env, id, at)]);
  }
  for (const [node, k] of snapshots) {
    node.base = { ...k };
    node.baseAt = Math.max(node.baseAt, at);
  }
}

/** Every MySQL node of a cluster, plus replicas elsewhere that replicate from it. */
export function affected(env: ReplEnv, cluster: string): string[] {
  const ids = new Set(env.membersOf(cluster).filter((id) => env.w.mysql[id]));
  for (const id in env.w.mysql) {
    const src = sourceOf(env, id);
    if (src && ids.has(src)) ids.add(id);
  }
  return [...ids];
}

export function isAppWriter(env: ReplEnv, id: string): boolean {
  const inst = env.w.instances[id];
  if (!inst) return false;
  const key = env.w.clusters[inst.cluster]?.writerDns;
  const rec = key ? env.w.dns[key] : undefined;
  return !!rec && rec.values.includes(inst.privateIp);
}

/** The next seq this node would give a transaction it writes. */
export function nextSeq(env: ReplEnv, id: string, at: number): number {
  const node = env.w.mysql[id]!;
  let max = 0;
  if (node.flavour === 'mysql') {
    for (const sid of node.ownSegments) max = Math.max(max, seqAt(env.w.segments[sid]!, at));
    return max;
  }
  const k = executed(env, id, at);
  for (const sid in k) if (env.w.segments[sid]!.domain === 0) max = Math.max(max, k[sid]!);
  return max;
}

/**
 * Opens and closes write segments so they match who takes writes now: the
 * node the writer record points at (application traffic) and any writable
 * node with stray clients, as long as it is writable and up.
 */
export function updateWriters(env: ReplEnv, cluster: string, at: number): void {
  const c = env.w.clusters[cluster];
  if (!c || c.engine !== 'mysql') return;
  for (const id of env.membersOf(cluster)) {
    const node = env.w.mysql[id];
    if (!node) continue;
    const wanted = !node.readOnly && env.mysqlUp(id) ? (isAppWriter(env, id) ? c.appRate : 0) + node.strayRate : 0;
    const open = openSegment(env.w, node);
    if (open && open.rate === wanted) continue;
    const start = nextSeq(env, id, at);
    if (open) open.endT = Math.max(open.startT, at);
    if (wanted > 0) openNew(env.w, id, cluster, start, at, wanted, 0);
  }
}

export function openSegment(w: WorldState, node: MysqlNode): Segment | undefined {
  const last = node.ownSegments[node.ownSegments.length - 1];
  const seg = last ? w.segments[last] : undefined;
  return seg && seg.endT === null ? seg : undefined;
}

function openNew(w: WorldState, id: string, cluster: string, startSeq: number, at: number, rate: number, bonus: number): Segment {
  const node = w.mysql[id]!;
  const seg: Segment = {
    id: `s${++w.counters.segment}`,
    node: id,
    cluster,
    serverId: node.serverId,
    domain: 0,
    startSeq,
    bonus,
    startT: at,
    rate,
    endT: rate > 0 ? null : at,
  };
  if (node.flavour === 'mysql') seg.uuid = node.serverUuid;
  w.segments[seg.id] = seg;
  node.ownSegments.push(seg.id);
  return seg;
}

/** A client transaction on this node (a heartbeat row, an operator's INSERT): one GTID of its own. */
export function recordWrite(env: ReplEnv, id: string, at: number): { segment: string; seq: number } {
  const inst = env.w.instances[id]!;
  const node = env.w.mysql[id]!;
  const start = nextSeq(env, id, at);
  const open = openSegment(env.w, node);
  if (open) open.endT = Math.max(open.startT, at);
  const seg = openNew(env.w, id, inst.cluster, start, at, 0, 1);
  if (open) openNew(env.w, id, inst.cluster, start + 1, at, open.rate, 0);
  // A node has this transaction once its knowledge of the segment reaches seq.
  return { segment: seg.id, seq: start + 1 };
}

/** Transactions in the node's own binary log, for coordinates. */
export function binlogTransactions(env: ReplEnv, id: string, k: Knowledge): number {
  const node = env.w.mysql[id]!;
  let n = 0;
  for (const sid in k) {
    const seg = env.w.segments[sid]!;
    if (seg.node !== id && !node.logReplicaUpdates) continue;
    n += Math.max(0, k[sid]! - seg.startSeq);
  }
  return n;
}
