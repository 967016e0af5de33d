// EC2 instances: launch a node from its cluster's launch template (rebuild),
// stop one to fence it (failover).

import {
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import type { Instance } from '../../domain/types.js';
import type { CallOptions, Compute } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { tagList, toInstance } from './ec2-shapes.js';
import { AwsError } from './errors.js';
import { pollUntil } from './wait.js';

const POLL_MS = 5_000;
const RUNNING_TIMEOUT_MS = 10 * 60_000;
/** A clean OS shutdown of a busy database host can take minutes; EC2 forces it by itself eventually. */
const STOPPED_TIMEOUT_MS = 15 * 60_000;

export class AwsCompute implements Compute {
  constructor(private readonly ctx: AwsContext) {}

  async launch(
    spec: { launchTemplate: string; az: string; tags: Record<string, string> },
    opts: CallOptions = {},
  ): Promise<Instance> {
    const r = this.ctx.router.forAz(spec.az);
    const subnet = await this.subnetFor(r, spec, opts.signal);
    const template = spec.launchTemplate.startsWith('lt-')
      ? { LaunchTemplateId: spec.launchTemplate }
      : { LaunchTemplateName: spec.launchTemplate };
    const res = await call(this.ctx, { action: 'ec2:RunInstances', region: r.region, doing: `launching from ${spec.launchTemplate} in ${spec.az}` }, () =>
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
        }),
        { abortSignal: opts.signal },
      ),
    );
    const id = res.Instances?.[0]?.InstanceId;
    if (!id) throw new AwsError('NoInstance', 'other', `RunInstances from ${spec.launchTemplate} answered without an instance`, 'ec2:RunInstances', res.$metadata.requestId, r.region);
    this.ctx.router.rememberInstance(id, r.region);
    const running = await this.waitForState(r, id, ['running'], `${id} to be running`, RUNNING_TIMEOUT_MS, opts.signal);
    return toInstance(running, 'initializing');
  }

  async stop(instanceId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    await call(this.ctx, { action: 'ec2:StopInstances', region: r.region, doing: `stopping ${instanceId}` }, () =>
      r.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: opts.signal }),
    );
    // Terminated is fenced too: it can never come back writable.
    await this.waitForState(r, instanceId, ['stopped', 'terminated'], `${instanceId} to stop`, STOPPED_TIMEOUT_MS, opts.signal);
  }

  /** The configured subnet of the cluster (from the cluster tag) that lies in the wanted AZ, if any are configured. */
  private async subnetFor(
    r: RegionClients,
    spec: { az: string; tags: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const cluster = spec.tags[this.ctx.config.discovery.clusterTag];
    const subnets = cluster ? this.ctx.config.clusters[cluster]?.subnets : undefined;
    if (!subnets || subnets.length === 0) return undefined;
    const res = await call(this.ctx, { action: 'ec2:DescribeSubnets', region: r.region, doing: `finding a subnet in ${spec.az}` }, () =>
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
        const res = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, doing: `reading ${instanceId}` }, () =>
          r.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal }),
        );
        const i = res.Reservations?.[0]?.Instances?.[0];
        return i?.State?.Name && states.includes(i.State.Name) ? i : undefined;
      } catch (err) {
        // A just-launched instance is briefly unknown to DescribeInstances (eventual consistency).
        if (err instanceof AwsError && err.code === 'InvalidInstanceID.NotFound') return undefined;
        throw err;
      }
    });
  }
}
