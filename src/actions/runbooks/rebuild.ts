// rebuild (MySQL / MariaDB): a new replica from a hot backup of a healthy
// one, so a cluster that lost a node (a failover) gets its redundancy back.
// Two ways to move the copy:
// - ebs: a volume on the source, backup and prepare onto it, snapshot, a
//   volume from the snapshot in the new node's AZ, move-back from there;
// - stream: the backup streamed source → target through nightshift's own SSH
//   connections (xbstream), prepared on the target, moved back.
// Then the server starts on the copy and replicates from the current master
// from the position the backup recorded, catches up, and only then joins the
// cluster (tags). Long steps are jobs on the node; everything temporary
// (volumes, a launched instance, a stopped SQL thread) is undone on abort.
// RUNBOOKS.md.

import * as z from 'zod';
import { CLUSTER_PARAMS } from '../engine/cluster-params.js';
import { runCluster } from '../engine/cluster-params.js';
import { clusterSettings } from '../../config/cluster-settings.js';
import { runLabel, runMembers, settingsKey } from './cluster-of.js';
import {
  BACKUP_DEVICE,
  BACKUP_MOUNT,
  backupFailure,
  backupPosition,
  backupTools,
  commands as cmd,
  COMPLETED_OK,
  deviceOf,
  isPrepared,
  metadataFile,
  parseCheckpoints,
  parseDf,
  parseDu,
  parseFindmnt,
  parseLs,
  RESTORE_DEVICE,
  RESTORE_MOUNT,
  type BackupPosition,
  type BackupTools,
  type DirListing,
} from '../../backends/engines/backup-ops.js';
import { clientsOf } from '../../backends/engines/clients.js';
// Trusted on a static inventory only (the engineer's own file): where the host's datadir is.
import { DATADIR_TAG } from '../../backends/inventory/static-inventory.js';
import { mysqlCommand } from '../../backends/engines/mysql.js';
import { describeOp, describeRepoint, repoint, setReadOnly, startReplica } from '../../backends/engines/mysql-ops.js';
import type { ExecResult } from '../../backends/ports.js';
import { errantAgainst } from '../../domain/candidate.js';
import { lagOf } from '../../domain/health.js';
import { cleanForTerminal } from '../../domain/terminal-text.js';
import { REBUILD_TAG, SPARE_TAG, type Instance, type MysqlFlavour, type NodeView } from '../../domain/types.js';
import { jobOutcome, runRemoteJob } from '../engine/remote-job.js';
import { formatDuration, StepFailed } from '../engine/timing.js';
import { defineRunbook, type Check, type RunContext, type Step, type StepContext } from '../engine/types.js';
import { fallingProgress, waitFor, waitForSsh } from '../engine/wait.js';
import {
  clusterView,
  credentials,
  credentialsCheck,
  discover,
  isWritableMaster,
  mysqlClusterCheck,
  mysqlOf,
  need,
  probe,
  replicatesFrom,
  ROLE_TAG,
  specTo,
  target as mysqlTargetOf,
  type MasterChangeState,
  type Member,
} from './master-change.js';
import { lagOrUnknown } from '../../domain/lag-text.js';

/** The tag discovery groups clusters by (`discovery.clusterTag`): a node tagged otherwise would never be found again. */
export const clusterTag = (ctx: { config: { discovery: { clusterTag: string } } }): string => ctx.config.discovery.clusterTag;
/** Marks the temporary volumes and the snapshot of a rebuild: `<part>`. */
const PART_TAG = 'nightshift:rebuild-part';
const CLUSTER_OF_SNAPSHOT_TAG = 'nightshift:rebuild-cluster';
/**
 * The region of the cluster a rebuild snapshot was taken of, where the run has
 * one: the newest-N pruning keeps to its own region's snapshots, so a second
 * region's `orders` never loses its backups to this one's.
 */
const REGION_OF_SNAPSHOT_TAG = 'nightshift:rebuild-region';

/** The tags that say whose rebuild snapshot it is: the cluster, and its region where the run names one. */
function snapshotOwner(ctx: Ctx): Record<string, string> {
  return { [CLUSTER_OF_SNAPSHOT_TAG]: ctx.run.cluster, ...(ctx.run.region !== undefined ? { [REGION_OF_SNAPSHOT_TAG]: ctx.run.region } : {}) };
}
const LAUNCH_TEMPLATE_TAG = 'aws:ec2launchtemplate:id';
const DEFAULT_DATADIR = '/var/lib/mysql/';

/** How a copy moves and how long it may take: rebuild's own, and rotate's for a MySQL replacement. */
export const COPY_PARAMS = {
  /** How the copy moves: ebs (default where the target has EBS) or stream. */
  via: z.enum(['ebs', 'stream']).optional(),
  /** How long the new replica may take to catch up with the master. */
  catchUpMinutes: z.number().positive().default(360),
  /** How long a backup, a prepare, a move-back or a snapshot may take. */
  copyHours: z.number().positive().default(24),
};

export const rebuildParams = z
  .object({
    ...CLUSTER_PARAMS,
    /** The replica the backup is taken from (name or id); default: the healthiest, least lagging replica. */
    source: z.string().min(1).optional(),
    /** An existing spare host to rebuild (name or id); default: launch a new instance. */
    target: z.string().min(1).optional(),
    ...COPY_PARAMS,
    /** The most a replica may lag to be a source. */
    sourceLagLimitSeconds: z.number().positive().default(60),
  })
  .strict();

export type RebuildParams = z.output<typeof rebuildParams>;

export interface RebuildState extends MasterChangeState {
  via?: 'ebs' | 'stream';
  flavour?: MysqlFlavour;
  version?: string;
  source?: Member;
  sourceDatadir?: string;
  datadirBytes?: number;
  /** Set when nightshift launches the target; the instance once launched. */
  launch?: { launchTemplate: string; az: string; name: string; token: string };
  target?: Instance;
  /** Whether the target's server was running before the run (stopping it is undone by starting it). */
  targetWasActive?: boolean;
  targetDatadir?: string;
  /** The target's datadir had files: they are moved aside (confirmed by the target's name). */
  targetHasData?: boolean;
  /** The target is a fresh instance (an Auto Scaling group's replacement): its datadir is the empty server its image made. */
  fresh?: boolean;
  /** Path-safe run token: names the scratch directories and the processes of this run. */
  tok: string;
  backupVolume?: string;
  snapshot?: string;
  restoreVolume?: string;
  position?: BackupPosition;
}

type Ctx = RunContext<RebuildParams, RebuildState>;
type SCtx = StepContext<RebuildParams, RebuildState>;
export type RebuildStep = Step<RebuildParams, RebuildState>;

const asMc = (ctx: Ctx) => ctx as unknown as RunContext<unknown, MasterChangeState>;

// ---------------------------------------------------------------- small helpers

const P = (ctx: Ctx) => ctx.config.engines.privileged;
const tools = (ctx: Ctx): BackupTools => backupTools(need(ctx.state.flavour, 'the flavour'));
const sourceOf = (ctx: Ctx) => need(ctx.state.source, 'the source').instance;
const targetOf = (ctx: Ctx) => need(ctx.state.target, 'the target');
const targetDatadir = (ctx: Ctx) => stripSlash(need(ctx.state.targetDatadir, "the target's datadir"));
const stripSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
/** Where the copy lands on the target: beside the datadir (stream) or on the restore volume (ebs). */
const copyDir = (ctx: Ctx) => (ctx.state.via === 'ebs' ? `${RESTORE_MOUNT}/${ctx.state.tok}` : `${targetDatadir(ctx)}.nightshift-${ctx.state.tok}`);
const backupDir = (ctx: Ctx) => `${BACKUP_MOUNT}/${ctx.state.tok}`;
const asideDir = (ctx: Ctx) => `${targetDatadir(ctx)}.nightshift-old-${ctx.state.tok}`;
const failedDir = (ctx: Ctx) => `${targetDatadir(ctx)}.nightshift-failed-${ctx.state.tok}`;
const service = (ctx: Ctx) => ctx.config.engines.mysqlService ?? (ctx.state.flavour === 'mysql' ? 'mysql' : 'mariadb');
const GiB = 1024 ** 3;
const volumeGiB = (bytes: number) => Math.max(1, Math.ceil((bytes * 1.2) / GiB));
const oneLine = (s: string) => cleanForTerminal(s.replace(/\s+/g, ' ').trim()).slice(0, 240);

/** Runs one command; a non-zero exit is a StepFailed naming the node, what it did and why. */
async function run(ctx: Ctx, node: Instance, command: string, what: string, signal: AbortSignal, opts: { timeoutMs?: number; readOnly?: boolean; okCodes?: number[] } = {}): Promise<ExecResult> {
  const res = await ctx.backends.shell.exec(node, command, { signal, timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.readOnly ? { readOnly: true } : {}) });
  if (res.code === 0 || opts.okCodes?.includes(res.code ?? -1)) return res;
  throw new StepFailed(`${node.name}: ${what} failed (exit ${res.code ?? res.signal}): ${oneLine(res.stderr || res.stdout) || '(no output)'} — the command was: ${command}`);
}

async function listDir(ctx: Ctx, node: Instance, dir: string, signal: AbortSignal): Promise<DirListing> {
  const res = await ctx.backends.shell.exec(node, cmd.ls(P(ctx), dir), { signal, timeoutMs: 30_000, readOnly: true });
  try {
    return parseLs(res, dir);
  } catch (err) {
    throw new StepFailed(`${node.name}: ${(err as Error).message}`);
  }
}

async function freeBytes(ctx: Ctx, node: Instance, dir: string, signal: AbortSignal): Promise<number> {
  const res = await run(ctx, node, cmd.df(dir), `df ${dir}`, signal, { readOnly: true, timeoutMs: 30_000 });
  return parseDf(res.stdout, `${node.name}:${dir}`).available;
}

/** Installed, as the shell finds it: mbstream knows no --version and says so, which is still an answer. */
async function hasTool(ctx: Ctx, node: Instance, tool: string, signal: AbortSignal): Promise<boolean> {
  const res = await ctx.backends.shell.exec(node, cmd.version(tool), { signal, timeoutMs: 30_000, readOnly: true });
  return res.code !== 127 && !/(^|: )(command )?not found/m.test(res.stderr);
}

async function datadirOf(ctx: Ctx, node: Instance, signal: AbortSignal): Promise<string> {
  const res = await run(ctx, node, mysqlCommand(clientsOf(ctx, node).mysqlClient, 'SELECT @@datadir AS datadir'), 'read @@datadir', signal, { readOnly: true, timeoutMs: 30_000 });
  const dir = res.stdout.split('\n')[1]?.trim() ?? '';
  if (!dir.startsWith('/')) throw new StepFailed(`${node.name}: @@datadir is "${oneLine(dir)}", not an absolute path`);
  return dir;
}

/** The source's datadir and its size (du), kept for the plan's space checks and the volume's size. */
async function measureDatadir(ctx: Ctx, src: Instance, signal: AbortSignal): Promise<{ dir: string; bytes: number }> {
  const dir = await datadirOf(ctx, src, signal);
  const bytes = parseDu((await run(ctx, src, cmd.du(P(ctx), dir), `du ${dir}`, signal, { readOnly: true, timeoutMs: 120_000 })).stdout, `${src.name}:${dir}`);
  const out = { dir, bytes };
  ctx.scratch.set('datadir', out);
  return out;
}

function mb(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** The source replica's SQL thread, stopped by --safe-slave-backup, running again (a backup that died leaves it stopped). */
async function restoreSourceSql(ctx: Ctx, signal: AbortSignal): Promise<string | undefined> {
  const src = need(ctx.state.source, 'the source');
  const f = await probe(asMc(ctx), src.instance, signal);
  if (!f.replica || f.replica.sqlThread === 'Yes') return undefined;
  await startReplica(ctx.backends.shell, mysqlTargetOf(asMc(ctx), src), { signal });
  return `${src.instance.name}: its SQL thread was stopped (the backup's --safe-slave-backup); started it again`;
}

const sourceSqlCompensation = {
  describe: (ctx: Ctx) => [`${sourceOf(ctx).name}: START ${ctx.state.flavour === 'mysql' ? 'REPLICA' : 'SLAVE'} if the backup left its SQL thread stopped`],
  async run(ctx: Ctx, signal: AbortSignal) {
    await restoreSourceSql(ctx, signal);
  },
  async isDone(ctx: Ctx, signal: AbortSignal) {
    const f = await probe(asMc(ctx), sourceOf(ctx), signal);
    return !f.replica || f.replica.sqlThread === 'Yes';
  },
};

/** The backup's metadata, read from the directory holding the copy. */
async function readMetadata(ctx: Ctx, node: Instance, dir: string, signal: AbortSignal) {
  const listing = await listDir(ctx, node, dir, signal);
  if (listing.absent) throw new StepFailed(`${node.name}: ${dir} is not there: the copy is gone`);
  const read = async (kind: 'checkpoints' | 'binlogInfo' | 'slaveInfo') => {
    const name = metadataFile(listing.entries, kind);
    return name ? (await run(ctx, node, cmd.cat(P(ctx), `${dir}/${name}`), `read ${name}`, signal, { readOnly: true, timeoutMs: 30_000 })).stdout : undefined;
  };
  const checkpoints = await read('checkpoints');
  return { checkpoints: checkpoints === undefined ? undefined : parseCheckpoints(checkpoints, `${node.name}:${dir}`), binlogInfo: await read('binlogInfo'), slaveInfo: await read('slaveInfo') };
}

async function preparedAt(ctx: Ctx, node: Instance, dir: string, signal: AbortSignal): Promise<boolean> {
  try {
    const meta = await readMetadata(ctx, node, dir, signal);
    return meta.checkpoints !== undefined && isPrepared(meta.checkpoints);
  } catch {
    return false;
  }
}

/** A job step: the tool's command as a job on the node, followed to its end; fails with the tool's own last words. */
async function toolJob(ctx: SCtx, node: Instance, command: string, label: string, signal: AbortSignal, onLine?: (line: string) => void): Promise<void> {
  // Copies run for minutes to hours: a poll every half minute follows them closely enough.
  const job = await runRemoteJob(ctx, node, command, signal, { label, pollMs: 30_000, ...(onLine ? { onLine: (_s, line) => onLine(line) } : {}) });
  ctx.fact({ exitCode: job.code, signal: job.signal });
  const all = `${job.stderrTail}\n${job.stdoutTail}`;
  if (job.code !== 0) throw new StepFailed(`${node.name}: ${label} exited ${job.code ?? job.signal}: ${oneLine(backupFailure(all))}`);
  if (!COMPLETED_OK.test(all)) throw new StepFailed(`${node.name}: ${label} exited 0 without its "completed OK!" line; look at its output above`);
}

/** Bytes under `dir` as the copy grows, against the datadir's size: progress and an ETA while a job writes there. */
function watchBytes(ctx: SCtx, node: Instance, dir: string, label: string, signal: AbortSignal): () => void {
  const total = ctx.state.datadirBytes ?? 0;
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  void (async () => {
    while (!both.aborted) {
      try {
        await ctx.backends.clock.sleep(30_000, both);
        const res = await ctx.backends.shell.exec(node, cmd.du(P(ctx), dir), { signal: both, timeoutMs: 30_000, readOnly: true });
        if (res.code === 0) {
          const done = parseDu(res.stdout, dir);
          ctx.progress({ done, total, unit: 'bytes', ...(total > 0 ? { percent: Math.min(99, (100 * done) / total) } : {}), message: `${label}: ${mb(done)} of ${mb(total)}` });
        }
      } catch {
        // A missed reading: the next one says.
      }
    }
  })();
  return () => stop.abort();
}

// ---------------------------------------------------------------- choosing

/** The replica the backup comes from: the operator's, else a healthy one lagging least, never the master. */
function chooseSource(ctx: Ctx, nodes: NodeView[], master: NodeView | undefined): { node?: NodeView; reason?: string } {
  if (ctx.params.source !== undefined) {
    const pick = ctx.params.source;
    const node = nodes.find((n) => n.instance.name === pick || n.instance.id === pick);
    if (!node) return { reason: `--source ${pick} is not a member of ${runLabel(ctx.run)} (${nodes.map((n) => n.instance.name).join(', ')})` };
    return { node };
  }
  const healthy = nodes
    .filter((n) => n !== master && mysqlOf(n)?.replica?.ioThread === 'Yes' && mysqlOf(n)?.replica?.sqlThread === 'Yes')
    .sort((a, b) => (lagOf(a.facts) ?? Infinity) - (lagOf(b.facts) ?? Infinity) || a.instance.name.localeCompare(b.instance.name));
  return healthy[0] ? { node: healthy[0] } : { reason: `no replica of ${runLabel(ctx.run)} replicates with both threads running: no healthy source for a backup` };
}

/**
 * The AZ that restores the spread: of the AZs the fleet uses (a cluster that
 * lost its only node in an AZ no longer shows that AZ itself), the one with
 * the fewest running members of the cluster.
 */
function spreadAz(members: Instance[], all: Instance[]): string | undefined {
  const azs = new Set(all.map((i) => i.az).filter((az) => az && az !== 'unknown'));
  const count = new Map([...azs].map((az) => [az, 0]));
  for (const m of members) if (m.state === 'running' && count.has(m.az)) count.set(m.az, count.get(m.az)! + 1);
  return [...count].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]?.[0];
}

function launchTemplateOf(ctx: Ctx, members: Instance[]): string | undefined {
  return clusterSettings(ctx.config, runCluster(ctx.run))?.launchTemplate ?? members.map((m) => m.tags[LAUNCH_TEMPLATE_TAG]).find((t) => t !== undefined);
}

// ---------------------------------------------------------------- steps: the target

const launchStep: RebuildStep = {
  id: 'launch',
  title: 'launch the new instance',
  danger: 'caution',
  mutates: true,
  needs: ['compute'],
  timeoutMs: 20 * 60_000,
  describe: (ctx) => {
    const l = need(ctx.state.launch, 'the launch');
    return [
      `Compute.launch(template ${l.launchTemplate}, ${l.az}, tags { Name: ${l.name}, ${clusterTag(ctx)}: ${ctx.run.cluster}, ${SPARE_TAG}: true, ${REBUILD_TAG}: ${ctx.run.id} }, token ${l.token})`,
      'wait until it runs, passes its status checks and answers over SSH; it is no member of the cluster until the last step',
    ];
  },
  async run(ctx, signal) {
    const l = need(ctx.state.launch, 'the launch');
    const compute = need(ctx.backends.compute, 'the compute API');
    const found = await compute.find({ [REBUILD_TAG]: ctx.run.id }, { signal });
    const inst =
      found[0] ??
      (await compute.launch(
        { launchTemplate: l.launchTemplate, az: l.az, clientToken: l.token, tags: { Name: l.name, [clusterTag(ctx)]: ctx.run.cluster, [SPARE_TAG]: 'true', [REBUILD_TAG]: ctx.run.id } },
        { signal },
      ));
    ctx.state.target = inst;
    ctx.fact({ instance: inst.id });
    ctx.output('stdout', `${inst.name} (${inst.id}) ${found[0] ? 'found again' : 'launched'} in ${inst.az}\n`);
    ctx.state.target = await compute.waitReady(inst.id, { signal, onProgress: (status) => ctx.progress({ message: `${inst.name}: ${status}` }) });
    await waitForSsh(ctx.backends, targetOf(ctx), signal);
    ctx.output('stdout', `${inst.name}: running, status checks ok, SSH answers\n`);
  },
  async isDone(ctx, signal) {
    const found = await need(ctx.backends.compute, 'the compute API').find({ [REBUILD_TAG]: ctx.run.id }, { signal });
    if (!found[0] || found[0].state !== 'running') return false;
    ctx.state.target = found[0];
    try {
      return (await ctx.backends.shell.exec(found[0], 'true', { signal, timeoutMs: 20_000, readOnly: true })).code === 0;
    } catch {
      return false;
    }
  },
  compensate: {
    describe: (ctx) => [`Compute.terminate(the instance tagged ${REBUILD_TAG}=${ctx.run.id}): it never joined the cluster`],
    async run(ctx, signal) {
      const compute = need(ctx.backends.compute, 'the compute API');
      for (const inst of await compute.find({ [REBUILD_TAG]: ctx.run.id }, { signal })) await compute.terminate(inst.id, { signal });
    },
    async isDone(ctx, signal) {
      return (await need(ctx.backends.compute, 'the compute API').find({ [REBUILD_TAG]: ctx.run.id }, { signal })).length === 0;
    },
  },
};

/** What the target must have before the copy starts (a launched instance is only known now). */
export const targetCheckStep: RebuildStep = {
  id: 'target-check',
  title: 'the target has the tools and the space',
  danger: 'read',
  mutates: false,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [
    `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.version(backupTools(ctx.state.flavour ?? 'mariadb').backup)}; ${cmd.version(backupTools(ctx.state.flavour ?? 'mariadb').stream)}`,
    `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.ls(P(ctx), ctx.state.targetDatadir ?? DEFAULT_DATADIR)}; df of its parent: room for ${mb((ctx.state.datadirBytes ?? 0) * 1.1)}`,
  ],
  async run(ctx, signal) {
    const problem = await targetProblem(ctx, signal);
    if (problem) throw new StepFailed(problem);
    ctx.output('stdout', `${targetOf(ctx).name}: tools present, room for the copy, datadir ${ctx.state.targetHasData ? `holds files (moved aside later${ctx.state.launch ? ': the empty server the image made' : ', confirmed by its name'})` : 'empty'}\n`);
  },
};

/** Why the target cannot take the copy, or undefined. Also learns whether its datadir holds files. */
async function targetProblem(ctx: Ctx, signal: AbortSignal): Promise<string | undefined> {
  const t = targetOf(ctx);
  const missing: string[] = [];
  for (const tool of [tools(ctx).backup, tools(ctx).stream]) if (!(await hasTool(ctx, t, tool, signal))) missing.push(tool);
  if (missing.length > 0) return `${t.name}: ${missing.join(' and ')} not installed (\`${cmd.version(missing[0]!)}\` says not found): install the ${ctx.state.flavour === 'mysql' ? 'percona-xtrabackup' : 'mariadb-backup'} package there`;
  const dd = targetDatadir(ctx);
  const listing = await listDir(ctx, t, dd, signal);
  // A datadir that holds only what a fresh install writes is still worth keeping aside: the operator confirms by name.
  ctx.state.targetHasData = !listing.absent && listing.entries.length > 0;
  const parent = dd.replace(/\/[^/]+$/, '') || '/';
  const need = (ctx.state.datadirBytes ?? 0) * 1.1;
  const free = await freeBytes(ctx, t, listing.absent ? parent : dd, signal);
  if (free < need) return `${t.name}: ${mb(free)} free where the datadir goes (${dd}), the copy needs ${mb(need)} (the source's datadir and a tenth more): make room or pick another target`;
  return undefined;
}

const stopTargetStep: RebuildStep = {
  id: 'stop-target',
  title: 'stop the server on the target',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${clientsOf(ctx, ctx.state.target ?? sourceOf(ctx)).service.stop(service(ctx))}`],
  async run(ctx, signal) {
    const t = targetOf(ctx);
    const svc = clientsOf(ctx, t).service;
    const active = (await ctx.backends.shell.exec(t, svc.isActive(service(ctx)), { signal, timeoutMs: 30_000, readOnly: true })).code === 0;
    if (ctx.state.targetWasActive === undefined) ctx.state.targetWasActive = active;
    ctx.fact({ wasActive: ctx.state.targetWasActive });
    if (active) await run(ctx, t, svc.stop(service(ctx)), `stop ${service(ctx)}`, signal, { timeoutMs: 300_000 });
    ctx.output('stdout', `${t.name}: ${service(ctx)} ${active ? 'stopped' : 'was not running'}\n`);
  },
  async isDone(ctx, signal) {
    if (ctx.state.targetWasActive === undefined && ctx.previous.facts.wasActive !== undefined) ctx.state.targetWasActive = ctx.previous.facts.wasActive === true;
    if (ctx.state.targetWasActive === undefined) return false;
    const t = targetOf(ctx);
    return (await ctx.backends.shell.exec(t, clientsOf(ctx, t).service.isActive(service(ctx)), { signal, timeoutMs: 30_000, readOnly: true })).code !== 0;
  },
  compensate: {
    describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: start ${service(ctx)} again if it ran before the rebuild`],
    async run(ctx, signal) {
      if (!ctx.state.targetWasActive) return;
      const t = targetOf(ctx);
      await run(ctx, t, clientsOf(ctx, t).service.start(service(ctx)), `start ${service(ctx)}`, signal, { timeoutMs: 300_000 });
    },
  },
};

/** Whatever the run put in the datadir goes; what was there before comes back. */
async function putDatadirBack(ctx: Ctx, signal: AbortSignal): Promise<void> {
  const t = targetOf(ctx);
  const dd = targetDatadir(ctx);
  const aside = await listDir(ctx, t, asideDir(ctx), signal);
  const now = await listDir(ctx, t, dd, signal);
  if (!now.absent && (now.entries.length > 0 || !aside.absent)) {
    await run(ctx, t, cmd.mv(P(ctx), dd, failedDir(ctx)), 'move the partial datadir away', signal);
    await run(ctx, t, cmd.rmrf(P(ctx), failedDir(ctx), ctx.state.tok), 'delete the partial datadir', signal, { timeoutMs: 600_000 });
  }
  if (!aside.absent) await run(ctx, t, cmd.mv(P(ctx), asideDir(ctx), dd), 'move the old datadir back', signal);
  else await run(ctx, t, cmd.mkdir(P(ctx), dd), 'recreate the empty datadir', signal);
}

/** Destructive on a spare that holds data (its name typed); a caution on an instance launched for the run. */
const datadirStep = (danger: 'caution' | 'destructive'): RebuildStep => ({
  id: 'datadir',
  title: "move the target's old datadir aside",
  danger,
  mutates: true,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${cmd.mv(P(ctx), targetDatadir(ctx), asideDir(ctx))} (kept there; nothing is deleted)`, cmd.mkdir(P(ctx), targetDatadir(ctx))],
  async run(ctx, signal) {
    const t = targetOf(ctx);
    await run(ctx, t, cmd.mv(P(ctx), targetDatadir(ctx), asideDir(ctx)), 'move the old datadir aside', signal);
    await run(ctx, t, cmd.mkdir(P(ctx), targetDatadir(ctx)), 'make an empty datadir', signal);
    ctx.output('stdout', `${t.name}: the old datadir is now ${asideDir(ctx)}\n`);
  },
  async isDone(ctx, signal) {
    return !(await listDir(ctx, targetOf(ctx), asideDir(ctx), signal)).absent;
  },
  compensate: {
    describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${cmd.mv(P(ctx), asideDir(ctx), targetDatadir(ctx))} (after moving away what the run put there)`],
    run: putDatadirBack,
    async isDone(ctx, signal) {
      return (await listDir(ctx, targetOf(ctx), asideDir(ctx), signal)).absent;
    },
  },
});

// ---------------------------------------------------------------- steps: the stream path

const streamStep: RebuildStep = {
  id: 'stream',
  title: 'stream the backup to the target',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.source?.instance,
  cleanupGraceMs: 120_000,
  describe: (ctx) => {
    const t = tools(ctx);
    const p = P(ctx);
    return [
      `${sourceOf(ctx).name}: ${cmd.streamFrom(p, t, { parallel: ctx.config.engines.backupParallel, datadir: need(ctx.state.sourceDatadir, 'the datadir'), token: ctx.state.tok })}`,
      `  | relayed by nightshift over its own SSH connections (the nodes need no trust between them) |`,
      `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.streamInto(p, t, copyDir(ctx))}  (about ${mb(ctx.state.datadirBytes ?? 0)})`,
      `first, on both: ${cmd.pkill(p, ctx.state.tok)} (what an earlier attempt left), ${cmd.rmrf(p, copyDir(ctx), ctx.state.tok)}, ${cmd.mkdir(p, copyDir(ctx))}`,
    ];
  },
  async run(ctx, signal) {
    const p = P(ctx);
    const t = tools(ctx);
    const src = sourceOf(ctx);
    const dst = targetOf(ctx);
    const dir = copyDir(ctx);
    const shell = ctx.backends.shell;
    if (!shell.pipe) throw new StepFailed('this target cannot relay a stream between two nodes (its shell has no pipe): use --via ebs');
    await endLeftovers(ctx, signal, (line) => ctx.output('stdout', `${line}\n`));
    await run(ctx, dst, cmd.rmrf(p, dir, ctx.state.tok), 'clear the copy directory', signal, { timeoutMs: 600_000 });
    await run(ctx, dst, cmd.mkdir(p, dir), 'make the copy directory', signal);
    const total = ctx.state.datadirBytes ?? 0;
    const log: string[] = [];
    const res = await shell.pipe(
      { node: src, command: cmd.streamFrom(p, t, { parallel: ctx.config.engines.backupParallel, datadir: need(ctx.state.sourceDatadir, 'the datadir'), token: ctx.state.tok }) },
      { node: dst, command: cmd.streamInto(p, t, dir) },
      {
        signal,
        idleTimeoutMs: 10 * 60_000,
        onProgress: (bytes) => ctx.progress({ done: bytes, total, unit: 'bytes', ...(total > 0 ? { percent: Math.min(99, (100 * bytes) / total) } : {}), message: `streamed ${mb(bytes)} of about ${mb(total)}` }),
        onStderr: (end, chunk) => {
          ctx.output('stderr', chunk);
          if (end === 'from') log.push(chunk);
        },
      },
    );
    ctx.fact({ bytes: res.bytes, fromCode: res.from.code, toCode: res.to.code });
    const srcLog = log.join('');
    // The receiving end first: when it dies (a full disk) the sender only sees its pipe break.
    if (res.to.code !== 0) {
      const then = res.from.code !== 0 ? `; then ${src.name}'s ${t.backup} exited ${res.from.code ?? res.from.signal}` : '';
      throw new StepFailed(`${dst.name}: ${t.stream} exited ${res.to.code ?? res.to.signal}: ${oneLine(backupFailure(res.to.stderr))}${then}`);
    }
    if (res.from.code !== 0) throw new StepFailed(`${src.name}: ${t.backup} exited ${res.from.code ?? res.from.signal}: ${oneLine(backupFailure(srcLog || res.from.stderr))}`);
    if (!COMPLETED_OK.test(srcLog || res.from.stderr)) throw new StepFailed(`${src.name}: ${t.backup} ended without its "completed OK!" line: the copy may be incomplete`);
    const fixed = await restoreSourceSql(ctx, signal);
    if (fixed) ctx.output('stdout', `${fixed}\n`);
    ctx.fact({ streamed: true });
    ctx.output('stdout', `${mb(res.bytes)} streamed from ${src.name} into ${dst.name}:${dir}\n`);
  },
  async isDone(ctx, signal) {
    // A stream cannot be re-attached: done only when it ended well and the copy is there; otherwise it streams again.
    if (ctx.previous.facts.streamed !== true) return false;
    const listing = await listDir(ctx, targetOf(ctx), copyDir(ctx), signal);
    return !listing.absent && metadataFile(listing.entries, 'checkpoints') !== undefined;
  },
  compensate: {
    describe: (ctx) => [`${cmd.pkill(P(ctx), ctx.state.tok)} on ${sourceOf(ctx).name} and ${ctx.state.target?.name ?? 'the new instance'}`, `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.rmrf(P(ctx), copyDir(ctx), ctx.state.tok)}`, ...sourceSqlCompensation.describe(ctx)],
    async run(ctx, signal) {
      await endLeftovers(ctx, signal);
      await run(ctx, targetOf(ctx), cmd.rmrf(P(ctx), copyDir(ctx), ctx.state.tok), 'delete the partial copy', signal, { timeoutMs: 600_000 });
      await sourceSqlCompensation.run(ctx, signal);
    },
  },
};

/** Ends the processes an earlier attempt of this run left on both nodes (a stream whose client died). */
async function endLeftovers(ctx: Ctx, signal: AbortSignal, say: (line: string) => void = () => {}): Promise<void> {
  for (const node of [sourceOf(ctx), targetOf(ctx)]) {
    const res = await run(ctx, node, cmd.pkill(P(ctx), ctx.state.tok), 'end leftovers of an earlier attempt', signal, { okCodes: [1] });
    if (res.code === 0) say(`${node.name}: ended what an earlier attempt left running`);
  }
  const fixed = await restoreSourceSql(ctx, signal);
  if (fixed) say(fixed);
}

// ---------------------------------------------------------------- steps: the EBS path

function volumeTags(ctx: Ctx, part: string): Record<string, string> {
  return { Name: `${ctx.run.cluster}-rebuild-${part}`, [REBUILD_TAG]: ctx.run.id, [PART_TAG]: part, ...snapshotOwner(ctx) };
}

/** Finds this run's volume of a part again (a resume), or undefined. */
async function ourVolume(ctx: Ctx, part: string, signal: AbortSignal) {
  const vols = await need(ctx.backends.volumes, 'the volumes API').find({ [REBUILD_TAG]: ctx.run.id, [PART_TAG]: part }, { signal });
  return vols[0];
}

/** Attached, formatted (when new) and mounted: the volume's file system at `mount` on the node. */
async function mountVolume(ctx: Ctx, node: Instance, volumeId: string, device: string, mount: string, format: boolean, signal: AbortSignal): Promise<void> {
  const p = P(ctx);
  const volumes = need(ctx.backends.volumes, 'the volumes API');
  const v = await volumes.get(volumeId, { signal });
  if (!v?.attachedTo) await volumes.attach(volumeId, node.id, device, { signal });
  else if (v.attachedTo.instanceId !== node.id) throw new StepFailed(`${volumeId} is attached to ${v.attachedTo.instanceId}, not ${node.name}`);
  const dev = await waitFor({
    clock: ctx.backends.clock,
    signal,
    what: `${volumeId} to show up as a block device on ${node.name}`,
    timeoutMs: 120_000,
    intervalMs: 3_000,
    check: async (s) => {
      const found = deviceOf((await run(ctx, node, cmd.lsblk(), 'list block devices', s, { readOnly: true })).stdout, volumeId, device);
      return found ? { done: true, value: found } : { done: false, progress: { message: `waiting for ${volumeId} on ${node.name}` } };
    },
  });
  const mounted = parseFindmnt(await ctx.backends.shell.exec(node, cmd.findmnt(mount), { signal, timeoutMs: 30_000, readOnly: true }));
  if (mounted === dev) return;
  if (mounted !== undefined) throw new StepFailed(`${node.name}: ${mounted} is mounted at ${mount} already, not ${volumeId}: unmount it by hand (${cmd.umount(p, mount)})`);
  if (format) await run(ctx, node, cmd.mkfs(p, dev), `format ${dev}`, signal, { timeoutMs: 600_000 });
  await run(ctx, node, cmd.mkdir(p, mount), `make ${mount}`, signal);
  await run(ctx, node, cmd.mount(p, dev, mount), `mount ${dev}`, signal);
}

/** This run's volume of a part is attached to the node and its file system mounted at `mount`. */
async function volumeMounted(ctx: Ctx, node: Instance, part: string, device: string, mount: string, signal: AbortSignal): Promise<string | undefined> {
  const v = await ourVolume(ctx, part, signal);
  if (!v || v.attachedTo?.instanceId !== node.id) return undefined;
  const dev = deviceOf((await run(ctx, node, cmd.lsblk(), 'list block devices', signal, { readOnly: true })).stdout, v.id, device);
  const mounted = parseFindmnt(await ctx.backends.shell.exec(node, cmd.findmnt(mount), { signal, timeoutMs: 30_000, readOnly: true }));
  return dev !== undefined && mounted === dev ? v.id : undefined;
}

/** Unmounted, detached and deleted: the undo of a temporary volume, and the cleanup. */
async function dropVolume(ctx: Ctx, node: Instance | undefined, part: string, mount: string, signal: AbortSignal): Promise<string | undefined> {
  const volumes = need(ctx.backends.volumes, 'the volumes API');
  const v = await ourVolume(ctx, part, signal);
  if (!v) return undefined;
  if (v.attachedTo && node) {
    const mounted = parseFindmnt(await ctx.backends.shell.exec(node, cmd.findmnt(mount), { signal, timeoutMs: 30_000, readOnly: true }));
    if (mounted !== undefined) await run(ctx, node, cmd.umount(P(ctx), mount), `unmount ${mount}`, signal, { timeoutMs: 300_000 });
  }
  if (v.attachedTo) await volumes.detach(v.id, { signal });
  await volumes.remove(v.id, { signal });
  return v.id;
}

/** The undo of a temporary volume: unmounted on its node, detached, deleted. */
function volumeUndo(part: 'backup' | 'restore', mount: string, nodeOf: (ctx: Ctx) => Instance | undefined): NonNullable<RebuildStep['compensate']> {
  return {
    describe: (ctx) => [`${nodeOf(ctx)?.name ?? 'the new instance'}: ${cmd.umount(P(ctx), mount)}; Volumes.detach + remove(the ${part} volume)`],
    async run(ctx, signal) {
      await dropVolume(ctx, nodeOf(ctx), part, mount, signal);
    },
    async isDone(ctx, signal) {
      return (await ourVolume(ctx, part, signal)) === undefined;
    },
  };
}

const backupVolumeStep: RebuildStep = {
  id: 'backup-volume',
  title: 'a volume for the backup on the source',
  danger: 'caution',
  mutates: true,
  needs: ['volumes'],
  node: (ctx) => ctx.state.source?.instance,
  timeoutMs: 30 * 60_000,
  describe: (ctx) => {
    const gib = volumeGiB(ctx.state.datadirBytes ?? 0);
    return [
      `Volumes.create(${gib} GiB in ${sourceOf(ctx).az}, tags ${REBUILD_TAG}=${ctx.run.id} ${PART_TAG}=backup, token ${ctx.state.tok}-backup); attach to ${sourceOf(ctx).name} as ${BACKUP_DEVICE}`,
      `${sourceOf(ctx).name}: ${cmd.mkfs(P(ctx), '<its device>')}; ${cmd.mount(P(ctx), '<its device>', BACKUP_MOUNT)}`,
    ];
  },
  async run(ctx, signal) {
    const volumes = need(ctx.backends.volumes, 'the volumes API');
    const src = sourceOf(ctx);
    const v =
      (await ourVolume(ctx, 'backup', signal)) ??
      (await volumes.create({ az: src.az, sizeGiB: volumeGiB(ctx.state.datadirBytes ?? 0), tags: volumeTags(ctx, 'backup'), clientToken: `${ctx.state.tok}-backup` }, { signal }));
    ctx.state.backupVolume = v.id;
    ctx.fact({ volume: v.id });
    await mountVolume(ctx, src, v.id, BACKUP_DEVICE, BACKUP_MOUNT, true, signal);
    ctx.output('stdout', `${v.id} (${v.sizeGiB} GiB) mounted at ${src.name}:${BACKUP_MOUNT}\n`);
  },
  async isDone(ctx, signal) {
    const id = await volumeMounted(ctx, sourceOf(ctx), 'backup', BACKUP_DEVICE, BACKUP_MOUNT, signal);
    if (id) ctx.state.backupVolume = id;
    return id !== undefined;
  },
  compensate: volumeUndo('backup', BACKUP_MOUNT, (ctx) => ctx.state.source?.instance),
};

const backupStep: RebuildStep = {
  id: 'backup',
  title: 'back up onto the volume',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.source?.instance,
  cleanupGraceMs: 120_000,
  describe: (ctx) => [
    `${sourceOf(ctx).name}: ${cmd.backupToDir(P(ctx), tools(ctx), { parallel: ctx.config.engines.backupParallel, datadir: need(ctx.state.sourceDatadir, 'the datadir'), targetDir: backupDir(ctx) })}  (a job on the node; about ${mb(ctx.state.datadirBytes ?? 0)})`,
  ],
  async run(ctx, signal) {
    const src = sourceOf(ctx);
    const stop = watchBytes(ctx, src, backupDir(ctx), 'backed up', signal);
    try {
      await toolJob(ctx, src, cmd.backupToDir(P(ctx), tools(ctx), { parallel: ctx.config.engines.backupParallel, datadir: need(ctx.state.sourceDatadir, 'the datadir'), targetDir: backupDir(ctx) }), `${tools(ctx).backup} --backup`, signal);
    } finally {
      stop();
    }
    const fixed = await restoreSourceSql(ctx, signal);
    if (fixed) ctx.output('stdout', `${fixed}\n`);
  },
  async isDone(ctx, signal) {
    const o = await jobOutcome(ctx, sourceOf(ctx), signal);
    return o.kind === 'exited' && o.code === 0 && COMPLETED_OK.test(`${o.stderrTail}\n${o.stdoutTail}`);
  },
  compensate: sourceSqlCompensation,
};

function prepareStep(where: 'source' | 'target'): RebuildStep {
  const nodeOf = (ctx: Ctx) => (where === 'source' ? sourceOf(ctx) : targetOf(ctx));
  const dirOf = (ctx: Ctx) => (where === 'source' ? backupDir(ctx) : copyDir(ctx));
  return {
    id: 'prepare',
    title: 'prepare the backup',
    danger: 'caution',
    mutates: true,
    node: (ctx) => (where === 'source' ? ctx.state.source?.instance : ctx.state.target),
    describe: (ctx) => [
      `${where === 'source' ? sourceOf(ctx).name : (ctx.state.target?.name ?? 'the new instance')}: ${cmd.prepare(P(ctx), tools(ctx), { memoryMB: ctx.config.engines.prepareMemoryMB, dir: dirOf(ctx) })}  (a job on the node)`,
      `→ the checkpoints file says full-prepared (xtrabackup) or log-applied (mariadb-backup); then read the position the backup recorded`,
    ],
    async run(ctx, signal) {
      const node = nodeOf(ctx);
      if (!(await preparedAt(ctx, node, dirOf(ctx), signal))) {
        await toolJob(ctx, node, cmd.prepare(P(ctx), tools(ctx), { memoryMB: ctx.config.engines.prepareMemoryMB, dir: dirOf(ctx) }), `${tools(ctx).backup} --prepare`, signal);
      }
      const meta = await readMetadata(ctx, node, dirOf(ctx), signal);
      if (!meta.checkpoints || !isPrepared(meta.checkpoints)) throw new StepFailed(`${node.name}:${dirOf(ctx)}: the checkpoints file says backup_type = ${meta.checkpoints?.backupType ?? '(no file)'} after the prepare, not full-prepared or log-applied`);
      try {
        ctx.state.position = backupPosition(meta.binlogInfo, meta.slaveInfo, `${node.name}:${dirOf(ctx)}`);
      } catch (err) {
        throw new StepFailed((err as Error).message);
      }
      ctx.fact({ position: ctx.state.position as never });
      ctx.output('stdout', `prepared (${meta.checkpoints.backupType}); replication starts at ${describePosition(ctx.state.position)}\n`);
    },
    async isDone(ctx, signal) {
      const node = nodeOf(ctx);
      if (!(await preparedAt(ctx, node, dirOf(ctx), signal))) return false;
      const meta = await readMetadata(ctx, node, dirOf(ctx), signal);
      ctx.state.position = backupPosition(meta.binlogInfo, meta.slaveInfo, `${node.name}:${dirOf(ctx)}`);
      return true;
    },
  };
}

function describePosition(p: BackupPosition | undefined): string {
  if (!p) return '(unknown)';
  return p.gtid !== undefined ? `GTID ${p.gtid}` : `${p.file}:${p.pos}`;
}

const detachStep: RebuildStep = {
  id: 'detach',
  title: 'unmount and detach the backup volume',
  danger: 'caution',
  mutates: true,
  needs: ['volumes'],
  describe: (ctx) => [`${sourceOf(ctx).name}: ${cmd.umount(P(ctx), BACKUP_MOUNT)}`, `Volumes.detach(the backup volume)`],
  async run(ctx, signal) {
    const v = need(await ourVolume(ctx, 'backup', signal), 'the backup volume');
    const mounted = parseFindmnt(await ctx.backends.shell.exec(sourceOf(ctx), cmd.findmnt(BACKUP_MOUNT), { signal, timeoutMs: 30_000, readOnly: true }));
    if (mounted !== undefined) await run(ctx, sourceOf(ctx), cmd.umount(P(ctx), BACKUP_MOUNT), `unmount ${BACKUP_MOUNT}`, signal, { timeoutMs: 300_000 });
    if (v.attachedTo) await need(ctx.backends.volumes, 'the volumes API').detach(v.id, { signal });
  },
  async isDone(ctx, signal) {
    const v = await ourVolume(ctx, 'backup', signal);
    return v !== undefined && v.attachedTo === undefined;
  },
};

const snapshotStep: RebuildStep = {
  id: 'snapshot',
  title: 'snapshot the backup volume',
  danger: 'caution',
  mutates: true,
  needs: ['volumes'],
  describe: (ctx) => [`Volumes.snapshot(the backup volume, tags ${REBUILD_TAG}=${ctx.run.id} ${Object.entries(snapshotOwner(ctx)).map(([k, v]) => `${k}=${v}`).join(' ')}); wait until it completes (progress in percent)`],
  async run(ctx, signal) {
    const volumes = need(ctx.backends.volumes, 'the volumes API');
    const v = need(await ourVolume(ctx, 'backup', signal), 'the backup volume');
    const snap = (await volumes.findSnapshots({ [REBUILD_TAG]: ctx.run.id }, { signal }))[0] ?? (await volumes.snapshot(v.id, { signal, description: `nightshift rebuild ${ctx.run.id} of ${ctx.run.cluster}`, tags: volumeTags(ctx, 'snapshot') }));
    ctx.state.snapshot = snap.id;
    ctx.fact({ snapshot: snap.id });
    const done = await volumes.waitSnapshot(snap.id, { signal, onProgress: (percent) => ctx.progress({ percent, message: `snapshot ${snap.id}` }) });
    ctx.output('stdout', `${done.id} completed\n`);
  },
  async isDone(ctx, signal) {
    const snap = (await need(ctx.backends.volumes, 'the volumes API').findSnapshots({ [REBUILD_TAG]: ctx.run.id }, { signal }))[0];
    if (snap) ctx.state.snapshot = snap.id;
    return snap?.state === 'completed';
  },
  compensate: {
    describe: () => ['Volumes.removeSnapshot(the snapshot) if it never completed (a completed one is kept by clusters.C.keepSnapshots)'],
    async run(ctx, signal) {
      const volumes = need(ctx.backends.volumes, 'the volumes API');
      for (const s of await volumes.findSnapshots({ [REBUILD_TAG]: ctx.run.id }, { signal })) if (s.state !== 'completed') await volumes.removeSnapshot(s.id, { signal });
    },
  },
};

const restoreVolumeStep: RebuildStep = {
  id: 'restore-volume',
  title: "a volume from the snapshot on the target",
  danger: 'caution',
  mutates: true,
  needs: ['volumes'],
  node: (ctx) => ctx.state.target,
  timeoutMs: 30 * 60_000,
  describe: (ctx) => [
    `Volumes.create(from the snapshot, in ${ctx.state.target?.az ?? ctx.state.launch?.az ?? "the target's AZ"}, token ${ctx.state.tok}-restore); attach to ${ctx.state.target?.name ?? 'the new instance'} as ${RESTORE_DEVICE}`,
    `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.mount(P(ctx), '<its device>', RESTORE_MOUNT)}`,
  ],
  async run(ctx, signal) {
    const volumes = need(ctx.backends.volumes, 'the volumes API');
    const t = targetOf(ctx);
    const snapId = need(ctx.state.snapshot, 'the snapshot');
    const backup = await ourVolume(ctx, 'backup', signal);
    const v =
      (await ourVolume(ctx, 'restore', signal)) ??
      (await volumes.create({ az: t.az, sizeGiB: backup?.sizeGiB ?? volumeGiB(ctx.state.datadirBytes ?? 0), snapshotId: snapId, tags: volumeTags(ctx, 'restore'), clientToken: `${ctx.state.tok}-restore` }, { signal }));
    ctx.state.restoreVolume = v.id;
    ctx.fact({ volume: v.id });
    await mountVolume(ctx, t, v.id, RESTORE_DEVICE, RESTORE_MOUNT, false, signal);
    ctx.output('stdout', `${v.id} from ${snapId} mounted at ${t.name}:${RESTORE_MOUNT}\n`);
  },
  async isDone(ctx, signal) {
    const id = await volumeMounted(ctx, targetOf(ctx), 'restore', RESTORE_DEVICE, RESTORE_MOUNT, signal);
    if (id) ctx.state.restoreVolume = id;
    return id !== undefined;
  },
  compensate: volumeUndo('restore', RESTORE_MOUNT, (ctx) => ctx.state.target),
};

// ---------------------------------------------------------------- steps: the new server

const moveBackStep: RebuildStep = {
  id: 'move-back',
  title: 'move the copy into the datadir',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [
    `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.moveBack(P(ctx), tools(ctx), { datadir: targetDatadir(ctx), dir: copyDir(ctx) })}  (a job on the node)`,
    `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.chown(P(ctx), ctx.config.engines.datadirOwner, targetDatadir(ctx))}`,
  ],
  async run(ctx, signal) {
    const t = targetOf(ctx);
    const dd = targetDatadir(ctx);
    if (!(await movedBack(ctx, signal))) {
      const stop = watchBytes(ctx, t, dd, 'moved back', signal);
      try {
        await toolJob(ctx, t, cmd.moveBack(P(ctx), tools(ctx), { datadir: dd, dir: copyDir(ctx) }), `${tools(ctx).backup} --move-back`, signal);
      } finally {
        stop();
      }
    }
    await run(ctx, t, cmd.chown(P(ctx), ctx.config.engines.datadirOwner, dd), `chown ${dd}`, signal, { timeoutMs: 600_000 });
    ctx.fact({ chowned: true });
  },
  async isDone(ctx, signal) {
    return ctx.previous.facts.chowned === true && (await movedBack(ctx, signal));
  },
  compensate: {
    describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${cmd.mv(P(ctx), targetDatadir(ctx), failedDir(ctx))}; ${cmd.rmrf(P(ctx), failedDir(ctx), ctx.state.tok)}; the datadir as it was before`],
    run: putDatadirBack,
  },
};

/** The copy left its directory for the datadir: the datadir holds files and the copy's tables are gone from where they were. */
async function movedBack(ctx: Ctx, signal: AbortSignal): Promise<boolean> {
  const dd = await listDir(ctx, targetOf(ctx), targetDatadir(ctx), signal);
  if (dd.absent || dd.entries.length === 0) return false;
  const copy = await listDir(ctx, targetOf(ctx), copyDir(ctx), signal);
  return copy.absent || copy.entries.every((e) => /^(xtrabackup_|mariadb_backup_|backup-my\.cnf)/.test(e));
}

const startStep: RebuildStep = {
  id: 'start',
  title: 'start the server on the copy',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.target,
  timeoutMs: 15 * 60_000,
  describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${clientsOf(ctx, ctx.state.target ?? sourceOf(ctx)).service.start(service(ctx))}`, '→ the server answers'],
  async run(ctx, signal) {
    const t = targetOf(ctx);
    await run(ctx, t, clientsOf(ctx, t).service.start(service(ctx)), `start ${service(ctx)}`, signal, { timeoutMs: 10 * 60_000 });
  },
  async isDone(ctx, signal) {
    try {
      await probe(asMc(ctx), targetOf(ctx), signal);
      return true;
    } catch {
      return false;
    }
  },
  verifyWithinMs: 120_000,
  async verify(ctx, signal) {
    try {
      const f = await probe(asMc(ctx), targetOf(ctx), signal);
      return { ok: true, detail: `${targetOf(ctx).name}: ${f.flavour} ${f.version} answers, executed ${f.gtidExecuted || '(none)'}` };
    } catch (err) {
      return { ok: false, reason: `${targetOf(ctx).name} does not answer MySQL: ${oneLine((err as Error).message)} — its error log says why (an unprepared copy, the datadir's owner)` };
    }
  },
  compensate: {
    describe: (ctx) => [`${ctx.state.target?.name ?? 'the new instance'}: ${clientsOf(ctx, ctx.state.target ?? sourceOf(ctx)).service.stop(service(ctx))}`],
    async run(ctx, signal) {
      const t = targetOf(ctx);
      await run(ctx, t, clientsOf(ctx, t).service.stop(service(ctx)), `stop ${service(ctx)}`, signal, { timeoutMs: 300_000 });
    },
  },
};

const newMember = (ctx: Ctx): Member => ({ instance: targetOf(ctx), flavour: need(ctx.state.flavour, 'the flavour'), version: need(ctx.state.version, 'the version') });

const replicateStep: RebuildStep = {
  id: 'replicate',
  title: 'replicate from the master from the backup position',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => {
    if (!ctx.state.target) return [`the new instance: CHANGE MASTER to ${ctx.state.master?.instance.name ?? 'the master'} from the position the backup recorded; START`];
    const t = mysqlTargetOf(asMc(ctx), newMember(ctx));
    return [describeOp(t, { kind: 'set-read-only', isOn: true }), describeRepoint(t, { ...specTo(asMc(ctx), masterOf(ctx), newMember(ctx)), startAt: ctx.state.position ?? { gtid: '<from the backup>' } })];
  },
  async run(ctx, signal) {
    // A replica takes no writes but its master's: read-only before it replicates (a copy of a
    // replica starts with the server's own default, writable on most).
    await setReadOnly(ctx.backends.shell, mysqlTargetOf(asMc(ctx), newMember(ctx)), true, { signal, timeoutMs: 30_000 });
    const spec = { ...specTo(asMc(ctx), masterOf(ctx), newMember(ctx)), startAt: need(ctx.state.position, 'the backup position') };
    await repoint(ctx.backends.shell, mysqlTargetOf(asMc(ctx), newMember(ctx)), spec, { signal, timeoutMs: 30_000 });
    ctx.output('stdout', `${targetOf(ctx).name} replicates from ${masterOf(ctx).name} from ${describePosition(ctx.state.position)}\n`);
  },
  async isDone(ctx, signal) {
    const f = await probe(asMc(ctx), targetOf(ctx), signal);
    return f.readOnly && replicatesFrom(f, masterOf(ctx));
  },
  verifyWithinMs: 60_000,
  async verify(ctx, signal) {
    const f = await probe(asMc(ctx), targetOf(ctx), signal);
    const r = f.replica;
    if (!f.readOnly) return { ok: false, reason: `${targetOf(ctx).name} is writable (read_only=0): a replica must take no writes but its master's` };
    if (!r) return { ok: false, reason: `${targetOf(ctx).name} is not a replica` };
    const err = r.lastIoError ?? r.lastSqlError;
    if (r.ioThread !== 'Yes' || r.sqlThread !== 'Yes') return { ok: false, reason: `${targetOf(ctx).name}: IO thread ${r.ioThread}, SQL thread ${r.sqlThread}${err ? ` (error ${err.code}: ${oneLine(err.message)})` : ''}` };
    return { ok: true, detail: `${targetOf(ctx).name}: both threads running` };
  },
};

const masterOf = (ctx: Ctx) => need(ctx.state.master, 'the master').instance;

const catchUpStep: RebuildStep = {
  id: 'catch-up',
  title: 'catch up with the master',
  danger: 'read',
  mutates: false,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [`poll SHOW ${ctx.state.flavour === 'mysql' ? 'REPLICA' : 'SLAVE'} STATUS on ${ctx.state.target?.name ?? 'the new instance'} until the lag is at most 1 s (bounded: ${formatDuration(ctx.params.catchUpMinutes * 60_000)}; ETA from the slope)`],
  async run(ctx, signal) {
    let first: number | undefined;
    const lag = await waitFor({
      clock: ctx.backends.clock,
      signal,
      what: `${targetOf(ctx).name} to catch up with ${masterOf(ctx).name}`,
      timeoutMs: ctx.params.catchUpMinutes * 60_000,
      intervalMs: 15_000,
      onProgress: (p) => ctx.progress(p),
      check: async (s) => {
        const f = await probe(asMc(ctx), targetOf(ctx), s);
        const r = f.replica;
        if (!r) throw new StepFailed(`${targetOf(ctx).name} stopped being a replica`);
        const err = r.lastSqlError ?? r.lastIoError;
        if (r.sqlThread === 'No' && err) throw new StepFailed(`${targetOf(ctx).name}: replication stopped: error ${err.code}: ${oneLine(err.message)}`);
        const l = lagOf({ kind: 'mysql', mysql: f });
        if (l !== null && l <= 1 && r.ioThread === 'Yes' && r.sqlThread === 'Yes') return { done: true, value: l };
        if (l === null) return { done: false, progress: { message: `lag unknown (IO ${r.ioThread}, SQL ${r.sqlThread})` } };
        first ??= l;
        return { done: false, progress: fallingProgress(first, l, 0, `lag ${lagOrUnknown(l)}`) };
      },
    });
    ctx.output('stdout', `${targetOf(ctx).name}: caught up (lag ${lagOrUnknown(lag)})\n`);
  },
};

const joinStep: RebuildStep = {
  id: 'join',
  title: 'the new replica joins the cluster',
  danger: 'caution',
  mutates: true,
  node: (ctx) => ctx.state.target,
  describe: (ctx) => [
    `Inventory.setTags(${ctx.state.target?.id ?? 'the new instance'}, { ${clusterTag(ctx)}: ${ctx.run.cluster}, ${ROLE_TAG}: replica })`,
    `Inventory.deleteTags(${ctx.state.target?.id ?? 'the new instance'}, [${SPARE_TAG}, ${REBUILD_TAG}])`,
  ],
  async run(ctx, signal) {
    const t = targetOf(ctx);
    await ctx.backends.inventory.setTags(t.id, { [clusterTag(ctx)]: ctx.run.cluster, [ROLE_TAG]: 'replica' }, { signal });
    await ctx.backends.inventory.deleteTags(t.id, [SPARE_TAG, REBUILD_TAG], { signal });
  },
  async isDone(ctx, signal) {
    return runMembers(await ctx.backends.inventory.discover({ signal }), ctx.run).some((m) => m.id === targetOf(ctx).id);
  },
  verifyWithinMs: 60_000,
  async verify(ctx, signal) {
    const members = runMembers(await ctx.backends.inventory.discover({ signal }), ctx.run);
    return members.some((m) => m.id === targetOf(ctx).id)
      ? { ok: true, detail: `${runLabel(ctx.run)}: ${members.length} members, ${targetOf(ctx).name} among them` }
      : { ok: false, reason: `${targetOf(ctx).name} is not listed as a member of ${runLabel(ctx.run)} yet` };
  },
};

const cleanupStep: RebuildStep = {
  id: 'cleanup',
  title: 'remove what the rebuild made for itself',
  danger: 'caution',
  mutates: true,
  describe: (ctx) =>
    ctx.state.via === 'ebs'
      ? [
          `${ctx.state.target?.name ?? 'the new instance'}: ${cmd.umount(P(ctx), RESTORE_MOUNT)}; Volumes.detach + remove(the restore volume); Volumes.remove(the backup volume)`,
          `keep the newest ${clusterSettings(ctx.config, runCluster(ctx.run))?.keepSnapshots ?? 1} rebuild snapshot(s) of ${runLabel(ctx.run)}; Volumes.removeSnapshot(the older ones)`,
        ]
      : [`${ctx.state.target?.name ?? 'the new instance'}: ${cmd.rmrf(P(ctx), copyDir(ctx), ctx.state.tok)}`],
  async run(ctx, signal) {
    if (ctx.state.via === 'ebs') {
      for (const [node, part, mount] of [[ctx.state.target, 'restore', RESTORE_MOUNT], [ctx.state.source?.instance, 'backup', BACKUP_MOUNT]] as const) {
        const id = await dropVolume(ctx, node, part, mount, signal);
        if (id) ctx.output('stdout', `${id} (${part}) removed\n`);
      }
      const volumes = need(ctx.backends.volumes, 'the volumes API');
      const keep = clusterSettings(ctx.config, runCluster(ctx.run))?.keepSnapshots ?? 1;
      const snaps = (await volumes.findSnapshots(snapshotOwner(ctx), { signal }))
        .filter((s) => s.state === 'completed')
        .sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? '') || (b.id === ctx.state.snapshot ? 1 : 0) - (a.id === ctx.state.snapshot ? 1 : 0));
      for (const s of snaps.slice(keep)) {
        await volumes.removeSnapshot(s.id, { signal });
        ctx.output('stdout', `${s.id} removed (older than the newest ${keep})\n`);
      }
    } else {
      await run(ctx, targetOf(ctx), cmd.rmrf(P(ctx), copyDir(ctx), ctx.state.tok), 'delete the copy directory', signal, { timeoutMs: 600_000 });
    }
    if (ctx.state.targetHasData && (ctx.state.launch || ctx.state.fresh)) {
      // A launched instance's old datadir is the empty server its image made: nothing to keep.
      await run(ctx, targetOf(ctx), cmd.rmrf(P(ctx), asideDir(ctx), ctx.state.tok), 'delete the empty datadir the image made', signal, { timeoutMs: 600_000 });
    } else if (ctx.state.targetHasData) ctx.output('stdout', `${targetOf(ctx).name}: the old datadir stays at ${asideDir(ctx)}; delete it once you no longer need it\n`);
  },
  async isDone(ctx, signal) {
    if (ctx.state.via === 'ebs') return (await ourVolume(ctx, 'restore', signal)) === undefined && (await ourVolume(ctx, 'backup', signal)) === undefined;
    return (await listDir(ctx, targetOf(ctx), copyDir(ctx), signal)).absent;
  },
};

// ---------------------------------------------------------------- preflight and planning

interface Picture {
  view: Awaited<ReturnType<typeof clusterView>>;
  master?: NodeView;
  source?: NodeView;
  refusal?: string;
  /** Why the source is a bad choice the operator may override (the master). */
  overridable?: string;
}

async function picture(ctx: Ctx, signal: AbortSignal): Promise<Picture> {
  const cached = ctx.scratch.get('picture') as Picture | undefined;
  if (cached) return cached;
  const view = await clusterView(asMc(ctx), signal);
  const master = view.nodes.find((n) => !n.stale && mysqlOf(n) !== undefined && isWritableMaster(mysqlOf(n)!));
  const out: Picture = { view };
  if (master) out.master = master;
  if (!master) out.refusal = `${runLabel(ctx.run)} has no writable master answering: a new replica needs one to replicate from (run failover first)`;
  else {
    const picked = chooseSource(ctx, view.nodes, master);
    if (!picked.node) out.refusal = picked.reason!;
    else {
      out.source = picked.node;
      const f = mysqlOf(picked.node);
      const name = picked.node.instance.name;
      if (!f) out.refusal = `${name} does not answer MySQL (${oneLine(picked.node.probeError ?? 'no answer')}): no backup can be taken there`;
      else if (picked.node === master) out.overridable = `${name} is the master: a backup there loads the server every client writes to; pick a replica (--source), or override (--override source --confirm ${ctx.run.cluster})`;
      else if (!f.replica || f.replica.ioThread !== 'Yes' || f.replica.sqlThread !== 'Yes') {
        const err = f.replica?.lastSqlError ?? f.replica?.lastIoError;
        out.refusal = `${name} is not replicating (IO ${f.replica?.ioThread ?? '-'}, SQL ${f.replica?.sqlThread ?? '-'}${err ? `, error ${err.code}: ${oneLine(err.message)}` : ''}): a backup of it would start a new replica from a broken copy`;
      } else if ((lagOf(picked.node.facts) ?? Infinity) > ctx.params.sourceLagLimitSeconds) {
        out.refusal = `${name} lags ${lagOrUnknown(lagOf(picked.node.facts))} (limit ${ctx.params.sourceLagLimitSeconds} s): the backup would start far behind; pick another --source or wait`;
      } else if (!replicatesFrom(f, master.instance)) {
        out.refusal = `${name} replicates from ${f.replica.sourceHost}, not from the master ${master.instance.name}`;
      } else {
        const errant = errantAgainst(f, mysqlOf(master)!);
        if (errant) out.refusal = `${name} has transactions the master ${master.instance.name} never had (errant GTIDs ${errant}): a copy of it would carry them into the new replica${f.flavour === 'mariadb' ? ', and the master would refuse it (error 1236)' : ''}; pick another --source`;
      }
    }
  }
  ctx.scratch.set('picture', out);
  return out;
}

/** The --target host: a spare (or instance) of this cluster that is no member. */
async function pickTarget(ctx: Ctx, signal: AbortSignal): Promise<{ instance?: Instance; reason?: string }> {
  const found = await discover(asMc(ctx), signal);
  const pick = need(ctx.params.target, '--target');
  const inst = found.instances.find((i) => i.name === pick || i.id === pick);
  if (!inst) return { reason: `--target ${pick}: no such host in this inventory (spares here: ${found.instances.filter((i) => i.tags[SPARE_TAG] !== undefined).map((i) => i.name).join(', ') || 'none'})` };
  const ref = found.clusters.find((c) => c.instanceIds.includes(inst.id));
  if (ref) return { reason: `--target ${pick} is a member of ${ref.name}: rebuilding it would destroy a working node; name a spare host, or leave out --target to launch one` };
  const cluster = inst.tags[clusterTag(ctx)];
  if (cluster !== undefined && cluster !== ctx.run.cluster) return { reason: `--target ${pick} is a spare of ${cluster}, not of ${runLabel(ctx.run)}` };
  return { instance: inst };
}

const checks: Check<RebuildParams, RebuildState>[] = [
  mysqlClusterCheck as unknown as Check<RebuildParams, RebuildState>,
  {
    id: 'source',
    title: 'the source is a healthy replica of the master',
    overridable: true,
    async run(ctx, signal) {
      const p = await picture(ctx, signal);
      if (p.refusal) return { ok: false, reason: p.refusal };
      if (p.overridable) return { ok: false, reason: p.overridable };
      const f = mysqlOf(p.source!)!;
      return { ok: true, detail: `${p.source!.instance.name}: replicating from ${p.master!.instance.name}, lag ${lagOrUnknown(lagOf(p.source!.facts))}; ${f.flavour} ${f.version}` };
    },
  },
  {
    id: 'via',
    title: 'the way the copy moves is available here',
    async run(ctx) {
      const via = ctx.params.via ?? (ctx.backends.volumes ? 'ebs' : 'stream');
      if (via === 'ebs' && !ctx.backends.volumes) return { ok: false, reason: `--via ebs needs EBS volumes, which this target lacks (${ctx.backends.unavailable?.volumes ?? 'no volumes API'}): use --via stream` };
      if (via === 'stream' && !ctx.backends.shell.pipe) return { ok: false, reason: '--via stream needs a shell that relays between two nodes, which this target lacks: use --via ebs' };
      if (ctx.params.target === undefined && !ctx.backends.compute) return { ok: false, reason: `without --target a new instance is launched, which needs the compute API (${ctx.backends.unavailable?.compute ?? 'unavailable here'}): name a spare host with --target` };
      return { ok: true, detail: `${via}${ctx.params.via === undefined ? ' (the default here)' : ''}` };
    },
  },
  {
    id: 'target',
    title: 'the target is a spare host, or one can be launched',
    async run(ctx, signal) {
      if (ctx.params.target === undefined) {
        const found = await discover(asMc(ctx), signal);
        const members = runMembers(found, ctx.run);
        const lt = launchTemplateOf(ctx, members);
        if (!lt) return { ok: false, reason: `no launch template for ${runLabel(ctx.run)}: set ${settingsKey(ctx.run)}.launchTemplate, or name a spare host with --target` };
        const az = spreadAz(members, found.instances);
        return az ? { ok: true, detail: `a new instance from ${lt} in ${az} (the AZ with the fewest members)` } : { ok: false, reason: `no AZ known for ${runLabel(ctx.run)}'s members` };
      }
      const t = await pickTarget(ctx, signal);
      if (!t.instance) return { ok: false, reason: t.reason! };
      try {
        const ok = (await ctx.backends.shell.exec(t.instance, 'true', { signal, timeoutMs: ctx.config.engines.probeTimeoutSeconds * 1000, readOnly: true })).code === 0;
        if (!ok) return { ok: false, reason: `${t.instance.name} does not run commands over SSH` };
      } catch (err) {
        return { ok: false, reason: `${t.instance.name} is not reachable over SSH: ${oneLine((err as Error).message)}` };
      }
      return { ok: true, detail: `${t.instance.name} (spare, reachable over SSH)` };
    },
  },
  {
    id: 'space-and-tools',
    title: 'backup tools on both nodes; room for the copy',
    async run(ctx, signal) {
      const p = await picture(ctx, signal);
      if (!p.source || !mysqlOf(p.source)) return { ok: false, reason: 'no source to check (see the source check)' };
      const f = mysqlOf(p.source)!;
      const t = backupTools(f.flavour);
      const src = p.source.instance;
      if (!(await hasTool(ctx, src, t.backup, signal))) return { ok: false, reason: `${src.name}: ${t.backup} is not installed (\`${cmd.version(t.backup)}\` says not found): install the ${f.flavour === 'mysql' ? 'percona-xtrabackup' : 'mariadb-backup'} package there` };
      const { dir: dd, bytes } = await measureDatadir(ctx, src, signal);
      const notes = [`${src.name}: ${t.backup} present, datadir ${dd} holds ${mb(bytes)}`];
      if (ctx.params.target !== undefined) {
        const target = (await pickTarget(ctx, signal)).instance;
        if (target) {
          // The target's own check runs again as a step once a launched target exists; a spare is checked now.
          const probeCtx = { ...ctx, state: { ...ctx.state, flavour: f.flavour, target, targetDatadir: targetDatadirFor(ctx, target, dd), datadirBytes: bytes } } as Ctx;
          const problem = await targetProblem(probeCtx, signal);
          if (problem) return { ok: false, reason: problem };
          notes.push(`${target.name}: tools present, ${mb(bytes * 1.1)} of room, datadir ${probeCtx.state.targetDatadir} ${probeCtx.state.targetHasData ? 'HOLDS FILES (moved aside if you confirm by its name)' : 'empty'}`);
        }
      }
      return { ok: true, detail: notes.join('; ') };
    },
  },
  credentialsCheck as unknown as Check<RebuildParams, RebuildState>,
];

function targetDatadirFor(ctx: Ctx, target: Instance, sourceDatadir: string): string {
  const own = ctx.backends.target.kind === 'inventory' ? target.tags[DATADIR_TAG] : undefined;
  return stripSlash(own ?? sourceDatadir);
}

/**
 * Learns the master, the source replica and its datadir, and names the run's
 * scratch (tok, via): what every rebuild needs before its target is known.
 * Also for rotate, which rebuilds a group's replacement. Returns the source's datadir.
 */
export async function prepareSource(ctx: Ctx, signal: AbortSignal): Promise<{ dir: string; bytes: number }> {
  const p = await picture(ctx, signal);
  if (p.refusal) throw new StepFailed(p.refusal);
  const f = mysqlOf(need(p.source, 'the source'))!;
  // The run id itself (path-safe): a scratch directory on a node names the journal that made it.
  ctx.state.tok ||= ctx.run.id.replace(/[^A-Za-z0-9-]/g, '-').slice(-48);
  ctx.state.via = ctx.params.via ?? (ctx.backends.volumes ? 'ebs' : 'stream');
  ctx.state.flavour = f.flavour;
  ctx.state.version = f.version;
  ctx.state.master = { instance: p.master!.instance, flavour: mysqlOf(p.master!)!.flavour, version: mysqlOf(p.master!)!.version };
  ctx.state.source = { instance: p.source!.instance, flavour: f.flavour, version: f.version };
  // How replicas name the master (address, name): the new one names it the same way.
  ctx.state.sourceHost = f.replica?.sourceHost ?? p.master!.instance.privateIp;
  ctx.state.port = f.replica?.sourcePort ?? 3306;
  // Measured by the preflight's space check; rotate, which has none for its replacements, measures it here.
  const dd = (ctx.scratch.get('datadir') as { dir: string; bytes: number } | undefined) ?? (await measureDatadir(ctx, p.source!.instance, signal));
  ctx.state.sourceDatadir = stripSlash(dd.dir);
  ctx.state.datadirBytes = dd.bytes;
  return dd;
}

/**
 * The copy and everything after it, onto a target that is known: backup,
 * move, prepare, the target's server stopped, its datadir replaced, started,
 * replicating, caught up, joined, cleaned up. `datadir`: the danger of
 * moving the target's datadir aside, or undefined when it is empty.
 */
export function copySteps(params: Pick<RebuildParams, 'copyHours'>, via: 'ebs' | 'stream', datadir: 'caution' | 'destructive' | undefined): RebuildStep[] {
  const steps: RebuildStep[] = [];
  if (via === 'ebs') steps.push(backupVolumeStep, backupStep, prepareStep('source'), detachStep, snapshotStep, restoreVolumeStep);
  else steps.push(streamStep, prepareStep('target'));
  steps.push(stopTargetStep);
  if (datadir) steps.push(datadirStep(datadir));
  steps.push(moveBackStep, startStep, replicateStep, catchUpStep, joinStep, cleanupStep);
  // Copies take hours; each is bounded all the same (a snapshot stuck at 40 % must not wait for ever).
  const copyMs = params.copyHours * 3_600_000;
  const long = new Set(['stream', 'backup', 'prepare', 'snapshot', 'move-back']);
  return steps.map((s) => (long.has(s.id) ? { ...s, timeoutMs: copyMs } : s));
}

export const rebuildRunbook = defineRunbook<RebuildParams, RebuildState>({
  name: 'rebuild',
  title: 'MySQL rebuild a replica',
  summary: 'Redundancy back: a hot backup of a healthy replica (xtrabackup / mariadb-backup) moved by EBS snapshot or streamed over SSH, prepared, started, replicating from the master from the position the backup recorded; it joins the cluster only once caught up.',
  params: rebuildParams as unknown as z.ZodType<RebuildParams>,
  cluster: (p) => p.cluster,
  initialState: () => ({ others: [], tok: '' }),
  preflight: () => checks,
  async prepare(ctx, signal) {
    const dd = await prepareSource(ctx, signal);
    if (ctx.params.target !== undefined) {
      const t = await pickTarget(ctx, signal);
      if (!t.instance) throw new StepFailed(t.reason!);
      ctx.state.target = t.instance;
      ctx.state.targetDatadir = targetDatadirFor(ctx, t.instance, dd.dir);
      const listing = await listDir(ctx, t.instance, ctx.state.targetDatadir, signal);
      ctx.state.targetHasData = !listing.absent && listing.entries.length > 0;
    } else {
      const found = await discover(asMc(ctx), signal);
      const members = runMembers(found, ctx.run);
      const az = spreadAz(members, found.instances);
      const lt = launchTemplateOf(ctx, members);
      if (!az || !lt) throw new StepFailed(`cannot launch into ${runLabel(ctx.run)}: ${!lt ? 'no launch template' : 'no AZ known'}`);
      ctx.state.launch = { launchTemplate: lt, az, name: `${ctx.run.cluster}-rebuild-${ctx.state.tok.slice(-6)}`, token: `nightshift-${ctx.state.tok}` };
      ctx.state.targetDatadir = stripSlash(dd.dir);
      // A fresh instance's datadir holds the empty server its image made: moved aside like any other.
      ctx.state.targetHasData = true;
    }
  },
  plan(ctx) {
    const launched = ctx.params.target === undefined;
    const steps: RebuildStep[] = [];
    if (launched) steps.push(launchStep, targetCheckStep);
    steps.push(...copySteps(ctx.params, ctx.state.via ?? 'stream', ctx.state.targetHasData ? (launched ? 'caution' : 'destructive') : undefined));
    // One question for the whole run, at its first step: a rebuild runs for hours, and a y/N
    // waiting after a 40-minute snapshot would hold it until someone looks. The plan, shown
    // before the start, lists every step; only moving a spare's own datadir aside asks again.
    return steps.map((s, i) => {
      const out: RebuildStep = { ...s };
      if (i === 0) {
        out.danger = 'caution';
        out.describe = (c) => [...s.describe(c), `one answer for the whole rebuild: the ${steps.length - 1} steps after this one run without asking${steps.some((x) => x.danger === 'destructive') ? ", but for moving the spare's datadir aside, which asks for its name" : ''}`];
      } else if (s.danger !== 'destructive') out.danger = 'read';
      return out;
    });
  },
});
