// Inventory and Metrics on the simulated fleet. Clusters are found by tag,
// as on AWS, so a tag changed through setTags changes discovery too. Metrics
// are functions of (seed, node, virtual time), with the faults on top.

import { SPARE_TAG, type ClusterRef, type EngineKind, type Instance, type MetricPoint, type NodeMetrics } from '../../domain/types.js';
import { clusterKey } from '../../domain/scope.js';
import type { CallOptions, Discovery, Inventory, Metrics, MetricsQuery, ScalingGroup, ScopeStatus } from '../ports.js';
import { ThrottleLog } from '../api-throttles.js';
import { callName, toAwsError } from '../aws/errors.js';
import { describeGroup } from './asg.js';
import { REGION, TAGS } from './fleet.js';
import { keyOf, smoothNoise, unit3 } from './prng.js';
import { RegionView } from './regions.js';
import type { WorldState } from './state.js';
import { volumeHealthOf } from './volumes.js';
import { toInstance, type SimWorld } from './world.js';

/** The part of a one-region world, whose instances have no region. */
const NO_REGION = '';

/** An api-throttled fault refuses this region's calls (`region` undefined: a one-region world's). */
function throttledIn(w: WorldState, region: string | undefined): boolean {
  return w.faults.some((f) => f.kind === 'api-throttled' && (f.region === undefined || f.region === region));
}

export class SimNotFoundError extends Error {
  override name = 'InvalidInstanceID.NotFound';
}

/** What EC2 answers a throttled DescribeInstances with, once the SDK's retries are spent. */
export class SimThrottledError extends Error {
  override name = 'RequestLimitExceeded';
  readonly $metadata = { httpStatusCode: 503 };
}

/** One region's part of a discovery. */
interface RegionPart {
  instances: Instance[];
  clusters: ClusterRef[];
  groups: ScalingGroup[];
}

export class SimInventory implements Inventory {
  private cache: { version: number; discovery: Discovery } | undefined;
  private regionCache: { version: number; parts: Map<string, RegionPart> } | undefined;
  /** Each region's last good answer, and when (the fleet's clock): a refused region keeps showing it. */
  private readonly lastGood = new Map<string, RegionPart & { at: number }>();
  /** Throttled discoveries (the api-throttled fault), for Backends.apiThrottles. */
  readonly throttles: ThrottleLog;

  constructor(
    private readonly world: SimWorld,
    private readonly regions = new RegionView(),
  ) {
    this.throttles = new ThrottleLog(world.clock);
  }

  /**
   * A one-region world answers as one call that is refused whole. A world of
   * several regions answers region by region, as the AWS adapter asks each:
   * a throttled region keeps its last good instances and clusters and is
   * marked in `scopes`; the others stay fresh. Only when every region in
   * view is refused does discovery fail.
   */
  async discover(opts?: CallOptions): Promise<Discovery> {
    opts?.signal?.throwIfAborted();
    const regions = this.world.regions.filter((r) => this.regions.has(r));
    if (regions.length === 0) return this.discoverOne();
    const refused = new Map<string, Error>();
    for (const region of regions) {
      if (!throttledIn(this.world.view(), region)) continue;
      try {
        this.throttle(region);
      } catch (err) {
        refused.set(region, err as Error);
      }
    }
    if (refused.size === regions.length) throw refused.get(regions[0]!)!;
    const fresh = this.regionParts();
    const at = this.world.now();
    const parts: RegionPart[] = [];
    const scopes: ScopeStatus[] = [];
    for (const region of regions) {
      const err = refused.get(region);
      if (!err) {
        const part = fresh.get(region) ?? { instances: [], clusters: [], groups: [] };
        this.lastGood.set(region, { ...part, at });
        parts.push(part);
        scopes.push({ region, at });
        continue;
      }
      const last = this.lastGood.get(region);
      if (last) parts.push(last);
      scopes.push({ region, ...(last ? { at: last.at } : {}), error: err.message, throttled: true });
    }
    return {
      instances: parts.flatMap((p) => p.instances),
      clusters: parts.flatMap((p) => p.clusters),
      groups: parts.flatMap((p) => p.groups),
      scopes,
    };
  }

  private async discoverOne(): Promise<Discovery> {
    if (throttledIn(this.world.view(), undefined)) this.throttle(REGION);
    if (this.cache?.version === this.world.stateVersion) return this.cache.discovery;
    const part = this.scan().get(NO_REGION)!;
    const discovery: Discovery = { clusters: part.clusters, instances: part.instances, groups: part.groups };
    this.cache = { version: this.world.stateVersion, discovery };
    return discovery;
  }

  /** Every region's part as of now, made once per change of the world. */
  private regionParts(): Map<string, RegionPart> {
    if (this.regionCache?.version !== this.world.stateVersion) this.regionCache = { version: this.world.stateVersion, parts: this.scan() };
    return this.regionCache.parts;
  }

  /** The world's instances, clusters and groups by region (NO_REGION in a one-region world). */
  private scan(): Map<string, RegionPart> {
    const w = this.world.view();
    const parts = new Map<string, RegionPart>();
    const partOf = (region: string | undefined): RegionPart => {
      const key = region ?? NO_REGION;
      let part = parts.get(key);
      if (!part) parts.set(key, (part = { instances: [], clusters: [], groups: [] }));
      return part;
    };
    partOf(undefined);
    // By cluster key (clusterKey): two regions' `orders-db` are two clusters.
    const clusters = new Map<string, ClusterRef>();
    // Only faulted nodes have a volume to report: EC2 lists the volumes whose status is not ok.
    const troubled = new Set(w.faults.flatMap((f) => (f.kind === 'io-stuck' ? [f.node] : [])));
    for (const id of w.order) {
      const raw = w.instances[id]!;
      if (raw.state === 'terminated') continue;
      const inst = toInstance(raw);
      const volumes = troubled.has(id) ? volumeHealthOf(w, id) : undefined;
      if (volumes) inst.volumes = volumes;
      const part = partOf(inst.region);
      part.instances.push(inst);
      const name = inst.tags[TAGS.cluster];
      if (!name) continue;
      const key = clusterKey({ name, region: inst.region });
      let ref = clusters.get(key);
      if (!ref) {
        const engine = inst.tags[TAGS.engine];
        ref = {
          name,
          ...(inst.region !== undefined ? { region: inst.region } : {}),
          engine: engine === 'mysql' || engine === 'cassandra' ? (engine as EngineKind) : 'generic',
          instanceIds: [],
          source: 'tag',
        };
        if (inst.asg) ref.asg = inst.asg;
        clusters.set(key, ref);
        part.clusters.push(ref);
      }
      // A spare (a rebuild's instance until it joins) carries the cluster tag but is no member yet.
      if (inst.tags[SPARE_TAG] === undefined) ref.instanceIds.push(inst.id);
      if (ref.asg && inst.asg !== ref.asg) delete ref.asg;
    }
    // The groups straight from the world: the AWS adapter reads them beside discovery, here they cost nothing more.
    for (const g of Object.values(w.asgs)) partOf(w.clusters[g.cluster]?.region).groups.push(describeGroup(this.world, w, g));
    return parts;
  }

  /**
   * Under the api-throttled fault: this discovery (of `region`'s instances) is
   * refused as AWS refuses it (the same AwsError the adapter throws), and
   * counts down the fault's calls; the last one counted clears it.
   */
  private throttle(region: string): void {
    // A one-region world's faults name no region (SimWorld refuses one it does not model).
    const matches = (f: WorldState['faults'][number]) => f.kind === 'api-throttled' && (f.region === undefined || f.region === region);
    const seen = this.world.view().faults.find(matches);
    // Throttled until healed: nothing to count, so the world is not written (a 5,000-node world costs a whole discovery to write).
    const throttled =
      seen?.kind === 'api-throttled' && seen.calls === undefined
        ? true
        : this.world.mutate((w) => {
            const i = w.faults.findIndex(matches);
            const fault = w.faults[i];
            if (fault?.kind !== 'api-throttled') return false;
            if (fault.calls !== undefined) {
              fault.calls--;
              if (fault.calls <= 0) w.faults.splice(i, 1);
            }
            return true;
          });
    if (!throttled) return;
    const action = 'ec2:DescribeInstances';
    this.throttles.record(region, callName(action));
    throw toAwsError(new SimThrottledError('Request limit exceeded.'), { action, region, doing: 'listing instances' });
  }

  async setTags(instanceId: string, tags: Record<string, string>, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    for (const [k, v] of Object.entries(tags)) {
      if (k.length === 0 || k.length > 128 || v.length > 256 || k.toLowerCase().startsWith('aws:')) {
        throw new Error(`InvalidParameterValue: tag ${JSON.stringify(k)} is not allowed (keys 1-128 characters, values up to 256, no aws: prefix)`);
      }
    }
    this.world.mutate((w) => {
      const inst = w.instances[instanceId];
      if (!inst || inst.state === 'terminated') throw new SimNotFoundError(`The instance ID '${instanceId}' does not exist`);
      Object.assign(inst.tags, tags);
      const name = tags[TAGS.name];
      if (name !== undefined) inst.name = name;
    });
  }

  async deleteTags(instanceId: string, keys: string[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.world.mutate((w) => {
      const inst = w.instances[instanceId];
      if (!inst || inst.state === 'terminated') throw new SimNotFoundError(`The instance ID '${instanceId}' does not exist`);
      for (const k of keys) delete inst.tags[k];
    });
  }
}

const MINUTE = 60_000;

/** A node's series as last computed, with everything its values depend on. */
interface CachedSeries {
  end: number;
  minutes: number;
  faults: string;
  state: string;
  launchTime: string;
  readOnly: boolean | undefined;
  repairing: boolean;
  metrics: NodeMetrics;
}

/** The last answer, and what it was an answer to. */
interface LastAnswer {
  stateVersion: number;
  end: number;
  minutes: number;
  instanceIds: string[];
  metrics: Record<string, NodeMetrics>;
}

export class SimMetrics implements Metrics {
  private readonly cache = new Map<string, CachedSeries>();
  private last: LastAnswer | undefined;

  constructor(private readonly world: SimWorld) {}

  /**
   * Within a minute, with the world unchanged, the answer is the record given
   * last time: the poller asks every few seconds for 5,000 nodes, and even
   * checking each node's inputs costs milliseconds. Callers only read it.
   */
  async fetch(query: MetricsQuery, opts?: CallOptions): Promise<Record<string, NodeMetrics>> {
    opts?.signal?.throwIfAborted();
    this.world.view();
    const end = Math.floor(this.world.now() / MINUTE) * MINUTE;
    const last = this.last;
    if (
      last &&
      last.stateVersion === this.world.stateVersion &&
      last.end === end &&
      last.minutes === query.minutes &&
      sameIds(last.instanceIds, query.instanceIds)
    ) {
      return last.metrics;
    }
    const metrics = this.compute(query, end);
    this.last = { stateVersion: this.world.stateVersion, end, minutes: query.minutes, instanceIds: [...query.instanceIds], metrics };
    return metrics;
  }

  private compute(query: MetricsQuery, end: number): Record<string, NodeMetrics> {
    const w = this.world.view();
    const minutes = query.minutes;
    const running = new Set(w.repairs.filter((r) => r.outcome === 'running').map((r) => r.node));
    // Points are per minute: within one minute a node's series changes only with what it depends on
    // (faults, its state, a running repair), so a tag written elsewhere does not recompute 5,000 series.
    const faults = w.faults.map((f) => `${f.kind}/${'node' in f ? f.node : 'az' in f ? f.az : ''}/${f.since}`).join(',');
    const out: Record<string, NodeMetrics> = {};
    for (const id of query.instanceIds) {
      const inst = w.instances[id];
      if (!inst || inst.state === 'terminated') continue;
      // Compared field by field rather than as one key string: 5,000 nodes a refresh.
      const readOnly = w.mysql[id]?.readOnly;
      const repairing = running.has(id);
      const cached = this.cache.get(id);
      const same =
        cached !== undefined &&
        cached.minutes === minutes &&
        cached.faults === faults &&
        cached.state === inst.state &&
        cached.launchTime === inst.launchTime &&
        cached.readOnly === readOnly &&
        cached.repairing === repairing;
      if (same && cached.end === end) {
        out[id] = cached.metrics;
        continue;
      }
      // A repair lifts the last 12 minutes before `end`, so while one runs the old points do not carry over.
      const slides = same && cached.end < end && !repairing;
      const metrics = this.series(id, end, minutes, repairing, cached?.metrics, slides ? cached.end : undefined);
      this.cache.set(id, { end, minutes, faults, state: inst.state, launchTime: inst.launchTime, readOnly, repairing, metrics });
      out[id] = metrics;
    }
    return out;
  }

  /**
   * A node's series over the window ending at `end`. Points equal to those of
   * `previous` (the window a minute ago shares all but its newest point) are
   * the same objects: 5,000 nodes' worth of history is then not made anew
   * every minute, and two refreshes side by side hold it once.
   *
   * Every point is a function of (node, time) and of inputs the caller has
   * compared; when they are unchanged, `previousEnd` says where `previous`
   * ends, and only the points after it are computed.
   */
  private series(id: string, end: number, minutes: number, repairing: boolean, previous?: NodeMetrics, previousEnd?: number): NodeMetrics {
    const w = this.world.view();
    const inst = w.instances[id]!;
    const seed = w.seed;
    const key = keyOf(id);
    const hung = w.faults.find((f) => f.kind === 'kill-node' && f.node === id) ?? w.faults.find((f) => f.kind === 'az-outage' && f.az === inst.az);
    const stuck = w.faults.find((f) => f.kind === 'io-stuck' && f.node === id);
    const base = baseCpu(inst.engine, w.mysql[id]?.readOnly === false) + 10 * unit3(seed, key, 1);
    if (inst.state !== 'running' && inst.state !== 'stopping') return { cpu: [], extra: { 'io-wait': [] } };
    const from = end - Math.max(1, minutes) * MINUTE;
    let first = from + MINUTE;
    let cpu: MetricPoint[] = [];
    let iowait: MetricPoint[] = [];
    if (previous && previousEnd !== undefined) {
      cpu = pointsAfter(previous.cpu, from);
      iowait = pointsAfter(previous.extra?.['io-wait'] ?? [], from);
      first = Math.max(first, previousEnd + MINUTE);
    }
    const cpuPoint = pointsFrom(previous?.cpu);
    const ioPoint = pointsFrom(previous?.extra?.['io-wait']);
    const launched = Date.parse(inst.launchTime);
    for (let t = first; t <= end; t += MINUTE) {
      if (launched > t) continue;
      if (hung && t >= hung.since) {
        cpu.push(cpuPoint(t, round(0.5 * unit3(seed, key, t))));
        continue;
      }
      let v = base + 12 * smoothNoise(seed, key, t, 10 * MINUTE) + 4 * (unit3(seed, key, t) - 0.5);
      if (repairing && t >= end - 12 * MINUTE) v += 25;
      cpu.push(cpuPoint(t, round(clamp(v, 1, 100))));
      const io = stuck && t >= stuck.since ? 92 + 7 * unit3(seed, key ^ 7, t) : 1.5 + 1.5 * (smoothNoise(seed, key ^ 7, t, 5 * MINUTE) + 1);
      iowait.push(ioPoint(t, round(io)));
    }
    return { cpu, extra: { 'io-wait': iowait } };
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The points of an ascending series that are later than `t`, as a new array. */
function pointsAfter(points: readonly MetricPoint[], t: number): MetricPoint[] {
  let i = 0;
  while (i < points.length && points[i]!.t <= t) i++;
  return points.slice(i);
}

/** Makes points in ascending time, reusing those of `previous` (ascending too) that are equal. */
function pointsFrom(previous: readonly MetricPoint[] | undefined): (t: number, v: number) => MetricPoint {
  let i = 0;
  return (t, v) => {
    if (previous) {
      while (i < previous.length && previous[i]!.t < t) i++;
      const p = previous[i];
      if (p && p.t === t && p.v === v) return p;
    }
    return { t, v };
  };
}

function baseCpu(engine: EngineKind, writable: boolean): number {
  if (engine === 'cassandra') return 38;
  if (engine === 'mysql') return writable ? 32 : 16;
  return 22;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
