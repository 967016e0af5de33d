// backends -> poller -> fleet store. One refresh: discover, fetch metrics,
// probe every running node, assemble the views, publish them in one update.
// A failure anywhere shows up as staleness on the rows it touches, never as
// a blank screen or a crash.

import type { Backends } from '../backends/ports.js';
import { EngineProbes, type EngineOptions } from '../backends/engines/index.js';
import { buildClusterViews, shareFacts, type ProbeOutcome, type ViewInputs } from '../domain/cluster-view.js';
import { sortClusters } from '../domain/findings.js';
import type { Thresholds } from '../domain/health.js';
import type { CassandraPeer, ClusterView, Instance, NodeMetrics, NodeView } from '../domain/types.js';
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
  /** Where a completed refresh spent its time (bench/refresh.ts prints these; the console passes none). */
  onTiming?: (timing: RefreshTiming) => void;
}

/** Wall time of one refresh by phase, ms (performance.now). Metrics and probes run side by side. */
export interface RefreshTiming {
  discoverMs: number;
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

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly probes: EngineProbes;
  private readonly controller = new AbortController();
  private lastMetrics: Record<string, NodeMetrics> = {};

  constructor(
    private readonly backends: Backends,
    private readonly store: FleetStore,
    private readonly options: PollerOptions,
  ) {
    this.probes = new EngineProbes(backends.shell, options.engine);
  }

  start(): void {
    void this.refreshNow();
    this.timer = setInterval(() => void this.refreshNow(), this.options.refreshSeconds * 1000);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.controller.abort();
  }

  /** Starts a refresh unless one is running; resolves when the running one ends. */
  refreshNow(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.refresh().finally(() => (this.inFlight = undefined));
    }
    return this.inFlight;
  }

  private async refresh(): Promise<void> {
    const now = this.options.now ?? Date.now;
    const started = now();
    const t0 = performance.now();
    const signal = this.controller.signal;
    const { actions } = this.store.getState();
    actions.setRefreshing(true);

    let discovery;
    try {
      discovery = await this.backends.inventory.discover({ signal });
    } catch (err) {
      if (!signal.aborted) actions.setError(`discovery failed: ${messageOf(err)}`);
      return;
    }
    const instances = new Map(discovery.instances.map((i) => [i.id, i]));
    const engineOf = new Map<string, (typeof discovery.clusters)[number]['engine']>();
    const clusterOf = new Map<string, string>();
    for (const c of discovery.clusters) {
      for (const id of c.instanceIds) {
        engineOf.set(id, c.engine);
        clusterOf.set(id, c.name);
      }
    }
    // Probed cluster by cluster (see probeAll), each node once.
    const running: Instance[] = [];
    const queued = new Set<string>();
    for (const c of discovery.clusters) {
      for (const id of c.instanceIds) {
        const instance = instances.get(id);
        if (instance?.state !== 'running' || queued.has(id)) continue;
        queued.add(id);
        running.push(instance);
      }
    }
    const previous = new Map<string, NodeView>();
    for (const c of this.store.getState().clusters) for (const n of c.nodes) previous.set(n.instance.id, n);

    const t1 = performance.now();
    let metricsMs = 0;
    let probesMs = 0;
    const metricsDone = this.fetchMetrics(running, signal).finally(() => (metricsMs = performance.now() - t1));
    const tp = performance.now();
    const probesDone = this.probeAll(running, engineOf, clusterOf, previous, signal, now).finally(() => (probesMs = performance.now() - tp));
    const [metrics, probes] = await Promise.all([metricsDone, probesDone]);
    if (signal.aborted) return;
    const t2 = performance.now();

    const inputs: ViewInputs = {
      clusters: discovery.clusters,
      instances,
      metrics,
      probes,
      previous,
      fleetNow: this.backends.clock.now(),
      thresholds: this.options.thresholds,
      roleTag: this.options.roleTag,
      repairTag: this.options.repairTag,
      targetReplicas: this.options.targetReplicas ?? (() => undefined),
    };
    // A few clusters at a time, with a turn of the event loop between slices, as for the probes:
    // 500 clusters in one go hold a key press for tens of milliseconds. Sorted as one list at the end.
    const views: ClusterView[] = [];
    let sliceStart = performance.now();
    for (let i = 0; i < discovery.clusters.length; i += BUILD_CHUNK) {
      if (i > 0 && performance.now() - sliceStart > PROBE_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal.aborted) return;
        sliceStart = performance.now();
      }
      views.push(...buildClusterViews({ ...inputs, clusters: discovery.clusters.slice(i, i + BUILD_CHUNK) }));
    }
    const clusters = sortClusters(views);
    const t3 = performance.now();
    const finished = now();
    actions.setClusters(clusters, finished, finished - started);
    const t4 = performance.now();
    this.options.onTiming?.({
      discoverMs: t1 - t0,
      metricsMs,
      probesMs,
      buildMs: t3 - t2,
      storeMs: t4 - t3,
      totalMs: t4 - t0,
      probed: running.length,
    });
  }

  private async fetchMetrics(nodes: Instance[], signal: AbortSignal): Promise<Record<string, NodeMetrics>> {
    try {
      this.lastMetrics = await this.backends.metrics.fetch(
        { instanceIds: nodes.map((n) => n.id), minutes: this.options.metricsMinutes ?? 30 },
        { signal },
      );
    } catch {
      // Keep the last series: a throttled CloudWatch call is staleness, not an empty chart.
    }
    return this.lastMetrics;
  }

  private async probeAll(
    nodes: Instance[],
    engineOf: Map<string, 'mysql' | 'cassandra' | 'generic'>,
    clusterOf: Map<string, string>,
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
          const facts = await this.probes.probe(node, engineOf.get(node.id)!, signal);
          // Shared with what is already held, right away: a copy of unchanged data then dies young.
          out.set(node.id, { facts: shareFacts(facts, previous.get(node.id)?.facts, clusterOf.get(node.id)!, rings), at: now() });
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
