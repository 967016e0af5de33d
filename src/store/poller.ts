// backends -> poller -> fleet store. One refresh: discover, fetch metrics,
// probe every running node, assemble the views, publish them in one update.
// A failure anywhere shows up as staleness on the rows it touches, never as
// a blank screen or a crash.

import type { Backends } from '../backends/ports.js';
import { EngineProbes, type EngineOptions } from '../backends/engines/index.js';
import { buildClusterViews, type ProbeOutcome } from '../domain/cluster-view.js';
import type { Thresholds } from '../domain/health.js';
import type { Instance, NodeMetrics, NodeView } from '../domain/types.js';
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
}

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
    for (const c of discovery.clusters) for (const id of c.instanceIds) engineOf.set(id, c.engine);
    const running = discovery.instances.filter((i) => i.state === 'running' && engineOf.has(i.id));

    const [metrics, probes] = await Promise.all([
      this.fetchMetrics(running, signal),
      this.probeAll(running, engineOf, signal, now),
    ]);
    if (signal.aborted) return;

    const previous = new Map<string, NodeView>();
    for (const c of this.store.getState().clusters) for (const n of c.nodes) previous.set(n.instance.id, n);

    const clusters = buildClusterViews({
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
    });
    const finished = now();
    actions.setClusters(clusters, finished, finished - started);
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
    signal: AbortSignal,
    now: () => number,
  ): Promise<Map<string, ProbeOutcome>> {
    const out = new Map<string, ProbeOutcome>();
    const limit = this.options.probeConcurrency ?? 64;
    let next = 0;
    const worker = async () => {
      while (next < nodes.length && !signal.aborted) {
        const node = nodes[next++]!;
        try {
          const facts = await this.probes.probe(node, engineOf.get(node.id)!, signal);
          out.set(node.id, { facts, at: now() });
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
