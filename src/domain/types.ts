// Pure data shapes shared by every layer. Nothing here does I/O, and nothing
// here knows which backend (AWS, simulated fleet, static inventory) produced it.

export type EngineKind = 'mysql' | 'cassandra' | 'generic';

export type HealthLevel = 'OK' | 'WARN' | 'CRIT' | 'UNKNOWN';

/** A verdict always comes with its reason in words: "lag 340 s > 60 s". */
export interface Health {
  level: HealthLevel;
  reason: string;
}

export type InstanceState =
  | 'pending'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'shutting-down'
  | 'terminated';

export type StatusChecks = 'ok' | 'impaired' | 'initializing' | 'insufficient-data' | 'unknown';

/** What the cloud (or the inventory file) knows about a machine. */
/**
 * An instance with this tag (any value) is no member of its cluster, even with
 * the cluster tag: a static inventory's spare host, an instance a rebuild
 * launched and has not finished. Every inventory lists it, outside its
 * cluster's members; a rebuild's last step removes the tag.
 */
export const SPARE_TAG = 'nightshift:spare';
/** The run that launched an instance for a rebuild: how a resume finds it again. */
export const REBUILD_TAG = 'nightshift:rebuild';

export interface Instance {
  id: string;
  name: string;
  privateIp: string;
  az: string;
  type: string;
  state: InstanceState;
  /** ISO-8601 */
  launchTime: string;
  asg?: string;
  statusChecks: StatusChecks;
  tags: Record<string, string>;
  /** ssh endpoint when it differs from privateIp:22 (static inventory, lab). */
  ssh?: SshEndpoint;
  /** The region it runs in (AWS, the simulated fleet); absent on a static inventory. */
  region?: string;
  /** The AWS account it belongs to, set only when several accounts are in view (see domain/scope.ts). */
  account?: string;
  /**
   * Its EBS volumes whose own status check is not ok (DescribeVolumeStatus;
   * the sim's volume model). Absent when every volume is ok, or where volumes
   * are not read (a static inventory).
   */
  volumes?: VolumeHealth[];
}

/** An EBS volume's status check, as EC2 names it. */
export type VolumeStatus = 'ok' | 'warning' | 'impaired' | 'insufficient-data';

/** One volume of an instance, as its status check sees it. */
export interface VolumeHealth {
  volumeId: string;
  /** Where the instance has it attached (/dev/xvda), when known. */
  device?: string;
  status: VolumeStatus;
  /** In words: "I/O performance stalled", "io-enabled: failed". */
  detail: string;
  /** ISO-8601: when the trouble began (the event's start), when known. */
  since?: string;
}

export interface SshEndpoint {
  host: string;
  port?: number;
  user?: string;
}

/** One instance of an Auto Scaling group, as the group sees it. */
export interface GroupMember {
  instanceId: string;
  az: string;
  lifecycle: string; // InService, Pending, Terminating, Standby...
  health: 'Healthy' | 'Unhealthy';
  isProtected: boolean;
  /** The launch template version it was launched from ("5"); absent when not launched from a template. */
  launchTemplateVersion?: string;
}

/** An Auto Scaling group: sizes, members, the launch template it launches now, suspended processes. */
export interface ScalingGroup {
  name: string;
  min: number;
  max: number;
  desired: number;
  members: GroupMember[];
  /**
   * The template the group launches from. `version` is a number ("7") even
   * when the group names `$Latest` or `$Default` (then `asked` says which).
   */
  launchTemplate?: { id: string; name: string; version: string; asked?: string };
  /** Processes suspended now (AZRebalance, ReplaceUnhealthy...). */
  suspended: string[];
}

/**
 * A cluster as discovered: the name, its engine and its members' ids. Its
 * identity is account + region + name (clusterKey in domain/scope.ts): two
 * regions' `orders` are two clusters.
 */
export interface ClusterRef {
  name: string;
  region?: string;
  /** Set only when several accounts are in view. */
  account?: string;
  engine: EngineKind;
  instanceIds: string[];
  /** Where the cluster definition came from: tag, asg, security group, inventory. */
  source: 'tag' | 'asg' | 'security-group' | 'inventory';
  asg?: string;
}

export type MysqlFlavour = 'mysql' | 'mariadb';

/** Replica thread state as the server reports it. */
export type ThreadState = 'Yes' | 'No' | 'Connecting';

/** What a MySQL or MariaDB server says about itself. */
export interface MysqlFacts {
  flavour: MysqlFlavour;
  version: string;
  serverId: number;
  readOnly: boolean;
  /** MySQL 8 only; undefined on MariaDB. */
  superReadOnly?: boolean;
  logBin: boolean;
  logReplicaUpdates: boolean;
  /** Executed GTID set in the flavour's own notation. */
  gtidExecuted: string;
  /**
   * MariaDB only: `@@gtid_binlog_state`, the last GTID of every
   * (domain, server) in the binary log. Errant writes stay visible here after
   * the master writes again; in `gtidExecuted` (gtid_current_pos) they do not.
   */
  gtidBinlogState?: string;
  /** Own binary log position, when binary logging is on. */
  binlog?: { file: string; position: number };
  /** Present when the server is configured as a replica. */
  replica?: ReplicaStatus;
}

export interface ReplicaStatus {
  sourceHost: string;
  sourcePort: number;
  ioThread: ThreadState;
  sqlThread: ThreadState;
  /** Seconds_Behind_Source / Seconds_Behind_Master, or the heartbeat lag; null when unknown (threads stopped). */
  lagSeconds: number | null;
  lastIoError?: { code: number; message: string };
  lastSqlError?: { code: number; message: string };
  /** Retrieved (received) GTID set, when the server reports it. */
  gtidRetrieved?: string;
  usingGtid: boolean;
}

/** Up, Down or ? (gossip knows neither), then Normal, Leaving, Joining or Moving. */
export type CassandraStatus = `${'U' | 'D' | '?'}${'N' | 'L' | 'J' | 'M'}`;

/** One line of `nodetool status`, as seen from the node that ran it. */
export interface CassandraPeer {
  status: CassandraStatus;
  address: string;
  load: string;
  tokens: number;
  owns: string;
  hostId: string;
  rack: string;
  datacenter: string;
}

export interface CassandraFacts {
  /** This node's own status as the ring reports it. */
  status: CassandraStatus;
  /** The whole ring as seen from this node. */
  ring: readonly CassandraPeer[];
}

export type EngineFacts =
  | { kind: 'mysql'; mysql: MysqlFacts }
  | { kind: 'cassandra'; cassandra: CassandraFacts }
  | { kind: 'generic' };

/** A point of a metric series. Time is epoch milliseconds. */
export interface MetricPoint {
  t: number;
  v: number;
}

export interface NodeMetrics {
  cpu: MetricPoint[];
  /** Optional further series by name (io-wait, custom lag metric...). */
  extra?: Record<string, MetricPoint[]>;
}

/** What a node's role is, as the server says (MySQL) or as the tag hints. */
export type Role = 'master' | 'replica' | 'cassandra' | 'member' | 'unknown';

/** A node as the screens and `ls` see it: instance + probes + verdict. */
export interface NodeView {
  instance: Instance;
  role: Role;
  engine: EngineKind;
  facts?: EngineFacts;
  metrics?: NodeMetrics;
  health: Health;
  /** Replication lag in seconds where it applies; null otherwise. */
  lagSeconds: number | null;
  /** For Cassandra: ISO time of the last repair from the tag, if any. */
  lastRepaired?: string;
  /** For Cassandra: seconds since that repair on the fleet's clock (virtual on the sim); absent when never repaired. */
  repairAgeSeconds?: number;
  /** Epoch ms of the last successful probe of this node's engine facts. */
  updatedAt: number;
  /** True when the last probe failed or has not answered yet; the values shown are the last good ones. */
  stale: boolean;
  /** Why the last probe failed, when stale. */
  probeError?: string;
}

export type FindingKind =
  | 'launch-template-drift'
  | 'no-writable-master'
  | 'two-writable-masters'
  | 'replica-of-outsider'
  | 'replicas-one-az'
  | 'repair-overdue'
  | 'role-drift'
  | 'errant-gtid'
  | 'redundancy-below-target'
  | 'node-down'
  | 'no-node-answered'
  | 'writer-record'
  | 'io-impaired';

export interface Finding {
  kind: FindingKind;
  level: HealthLevel;
  /** Words an engineer reads at 1 AM: "two writable masters: db-a1, db-a2". */
  message: string;
  /** Instance ids concerned. */
  nodes: string[];
  /** The runbook that answers it (`nightshift run NAME --cluster C`), when there is one. */
  suggests?: string;
}

export interface ClusterView {
  name: string;
  /** As on its ClusterRef: identity is account + region + name (clusterKey). */
  region?: string;
  account?: string;
  engine: EngineKind;
  health: { level: HealthLevel; reasons: string[] };
  findings: Finding[];
  nodes: NodeView[];
  /** Worst replication lag among the nodes, null where none applies. */
  worstLagSeconds: number | null;
  asg?: string;
  /** The cluster's writer DNS record, when one is configured (clusters.C.writerDns; the sim's own). */
  writer?: ClusterWriter;
}

/** Where a cluster's writer record is: clusters.C.writerDns in the config, or the simulated fleet's own. */
export interface WriterRecordRef {
  zoneId: string;
  name: string;
  type: 'A' | 'CNAME';
}

/** The writer record as last read, and the node it points at. */
export interface ClusterWriter {
  zoneId: string;
  name: string;
  type: 'A' | 'CNAME';
  /** What the record holds (addresses for A, a host name for CNAME); empty when unknown or absent. */
  values: string[];
  /** The NAME of the node it points at, or null when it points at none (or is unknown: see error). */
  node: string | null;
  /** That node's instance id. */
  nodeId?: string;
  /** The record does not exist in its zone (a finding). */
  missing?: boolean;
  /** Why the values are not known right now: no DNS on this target, or the lookup failed. */
  error?: string;
}

/** What the console is looking at; drawn in the header at all times. */
export type Target =
  | {
      kind: 'sim';
      scenario: string;
      seed: number;
      speed: number;
      /** The simulated regions in view, when the fleet models several (`--regions`, narrowed by `--region`). */
      regions?: string[];
    }
  | {
      kind: 'aws';
      account?: string;
      regions: string[];
      profile?: string;
      /** Several profiles (accounts) in one view: each with its account once known. Absent with one profile. */
      accounts?: { profile: string; account?: string }[];
    }
  | { kind: 'inventory'; file: string };

export function isLive(target: Target): boolean {
  return target.kind !== 'sim';
}
