// EC2 shapes -> our types. The only place that reads an EC2 Instance.

import type { Instance as Ec2Instance, InstanceStatus as Ec2InstanceStatus, Tag } from '@aws-sdk/client-ec2';
import type { Instance, InstanceState, StatusChecks } from '../../domain/types.js';

export const ASG_TAG = 'aws:autoscaling:groupName';

const STATES: ReadonlySet<string> = new Set<InstanceState>([
  'pending',
  'running',
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
]);

export function tagsOf(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function tagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function toInstance(i: Ec2Instance, statusChecks: StatusChecks = 'unknown'): Instance {
  const id = i.InstanceId ?? '';
  const tags = tagsOf(i.Tags);
  const state = i.State?.Name && STATES.has(i.State.Name) ? (i.State.Name as InstanceState) : 'pending';
  const asg = tags[ASG_TAG];
  return {
    id,
    name: tags.Name || id,
    privateIp: i.PrivateIpAddress ?? '',
    az: i.Placement?.AvailabilityZone ?? '',
    type: i.InstanceType ?? '',
    state,
    launchTime: i.LaunchTime ? new Date(i.LaunchTime).toISOString() : '',
    ...(asg ? { asg } : {}),
    statusChecks,
    tags,
  };
}

/** Both checks (system and instance) folded into one word, the worst first. */
export function toStatusChecks(s: Ec2InstanceStatus): StatusChecks {
  const parts = [s.SystemStatus?.Status, s.InstanceStatus?.Status];
  if (parts.includes('impaired')) return 'impaired';
  if (parts.includes('initializing')) return 'initializing';
  if (parts.includes('insufficient-data')) return 'insufficient-data';
  if (parts.every((p) => p === 'ok')) return 'ok';
  return 'unknown';
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** EC2's limit on a client token (RunInstances, CreateVolume): 64 ASCII characters. */
export const CLIENT_TOKEN_MAX = 64;

/**
 * Refuses a token EC2 would refuse, before anything is sent: a caller building
 * it from a run id learns it here, in words, instead of from an
 * InvalidParameterValue after the step started.
 */
export function checkClientToken(token: string | undefined, doing: string): void {
  if (token === undefined) return;
  if (token.length === 0 || token.length > CLIENT_TOKEN_MAX || !/^[\x20-\x7e]+$/.test(token)) {
    throw new Error(`${doing}: client token ${JSON.stringify(token)} is not 1 to ${CLIENT_TOKEN_MAX} printable ASCII characters, as EC2 requires: derive a shorter one from the run id`);
  }
}
