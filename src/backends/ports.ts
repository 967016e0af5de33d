// The outside world behind small interfaces. The AWS adapters, the simulated
// fleet and the static inventory each implement these, so the poller and the
// runbooks run unchanged against any of them. Nothing here names an SDK type.

import type { ApiThrottle } from '../domain/findings.js';
import type { ScopedName } from '../domain/scope.js';
import type { ClusterRef, Instance, NodeMetrics, ScalingGroup, Target } from '../domain/types.js';

export interface CallOptions {
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- Inventory

export interface Discovery {
  clusters: ClusterRef[];
  instances: Instance[];
  /**
   * The Auto Scaling groups of the clusters, as last read: a few minutes old
   * at most on AWS (read beside discovery, never ahead of it), absent where
   * there are none (a static inventory) or none were read yet.
   */
  groups?: ScalingGroup[];
  /**
   * How each account and region answered, where a target has several (AWS;
   * the simulated fleet with --regions). A scope whose call failed or was
   * throttled keeps its last good instances and clusters in the lists above,
   * and is marked stale here alone: the others stay fresh.
   */
  scopes?: ScopeStatus[];
}

/** One account and region's discovery, as last tried. */
export interface ScopeStatus {
  region: string;
  /** The account id, when known (STS); `profile` names it before then. */
  account?: string;
  profile?: string;
  /** Epoch ms (the fleet's clock) of its last good answer; undefined when it never answered. */
  at?: number;
  /** Why its last try failed; undefined when it answered. */
  error?: string;
  /** Its calls were refused as throttled lately (the fleet finding says more). */
  throttled?: boolean;
}

export interface Inventory {
  /**
   * Every cluster and every member instance, as of now. `withGroups`: a
   * one-shot command (ls) waits for the groups to be read; the console
   * never does, and gets them on a later discovery.
   */
  discover(opts?: CallOptions & { withGroups?: boolean }): Promise<Discovery>;
  /** Creates or overwrites tags on one instance. Mutating. */
  setTags(instanceId: string, tags: Record<string, string>, opts?: CallOptions): Promise<void>;
  /** Removes tags by key from one instance. Mutating. */
  deleteTags(instanceId: string, keys: string[], opts?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------- Metrics

export interface MetricsQuery {
  instanceIds: string[];
  /** How far back the history goes, for sparklines. */
  minutes: number;
}

export interface Metrics {
  /** Metrics per instance id; an instance missing from the answer has no data. */
  fetch(query: MetricsQuery, opts?: CallOptions): Promise<Record<string, NodeMetrics>>;
}

// ---------------------------------------------------------------- Shell

export interface ExecOptions extends CallOptions {
  /** Per-command limit; the command is abandoned (and its channel closed) past it. */
  timeoutMs?: number;
  /** Streamed output, as it arrives. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * The caller's word that the command changes nothing (a probe). Under
   * `--read-only` only such commands run; everything else is refused.
   */
  readOnly?: boolean;
  /**
   * Written to the command's standard input, which is then closed. Secrets
   * (a replication password in CHANGE MASTER) go here, never on the command
   * line, where `ps` on the node, the plan and the journal would show them.
   */
  stdin?: string;
}

/** A non-zero exit code is a result, not an exception. */
export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** One end of a pipe between two nodes. */
export interface PipeEnd {
  node: Instance;
  command: string;
}

export interface PipeOptions extends CallOptions {
  /** Bytes relayed so far, a few times a second at most. */
  onProgress?: (bytes: number) => void;
  /** Each end's stderr, as it arrives (the backup tool's log is there). */
  onStderr?: (end: 'from' | 'to', chunk: string) => void;
  /** No byte relayed for this long: both ends are closed and the pipe fails (a hung source). */
  idleTimeoutMs?: number;
}

export interface PipeResult {
  /** The sending end; its stdout went to the other end, so `stdout` is ''. */
  from: ExecResult;
  /** The receiving end, with its own stdout. */
  to: ExecResult;
  /** Bytes relayed from one end to the other. */
  bytes: number;
}

export interface Shell {
  /** Runs one command on the node. Rejects only when the command could not be run at all. */
  exec(node: Instance, command: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * `from.command`'s stdout relayed byte for byte to `to.command`'s stdin
   * through nightshift's own connections (the nodes need no trust between
   * them), with backpressure; `to`'s stdin is closed when `from` ends. Both
   * ends always run to their end, or are closed together (abort, idle
   * timeout, a dropped connection): a remote process cut off that way sees
   * EOF or EPIPE, but may run on for a while, so a caller that retries first
   * ends what an earlier attempt left. Rejects only when an end could not be
   * run at all, on abort, or on the idle timeout. Mutating. Every real
   * shell has it; a test's fake shell may leave it out.
   */
  pipe?(from: PipeEnd, to: PipeEnd, opts?: PipeOptions): Promise<PipeResult>;
  /** The exact command an engineer types to open a shell on this node. */
  loginCommand(node: Instance): string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- Jobs

/**
 * A long command run on a node detached from any SSH channel, so it outlives
 * a dropped connection, the per-command limit and nightshift itself.
 */
export interface JobSpec {
  /** `<runId>/<stepId>.<attempt>`: names the job's directory on the node; safe characters only (isValidJobId). */
  id: string;
  command: string;
}

/** Output written since the offsets asked for, in whole lines (but the last line of a job that ended). */
export interface JobOutput {
  stdout: string;
  stderr: string;
  /** Byte offsets to ask from next time: nothing is repeated or lost across polls and restarts. */
  offsets: JobOffsets;
}

export interface JobOffsets {
  stdout: number;
  stderr: number;
}

export type JobState =
  | { state: 'running'; pid: number }
  /** `signal` is set when the exit status says a signal ended it (128+N, as sh reports). */
  | { state: 'exited'; code: number | null; signal?: string }
  /** No exit code and no live process (the host rebooted, the job was killed): `why` says which. */
  | { state: 'lost'; why: string }
  /** No job of that id on the node. */
  | { state: 'absent' };

export type JobPoll = JobState & JobOutput;

export interface Jobs {
  /** Starts `command` unless a job with this id exists on the node (then nothing starts: never twice). Mutating. */
  start(node: Instance, spec: JobSpec, opts?: CallOptions): Promise<{ started: boolean }>;
  /** State, and the output written since `from`, bounded per call. Read-only. */
  poll(node: Instance, id: string, from: JobOffsets, opts?: CallOptions): Promise<JobPoll>;
  /** TERM to the job's process group, KILL after a grace; resolves once nothing of it runs. Mutating. */
  cancel(node: Instance, id: string, opts?: CallOptions): Promise<void>;
}

/** `<runId>/<stepId>.<attempt>`: path segments of safe characters, so an id can name a directory and needs no quoting. */
export function isValidJobId(id: string): boolean {
  return (
    id.length <= 200 &&
    id.split('/').every((part) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(part) && !part.includes('..')) &&
    id.split('/').length <= 4
  );
}

// ---------------------------------------------------------------- Dns

export interface DnsRecord {
  zoneId: string;
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  ttl: number;
  values: string[];
}

export interface Dns {
  getRecord(zoneId: string, name: string, type: DnsRecord['type'], opts?: CallOptions): Promise<DnsRecord | undefined>;
  /**
   * Compare-and-swap: DELETE exactly `current` and CREATE `next` in one batch,
   * so it fails if someone changed the record meanwhile; then waits for INSYNC.
   * Mutating.
   */
  swapRecord(
    current: DnsRecord,
    next: DnsRecord,
    opts?: CallOptions & { onProgress?: (status: string) => void },
  ): Promise<{ changeId: string; insyncAfterMs: number }>;
}

// ---------------------------------------------------------------- Volumes

export interface Volume {
  id: string;
  az: string;
  sizeGiB: number;
  state: 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';
  attachedTo?: { instanceId: string; device: string };
  snapshotId?: string;
  tags: Record<string, string>;
}

export interface Snapshot {
  id: string;
  volumeId: string;
  state: 'pending' | 'completed' | 'error';
  progressPercent: number;
  tags: Record<string, string>;
  /** ISO-8601 */
  startTime?: string;
}

/** Tags to find a resource by: every key must have the value given. */
export type TagFilter = Record<string, string>;

export interface Volumes {
  /**
   * Creates a volume and waits until it is available. With `clientToken`, a
   * second call with the same token (a retry after a lost answer, a resume)
   * returns the volume the first made instead of making another. Mutating.
   */
  create(
    spec: { az: string; sizeGiB: number; snapshotId?: string; tags?: Record<string, string>; clientToken?: string },
    opts?: CallOptions,
  ): Promise<Volume>;
  get(volumeId: string, opts?: CallOptions): Promise<Volume | undefined>;
  /** Volumes (not deleted) carrying every tag of `tags`. Read-only. */
  find(tags: TagFilter, opts?: CallOptions): Promise<Volume[]>;
  /** Attaches and waits until the attachment is in use. Mutating. */
  attach(volumeId: string, instanceId: string, device: string, opts?: CallOptions): Promise<void>;
  /** Detaches and waits until the volume is available. Mutating. */
  detach(volumeId: string, opts?: CallOptions): Promise<void>;
  /**
   * Starts a snapshot of the volume, tagged, and returns it pending (follow
   * it with waitSnapshot). Snapshots take no token: find one by tag before
   * starting another. Mutating.
   */
  snapshot(volumeId: string, opts?: CallOptions & { description?: string; tags?: Record<string, string> }): Promise<Snapshot>;
  /** Follows a snapshot until it completes, reporting percent; rejects when it fails. Read-only. */
  waitSnapshot(snapshotId: string, opts?: CallOptions & { onProgress?: (percent: number) => void }): Promise<Snapshot>;
  getSnapshot(snapshotId: string, opts?: CallOptions): Promise<Snapshot | undefined>;
  /** Snapshots (ours, not deleted) carrying every tag of `tags`. Read-only. */
  findSnapshots(tags: TagFilter, opts?: CallOptions): Promise<Snapshot[]>;
  /** Deletes a volume (it must be detached). Already gone: done. Mutating. */
  remove(volumeId: string, opts?: CallOptions): Promise<void>;
  /** Deletes a snapshot. Already gone: done. Mutating. */
  removeSnapshot(snapshotId: string, opts?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------- Scaling

export type { GroupMember, ScalingGroup } from '../domain/types.js';

/**
 * The group's processes that fight a rotation: AZRebalance terminates a
 * second instance to even out AZs, ReplaceUnhealthy one that looks bad while
 * it drains or joins, and the scaling policies and schedules change the
 * desired capacity under it. Launch and Terminate stay: the replacement needs them.
 */
export const ROTATION_SUSPENDS = ['AZRebalance', 'ReplaceUnhealthy', 'AlarmNotification', 'ScheduledActions'] as const;

export interface Scaling {
  /** The group as it is now: sizes, members with their launch template versions, suspended processes. Read-only. */
  getGroup(name: string, opts?: CallOptions): Promise<ScalingGroup | undefined>;
  /** Terminates without lowering desired capacity, so a replacement launches. Mutating. */
  terminateInGroup(instanceId: string, opts?: CallOptions): Promise<void>;
  /** Waits for an InService member that is not in `known`; returns its id. */
  waitForReplacement(
    group: string,
    known: string[],
    opts?: CallOptions & { timeoutMs?: number; onProgress?: (status: string) => void },
  ): Promise<string>;
  /** Suspends the named processes (ROTATION_SUSPENDS); one already suspended stays so. Mutating. */
  suspendProcesses(group: string, processes: readonly string[], opts?: CallOptions): Promise<void>;
  /** Resumes the named processes; one not suspended stays so. Mutating. */
  resumeProcesses(group: string, processes: readonly string[], opts?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------- Compute

/**
 * Whether an instance is fenced: it can no longer be reached, or it is down
 * for good, so it can never serve writes beside a new master.
 * - `fenced`: stopped, terminated (or gone), or every network interface in
 *   the isolation group alone;
 * - `fencing`: on its way there (stopping, shutting-down): it may still
 *   answer for a while, so it is not fenced yet;
 * - `open`: running (or pending) and reachable as before.
 */
export interface FenceState {
  state: 'fenced' | 'fencing' | 'open';
  /** The instance's state as the cloud reports it; `gone` when it no longer exists. */
  instanceState: string;
  /** Set when fenced or open by its network: the groups of each interface, as they are now. */
  groups?: InterfaceGroups[];
  /** One line for the plan and the journal: "stopped", "isolated in sg-1 (eni-1)", "running in sg-db". */
  detail: string;
}

export interface InterfaceGroups {
  /** The network interface (eni-…); the simulated fleet names one per instance. */
  interfaceId: string;
  /** Security group ids, in the order the cloud reports them. */
  groups: string[];
}

export interface IsolateResult {
  /** False when every interface was in the isolation group alone already (a rerun). */
  changed: boolean;
  /** The groups each interface had before, so an operator can put them back by hand. */
  before: InterfaceGroups[];
}

export interface Compute {
  /**
   * Launches one instance from a launch template in an AZ (in `subnetId` when
   * given), tagged; returns at once, pending. The tags decide membership: an
   * instance without the cluster tag is no member of any cluster. With
   * `clientToken`, a second call with the same token returns the instance the
   * first launched. Mutating.
   */
  launch(
    spec: { launchTemplate: string; az: string; tags: Record<string, string>; subnetId?: string; clientToken?: string },
    opts?: CallOptions,
  ): Promise<Instance>;
  /** Instances (not terminated) carrying every tag of `tags`, member of a cluster or not. Read-only. */
  find(tags: TagFilter, opts?: CallOptions): Promise<Instance[]>;
  /** Waits until the instance runs and passes its status checks, reporting what it waits for. Read-only. */
  waitReady(instanceId: string, opts?: CallOptions & { onProgress?: (status: string) => void }): Promise<Instance>;
  /** Terminates (a launched instance a run gives up on). Already gone: done. Mutating. */
  terminate(instanceId: string, opts?: CallOptions): Promise<void>;
  /**
   * Stops (fences) an instance and waits until it is stopped. Already stopped
   * or terminated: done, nothing sent. `force` skips the OS's clean shutdown
   * (a hung host never finishes one). Mutating.
   */
  stop(instanceId: string, opts?: CallOptions & { force?: boolean }): Promise<void>;
  /**
   * Fences by network: every interface of the instance gets `securityGroupId`
   * as its only group, then reads it back. Already so: done, nothing changed.
   * The instance keeps running. Connections already established when the
   * groups change may survive (EC2 security groups track connections); new
   * ones fail. Mutating.
   */
  isolate(instanceId: string, securityGroupId: string, opts?: CallOptions): Promise<IsolateResult>;
  /** How fenced the instance is; `securityGroupId` is the isolation group, when the fence is by network. Read-only. */
  fenceState(instanceId: string, opts?: CallOptions & { securityGroupId?: string }): Promise<FenceState>;
}

/** True when the fence holds (a runbook step's isDone): `fencing` is not enough. */
export async function isFenced(compute: Compute, instanceId: string, opts?: CallOptions & { securityGroupId?: string }): Promise<boolean> {
  return (await compute.fenceState(instanceId, opts)).state === 'fenced';
}

// ---------------------------------------------------------------- Lock

export interface LockOwner {
  runId: string;
  /** user@host of whoever runs it. */
  owner: string;
  /** ISO-8601 */
  startedAt: string;
}

export type LockResult = { acquired: true } | { acquired: false; heldBy: LockOwner };

/**
 * One lock per cluster, and a cluster is account + region + name: `orders` in
 * two regions has two locks (domain/scope.ts: lockKey names its file).
 */
export interface Lock {
  /** One mutating run per cluster at a time. Mutating. */
  acquire(cluster: ScopedName, owner: LockOwner, opts?: CallOptions): Promise<LockResult>;
  /** Releases only if `runId` holds it. Mutating. */
  release(cluster: ScopedName, runId: string, opts?: CallOptions): Promise<void>;
  /** Who holds it, if anyone. */
  holder(cluster: ScopedName, opts?: CallOptions): Promise<LockOwner | undefined>;
  /** Breaks a (stale) lock held by `runId`; the caller has taken a typed confirmation. Mutating. */
  breakLock(cluster: ScopedName, runId: string, opts?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------- Clock

/** Real time on a live fleet; virtual (and maybe faster) on the simulated one. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many virtual ms pass per real ms (1 on a live fleet). */
  readonly speed: number;
  /** Moves a clock that lives in a process (the simulated fleet's) up to a time already seen elsewhere; never back. */
  catchUp?(virtualNow: number): void;
}

// ---------------------------------------------------------------- API health

/** Calls a cloud API refused as throttled lately, per region and call (the shape is the domain's: findings read it). */
export type { ApiThrottle } from '../domain/findings.js';

// ---------------------------------------------------------------- the set

/**
 * Everything one target offers. A port that is absent is unavailable on this
 * target (EBS on a static inventory): runbook plans show it with `unavailable`.
 */
export interface Backends {
  target: Target;
  clock: Clock;
  inventory: Inventory;
  metrics: Metrics;
  shell: Shell;
  /** Long commands detached from the channel; every target with a shell has them. */
  jobs: Jobs;
  lock: Lock;
  dns?: Dns;
  volumes?: Volumes;
  scaling?: Scaling;
  compute?: Compute;
  /**
   * Settles when the target has learnt what it could not know at once (the
   * AWS account id, from STS); the header is redrawn then.
   */
  targetSettled?: () => Promise<unknown>;
  /**
   * Throttled API calls of the last few minutes, per region and call (the
   * poller turns them into fleet findings after each discovery). Absent on a
   * target with no API to throttle (a static inventory).
   */
  apiThrottles?(): ApiThrottle[];
  /** Why each absent port is absent, for the plan. */
  unavailable?: Partial<Record<'dns' | 'volumes' | 'scaling' | 'compute', string>>;
  close(): Promise<void>;
}

/** Mutating methods per port; `--read-only` refuses these at the backend layer. */
export const MUTATING_METHODS = {
  inventory: ['setTags', 'deleteTags'],
  dns: ['swapRecord'],
  volumes: ['create', 'attach', 'detach', 'snapshot', 'remove', 'removeSnapshot'],
  scaling: ['terminateInGroup', 'suspendProcesses', 'resumeProcesses'],
  compute: ['launch', 'stop', 'isolate', 'terminate'],
  lock: ['acquire', 'release', 'breakLock'],
  jobs: ['start', 'cancel'],
} as const;
