// backends -> poller -> fleet store. A refresh: discover, fetch metrics,
// probe every running node, assemble the views, publish them; on a big fleet
// in slices spread over the interval (see Poller).
// A failure anywhere shows up as staleness on the rows it touches, never as
// a blank screen or a crash.

import { clusterKey, type ScopedName } from '../domain/scope.js';
import { setMaxListeners } from 'node:events';
import type { Backends, Discovery } from '../backends/ports.js';
import { EngineProbes, type EngineOptions } from '../backends/engines/index.js';
import { buildClusterViews, shareFacts, type ProbeOutcome, type ViewInputs, type WriterLookup } from '../domain/cluster-view.js';
import { sortClusters, throttleFindings, type FleetFinding } from '../domain/findings.js';
import type { Thresholds } from '../domain/health.js';
import type { CassandraPeer, ClusterRef, ClusterView, EngineFacts, Instance, NodeMetrics, NodeView, ScalingGroup, WriterRecordRef } from '../domain/types.js';
import { cleanDeep, cleanForTerminal } from '../domain/terminal-text.js';
import type { FleetStore } from './fleet.js';

export interface PollerOptions {
  refreshSeconds: number;
  thresholds: Thresholds;
  roleTag: string;
  repairTag: string;
  engine: EngineOptions;
  targetReplicas?: (cluster: ScopedName) => number | undefined;
  /** Where each cluster's writer record is (clusters.C.writerDns; the sim's own); undefined = none configured. */
  writerDns?: (cluster: ScopedName) => WriterRecordRef | undefined;
  /** Probes in flight at once; the SSH shell has its own limit as well. */
  probeConcurrency?: number;
  metricsMinutes?: number;
  now?: () => number;
  /** Where each tick spent its time (bench/refresh.ts prints these; the console passes none). */
  onTiming?: (timing: RefreshTiming) => void;
  /** A one-shot command (ls): discovery waits for the Auto Scaling groups, so their findings are in the one picture it prints. */
  withGroups?: boolean;
}

/** Wall time of one tick by phase, ms (performance.now). In a whole refresh, metrics and probes run side by side. */
export interface RefreshTiming {
  /** 'whole': every cluster (the first refresh, `r`, `ls`); 'rolling': one slice of a big fleet. */
  kind: 'whole' | 'rolling';
  /** Which slice of how many (0 of 1 for a whole refresh). */
  slice: number;
  slices: number;
  /** Zero in a tick that did not start a round. */
  discoverMs: number;
  /** NaN in a rolling tick (fetched beside the round's first slice, not timed apart). */
  metricsMs: number;
  probesMs: number;
  buildMs: number;
  /** The store update, with whatever its subscribers do synchronously (a mounted console renders). */
  storeMs: number;
  totalMs: number;
  probed: number;
}

/** What a whole refresh (refreshNow) came to, for a one-shot command that prints it (ls). */
export interface RefreshOutcome {
  /** 'failed': the store's error says why; 'timed-out': discovery had not answered within the refresh's timeoutMs. */
  discovery: 'ok' | 'failed' | 'timed-out';
  /**
   * Running nodes whose probe had not come back when the fleet was published:
   * hung or still connecting (past patience, or cut by the timeout), sent to
   * the side pool and not waited for, or not yet asked when the timeout came.
   */
  unanswered: ReadonlySet<string>;
}

/** The longest delay setTimeout keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Longest stretch of probing (or of building views) between two turns of the event loop, ms. */
const PROBE_SLICE_MS = 8;
/** Clusters assembled between two looks at the clock. */
const BUILD_CHUNK = 16;
/** A rolling tick probes about this many nodes... */
const NODES_PER_TICK = 250;
/** ...and ticks come no closer together than this, ms. */
const MIN_TICK_MS = 250;
/**
 * How long a refresh waits for one node's answer, ms, at most 40% of the
 * interval. A node that takes longer (hung, swapping, its sshd wedged: the
 * usual case in an incident) is left to answer in the background, up to its
 * probe timeout, and its row says it has not answered; the rest of the fleet
 * is published on time. Without this, one such node held every refresh, and
 * with slices every slice after it, for the whole 10-15 s probe timeout.
 */
const PATIENCE_MS = 2_000;
/**
 * Probes at once of nodes whose EC2 status checks fail (a dark AZ, a hung
 * host): asked beside the rest, never waited for, so they cannot hold the
 * picture one connect timeout after another, nor take every slot.
 */
const SUSPECT_CONCURRENCY = 8;

/** One pass over the fleet: what discovery said at its start, and which clusters each tick probes. */
interface Round {
  /** performance.now() when it began. */
  startedAt: number;
  clusters: ClusterRef[];
  /** The clusters' keys (clusterKey): every map here and in the Poller is by key, never by name alone. */
  keys: Set<string>;
  instances: Map<string, Instance>;
  /** The clusters' Auto Scaling groups by scoped name (groupKey), when the target has them. */
  groups: Map<string, ScalingGroup>;
  /** Each cluster's running nodes, by key. */
  running: Map<string, Instance[]>;
  runningIds: Set<string>;
  slices: ClusterRef[][];
  /** The next slice to probe; slices.length when the round is done. */
  next: number;
  /** Set when a refresh's timeout cut it short: every probe still out counts as not answered, whatever the patience. */
  isCut?: boolean;
  /** The fleet is big enough to be refreshed in slices. */
  isRolling: boolean;
  discoverMs: number;
}

/** A probe on its way: when it was sent (options.now), and its end (the outcome is in lastProbes by then). */
interface InFlight {
  sentAt: number;
  done: Promise<void>;
}

type SliceTiming = Omit<RefreshTiming, 'kind' | 'slice' | 'slices' | 'discoverMs' | 'metricsMs' | 'totalMs'>;

/**
 * Keeps the fleet store fresh. Every `refreshSeconds` a round starts: one
 * discovery, one metrics fetch, and a probe of every running node, cluster
 * by cluster. A small fleet is probed in one go. A big one is probed in
 * slices of about NODES_PER_TICK nodes spread evenly over the interval (20
 * ticks of 250 nodes for 5,000 nodes every 5 s), each published as soon as
 * it is done, the way orchestrator polls each instance on its own clock: no
 * tick holds the event loop for the whole fleet, and each node is still seen
 * once an interval. A cluster is always probed whole within one tick, since
 * findings compare its members. The first refresh, `r` and `ls` probe the
 * whole fleet at once (refreshNow) through one pool, each slice shown as
 * soon as its nodes are done.
 *
 * Nothing waits on a slow node: a tick starts on its own clock whatever the
 * last one is doing, a refresh waits PATIENCE_MS at most for any one answer,
 * and a node is never probed twice at once (a node still answering when its
 * next turn comes is not asked again, nor waited for).
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private isStarted = false;
  private whole: Promise<RefreshOutcome> | undefined;
  private round: Round | undefined;
  private readonly probes: EngineProbes;
  private readonly controller = new AbortController();
  private lastMetrics: Record<string, NodeMetrics> = {};
  /** What the store shows, by cluster, and when (options.now) each cluster was last probed. */
  private readonly views = new Map<string, ClusterView>();
  private readonly probedAt = new Map<string, number>();
  /**
   * The last answer of every running node. A node in two clusters is probed
   * once, with the first; the second cluster's view uses that probe, though
   * its slice may come earlier in the round.
   */
  private readonly lastProbes = new Map<string, ProbeOutcome>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Each cluster's writer record as last read, and the reads still on their way (by cluster). */
  private readonly writers = new Map<string, WriterLookup>();
  private readonly writersInFlight = new Set<string>();
  /** The ring last seen per Cassandra cluster, which its members' answers share (see shareFacts). */
  private readonly rings = new Map<string, readonly CassandraPeer[]>();
  /** Frozen facts (a ring's shared peer list) already cleaned for the terminal. */
  private readonly cleaned = new WeakMap<object, unknown>();
  private readonly patienceMs: number;

  constructor(
    private readonly backends: Backends,
    private readonly store: FleetStore,
    private readonly options: PollerOptions,
  ) {
    this.probes = new EngineProbes(backends.shell, options.engine);
    // Every call of a refresh hangs a listener on this one signal while it is in flight (an SSH
    // probe per node, an SDK request per AWS call): past ten Node prints a leak warning over the
    // console's screen. Each goes when its call ends (test/store/poller-listeners.test.ts counts them).
    setMaxListeners(0, this.controller.signal);
    this.patienceMs = Math.min(PATIENCE_MS, options.refreshSeconds * 400);
  }

  /** A whole refresh now, then rounds every refreshSeconds until stop(). */
  start(): void {
    this.isStarted = true;
    void this.refreshNow();
  }

  stop(): void {
    this.isStarted = false;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort();
  }

  /**
   * Probes the whole fleet now unless that is already under way; resolves when
   * it is published. The next round starts refreshSeconds later.
   */
  async refreshNow(): Promise<void> {
    await this.refreshWhole();
  }

  /**
   * A whole refresh as refreshNow, for a one-shot command (ls) that prints
   * what it came to. `timeoutMs`, real ms: a deadline for the whole refresh.
   * Each node may take until then to answer, patience aside; when it comes,
   * what has answered is published and the rest is marked as not answered
   * (RefreshOutcome.unanswered). Discovery that has not answered by then is
   * a failure that says so, never a hang. A refresh already under way keeps
   * its own deadline (none, from the console).
   */
  refreshOnce(opts: { timeoutMs?: number } = {}): Promise<RefreshOutcome> {
    return this.refreshWhole(opts);
  }

  private refreshWhole(opts: { timeoutMs?: number } = {}): Promise<RefreshOutcome> {
    this.whole ??= (async (): Promise<RefreshOutcome> => {
      let deadline: NodeJS.Timeout | undefined;
      // setTimeout fires at once past 2^31-1 ms: a timeout of weeks means no timeout, not none at all.
      const cut =
        opts.timeoutMs === undefined ? undefined : new Promise<void>((resolve) => (deadline = setTimeout(resolve, Math.min(opts.timeoutMs!, MAX_TIMER_MS))));
      try {
        if (this.timer) clearTimeout(this.timer);
        this.store.getState().actions.setRefreshing(true);
        const t0 = performance.now();
        const found = this.startRound();
        const round = cut ? await Promise.race([found, cut.then(() => 'timed-out' as const)]) : await found;
        if (round === 'timed-out') {
          this.store.getState().actions.setError(`discovery did not answer within ${formatMs(opts.timeoutMs!)}`);
          return { discovery: 'timed-out', unanswered: new Set() };
        }
        if (!round) return { discovery: 'failed', unanswered: new Set() };
        const t1 = performance.now();
        let metricsMs = 0;
        const fetched = this.fetchMetrics(round).finally(() => (metricsMs = performance.now() - t1));
        // A metrics API that hangs must not hold the deadline either: the rows go out without its series.
        const metrics = cut ? Promise.race([fetched, cut.then(() => this.lastMetrics)]) : fetched;
        if (cut) {
          void cut.then(() => {
            if (this.round === round) round.isCut = true;
          });
        }
        round.next = round.slices.length;
        // Every slice through one pool, each shown as soon as its nodes are done: on a big
        // fleet the first clusters are on screen in a fraction of the time the whole fleet takes.
        const total = { probesMs: 0, buildMs: 0, storeMs: 0, probed: 0 };
        let clustersDone = 0;
        let slicesDone = 0;
        // Published one after another, in the order they are done, so the last one out is the one that says the whole fleet is in.
        let publishing = Promise.resolve();
        const published = this.probeSlices(round, round.slices, cut).map((probed, i) =>
          probed.then((probesMs) => {
            const slice = round.slices[i]!;
            clustersDone += slice.length;
            const progress = ++slicesDone === round.slices.length ? undefined : { done: clustersDone, total: round.clusters.length };
            publishing = publishing.then(async () => {
              const timing = await this.publish(round, slice, metrics, probesMs, progress);
              if (!timing) return;
              total.probesMs = Math.max(total.probesMs, timing.probesMs);
              total.buildMs += timing.buildMs;
              total.storeMs += timing.storeMs;
              total.probed += timing.probed;
            });
            return publishing;
          }),
        );
        await Promise.all(published);
        const outcome: RefreshOutcome = { discovery: 'ok', unanswered: this.unanswered(round) };
        if (this.controller.signal.aborted) return outcome;
        this.options.onTiming?.({ ...total, kind: 'whole', slice: 0, slices: 1, discoverMs: t1 - t0, metricsMs, totalMs: performance.now() - t0 });
        return outcome;
      } finally {
        clearTimeout(deadline);
        this.whole = undefined;
        this.schedule();
      }
    })();
    return this.whole;
  }

  /** Running nodes of the round whose probe is still out, or who have never answered. */
  private unanswered(round: Round): Set<string> {
    const out = new Set<string>();
    for (const id of round.runningIds) if (this.inFlight.has(id) || !this.lastProbes.has(id)) out.add(id);
    return out;
  }

  /** Sets the timer for the next tick: the round's next slice, or the next round. Not during a whole refresh. */
  private schedule(): void {
    if (!this.isStarted || this.controller.signal.aborted || this.whole) return;
    if (this.timer) clearTimeout(this.timer);
    const intervalMs = this.options.refreshSeconds * 1000;
    const round = this.round;
    // The next slice of this round, or the next round an interval after this one began
    // (after a failed discovery too; right away when a slow fleet has fallen behind).
    const due =
      round && round.next < round.slices.length
        ? round.startedAt + (round.next * intervalMs) / round.slices.length
        : (round?.startedAt ?? performance.now()) + intervalMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.whole) return;
      this.tick().catch((err: unknown) => this.store.getState().actions.setError(`refresh failed: ${messageOf(err)}`));
    }, Math.max(0, due - performance.now()));
    this.timer.unref?.();
  }

  /** One rolling tick: a new round when the last is done, then its next slice. The next tick is set as soon as this one has its slice. */
  private async tick(): Promise<void> {
    const t0 = performance.now();
    let round = this.round;
    let metrics: Promise<Record<string, NodeMetrics>> | undefined;
    if (!round || round.next >= round.slices.length) {
      try {
        round = await this.startRound();
      } finally {
        // A failed discovery: the next try comes an interval from now (startRound left a round with no slices).
        if (!round) this.schedule();
      }
      if (!round) return;
      // Fetched beside the first slice's probes, for the whole round.
      metrics = this.fetchMetrics(round);
    }
    const slice = round.next++;
    this.schedule();
    const probesMs = await this.probeSlices(round, [round.slices[slice]!])[0]!;
    const timing = await this.publish(round, round.slices[slice]!, metrics ?? this.lastMetrics, probesMs);
    if (timing) {
      this.options.onTiming?.({
        ...timing,
        kind: 'rolling',
        slice,
        slices: round.slices.length,
        discoverMs: slice === 0 ? round.discoverMs : 0,
        metricsMs: NaN,
        totalMs: performance.now() - t0,
      });
    }
  }

  /**
   * Discovery, and the round it starts: clusters gone from the fleet leave the
   * store now; the rest keep their last views until their slice comes. On a
   * failed discovery the store keeps what it shows and says why.
   */
  private async startRound(): Promise<Round | undefined> {
    const signal = this.controller.signal;
    const startedAt = performance.now();
    let discovery;
    try {
      discovery = cleanDiscovery(await this.backends.inventory.discover({ signal, ...(this.options.withGroups ? { withGroups: true } : {}) }));
    } catch (err) {
      if (!signal.aborted) this.publishApiFindings();
      if (!signal.aborted) this.store.getState().actions.setError(`discovery failed: ${messageOf(err)}`);
      // No round: the next try comes an interval from now.
      this.round = {
        startedAt,
        clusters: [],
        keys: new Set(),
        instances: new Map(),
        groups: new Map(),
        running: new Map(),
        runningIds: new Set(),
        slices: [],
        next: 0,
        isRolling: false,
        discoverMs: 0,
      };
      return undefined;
    }
    if (!signal.aborted) this.publishApiFindings();
    if (!signal.aborted) this.publishScopes(discovery.scopes);
    const instances = new Map(discovery.instances.map((i) => [i.id, i]));
    // Each running node once, in its first cluster (see probe).
    const running = new Map<string, Instance[]>();
    const queued = new Set<string>();
    let count = 0;
    for (const c of discovery.clusters) {
      const key = clusterKey(c);
      const nodes: Instance[] = [];
      for (const id of c.instanceIds) {
        const instance = instances.get(id);
        if (instance?.state !== 'running' || queued.has(id)) continue;
        queued.add(id);
        nodes.push(instance);
      }
      running.set(key, nodes);
      count += nodes.length;
    }
    // A node stopped since is not probed: its view says so, rather than showing its last probe as fresh.
    for (const id of [...this.lastProbes.keys()]) if (!queued.has(id)) this.lastProbes.delete(id);
    const keys = new Set(discovery.clusters.map(clusterKey));
    for (const key of [...this.views.keys()]) {
      if (!keys.has(key)) {
        this.views.delete(key);
        this.probedAt.delete(key);
        this.rings.delete(key);
        this.writers.delete(key);
      }
    }
    const ticks = Math.max(1, Math.min(Math.ceil(count / NODES_PER_TICK), Math.floor((this.options.refreshSeconds * 1000) / MIN_TICK_MS)));
    const slices = ticks > 1 ? partition(discovery.clusters, (c) => running.get(clusterKey(c))!.length, ticks) : [discovery.clusters];
    this.round = {
      startedAt,
      clusters: discovery.clusters,
      keys,
      instances,
      groups: new Map((discovery.groups ?? []).map((g) => [groupKey(g, instances), g])),
      running,
      runningIds: queued,
      slices,
      next: 0,
      isRolling: ticks > 1,
      discoverMs: performance.now() - startedAt,
    };
    return this.round;
  }

  /**
   * What the target says of its own API (a region throttled lately), as fleet
   * findings, after each discovery: a throttled discovery is explained by the
   * same picture that shows it failed. Left as it is when unchanged, so the
   * screens that show it are not redrawn every round.
   */
  private publishApiFindings(): void {
    const throttles = this.backends.apiThrottles?.();
    if (!throttles) return;
    const findings = throttleFindings(throttles);
    const { apiFindings, actions } = this.store.getState();
    if (!sameFindings(apiFindings, findings)) actions.setApiFindings(findings);
  }

  /**
   * Each account and region's discovery, into the store, with its last good
   * answer's time moved to real time (the header ages it against the wall
   * clock, like refreshedAt; the simulated fleet's clock may run faster).
   * A target without scopes leaves the store's list empty.
   */
  private publishScopes(scopes: Discovery['scopes']): void {
    const { actions, scopes: shown } = this.store.getState();
    if (!scopes) {
      if (shown.length > 0) actions.setScopes([]);
      return;
    }
    const wallNow = (this.options.now ?? Date.now)();
    const fleetNow = this.backends.clock.now();
    const speed = this.backends.clock.speed > 0 ? this.backends.clock.speed : 1;
    actions.setScopes(
      scopes.map((sc) => (sc.at === undefined ? { ...sc } : { ...sc, at: Math.round(wallNow - Math.max(0, fleetNow - sc.at) / speed) })),
    );
  }

  /**
   * Builds the views of `clusters` from the nodes' last answers and publishes
   * them with the rest of the fleet's. Undefined when stopped on the way.
   */
  private async publish(
    round: Round,
    slice: ClusterRef[],
    metricsDone: Promise<Record<string, NodeMetrics>> | Record<string, NodeMetrics>,
    probesMs: number,
    progress?: { done: number; total: number },
  ): Promise<SliceTiming | undefined> {
    const now = this.options.now ?? Date.now;
    const signal = this.controller.signal;
    const metrics = await metricsDone;
    if (signal.aborted) return undefined;
    // A slice of a round that a newer discovery has replaced: what it saw of clusters gone since is not shown.
    const current = this.round;
    const clusters = current && current !== round ? slice.filter((c) => current.keys.has(clusterKey(c))) : slice;
    const t2 = performance.now();
    const at = now();
    const previous = new Map<string, NodeView>();
    const waiting = new Map<string, number>();
    let probed = 0;
    for (const c of clusters) {
      const key = clusterKey(c);
      for (const n of this.views.get(key)?.nodes ?? []) previous.set(n.instance.id, n);
      for (const n of round.running.get(key)!) {
        probed++;
        const pending = this.inFlight.get(n.id);
        if (!pending) continue;
        // Cut by a timeout: sent a moment after the refresh began and seen a moment after the cut, a probe
        // has waited about the timeout, a little less or more: "1 s" for --timeout 1, neither "0 s" nor "2 s".
        if (round.isCut) waiting.set(n.id, Math.round((at - pending.sentAt) / 1000));
        else if (at - pending.sentAt >= this.patienceMs) waiting.set(n.id, Math.floor((at - pending.sentAt) / 1000));
      }
    }

    const inputs: ViewInputs = {
      clusters,
      instances: round.instances,
      groups: round.groups,
      metrics,
      probes: this.lastProbes,
      waiting,
      previous,
      fleetNow: this.backends.clock.now(),
      thresholds: this.options.thresholds,
      roleTag: this.options.roleTag,
      repairTag: this.options.repairTag,
      targetReplicas: this.options.targetReplicas ?? (() => undefined),
      writers: this.writers,
    };
    // A few clusters at a time, with a turn of the event loop between slices, as for the probes:
    // 500 clusters in one go hold a key press for tens of milliseconds.
    let sliceStart = performance.now();
    for (let i = 0; i < clusters.length; i += BUILD_CHUNK) {
      if (i > 0 && performance.now() - sliceStart > PROBE_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal.aborted) return undefined;
        sliceStart = performance.now();
      }
      for (const view of buildClusterViews({ ...inputs, clusters: clusters.slice(i, i + BUILD_CHUNK) })) this.views.set(clusterKey(view), view);
    }
    const publishedAt = now();
    for (const c of clusters) this.probedAt.set(clusterKey(c), publishedAt);
    const sorted = sortClusters([...this.views.values()]);
    const t3 = performance.now();
    let oldest = publishedAt;
    for (const t of this.probedAt.values()) oldest = Math.min(oldest, t);
    this.store.getState().actions.setClusters(sorted, oldest, probesMs, round.isRolling, progress);
    const t4 = performance.now();
    return { probesMs, buildMs: t3 - t2, storeMs: t4 - t3, probed };
  }

  private async fetchMetrics(round: Round): Promise<Record<string, NodeMetrics>> {
    const instanceIds: string[] = [];
    for (const nodes of round.running.values()) for (const n of nodes) instanceIds.push(n.id);
    try {
      this.lastMetrics = await this.backends.metrics.fetch(
        { instanceIds, minutes: this.options.metricsMinutes ?? 30 },
        { signal: this.controller.signal },
      );
    } catch {
      // Keep the last series: a throttled CloudWatch call is staleness, not an empty chart.
    }
    return this.lastMetrics;
  }

  /**
   * Probes the running nodes of `slices`, in order, through one pool of
   * probeConcurrency. Each slice's promise resolves, with the ms it took,
   * once each of its nodes has answered, failed, run past PATIENCE_MS, or was
   * still answering from before (not asked again, not waited for). With a
   * refresh's timeout (`cut`), a slice waits on its nodes' answers instead of
   * patience, and is in, answered or not, when the timeout comes.
   */
  private probeSlices(round: Round, slices: ClusterRef[][], cut?: Promise<void>): Promise<number>[] {
    const signal = this.controller.signal;
    let isCut = false;
    const started = performance.now();
    const nodes: Array<{ node: Instance; cluster: ClusterRef; slice: number }> = [];
    const suspects: Array<{ node: Instance; cluster: ClusterRef; slice: number }> = [];
    const previous = new Map<string, EngineFacts | undefined>();
    const left: number[] = [];
    const settle: Array<() => void> = [];
    const lookups: Array<Promise<unknown>> = [];
    const settled = slices.map((slice, i) => {
      left.push(0);
      const reads: Array<Promise<void>> = [];
      for (const cluster of slice) {
        const read = this.readWriter(cluster);
        if (read) reads.push(this.patiently(read, cut));
        const key = clusterKey(cluster);
        for (const n of this.views.get(key)?.nodes ?? []) previous.set(n.instance.id, n.facts);
        for (const node of round.running.get(key)!) {
          // EC2 already says it is failing: its row shows that at once, and its probe goes to the side pool.
          if (node.statusChecks === 'impaired') suspects.push({ node, cluster, slice: i });
          else {
            nodes.push({ node, cluster, slice: i });
            left[i]!++;
          }
        }
      }
      lookups.push(Promise.all(reads));
      return new Promise<number>((resolve) => {
        settle.push(() => resolve(performance.now() - started));
        if (left[i] === 0) settle[i]!();
      });
    });
    const limit = this.options.probeConcurrency ?? 64;
    let next = 0;
    // A probe that answers without I/O (the simulated fleet) never gives the event loop a turn:
    // thousands of them in a row would hold a key press for the whole refresh. So the work goes
    // in slices, with a turn of the loop (keys, frames, timers) between them. A slice ends only
    // between clusters (nodes come cluster by cluster): the members of a cluster are probed in
    // one turn, so a simulated cluster is seen at one instant, as findings that compare members
    // (errant GTIDs: a replica ahead of a master probed a moment earlier) assume.
    const startsCluster = nodes.map((n, i) => i === 0 || n.cluster !== nodes[i - 1]!.cluster);
    let sliceStart = performance.now();
    let pause: Promise<void> | undefined;
    const breathe = () =>
      (pause ??= new Promise<void>((resolve) =>
        setImmediate(() => {
          pause = undefined;
          sliceStart = performance.now();
          resolve();
        }),
      ));
    const worker = async () => {
      while (!signal.aborted && !isCut && next < nodes.length) {
        if (startsCluster[next] && performance.now() - sliceStart > PROBE_SLICE_MS) {
          await breathe();
          continue;
        }
        const { node, cluster, slice } = nodes[next++]!;
        const asked = this.inFlight.get(node.id);
        const isIn = () => {
          if (--left[slice]! === 0) settle[slice]!();
        };
        // Still answering from an earlier turn: neither asked again nor waited for.
        if (asked) {
          isIn();
          continue;
        }
        const answered = this.probe(node, cluster, round, previous.get(node.id)).done;
        if (cut) {
          // With a timeout, the slice waits for the answer itself, up to the timeout; the slot is
          // free again after patience, so a few hung nodes do not keep the rest from being asked.
          void answered.then(isIn);
          await this.patiently(answered);
        } else {
          await this.patiently(answered);
          isIn();
        }
      }
    };
    let nextSuspect = 0;
    const sideWorker = async () => {
      while (!signal.aborted && nextSuspect < suspects.length) {
        const { node, cluster } = suspects[nextSuspect++]!;
        if (!this.inFlight.get(node.id)) await this.probe(node, cluster, round, previous.get(node.id)).done;
      }
    };
    void Promise.all(Array.from({ length: Math.min(SUSPECT_CONCURRENCY, suspects.length) }, sideWorker)).catch(() => {});
    let isBroken = false;
    Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker))
      .catch((err: unknown) => {
        isBroken = true;
        this.store.getState().actions.setError(`refresh failed: ${messageOf(err)}`);
      })
      .finally(() => {
        // Every node asked, with a timeout: the slices wait on their answers, or the timeout, not on the workers.
        if (cut && !isBroken && !signal.aborted) return;
        // Stopped (or broken) on the way: whatever waits on a slice is let go (publish sees an abort).
        for (let i = 0; i < settled.length; i++) if (left[i]! > 0) settle[i]!();
      });
    // The timeout: no node more is asked, and every slice is in with what it has.
    void cut?.then(() => {
      isCut = true;
      for (let i = 0; i < settled.length; i++) if (left[i]! > 0) settle[i]!();
    });
    // A slice is in once its nodes have answered and its writer records been read (each within patience).
    return settled.map((probed, i) => Promise.all([probed, lookups[i]]).then(([ms]) => ms));
  }

  /**
   * Reads a cluster's writer record through the Dns port: once a round per
   * cluster, beside its nodes' probes. Undefined when there is nothing to
   * wait for (none configured, no Dns on this target, a read still on its way).
   */
  private readWriter(cluster: ClusterRef): Promise<void> | undefined {
    // By key: `orders` in two regions has two writer records (per-region settings), read apart.
    const name = clusterKey(cluster);
    const ref = this.options.writerDns?.(cluster);
    if (!ref) {
      this.writers.delete(name);
      return undefined;
    }
    const dns = this.backends.dns;
    if (!dns) {
      this.writers.set(name, { ref, error: this.backends.unavailable?.dns ?? 'this target has no DNS to read the writer record from' });
      return undefined;
    }
    if (this.writersInFlight.has(name)) return undefined;
    this.writersInFlight.add(name);
    const signal = this.controller.signal;
    return dns.getRecord(ref.zoneId, ref.name, ref.type, { signal }).then(
      (record) => {
        this.writersInFlight.delete(name);
        if (signal.aborted) return;
        this.writers.set(name, record ? { ref, values: cleanDeep(record.values, ONE_LINE) } : { ref, missing: true });
      },
      (err: unknown) => {
        this.writersInFlight.delete(name);
        if (signal.aborted) return;
        // The last values read stay on show, with why they may be old; findings ignore them.
        const last = this.writers.get(name);
        const kept = last && sameRef(last.ref, ref) && last.values ? { values: last.values } : {};
        this.writers.set(name, { ref, ...kept, error: `reading ${ref.name} failed: ${cleanForTerminal(messageOf(err), ONE_LINE)}` });
      },
    );
  }

  /** Sends one probe; its outcome goes to lastProbes when it comes, however late. */
  private probe(node: Instance, cluster: ClusterRef, round: Round, previous: EngineFacts | undefined): InFlight {
    const now = this.options.now ?? Date.now;
    const signal = this.controller.signal;
    const record = (outcome: ProbeOutcome) => {
      this.inFlight.delete(node.id);
      // Stopped, or the node stopped while it was being asked (startRound has dropped it): not shown.
      if (signal.aborted || (this.round !== round && !this.round?.runningIds.has(node.id))) return;
      this.lastProbes.set(node.id, outcome);
    };
    const inFlight: InFlight = {
      sentAt: now(),
      done: this.probes.probe(node, cluster.engine, signal).then(
        // Shared with what is already held, right away: a copy of unchanged data then dies young.
        // What a node says (a ring's racks, a replication error) and errors that quote it, cleaned for the screens.
        (facts) => record({ facts: shareFacts(cleanDeep(facts, { memo: this.cleaned }), previous, clusterKey(cluster), this.rings), at: now() }),
        (err: unknown) => record({ error: cleanForTerminal(messageOf(err)), at: now() }),
      ),
    };
    this.inFlight.set(node.id, inFlight);
    return inFlight;
  }

  /** Waits for `done`, or PATIENCE_MS, whichever comes first; with a refresh's timeout (`cut`), for `done` or the timeout. */
  private async patiently(done: Promise<void>, cut?: Promise<void>): Promise<void> {
    if (cut) return Promise.race([done, cut]);
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.patienceMs)));
    await Promise.race([done, patience]);
    clearTimeout(timer);
  }
}

const ONE_LINE = { multiline: false } as const;

/**
 * Names and tags are anyone's text (an EC2 Name tag, an ASG name): cleaned for
 * the screens once, here. Ids, addresses, zones and types come checked from
 * the cloud's API or from the engineer's own file. Unchanged instances stay
 * the same objects.
 */
function cleanDiscovery(found: Discovery): Discovery {
  let instances: Instance[] | undefined;
  for (let i = 0; i < found.instances.length; i++) {
    const inst = found.instances[i]!;
    const name = cleanForTerminal(inst.name, ONE_LINE);
    const tags = cleanDeep(inst.tags, ONE_LINE);
    const asg = inst.asg === undefined ? undefined : cleanForTerminal(inst.asg, ONE_LINE);
    // A volume status's words are EC2's event descriptions: anyone's text too.
    const volumes = inst.volumes === undefined ? undefined : cleanDeep(inst.volumes, ONE_LINE);
    if (name !== inst.name || tags !== inst.tags || asg !== inst.asg || volumes !== inst.volumes) {
      instances ??= found.instances.slice();
      instances[i] = { ...inst, name, tags, ...(asg !== undefined ? { asg } : {}), ...(volumes !== undefined ? { volumes } : {}) };
    }
  }
  let clusters: ClusterRef[] | undefined;
  for (let i = 0; i < found.clusters.length; i++) {
    const ref = found.clusters[i]!;
    const name = cleanForTerminal(ref.name, ONE_LINE);
    const asg = ref.asg === undefined ? undefined : cleanForTerminal(ref.asg, ONE_LINE);
    if (name !== ref.name || asg !== ref.asg) {
      clusters ??= found.clusters.slice();
      clusters[i] = { ...ref, name, ...(asg !== undefined ? { asg } : {}) };
    }
  }
  // A group's and its template's names are anyone's text too; versions are numbers or are dropped.
  const groups = found.groups?.map((g) => ({
    ...g,
    name: cleanForTerminal(g.name, ONE_LINE),
    ...(g.launchTemplate ? { launchTemplate: { ...g.launchTemplate, name: cleanForTerminal(g.launchTemplate.name, ONE_LINE), version: numberOr(g.launchTemplate.version) } } : {}),
    members: g.members.map((m) => ({ ...m, ...(m.launchTemplateVersion !== undefined ? { launchTemplateVersion: numberOr(m.launchTemplateVersion) } : {}) })),
  }));
  const cleaned = instances || clusters ? { ...found, instances: instances ?? found.instances, clusters: clusters ?? found.clusters } : found;
  return groups ? { ...cleaned, groups } : cleaned;
}

/**
 * A group's name with its members' region and account: Auto Scaling names
 * repeat across regions (`asg-orders` in each), and a cluster finds its own
 * group by its asg name in its own scope (cluster-view.ts). A group with no
 * members has no scope to tell, and keeps its bare name.
 */
export function groupKey(group: ScalingGroup, instances: ReadonlyMap<string, Instance>): string {
  const member = group.members.map((m) => instances.get(m.instanceId)).find((i) => i !== undefined);
  return clusterKey({ name: group.name, ...(member?.region !== undefined ? { region: member.region } : {}), ...(member?.account !== undefined ? { account: member.account } : {}) });
}

/** A launch template version as a number's digits, or '?' for anything else. */
function numberOr(version: string): string {
  return /^\d{1,9}$/.test(version) ? version : '?';
}

function sameFindings(a: readonly FleetFinding[], b: readonly FleetFinding[]): boolean {
  return a.length === b.length && a.every((f, i) => f.kind === b[i]!.kind && f.level === b[i]!.level && f.message === b[i]!.message);
}

function sameRef(a: WriterRecordRef, b: WriterRecordRef): boolean {
  return a.zoneId === b.zoneId && a.name === b.name && a.type === b.type;
}

/** "5 s", "1.5 s", "250 ms": a timeout as the engineer gave it. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Splits clusters, in order, into `count` runs of about the same number of nodes (`weight`). */
export function partition<T>(items: T[], weight: (item: T) => number, count: number): T[][] {
  const total = items.reduce((n, item) => n + weight(item), 0);
  const out: T[][] = [];
  let current: T[] = [];
  let sum = 0;
  for (const item of items) {
    current.push(item);
    sum += weight(item);
    // Cut once this run reaches its share of the total, keeping the last run for what is left.
    if (out.length < count - 1 && sum >= (total * (out.length + 1)) / count) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0 || out.length === 0) out.push(current);
  return out;
}
