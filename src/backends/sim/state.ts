// The simulated world's state, as it is persisted: plain JSON, so a second
// process (a headless run while the console is open) reads exactly what the
// first one left. Anything that is a function of (seed, node, virtual time) —
// CPU, noise, the shape of a lag curve — is not stored, only its parameters.

import type { EngineKind, Instance, MysqlFlavour } from '../../domain/types.js';
import type { DnsRecord, Snapshot, Volume } from '../ports.js';

export const STATE_FORMAT = 1;

/**
 * A run of transactions written by one server: seq(t) = startSeq + bonus +
 * floor(rate × (min(t, endT) − startT) / 1000). GTID sets are what each node
 * knows of each segment, so replication is "how far into which segments".
 */
export interface Segment {
  id: string;
  node: string;
  cluster: string;
  /** MySQL: the writer's server_uuid. */
  uuid?: string;
  /** MariaDB: the writer's server_id and the domain it writes in. */
  serverId: number;
  domain: number;
  startSeq: number;
  /** Transactions committed at startT at once (history, a manual write). */
  bonus: number;
  startT: number;
  /** Transactions per second while open. */
  rate: number;
  endT: number | null;
}

export type LagProfile =
  | { kind: 'steady' }
  /** Climbs to `peak` seconds and falls back to zero every `periodMs`. */
  | { kind: 'wave'; peak: number; periodMs: number; phase: number }
  /** Far behind, wandering around `level` seconds. */
  | { kind: 'high'; level: number }
  /** The SQL thread makes no progress since `since` (a stuck EBS volume). */
  | { kind: 'stuck'; since: number; initial: number };

export interface ReplicaConfig {
  sourceHost: string;
  sourcePort: number;
  user: string;
  /** MariaDB MASTER_USE_GTID (no | slave_pos | current_pos); MySQL SOURCE_AUTO_POSITION as 'auto' / 'no'. */
  gtidMode: 'no' | 'slave_pos' | 'current_pos' | 'auto';
  io: boolean;
  sql: boolean;
  ioError?: { code: number; message: string; at: number };
  sqlError?: { code: number; message: string; at: number };
  /** Backlog being applied: delay(t) = seconds − (t − at) × rate, never below the natural lag. */
  catchup?: { at: number; seconds: number; rate: number };
  /** When the IO thread was last (re)started against this source. */
  connectedAt: number;
  /** When the IO thread stopped (STOP, or an error): the relay log ends there. */
  ioStoppedAt?: number;
}

export interface MysqlNode {
  flavour: MysqlFlavour;
  version: string;
  serverId: number;
  serverUuid: string;
  port: number;
  readOnly: boolean;
  superReadOnly: boolean;
  logBin: boolean;
  logReplicaUpdates: boolean;
  /** Transactions per second from clients that still write here even when it is not the writer (split-brain). */
  strayRate: number;
  /** Materialised knowledge: segment id -> highest seq applied, as of baseAt. */
  base: Record<string, number>;
  baseAt: number;
  ownSegments: string[];
  replica?: ReplicaConfig;
  lag: LagProfile;
  /** The lag curve before an io-stuck fault, restored when it heals. */
  lagBefore?: LagProfile;
  /** Client connections KILLed here (they do not come back in the rehearsal). */
  killedConnections?: number[];
  /** When mysqld (or its host) went away; replicas' relay logs end there. */
  downSince?: number;
  binlogBase: number;
  eventBytes: number;
  binlogPrefix: string;
}

export interface CassandraNode {
  ring: string;
  hostId: string;
  tokens: number;
  loadBytes: number;
  /** UJ until then. */
  joiningUntil?: number;
  /** Repair command counter of the running Cassandra process. */
  repairCommands: number;
  /** A replacement (replace_address): the dead member it takes over, listed DN until this one has joined. */
  replaces?: string;
}

export interface RingState {
  datacenter: string;
  keyspaces: string[];
  /** Members by instance id, in ring order; a terminated member stays (DN) until replaced. */
  members: string[];
}

/**
 * A cluster, stored under its key (clusterKey of name and region: the bare
 * name in a one-region world, `eu-west-1/orders-db` in a world of several).
 * Everything that names a cluster in the world (instances, segments, groups,
 * rings, table writes) names it by that key; tags carry the name alone.
 */
export interface ClusterState {
  /** As its instances' cluster tag says it. */
  name: string;
  /** Set only in a world of several regions. */
  region?: string;
  engine: EngineKind;
  flavour?: MysqlFlavour;
  version?: string;
  /** Writer DNS record key (zone|name|type), for MySQL clusters. */
  writerDns?: string;
  /** Application writes per second, sent to whoever the writer record points at. */
  appRate: number;
  asg?: string;
  launchTemplate?: string;
  /** Third octet of the cluster's addresses: 127.<a>.<b>.<host>. */
  net: [number, number];
}

export interface LaunchTemplateState {
  id: string;
  /** Unique within its region only, as EC2 has it. */
  name: string;
  /** Set only in a world of several regions. */
  region?: string;
  version: number;
  /** ISO-8601 */
  updatedAt: string;
}

export interface AsgState {
  name: string;
  cluster: string;
  min: number;
  max: number;
  desired: number;
  members: string[];
  lifecycle: Record<string, string>;
  isProtected: Record<string, boolean>;
  launchTemplate: string;
  azs: string[];
  /** Virtual ms a replacement takes to become InService. */
  warmupMs: number;
  /** Processes suspended (SuspendProcesses). Absent in older worlds, filled in when opened. */
  suspended: string[];
  /** Tags the group propagates to what it launches (cluster, engine, role...). Absent in older worlds, filled in when opened. */
  tags?: Record<string, string>;
  /** The instance AZRebalance launched, which lets it terminate one in the fullest AZ once it is InService. */
  rebalancing?: string;
  /** Members seen going Unhealthy, and since when (ReplaceUnhealthy waits 5 minutes). */
  unhealthySince?: Record<string, number>;
}

export interface RepairRecord {
  id: string;
  node: string;
  command: number;
  startedAt: number;
  finishedAt?: number;
  outcome: 'running' | 'ok' | 'failed' | 'aborted';
  message?: string;
  /** host:pid of the process that ran it: a 'running' record whose process died stays 'running'. */
  by: string;
}

/** One line (or a stderr text, or the end) of a simulated job's output schedule, on absolute virtual time. */
export interface JobEvent {
  at: number;
  stdout?: string;
  stderr?: string;
  /** Checked before the event: ring members down or an injected fault fail a repair here. */
  check?: { command: number; faultable: boolean; keyspace: string };
  /** The job ends here with this status. */
  end?: { code: number | null; signal?: string };
  /** A backup tool's step (sim/backup-tool.ts): bytes written (moved, for a move-back) before the line, the lock phase, the end. */
  tool?: { write?: number; file?: string; phase?: 'safe' | 'lock' | 'done' };
}

/** What a backup tool job works on (sim/backup-tool.ts). */
export interface ToolPlan {
  kind: 'backup' | 'prepare' | 'move-back';
  /** The directory it writes (backup: the target dir; move-back: the datadir), and for a move-back the copy it moves from. */
  dir: string;
  from?: string;
  /** The backup's source server (its own node), whether --safe-slave-backup was given and whether it stopped the SQL thread. */
  safeSlave?: boolean;
  sqlStopped?: boolean;
  /** A move-back on one file system: renames. */
  rename?: boolean;
}

/**
 * A command run on a simulated node detached from the channel (the Jobs
 * port). A repair job's output is a schedule fixed at its start and played
 * out as virtual time passes, so a nightshift that comes back after a crash
 * finds it running, or finished, at the right time.
 */
export interface SimJob {
  /** Instance id. */
  node: string;
  id: string;
  command: string;
  pid: number;
  startedAt: number;
  state: 'running' | 'exited' | 'lost';
  /** What it has written so far (the job's out and err files). */
  stdout: string;
  stderr: string;
  code?: number | null;
  signal?: string;
  why?: string;
  endedAt?: number;
  /** What is still to come; dropped when the job ends. */
  plan?: { events: JobEvent[]; next: number; repair?: { recordId: string; node: string }; tool?: ToolPlan };
  /** host:pid of the nightshift process running a job that is not a schedule (see sim/jobs.ts). */
  ranBy?: string;
}

// ---------------------------------------------------------------- hosts' files (issue 13)

/**
 * What a backup tool left in a directory: the copy of one source's datadir
 * as of the backup's end. The files a parser reads (xtrabackup_checkpoints,
 * ..._binlog_info, ..._slave_info) are rendered from it.
 */
export interface BackupImage {
  flavour: MysqlFlavour;
  /** The source server's version (the tool's own version follows it). */
  version: string;
  /** Instance id and Name of the source. */
  source: string;
  sourceName: string;
  /** Virtual time the copy is consistent at (the backup's end). */
  at: number;
  /** What the source had executed then: segment id -> seq. */
  knowledge: Record<string, number>;
  /** The same in the flavour's notation (MariaDB gtid position, MySQL GTID set). */
  gtid: string;
  binlogFile: string;
  binlogPos: number;
  /** The source's own replication position when it was a replica (slave info). */
  slaveInfo?: { host: string; gtidMode: ReplicaConfig['gtidMode']; gtid: string; file: string; pos: number };
  bytes: number;
  fromLsn: number;
  toLsn: number;
  prepared: boolean;
  /** False while a tool still writes it, or when it died part-way. */
  complete: boolean;
  /** Moved back into a datadir: the tool's own files stayed behind. */
  movedBack?: boolean;
  /** The copy whose data files a move-back took: only the tool's own files are left here. */
  dataMoved?: boolean;
}

/** A directory or file. Directories only list what is stored under them, plus the names a datadir or an image implies. */
export interface FileNode {
  kind: 'dir' | 'file';
  /** Bytes of its own content (a directory: the data files it holds that are not stored one by one). */
  bytes: number;
  owner: string;
  text?: string;
  /** A MySQL datadir its server runs on. */
  live?: boolean;
  image?: BackupImage;
}

/** A file system: a host's root fs, or one made by mkfs on an EBS volume (it travels with the volume and its snapshots). */
export interface SimFs {
  sizeBytes: number;
  label?: string;
  /** Bytes taken by a disk-full fault. */
  reserved?: number;
  /** By path relative to the fs root ('' is the root). */
  files: Record<string, FileNode>;
}

export interface HostMount {
  /** The device as the kernel names it (/dev/nvme1n1). */
  device: string;
  /** File system id: `root:<instance>` or a volume id. */
  fs: string;
  target: string;
}

export interface HostState {
  mounts: HostMount[];
  datadir: string;
  /** The MySQL unit failed to start (systemctl is-active says failed). */
  failed?: { at: number; why: string };
  /** Tools installed (absent: the flavour's backup tools, as the launch template installs them). */
  tools?: string[];
}

/** A process on a host that belongs to no job: the sending end of a stream, run by a nightshift process over its channel. */
export interface SimProcess {
  node: string;
  pid: number;
  command: string;
  /** host:pid of the nightshift process whose channel feeds on it. */
  ranBy: string;
  startedAt: number;
  /** When it last wrote to its stdout: a process whose reader died notices at its next write. */
  lastBeat: number;
  /** Its --safe-slave-backup stopped the server's SQL thread. */
  sqlStopped?: boolean;
}

/** Every job start, kept so tests (and the kill harness) can check that none happened twice. */
export interface JobStartRecord {
  node: string;
  id: string;
  command: string;
  at: number;
  /** host:pid of the process that started it. */
  by: string;
}

export type Fault =
  /** The host hangs: no SSH, no MySQL, no Cassandra; status checks impaired. */
  | { kind: 'kill-node'; node: string }
  /** sshd refuses connections; the services keep running. */
  | { kind: 'ssh-refused'; node: string }
  | { kind: 'stop-mysqld'; node: string }
  /** Cassandra stopped; `drained` when `nodetool drain` did it (peers see DN, JMX still answers a second drain). */
  | { kind: 'stop-cassandra'; node: string; drained?: boolean }
  /** One-shot: the SQL thread stops with an error (1062 duplicate key by default). */
  | { kind: 'stop-sql-thread'; node: string; error?: { code: number; message: string } }
  /** One-shot: the IO thread stops with an error. */
  | { kind: 'stop-io-thread'; node: string; error?: { code: number; message: string } }
  /** One-shot: the replica falls `seconds` behind; with hold it stays there instead of catching up. */
  | { kind: 'lag'; node: string; seconds: number; hold?: boolean }
  /** I/O wait pegged; a replica's SQL thread stalls. */
  | { kind: 'io-stuck'; node: string }
  /** The next `times` repairs on the node (any node if absent) fail. */
  | { kind: 'repair-fails'; node?: string; message?: string; times?: number }
  | { kind: 'az-outage'; az: string }
  /** The file system holding `path` (the datadir's when absent) on the node fills up: the next write past what is free fails (errno 28). */
  | { kind: 'disk-full'; node: string; path?: string }
  /** The next `times` runs of the backup tool on the node (a backup, a stream's source) fail part-way. */
  | { kind: 'backup-fails'; node: string; message?: string; times?: number }
  /** Snapshots of the volume stop at `percent` (default 37) and stay pending until healed. */
  | { kind: 'snapshot-stuck'; volume: string; percent?: number }
  /**
   * The next instance the Auto Scaling group `group` (a group or a cluster
   * name) launches never becomes healthy: its status checks go impaired, or a
   * Cassandra node stays UJ. Once a launch takes it, `node` names that instance.
   */
  | { kind: 'replacement-unhealthy'; group: string; node?: string }
  /**
   * EC2 throttles the fleet's API: the next `calls` discoveries (every one
   * until healed when absent) fail with RequestLimitExceeded, as
   * DescribeInstances does once the SDK's retries are spent. With `region`,
   * only that region's calls are refused (EC2's limits are per region).
   */
  | { kind: 'api-throttled'; calls?: number; region?: string };

export type StoredFault = Fault & { since: number };

export interface Transition {
  at: number;
  kind:
    | 'instance-running'
    | 'status-ok'
    | 'instance-stopped'
    | 'instance-terminated'
    | 'in-service'
    /** ReplaceUnhealthy looks at a group member seen going Unhealthy. */
    | 'asg-health'
    /** A Cassandra replacement has joined: the member it replaced leaves the ring. */
    | 'ring-joined'
    | 'volume-available'
    | 'volume-in-use'
    | 'snapshot-done';
  id: string;
}

/**
 * An instance's security groups, once a fence changed them (absent: the
 * cluster's own group, as generated). The sim has no rules: a group set by
 * Compute.isolate is taken to let nothing in, as the AWS adapter checks.
 * The sim cuts every connection of an isolated host; on EC2 a connection
 * already tracked when the groups change lives on until it closes, so the
 * sim is kinder there: a fence by isolation is for a master already dead.
 */
export interface SimNetwork {
  groups: string[];
  /** The isolation group, while the instance is in it alone: no new connection reaches the host. */
  isolatedIn?: string;
}

export interface WorldState {
  format: number;
  scenario: string;
  seed: number;
  nodes: number | null;
  /** The regions it spreads over, when several (`--regions N`); absent in a one-region world. */
  regions?: string[];
  /** Virtual time at the last save, and the wall-clock time of that save. */
  clock: { virtualMs: number; realMs: number };
  epochMs: number;
  counters: Record<'instance' | 'volume' | 'snapshot' | 'change' | 'repair' | 'segment', number>;
  order: string[];
  instances: Record<string, Instance & { cluster: string; engine: EngineKind; net?: SimNetwork }>;
  mysql: Record<string, MysqlNode>;
  cassandra: Record<string, CassandraNode>;
  clusters: Record<string, ClusterState>;
  rings: Record<string, RingState>;
  segments: Record<string, Segment>;
  dns: Record<string, DnsRecord & { changeId?: string; insyncAt?: number }>;
  volumes: Record<string, Volume & { createdFrom?: string; attachedAt?: number }>;
  snapshots: Record<string, Snapshot & { sizeGiB: number; startedAt: number; doneAt: number }>;
  launchTemplates: Record<string, LaunchTemplateState>;
  asgs: Record<string, AsgState>;
  faults: StoredFault[];
  repairs: RepairRecord[];
  transitions: Transition[];
  /** By `<instance id>|<job id>`. Absent in worlds saved before jobs existed. */
  jobs: Record<string, SimJob>;
  jobStarts: JobStartRecord[];
  /** Tables the runbooks write (the heartbeat), by the transactions that made them. Absent in older worlds. */
  tableWrites?: TableWrite[];
  /** Hosts' mounts and datadirs, file systems, snapshots' file systems, stray processes, idempotency tokens. Absent in older worlds. */
  hosts?: Record<string, HostState>;
  filesystems?: Record<string, SimFs>;
  snapshotFiles?: Record<string, SimFs>;
  procs?: Record<string, SimProcess>;
  tokens?: Record<string, string>;
}

/**
 * A CREATE TABLE or a row written by REPLACE INTO a runbook's table (the
 * heartbeat): it is one transaction, so a node sees it once it has executed
 * that transaction, and it replicates, lags and is lost exactly as the
 * transaction is.
 */
export interface TableWrite {
  cluster: string;
  /** `schema.table`, lower case, without quotes. */
  table: string;
  segment: string;
  seq: number;
  /** Absent: the CREATE TABLE. */
  row?: { serverId: number; ts: string };
}

export function dnsKey(zoneId: string, name: string, type: string): string {
  return `${zoneId}|${normaliseDnsName(name)}|${type}`;
}

export function normaliseDnsName(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1).toLowerCase() : name.toLowerCase();
}
