// The simulated world: state + virtual clock + persistence. Every port of the
// simulated backend reads through `view()` (fresh from disk if another process
// changed it, with due time-driven transitions applied) and writes through
// `mutate()` (a short cross-process critical section: re-read, change, write).

import type { EngineKind, Instance } from '../../domain/types.js';
import { VirtualClock } from './clock.js';
import { SIM_EPOCH, TAGS, addMysqlLaunchTemplates, addressOf, generateFleet, instanceId, isoSeconds } from './fleet.js';
import { Prng, hash32 } from './prng.js';
import {
  affected,
  backlogSeconds,
  delayAt,
  KnowledgeMemo,
  materialize,
  sourceOf,
  updateWriters,
  type ReplEnv,
} from './replication.js';
import { cassandraStopped, hostWentDown, nextJobEventAt, playJobs } from './jobs.js';
import { applyScenario } from './scenarios.js';
import { JOIN_MS, NEVER, azBack, checkHealth, derivedGroupTags, joinRing, landed, ringJoined, watchHealth } from './asg.js';
import { fillDisk, releaseSnapshots, snapshotHeld, unfillDisk } from './volumes.js';
import { StateFile, statePathOf } from './state-file.js';
import { STATE_FORMAT, type Fault, type JobStartRecord, type RepairRecord, type SimJob, type StoredFault, type Transition, type WorldState } from './state.js';

export interface SimWorldOptions {
  scenario: string;
  seed: number;
  speed: number;
  nodes?: number;
  /** How many regions the fleet spreads over (1 when absent: a world without regions). */
  regions?: number;
  stateDir: string;
  /** Wall clock, injectable so tests control real elapsed time. */
  realNow?: () => number;
}

export type SshState = 'ok' | 'refused' | 'timeout' | 'gone';

type SimInstance = WorldState['instances'][string];


export class SimWorld {
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number | null;
  /** The regions it models, when several; empty for a one-region world. */
  readonly regions: readonly string[];
  readonly clock: VirtualClock;
  readonly statePath: string;
  readonly stateDir: string;
  private state: WorldState;
  private readonly file: StateFile;
  private readonly realNow: () => number;
  private version = 0;
  private indexVersion = -1;
  /** Address, Name or instance id -> instance id, in that order of precedence (see index()). */
  private byHost = new Map<string, string>();
  /** Names (the Name tag) that live instances in two regions share, with their ids: a Name alone does not say which. */
  private sharedNames = new Map<string, string[]>();
  private members = new Map<string, string[]>();
  private nodeFaults = new Map<string, Set<Fault['kind']>>();
  private azDown = new Set<string>();
  private readonly replEnv: ReplEnv;

  private constructor(opts: SimWorldOptions, file: StateFile, state: WorldState, virtualNow: number) {
    this.scenario = opts.scenario;
    this.seed = opts.seed;
    this.nodes = opts.nodes ?? null;
    this.regions = state.regions ?? [];
    this.stateDir = opts.stateDir;
    this.statePath = file.path;
    this.file = file;
    this.state = state;
    this.realNow = opts.realNow ?? Date.now;
    this.clock = new VirtualClock(virtualNow, opts.speed, this.realNow);
    this.replEnv = {
      w: state,
      mysqlUp: (id) => this.mysqlUp(id),
      nodeByIp: (host) => this.nodeByHost(host),
      membersOf: (cluster) => this.membersOf(cluster),
      memo: new KnowledgeMemo(),
    };
  }

  /** Opens the world of (scenario, seed), creating it from the generator on first use. */
  static open(opts: SimWorldOptions): SimWorld {
    const nodes = opts.nodes ?? null;
    const regions = opts.regions ?? 1;
    const file = new StateFile(statePathOf(opts.stateDir, opts.scenario, opts.seed, nodes, regions));
    const realNow = opts.realNow ?? Date.now;
    let state = upgrade(file.read());
    let created = false;
    if (!state) {
      state = file.exclusive(() => {
        const existing = file.read();
        if (existing) return existing;
        created = true;
        return SimWorld.generate(opts.scenario, opts.seed, nodes, regions);
      });
    }
    SimWorld.check(state, file.path, opts);
    // Time went on while nobody watched, at real pace: a restarted console finds the fleet as a real one would.
    const virtualNow = created ? SIM_EPOCH : state.clock.virtualMs + Math.max(0, realNow() - state.clock.realMs);
    const world = new SimWorld(opts, file, state, virtualNow);
    if (created) world.file.exclusive(() => world.save(world.clock.now()));
    return world;
  }

  private static generate(scenario: string, seed: number, nodes: number | null, regions: number): WorldState {
    const state = generateFleet(scenario, seed, nodes, regions);
    // Scenarios bend the generated fleet through the same operations faults use.
    const scratch = new SimWorld(
      { scenario, seed, speed: 1, stateDir: '', realNow: () => 0 },
      new StateFile(''),
      state,
      SIM_EPOCH,
    );
    applyScenario(scenario, scratch, new Prng(hash32(seed, 7)));
    scratch.clock.dispose();
    return state;
  }

  private static check(state: WorldState, path: string, opts: SimWorldOptions): void {
    const regions = state.regions?.length ?? 1;
    if (state.format !== STATE_FORMAT || state.scenario !== opts.scenario || state.seed !== opts.seed || regions !== (opts.regions ?? 1)) {
      throw new Error(`${path} holds a different simulated world (format ${state.format}, scenario ${state.scenario}, seed ${state.seed}, ${regions} region${regions === 1 ? '' : 's'}); start afresh with: nightshift sim reset --scenario ${opts.scenario} --seed ${opts.seed}`);
    }
  }

  // ------------------------------------------------------------ time

  /**
   * Virtual now, frozen for the rest of the current event-loop turn: the
   * thousands of probes of one refresh all see one consistent instant, and
   * reading the clock costs nothing after the first time.
   */
  now(): number {
    if (this.turnNow === undefined) {
      this.turnNow = this.clock.now();
      this.endTurnSoon();
    }
    return this.turnNow;
  }

  private turnNow: number | undefined;
  private turnFresh = false;
  private turnScheduled = false;

  private endTurnSoon(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.newTurn();
    });
  }

  private newTurn(): void {
    this.turnNow = undefined;
    this.turnFresh = false;
    this.replEnv.memo?.clear();
    this.turnCache.clear();
  }

  /**
   * Answers that hold for the current instant and state (a ring's `nodetool
   * status` is the same from every member). Keys may be state objects (a
   * ring): they are only ever compared within one state.
   */
  readonly turnCache = new Map<unknown, unknown>();

  /** Moves virtual time forward (tests, rehearsal fast-forward); sleepers that are due wake up. */
  advance(ms: number): void {
    this.newTurn();
    this.clock.advance(ms);
    this.file.exclusive(() => {
      if (this.file.changed(true)) this.reload();
      const before = this.version;
      this.settle(this.now());
      // Fsynced only when something happened: a fast-forward of the clock alone is cheap to lose.
      this.save(this.now(), this.version !== before);
    });
  }

  // ------------------------------------------------------------ reading and writing

  /** The state as of now; treat it as read-only. */
  view(): WorldState {
    if (this.turnFresh) return this.state;
    if (this.file.changed()) this.reload();
    this.settle(this.now());
    this.turnFresh = true;
    this.endTurnSoon();
    return this.state;
  }

  /** Changes the world in a cross-process critical section and writes it back. */
  mutate<T>(fn: (w: WorldState, t: number) => T): T {
    return this.file.exclusive(() => {
      if (this.file.changed(true)) this.reload();
      this.newTurn();
      const t = this.now();
      this.settle(t);
      const out = fn(this.state, t);
      this.newTurn();
      this.bump();
      this.save(t);
      return out;
    });
  }

  get env(): ReplEnv {
    return this.replEnv;
  }

  /** Bumped on every change; caches key on it. */
  get stateVersion(): number {
    return this.version;
  }

  private reload(): void {
    const next = upgrade(this.file.read());
    if (!next) return;
    this.state = next;
    this.replEnv.w = next;
    this.clock.catchUp(next.clock.virtualMs + Math.max(0, this.realNow() - next.clock.realMs));
    this.newTurn();
    this.bump();
  }

  private save(t: number, durable = true): void {
    if (!this.file.path) return;
    this.state.clock = { virtualMs: t, realMs: this.realNow() };
    this.file.write(this.state, durable);
  }

  /** After a change made outside mutate's callback (a job's schedule played out in settle): caches and indexes are stale. */
  bump(): void {
    this.version++;
    this.replEnv.memo?.clear();
    this.turnCache.clear();
  }

  /** Forgets cached replication results after a change that rewrites what a node has applied. */
  forget(): void {
    this.replEnv.memo?.clear();
  }

  // ------------------------------------------------------------ indexes

  private index(): void {
    if (this.indexVersion === this.version) return;
    this.indexVersion = this.version;
    this.members = new Map();
    // One map answers every host a command names. Later entries win, so an address beats a Name,
    // which beats an id; terminated instances are still found by id, never by address or Name.
    // Instances are only added by launchInstance, which bumps the version.
    this.byHost = new Map();
    this.sharedNames = new Map();
    for (const id in this.state.instances) this.byHost.set(id, id);
    const live = this.state.order.filter((id) => this.state.instances[id]!.state !== 'terminated');
    for (const id of live) this.byHost.set(this.state.instances[id]!.name, id);
    if (this.regions.length > 0) {
      // Two regions' `orders-db-01`: a host given by that Name is in neither (as a VPC's DNS resolves its own region's
      // names only, and a fault must not land on the wrong one); the address or the id says which.
      const byName = new Map<string, string[]>();
      for (const id of live) {
        const name = this.state.instances[id]!.name;
        const ids = byName.get(name);
        if (ids) ids.push(id);
        else byName.set(name, [id]);
      }
      for (const [name, ids] of byName) {
        if (ids.length < 2) continue;
        this.sharedNames.set(name, ids);
        this.byHost.delete(name);
      }
    }
    for (const id of live) {
      const inst = this.state.instances[id]!;
      this.byHost.set(inst.privateIp, id);
      let list = this.members.get(inst.cluster);
      if (!list) this.members.set(inst.cluster, (list = []));
      list.push(id);
    }
    this.nodeFaults = new Map();
    this.azDown = new Set();
    for (const f of this.state.faults) {
      if (f.kind === 'az-outage') this.azDown.add(f.az);
      else if (f.kind !== 'snapshot-stuck' && f.kind !== 'api-throttled' && f.node) {
        let set = this.nodeFaults.get(f.node);
        if (!set) this.nodeFaults.set(f.node, (set = new Set()));
        set.add(f.kind);
      }
    }
  }

  nodeByHost(host: string): string | undefined {
    this.index();
    return this.byHost.get(host);
  }

  /** The live members of a cluster, by its key (clusterKey: `eu-west-1/orders-db` in a world of several regions). */
  membersOf(cluster: string): string[] {
    this.index();
    return this.members.get(cluster) ?? [];
  }

  /** Instance id from an id, a Name or an address; throws naming what was not found, or the instances a shared Name names. */
  resolve(ref: string): string {
    const id = this.nodeByHost(ref) ?? (this.state.instances[ref] ? ref : undefined);
    if (id) return id;
    const shared = this.sharedNames.get(ref);
    if (shared) {
      const which = shared.map((i) => `${i} (${this.state.instances[i]!.privateIp}, ${this.state.instances[i]!.region ?? 'no region'})`).join(', ');
      throw new Error(`the simulated instance name "${ref}" is in ${shared.length} regions: ${which}; name one by its id or address`);
    }
    throw new Error(`no simulated instance "${ref}"`);
  }

  hasFault(id: string, kind: Fault['kind']): boolean {
    this.index();
    return this.nodeFaults.get(id)?.has(kind) ?? false;
  }

  hostUp(id: string): boolean {
    const inst = this.state.instances[id];
    if (!inst || inst.state !== 'running') return false;
    this.index();
    // Isolated (Compute.isolate): running, but nothing new reaches it, so to every prober and peer it is a hung host.
    return !this.azDown.has(inst.az) && !this.hasFault(id, 'kill-node') && inst.net?.isolatedIn === undefined;
  }

  sshState(id: string): SshState {
    const inst = this.state.instances[id];
    if (!inst || inst.state === 'terminated') return 'gone';
    if (!this.hostUp(id)) return 'timeout';
    return this.hasFault(id, 'ssh-refused') ? 'refused' : 'ok';
  }

  mysqlUp(id: string): boolean {
    return !!this.state.mysql[id] && this.hostUp(id) && !this.hasFault(id, 'stop-mysqld');
  }

  cassandraUp(id: string): boolean {
    return !!this.state.cassandra[id] && this.hostUp(id) && !this.hasFault(id, 'stop-cassandra');
  }

  // ------------------------------------------------------------ test and rehearsal API

  /** Every instance, as Inventory would list it (terminated ones included). */
  instances(): Instance[] {
    const w = this.view();
    return w.order.map((id) => toInstance(w.instances[id]!));
  }

  /** Injects a fault now (see Fault); `node` may be an instance id, a Name or an address. */
  inject(fault: Fault): void {
    this.mutate((_, t) => this.applyFault(fault, t));
  }

  /** Clears the faults of one node (or all of them) and restarts replication threads stopped by an error. */
  heal(node?: string): void {
    this.mutate((w, t) => {
      const id = node === undefined ? undefined : w.volumes[node] || w.asgs[node] ? node : this.resolve(node);
      const touched = new Set<string>();
      const keep: StoredFault[] = [];
      for (const f of w.faults) {
        const hit =
          id === undefined ||
          ('node' in f && f.node === id) ||
          (f.kind === 'snapshot-stuck' && f.volume === node) ||
          (f.kind === 'replacement-unhealthy' && f.group === node);
        if (!hit) {
          keep.push(f);
          continue;
        }
        if (f.kind === 'az-outage') for (const m of w.order) if (w.instances[m]!.az === f.az) touched.add(m);
        if ('node' in f && f.node) touched.add(f.node);
      }
      const removed = w.faults.filter((f) => !keep.includes(f));
      w.faults = keep;
      this.bump();
      for (const f of removed) {
        if (f.kind === 'disk-full') unfillDisk(w, f.node);
        if (f.kind === 'snapshot-stuck') releaseSnapshots(this, w, f.volume, t);
        // A replacement held in bootstrap finishes it now.
        const held = f.kind === 'replacement-unhealthy' ? f.node : undefined;
        const c = held !== undefined ? w.cassandra[held] : undefined;
        if (held !== undefined && c?.joiningUntil === NEVER) {
          c.joiningUntil = t + JOIN_MS;
          this.schedule({ at: c.joiningUntil, kind: 'ring-joined', id: held });
        }
      }
      if (removed.some((f) => f.kind === 'az-outage')) azBack(this, w, t);
      for (const m of touched) {
        const inst = w.instances[m]!;
        if (inst.state === 'running') inst.statusChecks = 'ok';
        const node = w.mysql[m];
        if (node?.lagBefore) {
          materialize(this.env, affected(this.env, inst.cluster), t);
          const behind = delayAt(w, m, t);
          node.lag = node.lagBefore;
          delete node.lagBefore;
          if (node.replica) node.replica.catchup = { at: t, seconds: behind, rate: 1 };
        }
      }
      const ids = id === undefined ? Object.keys(w.mysql) : [id];
      for (const m of ids) {
        const r = w.mysql[m]?.replica;
        if (!r || (!r.sqlError && !r.ioError)) continue;
        materialize(this.env, affected(this.env, w.instances[m]!.cluster), t);
        delete r.sqlError;
        delete r.ioError;
        r.sql = true;
        r.io = true;
        this.startApplying(m, t);
      }
      this.markLiveness(touched, t);
    });
  }

  /** Removes one kind of persistent fault from a node (a service started again, a host back). */
  clearFault(node: string, kind: Fault['kind']): void {
    this.mutate((w, t) => {
      const id = this.resolve(node);
      const before = w.faults.length;
      w.faults = w.faults.filter((f) => !(f.kind === kind && 'node' in f && f.node === id));
      if (w.faults.length === before) return;
      this.bump();
      const inst = w.instances[id]!;
      if (kind === 'kill-node' && inst.state === 'running') inst.statusChecks = 'ok';
      this.markLiveness([id], t);
    });
  }

  faults(): StoredFault[] {
    return this.view().faults.map((f) => ({ ...f }));
  }

  repairs(): RepairRecord[] {
    return this.view().repairs.map((r) => ({ ...r }));
  }

  /** Every job start, oldest first: a job id started twice on one node shows up twice here. */
  jobStarts(): JobStartRecord[] {
    return this.view().jobStarts.map((r) => ({ ...r }));
  }

  /** The jobs on the world's nodes as of now (a copy). */
  jobs(): SimJob[] {
    return Object.values(this.view().jobs).map((j) => structuredClone(j));
  }

  /** The writer DNS record of a MySQL cluster (by its key: clusterKey), for configs and runbooks. */
  writerRecord(cluster: string): { zoneId: string; name: string; type: 'A' } | undefined {
    const key = this.view().clusters[cluster]?.writerDns;
    const rec = key ? this.state.dns[key] : undefined;
    return rec ? { zoneId: rec.zoneId, name: rec.name, type: 'A' } : undefined;
  }

  // ------------------------------------------------------------ internals shared with the ports

  /** Applies a fault as of virtual time `at` (scenarios use past times). */
  applyFault(fault: Fault, at: number): void {
    const w = this.state;
    if (fault.kind === 'az-outage') {
      w.faults.push({ ...fault, since: at });
      this.bump();
      const hit = w.order.filter((id) => w.instances[id]!.az === fault.az && w.instances[id]!.state === 'running');
      for (const id of hit) w.instances[id]!.statusChecks = 'impaired';
      this.markLiveness(hit, at, true);
      hostWentDown(w, hit, at);
      return;
    }
    if (fault.kind === 'repair-fails') {
      const stored = { ...fault, since: at };
      if (fault.node !== undefined) stored.node = this.resolve(fault.node);
      w.faults.push(stored);
      this.bump();
      return;
    }
    if (fault.kind === 'snapshot-stuck') {
      if (!w.volumes[fault.volume]) throw new Error(`no simulated volume "${fault.volume}"`);
      w.faults.push({ ...fault, since: at });
      this.bump();
      return;
    }
    if (fault.kind === 'backup-fails') {
      w.faults.push({ ...fault, node: this.resolve(fault.node), since: at });
      this.bump();
      return;
    }
    if (fault.kind === 'replacement-unhealthy') {
      const group = w.asgs[fault.group] ? fault.group : w.clusters[fault.group]?.asg;
      if (!group || !w.asgs[group]) {
        throw new Error(`no simulated Auto Scaling group "${fault.group}" (a group or a cluster name; groups: ${Object.keys(w.asgs).join(', ')})`);
      }
      w.faults.push({ kind: fault.kind, group, since: at });
      this.bump();
      return;
    }
    if (fault.kind === 'api-throttled') {
      if (fault.region !== undefined && !this.regions.includes(fault.region)) {
        const modelled = this.regions.length > 0 ? `its regions: ${this.regions.join(', ')}` : 'it models one region, which has no name (open it with --regions 2 or more)';
        throw new Error(`the simulated fleet has no region "${fault.region}"; ${modelled}`);
      }
      w.faults.push({ ...fault, since: at });
      this.bump();
      return;
    }
    if (fault.kind === 'disk-full') {
      const id = this.resolve(fault.node);
      fillDisk(w, id, fault.path);
      w.faults.push({ ...fault, node: id, since: at });
      this.bump();
      return;
    }
    const id = this.resolve(fault.node);
    const inst = w.instances[id]!;
    const node = w.mysql[id];
    switch (fault.kind) {
      case 'kill-node':
      case 'ssh-refused':
      case 'stop-mysqld':
      case 'stop-cassandra':
        w.faults.push({ ...fault, node: id, since: at });
        this.bump();
        if (fault.kind === 'kill-node') inst.statusChecks = 'impaired';
        this.markLiveness([id], at, true);
        if (fault.kind === 'kill-node') {
          hostWentDown(w, [id], at);
          watchHealth(this, w, [id], at);
        }
        if (fault.kind === 'stop-cassandra') cassandraStopped(w, id, at);
        return;
      case 'io-stuck':
        w.faults.push({ ...fault, node: id, since: at });
        this.bump();
        if (node?.replica && node.lag.kind !== 'stuck') {
          materialize(this.env, affected(this.env, inst.cluster), at);
          node.lagBefore = node.lag;
          node.lag = { kind: 'stuck', since: at, initial: delayAt(w, id, at) };
        }
        return;
      case 'stop-sql-thread': {
        const r = this.replicaOf(id);
        materialize(this.env, affected(this.env, inst.cluster), at);
        r.sqlError = { ...(fault.error ?? duplicateKeyError(node!)), at };
        return;
      }
      case 'stop-io-thread': {
        const r = this.replicaOf(id);
        materialize(this.env, affected(this.env, inst.cluster), at);
        r.ioError = { ...(fault.error ?? { code: 1236, message: 'Got fatal error 1236 from master when reading data from binary log: \'Could not find GTID state requested by slave in any binlog files\'' }), at };
        r.ioStoppedAt = at;
        return;
      }
      case 'lag': {
        const r = this.replicaOf(id);
        materialize(this.env, affected(this.env, inst.cluster), at);
        r.catchup = { at, seconds: fault.seconds, rate: fault.hold ? 0 : 0.5 };
        return;
      }
    }
  }

  private replicaOf(id: string) {
    const r = this.state.mysql[id]?.replica;
    if (!r) throw new Error(`${this.state.instances[id]?.name ?? id} is not a MySQL replica`);
    return r;
  }

  /**
   * After a node went down or came back: freeze or resume what depends on it.
   * Relay logs of its replicas end where it went down; when it returns they
   * fetch the backlog and catch up over time instead of jumping.
   */
  markLiveness(ids: Iterable<string>, at: number, force = false): void {
    const w = this.state;
    const clusters = new Set<string>();
    for (const id of ids) {
      const node = w.mysql[id];
      if (!node) continue;
      const up = this.mysqlUp(id);
      if (up === (node.downSince === undefined) && !force) continue;
      const cluster = w.instances[id]!.cluster;
      materialize(this.env, affected(this.env, cluster), at);
      clusters.add(cluster);
      if (!up && node.downSince === undefined) node.downSince = at;
      if (up && node.downSince !== undefined) {
        delete node.downSince;
        if (node.replica) this.startApplying(id, at);
        for (const other in w.mysql) if (sourceOf(this.env, other) === id) this.startApplying(other, at);
      }
    }
    for (const c of clusters) updateWriters(this.env, c, at);
  }

  /** A replica (re)starts applying: it is as far behind as its backlog says, and catches up. */
  startApplying(id: string, at: number): void {
    const r = this.state.mysql[id]?.replica;
    const src = sourceOf(this.env, id);
    if (!r || src === undefined) return;
    const behind = backlogSeconds(this.env, id, src, at);
    r.catchup = { at, seconds: behind, rate: 1.5 };
  }

  // ------------------------------------------------------------ time-driven changes

  schedule(t: Transition): void {
    const list = this.state.transitions;
    let i = list.length;
    while (i > 0 && list[i - 1]!.at > t.at) i--;
    list.splice(i, 0, t);
  }

  /**
   * Applies what time brought up to `t`, in time order: transitions, and the
   * output of jobs on their schedules (a job's check sees the world as it
   * was at its own time, a node stopped before it included).
   */
  private settle(t: number): void {
    const list = this.state.transitions;
    for (;;) {
      const transitionAt = list.length > 0 ? list[0]!.at : Infinity;
      const jobAt = nextJobEventAt(this.state);
      const at = Math.min(transitionAt, jobAt);
      if (at > t) return;
      this.bump();
      if (transitionAt <= jobAt) this.applyTransition(list.shift()!);
      else playJobs(this, this.state, at);
    }
  }

  private applyTransition(tr: Transition): void {
    const w = this.state;
    switch (tr.kind) {
      case 'instance-running': {
        const inst = w.instances[tr.id];
        if (!inst || inst.state !== 'pending') return;
        inst.state = 'running';
        const c = w.cassandra[tr.id];
        if (c) {
          c.joiningUntil = this.hasFault(tr.id, 'replacement-unhealthy') ? NEVER : tr.at + JOIN_MS;
          // A node its group launched bootstraps as it boots, in the place of a dead member.
          if (inst.asg) joinRing(this, w, tr.id);
        }
        this.markLiveness([tr.id], tr.at);
        return;
      }
      case 'status-ok': {
        const inst = w.instances[tr.id];
        if (!inst || inst.state !== 'running' || this.hasFault(tr.id, 'kill-node')) return;
        // A replacement that never becomes healthy: a Cassandra one stays UJ instead (see instance-running).
        if (this.hasFault(tr.id, 'replacement-unhealthy') && !w.cassandra[tr.id]) {
          inst.statusChecks = 'impaired';
          watchHealth(this, w, [tr.id], tr.at);
        } else {
          inst.statusChecks = 'ok';
        }
        return;
      }
      case 'instance-stopped': {
        const inst = w.instances[tr.id];
        if (inst && inst.state === 'stopping') inst.state = 'stopped';
        return;
      }
      case 'instance-terminated': {
        const inst = w.instances[tr.id];
        if (!inst) return;
        inst.state = 'terminated';
        if (inst.asg) {
          const g = w.asgs[inst.asg];
          if (g) {
            g.members = g.members.filter((m) => m !== tr.id);
            delete g.lifecycle[tr.id];
            delete g.isProtected[tr.id];
            if (g.unhealthySince) delete g.unhealthySince[tr.id];
            if (g.rebalancing === tr.id) delete g.rebalancing;
          }
        }
        return;
      }
      case 'in-service':
        landed(this, w, tr.id, tr.at);
        return;
      case 'asg-health':
        checkHealth(this, w, tr.id, tr.at);
        return;
      case 'ring-joined':
        ringJoined(w, tr.id, tr.at);
        return;
      case 'volume-available': {
        const v = w.volumes[tr.id];
        if (v && (v.state === 'creating' || v.state === 'in-use')) {
          v.state = 'available';
          delete v.attachedTo;
        }
        return;
      }
      case 'volume-in-use': {
        const v = w.volumes[tr.id];
        if (v) v.state = 'in-use';
        return;
      }
      case 'snapshot-done': {
        const s = w.snapshots[tr.id];
        if (s && snapshotHeld(w, s.volumeId)) return;
        if (s) {
          s.state = 'completed';
          s.progressPercent = 100;
        }
        return;
      }
    }
  }

  // ------------------------------------------------------------ instances that appear

  /** A new instance (a launch, an ASG replacement), pending until it boots. */
  launchInstance(
    spec: { cluster: string; az: string; tags: Record<string, string>; asg?: string; type?: string },
    at: number,
  ): SimInstance {
    const w = this.state;
    const c = w.clusters[spec.cluster];
    const prng = new Prng(hash32(w.seed, 2, ++w.counters.instance));
    const id = instanceId(prng);
    const hosts = w.order.filter((i) => w.instances[i]!.cluster === spec.cluster).map((i) => Number(w.instances[i]!.privateIp.split('.')[3]));
    const host = Math.min(254, Math.max(0, ...hosts) + 1);
    const engine: EngineKind = c?.engine ?? ((spec.tags[TAGS.engine] as EngineKind | undefined) ?? 'generic');
    const peer = w.order.map((i) => w.instances[i]!).find((i) => i.cluster === spec.cluster);
    const name = spec.tags[TAGS.name] ?? `${c?.name ?? spec.cluster}-${String(host).padStart(2, '0')}`;
    const inst: SimInstance = {
      id,
      name,
      privateIp: addressOf(c?.net ?? [9, 0], host),
      az: spec.az,
      type: spec.type ?? peer?.type ?? 'm6i.large',
      state: 'pending',
      launchTime: isoSeconds(at),
      statusChecks: 'initializing',
      tags: { [TAGS.name]: name, ...spec.tags },
      cluster: spec.cluster,
      engine,
    };
    if (c?.region !== undefined) inst.region = c.region;
    if (spec.asg) inst.asg = spec.asg;
    w.instances[id] = inst;
    w.order.push(id);
    if (engine === 'mysql' && c) {
      w.mysql[id] = {
        flavour: c.flavour ?? 'mysql',
        version: c.version ?? '8.0.39',
        serverId: (w.order.length % 40_000) * 10 + host,
        serverUuid: prng.uuid(),
        port: 3306,
        // A freshly installed server is writable and empty; the rebuild runbook makes it a replica.
        readOnly: false,
        superReadOnly: false,
        logBin: true,
        logReplicaUpdates: true,
        strayRate: 0,
        base: {},
        baseAt: at,
        ownSegments: [],
        lag: { kind: 'steady' },
        binlogBase: prng.int(0, 1_000_000),
        eventBytes: 600,
        binlogPrefix: c.flavour === 'mariadb' ? 'mysql-bin' : 'binlog',
      };
    }
    if (engine === 'cassandra' && c) {
      w.cassandra[id] = { ring: spec.cluster, hostId: prng.uuid(), tokens: 16, loadBytes: prng.int(60, 300) * 1_073_741_824, repairCommands: 0 };
    }
    this.bump();
    this.schedule({ at: at + prng.int(30, 90) * 1000, kind: 'instance-running', id });
    this.schedule({ at: at + prng.int(150, 240) * 1000, kind: 'status-ok', id });
    return inst;
  }

  close(): void {
    this.clock.dispose();
  }
}

export function toInstance(i: SimInstance): Instance {
  const out: Instance = {
    id: i.id,
    name: i.name,
    privateIp: i.privateIp,
    az: i.az,
    type: i.type,
    state: i.state,
    launchTime: i.launchTime,
    statusChecks: i.statusChecks,
    tags: { ...i.tags },
  };
  if (i.asg) out.asg = i.asg;
  if (i.region !== undefined) out.region = i.region;
  return out;
}

function duplicateKeyError(node: { flavour: string; binlogPrefix: string }): { code: number; message: string } {
  const who = node.flavour === 'mariadb' ? 'master' : 'source';
  return {
    code: 1062,
    message: `Could not execute Write_rows_v1 event on table app.orders; Duplicate entry '4211' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's ${who} log ${node.binlogPrefix}.000412, end_log_pos 73455211`,
  };
}

/** A world saved before jobs existed: no jobs, none started. */
function upgrade(state: WorldState | undefined): WorldState | undefined {
  if (state) {
    state.jobs ??= {};
    state.jobStarts ??= [];
    // Hosts' files, stray processes and tokens (issue 13) appear on first use: hostOf makes a host's layout when first asked.
    addMysqlLaunchTemplates(state);
    // Groups saved before suspended processes and propagated tags (issue 14).
    for (const g of Object.values(state.asgs)) {
      g.suspended ??= [];
      g.tags ??= derivedGroupTags(state, g);
    }
  }
  return state;
}
