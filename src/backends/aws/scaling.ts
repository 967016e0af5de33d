// Auto Scaling for the rotate runbook: one instance out at a time, the group
// keeps its desired capacity so a replacement launches.

import {
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import type { CallOptions, Scaling, ScalingGroup } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { pollUntil } from './wait.js';

const POLL_MS = 10_000;
const REPLACEMENT_TIMEOUT_MS = 20 * 60_000;

function toGroup(g: AutoScalingGroup): ScalingGroup {
  return {
    name: g.AutoScalingGroupName ?? '',
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    suspended: (g.SuspendedProcesses ?? []).map((p) => p.ProcessName ?? '').filter(Boolean),
    members: (g.Instances ?? []).map((i) => ({
      instanceId: i.InstanceId ?? '',
      az: i.AvailabilityZone ?? '',
      lifecycle: i.LifecycleState ?? 'unknown',
      health: i.HealthStatus === 'Healthy' ? 'Healthy' : 'Unhealthy',
      isProtected: i.ProtectedFromScaleIn ?? false,
    })),
  };
}

export class AwsScaling implements Scaling {
  // Stubs until the issue-14 adapters land (helpers own them).
  async suspendProcesses(group: string, processes: readonly string[]): Promise<void> {
    throw new Error(`suspendProcesses(${group}, ${processes.join(', ')}): not written yet`);
  }

  async resumeProcesses(group: string, processes: readonly string[]): Promise<void> {
    throw new Error(`resumeProcesses(${group}, ${processes.join(', ')}): not written yet`);
  }

  constructor(private readonly ctx: AwsContext) {}

  async getGroup(name: string, opts: CallOptions = {}): Promise<ScalingGroup | undefined> {
    const known = this.ctx.router.forGroup(name);
    // Several regions and a group not seen yet: ask each region (group names are per region).
    for (const r of known ? [known] : this.ctx.router.all) {
      const g = await this.describe(r, name, opts.signal);
      if (g) {
        this.ctx.router.rememberGroup(name, r.region);
        return toGroup(g);
      }
    }
    return undefined;
  }

  async terminateInGroup(instanceId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    await call(this.ctx, { action: 'autoscaling:TerminateInstanceInAutoScalingGroup', region: r.region, doing: `terminating ${instanceId} in its group` }, () =>
      r.autoscaling.send(
        // false: the group launches a replacement instead of shrinking.
        new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: false }),
        { abortSignal: opts.signal },
      ),
    );
  }

  async waitForReplacement(
    group: string,
    known: string[],
    opts: CallOptions & { timeoutMs?: number; onProgress?: (status: string) => void } = {},
  ): Promise<string> {
    const old = new Set(known);
    return pollUntil(
      {
        clock: this.ctx.clock,
        intervalMs: POLL_MS,
        timeoutMs: opts.timeoutMs ?? REPLACEMENT_TIMEOUT_MS,
        signal: opts.signal,
        what: `a replacement instance InService in ${group}`,
      },
      async () => {
        const g = await this.getGroup(group, opts);
        const fresh = (g?.members ?? []).filter((m) => !old.has(m.instanceId));
        const ready = fresh.find((m) => m.lifecycle === 'InService' && m.health === 'Healthy');
        opts.onProgress?.(
          fresh.length === 0 ? `no replacement launched yet in ${group}` : fresh.map((m) => `${m.instanceId} ${m.lifecycle} ${m.health}`).join(', '),
        );
        return ready?.instanceId;
      },
    );
  }

  private groupRegion(group: string, instanceId: string): RegionClients {
    return this.ctx.router.forGroup(group) ?? this.ctx.router.forInstance(instanceId);
  }

  private async describe(r: RegionClients, name: string, signal?: AbortSignal): Promise<AutoScalingGroup | undefined> {
    const res = await call(this.ctx, { action: 'autoscaling:DescribeAutoScalingGroups', region: r.region, doing: `reading group ${name}` }, () =>
      r.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }), { abortSignal: signal }),
    );
    return res.AutoScalingGroups?.[0];
  }
}
