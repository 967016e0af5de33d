// Auto Scaling and EC2 instance lifecycle on the simulated fleet. Terminating
// in a group keeps desired capacity, so a replacement launches and becomes
// InService some virtual minutes later (a Cassandra replacement then joins the
// ring in place of the dead member). Stopping an instance fences it.

import type { Instance } from '../../domain/types.js';
import type { CallOptions, Compute, FenceState, GroupMember, InterfaceGroups, IsolateResult, Scaling, ScalingGroup, TagFilter } from '../ports.js';
import { AZS, TAGS } from './fleet.js';
import { hash32 } from './prng.js';
import type { AsgState, WorldState } from './state.js';
import { SimEc2Error } from './volumes.js';
import { toInstance, type SimWorld } from './world.js';

const PROPAGATED = [TAGS.cluster, TAGS.engine, TAGS.role, 'env', 'team'];

export class SimScaling implements Scaling {
  // Stubs until the issue-14 adapters land (helpers own them).
  async suspendProcesses(group: string, processes: readonly string[]): Promise<void> {
    throw new Error(`suspendProcesses(${group}, ${processes.join(', ')}): not written yet`);
  }

  async resumeProcesses(group: string, processes: readonly string[]): Promise<void> {
    throw new Error(`resumeProcesses(${group}, ${processes.join(', ')}): not written yet`);
  }

  constructor(private readonly world: SimWorld) {}

  async getGroup(name: string, opts?: CallOptions): Promise<ScalingGroup | undefined> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    const g = w.asgs[name];
    if (!g) return undefined;
    const members: GroupMember[] = g.members.map((id) => {
      const inst = w.instances[id]!;
      // EC2 health checks look at the hypervisor, not the network: an isolated instance stays Healthy.
      const reachableOrIsolated = this.world.hostUp(id) || inst.net?.isolatedIn !== undefined;
      const healthy = inst.state === 'pending' || (inst.state === 'running' && reachableOrIsolated && inst.statusChecks !== 'impaired');
      return {
        instanceId: id,
        az: inst.az,
        lifecycle: g.lifecycle[id] ?? 'InService',
        health: healthy ? 'Healthy' : 'Unhealthy',
        isProtected: g.isProtected[id] ?? false,
      };
    });
    return { name: g.name, min: g.min, max: g.max, desired: g.desired, members, suspended: [] };
  }

  async terminateInGroup(instanceId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const world = this.world;
    world.mutate((w, t) => {
      const g = groupOf(w, instanceId);
      const inst = w.instances[instanceId]!;
      if (g.lifecycle[instanceId] === 'Terminating') return;
      g.lifecycle[instanceId] = 'Terminating';
      inst.state = 'shutting-down';
      world.markLiveness([instanceId], t);
      world.schedule({ at: t + 45_000, kind: 'instance-terminated', id: instanceId });
      // Desired capacity is kept, so the group launches a replacement in the AZ that needs it most.
      const counts = new Map(g.azs.map((az) => [az, 0]));
      for (const m of g.members) if (m !== instanceId && g.lifecycle[m] !== 'Terminating') counts.set(w.instances[m]!.az, (counts.get(w.instances[m]!.az) ?? 0) + 1);
      const az = [...counts.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? inst.az;
      const tags: Record<string, string> = { [TAGS.asg]: g.name };
      for (const k of PROPAGATED) if (inst.tags[k] !== undefined) tags[k] = inst.tags[k];
      const lt = w.launchTemplates[g.launchTemplate];
      if (lt) {
        tags[TAGS.ltId] = lt.id;
        tags[TAGS.ltVersion] = String(lt.version);
      }
      const fresh = world.launchInstance({ cluster: g.cluster, az, tags, asg: g.name, type: inst.type }, t);
      g.members.push(fresh.id);
      g.lifecycle[fresh.id] = 'Pending';
      world.schedule({ at: t + g.warmupMs + (hash32(w.seed, t) % 60_000), kind: 'in-service', id: fresh.id });
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
      opts?.onProgress?.(fresh.length === 0 ? 'no replacement launched yet' : `replacement ${fresh.map((m) => `${m.instanceId} ${m.lifecycle}`).join(', ')}`);
      if (now >= deadline) throw new Error(`no new InService instance in ${group} after ${Math.round((now - start) / 1000)} s`);
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
  constructor(private readonly world: SimWorld) {}

  async launch(spec: { launchTemplate: string; az: string; tags: Record<string, string>; subnetId?: string; clientToken?: string }, opts?: CallOptions): Promise<Instance> {
    opts?.signal?.throwIfAborted();
    if (!(AZS as readonly string[]).includes(spec.az)) throw new SimEc2Error('InvalidParameterValue', `Invalid availability zone: [${spec.az}]`);
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
      const lt = Object.values(w.launchTemplates).find((l) => l.id === spec.launchTemplate || l.name === spec.launchTemplate);
      const cluster = spec.tags[TAGS.cluster] ?? Object.values(w.clusters).find((c) => c.launchTemplate === lt?.id)?.name;
      if (!cluster || !w.clusters[cluster]) {
        throw new SimEc2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${spec.launchTemplate}, does not exist, and no ${TAGS.cluster} tag says where the instance belongs.`);
      }
      const tags: Record<string, string> = { ...spec.tags, [TAGS.cluster]: cluster };
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
      .filter((i) => i.state !== 'terminated' && Object.entries(tags).every(([k, v]) => i.tags[k] === v))
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
  return { interfaceId: `eni-${inst.id.replace(/^i-/, '')}`, groups: inst.net ? [...inst.net.groups] : [`sg-${inst.cluster}-db`] };
}
