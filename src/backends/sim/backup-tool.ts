// mariadb-backup / xtrabackup on the simulated fleet: --backup, --prepare
// and --move-back as jobs whose output is a schedule on virtual time (like
// nodetool repair), the --stream source and mbstream/xbstream as the two
// ends of SimShell.pipe, and a MySQL server that starts from what was moved
// into its datadir.
//
// The bytes a tool writes land in the directory it writes as it goes, so
// `du` shows the progress and a full disk fails the tool at the write that
// does not fit. --safe-slave-backup stops the source's SQL thread for the
// last phase and starts it again only when the backup ends well: a backup
// that dies there (cancelled, its host down, its reader gone) leaves it
// stopped, as the real tool does.

import { hostname } from 'node:os';
import type { Instance } from '../../domain/types.js';
import type { PipeEnd, PipeOptions, PipeResult, ExecResult } from '../ports.js';
import { abortError } from './clock.js';
import { mariadbGtidPos, mysqlGtidSet } from './gtid.js';
import {
  DATADIR,
  duBytes,
  hostOf,
  listDir,
  locate,
  nodeAt,
  normalise,
  writeInto,
} from './host-files.js';
import { isAliveElsewhere, endJob } from './jobs.js';
import { hash32, keyOf, Prng } from './prng.js';
import { affected, binlogTransactions, executed, materialize, sourceOf, type Knowledge } from './replication.js';
import { parseCommand, SimSshError, type SimShell } from './shell.js';
import type { BackupImage, FileNode, JobEvent, SimJob, SimProcess, ToolPlan, WorldState } from './state.js';
import type { SimWorld } from './world.js';

const MB = 1_048_576;
const MAX_BINLOG = 1_073_741_824;
/** A reader that died is noticed at the source's next write: it blocks at most this long before it does. */
export const ORPHAN_NOTICE_MS = 30_000;

export const TOOLS = { mariadb: ['mariadb-backup', 'mariabackup', 'mbstream'], mysql: ['xtrabackup', 'xbstream'] } as const;
const BACKUP_PROGRAMS = new Set(['mariadb-backup', 'mariabackup', 'xtrabackup']);
const STREAM_PROGRAMS = new Set(['mbstream', 'xbstream']);

export function isBackupProgram(program: string): boolean {
  return BACKUP_PROGRAMS.has(program);
}

export function isToolProgram(program: string): boolean {
  return BACKUP_PROGRAMS.has(program) || STREAM_PROGRAMS.has(program);
}

/** Is the tool installed on the node (the launch template installs its flavour's tools on every MySQL host)? */
export function hasTool(w: WorldState, id: string, program: string): boolean {
  const h = w.hosts?.[id];
  if (h?.tools) return h.tools.includes(program);
  const node = w.mysql[id];
  return !!node && (TOOLS[node.flavour] as readonly string[]).includes(program);
}

/** `T --version` (and mbstream's --help): what each tool prints, where, and its exit code (mbstream has no --version, as the lab saw). */
export function versionOf(w: WorldState, id: string, program: string, args: string[] = ['--version']): { code: number; stdout: string; stderr: string } {
  const node = w.mysql[id]!;
  const server = node.version.replace(/-MariaDB.*$/, '');
  const help = args.includes('--help') || args.includes('-?');
  if (STREAM_PROGRAMS.has(program)) {
    if (program === 'mbstream' && !help) return { code: 1, stdout: '', stderr: `mbstream: unknown option '${args.find((a) => a.startsWith('-')) ?? '--version'}'\n` };
    const head = program === 'mbstream' ? `mbstream  Ver 1.0 for Linux (x86_64) using readline 5.1\n` : `xbstream  Ver ${server}-${server.startsWith('8.4') ? '1' : '31'} for Linux (x86_64) (revision id: 55ec21d7)\n`;
    return { code: 0, stdout: help ? `${head}Open source backup tool for InnoDB and XtraDB\n\nUsage: ${program} -c [OPTIONS...] FILES...    # stream specified files to standard output.\n       ${program} -x [OPTIONS...]             # extract files from the stream.\n` : head, stderr: '' };
  }
  // Both backup tools print their version on stderr.
  const text =
    node.flavour === 'mariadb'
      ? `${program} based on MariaDB server ${server}-MariaDB Linux (x86_64)\n`
      : `xtrabackup version ${server}-${server.startsWith('8.4') ? '1' : '31'} based on MySQL server ${server} Linux (x86_64) (revision id: 55ec21d7)\n`;
  return { code: 0, stdout: '', stderr: text };
}

// ---------------------------------------------------------------- lines

function isoAt(at: number): string {
  return new Date(at).toISOString();
}

/** One line of the tool's log in its own format: mariadb-backup's `[00] date time`, xtrabackup 8's error-log style. */
export function toolLine(flavour: string, at: number, text: string, thread = '00', level: 'Note' | 'ERROR' = 'Note'): string {
  const iso = isoAt(at);
  if (flavour === 'mariadb') return `[${thread}] ${iso.slice(0, 10)} ${iso.slice(11, 19)} ${text}\n`;
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000-00:00 ${Number(thread)} [${level}] [MY-011825] [Xtrabackup] ${text}\n`;
}

interface DataFile {
  name: string;
  bytes: number;
}

/** The files a copy of `bytes` of datadir is made of: system tablespaces, then the application's tables. */
function dataFiles(flavour: string, bytes: number, prng: Prng): DataFile[] {
  const sys: DataFile[] =
    flavour === 'mariadb'
      ? [{ name: './ibdata1', bytes: 12 * MB }, { name: './mysql/innodb_table_stats.ibd', bytes: 98_304 }, { name: './mysql/innodb_index_stats.ibd', bytes: 98_304 }, { name: './mysql/gtid_slave_pos.ibd', bytes: 98_304 }, { name: './mysql/transaction_registry.ibd', bytes: 98_304 }]
      : [{ name: './ibdata1', bytes: 12 * MB }, { name: './mysql.ibd', bytes: 25 * MB }, { name: './undo_002', bytes: 16 * MB }, { name: './undo_001', bytes: 16 * MB }, { name: './sys/sys_config.ibd', bytes: 114_688 }];
  let rest = bytes - sys.reduce((n, f) => n + f.bytes, 0);
  if (rest <= 0) {
    const scale = bytes / sys.reduce((n, f) => n + f.bytes, 0);
    return sys.map((f) => ({ name: f.name, bytes: Math.floor(f.bytes * scale) }));
  }
  const tables = ['orders', 'order_items', 'events', 'customers', 'payments', 'sessions', 'audit_log', 'products', 'invoices', 'shipments'];
  if (rest < 100 * MB) {
    sys[0]!.bytes += rest;
    return sys;
  }
  const weights = tables.map(() => 0.2 + prng.next() * 2);
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = [...sys];
  tables.forEach((t, k) => {
    const n = k === tables.length - 1 ? rest : Math.floor((bytes - sys.reduce((a, f) => a + f.bytes, 0)) * (weights[k]! / sum));
    out.push({ name: `./app/${t}.ibd`, bytes: n });
    rest -= n;
  });
  return out;
}

// ---------------------------------------------------------------- the tool's arguments

export interface ToolArgs {
  mode?: 'backup' | 'prepare' | 'move-back';
  targetDir?: string;
  datadir?: string;
  stream?: string;
  safeSlave: boolean;
  slaveInfo: boolean;
  parallel: number;
  useMemoryMB?: number;
  version: boolean;
}

export function toolArgs(args: string[]): ToolArgs {
  const out: ToolArgs = { safeSlave: false, slaveInfo: false, parallel: 1, version: false };
  for (const a of args) {
    const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    switch (k) {
      case '--backup':
        out.mode = 'backup';
        break;
      case '--prepare':
        out.mode = 'prepare';
        break;
      case '--move-back':
      case '--copy-back':
        out.mode = 'move-back';
        break;
      case '--target-dir':
        if (v !== undefined) out.targetDir = v;
        break;
      case '--datadir':
        if (v !== undefined) out.datadir = v;
        break;
      case '--stream':
        if (v !== undefined) out.stream = v;
        break;
      case '--safe-slave-backup':
        out.safeSlave = true;
        break;
      case '--slave-info':
        out.slaveInfo = true;
        break;
      case '--parallel':
        out.parallel = Math.max(1, Number(v) || 1);
        break;
      case '--use-memory':
        out.useMemoryMB = Number.parseInt(v ?? '', 10);
        break;
      case '--version':
        out.version = true;
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- what the image says

function binlogCoordinates(w: WorldState, world: SimWorld, id: string, k: Knowledge): { file: string; pos: number } {
  const node = w.mysql[id]!;
  const bytes = node.binlogBase + binlogTransactions(world.env, id, k) * node.eventBytes;
  return { file: `${node.binlogPrefix}.${String(1 + Math.floor(bytes / MAX_BINLOG)).padStart(6, '0')}`, pos: 4 + (bytes % MAX_BINLOG) };
}

/** The image of `source`'s datadir as of `at`: what it had executed then, and where its binary log stood. */
export function imageOf(world: SimWorld, w: WorldState, source: string, at: number, bytes: number): BackupImage {
  const node = w.mysql[source]!;
  const k = executed(world.env, source, at);
  const gtid = node.flavour === 'mariadb' ? mariadbGtidPos(w.segments, k) : mysqlGtidSet(w.segments, k);
  const { file, pos } = binlogCoordinates(w, world, source, k);
  const lsn = 1_000_000 + Math.floor(bytes / 4096) + (hash32(w.seed, keyOf(source), Math.floor(at / 1000)) % 100_000);
  const img: BackupImage = {
    flavour: node.flavour,
    version: node.version,
    source,
    sourceName: w.instances[source]?.name ?? source,
    at,
    knowledge: { ...k },
    gtid,
    binlogFile: file,
    binlogPos: pos,
    bytes,
    fromLsn: 0,
    toLsn: lsn,
    prepared: false,
    complete: true,
  };
  const r = node.replica;
  const upstream = r ? sourceOf(world.env, source) : undefined;
  if (r && r.sourceHost) {
    const up = upstream !== undefined && w.mysql[upstream] ? binlogCoordinates(w, world, upstream, k) : { file, pos };
    img.slaveInfo = { host: r.sourceHost, gtidMode: r.gtidMode, gtid, file: up.file, pos: up.pos };
  }
  return img;
}

function partialImage(w: WorldState, source: string, at: number): BackupImage {
  const node = w.mysql[source]!;
  return {
    flavour: node.flavour,
    version: node.version,
    source,
    sourceName: w.instances[source]?.name ?? source,
    at,
    knowledge: {},
    gtid: '',
    binlogFile: '',
    binlogPos: 0,
    bytes: 0,
    fromLsn: 0,
    toLsn: 0,
    prepared: false,
    complete: false,
  };
}

// ---------------------------------------------------------------- safe-slave-backup

function stopSql(world: SimWorld, w: WorldState, id: string, at: number): boolean {
  const r = w.mysql[id]?.replica;
  if (!r || !r.sql || r.sqlError) return false;
  materialize(world.env, affected(world.env, w.instances[id]!.cluster), at);
  r.sql = false;
  world.bump();
  return true;
}

function startSql(world: SimWorld, w: WorldState, id: string, at: number): void {
  const r = w.mysql[id]?.replica;
  if (!r || r.sql) return;
  materialize(world.env, affected(world.env, w.instances[id]!.cluster), at);
  r.sql = true;
  world.startApplying(id, at);
  world.bump();
}

/**
 * When --safe-slave-backup stops the SQL thread: mariadb-backup (10.11, as
 * the lab saw) before it copies anything, so for the whole copy; xtrabackup
 * when it takes its lock for the non-InnoDB files.
 */
function safeSlaveAtStart(flavour: string): boolean {
  return flavour === 'mariadb';
}

function safeSlaveStopLines(flavour: string, at: number): string {
  return (
    toolLine(flavour, at, flavour === 'mariadb' ? 'Stopping slave SQL thread.' : 'Stopping SQL thread.') +
    toolLine(flavour, at, 'Slave open temp tables: 0') +
    toolLine(flavour, at, 'Slave is safe to backup.')
  );
}

// ---------------------------------------------------------------- faults

/** Uses up one `backup-fails` of the node, if any: the message the tool dies with. */
function backupFault(world: SimWorld, w: WorldState, id: string): string | undefined {
  const k = w.faults.findIndex((f) => f.kind === 'backup-fails' && f.node === id);
  const f = w.faults[k];
  if (!f || f.kind !== 'backup-fails') return undefined;
  if (f.times !== undefined && f.times > 1) f.times--;
  else w.faults.splice(k, 1);
  world.bump();
  return f.message ?? 'io';
}

function faultLines(flavour: string, at: number, message: string, file: string): string {
  if (message !== 'io') return toolLine(flavour, at, `Error: ${message}`, '00', 'ERROR');
  return (
    toolLine(flavour, at, 'InnoDB: Operating system error number 5 in a file operation.', '01', 'ERROR') +
    toolLine(flavour, at, "InnoDB: Error number 5 means 'Input/output error'", '01', 'ERROR') +
    toolLine(flavour, at, `InnoDB: File operation call: 'read' returned OS error 105.`, '01', 'ERROR') +
    toolLine(flavour, at, `Error: failed to read page from ${file}`, '01', 'ERROR') +
    toolLine(flavour, at, 'Error: xtrabackup_copy_datafile() failed.', '01', 'ERROR') +
    toolLine(flavour, at, 'Error: failed to copy datafile.', '00', 'ERROR')
  );
}

function diskFullLines(flavour: string, at: number, path: string): string {
  return (
    toolLine(flavour, at, `Error: failed to write to ${path} (errno: 28 "No space left on device")`, '01', 'ERROR') +
    toolLine(flavour, at, 'Error: xtrabackup_copy_datafile() failed.', '01', 'ERROR') +
    toolLine(flavour, at, 'Error: failed to copy datafile.', '00', 'ERROR')
  );
}

function serverGoneLines(flavour: string, at: number): string {
  const who = flavour === 'mariadb' ? 'MariaDB' : 'MySQL';
  return toolLine(flavour, at, `Error: failed to execute query 'SHOW ENGINE INNODB STATUS': 2013 (HY000) Lost connection to ${who} server during query`, '00', 'ERROR');
}

// ---------------------------------------------------------------- jobs

export type ToolStart = { result: { code: number; stdout: string; stderr: string } } | { events: JobEvent[]; tool: ToolPlan };

const fail = (stderr: string, code = 1) => ({ result: { code, stdout: '', stderr } });

/**
 * Starting `T --backup|--prepare|--move-back` as a job (inside world.mutate):
 * an answer at once when the arguments or the directories are wrong, else
 * the schedule of its output, on absolute virtual times from `t`.
 */
export function startTool(world: SimWorld, w: WorldState, id: string, program: string, args: string[], t: number): ToolStart {
  const node = w.mysql[id];
  if (!node || !hasTool(w, id, program)) return fail(`sh: 1: ${program}: not found\n`, 127);
  const a = toolArgs(args);
  const fl = node.flavour;
  if (a.version) return { result: versionOf(w, id, program) };
  if (!a.mode) return fail(toolLine(fl, t, 'Error: Please set one of --backup, --prepare, --copy-back, --move-back', '00', 'ERROR'));
  if (!a.targetDir) return fail(toolLine(fl, t, 'Error: target-dir is not set', '00', 'ERROR'));
  const dir = normalise(a.targetDir);
  if (!dir) return fail(toolLine(fl, t, `Error: target-dir ${a.targetDir} must be absolute on the simulated host`, '00', 'ERROR'));
  const prng = new Prng(hash32(w.seed, keyOf(id), t % 1_000_000_007));
  if (a.mode === 'backup') return planBackup(world, w, id, a, dir, t, prng);
  if (a.mode === 'prepare') return planPrepare(w, id, a, dir, t, prng);
  return planMoveBack(w, id, a, dir, t);
}

function header(fl: string, w: WorldState, id: string, t: number, datadir: string): string {
  const node = w.mysql[id]!;
  const who = fl === 'mariadb' ? 'MariaDB' : 'MySQL';
  return (
    toolLine(fl, t, `Connecting to ${who} server host: localhost, user: root, password: not set, port: not set, socket: not set`) +
    toolLine(fl, t, `Using server version ${node.version}`) +
    toolLine(fl, t, `${fl === 'mariadb' ? 'mariadb-backup' : 'xtrabackup'} based on ${who} server ${node.version.replace(/-MariaDB.*$/, fl === 'mariadb' ? '-MariaDB' : '')} Linux (x86_64)`) +
    toolLine(fl, t, `cd to ${datadir}/`) +
    toolLine(fl, t, 'open files limit requested 0, set to 1024')
  );
}

function planBackup(world: SimWorld, w: WorldState, id: string, a: ToolArgs, dir: string, t: number, prng: Prng): ToolStart {
  const fl = w.mysql[id]!.flavour;
  const datadir = normalise(a.datadir ?? hostOf(w, id).datadir) ?? DATADIR;
  if (!world.mysqlUp(id)) {
    const who = fl === 'mariadb' ? 'MariaDB' : 'MySQL';
    return fail(toolLine(fl, t, `Failed to connect to ${who} server: Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2).`, '00', 'ERROR'));
  }
  const dd = nodeAt(w, id, datadir);
  if (!dd) return fail(toolLine(fl, t, `Error: failed to change directory to ${datadir} (errno 2 "No such file or directory")`, '00', 'ERROR'));
  const target = nodeAt(w, id, dir);
  if (target && listDir(w, id, dir).length > 0) {
    return fail(toolLine(fl, t, `Can't create/write to file '${dir}' (Errcode: 17 "File exists")`, '00', 'ERROR') + toolLine(fl, t, `Error: cannot mkdir ${dir}: 17`, '00', 'ERROR'));
  }
  const parent = dir.slice(0, dir.lastIndexOf('/')) || '/';
  if (!target && !nodeAt(w, id, parent)) {
    return fail(toolLine(fl, t, `Can't create directory '${dir}' (Errcode: 2 "No such file or directory")`, '00', 'ERROR') + toolLine(fl, t, `Error: cannot mkdir ${dir}: 2`, '00', 'ERROR'));
  }
  // The tool makes its target dir, and the image in it grows as it writes.
  const at = locate(w, id, dir);
  at.fs.files[at.rel] ??= { kind: 'dir', bytes: 0, owner: 'root:root' };
  at.fs.files[at.rel]!.image = partialImage(w, id, t);
  const bytes = duBytes(w, id, datadir);
  const rate = (150 + prng.next() * 100) * MB;
  const events: JobEvent[] = [];
  let now = t;
  events.push({ at: now, stderr: header(fl, w, id, now, datadir) + toolLine(fl, now, `>> log scanned up to (${1_000_000 + Math.floor(bytes / 4096)})`) });
  const safeEarly = safeSlaveAtStart(fl);
  if (a.safeSlave && safeEarly && w.mysql[id]!.replica) events.push({ at: now, stderr: safeSlaveStopLines(fl, now), tool: { phase: 'safe' } });
  const chunk = Math.max(512 * MB, Math.ceil(bytes / 80));
  const files = dataFiles(fl, bytes, prng);
  let thread = 0;
  for (const f of files) {
    const th = String(1 + (thread++ % a.parallel)).padStart(2, '0');
    events.push({ at: now, stderr: toolLine(fl, now, `Copying ${f.name} to ${dir}/${f.name.slice(2)}`, th) });
    let left = f.bytes;
    while (left > 0) {
      const n = Math.min(chunk, left);
      now += Math.max(1, Math.round((n / rate) * 1000));
      left -= n;
      const ev: JobEvent = { at: now, tool: { write: n, file: `${dir}/${f.name.slice(2)}` } };
      if (left === 0) ev.stderr = toolLine(fl, now, '        ...done', th);
      events.push(ev);
    }
  }
  now += 200;
  let lock = '';
  const safeLate = a.safeSlave && !safeEarly && !!w.mysql[id]!.replica;
  if (safeLate) lock += safeSlaveStopLines(fl, now);
  lock += fl === 'mariadb' ? toolLine(fl, now, 'Acquiring BACKUP LOCKS...') : toolLine(fl, now, 'Executing LOCK INSTANCE FOR BACKUP ...');
  lock += toolLine(fl, now, 'Starting to backup non-InnoDB tables and files');
  events.push({ at: now, stderr: lock, tool: safeLate ? { phase: 'safe' } : {} });
  now += 1_500 + prng.int(0, 3_000);
  events.push({ at: now, stderr: toolLine(fl, now, 'Finished backing up non-InnoDB tables and files'), tool: { write: 2 * MB } });
  now += 500 + prng.int(0, 1_000);
  events.push({ at: now, tool: { phase: 'done' }, end: { code: 0 } });
  return { events, tool: { kind: 'backup', dir, safeSlave: a.safeSlave } };
}

function planPrepare(w: WorldState, id: string, a: ToolArgs, dir: string, t: number, prng: Prng): ToolStart {
  const fl = w.mysql[id]!.flavour;
  const node = nodeAt(w, id, dir);
  const img = node?.image;
  if (!node || !img || !img.complete || img.dataMoved) {
    const name = 'xtrabackup_checkpoints';
    return fail(toolLine(fl, t, `Error: cannot open ${dir}/${img ? name.replace('xtrabackup_', prefixFor(img)) : name}`, '00', 'ERROR'));
  }
  const mem = (a.useMemoryMB ?? 100) * MB;
  const events: JobEvent[] = [];
  let now = t;
  const lines =
    toolLine(fl, now, `${fl === 'mariadb' ? 'mariadb-backup' : 'xtrabackup'} version ${img.version.replace(/-MariaDB.*$/, '')} based on ${fl === 'mariadb' ? 'MariaDB' : 'MySQL'} server ${img.version} Linux (x86_64)`) +
    toolLine(fl, now, `cd to ${dir}/`) +
    (img.prepared ? '' : toolLine(fl, now, 'Starting InnoDB instance for recovery.')) +
    toolLine(fl, now, `Using ${mem} bytes for buffer pool (set by --use-memory parameter)`);
  events.push({ at: now, stderr: lines });
  if (!img.prepared) {
    // Applying the redo the backup copied: a few per cent of the copy's time.
    const ms = Math.round(5_000 + (img.bytes / (200 * MB)) * 1000 * (0.02 + prng.next() * 0.03));
    now += Math.round(ms * 0.2);
    events.push({ at: now, stderr: toolLine(fl, now, `InnoDB: Starting crash recovery from checkpoint LSN=${img.toLsn - 4_000}`) });
    for (const p of [25, 50, 75, 99]) {
      now += Math.round(ms * 0.18);
      events.push({ at: now, stderr: toolLine(fl, now, `InnoDB: To recover: ${Math.max(1, Math.round((100 - p) * 12))} pages from log`) });
    }
    now += Math.round(ms * 0.08);
    events.push({ at: now, stderr: toolLine(fl, now, 'InnoDB: Starting final batch to recover pages from redo log.') + toolLine(fl, now, `Last binlog file ${img.binlogFile}, position ${img.binlogPos}`), tool: { write: 48 * MB } });
  } else if (fl === 'mysql') {
    events.push({ at: now, stderr: toolLine(fl, now, 'This target seems to be already prepared.') });
  }
  now += 300;
  events.push({ at: now, tool: { phase: 'done' }, end: { code: 0 } });
  return { events, tool: { kind: 'prepare', dir } };
}

function prefixFor(img: BackupImage): string {
  return img.flavour === 'mariadb' && Number(img.version.split('.')[0]) >= 11 ? 'mariadb_backup_' : 'xtrabackup_';
}

function planMoveBack(w: WorldState, id: string, a: ToolArgs, dir: string, t: number): ToolStart {
  const fl = w.mysql[id]!.flavour;
  const datadir = normalise(a.datadir ?? hostOf(w, id).datadir) ?? DATADIR;
  const copy = nodeAt(w, id, dir);
  const img = copy?.image;
  if (!copy || !img || !img.complete) {
    return fail(toolLine(fl, t, `Error: cannot open ${dir}/${img ? `${prefixFor(img)}checkpoints` : 'xtrabackup_checkpoints'}`, '00', 'ERROR'));
  }
  if (img.dataMoved) return fail(toolLine(fl, t, `Error: cannot open ${dir}/ibdata1 (errno 2 "No such file or directory"): its files were moved back already`, '00', 'ERROR'));
  const dd = nodeAt(w, id, datadir);
  if (dd && listDir(w, id, datadir).length > 0) {
    return fail(toolLine(fl, t, `Original data directory ${datadir} is not empty!`, '00', 'ERROR'));
  }
  if (!dd) {
    const at = locate(w, id, datadir);
    const parent = nodeAt(w, id, datadir.slice(0, datadir.lastIndexOf('/')) || '/');
    if (!parent) return fail(toolLine(fl, t, `Can't create directory '${datadir}' (Errcode: 2 "No such file or directory")`, '00', 'ERROR'));
    at.fs.files[at.rel] = { kind: 'dir', bytes: 0, owner: 'root:root' };
  }
  const rename = locate(w, id, dir).mount.fs === locate(w, id, datadir).mount.fs;
  const prng = new Prng(hash32(w.seed, keyOf(id), 77));
  const files = dataFiles(fl, img.bytes, prng);
  const events: JobEvent[] = [];
  let now = t;
  const rate = 180 * MB;
  const chunk = Math.max(512 * MB, Math.ceil(img.bytes / 80));
  for (const f of files) {
    events.push({ at: now, stderr: toolLine(fl, now, `Moving ${f.name} to ${datadir}/${f.name.slice(2)}`, '01') });
    if (rename) {
      now += 20;
      events.push({ at: now, stderr: toolLine(fl, now, '        ...done', '01'), tool: { write: f.bytes } });
      continue;
    }
    let left = f.bytes;
    while (left > 0) {
      const n = Math.min(chunk, left);
      now += Math.max(1, Math.round((n / rate) * 1000));
      left -= n;
      const ev: JobEvent = { at: now, tool: { write: n, file: `${datadir}/${f.name.slice(2)}` } };
      if (left === 0) ev.stderr = toolLine(fl, now, '        ...done', '01');
      events.push(ev);
    }
  }
  now += 100;
  events.push({ at: now, tool: { phase: 'done' }, end: { code: 0 } });
  return { events, tool: { kind: 'move-back', dir: datadir, from: dir, rename } };
}

/**
 * Plays a tool step before its line is written (inside the world's settle):
 * the bytes, the checks a real one would fail at, the lock phase, the end.
 * A failure replaces the rest of the schedule with the tool's last lines and its exit.
 */
export function playToolEvent(world: SimWorld, w: WorldState, job: SimJob, ev: JobEvent): void {
  const plan = job.plan!;
  const tool = plan.tool!;
  const step = ev.tool;
  const fl = w.mysql[job.node]?.flavour ?? 'mysql';
  const failWith = (stderr: string) => {
    plan.events.splice(plan.next, plan.events.length - plan.next, { at: ev.at, stderr, end: { code: 1 } });
  };
  if (tool.kind === 'backup') {
    if (!world.mysqlUp(job.node)) return failWith(serverGoneLines(fl, ev.at));
    if (step?.write !== undefined && plan.next > plan.events.length * 0.4) {
      const fault = backupFault(world, w, job.node);
      if (fault) return failWith(faultLines(fl, ev.at, fault, step.file ?? './ibdata1'));
    }
  }
  if (!step) return;
  const dirNode = nodeAt(w, job.node, tool.dir);
  if (step.write !== undefined) {
    if (!dirNode) return failWith(toolLine(fl, ev.at, `Error: failed to write to ${step.file ?? tool.dir} (errno: 2 "No such file or directory")`, '01', 'ERROR'));
    const fits = writeInto(w, job.node, tool.dir, step.write);
    if (tool.kind === 'move-back' && tool.from) {
      const from = nodeAt(w, job.node, tool.from);
      if (from) from.bytes = Math.max(0, from.bytes - (tool.rename ? 0 : fits));
      if (tool.rename && from) {
        // A rename takes no room: undo the write's count on the fs and move the bytes.
        dirNode.bytes -= fits;
        const moved = Math.min(step.write, from.bytes);
        from.bytes -= moved;
        dirNode.bytes += moved;
      }
    }
    if (dirNode.image && tool.kind === 'backup') dirNode.image.bytes = dirNode.bytes;
    if (fits < step.write && !(tool.kind === 'move-back' && tool.rename)) return failWith(diskFullLines(fl, ev.at, step.file ?? tool.dir));
  }
  if (step.phase === 'safe' && tool.kind === 'backup' && tool.safeSlave) tool.sqlStopped = stopSql(world, w, job.node, ev.at) || !!tool.sqlStopped;
  if (step.phase === 'done') finishTool(world, w, job, ev, dirNode);
}

function finishTool(world: SimWorld, w: WorldState, job: SimJob, ev: JobEvent, dirNode: FileNode | undefined): void {
  const tool = job.plan!.tool!;
  const fl = w.mysql[job.node]?.flavour ?? 'mysql';
  const at = ev.at;
  let text = '';
  if (tool.kind === 'backup' && dirNode) {
    const img = imageOf(world, w, job.node, at, dirNode.bytes);
    dirNode.image = img;
    text += fl === 'mariadb' ? toolLine(fl, at, 'Executing BACKUP STAGE END') + toolLine(fl, at, 'All tables unlocked') : toolLine(fl, at, 'Executing UNLOCK INSTANCE') + toolLine(fl, at, 'All tables unlocked');
    text += toolLine(fl, at, `Backup created in directory '${tool.dir}/'`);
    text += toolLine(fl, at, `MySQL binlog position: filename '${img.binlogFile}', position '${img.binlogPos}', GTID of the last change '${img.gtid.replace(/\n/g, '')}'`);
    if (img.slaveInfo) text += toolLine(fl, at, `MySQL slave binlog position: master host '${img.slaveInfo.host}', gtid_slave_pos ${img.slaveInfo.gtid.replace(/\n/g, '')}`);
    text += toolLine(fl, at, 'Writing backup-my.cnf') + toolLine(fl, at, '        ...done');
    text += toolLine(fl, at, `Writing ${prefixFor(img)}info`) + toolLine(fl, at, '        ...done');
    text += toolLine(fl, at, `Redo log (from LSN ${img.toLsn - 4_000} to ${img.toLsn}) was copied.`);
    if (tool.sqlStopped) {
      startSql(world, w, job.node, at);
      text += toolLine(fl, at, fl === 'mariadb' ? 'Starting slave SQL thread' : 'Starting replica SQL thread');
    }
  }
  if (tool.kind === 'prepare' && dirNode?.image) {
    dirNode.image.prepared = true;
    text += toolLine(fl, at, 'Shutdown completed; log sequence number ' + dirNode.image.toLsn);
  }
  if (tool.kind === 'move-back' && dirNode && tool.from) {
    const from = nodeAt(w, job.node, tool.from);
    if (from?.image) {
      dirNode.image = { ...from.image, movedBack: true };
      // The files it moved in are root's, as the tool ran as root: mysqld cannot open them until a chown.
      dirNode.owner = 'root:root';
      // What stays behind: the tool's own files (checkpoints, binlog info), still readable.
      from.bytes = 0;
      from.image.dataMoved = true;
    }
  }
  ev.stderr = (ev.stderr ?? '') + text + toolLine(fl, at, 'completed OK!');
}

// ---------------------------------------------------------------- processes (pkill)

/** Ends the processes on `id` whose command `match`es (stream sources, jobs): how many there were. */
export function endProcesses(world: SimWorld, w: WorldState, id: string, match: (command: string) => boolean, t: number): number {
  pruneOrphans(w, t);
  let n = 0;
  for (const [key, p] of Object.entries(w.procs ?? {})) {
    if (p.node !== id || !match(p.command)) continue;
    delete w.procs![key];
    n++;
  }
  for (const job of Object.values(w.jobs)) {
    if (job.node !== id || job.state !== 'running' || !match(job.command)) continue;
    endJob(job, t, 143, '', '', 'SIGTERM');
    n++;
  }
  if (n > 0) world.bump();
  return n;
}

/** Stream sources whose nightshift process died: each noticed at its next write and ended. */
export function pruneOrphans(w: WorldState, t: number): void {
  for (const [key, p] of Object.entries(w.procs ?? {})) {
    if (t < p.lastBeat + ORPHAN_NOTICE_MS || livePipes.has(key)) continue;
    if (p.ranBy === me() || !isAliveElsewhere(p.ranBy, me())) delete w.procs![key];
  }
}

function me(): string {
  return `${hostname()}:${process.pid}`;
}

/** Streams this process is relaying, by proc key: their sources are not orphans. */
const livePipes = new Set<string>();

// ---------------------------------------------------------------- the server starting from its datadir

/** `systemctl start` of a stopped MySQL unit: the error when the datadir cannot be started from (the unit failed), else undefined. */
export function startMysqld(world: SimWorld, w: WorldState, id: string, t: number, unit: string): { code: number; stdout: string; stderr: string } | undefined {
  const h = hostOf(w, id);
  const node = w.mysql[id]!;
  const dd = nodeAt(w, id, h.datadir);
  const why = startFailure(w, id, dd, h.datadir);
  if (why) {
    const iso = isoAt(t);
    const stamp = node.flavour === 'mariadb' ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} 0` : `${iso.slice(0, 23)}000Z 0`;
    const text = why.map((l) => `${stamp} ${l}\n`).join('');
    const log = nodeAt(w, id, '/var/log/mysql/error.log');
    if (log) log.text = (log.text ?? '') + text;
    h.failed = { at: t, why: why[0]! };
    world.bump();
    return {
      code: 1,
      stdout: '',
      stderr: `Job for ${unit}.service failed because the control process exited with error code.\nSee "systemctl status ${unit}.service" and "journalctl -xeu ${unit}.service" for details.\n`,
    };
  }
  delete h.failed;
  const img = dd!.image;
  if (img) {
    // The server comes up on the copy: it knows what the source had executed, and is nobody's replica.
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    node.base = { ...img.knowledge };
    node.baseAt = t;
    for (const sid of node.ownSegments) {
      const seg = w.segments[sid]!;
      if (seg.endT === null) seg.endT = Math.max(seg.startT, t);
    }
    node.ownSegments = [];
    delete node.replica;
    node.binlogBase = 0;
    delete dd!.image;
    dd!.live = true;
    world.forget();
    world.bump();
  }
  return undefined;
}

function startFailure(w: WorldState, id: string, dd: FileNode | undefined, datadir: string): string[] | undefined {
  const maria = w.mysql[id]!.flavour === 'mariadb';
  const err = (code: string, area: string, text: string) => (maria ? `[ERROR] ${area === 'InnoDB' ? 'InnoDB: ' : ''}${text}` : `[ERROR] [${code}] [${area}] ${text}`);
  if (!dd || dd.kind !== 'dir') {
    return maria
      ? [`[ERROR] mariadbd: Can't change dir to '${datadir}/' (Errcode: 2 "No such file or directory")`, '[ERROR] Aborting']
      : [`[ERROR] [MY-010172] [Server] failed to set datadir to '${datadir}/' (OS errno: 2 - No such file or directory)`, '[ERROR] [MY-010119] [Server] Aborting'];
  }
  if (!dd.owner.startsWith('mysql')) {
    return [
      err('MY-012592', 'InnoDB', 'Operating system error number 13 in a file operation.'),
      err('MY-012595', 'InnoDB', 'The error means mysqld does not have the access rights to the directory.'),
      err('MY-012930', 'InnoDB', 'Plugin initialization aborted with error Generic error.'),
      maria ? '[ERROR] Aborting' : '[ERROR] [MY-010119] [Server] Aborting',
    ];
  }
  if (dd.live) return undefined;
  const img = dd.image;
  if (!img) {
    return maria
      ? ["[ERROR] Fatal error: Can't open and lock privilege tables: Table 'mysql.db' doesn't exist", '[ERROR] Aborting']
      : ['[ERROR] [MY-011011] [Server] Failed to find valid data directory.', '[ERROR] [MY-010020] [Server] Data Dictionary initialization failed.', '[ERROR] [MY-010119] [Server] Aborting'];
  }
  if (!img.prepared || !img.complete) {
    return maria
      ? [
          `[ERROR] InnoDB: Missing FILE_CHECKPOINT(${img.toLsn - 4_000}) at ${img.toLsn}`,
          '[ERROR] InnoDB: Plugin initialization aborted at srv0start.cc[1491] with error Data structure corruption',
          "[ERROR] Plugin 'InnoDB' registration as a STORAGE ENGINE failed.",
          '[ERROR] Unknown/unsupported storage engine: InnoDB',
          '[ERROR] Aborting',
        ]
      : [
          '[ERROR] [MY-012960] [InnoDB] Cannot create redo log files because data files are corrupt or the database was not shut down cleanly after creating the data files.',
          '[ERROR] [MY-012930] [InnoDB] Plugin initialization aborted with error Generic error.',
          '[ERROR] [MY-010334] [Server] Failed to initialize DD Storage Engine',
          '[ERROR] [MY-010020] [Server] Data Dictionary initialization failed.',
          '[ERROR] [MY-010119] [Server] Aborting',
        ];
  }
  return undefined;
}


// ---------------------------------------------------------------- the stream (Shell.pipe)

const STREAM_BYTES_PER_S = { min: 100 * MB, max: 150 * MB };

/**
 * mbstream/xbstream when the sender stops part-way: a cut between two
 * chunks reads as a clean end (exit 0, as the lab saw after a kill -9), so
 * only the sender's exit and its `completed OK!` say the copy is whole.
 */
const CUT_STREAM: ExecResult = { code: 0, signal: null, stdout: '', stderr: '' };

class PipeTimeoutError extends Error {
  override name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
}

function result(code: number | null, stderr: string, stdout = '', signal: string | null = null): ExecResult {
  return { code, signal, stdout, stderr };
}

/**
 * `from.command` (the backup tool streaming) relayed to `to.command`
 * (mbstream/xbstream extracting) through this process: see Shell.pipe.
 */
export async function runPipe(world: SimWorld, shell: SimShell, from: PipeEnd, to: PipeEnd, opts: PipeOptions = {}): Promise<PipeResult> {
  const src = await shell.reach(from.node, opts);
  const dst = await shell.reach(to.node, opts);
  const pf = parseCommand(from.command);
  const pt = parseCommand(to.command);
  const emit = (end: 'from' | 'to', text: string) => {
    if (text) opts.onStderr?.(end, text);
    return text;
  };
  const simple = (p: { error?: string; operator?: string }) => (p.error ? `sh: 1: ${p.error}\n` : p.operator ? `sh: 1: the simulated host runs simple commands only, not "${p.operator}"\n` : undefined);
  const e1 = simple(pf);
  const e2 = simple(pt);
  if (e1 || e2) return { from: result(e1 ? 2 : 0, e1 ?? ''), to: result(e2 ? 2 : 0, e2 ?? ''), bytes: 0 };

  type Go = { key: string; fl: string; total: number; rate: number; staging: string; datadir: string; files: DataFile[]; safeSlave: boolean; head: string; tmpDir: string };
  const started = world.mutate((w, t): { done: PipeResult } | { go: Go } => {
    pruneOrphans(w, t);
    const fl = w.mysql[src]?.flavour ?? 'mysql';
    if (!hasTool(w, dst, pt.program) || !STREAM_PROGRAMS.has(pt.program)) {
      return { done: { from: result(1, `${toolLine(fl, t, 'xtrabackup: Error writing file \'UNOPENED\' (OS errno 32 - Broken pipe)', '00', 'ERROR')}`), to: result(127, `sh: 1: ${pt.program}: not found\n`), bytes: 0 } };
    }
    if (!hasTool(w, src, pf.program) || !BACKUP_PROGRAMS.has(pf.program)) return { done: { from: result(127, `sh: 1: ${pf.program}: not found\n`), to: result(0, ''), bytes: 0 } };
    const a = toolArgs(pf.args);
    const x = pt.args.indexOf('-C');
    const staging = x >= 0 ? normalise(pt.args[x + 1] ?? '') : undefined;
    if (!pt.args.includes('-x') || !staging) return { done: { from: result(1, toolLine(fl, t, "Error writing file 'UNOPENED' (OS errno 32 - Broken pipe)", '00', 'ERROR')), to: result(1, `${pt.program}: the simulated host extracts with -x -C <dir> only\n`), bytes: 0 } };
    if (!nodeAt(w, dst, staging)) {
      return { done: { from: result(1, toolLine(fl, t, "Error writing file 'UNOPENED' (OS errno 32 - Broken pipe)", '00', 'ERROR')), to: result(1, `${pt.program}: Can't change dir to '${staging}' (OS errno 2 - No such file or directory)\n`), bytes: 0 } };
    }
    if (a.mode !== 'backup' || !a.stream) return { done: { from: result(1, toolLine(fl, t, 'Error: the simulated host streams --backup --stream=xbstream only', '00', 'ERROR')), to: result(0, ''), bytes: 0 } };
    if (!world.mysqlUp(src)) {
      const who = fl === 'mariadb' ? 'MariaDB' : 'MySQL';
      return { done: { from: result(1, toolLine(fl, t, `Failed to connect to ${who} server: Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2).`, '00', 'ERROR')), to: result(0, ''), bytes: 0 } };
    }
    const dd = normalise(a.datadir ?? hostOf(w, src).datadir) ?? DATADIR;
    if (!nodeAt(w, src, dd)) return { done: { from: result(1, toolLine(fl, t, `Error: failed to change directory to ${dd} (errno 2 "No such file or directory")`, '00', 'ERROR')), to: result(0, ''), bytes: 0 } };
    const datadir = normalise(a.datadir ?? hostOf(w, src).datadir) ?? DATADIR;
    const total = duBytes(w, src, datadir);
    const prng = new Prng(hash32(w.seed, keyOf(src), keyOf(dst), t % 1_000_000_007));
    const rate = STREAM_BYTES_PER_S.min + prng.next() * (STREAM_BYTES_PER_S.max - STREAM_BYTES_PER_S.min);
    const pid = 2_000 + (hash32(w.seed, keyOf(src), t) % 60_000);
    const key = `${src}|${pid}`;
    const proc: SimProcess = { node: src, pid, command: from.command, ranBy: me(), startedAt: t, lastBeat: t };
    (w.procs ??= {})[key] = proc;
    livePipes.add(key);
    const at = locate(w, dst, staging);
    const stagingNode = at.fs.files[at.rel]!;
    stagingNode.image = partialImage(w, src, t);
    const files = dataFiles(fl, total, prng);
    world.bump();
    return { go: { key, fl, total, rate, staging, datadir, files, safeSlave: a.safeSlave, head: header(fl, w, src, t, datadir), tmpDir: normalise(a.targetDir ?? '/tmp') ?? '/tmp' } };
  });
  if ('done' in started) {
    emit('from', started.done.from.stderr);
    emit('to', started.done.to.stderr);
    return started.done;
  }
  const s = started.go;
  const stoppedSql = { value: false };
  let fromErr = emit('from', s.head);
  if (s.safeSlave && safeSlaveAtStart(s.fl)) {
    stoppedSql.value = world.mutate((w, t) => {
      const stopped = stopSql(world, w, src, t);
      if (w.procs?.[s.key]) w.procs[s.key]!.sqlStopped = stopped;
      return stopped;
    });
    if (stoppedSql.value) fromErr += emit('from', safeSlaveStopLines(s.fl, world.now()));
  }
  let bytes = 0;
  let fileIdx = 0;
  let fileEnd = 0;
  let lastProgressAt = world.now();
  const step = Math.min(10_000, Math.max(1_000, Math.round(((s.total / s.rate) * 1000) / 150)));
  // Both ends closed: the source dies at its next write (EPIPE), leaving the SQL thread as it was.
  const close = () =>
    world.mutate((w) => {
      livePipes.delete(s.key);
      delete w.procs?.[s.key];
    });
  let locked = false;
  try {
    for (;;) {
      const t0 = world.now();
      const next = Math.min(t0 + step, t0 + Math.max(1, Math.ceil(((s.total - bytes) / s.rate) * 1000)));
      if (opts.signal?.aborted) throw abortError(opts.signal);
      await sleepTurn(world, next, opts.signal);
      const out = world.mutate((w, t) => {
        const fl = s.fl;
        if (!w.procs?.[s.key]) return { end: { from: result(null, '', '', 'SIGTERM'), to: CUT_STREAM } };
        for (const [node, name] of [[src, from.node], [dst, to.node]] as const) {
          if (world.sshState(node) !== 'ok') return { drop: `${(name as Instance).privateIp}` };
        }
        if (!world.mysqlUp(src)) return { end: { from: result(1, serverGoneLines(fl, t)), to: CUT_STREAM } };
        const io = world.hasFault(src, 'io-stuck');
        const want = io ? 0 : Math.min(s.total - bytes, Math.round((s.rate * (t - t0)) / 1000));
        if (bytes > s.total * 0.4 && want > 0) {
          const fault = backupFault(world, w, src);
          if (fault) return { end: { from: result(1, faultLines(fl, t, fault, s.files[fileIdx]?.name ?? './ibdata1')), to: CUT_STREAM } };
        }
        const fits = writeInto(w, dst, s.staging, want);
        const staged = nodeAt(w, dst, s.staging);
        if (staged?.image) staged.image.bytes = staged.bytes;
        w.procs![s.key]!.lastBeat = t;
        let lines = '';
        const got = bytes + fits;
        while (fileIdx < s.files.length && fileEnd <= got) {
          const f = s.files[fileIdx]!;
          if (fileEnd > 0 || fileIdx > 0) lines += toolLine(fl, t, '        ...done', '01');
          lines += toolLine(fl, t, `Streaming ${f.name}`, '01');
          fileEnd += f.bytes;
          fileIdx++;
        }
        if (fits < want) {
          const file = s.files[Math.max(0, fileIdx - 1)]?.name.slice(2) ?? 'ibdata1';
          return {
            fits,
            lines,
            end: {
              from: result(1, toolLine(fl, t, "xtrabackup: Error writing file 'UNOPENED' (OS errno 32 - Broken pipe)", '01', 'ERROR') + toolLine(fl, t, 'Error: failed to copy datafile.', '00', 'ERROR')),
              to: result(1, `${pt.program}: failed to write to file '${s.staging}/${file}' (errno: 28 "No space left on device")\n`),
            },
          };
        }
        let done = false;
        if (got >= s.total) {
          if (!locked) {
            locked = true;
            if (s.safeSlave && !safeSlaveAtStart(fl)) {
              stoppedSql.value = stopSql(world, w, src, t);
              w.procs![s.key]!.sqlStopped = stoppedSql.value;
              lines += stoppedSql.value ? safeSlaveStopLines(fl, t) : '';
            }
            lines += toolLine(fl, t, fl === 'mariadb' ? 'Acquiring BACKUP LOCKS...' : 'Executing LOCK INSTANCE FOR BACKUP ...');
            // The non-InnoDB phase: a few seconds more before the end.
            return { fits, lines, lockUntil: t + 2_000 };
          }
          done = true;
          const img = imageOf(world, w, src, t, staged?.bytes ?? got);
          if (staged) staged.image = img;
          lines += toolLine(fl, t, `Backup created in directory '${s.tmpDir}/'`);
          lines += toolLine(fl, t, `MySQL binlog position: filename '${img.binlogFile}', position '${img.binlogPos}', GTID of the last change '${img.gtid.replace(/\n/g, '')}'`);
          if (stoppedSql.value) {
            startSql(world, w, src, t);
            lines += toolLine(fl, t, fl === 'mariadb' ? 'Starting slave SQL thread' : 'Starting replica SQL thread');
          }
          lines += toolLine(fl, t, 'completed OK!');
          delete w.procs![s.key];
          livePipes.delete(s.key);
        }
        return { fits, lines, done };
      });
      if ('drop' in out) {
        close();
        throw new SimSshError(`read ECONNRESET: the connection to ${out.drop}:22 dropped in the middle of the stream`, 'ETIMEDOUT', out.drop!);
      }
      if ('fits' in out) {
        bytes += out.fits!;
        if (out.fits! > 0) {
          lastProgressAt = world.now();
          opts.onProgress?.(bytes);
        }
        fromErr += emit('from', out.lines ?? '');
      }
      if ('lockUntil' in out) {
        await sleepTurn(world, out.lockUntil!, opts.signal);
        continue;
      }
      if ('end' in out) {
        close();
        fromErr += emit('from', out.end!.from.stderr);
        emit('to', out.end!.to.stderr);
        return { from: { ...out.end!.from, stderr: fromErr }, to: out.end!.to, bytes };
      }
      if ('done' in out && out.done) return { from: result(0, fromErr), to: result(0, ''), bytes };
      if (opts.idleTimeoutMs !== undefined && world.now() - lastProgressAt >= opts.idleTimeoutMs) {
        close();
        throw new PipeTimeoutError(`pipe ${from.node.name} -> ${to.node.name}: no byte relayed for ${Math.round(opts.idleTimeoutMs / 1000)} s; both ends closed`);
      }
    }
  } catch (err) {
    if (livePipes.has(s.key)) close();
    throw err;
  }
}

/** Sleeps on the fleet's clock, then ends the turn, so a loop on virtual time never spins inside one instant. */
async function sleepTurn(world: SimWorld, until: number, signal?: AbortSignal): Promise<void> {
  await world.clock.sleepUntil(until, signal);
  if (world.now() < until) await new Promise<void>((resolve) => setImmediate(resolve));
}


// ---------------------------------------------------------------- a tool run on a plain channel

/**
 * `T --backup|--prepare|--move-back` run through exec rather than as a job:
 * the same schedule, played inside the command on its clock, so it stops
 * where the command's limit, the signal or a dropped channel stop it (what it
 * did by then stays done; a SQL thread it stopped stays stopped). The
 * process is listed for pkill while it runs.
 */
export async function runToolInline(
  world: SimWorld,
  id: string,
  program: string,
  args: string[],
  command: string,
  ctx: { sleepUntil(t: number): Promise<void>; onStderr?: ((chunk: string) => void) | undefined },
): Promise<{ code: number; stdout: string; stderr: string; streamed: true }> {
  const begun = world.mutate((w, t) => {
    const start = startTool(world, w, id, program, args, t);
    if ('result' in start) return start;
    const pid = 3_000 + (hash32(w.seed, keyOf(id), t) % 60_000);
    const key = `${id}|${pid}`;
    (w.procs ??= {})[key] = { node: id, pid, command, ranBy: me(), startedAt: t, lastBeat: t };
    livePipes.add(key);
    return { ...start, key, at: t };
  });
  if ('result' in begun) {
    if (begun.result.stderr) ctx.onStderr?.(begun.result.stderr);
    return { ...begun.result, streamed: true };
  }
  const job: SimJob = { node: id, id: 'exec', command, pid: 0, startedAt: begun.at, state: 'running', stdout: '', stderr: '', plan: { events: begun.events, next: 0, tool: begun.tool } };
  const plan = job.plan!;
  let stderr = '';
  try {
    while (plan.next < plan.events.length) {
      await ctx.sleepUntil(plan.events[plan.next]!.at);
      const host = world.view().instances[id]!;
      if (!world.hostUp(id)) throw new SimSshError(`read ETIMEDOUT: the connection to ${host.privateIp}:22 dropped while ${program} ran`, 'ETIMEDOUT', host.privateIp);
      const ev = world.mutate((w) => {
        if (!w.procs?.[begun.key]) return { at: world.now(), end: { code: 143 } } as JobEvent;
        w.procs[begun.key]!.lastBeat = plan.events[plan.next]!.at;
        playToolEvent(world, w, job, plan.events[plan.next]!);
        return plan.events[plan.next++]!;
      });
      if (ev.stderr) {
        stderr += ev.stderr;
        ctx.onStderr?.(ev.stderr);
      }
      if (ev.end) return { code: ev.end.code ?? 1, stdout: '', stderr, streamed: true };
    }
    return { code: 0, stdout: '', stderr, streamed: true };
  } finally {
    livePipes.delete(begun.key);
    world.mutate((w) => {
      delete w.procs?.[begun.key];
    });
  }
}
