// Auto Scaling for the rotate runbook: one instance out at a time, the group
// keeps its desired capacity so a replacement launches, and the processes
// that would fight the rotation are suspended for its length.

import {
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import type { CallOptions, Scaling, ScalingGroup } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { AwsError } from './errors.js';
import { describeGroups, readTemplates, toScalingGroup } from './groups.js';
import { pollUntil, retryThrottled } from './wait.js';

const POLL_MS = 10_000;
const REPLACEMENT_TIMEOUT_MS = 20 * 60_000;

export class AwsScaling implements Scaling {
  constructor(private readonly ctx: AwsContext) {}

  /** The group now, its launch template's `$Latest`/`$Default` resolved to the number it launches (one DescribeLaunchTemplates at most). */
  async getGroup(name: string, opts: CallOptions = {}): Promise<ScalingGroup | undefined> {
    const found = await this.find(name, opts.signal);
    if (!found) return undefined;
    const { r, g } = found;
    const templates = await readTemplates(this.ctx, r, [g], `reading the launch template of group ${name}`, opts.signal);
    const read = toScalingGroup(g, templates);
    if (read.unresolved) {
      // A group whose template is gone cannot launch a replacement: a rotation must not start on it.
      throw new AwsError(
        'LaunchTemplateNotFound',
        'not-found',
        `${read.unresolved} in ${r.region}: it cannot launch a replacement; point the group at an existing launch template (\`aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${name}\`) before rotating`,
        'ec2:DescribeLaunchTemplates',
        undefined,
        r.region,
      );
    }
    return read.group;
  }

  async terminateInGroup(instanceId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    await call(this.ctx, { action: 'autoscaling:TerminateInstanceInAutoScalingGroup', region: r.region, profile: r.profile, doing: `terminating ${instanceId} in its group` }, () =>
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
        // Members only: the launch template is not needed here, so no DescribeLaunchTemplates per poll.
        const found = await this.find(group, opts.signal);
        const members = found ? toScalingGroup(found.g).group.members : [];
        const fresh = members.filter((m) => !old.has(m.instanceId));
        const ready = fresh.find((m) => m.lifecycle === 'InService' && m.health === 'Healthy');
        opts.onProgress?.(
          fresh.length === 0 ? `no replacement launched yet in ${group}` : fresh.map((m) => `${m.instanceId} ${m.lifecycle} ${m.health}`).join(', '),
        );
        return ready?.instanceId;
      },
    );
  }

  async suspendProcesses(group: string, processes: readonly string[], opts: CallOptions = {}): Promise<void> {
    await this.changeProcesses('suspend', group, processes, opts.signal);
  }

  async resumeProcesses(group: string, processes: readonly string[], opts: CallOptions = {}): Promise<void> {
    await this.changeProcesses('resume', group, processes, opts.signal);
  }

  /**
   * Both calls are idempotent on AWS (suspending a suspended process, resuming
   * a running one, change nothing), so a throttled or contended call is sent
   * again, as a resume after an abort must get through.
   */
  private async changeProcesses(how: 'suspend' | 'resume', group: string, processes: readonly string[], signal?: AbortSignal): Promise<void> {
    // To Auto Scaling an empty list means every process, Launch and Terminate included: nothing asked, nothing sent.
    const list = [...new Set(processes)];
    if (list.length === 0) return;
    const r = await this.regionOf(group, signal);
    const action = how === 'suspend' ? 'autoscaling:SuspendProcesses' : 'autoscaling:ResumeProcesses';
    const doing = `${how === 'suspend' ? 'suspending' : 'resuming'} ${list.join(', ')} of group ${group}`;
    const input = { AutoScalingGroupName: group, ScalingProcesses: list };
    await retryThrottled({ clock: this.ctx.clock, what: doing, ...(signal ? { signal } : {}) }, () =>
      call(this.ctx, { action, region: r.region, profile: r.profile, doing }, () =>
        r.autoscaling.send(how === 'suspend' ? new SuspendProcessesCommand(input) : new ResumeProcessesCommand(input), { abortSignal: signal }),
      ).catch((err: unknown) => {
        throw contentionAsThrottling(err, doing) ?? err;
      }),
    ).catch((err: unknown) => {
      throw groupNotFound(err, group, r.region) ?? err;
    });
  }

  /** The group's region: known from discovery, or the one region in view, or asked of each. */
  private async regionOf(group: string, signal?: AbortSignal): Promise<RegionClients> {
    const known = this.ctx.router.forGroup(group);
    if (known) return known;
    const found = await this.find(group, signal);
    if (found) return found.r;
    throw new AwsError(
      'GroupNotFound',
      'not-found',
      `group ${group} is in none of ${this.ctx.router.names.join(', ')}: check the group's name (clusters.C.asg, the aws:autoscaling:groupName tag) and aws.regions`,
      'autoscaling:DescribeAutoScalingGroups',
    );
  }

  private async find(name: string, signal?: AbortSignal): Promise<{ r: RegionClients; g: AutoScalingGroup } | undefined> {
    const known = this.ctx.router.forGroup(name);
    // Several regions and a group not seen yet: ask each region (group names are per region).
    for (const r of known ? [known] : this.ctx.router.all) {
      const [g] = await describeGroups(this.ctx, r, [name], `reading group ${name}`, signal);
      if (g) {
        this.ctx.router.rememberGroup(name, r);
        return { r, g };
      }
    }
    return undefined;
  }
}

/** Auto Scaling answers a change to a group that does not exist with a ValidationError; said plainly here. */
function groupNotFound(err: unknown, group: string, region: string): AwsError | undefined {
  if (!(err instanceof AwsError) || err.code !== 'ValidationError' || !/not found/i.test(err.sentence)) return undefined;
  return new AwsError(
    'GroupNotFound',
    'not-found',
    `group ${group} does not exist in ${region} (${err.action}): check the group's name (clusters.C.asg, the aws:autoscaling:groupName tag)`,
    err.action,
    err.requestId,
    region,
    { cause: err },
  );
}

/**
 * ResourceContentionFault: another change to the group is still being
 * applied (a scaling activity, someone's update). It passes like throttling
 * does, so it is waited out the same way.
 */
function contentionAsThrottling(err: unknown, doing: string): AwsError | undefined {
  if (!(err instanceof AwsError) || err.code !== 'ResourceContentionFault') return undefined;
  return new AwsError(
    err.code,
    'throttled',
    `${doing}${err.region ? ` in ${err.region}` : ''}: another change to the group is in progress (ResourceContentionFault)`,
    err.action,
    err.requestId,
    err.region,
    { cause: err },
  );
}
