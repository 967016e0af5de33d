// A Cassandra ring as every member sees it: the words for each peer that is
// not UN, naming the nodes that see it so. Repair refuses to start on such a
// ring; rotate waits for a replacement until there are none.

import { isPeerOf, probeCassandra } from '../../backends/engines/cassandra.js';
import { clientsOf } from '../../backends/engines/clients.js';
import type { Instance } from '../../domain/types.js';
import type { RunContext } from '../engine/types.js';

/**
 * Problems seen from `members` (each asked with `nodetool status`): a node
 * that does not answer, and each peer that is not UN ("cass-4 is DN (seen
 * from cass-1, cass-2)"). Empty when every member sees every peer UN.
 * `expect`: nodes that must appear in every view (a replacement joining).
 * `known`: other nodes a peer's address may name (one just terminated).
 */
export async function ringProblems(
  ctx: RunContext<unknown, unknown>,
  members: Instance[],
  signal: AbortSignal,
  expect: Instance[] = [],
  known: Array<Pick<Instance, 'name' | 'privateIp'>> = [],
): Promise<string[]> {
  const timeoutMs = ctx.config.engines.probeTimeoutSeconds * 1000;
  const probes = await Promise.allSettled(members.map((m) => probeCassandra(ctx.backends.shell, m, { nodetool: clientsOf(ctx, m).nodetool, timeoutMs, signal })));
  const problems: string[] = [];
  const seen = new Map<string, string[]>();
  const note = (who: string, by: string) => seen.set(who, [...(seen.get(who) ?? []), by]);
  probes.forEach((p, i) => {
    const m = members[i]!;
    if (p.status === 'rejected') {
      problems.push(`${m.name}: ${(p.reason as Error).message}`);
      return;
    }
    for (const peer of p.value.ring) {
      if (peer.status === 'UN') continue;
      const other = known.find((x) => isPeerOf(peer.address, x));
      note(`${members.find((x) => isPeerOf(peer.address, x))?.name ?? (other ? `${other.name} (${peer.address}, no longer a member)` : peer.address)} is ${peer.status}`, m.name);
    }
    for (const e of expect) if (!p.value.ring.some((peer) => isPeerOf(peer.address, e))) note(`${e.name} is not in the ring`, m.name);
  });
  // Seen so by every member, or by a few named: the line stays short enough for a progress line.
  for (const [who, by] of seen) problems.push(`${who} (seen from ${by.length === members.length && members.length > 1 ? `all ${by.length} members` : by.length > 3 ? `${by.slice(0, 3).join(', ')} and ${by.length - 3} more` : by.join(', ')})`);
  return problems;
}
