// Auto Scaling groups read into our shape, with the launch template a group
// launches resolved to a version number. Shared by Scaling.getGroup (one
// group, now) and the inventory's background read (every group of the
// clusters, for the launch-template-drift finding).

import {
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
  type LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, type DescribeLaunchTemplatesRequest } from '@aws-sdk/client-ec2';
import type { GroupMember, ScalingGroup } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { chunk } from './ec2-shapes.js';

/** EC2 tags every instance launched from a template with the version it used: a member's version when the group does not say it. */
export const LAUNCH_TEMPLATE_VERSION_TAG = 'aws:ec2launchtemplate:version';

/** DescribeAutoScalingGroups takes 50 names by default, as many as MaxRecords (at most 100) when it is given. */
const GROUPS_PER_CALL = 100;
/** DescribeLaunchTemplates' page maximum. */
const TEMPLATES_PER_CALL = 200;

const isVersionNumber = (v: string | undefined): v is string => v !== undefined && /^[1-9]\d*$/.test(v);

/** The template the group launches from: its own, or its mixed instances policy's. Undefined for a launch configuration. */
export function launchSpecOf(g: AutoScalingGroup): LaunchTemplateSpecification | undefined {
  return g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
}

/** What the group names as its version; Auto Scaling's default, when it names none, is `$Default`. */
function askedVersion(spec: LaunchTemplateSpecification): string {
  return spec.Version ?? '$Default';
}

/** Every page of DescribeAutoScalingGroups for these names, a hundred names a call. Names not found are simply absent. */
export async function describeGroups(
  ctx: AwsContext,
  r: RegionClients,
  names: readonly string[],
  doing: string,
  signal?: AbortSignal,
): Promise<AutoScalingGroup[]> {
  const out: AutoScalingGroup[] = [];
  for (const batch of chunk([...new Set(names)], GROUPS_PER_CALL)) {
    let NextToken: string | undefined;
    do {
      const page = await call(ctx, { action: 'autoscaling:DescribeAutoScalingGroups', region: r.region, profile: r.profile, doing }, () =>
        r.autoscaling.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: batch, MaxRecords: GROUPS_PER_CALL, NextToken }),
          { abortSignal: signal },
        ),
      );
      out.push(...(page.AutoScalingGroups ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return out;
}

interface TemplateVersions {
  id: string;
  name: string;
  latest?: number;
  default?: number;
}

/** The templates of one region read once, found by id or name. */
export class TemplateIndex {
  private readonly byId = new Map<string, TemplateVersions>();
  private readonly byName = new Map<string, TemplateVersions>();

  add(t: TemplateVersions): void {
    this.byId.set(t.id, t);
    this.byName.set(t.name, t);
  }

  get(spec: LaunchTemplateSpecification): TemplateVersions | undefined {
    return (spec.LaunchTemplateId ? this.byId.get(spec.LaunchTemplateId) : undefined) ?? (spec.LaunchTemplateName ? this.byName.get(spec.LaunchTemplateName) : undefined);
  }
}

/**
 * One DescribeLaunchTemplates round for the groups' templates that name a
 * version by word (`$Latest`, `$Default`); numbers need no call. By name
 * (a filter, which leaves a deleted template out instead of failing the
 * whole batch); by id only for a spec that carries no name.
 */
export async function readTemplates(
  ctx: AwsContext,
  r: RegionClients,
  groups: readonly AutoScalingGroup[],
  doing: string,
  signal?: AbortSignal,
): Promise<TemplateIndex> {
  const index = new TemplateIndex();
  const specs = groups.flatMap((g) => {
    const spec = launchSpecOf(g);
    return spec && !isVersionNumber(askedVersion(spec)) ? [spec] : [];
  });
  const names = [...new Set(specs.flatMap((s) => (s.LaunchTemplateName ? [s.LaunchTemplateName] : [])))];
  const ids = [...new Set(specs.flatMap((s) => (!s.LaunchTemplateName && s.LaunchTemplateId ? [s.LaunchTemplateId] : [])))];
  const requests: DescribeLaunchTemplatesRequest[] = [
    ...chunk(names, TEMPLATES_PER_CALL).map((Values) => ({ Filters: [{ Name: 'launch-template-name', Values }], MaxResults: TEMPLATES_PER_CALL })),
    // No MaxResults beside explicit ids.
    ...chunk(ids, TEMPLATES_PER_CALL).map((LaunchTemplateIds) => ({ LaunchTemplateIds })),
  ];
  for (const input of requests) {
    let NextToken: string | undefined;
    do {
      const page = await call(ctx, { action: 'ec2:DescribeLaunchTemplates', region: r.region, profile: r.profile, doing }, () =>
        r.ec2.send(new DescribeLaunchTemplatesCommand({ ...input, NextToken }), { abortSignal: signal }),
      );
      for (const t of page.LaunchTemplates ?? []) {
        if (!t.LaunchTemplateId || !t.LaunchTemplateName) continue;
        index.add({
          id: t.LaunchTemplateId,
          name: t.LaunchTemplateName,
          ...(t.LatestVersionNumber !== undefined ? { latest: t.LatestVersionNumber } : {}),
          ...(t.DefaultVersionNumber !== undefined ? { default: t.DefaultVersionNumber } : {}),
        });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return index;
}

export interface GroupRead {
  group: ScalingGroup;
  /** Set when the group's template names a version that could not be resolved: the group is returned without `launchTemplate`. */
  unresolved?: string;
}

/**
 * A group in our shape. `templates` resolves `$Latest`/`$Default` (omit it
 * when the template does not matter: the group then comes without it unless
 * it names a number). `memberTag` gives a member's version from its
 * instance's tag when the group's own record does not name a number.
 */
export function toScalingGroup(
  g: AutoScalingGroup,
  templates?: TemplateIndex,
  memberTag: (instanceId: string) => string | undefined = () => undefined,
): GroupRead {
  const name = g.AutoScalingGroupName ?? '';
  const members = (g.Instances ?? []).map((i): GroupMember => {
    const instanceId = i.InstanceId ?? '';
    // A member records the version it was launched from; a word there would be
    // today's meaning of it, not the launch's, so only a number (or EC2's own
    // tag on the instance) counts, and otherwise the version is unknown.
    const own = i.LaunchTemplate?.Version;
    const version = isVersionNumber(own) ? own : i.LaunchTemplate ? validNumber(memberTag(instanceId)) : undefined;
    return {
      instanceId,
      az: i.AvailabilityZone ?? '',
      lifecycle: i.LifecycleState ?? 'unknown',
      health: i.HealthStatus === 'Healthy' ? 'Healthy' : 'Unhealthy',
      isProtected: i.ProtectedFromScaleIn ?? false,
      ...(version ? { launchTemplateVersion: version } : {}),
    };
  });
  const group: ScalingGroup = {
    name,
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    members,
    suspended: (g.SuspendedProcesses ?? []).flatMap((p) => (p.ProcessName ? [p.ProcessName] : [])),
  };
  const spec = launchSpecOf(g);
  if (!spec) return { group };
  const asked = askedVersion(spec);
  const label = spec.LaunchTemplateName ?? spec.LaunchTemplateId ?? 'its launch template';
  if (isVersionNumber(asked)) {
    return { group: { ...group, launchTemplate: { id: spec.LaunchTemplateId ?? '', name: spec.LaunchTemplateName ?? '', version: asked } } };
  }
  const t = templates?.get(spec);
  const number = asked === '$Latest' ? t?.latest : asked === '$Default' ? t?.default : undefined;
  if (!t || number === undefined) {
    const why = !t ? 'which EC2 does not find (deleted, or in another account)' : `whose ${asked} version EC2 did not say`;
    return { group, unresolved: `group ${name} launches from ${label} ${asked}, ${why}` };
  }
  return { group: { ...group, launchTemplate: { id: t.id, name: t.name, version: String(number), asked } } };
}

function validNumber(v: string | undefined): string | undefined {
  return isVersionNumber(v) ? v : undefined;
}
