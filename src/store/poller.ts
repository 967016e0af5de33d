// backends -> poller -> fleet store. A refresh: discover, fetch metrics,
// probe every running node, assemble the views, publish them; on a big fleet
// in slices spread over the interval (see Poller).
// A failure anywhere shows up as staleness on the rows it touches, never as
// a blank screen or a crash.

import type { Backends } from '../backends/ports.js';
import { EngineProbes, type EngineOptions } from '../backends/engines/index.js';
import { buildClusterViews, shareFacts, type ProbeOutcome, type ViewInputs } from '../domain/cluster-view.js';
import { sortClusters } from '../domain/findings.js';
import type { Thresholds } from '../domain/health.js';
import type { CassandraPeer, ClusterRef, ClusterView, Instance, NodeMetrics, NodeView } from '../domain/types.js';
import type { FleetStore } from './fleet.js';

export interface PollerOptions {
  refreshSeconds: number;
  thresholds: Thresholds;
  roleTag: string;
  repairTag: string;
  engine: EngineOptions;
  targetReplicas?: (cluster: string) => number | undefined;
  /** Probes in flight at once; the SSH shell has its own limit as well. */
  probeConcurrency?: number;
  metricsMinutes?: number;
  now?: () => number;
  /** Where each tick spent its time (bench/refresh.ts prints these; the console passes none). */
  onTiming?: (timing: RefreshTiming) => void;
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

/** Longest stretch of probing (or of building views) between two turns of the event loop, ms. */
const PROBE_SLICE_MS = 8;
/** Clusters assembled between two looks at the clock. */
const BUILD_CHUNK = 16;
/** A rolling tick probes about this many nodes... */
const NODES_PER_TICK = 250;
/** ...and ticks come no closer together than this, ms. */
const MIN_TICK_MS = 250;

/** One pass over the fleet: what discovery said at its start, and which clusters each tick probes. */
interface Round {
  /** performance.now() when it began. */
  startedAt: number;
  clusters: ClusterRef[];
  instances: Map<string, Instance>;
  running: Map<string, Instance[]>;
  slices: ClusterRef[][];
  /** The next slice to probe; slices.length when the round is done. */
  next: number;
  /** The fleet is big enough to be refreshed in slices. */
  isRolling: boolean;
  discoverMs: number;
}

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
 * whole fleet at once (refreshNow), slice after slice without waiting, each
 * shown as soon as it is done.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private isStarted = false;
  /** The tick or whole refresh running now; they never overlap. */
  private busy: Promise<void> = Promise.resolve();
  private whole: Promise<void> | undefined;
  private round: Round | undefined;
  private readonly probes: EngineProbes;
  private readonly controller = new AbortController();
  private lastMetrics: Record<string, NodeMetrics> = {};
  /** What the store shows, by cluster, and when (options.now) each cluster was last probed. */
  private readonly views = new Map<string, ClusterView>();
  private readonly probedAt = new Map<string, number>();
  /**
   * The last probe of every running node. A node in two clusters is probed
   * once, with the first; the second cluster's view uses that probe, though
   * its slice may come earlier in the round.
   */
  private readonly lastProbes = new Map<string, ProbeOutcome>();

  constructor(
    private readonly backends: Backends,
    private readonly store: FleetStore,
    private readonly options: PollerOptions,
  ) {
    this.probes = new EngineProbes(backends.shell, options.engine);
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
   * it is published. A rolling tick in progress finishes first. The next round
   * starts refreshSeconds later.
   */
  refreshNow(): Promise<void> {
    this.whole ??= this.serially(async () => {
      try {
        if (this.timer) clearTimeout(this.timer);
        this.store.getState().actions.setRefreshing(true);
        const t0 = performance.now();
        const round = await this.startRound();
        if (!round) return;
        const t1 = performance.now();
        let metricsMs = 0;
        const metrics = this.fetchMetrics(round).finally(() => (metricsMs = performance.now() - t1));
        // Slice after slice without waiting, each shown as it is done: on a big fleet the
        // first clusters are on screen in a fraction of the time the whole fleet takes.
        const total = { probesMs: 0, buildMs: 0, storeMs: 0, probed: 0 };
        let done = 0;
        while (round.next < round.slices.length) {
          const slice = round.slices[round.next++]!;
          done += slice.length;
          const isLast = round.next === round.slices.length;
          const timing = await this.refreshClusters(round, slice, metrics, isLast ? undefined : { done, total: round.clusters.length });
          if (!timing) return;
          total.probesMs += timing.probesMs;
          total.buildMs += timing.buildMs;
          total.storeMs += timing.storeMs;
          total.probed += timing.probed;
        }
        this.options.onTiming?.({ ...total, kind: 'whole', slice: 0, slices: 1, discoverMs: t1 - t0, metricsMs, totalMs: performance.now() - t0 });
      } finally {
        this.whole = undefined;
      }
    });
    return this.whole;
  }

  /** Runs `work` after whatever runs now, then sets the timer for what comes next. */
  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.busy.then(work).finally(() => this.schedule());
    this.busy = run.catch(() => {});
    return run;
  }

  private schedule(): void {
    if (!this.isStarted || this.controller.signal.aborted) return;
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
      this.serially(() => this.tick()).catch((err: unknown) => this.store.getState().actions.setError(`refresh failed: ${messageOf(err)}`));
    }, Math.max(0, due - performance.now()));
    this.timer.unref?.();
  }

  /** One rolling tick: a new round when the last is done, then its next slice. */
  private async tick(): Promise<void> {
    const t0 = performance.now();
    let round = this.round;
    let metrics: Promise<Record<string, NodeMetrics>> | undefined;
    if (!round || round.next >= round.slices.length) {
      round = await this.startRound();
      if (!round) return;
      // Fetched beside the first slice's probes, for the whole round.
      metrics = this.fetchMetrics(round);
    }
    const slice = round.next++;
    const timing = await this.refreshClusters(round, round.slices[slice]!, metrics);
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
      discovery = await this.backends.inventory.discover({ signal });
    } catch (err) {
      if (!signal.aborted) this.store.getState().actions.setError(`discovery failed: ${messageOf(err)}`);
      // No round: the next try comes an interval from now.
      this.round = { startedAt, clusters: [], instances: new Map(), running: new Map(), slices: [], next: 0, isRolling: false, discoverMs: 0 };
      return undefined;
    }
    const instances = new Map(discovery.instances.map((i) => [i.id, i]));
    // Each running node once, in its first cluster (see probe).
    const running = new Map<string, Instance[]>();
    const queued = new Set<string>();
    let count = 0;
    for (const c of discovery.clusters) {
      const nodes: Instance[] = [];
      for (const id of c.instanceIds) {
        const instance = instances.get(id);
        if (instance?.state !== 'running' || queued.has(id)) continue;
        queued.add(id);
        nodes.push(instance);
      }
      running.set(c.name, nodes);
      count += nodes.length;
    }
    // A node stopped since is not probed: its view says so, rather than showing its last probe as fresh.
    for (const id of [...this.lastProbes.keys()]) if (!queued.has(id)) this.lastProbes.delete(id);
    const names = new Set(discovery.clusters.map((c) => c.name));
    for (const name of [...this.views.keys()]) {
      if (!names.has(name)) {
        this.views.delete(name);
        this.probedAt.delete(name);
      }
    }
    const ticks = Math.max(1, Math.min(Math.ceil(count / NODES_PER_TICK), Math.floor((this.options.refreshSeconds * 1000) / MIN_TICK_MS)));
    const slices = ticks > 1 ? partition(discovery.clusters, (c) => running.get(c.name)!.length, ticks) : [discovery.clusters];
    this.round = {
      startedAt,
      clusters: discovery.clusters,
      instances,
      running,
      slices,
      next: 0,
      isRolling: ticks > 1,
      discoverMs: performance.now() - startedAt,
    };
    return this.round;
  }

  /**
   * Probes the running nodes of `clusters`, builds their views and publishes
   * them with the rest of the fleet's. Undefined when stopped on the way.
   */
  private async refreshClusters(
    round: Round,
    clusters: ClusterRef[],
    metricsDone: Promise<Record<string, NodeMetrics>> | undefined,
    progress?: { done: number; total: number },
  ): Promise<Omit<RefreshTiming, 'kind' | 'slice' | 'slices' | 'discoverMs' | 'metricsMs' | 'totalMs'> | undefined> {
    const now = this.options.now ?? Date.now;
    const signal = this.controller.signal;
    const started = now();
    const nodes: Instance[] = [];
    const clusterOf = new Map<string, ClusterRef>();
    const previous = new Map<string, NodeView>();
    for (const c of clusters) {
      for (const n of round.running.get(c.name)!) {
        nodes.push(n);
        clusterOf.set(n.id, c);
      }
      for (const n of this.views.get(c.name)?.nodes ?? []) previous.set(n.instance.id, n);
    }

    const tp = performance.now();
    let probesMs = 0;
    const probesDone = this.probeAll(nodes, clusterOf, previous, signal, now).finally(() => (probesMs = performance.now() - tp));
    const [metrics, probes] = await Promise.all([metricsDone ?? this.lastMetrics, probesDone]);
    if (signal.aborted) return undefined;
    for (const [id, outcome] of probes) this.lastProbes.set(id, outcome);
    const t2 = performance.now();

    const inputs: ViewInputs = {
      clusters,
      instances: round.instances,
      metrics,
      probes: this.lastProbes,
      previous,
      fleetNow: this.backends.clock.now(),
      thresholds: this.options.thresholds,
      roleTag: this.options.roleTag,
      repairTag: this.options.repairTag,
      targetReplicas: this.options.targetReplicas ?? (() => undefined),
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
      for (const view of buildClusterViews({ ...inputs, clusters: clusters.slice(i, i + BUILD_CHUNK) })) this.views.set(view.name, view);
    }
    const at = now();
    for (const c of clusters) this.probedAt.set(c.name, at);
    const sorted = sortClusters([...this.views.values()]);
    const t3 = performance.now();
    let oldest = at;
    for (const t of this.probedAt.values()) oldest = Math.min(oldest, t);
    this.store.getState().actions.setClusters(sorted, oldest, at - started, round.isRolling, progress);
    const t4 = performance.now();
    return { probesMs, buildMs: t3 - t2, storeMs: t4 - t3, probed: nodes.length };
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

  private async probeAll(
    nodes: Instance[],
    clusterOf: Map<string, ClusterRef>,
    previous: Map<string, NodeView>,
    signal: AbortSignal,
    now: () => number,
  ): Promise<Map<string, ProbeOutcome>> {
    const out = new Map<string, ProbeOutcome>();
    const rings = new Map<string, readonly CassandraPeer[]>();
    const limit = this.options.probeConcurrency ?? 64;
    let next = 0;
    // A probe that answers without I/O (the simulated fleet) never gives the event loop a turn:
    // thousands of them in a row would hold a key press for the whole refresh. So the work goes
    // in slices, with a turn of the loop (keys, frames, timers) between them. A slice ends only
    // between clusters (nodes come cluster by cluster): the members of a cluster are probed in
    // one turn, so a simulated cluster is seen at one instant, as findings that compare members
    // (errant GTIDs: a replica ahead of a master probed a moment earlier) assume.
    const startsCluster = nodes.map((n, i) => i === 0 || clusterOf.get(n.id) !== clusterOf.get(nodes[i - 1]!.id));
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
      while (!signal.aborted) {
        if (next >= nodes.length) break;
        if (startsCluster[next] && performance.now() - sliceStart > PROBE_SLICE_MS) {
          await breathe();
          continue;
        }
        const node = nodes[next++]!;
        try {
          const cluster = clusterOf.get(node.id)!;
          const facts = await this.probes.probe(node, cluster.engine, signal);
          // Shared with what is already held, right away: a copy of unchanged data then dies young.
          out.set(node.id, { facts: shareFacts(facts, previous.get(node.id)?.facts, cluster.name, rings), at: now() });
        } catch (err) {
          out.set(node.id, { error: messageOf(err), at: now() });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker));
    return out;
  }
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
