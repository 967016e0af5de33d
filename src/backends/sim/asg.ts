// Auto Scaling groups' own processes on the simulated fleet, acting as AWS's
// do unless suspended: Launch keeps a group at its desired capacity,
// ReplaceUnhealthy replaces a member Unhealthy for five minutes, AZRebalance
// evens out the AZs by launching in the emptiest and then terminating in the
// fullest (a second instance out, under a rotation that did not suspend it).
// Everything here runs on events (a terminate, a launch landing, a member
// seen going down, a resume, a heal), never on every turn.

import type { GroupMember, ScalingGroup } from '../../domain/types.js';
import { TAGS } from './fleet.js';
import { hash32 } from './prng.js';
import type { AsgState, WorldState } from './state.js';
import { SimEc2Error } from './volumes.js';
import type { SimWorld } from './world.js';

/** Every process SuspendProcesses knows; an empty list there means all of them, as on AWS. */
export const PROCESSES = [
  'Launch',
  'Terminate',
  'AddToLoadBalancer',
  'AlarmNotification',
  'AZRebalance',
  'HealthCheck',
  'InstanceRefresh',
  'ReplaceUnhealthy',
  'ScheduledActions',
] as const;

const MINUTE = 60_000;
/** How long a member is Unhealthy before ReplaceUnhealthy terminates it (EC2 status checks fail for a while first). */
export const UNHEALTHY_MS = 5 * MINUTE;
/** A Cassandra bootstrap that never ends (JSON holds no Infinity). */
export const NEVER = Number.MAX_SAFE_INTEGER;
/** How long a Cassandra node takes to bootstrap once it is running. */
export const JOIN_MS = 4 * MINUTE;
/** From TerminateInstanceInAutoScalingGroup to terminated. */
const TERMINATE_MS = 45_000;

export function isSuspended(g: AsgState, process: string): boolean {
  return g.suspended?.includes(process) ?? false;
}

/** Checks process names as AWS does, before anything changes; an empty list stands for every process. */
export function processNames(group: string, processes: readonly string[]): string[] {
  for (const p of processes) {
    if (!(PROCESSES as readonly string[]).includes(p)) {
      throw new SimEc2Error('ValidationError', `suspending or resuming processes of ${group}: ${JSON.stringify(p)} is no Auto Scaling process; one of ${PROCESSES.join(', ')}`);
    }
  }
  return processes.length === 0 ? [...PROCESSES] : [...new Set(processes)];
}

/**
 * EC2 health as the group sees it: the hypervisor's view, so an isolated
 * instance stays Healthy and a pending one is not judged yet.
 */
export function memberHealthy(world: SimWorld, w: WorldState, id: string): boolean {
  const inst = w.instances[id];
  if (!inst) return false;
  if (inst.state === 'pending') return true;
  const reachableOrIsolated = world.hostUp(id) || inst.net?.isolatedIn !== undefined;
  return inst.state === 'running' && reachableOrIsolated && inst.statusChecks !== 'impaired';
}

/** The group as DescribeAutoScalingGroups (with its launch template resolved) shows it. */
export function describeGroup(world: SimWorld, w: WorldState, g: AsgState): ScalingGroup {
  const members: GroupMember[] = g.members.map((id) => {
    const inst = w.instances[id]!;
    const m: GroupMember = {
      instanceId: id,
      az: inst.az,
      lifecycle: g.lifecycle[id] ?? 'InService',
      health: memberHealthy(world, w, id) ? 'Healthy' : 'Unhealthy',
      isProtected: g.isProtected[id] ?? false,
    };
    const version = inst.tags[TAGS.ltVersion];
    if (version !== undefined) m.launchTemplateVersion = version;
    return m;
  });
  const out: ScalingGroup = { name: g.name, min: g.min, max: g.max, desired: g.desired, members, suspended: [...(g.suspended ?? [])] };
  const lt = w.launchTemplates[g.launchTemplate];
  // The sim's groups launch $Latest, which AWS reports as the word; the number is what it resolves to.
  if (lt) out.launchTemplate = { id: lt.id, name: lt.name, version: String(lt.version), asked: '$Latest' };
  return out;
}

/**
 * The tags a group propagates at launch, for a world saved before groups had
 * their own: the cluster's, with the role a replacement takes (a MySQL group
 * launches replicas, never a master).
 */
export function derivedGroupTags(w: WorldState, g: AsgState): Record<string, string> {
  const c = w.clusters[g.cluster];
  const engine = c?.engine ?? 'generic';
  const tags: Record<string, string> = { [TAGS.cluster]: c?.name ?? g.cluster, [TAGS.engine]: engine };
  const sample = g.members.map((id) => w.instances[id]).find((i) => i !== undefined);
  const role = engine === 'mysql' ? 'replica' : sample?.tags[TAGS.role];
  if (role !== undefined) tags[TAGS.role] = role;
  for (const k of ['env', 'team']) if (sample?.tags[k] !== undefined) tags[k] = sample.tags[k];
  return tags;
}

function downAzs(w: WorldState): Set<string> {
  const out = new Set<string>();
  for (const f of w.faults) if (f.kind === 'az-outage') out.add(f.az);
  return out;
}

/** Members not on their way out, by AZ (every AZ of the group, empty ones included). */
function azCounts(w: WorldState, g: AsgState): Map<string, string[]> {
  const by = new Map<string, string[]>(g.azs.map((az) => [az, []]));
  for (const id of g.members) {
    if (g.lifecycle[id] === 'Terminating') continue;
    const az = w.instances[id]!.az;
    let list = by.get(az);
    if (!list) by.set(az, (list = []));
    list.push(id);
  }
  return by;
}

function live(g: AsgState): number {
  return g.members.filter((id) => g.lifecycle[id] !== 'Terminating').length;
}

/** Launches one member (Pending, InService after the group's warm-up), tagged as the group propagates. */
function launchIn(world: SimWorld, w: WorldState, g: AsgState, az: string, t: number): string {
  const tags: Record<string, string> = { ...(g.tags ?? derivedGroupTags(w, g)), [TAGS.asg]: g.name };
  const lt = w.launchTemplates[g.launchTemplate];
  if (lt) {
    tags[TAGS.ltId] = lt.id;
    tags[TAGS.ltVersion] = String(lt.version);
  }
  const fresh = world.launchInstance({ cluster: g.cluster, az, tags, asg: g.name }, t);
  g.members.push(fresh.id);
  g.lifecycle[fresh.id] = 'Pending';
  const armed = w.faults.find((f) => f.kind === 'replacement-unhealthy' && f.group === g.name && f.node === undefined);
  if (armed && armed.kind === 'replacement-unhealthy') {
    armed.node = fresh.id;
    world.bump();
  }
  world.schedule({ at: t + g.warmupMs + (hash32(w.seed, t) % 60_000), kind: 'in-service', id: fresh.id });
  return fresh.id;
}

/**
 * Launch: members up to desired capacity, each in the emptiest AZ that is up
 * (launches into an AZ that is down fail, and the group tries another).
 */
export function fillGroup(world: SimWorld, w: WorldState, g: AsgState, t: number): void {
  if (isSuspended(g, 'Launch')) return;
  const down = downAzs(w);
  while (live(g) < g.desired) {
    const az = [...azCounts(w, g).entries()]
      .filter(([a]) => !down.has(a))
      .sort((a, b) => a[1].length - b[1].length || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    // Every AZ of the group down: nothing launches until one is back (heal looks again).
    if (az === undefined) return;
    launchIn(world, w, g, az, t);
  }
}

/** Terminating in the group: shutting down now, gone shortly; desired capacity unchanged. */
export function terminateMember(world: SimWorld, w: WorldState, g: AsgState, id: string, t: number): void {
  if (g.lifecycle[id] === 'Terminating') return;
  g.lifecycle[id] = 'Terminating';
  w.instances[id]!.state = 'shutting-down';
  if (g.unhealthySince) delete g.unhealthySince[id];
  world.markLiveness([id], t);
  world.schedule({ at: t + TERMINATE_MS, kind: 'instance-terminated', id });
}

/**
 * AZRebalance: when the group's AZs differ by more than one member, launch
 * one in the emptiest; the terminating half comes when it is InService
 * (landed). One rebalance at a time; an emptiest AZ that is down waits for it.
 */
export function rebalance(world: SimWorld, w: WorldState, g: AsgState, t: number): void {
  if (g.rebalancing !== undefined || isSuspended(g, 'AZRebalance') || isSuspended(g, 'Launch')) return;
  const counts = [...azCounts(w, g).entries()].sort((a, b) => a[1].length - b[1].length || (a[0] < b[0] ? -1 : 1));
  const emptiest = counts[0];
  const fullest = counts.at(-1);
  if (!emptiest || !fullest || fullest[1].length - emptiest[1].length <= 1) return;
  if (downAzs(w).has(emptiest[0])) return;
  g.rebalancing = launchIn(world, w, g, emptiest[0], t);
}

/**
 * The rebalance's second half: above desired capacity again, so the oldest
 * unprotected member of the fullest AZ goes. An activity already under way
 * completes even if AZRebalance was suspended since, as on AWS.
 */
function rebalanceTerminate(world: SimWorld, w: WorldState, g: AsgState, landedId: string, t: number): void {
  // Terminate suspended: the group stays above desired capacity (AWS lets a rebalance overshoot for this).
  if (live(g) <= g.desired || isSuspended(g, 'Terminate')) return;
  const counts = [...azCounts(w, g).entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  for (const [, ids] of counts) {
    const victims = ids
      .filter((id) => id !== landedId && !g.isProtected[id])
      .sort((a, b) => Date.parse(w.instances[a]!.launchTime) - Date.parse(w.instances[b]!.launchTime));
    if (victims[0] !== undefined) {
      terminateMember(world, w, g, victims[0], t);
      return;
    }
  }
}

/** A launch landed (InService): a Cassandra node not yet in its ring joins it, and AZRebalance looks. */
export function landed(world: SimWorld, w: WorldState, id: string, t: number): void {
  const inst = w.instances[id];
  const g = inst?.asg ? w.asgs[inst.asg] : undefined;
  if (!inst || !g) return;
  const wasRebalancing = g.rebalancing === id;
  if (wasRebalancing) delete g.rebalancing;
  if (g.lifecycle[id] !== 'Pending') return;
  g.lifecycle[id] = 'InService';
  // A world saved while a replacement booted under the old rules: it joins now.
  if (w.cassandra[id] && inst.state === 'running') joinRing(world, w, id);
  if (wasRebalancing) rebalanceTerminate(world, w, g, id, t);
  rebalance(world, w, g, t);
}

/**
 * A Cassandra node the group launched starts bootstrapping when it boots:
 * UJ in every view, in the place of a dead member (replace_address), which
 * stays listed DN until the new one has joined (ring-joined).
 */
export function joinRing(world: SimWorld, w: WorldState, id: string): void {
  const c = w.cassandra[id];
  const ring = c ? w.rings[c.ring] : undefined;
  if (!c || !ring || ring.members.includes(id)) return;
  const taken = new Set(ring.members.map((m) => w.cassandra[m]?.replaces));
  const dead = ring.members.find((m) => {
    const s = w.instances[m]?.state;
    return (s === 'terminated' || s === 'shutting-down') && !taken.has(m);
  });
  if (dead !== undefined) {
    c.replaces = dead;
    ring.members.splice(ring.members.indexOf(dead) + 1, 0, id);
  } else {
    ring.members.push(id);
  }
  if (c.joiningUntil !== undefined && c.joiningUntil < NEVER) world.schedule({ at: c.joiningUntil, kind: 'ring-joined', id });
}

/** The bootstrap ended: the dead member it replaced leaves every view. */
export function ringJoined(w: WorldState, id: string, t: number): void {
  const c = w.cassandra[id];
  if (!c?.replaces || c.joiningUntil === undefined || c.joiningUntil > t || w.instances[id]?.state !== 'running') return;
  const ring = w.rings[c.ring];
  const gone = c.replaces;
  delete c.replaces;
  if (ring) ring.members = ring.members.filter((m) => m !== gone);
}

/** Members seen going Unhealthy now: ReplaceUnhealthy looks at each of them in five minutes. */
export function watchHealth(world: SimWorld, w: WorldState, ids: Iterable<string>, t: number): void {
  for (const id of ids) {
    const inst = w.instances[id];
    const g = inst?.asg ? w.asgs[inst.asg] : undefined;
    if (!g || !g.members.includes(id) || memberHealthy(world, w, id)) continue;
    (g.unhealthySince ??= {})[id] = t;
    world.schedule({ at: t + UNHEALTHY_MS, kind: 'asg-health', id });
  }
}

/** ReplaceUnhealthy: a member Unhealthy for five minutes is terminated and replaced, unless suspended. */
export function checkHealth(world: SimWorld, w: WorldState, id: string, t: number): void {
  const inst = w.instances[id];
  const g = inst?.asg ? w.asgs[inst.asg] : undefined;
  const since = g?.unhealthySince?.[id];
  if (!g || since === undefined || !g.members.includes(id)) return;
  if (memberHealthy(world, w, id)) {
    delete g.unhealthySince![id];
    return;
  }
  // Seen going down again since: that sighting's own look comes later.
  if (t - since < UNHEALTHY_MS) return;
  // Not InService yet: AWS's health check grace; look again shortly.
  if (g.lifecycle[id] === 'Pending') {
    world.schedule({ at: t + MINUTE, kind: 'asg-health', id });
    return;
  }
  if (g.lifecycle[id] !== 'InService') return;
  // Suspended: it stays Unhealthy in the group; a resume looks again.
  if (isSuspended(g, 'ReplaceUnhealthy') || isSuspended(g, 'HealthCheck')) return;
  terminateMember(world, w, g, id, t);
  fillGroup(world, w, g, t);
}

/** What resuming processes sets going: launches up to desired, replacements of the unhealthy, a rebalance. */
export function resumed(world: SimWorld, w: WorldState, g: AsgState, processes: readonly string[], t: number): void {
  if (processes.includes('Launch')) fillGroup(world, w, g, t);
  if ((processes.includes('ReplaceUnhealthy') || processes.includes('HealthCheck')) && !isSuspended(g, 'ReplaceUnhealthy') && !isSuspended(g, 'HealthCheck')) {
    for (const [id, since] of Object.entries(g.unhealthySince ?? {})) {
      if (g.members.includes(id)) world.schedule({ at: Math.max(t, since + UNHEALTHY_MS), kind: 'asg-health', id });
    }
  }
  if (processes.includes('AZRebalance') || processes.includes('Launch')) rebalance(world, w, g, t);
}

/** An AZ came back: groups short of capacity launch, and AZRebalance may even them out. */
export function azBack(world: SimWorld, w: WorldState, t: number): void {
  for (const g of Object.values(w.asgs)) {
    fillGroup(world, w, g, t);
    rebalance(world, w, g, t);
  }
}
