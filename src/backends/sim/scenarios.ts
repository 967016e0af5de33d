// Scenarios bend the generated fleet into the condition they are named for,
// with the same operations fault injection uses, at virtual times shortly
// before the epoch (so the trouble has a history: a master that died seven
// minutes ago, a replica stuck for twelve).

import { clusterKey } from '../../domain/scope.js';
import { asgNameOf, azsOf, SIM_EPOCH, TAGS, isoSeconds } from './fleet.js';
import type { Prng } from './prng.js';
import { affected, materialize, updateWriters } from './replication.js';
import { isScenario, SCENARIOS } from './scenario-list.js';
import type { SimWorld } from './world.js';

export { SCENARIOS, isScenario, type ScenarioInfo } from './scenario-list.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export function applyScenario(name: string, world: SimWorld, prng: Prng): void {
  if (!isScenario(name)) {
    throw new Error(`unknown scenario "${name}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  const w = world.view();
  // By key (clusterKey), in the order generated: with several regions, the first region's clusters come first.
  const mysqlClusters = Object.entries(w.clusters)
    .filter(([, c]) => c.engine === 'mysql')
    .map(([key, c]) => ({ ...c, key }));
  const members = (cluster: string) => world.membersOf(cluster);
  const ringState = Object.entries(w.clusters).find(([, c]) => c.engine === 'cassandra');
  const ring = ringState && { key: ringState[0] };
  switch (name) {
    case 'healthy':
      return;
    case 'master-down': {
      const master = members(mysqlClusters[0]!.key)[0]!;
      world.applyFault({ kind: 'kill-node', node: master }, SIM_EPOCH - 7 * MINUTE);
      return;
    }
    case 'lagging-replica': {
      const replica = members(mysqlClusters[1]!.key)[1]!;
      w.mysql[replica]!.lag = { kind: 'high', level: prng.int(900, 1800) };
      return;
    }
    case 'repair-overdue': {
      if (!ring) return;
      const ages = [21, 16, 13, 11, 5, 2].map((d) => d * DAY + prng.int(0, 20) * 60 * MINUTE);
      members(ring.key).forEach((id, i) => {
        w.instances[id]!.tags[TAGS.lastRepaired] = isoSeconds(SIM_EPOCH - (ages[i % ages.length] ?? 3 * DAY));
      });
      return;
    }
    case 'split-brain': {
      const cluster = mysqlClusters[3]!.key;
      const promoted = members(cluster)[1]!;
      const at = SIM_EPOCH - 20 * MINUTE;
      materialize(world.env, affected(world.env, cluster), at);
      const node = w.mysql[promoted]!;
      delete node.replica;
      node.readOnly = false;
      node.superReadOnly = false;
      // Some clients followed the promotion; the writer record still names the old master.
      node.strayRate = prng.int(1, 3);
      updateWriters(world.env, cluster, at);
      return;
    }
    case 'ebs-stuck': {
      const replica = members(mysqlClusters[2]!.key)[1]!;
      world.applyFault({ kind: 'io-stuck', node: replica }, SIM_EPOCH - 12 * MINUTE);
      return;
    }
    case 'regions-split': {
      // The first MySQL cluster's name repeats in every region (fleet.ts planRegions): down in the second region only.
      const second = w.regions?.[1];
      const first = mysqlClusters[0]!;
      const twin = mysqlClusters.find((c) => c.name === first.name && c.region === second);
      if (!twin) throw new Error('the regions-split scenario needs a simulated fleet of two regions or more (--regions 2)');
      world.applyFault({ kind: 'kill-node', node: members(twin.key)[0]! }, SIM_EPOCH - 7 * MINUTE);
      return;
    }
    case 'az-outage':
      world.applyFault({ kind: 'az-outage', az: 'us-east-1c' }, SIM_EPOCH - 5 * MINUTE);
      return;
    case 'lost-replica': {
      const cluster = mysqlClusters[0]!.key;
      const [old, ...replicas] = members(cluster) as [string, ...string[]];
      const at = SIM_EPOCH - 30 * MINUTE;
      materialize(world.env, affected(world.env, cluster), at);
      // The failover promoted the replica that had applied the most of the old master's writes.
      const applied = (id: string) => Object.values(w.mysql[id]!.base).reduce((a, b) => a + b, 0);
      const promoted = [...replicas].sort((a, b) => applied(b) - applied(a))[0]!;
      const others = replicas.filter((id) => id !== promoted);
      const p = w.mysql[promoted]!;
      delete p.replica;
      p.readOnly = false;
      p.superReadOnly = false;
      const ip = w.instances[promoted]!.privateIp;
      for (const id of others) {
        const r = w.mysql[id]!.replica!;
        r.sourceHost = ip;
        r.connectedAt = at;
      }
      const dns = w.clusters[cluster]!.writerDns;
      if (dns) w.dns[dns]!.values = [ip];
      // The failover moved the role tags too.
      w.instances[promoted]!.tags[TAGS.role] = 'master';
      w.instances[old]!.tags[TAGS.role] = 'fenced';
      // Writes move to the new master (the old one's last segment ends) before the old one goes.
      world.bump();
      updateWriters(world.env, cluster, at);
      // The old master was fenced by stopping it, then terminated: its AZ has no member now.
      w.instances[old]!.state = 'terminated';
      world.bump();
      world.markLiveness([old], at, true);
      for (const id of others) world.startApplying(id, at);
      return;
    }
    case 'stale-asg': {
      // One MySQL cluster of each flavour runs in a group too, so a rotation of replicas can be rehearsed on both.
      for (const flavour of ['mariadb', 'mysql'] as const) {
        const c = mysqlClusters.find((x) => x.flavour === flavour);
        if (c) groupMysql(world, c.key, prng);
      }
      for (const g of Object.values(w.asgs)) {
        const lt = w.launchTemplates[g.launchTemplate]!;
        const old = lt.version;
        lt.version = old + 1;
        lt.updatedAt = isoSeconds(SIM_EPOCH - 2 * DAY - prng.int(0, 12) * 60 * MINUTE);
        for (const id of g.members) {
          const inst = w.instances[id]!;
          inst.launchTime = isoSeconds(SIM_EPOCH - prng.int(150, 400) * DAY);
          inst.tags[TAGS.ltVersion] = String(Math.max(1, old - prng.int(0, 2)));
        }
      }
      return;
    }
  }
}

/**
 * Puts a MySQL cluster's master and replicas in an Auto Scaling group of
 * their own, launching from the cluster's launch template. Its minimum leaves
 * room to rotate one at a time; what it launches is tagged a replica (a
 * replacement comes up empty, and the rebuild runbook makes it one).
 */
function groupMysql(world: SimWorld, cluster: string, prng: Prng): void {
  const w = world.view();
  const c = w.clusters[cluster]!;
  const ids = world.membersOf(cluster);
  const name = asgNameOf(c.name, c.region);
  for (const id of ids) {
    const inst = w.instances[id]!;
    inst.asg = name;
    inst.tags[TAGS.asg] = name;
  }
  c.asg = name;
  const sample = w.instances[ids[0]!]!.tags;
  const tags: Record<string, string> = { [TAGS.cluster]: c.name, [TAGS.engine]: 'mysql', [TAGS.role]: 'replica' };
  for (const k of ['env', 'team']) if (sample[k] !== undefined) tags[k] = sample[k];
  w.asgs[name] = {
    name,
    cluster,
    min: 1,
    max: ids.length + 1,
    desired: ids.length,
    members: [...ids],
    lifecycle: Object.fromEntries(ids.map((id) => [id, 'InService'])),
    isProtected: {},
    launchTemplate: c.launchTemplate!,
    azs: azsOf(c.region),
    warmupMs: prng.int(4, 8) * MINUTE,
    suspended: [],
    tags,
  };
  world.bump();
}
