// Auto Scaling and EC2 instance lifecycle on the simulated fleet. Terminating
// in a group keeps desired capacity, so a replacement launches and becomes
// InService some virtual minutes later (a Cassandra replacement joins the ring
// in place of the dead member as it boots). The groups' own processes, and
// what suspending them stops, are in asg.ts. Stopping an instance fences it.

import type { Instance } from '../../domain/types.js';
import type { CallOptions, Compute, FenceState, InterfaceGroups, IsolateResult, Scaling, ScalingGroup, TagFilter } from '../ports.js';
import { describeGroup, fillGroup, processNames, resumed, terminateMember, watchHealth } from './asg.js';
import { clusterKey } from '../../domain/scope.js';
import { azsOf, regionOfAz, TAGS } from './fleet.js';
import { hash32 } from './prng.js';
import type { AsgState, WorldState } from './state.js';
import { RegionView } from './regions.js';
import { SimEc2Error } from './volumes.js';
import { toInstance, type SimWorld } from './world.js';

export class SimScaling implements Scaling {
  constructor(
    private readonly world: SimWorld,
    private readonly regions = new RegionView(),
  ) {}

  async getGroup(name: string, opts?: CallOptions): Promise<ScalingGroup | undefined> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    const g = w.asgs[name];
    // A group of a region out of view is not found there, as Auto Scaling in one region knows nothing of another's.
    return g && this.regions.has(w.clusters[g.cluster]?.region) ? describeGroup(this.world, w, g) : undefined;
  }

  async suspendProcesses(group: string, processes: readonly string[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const names = processNames(group, processes);
    this.world.mutate((w) => {
      const g = named(w, group);
      for (const p of names) if (!g.suspended.includes(p)) g.suspended.push(p);
    });
  }

  async resumeProcesses(group: string, processes: readonly string[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const names = processNames(group, processes);
    const world = this.world;
    world.mutate((w, t) => {
      const g = named(w, group);
      const was = g.suspended.filter((p) => names.includes(p));
      g.suspended = g.suspended.filter((p) => !names.includes(p));
      // Only what was suspended sets anything going: resuming a running process changes nothing.
      if (was.length > 0) resumed(world, w, g, was, t);
    });
  }

  async terminateInGroup(instanceId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const world = this.world;
    world.mutate((w, t) => {
      const g = groupOf(w, instanceId);
      if (g.lifecycle[instanceId] === 'Terminating') return;
      terminateMember(world, w, g, instanceId, t);
      // Desired capacity is kept, so the group launches a replacement in the AZ that needs it most (unless Launch is suspended).
      fillGroup(world, w, g, t);
    });
  }

  async waitForReplacement(
    group: string,
    known: string[],
    opts?: CallOptions & { timeoutMs?: number; onProgress?: (status: string) => void },
  ): Promise<string> {
    const start = this.world.now();
    const deadline = start + (opts?.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const g = await this.getGroup(group, opts);
      if (!g) throw new SimEc2Error('ValidationError', `Auto Scaling group ${group} not found`);
      const fresh = g.members.filter((m) => !known.includes(m.instanceId));
      const ready = fresh.find((m) => m.lifecycle === 'InService' && m.health === 'Healthy');
      if (ready) return ready.instanceId;
      const now = this.world.now();
      // Worded as the AWS adapter's progress, so a rehearsal reads like the real thing.
      const said = fresh.map((m) => `${m.instanceId} ${m.lifecycle} ${m.health}`).join(', ');
      opts?.onProgress?.(fresh.length === 0 ? `no replacement launched yet in ${group}${g.suspended.includes('Launch') ? ' (Launch is suspended)' : ''}` : said);
      if (now >= deadline) throw new Error(`no new InService instance in ${group} after ${Math.round((now - start) / 1000)} s${fresh.length > 0 ? ` (${said})` : ''}`);
      await this.world.clock.sleepUntil(Math.min(deadline, now + 10_000), opts?.signal);
    }
  }
}

function named(w: WorldState, group: string): AsgState {
  const g = w.asgs[group];
  if (!g) throw new SimEc2Error('ValidationError', `Auto Scaling group ${group} not found`);
  return g;
}

function groupOf(w: WorldState, instanceId: string): AsgState {
  const g = Object.values(w.asgs).find((a) => a.members.includes(instanceId));
  if (!g) throw new SimEc2Error('ValidationError', `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
  return g;
}

export class SimCompute implements Compute {
  constructor(
    private readonly world: SimWorld,
    private readonly regions = new RegionView(),
  ) {}

  async launch(spec: { launchTemplate: string; az: string; tags: Record<string, string>; subnetId?: string; clientToken?: string }, opts?: CallOptions): Promise<Instance> {
    opts?.signal?.throwIfAborted();
    const modelled = this.world.regions.length > 0 ? this.world.regions : [undefined];
    const azs = modelled.filter((r) => this.regions.has(r)).flatMap((r) => azsOf(r));
    if (!azs.includes(spec.az)) throw new SimEc2Error('InvalidParameterValue', `Invalid availability zone: [${spec.az}]`);
    const region = this.world.regions.length > 0 ? regionOfAz(spec.az) : undefined;
    if (spec.subnetId !== undefined && !/^subnet-[0-9a-z]+$/.test(spec.subnetId)) throw new SimEc2Error('InvalidSubnetID.NotFound', `The subnet ID '${spec.subnetId}' does not exist`);
    const world = this.world;
    return world.mutate((w, t) => {
      // The same token: the instance the first call launched (EC2 keeps tokens for days).
      const tokenKey = spec.clientToken ? `instance:${spec.clientToken}` : undefined;
      const known = tokenKey ? w.tokens?.[tokenKey] : undefined;
      if (known && w.instances[known]) {
        const had = w.instances[known]!;
        if (had.az !== spec.az) throw new SimEc2Error('IdempotentParameterMismatch', `The client token '${spec.clientToken}' was used before with different parameters (${known} in ${had.az}).`);
        return toInstance(had);
      }
      // Names of launch templates are unique within a region: the AZ's region says which.
      const lt = Object.values(w.launchTemplates).find((l) => l.id === spec.launchTemplate || (l.name === spec.launchTemplate && l.region === region));
      const tagged = spec.tags[TAGS.cluster];
      // The cluster tag names a cluster of the region it launches in (its key: clusterKey).
      const cluster = tagged !== undefined ? clusterKey({ name: tagged, region }) : Object.entries(w.clusters).find(([, c]) => c.launchTemplate === lt?.id)?.[0];
      const c = cluster === undefined ? undefined : w.clusters[cluster];
      if (cluster === undefined || !c) {
        throw new SimEc2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${spec.launchTemplate}, does not exist, and no ${TAGS.cluster} tag says where the instance belongs.`);
      }
      const tags: Record<string, string> = { ...spec.tags, [TAGS.cluster]: c.name };
      if (lt) {
        tags[TAGS.ltId] = lt.id;
        tags[TAGS.ltVersion] = String(lt.version);
      }
      const inst = world.launchInstance({ cluster, az: spec.az, tags }, t);
      if (tokenKey) (w.tokens ??= {})[tokenKey] = inst.id;
      return toInstance(inst);
    });
  }

  async find(tags: TagFilter, opts?: CallOptions): Promise<Instance[]> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    return w.order
      .map((id) => w.instances[id]!)
      .filter((i) => i.state !== 'terminated' && this.regions.has(i.region) && Object.entries(tags).every(([k, v]) => i.tags[k] === v))
      .map(toInstance);
  }

  async waitReady(instanceId: string, opts?: CallOptions & { onProgress?: (status: string) => void }): Promise<Instance> {
    let said = '';
    for (;;) {
      opts?.signal?.throwIfAborted();
      const w = this.world.view();
      const inst = w.instances[instanceId];
      if (!inst) throw new SimEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      if (inst.state === 'running' && inst.statusChecks === 'ok') return toInstance(inst);
      if (inst.state !== 'pending' && inst.state !== 'running') {
        throw new SimEc2Error('IncorrectInstanceState', `${instanceId} is ${inst.state}: it will not become ready`);
      }
      const status = inst.state === 'pending' ? 'pending' : `running, status checks ${inst.statusChecks}`;
      if (status !== said) opts?.onProgress?.((said = status));
      const t = this.world.now();
      const next = w.transitions.find((tr) => tr.id === instanceId && (tr.kind === 'instance-running' || tr.kind === 'status-ok'))?.at;
      // EC2's waiters ask every 15 s; an impaired host is asked again until someone gives up.
      await this.world.clock.sleepUntil(next !== undefined && next > t ? Math.min(next, t + 15_000) : t + 15_000, opts?.signal);
    }
  }

  async terminate(instanceId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const world = this.world;
    world.mutate((w, t) => {
      const inst = w.instances[instanceId];
      if (!inst || inst.state === 'terminated' || inst.state === 'shutting-down') return;
      inst.state = 'shutting-down';
      world.bump();
      world.markLiveness([instanceId], t);
      // Its data volumes come off it (DeleteOnTermination is off for attached ones).
      for (const v of Object.values(w.volumes)) {
        if (v.attachedTo?.instanceId === instanceId) world.schedule({ at: t + 20_000, kind: 'volume-available', id: v.id });
      }
      world.schedule({ at: t + 30_000 + (hash32(w.seed, 10, t) % 30_000), kind: 'instance-terminated', id: instanceId });
    });
  }

  async stop(instanceId: string, opts?: CallOptions & { force?: boolean }): Promise<void> {
    opts?.signal?.throwIfAborted();
    const world = this.world;
    const at = world.mutate((w, t) => {
      const inst = w.instances[instanceId];
      if (!inst) throw new SimEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      // Down for good already: fenced, as the AWS adapter answers without asking EC2 to stop it.
      if (inst.state === 'stopped' || inst.state === 'terminated') return t;
      if (inst.state === 'shutting-down') return w.transitions.find((tr) => tr.kind === 'instance-terminated' && tr.id === instanceId)?.at ?? t;
      if (inst.state === 'pending') {
        throw new SimEc2Error('IncorrectInstanceState', `The instance '${instanceId}' is not in a state from which it can be stopped.`);
      }
      const pending = w.transitions.find((tr) => tr.kind === 'instance-stopped' && tr.id === instanceId);
      // A forced stop skips the OS shutdown: seconds, where a clean one takes half a minute or more.
      const when = opts?.force ? t + 5_000 + (hash32(w.seed, 8, t) % 5_000) : t + 20_000 + (hash32(w.seed, 6, t) % 20_000);
      if (inst.state === 'stopping' && pending) {
        if (!opts?.force || pending.at <= when) return pending.at;
        w.transitions.splice(w.transitions.indexOf(pending), 1);
      }
      inst.state = 'stopping';
      world.markLiveness([instanceId], t);
      // A stopped member fails its group's health check: ReplaceUnhealthy replaces it unless suspended.
      watchHealth(world, w, [instanceId], t);
      world.schedule({ at: when, kind: 'instance-stopped', id: instanceId });
      return when;
    });
    await world.clock.sleepUntil(at, opts?.signal);
  }

  async isolate(instanceId: string, securityGroupId: string, opts?: CallOptions): Promise<IsolateResult> {
    opts?.signal?.throwIfAborted();
    if (!/^sg-[0-9a-z-]+$/.test(securityGroupId)) {
      throw new SimEc2Error('InvalidGroupId.Malformed', `Invalid id: "${securityGroupId}" (expecting "sg-...")`);
    }
    const world = this.world;
    return world.mutate((w, t) => {
      const inst = w.instances[instanceId];
      if (!inst) throw new SimEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      if (inst.state === 'terminated' || inst.state === 'shutting-down') return { changed: false, before: [] };
      const before = [interfaceOf(inst)];
      if (inst.net?.isolatedIn === securityGroupId && inst.net.groups.length === 1) return { changed: false, before };
      inst.net = { groups: [securityGroupId], isolatedIn: securityGroupId };
      world.bump();
      // Its replicas' IO threads lose it and its writers stop, as when a host hangs; it keeps running.
      world.markLiveness([instanceId], t, true);
      return { changed: true, before };
    });
  }

  async fenceState(instanceId: string, opts?: CallOptions & { securityGroupId?: string }): Promise<FenceState> {
    opts?.signal?.throwIfAborted();
    const inst = this.world.view().instances[instanceId];
    if (!inst) throw new SimEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    const state = inst.state;
    if (state === 'stopped' || state === 'terminated') return { state: 'fenced', instanceState: state, detail: `${instanceId} is ${state}` };
    if (state === 'stopping' || state === 'shutting-down') {
      return { state: 'fencing', instanceState: state, detail: `${instanceId} is ${state}: it may still answer until it is down` };
    }
    const groups = [interfaceOf(inst)];
    const sg = opts?.securityGroupId;
    if (sg && inst.net?.isolatedIn === sg) {
      return { state: 'fenced', instanceState: state, groups, detail: `${instanceId} is ${state}, isolated in ${sg} (${groups[0]!.interfaceId})` };
    }
    return { state: 'open', instanceState: state, groups, detail: `${instanceId} is ${state}, ${groups[0]!.interfaceId} in ${groups[0]!.groups.join(', ')}` };
  }
}

/** The sim gives each instance one interface, named after it, in its cluster's group until a fence changes that. */
function interfaceOf(inst: WorldState['instances'][string]): InterfaceGroups {
  // The cluster's key as lockKey spells it (`eu-west-1--orders-db`): a group id has no slash.
  return { interfaceId: `eni-${inst.id.replace(/^i-/, '')}`, groups: inst.net ? [...inst.net.groups] : [`sg-${inst.cluster.split('/').join('--')}-db`] };
}
