// How a failover fences the dead master, so it can never come back writable
// beside the new one: what the config says for the target, as one plan line,
// or why no fence is possible (the runbook then asks the operator to type that
// they fenced it by hand).

import type { Instance, Target } from '../domain/types.js';
import type { ScopedName } from '../domain/scope.js';
import { clusterSettings } from './cluster-settings.js';
import type { Config } from './schema.js';

/** Tag carrying a static inventory host's own `fence:` command. */
export const FENCE_TAG = 'nightshift:fence';

export type Fence =
  /** A command run over SSH on the master's host (static inventory); needs the host reachable. */
  | { kind: 'command'; command: string; source: 'host' | 'cluster'; plan: string }
  /** StopInstances (AWS), or the simulated fleet's stop. */
  | { kind: 'stop'; instanceId: string; plan: string }
  /** The instance's security groups replaced by one that allows nothing (AWS). */
  | { kind: 'isolate'; instanceId: string; securityGroup: string; plan: string }
  /** Nothing nightshift can do: the reason, and what to configure. */
  | { kind: 'none'; reason: string; plan: string };

/**
 * The fence for `node`, the master of `cluster`, on `target`. Only a static
 * inventory may name a host's own command: its tags come from the engineer's
 * file, where on AWS a tag is anyone's with ec2:CreateTags, and a tag that
 * chose what nightshift runs would hand them a shell on the node.
 */
export function fenceFor(
  config: Pick<Config, 'clusters'>,
  which: string | ScopedName,
  node: Instance,
  target: Pick<Target, 'kind'> | Target['kind'],
): Fence {
  const kind = typeof target === 'string' ? target : target.kind;
  const cluster: ScopedName = typeof which === 'string' ? { name: which } : which;
  const configured = clusterSettings(config, cluster)?.fence;
  const who = node.name === node.id ? node.name : `${node.id} (${node.name})`;
  if (kind === 'sim') {
    return { kind: 'stop', instanceId: node.id, plan: `stop instance ${who} (simulated fleet), then tag nightshift:fenced` };
  }
  if (kind === 'aws') {
    if (configured?.method === 'isolate' && configured.securityGroup) {
      return {
        kind: 'isolate',
        instanceId: node.id,
        securityGroup: configured.securityGroup,
        plan: `EC2 ModifyNetworkInterfaceAttribute on every interface of ${who}: security groups replaced by ${configured.securityGroup} alone, then tag nightshift:fenced`,
      };
    }
    return { kind: 'stop', instanceId: node.id, plan: `EC2 StopInstances ${who} (force), then tag nightshift:fenced` };
  }
  const own = node.tags[FENCE_TAG]?.trim();
  const command = own || configured?.command;
  if (command) {
    const ssh = node.ssh;
    const where = ssh ? `${ssh.user ? `${ssh.user}@` : ''}${ssh.host}${ssh.port !== undefined ? `:${ssh.port}` : ''}` : node.privateIp;
    return {
      kind: 'command',
      command,
      source: own ? 'host' : 'cluster',
      plan: `on ${node.name} (${where}): ${command}`,
    };
  }
  const reason = `no fence command for ${node.name}: set \`fence:\` on its host in the inventory, or clusters.${cluster.name}${cluster.region ? `.regions.${cluster.region}` : ''}.fence.command in the config`;
  return { kind: 'none', reason, plan: `${reason}; until then the operator fences ${node.name} by hand and types its name to confirm` };
}
