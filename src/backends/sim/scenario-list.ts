// The scenarios by name and what each shows, apart from the code that makes
// them: the config is checked against this list at every start, and loading
// the simulated fleet for that would slow the start of every target.

export interface ScenarioInfo {
  name: string;
  description: string;
  /** The regions it needs (`--regions`), when more than one; it opens with that many unless told more. */
  regions?: number;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  { name: 'healthy', description: 'every node up and replicating; one replica\'s lag climbs and falls; one ring node never repaired, one overdue' },
  { name: 'master-down', description: 'the first MySQL cluster\'s master hung 7 min ago: no SSH, no MySQL, its replicas\' IO threads Connecting (error 2003)' },
  { name: 'lagging-replica', description: 'a replica of the second MySQL cluster is 15-30 minutes behind and wandering' },
  { name: 'repair-overdue', description: 'most of the Cassandra ring was last repaired more than 10 days ago (gc_grace_seconds)' },
  { name: 'split-brain', description: 'the fourth MySQL cluster has two writable masters: a replica was promoted 20 min ago while the old master kept writing' },
  { name: 'ebs-stuck', description: 'a replica of the third MySQL cluster: its data volume impaired, I/O wait pegged; its SQL thread makes no progress and lag grows' },
  { name: 'az-outage', description: 'every node in us-east-1c unreachable since 5 min ago; replicas elsewhere lose their master, the ring shows DN' },
  { name: 'lost-replica', description: 'the first MySQL cluster failed over 30 min ago: a replica was promoted, the old master terminated; one replica fewer than before, and its AZ has none (rehearse a rebuild)' },
  {
    name: 'regions-split',
    description: 'two regions, each with its own `orders`-like MySQL cluster of the same name: the eu-west-1 one\'s master hung 7 min ago while the us-east-1 one is healthy',
    regions: 2,
  },
  { name: 'stale-asg', description: 'every Auto Scaling group (the ring, web, and two MySQL clusters of master + replicas) runs instances launched months ago from older launch template versions than it launches now: rehearse a rotate' },
];

export function isScenario(name: string): boolean {
  return SCENARIOS.some((s) => s.name === name);
}

/** The regions a scenario opens with when not told (`--regions`): its own need, else one. */
export function simRegionCount(scenario: string, regions: number | undefined): number {
  return regions ?? SCENARIOS.find((s) => s.name === scenario)?.regions ?? 1;
}
