// EC2 instances: launch a node from its cluster's launch template (rebuild;
// by client token and tags, so a resume finds or gets back the same one),
// wait until it runs and passes its status checks, terminate it; fence one (failover): stop it, or isolate it in a security group that lets
// nothing in, and tell whether it is fenced.
//
// Isolation sets the groups of every network interface with
// ModifyNetworkInterfaceAttribute, never ModifyInstanceAttribute: one path for
// an instance with one interface or several (an interface left in its old
// groups would leave the database reachable through it), and a narrower
// permission to grant (ModifyInstanceAttribute also rewrites user data, which
// runs as root at the next boot).

import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type Instance as Ec2Instance,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import type { Instance, StatusChecks } from '../../domain/types.js';
import type { CallOptions, Compute, FenceState, InterfaceGroups, IsolateResult, TagFilter } from '../ports.js';
import { clusterSettings } from '../../config/cluster-settings.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { checkClientToken, chunk, tagList, toInstance, toStatusChecks } from './ec2-shapes.js';
import { AwsError } from './errors.js';
import { pollUntil, retryThrottled } from './wait.js';

const POLL_MS = 5_000;
/** Boot plus both status checks: a few minutes usually, more for a large instance or a busy AZ. */
const READY_TIMEOUT_MS = 15 * 60_000;
/** Checks can fail briefly while an instance boots; failing this long, the instance is broken. */
const IMPAIRED_GRACE_MS = 5 * 60_000;
/** What find() lists: an instance on its way to terminated is no one's, not even a spare. */
const FINDABLE_STATES = ['pending', 'running', 'stopping', 'stopped'];
/** DescribeInstances' page maximum. */
const PAGE_SIZE = 1000;
/** DescribeInstanceStatus accepts at most 100 explicit ids per call. */
const STATUS_IDS_PER_CALL = 100;
/** A clean OS shutdown of a busy database host can take minutes; EC2 forces it by itself eventually. */
const STOPPED_TIMEOUT_MS = 15 * 60_000;
/** EC2 reads are eventually consistent: a group change can take a few seconds to show in DescribeInstances. */
const READ_BACK_POLL_MS = 2_000;
const READ_BACK_TIMEOUT_MS = 60_000;

const DOWN_FOR_GOOD = new Set(['stopped', 'terminated']);
const GOING_DOWN = new Set(['stopping', 'shutting-down']);

export class AwsCompute implements Compute {
  constructor(private readonly ctx: AwsContext) {}

  async launch(
    spec: { launchTemplate: string; az: string; tags: Record<string, string>; subnetId?: string; clientToken?: string },
    opts: CallOptions = {},
  ): Promise<Instance> {
    const doing = `launching from ${spec.launchTemplate} in ${spec.az}`;
    checkClientToken(spec.clientToken, doing);
    // The IAM policy lets a launch create only what carries the cluster tag (on the instance and its volumes),
    // and a node without it would be no one's: refused here, before EC2 refuses it less clearly.
    const clusterTag = this.ctx.config.discovery.clusterTag;
    if (!spec.tags[clusterTag]) {
      throw new Error(
        `${doing}: the launch's tags (${Object.keys(spec.tags).join(', ') || 'none'}) lack the cluster tag ${clusterTag} (discovery.clusterTag), which the new instance and its volumes must carry`,
      );
    }
    const r = this.ctx.router.forAz(spec.az, spec.tags[clusterTag]);
    const subnet = spec.subnetId ?? (await this.subnetFor(r, spec, opts.signal));
    const template = spec.launchTemplate.startsWith('lt-')
      ? { LaunchTemplateId: spec.launchTemplate }
      : { LaunchTemplateName: spec.launchTemplate };
    let res;
    try {
      // Throttled means not launched; with a token, even a launch whose answer was lost is asked again safely.
      res = await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
        call(this.ctx, { action: 'ec2:RunInstances', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(
            new RunInstancesCommand({
              LaunchTemplate: { ...template, Version: '$Default' },
              MinCount: 1,
              MaxCount: 1,
              // A subnet pins the AZ in a VPC; without one, Placement does (default VPC).
              ...(subnet ? { SubnetId: subnet } : { Placement: { AvailabilityZone: spec.az } }),
              TagSpecifications: [
                { ResourceType: 'instance', Tags: tagList(spec.tags) },
                { ResourceType: 'volume', Tags: tagList(spec.tags) },
              ],
              ...(spec.clientToken ? { ClientToken: spec.clientToken } : {}),
            }),
            { abortSignal: opts.signal },
          ),
        ),
      );
    } catch (err) {
      if (err instanceof AwsError && err.code === 'IdempotentParameterMismatch') {
        throw new AwsError(
          err.code,
          'conflict',
          `${doing}: EC2 already launched for client token ${spec.clientToken ?? '?'} with other parameters (template, AZ, subnet or tags differ), so it launched nothing: find that instance by its tags (${Object.entries(spec.tags).map(([k, v]) => `${k}=${v}`).join(', ')}) and reuse or terminate it, or start a new run`,
          err.action,
          err.requestId,
          r.region,
          { cause: err },
        );
      }
      throw err;
    }
    const launched = res.Instances?.[0];
    const id = launched?.InstanceId;
    if (!launched || !id) throw new AwsError('NoInstance', 'other', `RunInstances from ${spec.launchTemplate} answered without an instance`, 'ec2:RunInstances', res.$metadata.requestId, r.region);
    this.ctx.router.rememberInstance(id, r);
    // RunInstances' answer may leave the tags out; they were asked for with the launch, so they are the instance's.
    const inst = this.scoped(toInstance({ ...launched, Tags: launched.Tags?.length ? launched.Tags : tagList(spec.tags) }), r);
    return { ...inst, az: inst.az || spec.az, statusChecks: inst.state === 'running' ? 'initializing' : 'unknown' };
  }

  /** The instance with its region, and its account when several profiles are in view (as discovery gives them). */
  private scoped(inst: Instance, r: RegionClients): Instance {
    const account = this.ctx.router.accountOf(r);
    return { ...inst, region: r.region, ...(account ? { account } : {}) };
  }

  async find(tags: TagFilter, opts: CallOptions = {}): Promise<Instance[]> {
    const entries = Object.entries(tags);
    if (entries.length === 0) throw new Error("finding instances needs at least one tag: an empty filter matches all of the account's");
    const Filters: Filter[] = [
      ...entries.map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
      { Name: 'instance-state-name', Values: FINDABLE_STATES },
    ];
    const doing = `finding instances tagged ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}`;
    const out: Instance[] = [];
    for (const r of this.ctx.router.all) {
      const found: Ec2Instance[] = [];
      let NextToken: string | undefined;
      do {
        const page = await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
          call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing }, () =>
            r.ec2.send(new DescribeInstancesCommand({ Filters, MaxResults: PAGE_SIZE, NextToken }), { abortSignal: opts.signal }),
          ),
        );
        for (const res of page.Reservations ?? []) found.push(...(res.Instances ?? []));
        NextToken = page.NextToken;
      } while (NextToken);
      const running = found.filter((i) => i.State?.Name === 'running').flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
      const checks = await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
        this.statusChecks(r, running, opts.signal),
      );
      for (const i of found) {
        // As the inventory maps them: checks only for what runs and EC2 has checks for, else unknown.
        const inst = this.scoped(toInstance(i, checks.get(i.InstanceId ?? '') ?? 'unknown'), r);
        this.ctx.router.rememberInstance(inst.id, r);
        out.push(inst);
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async waitReady(instanceId: string, opts: CallOptions & { onProgress?: (status: string) => void } = {}): Promise<Instance> {
    const r = this.ctx.router.forInstance(instanceId);
    let last = '';
    const report = (status: string) => {
      if (status !== last) opts.onProgress?.((last = status));
    };
    let impairedSince: number | undefined;
    return pollUntil(
      { clock: this.ctx.clock, intervalMs: POLL_MS, timeoutMs: READY_TIMEOUT_MS, signal: opts.signal, what: `${instanceId} to run and pass its status checks` },
      async () => {
        let i: Ec2Instance | undefined;
        try {
          const res = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing: `reading ${instanceId}` }, () =>
            r.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: opts.signal }),
          );
          i = res.Reservations?.[0]?.Instances?.find((x) => x.InstanceId === instanceId);
        } catch (err) {
          // A just-launched instance is briefly unknown to DescribeInstances (eventual consistency);
          // a throttled look is a look missed: the next poll tries again, within the same bound.
          if (err instanceof AwsError && (err.code === 'InvalidInstanceID.NotFound' || err.kind === 'throttled')) return undefined;
          throw err;
        }
        const state = i?.State?.Name;
        if (!i || !state || state === 'pending') {
          report('pending');
          return undefined;
        }
        if (state !== 'running') {
          const why = i.StateReason?.Message ? ` (${i.StateReason.Message})` : '';
          throw new AwsError(
            'InstanceNotRunning',
            'other',
            `${instanceId} is ${state}${why} and will not become ready: terminate it and launch another (check the launch template and the account's limits first)`,
            'ec2:DescribeInstances',
            undefined,
            r.region,
          );
        }
        let checks: StatusChecks;
        try {
          checks = (await this.statusChecks(r, [instanceId], opts.signal)).get(instanceId) ?? 'initializing';
        } catch (err) {
          if (err instanceof AwsError && err.kind === 'throttled') return undefined;
          throw err;
        }
        report(`running, status checks ${checks}`);
        if (checks === 'ok') return this.scoped(toInstance(i, 'ok'), r);
        if (checks === 'impaired') {
          impairedSince ??= this.ctx.clock.now();
          if (this.ctx.clock.now() - impairedSince >= IMPAIRED_GRACE_MS) {
            throw new AwsError(
              'InstanceImpaired',
              'other',
              `${instanceId} runs but its status checks have failed for ${Math.round(IMPAIRED_GRACE_MS / 60_000)} min: terminate it and launch another (its system log in the EC2 console says why)`,
              'ec2:DescribeInstanceStatus',
              undefined,
              r.region,
            );
          }
        } else {
          impairedSince = undefined;
        }
        return undefined;
      },
    );
  }

  async terminate(instanceId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    const doing = `terminating ${instanceId}`;
    try {
      // Terminating twice is harmless: EC2 answers with the state it is in.
      await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
        call(this.ctx, { action: 'ec2:TerminateInstances', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: opts.signal }),
        ),
      );
    } catch (err) {
      // Gone long ago is what we wanted (a resumed cleanup step).
      if (err instanceof AwsError && err.code === 'InvalidInstanceID.NotFound') return;
      throw err;
    }
  }

  /** Both status checks of running instances folded into one word; a running instance EC2 has no checks for yet is left out. */
  private async statusChecks(r: RegionClients, ids: string[], signal?: AbortSignal): Promise<Map<string, StatusChecks>> {
    const out = new Map<string, StatusChecks>();
    for (const InstanceIds of chunk(ids, STATUS_IDS_PER_CALL)) {
      let NextToken: string | undefined;
      do {
        const page = await call(this.ctx, { action: 'ec2:DescribeInstanceStatus', region: r.region, profile: r.profile, doing: 'reading status checks' }, () =>
          r.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds, NextToken }), { abortSignal: signal }),
        );
        for (const s of page.InstanceStatuses ?? []) if (s.InstanceId) out.set(s.InstanceId, toStatusChecks(s));
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }

  async stop(instanceId: string, opts: CallOptions & { force?: boolean } = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    const now = await this.describe(r, instanceId, opts.signal);
    const state = now?.State?.Name;
    // Gone, stopped or terminated: fenced already, and StopInstances would only be refused.
    if (!now || (state && DOWN_FOR_GOOD.has(state))) return;
    // Stopping goes on by itself; asked again only to force a clean shutdown that hangs.
    if (state === 'shutting-down' || (state === 'stopping' && !opts.force)) {
      await this.waitForState(r, instanceId, ['stopped', 'terminated'], `${instanceId} to stop`, STOPPED_TIMEOUT_MS, opts.signal);
      return;
    }
    const doing = `stopping ${instanceId}${opts.force ? ' (force)' : ''}`;
    await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
      call(this.ctx, { action: 'ec2:StopInstances', region: r.region, profile: r.profile, doing }, () =>
        r.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId], ...(opts.force ? { Force: true } : {}) }), { abortSignal: opts.signal }),
      ),
    );
    // Terminated is fenced too: it can never come back writable.
    await this.waitForState(r, instanceId, ['stopped', 'terminated'], `${instanceId} to stop`, STOPPED_TIMEOUT_MS, opts.signal);
  }

  async isolate(instanceId: string, securityGroupId: string, opts: CallOptions = {}): Promise<IsolateResult> {
    const r = this.ctx.router.forInstance(instanceId);
    const inst = await this.describe(r, instanceId, opts.signal);
    // A terminated instance has no interfaces left to isolate, and can never come back.
    if (!inst || inst.State?.Name === 'terminated' || inst.State?.Name === 'shutting-down') return { changed: false, before: [] };
    const before = interfacesOf(inst);
    if (before.length === 0) {
      throw new AwsError(
        'NoNetworkInterface',
        'other',
        `isolating ${instanceId}: EC2 lists no network interface on it, so there is nothing to put in ${securityGroupId}: stop it instead (clusters.<name>.fence.method: stop)`,
        'ec2:DescribeInstances',
        undefined,
        r.region,
      );
    }
    // Checked on a rerun too: a fence group that lets traffic in (the database's own group, by a slip in the
    // config) would otherwise pass for "isolated already".
    const problem = await this.isolationGroupProblem(r, securityGroupId, instanceId, inst.VpcId, opts.signal);
    if (problem) throw problem;
    if (before.every((i) => isolatedIn(i, securityGroupId))) return { changed: false, before };
    for (const eni of before) {
      if (isolatedIn(eni, securityGroupId)) continue;
      const doing = `isolating ${instanceId}: interface ${eni.interfaceId} into ${securityGroupId} alone`;
      await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
        call(this.ctx, { action: 'ec2:ModifyNetworkInterfaceAttribute', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.interfaceId, Groups: [securityGroupId] }), {
            abortSignal: opts.signal,
          }),
        ),
      );
    }
    // Read back: the fence is what EC2 says the interfaces have, not what we asked for.
    let last = before;
    try {
      await pollUntil(
        { clock: this.ctx.clock, intervalMs: READ_BACK_POLL_MS, timeoutMs: READ_BACK_TIMEOUT_MS, signal: opts.signal, what: `${instanceId} to show ${securityGroupId} alone` },
        async () => {
          const now = await this.describe(r, instanceId, opts.signal);
          if (!now) return true;
          last = interfacesOf(now);
          // An interface attached meanwhile (by a person or an agent) would be a way in: isolate it too on a rerun.
          return last.every((i) => isolatedIn(i, securityGroupId)) ? true : undefined;
        },
      );
    } catch (err) {
      if (!(err instanceof AwsError) || err.kind !== 'timeout') throw err;
      throw new AwsError(
        'IsolationNotVisible',
        'timeout',
        `isolated ${instanceId} but EC2 still shows ${describeGroups(last.filter((i) => !isolatedIn(i, securityGroupId)))} after ${READ_BACK_TIMEOUT_MS / 1000} s: check the instance's interfaces in the console, then retry the step (it isolates only what is left)`,
        'ec2:DescribeInstances',
        undefined,
        r.region,
        { cause: err },
      );
    }
    return { changed: true, before };
  }

  async fenceState(instanceId: string, opts: CallOptions & { securityGroupId?: string } = {}): Promise<FenceState> {
    const r = this.ctx.router.forInstance(instanceId);
    const inst = await this.describe(r, instanceId, opts.signal);
    if (!inst) return { state: 'fenced', instanceState: 'gone', detail: `${instanceId} no longer exists (terminated a while ago)` };
    const state = inst.State?.Name ?? 'unknown';
    if (DOWN_FOR_GOOD.has(state)) return { state: 'fenced', instanceState: state, detail: `${instanceId} is ${state}` };
    if (GOING_DOWN.has(state)) return { state: 'fencing', instanceState: state, detail: `${instanceId} is ${state}: it may still answer until it is down` };
    const groups = interfacesOf(inst);
    const sg = opts.securityGroupId;
    if (sg && groups.length > 0 && groups.every((i) => isolatedIn(i, sg))) {
      const problem = await this.isolationGroupProblem(r, sg, instanceId, inst.VpcId, opts.signal);
      if (problem) return { state: 'open', instanceState: state, groups, detail: `${instanceId} is ${state}, in ${sg} alone, but ${problem.sentence}` };
      return { state: 'fenced', instanceState: state, groups, detail: `${instanceId} is ${state}, isolated in ${sg} (${groups.map((i) => i.interfaceId).join(', ')})` };
    }
    return { state: 'open', instanceState: state, groups, detail: `${instanceId} is ${state}, ${describeGroups(groups)}` };
  }

  /**
   * The isolation group must exist, be in the instance's VPC (EC2 refuses
   * otherwise, with a sentence about "different networks") and let nothing in:
   * a group with inbound rules would be a fence with a gate in it.
   */
  private async isolationGroupProblem(
    r: RegionClients,
    sg: string,
    instanceId: string,
    vpcId: string | undefined,
    signal?: AbortSignal,
  ): Promise<AwsError | undefined> {
    const where = 'clusters.<name>.fence.securityGroup';
    let res;
    try {
      const doing = `reading the isolation group ${sg}`;
      res = await retryThrottled({ clock: this.ctx.clock, what: doing, ...(signal ? { signal } : {}) }, () =>
        call(this.ctx, { action: 'ec2:DescribeSecurityGroups', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }), { abortSignal: signal }),
        ),
      );
    } catch (err) {
      if (err instanceof AwsError && (err.code === 'InvalidGroup.NotFound' || err.code === 'InvalidGroupId.Malformed')) {
        return new AwsError(err.code, 'not-found', `the isolation group ${sg} does not exist in ${r.region}: set ${where} to a group of ${vpcId ?? "the instance's VPC"} that allows nothing in`, err.action, err.requestId, r.region, { cause: err });
      }
      throw err;
    }
    const group = res.SecurityGroups?.find((g) => g.GroupId === sg);
    if (!group) {
      return new AwsError('InvalidGroup.NotFound', 'not-found', `the isolation group ${sg} does not exist in ${r.region}: set ${where} to a group that allows nothing in`, 'ec2:DescribeSecurityGroups', res.$metadata?.requestId, r.region);
    }
    if (vpcId && group.VpcId && group.VpcId !== vpcId) {
      return new AwsError(
        'IsolationGroupInOtherVpc',
        'other',
        `the isolation group ${sg} is in ${group.VpcId} but ${instanceId} is in ${vpcId}, and an instance can only take groups of its own VPC: set ${where} to a group of ${vpcId} that allows nothing in`,
        'ec2:DescribeSecurityGroups',
        res.$metadata?.requestId,
        r.region,
      );
    }
    const inbound = group.IpPermissions ?? [];
    if (inbound.length > 0) {
      return new AwsError(
        'IsolationGroupAllowsTraffic',
        'other',
        `the isolation group ${sg} lets traffic in (${inbound.map(ruleText).join('; ')}), so ${instanceId} would not be fenced: remove its inbound rules, or set ${where} to a group that has none`,
        'ec2:DescribeSecurityGroups',
        res.$metadata?.requestId,
        r.region,
      );
    }
    return undefined;
  }

  /** The instance as EC2 describes it now, or undefined when EC2 no longer knows it. Throttled reads are tried again. */
  private async describe(r: RegionClients, instanceId: string, signal?: AbortSignal): Promise<Ec2Instance | undefined> {
    try {
      const res = await retryThrottled({ clock: this.ctx.clock, what: `reading ${instanceId}`, ...(signal ? { signal } : {}) }, () =>
        call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing: `reading ${instanceId}` }, () =>
          r.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal }),
        ),
      );
      return res.Reservations?.[0]?.Instances?.find((i) => i.InstanceId === instanceId);
    } catch (err) {
      if (err instanceof AwsError && err.code === 'InvalidInstanceID.NotFound') return undefined;
      throw err;
    }
  }

  /** The configured subnet of the cluster (from the cluster tag) that lies in the wanted AZ, if any are configured. */
  private async subnetFor(
    r: RegionClients,
    spec: { az: string; tags: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const cluster = spec.tags[this.ctx.config.discovery.clusterTag];
    const subnets = cluster ? clusterSettings(this.ctx.config, { name: cluster, region: r.region })?.subnets : undefined;
    if (!subnets || subnets.length === 0) return undefined;
    const res = await call(this.ctx, { action: 'ec2:DescribeSubnets', region: r.region, profile: r.profile, doing: `finding a subnet in ${spec.az}` }, () =>
      r.ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnets }), { abortSignal: signal }),
    );
    const match = res.Subnets?.find((s) => s.AvailabilityZone === spec.az)?.SubnetId;
    if (!match) {
      throw new AwsError(
        'NoSubnetInAz',
        'not-found',
        `none of cluster ${cluster}'s subnets (${subnets.join(', ')}) is in ${spec.az}: add one to clusters.${cluster}.subnets or pick another AZ`,
        'ec2:DescribeSubnets',
        res.$metadata.requestId,
        r.region,
      );
    }
    return match;
  }

  private waitForState(
    r: RegionClients,
    instanceId: string,
    states: string[],
    what: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Ec2Instance> {
    return pollUntil({ clock: this.ctx.clock, intervalMs: POLL_MS, timeoutMs, signal, what }, async () => {
      try {
        const res = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing: `reading ${instanceId}` }, () =>
          r.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal }),
        );
        const i = res.Reservations?.[0]?.Instances?.[0];
        return i?.State?.Name && states.includes(i.State.Name) ? i : undefined;
      } catch (err) {
        // A just-launched instance is briefly unknown to DescribeInstances (eventual consistency).
        if (err instanceof AwsError && err.code === 'InvalidInstanceID.NotFound') return undefined;
        // A throttled look is just a look missed: the next poll tries again, within the same bound.
        if (err instanceof AwsError && err.kind === 'throttled') return undefined;
        throw err;
      }
    });
  }
}

/** Each network interface's groups, primary (device 0) first. */
function interfacesOf(i: Ec2Instance): InterfaceGroups[] {
  return [...(i.NetworkInterfaces ?? [])]
    .sort((a, b) => (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0))
    .flatMap((n) =>
      n.NetworkInterfaceId ? [{ interfaceId: n.NetworkInterfaceId, groups: (n.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])) }] : [],
    );
}

function isolatedIn(i: InterfaceGroups, sg: string): boolean {
  return i.groups.length === 1 && i.groups[0] === sg;
}

function describeGroups(list: InterfaceGroups[]): string {
  return list.map((i) => `${i.interfaceId} in ${i.groups.join(', ') || 'no group'}`).join('; ');
}

/** "tcp 3306 from sg-app, 10.0.0.0/16" */
function ruleText(p: IpPermission): string {
  const proto = p.IpProtocol === '-1' ? 'all traffic' : `${p.IpProtocol ?? '?'} ${p.FromPort === p.ToPort ? (p.FromPort ?? '') : `${p.FromPort}-${p.ToPort}`}`.trim();
  const from = [
    ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId ?? '?'),
    ...(p.IpRanges ?? []).map((x) => x.CidrIp ?? '?'),
    ...(p.Ipv6Ranges ?? []).map((x) => x.CidrIpv6 ?? '?'),
    ...(p.PrefixListIds ?? []).map((x) => x.PrefixListId ?? '?'),
  ];
  return from.length > 0 ? `${proto} from ${from.join(', ')}` : proto;
}
