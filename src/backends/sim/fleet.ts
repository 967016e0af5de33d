// Generates a simulated fleet from (scenario, seed, nodes): the same inputs
// always give the same instances, ids, addresses, tags and topology. Nothing
// here reads the wall clock; times are offsets from a fixed virtual epoch.

import { clusterKey, lockKey } from '../../domain/scope.js';
import type { EngineKind, Instance, MysqlFlavour, WriterRecordRef } from '../../domain/types.js';
import { hash32, keyOf, Prng } from './prng.js';
import { simRegions } from './regions.js';
import { naturalDelayAt, seqAt } from './replication.js';
import { STATE_FORMAT, dnsKey, type LaunchTemplateState, type Segment, type WorldState } from './state.js';

/** Virtual time when every simulated world starts: a night shift, 1 AM UTC. */
export const SIM_EPOCH = Date.UTC(2026, 10, 20, 1, 0, 0);

export const REGION = 'us-east-1';
export const AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;

/** A region's three AZs (`eu-west-1a/b/c`); the one-region world's without one. */
export function azsOf(region: string | undefined): string[] {
  return region === undefined ? [...AZS] : [`${region}a`, `${region}b`, `${region}c`];
}

/** The region an AZ is in: EC2 names AZs by their region and a letter. */
export function regionOfAz(az: string): string {
  return az.replace(/[a-z]$/, '');
}

/** A resource named per cluster (its group, its writer record) in a world of several regions names the region too: Route 53 is global, and the sim keys groups by name. */
function scoped(name: string, region: string | undefined): string {
  return region === undefined ? name : `${name}-${region}`;
}

export function asgNameOf(cluster: string, region: string | undefined): string {
  return `${scoped(cluster, region)}-asg`;
}

export function writerNameOf(cluster: string, region: string | undefined): string {
  return region === undefined ? `${cluster}.${WRITER_DOMAIN}` : `${cluster}.${region}.${WRITER_DOMAIN}`;
}

/** A cluster's name in words safe anywhere (a security group, a file): `eu-west-1--orders-db`, the bare name without a region. */
export function clusterSlug(c: { name: string; region?: string | undefined }): string {
  return lockKey(c);
}
export const WRITER_ZONE_ID = 'ZSIMNIGHTSHIFT1';
export const WRITER_DOMAIN = 'writer.sim.internal';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const TAGS = {
  cluster: 'nightshift:cluster',
  engine: 'nightshift:engine',
  role: 'nightshift:role',
  name: 'Name',
  lastRepaired: 'last-repaired',
  asg: 'aws:autoscaling:groupName',
  ltId: 'aws:ec2launchtemplate:id',
  ltVersion: 'aws:ec2launchtemplate:version',
} as const;

interface MysqlVariant {
  flavour: MysqlFlavour;
  version: string;
}

/** Both flavours and both sides of MySQL 8.2 (SHOW BINARY LOG STATUS), so every probe path runs. */
const MYSQL_VARIANTS: MysqlVariant[] = [
  { flavour: 'mariadb', version: '10.11.9-MariaDB-log' },
  { flavour: 'mysql', version: '8.0.39' },
  { flavour: 'mariadb', version: '11.4.3-MariaDB-log' },
  { flavour: 'mysql', version: '8.4.2' },
];

const MYSQL_NAMES = ['orders', 'billing', 'users', 'ledger', 'catalog', 'payments', 'inventory', 'sessions', 'search', 'audit'];
const RING_NAMES = ['events', 'timeline', 'telemetry', 'activity'];
const WEB_NAMES = ['web', 'api', 'edge'];

export type ClusterPlan =
  | { kind: 'mysql'; name: string; variant: MysqlVariant; replicas: number; wave?: boolean }
  | { kind: 'cassandra'; name: string; size: number; ageProfile: 'default' | 'spread' }
  | { kind: 'generic'; name: string; size: number };

/** The default fleet, and with `nodes` a large one that starts with it. */
export function planFleet(seed: number, nodes: number | null): ClusterPlan[] {
  const prng = new Prng(hash32(seed, 11));
  const names = shuffle(prng, MYSQL_NAMES);
  const plan: ClusterPlan[] = MYSQL_VARIANTS.map((variant, i) => ({
    kind: 'mysql' as const,
    name: `${names[i]}-db`,
    variant,
    replicas: 2,
    wave: i === 0,
  }));
  plan.push({ kind: 'cassandra', name: `${prng.pick(RING_NAMES)}-ring`, size: 6, ageProfile: 'default' });
  plan.push({ kind: 'generic', name: 'web', size: 4 });
  if (nodes === null) return plan;

  let total = plan.reduce((n, c) => n + sizeOf(c), 0);
  let k = 0;
  while (total < nodes) {
    k++;
    const left = nodes - total;
    const roll = prng.next();
    let c: ClusterPlan;
    if (roll < 0.6 && left >= 3) {
      const replicas = Math.min(left - 1, prng.int(4, 11));
      c = { kind: 'mysql', name: `${MYSQL_NAMES[k % MYSQL_NAMES.length]}-db-${k}`, variant: MYSQL_VARIANTS[k % 4]!, replicas };
    } else if (roll < 0.9 && left >= 3) {
      const size = Math.min(left, prng.int(3, 6) * 3);
      c = { kind: 'cassandra', name: `${RING_NAMES[k % RING_NAMES.length]}-ring-${k}`, size, ageProfile: 'spread' };
    } else {
      c = { kind: 'generic', name: `${WEB_NAMES[k % WEB_NAMES.length]}-${k}`, size: Math.min(left, prng.int(8, 16)) };
    }
    plan.push(c);
    total += sizeOf(c);
  }
  return plan;
}

/**
 * The plans of a world of `count` regions: the first region's is the fleet
 * one region would have (of its share of `nodes`), the others are drawn from
 * seeds of their own. The first MySQL cluster has the same name in every
 * region, so a same-named cluster is always there to rehearse with.
 */
export function planRegions(seed: number, nodes: number | null, count: number): ClusterPlan[][] {
  if (count <= 1) return [planFleet(seed, nodes)];
  const plans: ClusterPlan[][] = [];
  for (let r = 0; r < count; r++) {
    const share = nodes === null ? null : Math.max(1, Math.floor(nodes / count) + (r < nodes % count ? 1 : 0));
    const plan = planFleet(r === 0 ? seed : hash32(seed, 59, r), share);
    if (r > 0) {
      const want = plans[0]!.find((c) => c.kind === 'mysql')!.name;
      const first = plan.find((c) => c.kind === 'mysql')!;
      // Another cluster of this region already named so swaps names with it: names stay unique within a region.
      const clash = plan.find((c) => c !== first && c.name === want);
      if (clash) clash.name = first.name;
      first.name = want;
    }
    plans.push(plan);
  }
  return plans;
}

function sizeOf(c: ClusterPlan): number {
  return c.kind === 'mysql' ? c.replicas + 1 : c.size;
}

function shuffle<T>(prng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function instanceId(prng: Prng): string {
  return `i-${prng.hex(17)}`;
}

export function addressOf(net: [number, number], host: number): string {
  return `127.${net[0]}.${net[1]}.${host}`;
}

/**
 * Cluster index (1-based) -> the two middle octets of its loopback /24. Each
 * region of a world of several has its own block of second octets (the
 * first region's is the one-region world's), so no two regions share an address.
 */
export function netOf(index: number, regionIndex = 0): [number, number] {
  return [10 + REGION_NET_BLOCK * regionIndex + (index >> 8), index & 255];
}

/** Second octets per region: room for 15,000 clusters a region, and four regions below 255. */
const REGION_NET_BLOCK = 60;

export function emptyWorld(scenario: string, seed: number, nodes: number | null, regions: string[] = []): WorldState {
  return {
    format: STATE_FORMAT,
    scenario,
    seed,
    nodes,
    ...(regions.length > 0 ? { regions } : {}),
    clock: { virtualMs: SIM_EPOCH, realMs: 0 },
    epochMs: SIM_EPOCH,
    counters: { instance: 0, volume: 0, snapshot: 0, change: 0, repair: 0, segment: 0 },
    order: [],
    instances: {},
    mysql: {},
    cassandra: {},
    clusters: {},
    rings: {},
    segments: {},
    dns: {},
    volumes: {},
    snapshots: {},
    launchTemplates: {},
    asgs: {},
    faults: [],
    repairs: [],
    transitions: [],
    jobs: {},
    jobStarts: [],
  };
}

/**
 * Builds the fleet of the plan; scenarios then bend it (see scenarios.ts).
 * With several regions, each region's clusters are built in turn from one
 * stream of randomness, so ids never repeat across regions.
 */
export function generateFleet(scenario: string, seed: number, nodes: number | null, regionCount = 1): WorldState {
  const regions = simRegions(regionCount);
  const w = emptyWorld(scenario, seed, nodes, regions);
  const prng = new Prng(hash32(seed, 1));
  const azShift = prng.int(0, 2);
  planRegions(seed, nodes, regionCount).forEach((plans, r) => {
    const region = regions[r];
    const azs = azsOf(region);
    plans.forEach((plan, i) => {
      const index = i + 1;
      const key = clusterKey({ name: plan.name, region });
      const ctx: BuildContext = { w, prng, index, net: netOf(index, r), azShift, key, region, azs };
      if (plan.kind === 'mysql') buildMysql(ctx, plan);
      else if (plan.kind === 'cassandra') buildRing(ctx, plan);
      else buildGeneric(ctx, plan);
    });
  });
  addMysqlLaunchTemplates(w);
  return w;
}

/**
 * Every MySQL cluster's launch template, and its instances tagged with it as
 * EC2 tags what it launches from one (a rebuild launches its new replica
 * from it). Drawn from a PRNG of their own, so the rest of the generated
 * fleet is what it was before they existed; a world saved without them gets
 * them when opened.
 */
export function addMysqlLaunchTemplates(w: WorldState): void {
  for (const [key, c] of Object.entries(w.clusters)) {
    if (c.engine !== 'mysql' || c.launchTemplate) continue;
    // Drawn by the cluster's key: two regions' same-named clusters get templates of their own.
    const prng = new Prng(hash32(w.seed, 47, keyOf(key)));
    const lt: LaunchTemplateState = { id: `lt-${prng.hex(17)}`, name: `${c.name}-lt`, version: prng.int(2, 9), updatedAt: isoSeconds(w.epochMs - prng.int(40, 90) * DAY) };
    if (c.region !== undefined) lt.region = c.region;
    w.launchTemplates[lt.id] = lt;
    c.launchTemplate = lt.id;
    for (const id of w.order) {
      const inst = w.instances[id]!;
      if (inst.cluster !== key) continue;
      inst.tags[TAGS.ltId] ??= lt.id;
      inst.tags[TAGS.ltVersion] ??= String(lt.version);
    }
  }
}

/** The replicas a MySQL cluster (by its key: clusterKey) was generated with: its redundancy target (a scenario may leave it short). */
export function generatedReplicas(w: WorldState, cluster: string): number | undefined {
  if (w.clusters[cluster]?.engine !== 'mysql') return undefined;
  const born = w.order.filter((id) => w.instances[id]!.cluster === cluster && Date.parse(w.instances[id]!.launchTime) < w.epochMs).length;
  return born > 0 ? born - 1 : undefined;
}

interface BuildContext {
  w: WorldState;
  prng: Prng;
  index: number;
  net: [number, number];
  azShift: number;
  /** The cluster's key in the world (clusterKey: the name, and the region in a world of several). */
  key: string;
  region: string | undefined;
  azs: readonly string[];
}

function addInstance(
  ctx: BuildContext,
  spec: { cluster: string; engine: EngineKind; host: number; az: string; type: string; launchedDaysAgo: number; tags: Record<string, string>; asg?: string },
): Instance & { cluster: string; engine: EngineKind } {
  const { w, prng } = ctx;
  const id = instanceId(prng);
  const name = spec.tags[TAGS.name]!;
  const inst: Instance & { cluster: string; engine: EngineKind } = {
    id,
    name,
    privateIp: addressOf(ctx.net, spec.host),
    az: spec.az,
    type: spec.type,
    state: 'running',
    launchTime: new Date(w.epochMs - Math.round(spec.launchedDaysAgo * DAY) - prng.int(0, 3600) * 1000).toISOString(),
    statusChecks: 'ok',
    tags: spec.tags,
    cluster: spec.cluster,
    engine: spec.engine,
  };
  if (ctx.region !== undefined) inst.region = ctx.region;
  if (spec.asg) inst.asg = spec.asg;
  w.instances[id] = inst;
  w.order.push(id);
  return inst;
}

function nodeName(cluster: string, n: number): string {
  return `${cluster}-${String(n).padStart(2, '0')}`;
}

function buildMysql(ctx: BuildContext, plan: Extract<ClusterPlan, { kind: 'mysql' }>): void {
  const { w, prng, index } = ctx;
  const { flavour, version } = plan.variant;
  const appRate = prng.int(4, 40);
  w.clusters[ctx.key] = { name: plan.name, ...regionField(ctx), engine: 'mysql', flavour, version, appRate, net: ctx.net };
  const type = prng.pick(['r6i.xlarge', 'r6i.2xlarge', 'r7g.xlarge']);
  const eventBytes = prng.int(350, 1400);
  const ids: string[] = [];
  const masterAz = (index + ctx.azShift) % 3;
  for (let n = 0; n <= plan.replicas; n++) {
    const az = ctx.azs[(masterAz + n) % 3]!;
    const role = n === 0 ? 'master' : 'replica';
    const inst = addInstance(ctx, {
      cluster: ctx.key,
      engine: 'mysql',
      host: n + 1,
      az,
      type,
      launchedDaysAgo: prng.int(20, 420),
      tags: {
        [TAGS.name]: nodeName(plan.name, n + 1),
        [TAGS.cluster]: plan.name,
        [TAGS.engine]: 'mysql',
        [TAGS.role]: role,
        env: 'prod',
        team: 'data-platform',
      },
    });
    ids.push(inst.id);
    w.mysql[inst.id] = {
      flavour,
      version,
      serverId: index * 100 + n + 1,
      serverUuid: prng.uuid(),
      port: 3306,
      readOnly: n !== 0,
      superReadOnly: flavour === 'mysql' && n !== 0,
      logBin: true,
      logReplicaUpdates: true,
      strayRate: 0,
      base: {},
      baseAt: w.epochMs - HOUR,
      ownSegments: [],
      lag: { kind: 'steady' },
      binlogBase: prng.int(40, 400) * 1_073_741_824 + prng.int(0, 1_000_000_000),
      eventBytes,
      binlogPrefix: flavour === 'mariadb' ? 'mysql-bin' : 'binlog',
    };
  }
  const master = ids[0]!;
  const masterNode = w.mysql[master]!;

  // History: a decommissioned master wrote the first part of the data set.
  const oldSeg = newSegment(w, {
    node: 'decommissioned',
    cluster: ctx.key,
    uuid: prng.uuid(),
    serverId: index * 100 + 99,
    startSeq: 0,
    bonus: prng.int(10_000, 900_000),
    startT: w.epochMs - prng.int(200, 600) * DAY,
    rate: 0,
  });
  oldSeg.endT = oldSeg.startT;
  const masterSeg = newSegment(w, {
    node: master,
    cluster: ctx.key,
    uuid: masterNode.serverUuid,
    serverId: masterNode.serverId,
    startSeq: flavour === 'mariadb' ? oldSeg.bonus : 0,
    bonus: prng.int(100_000, 5_000_000),
    startT: w.epochMs - DAY,
    rate: appRate,
  });
  masterNode.ownSegments.push(masterSeg.id);

  const writer = writerNameOf(plan.name, ctx.region);
  const dns = dnsKey(WRITER_ZONE_ID, writer, 'A');
  w.dns[dns] = { zoneId: WRITER_ZONE_ID, name: writer, type: 'A', ttl: 60, values: [w.instances[master]!.privateIp] };
  w.clusters[ctx.key]!.writerDns = dns;

  for (const id of ids) {
    const node = w.mysql[id]!;
    node.base[oldSeg.id] = oldSeg.bonus;
    if (id === master) continue;
    if (plan.wave && id === ids[ids.length - 1]) {
      node.lag = { kind: 'wave', peak: prng.int(120, 240), periodMs: prng.int(30, 45) * MINUTE, phase: prng.next() };
    }
    node.replica = {
      sourceHost: w.instances[master]!.privateIp,
      sourcePort: 3306,
      user: 'repl',
      gtidMode: flavour === 'mariadb' ? 'slave_pos' : 'auto',
      io: true,
      sql: true,
      connectedAt: w.epochMs - prng.int(2, 90) * DAY,
    };
    seedReplicaBase(w, id, master);
  }
}

/**
 * A simulated cluster's writer record, as an AWS target has it from
 * `clusters.C.writerDns`: every MySQL cluster gets one at birth, and the sim
 * keeps following it when a swap renames it. A record deleted since is still
 * configured (the poller then finds it missing).
 */
export function writerDnsConfig(w: WorldState, cluster: string): WriterRecordRef | undefined {
  // `cluster` is the key (clusterKey): the name, and the region in a world of several.
  const key = w.clusters[cluster]?.writerDns;
  if (!key) return undefined;
  const [zoneId, name, type] = key.split('|');
  if (!zoneId || !name || (type !== 'A' && type !== 'CNAME')) return undefined;
  return { zoneId, name, type };
}

/**
 * Sets a replica's knowledge to what its lag says it had applied an hour
 * before the epoch, so scenarios can still change history in that hour (a
 * master that died seven minutes ago) without replicas being ahead of it.
 */
export function seedReplicaBase(w: WorldState, id: string, sourceId: string): void {
  const node = w.mysql[id]!;
  const at = w.epochMs - HOUR;
  node.baseAt = at;
  const delay = naturalDelayAt(node.lag, w.seed, id, at);
  const src = w.mysql[sourceId]!;
  for (const sid of [...Object.keys(src.base), ...src.ownSegments]) {
    const seg = w.segments[sid]!;
    const v = Math.min(src.base[sid] ?? Infinity, seqAt(seg, at - delay * 1000));
    if (v > seg.startSeq) node.base[sid] = Math.max(node.base[sid] ?? 0, v);
  }
}

export function newSegment(
  w: WorldState,
  spec: { node: string; cluster: string; uuid?: string; serverId: number; startSeq: number; bonus: number; startT: number; rate: number; domain?: number },
): Segment {
  const id = `s${++w.counters.segment}`;
  const seg = { id, domain: 0, endT: null, ...spec };
  w.segments[id] = seg;
  return seg;
}

function buildRing(ctx: BuildContext, plan: Extract<ClusterPlan, { kind: 'cassandra' }>): void {
  const { w, prng } = ctx;
  const asg = asgNameOf(plan.name, ctx.region);
  const lt = addLaunchTemplate(ctx, plan.name);
  w.clusters[ctx.key] = { name: plan.name, ...regionField(ctx), engine: 'cassandra', appRate: 0, asg, launchTemplate: lt.id, net: ctx.net };
  const type = prng.pick(['i4i.xlarge', 'i4i.2xlarge', 'i3en.xlarge']);
  const ids: string[] = [];
  const ages = repairAges(prng, plan.size, plan.ageProfile);
  for (let n = 0; n < plan.size; n++) {
    const az = ctx.azs[(n + ctx.azShift) % 3]!;
    const tags: Record<string, string> = {
      [TAGS.name]: nodeName(plan.name, n + 1),
      [TAGS.cluster]: plan.name,
      [TAGS.engine]: 'cassandra',
      [TAGS.role]: 'cassandra',
      [TAGS.asg]: asg,
      [TAGS.ltId]: lt.id,
      [TAGS.ltVersion]: String(lt.version),
      env: 'prod',
    };
    const age = ages[n];
    if (age !== undefined) tags[TAGS.lastRepaired] = isoSeconds(w.epochMs - age);
    const inst = addInstance(ctx, { cluster: ctx.key, engine: 'cassandra', host: n + 1, az, type, launchedDaysAgo: prng.int(8, 35), tags, asg });
    ids.push(inst.id);
    w.cassandra[inst.id] = {
      ring: ctx.key,
      hostId: prng.uuid(),
      tokens: 16,
      loadBytes: prng.int(80, 420) * 1_073_741_824 + prng.int(0, 1_000_000_000),
      repairCommands: 0,
    };
  }
  w.rings[ctx.key] = { datacenter: ctx.region ?? REGION, keyspaces: ['system_auth', 'system_distributed', 'system_traces', plan.name.replace(/-ring.*$/, '')], members: ids };
  const propagated = { [TAGS.cluster]: plan.name, [TAGS.engine]: 'cassandra', [TAGS.role]: 'cassandra', env: 'prod' };
  addAsg(ctx, { name: asg, cluster: ctx.key, ids, min: Math.max(1, plan.size - 2), max: plan.size + 2, lt: lt.id, tags: propagated });
}

/** Ages in ms; undefined = no tag. The default ring has one untagged node and one overdue (> 10 days). */
function repairAges(prng: Prng, size: number, profile: 'default' | 'spread'): Array<number | undefined> {
  if (profile === 'default') {
    const ages: Array<number | undefined> = [
      undefined,
      12 * DAY + prng.int(0, 20) * HOUR,
      6 * DAY + prng.int(0, 20) * HOUR,
      4 * DAY + prng.int(0, 20) * HOUR,
      2 * DAY + prng.int(0, 20) * HOUR,
      prng.int(3, 20) * HOUR,
    ];
    const out = shuffle(prng, ages);
    while (out.length < size) out.push(prng.int(1, 8) * DAY);
    return out.slice(0, size);
  }
  return Array.from({ length: size }, () => (prng.next() < 0.05 ? undefined : prng.int(2, 9 * 24) * HOUR));
}

function buildGeneric(ctx: BuildContext, plan: Extract<ClusterPlan, { kind: 'generic' }>): void {
  const { w, prng } = ctx;
  const asg = asgNameOf(plan.name, ctx.region);
  const lt = addLaunchTemplate(ctx, plan.name);
  w.clusters[ctx.key] = { name: plan.name, ...regionField(ctx), engine: 'generic', appRate: 0, asg, launchTemplate: lt.id, net: ctx.net };
  const type = prng.pick(['c6i.large', 't3.large', 'm6i.large']);
  const ids: string[] = [];
  for (let n = 0; n < plan.size; n++) {
    const inst = addInstance(ctx, {
      cluster: ctx.key,
      engine: 'generic',
      host: n + 1,
      az: ctx.azs[(n + ctx.azShift) % 3]!,
      type,
      launchedDaysAgo: prng.int(1, 30),
      asg,
      tags: {
        [TAGS.name]: nodeName(plan.name, n + 1),
        [TAGS.cluster]: plan.name,
        [TAGS.engine]: 'generic',
        [TAGS.role]: 'member',
        [TAGS.asg]: asg,
        [TAGS.ltId]: lt.id,
        [TAGS.ltVersion]: String(lt.version),
        env: 'prod',
      },
    });
    ids.push(inst.id);
  }
  const propagated = { [TAGS.cluster]: plan.name, [TAGS.engine]: 'generic', [TAGS.role]: 'member', env: 'prod' };
  addAsg(ctx, { name: asg, cluster: ctx.key, ids, min: Math.max(1, plan.size - 2), max: plan.size * 2, lt: lt.id, tags: propagated });
}

function addLaunchTemplate(ctx: BuildContext, cluster: string) {
  const { w, prng } = ctx;
  const lt: LaunchTemplateState = {
    id: `lt-${prng.hex(17)}`,
    name: `${cluster}-lt`,
    version: prng.int(3, 12),
    updatedAt: isoSeconds(w.epochMs - prng.int(40, 90) * DAY),
  };
  if (ctx.region !== undefined) lt.region = ctx.region;
  w.launchTemplates[lt.id] = lt;
  return lt;
}

function regionField(ctx: BuildContext): { region?: string } {
  return ctx.region === undefined ? {} : { region: ctx.region };
}

/** A group of the generated fleet; `tags` are those it propagates to what it launches. */
function addAsg(ctx: BuildContext, spec: { name: string; cluster: string; ids: string[]; min: number; max: number; lt: string; tags: Record<string, string> }): void {
  const { w, prng } = ctx;
  w.asgs[spec.name] = {
    name: spec.name,
    cluster: spec.cluster,
    min: spec.min,
    max: spec.max,
    desired: spec.ids.length,
    members: [...spec.ids],
    lifecycle: Object.fromEntries(spec.ids.map((id) => [id, 'InService'])),
    isProtected: {},
    launchTemplate: spec.lt,
    azs: [...ctx.azs],
    warmupMs: prng.int(3, 6) * MINUTE,
    suspended: [],
    tags: spec.tags,
  };
}

export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
