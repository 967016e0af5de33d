// The commands a rebuild runs on a node, and the readers of what they print:
// the backup tool by flavour (xtrabackup/xbstream for MySQL, mariadb-backup/
// mbstream for MariaDB), the file-system commands around it (du, df, ls, mv,
// mount), and the backup's own metadata files. Every command is one simple
// command line (no pipes, no `&&`): the simulated fleet answers the same
// lines, and each can be shown in the plan exactly as it runs.

import type { MysqlFlavour } from '../../domain/types.js';
import { shellQuote } from './shell-quote.js';

export interface BackupTools {
  /** `mariadb-backup` / `xtrabackup` */
  backup: string;
  /** `mbstream` / `xbstream` */
  stream: string;
}

export function backupTools(flavour: MysqlFlavour): BackupTools {
  return flavour === 'mariadb' ? { backup: 'mariadb-backup', stream: 'mbstream' } : { backup: 'xtrabackup', stream: 'xbstream' };
}

/** Where the EBS path mounts its volumes. */
export const BACKUP_MOUNT = '/mnt/nightshift-backup';
export const RESTORE_MOUNT = '/mnt/nightshift-restore';
/** The devices the EBS path attaches its volumes as (Nitro instances show them as nvme, found by serial). */
export const BACKUP_DEVICE = '/dev/sdf';
export const RESTORE_DEVICE = '/dev/sdg';

const q = shellQuote;
/** `sudo -n du` or `du`: the prefix is the config's `engines.privileged`. */
const as = (privileged: string, command: string) => (privileged.trim() === '' ? command : `${privileged.trim()} ${command}`);

/** A path a rebuild may delete: only what it made itself. */
export function isOwnScratch(path: string, token: string): boolean {
  if (!/^\/[^\0\n]*$/.test(path) || path.split('/').includes('..')) return false;
  return (
    path.startsWith(`${BACKUP_MOUNT}/`) ||
    path.startsWith(`${RESTORE_MOUNT}/`) ||
    path === `/tmp/nightshift-${token}` ||
    new RegExp(`\\.nightshift-(?:[a-z]+-)?${token.replace(/[^A-Za-z0-9-]/g, '')}$`).test(path)
  );
}

export const commands = {
  du: (p: string, dir: string) => as(p, `du -sb -- ${q(dir)}`),
  df: (dir: string) => `df -P -B1 -- ${q(dir)}`,
  ls: (p: string, dir: string) => as(p, `ls -A -- ${q(dir)}`),
  cat: (p: string, file: string) => as(p, `cat -- ${q(file)}`),
  version: (tool: string) => `${tool} --version`,
  mkdir: (p: string, dir: string) => as(p, `mkdir -p -- ${q(dir)}`),
  mv: (p: string, from: string, to: string) => as(p, `mv -- ${q(from)} ${q(to)}`),
  chown: (p: string, owner: string, dir: string) => as(p, `chown -R ${q(owner)} -- ${q(dir)}`),
  /** Refuses (throws) any path the rebuild did not make. */
  rmrf(p: string, path: string, token: string): string {
    if (!isOwnScratch(path, token)) throw new Error(`refusing to delete ${path}: not a directory this rebuild made`);
    return as(p, `rm -rf -- ${q(path)}`);
  },
  /** Ends what an earlier attempt left running; the bracket keeps pkill from matching its own command line. Exit 1: nothing was running. */
  pkill: (p: string, token: string) => as(p, `pkill -f -- ${q(`[n]ightshift-${token}`)}`),
  lsblk: () => 'lsblk -dnpo NAME,SERIAL',
  mkfs: (p: string, device: string) => as(p, `mkfs.ext4 -q -L nightshift -- ${q(device)}`),
  mount: (p: string, device: string, dir: string) => as(p, `mount -- ${q(device)} ${q(dir)}`),
  umount: (p: string, dir: string) => as(p, `umount -- ${q(dir)}`),
  findmnt: (dir: string) => `findmnt -n -o SOURCE,TARGET -- ${q(dir)}`,

  backupToDir: (p: string, t: BackupTools, o: { parallel: number; datadir: string; targetDir: string }) =>
    as(p, `${t.backup} --backup --slave-info --safe-slave-backup --parallel=${o.parallel} --datadir=${q(o.datadir)} --target-dir=${q(o.targetDir)}`),
  /** The sending end of the stream: the backup on stdout; `--target-dir` holds the tool's temporary files only. */
  streamFrom: (p: string, t: BackupTools, o: { parallel: number; datadir: string; token: string }) =>
    as(p, `${t.backup} --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=${o.parallel} --datadir=${q(o.datadir)} --target-dir=${q(`/tmp/nightshift-${o.token}`)}`),
  streamInto: (p: string, t: BackupTools, dir: string) => as(p, `${t.stream} -x -C ${q(dir)}`),
  prepare: (p: string, t: BackupTools, o: { memoryMB: number; dir: string }) => as(p, `${t.backup} --prepare --use-memory=${o.memoryMB}M --target-dir=${q(o.dir)}`),
  moveBack: (p: string, t: BackupTools, o: { datadir: string; dir: string }) => as(p, `${t.backup} --move-back --datadir=${q(o.datadir)} --target-dir=${q(o.dir)}`),
};

// ---------------------------------------------------------------- readers

export class BackupParseError extends Error {
  override name = 'BackupParseError';
}

/** `du -sb DIR`: `<bytes>\t<dir>`. */
export function parseDu(stdout: string, dir: string): number {
  const m = /^(\d+)\s/.exec(stdout.trim());
  if (!m) throw new BackupParseError(`du of ${dir} printed "${stdout.trim().slice(0, 80)}", not "<bytes> <dir>"`);
  return Number(m[1]);
}

export interface DiskSpace {
  /** Bytes free to an unprivileged writer. */
  available: number;
  size: number;
  mountedOn: string;
}

/** `df -P -B1 DIR`: a header, then `fs size used available capacity mountpoint` (a long fs name may wrap onto its own line). */
export function parseDf(stdout: string, dir: string): DiskSpace {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2 || !/^Filesystem\s/.test(lines[0]!)) throw new BackupParseError(`df of ${dir} printed no table: "${stdout.trim().slice(0, 80)}"`);
  const fields = lines.slice(1).join(' ').trim().split(/\s+/);
  // fs, size, used, available, capacity, mount point (which may hold spaces)
  const at = fields.findIndex((f, i) => i > 0 && /^\d+%$/.test(f));
  if (at < 4) throw new BackupParseError(`df of ${dir}: no capacity column in "${lines.slice(1).join(' ').slice(0, 80)}"`);
  const [size, , available] = fields.slice(at - 3, at).map(Number);
  if (![size, available].every((n) => Number.isFinite(n))) throw new BackupParseError(`df of ${dir}: sizes are not numbers`);
  return { size: size!, available: available!, mountedOn: fields.slice(at + 1).join(' ') };
}

export type DirListing = { absent: true } | { absent: false; entries: string[] };

/** `ls -A DIR`: its entries; exit 2 with "No such file or directory" is a directory that is not there. */
export function parseLs(res: { code: number | null; stdout: string; stderr: string }, dir: string): DirListing {
  if (res.code === 0) return { absent: false, entries: res.stdout.split('\n').filter((l) => l !== '') };
  if (/No such file or directory/.test(res.stderr)) return { absent: true };
  throw new BackupParseError(`ls ${dir} failed (exit ${res.code}): ${res.stderr.trim().split('\n')[0] ?? ''}`);
}

/** The metadata files, by what they hold: MariaDB 11 renamed xtrabackup_* to mariadb_backup_*. */
export const METADATA = {
  checkpoints: ['mariadb_backup_checkpoints', 'xtrabackup_checkpoints'],
  binlogInfo: ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info'],
  slaveInfo: ['mariadb_backup_slave_info', 'xtrabackup_slave_info'],
} as const;

export function metadataFile(entries: string[], kind: keyof typeof METADATA): string | undefined {
  return METADATA[kind].find((name) => entries.includes(name));
}

export interface Checkpoints {
  /** full-backuped, full-prepared, log-applied, incremental, ... */
  backupType: string;
  toLsn?: string;
}

export function parseCheckpoints(text: string, where: string): Checkpoints {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const backupType = kv.get('backup_type');
  if (!backupType) throw new BackupParseError(`${where}: no backup_type line in the checkpoints file`);
  const out: Checkpoints = { backupType };
  const to = kv.get('to_lsn');
  if (to !== undefined) out.toLsn = to;
  return out;
}

/** A backup a server can start on: xtrabackup says full-prepared, mariadb-backup 10.x log-applied. */
export function isPrepared(c: Checkpoints): boolean {
  return c.backupType === 'full-prepared' || c.backupType === 'log-applied';
}

/** Where replication starts on the restored node. */
export type BackupPosition = { gtid: string; file?: string; pos?: number } | { gtid?: undefined; file: string; pos: number };

/**
 * `*_binlog_info`: the source's own binary log position and, where GTIDs are
 * on, its executed set: `<file>\t<pos>[\t<gtid>]` (a MySQL set may go on over
 * several lines).
 */
export function parseBinlogInfo(text: string, where: string): { file: string; pos: number; gtid?: string } {
  const [first, ...rest] = text.trim().split('\n');
  const fields = (first ?? '').split('\t');
  const file = fields[0]?.trim() ?? '';
  const pos = Number(fields[1]);
  if (!/^[\w.-]+$/.test(file) || !Number.isInteger(pos) || pos < 0) throw new BackupParseError(`${where}: "${(first ?? '').slice(0, 80)}" is not "<binlog file> <position> [<gtid>]"`);
  const gtid = [fields.slice(2).join('\t'), ...rest].join('').replace(/\s+/g, '');
  return gtid === '' ? { file, pos } : { file, pos, gtid };
}

/**
 * `*_slave_info` (with --slave-info from a replica): where the source stood
 * against ITS master. MariaDB: `SET GLOBAL gtid_slave_pos = '0-1-5';` then
 * `CHANGE MASTER TO master_use_gtid = slave_pos`; MySQL: `SET GLOBAL
 * gtid_purged='…';` then `CHANGE MASTER TO MASTER_AUTO_POSITION=1`; without
 * GTIDs: `CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=n`.
 */
export function parseSlaveInfo(text: string, where: string): { gtid?: string; file?: string; pos?: number } {
  const out: { gtid?: string; file?: string; pos?: number } = {};
  const gtid = /gtid_(?:slave_pos|purged)\s*=\s*'([^']*)'/i.exec(text);
  if (gtid) out.gtid = gtid[1]!.replace(/\s+/g, '');
  // xtrabackup 8.x writes SOURCE_LOG_FILE / SOURCE_LOG_POS.
  const file = /(?:MASTER|SOURCE)_LOG_FILE\s*=\s*'([^']+)'/i.exec(text);
  const pos = /(?:MASTER|SOURCE)_LOG_POS\s*=\s*(\d+)/i.exec(text);
  if (file && pos) {
    out.file = file[1]!;
    out.pos = Number(pos[1]);
  }
  if (out.gtid === undefined && out.file === undefined) throw new BackupParseError(`${where}: neither a GTID position nor a binlog file and position in "${text.trim().slice(0, 120)}"`);
  return out;
}

/**
 * The position the restored node starts from. With GTIDs, the source's
 * executed set at the backup (binlog_info) — everything the backup holds,
 * whichever server wrote it; else the master's coordinates the source had
 * applied (slave_info), which hold only while the master is the same one.
 */
export function backupPosition(binlogInfo: string | undefined, slaveInfo: string | undefined, where: string): BackupPosition {
  const own = binlogInfo ? parseBinlogInfo(binlogInfo, `${where} binlog info`) : undefined;
  const ofMaster = slaveInfo ? parseSlaveInfo(slaveInfo, `${where} slave info`) : undefined;
  const gtid = own?.gtid ?? ofMaster?.gtid;
  if (gtid) return ofMaster?.file !== undefined ? { gtid, file: ofMaster.file, pos: ofMaster.pos! } : { gtid };
  if (ofMaster?.file !== undefined) return { file: ofMaster.file, pos: ofMaster.pos! };
  throw new BackupParseError(
    `${where}: the backup recorded no position to replicate from (${own ? 'a binlog position of the source itself, no GTID' : 'no binlog info'}; ${ofMaster ? 'slave info without one' : 'no slave info'}): was it taken with --slave-info from a replica?`,
  );
}

/**
 * The block device an attached EBS volume shows up as: on Nitro an NVMe
 * device whose serial is the volume id without its dash; on Xen the device
 * it was attached as, with `sd` read as `xvd`.
 */
export function deviceOf(lsblk: string, volumeId: string, attachedAs: string): string | undefined {
  const serial = volumeId.replace('-', '');
  for (const line of lsblk.split('\n')) {
    const [name, ser] = line.trim().split(/\s+/);
    if (name && ser === serial) return name;
  }
  const xvd = attachedAs.replace(/^\/dev\/sd/, '/dev/xvd');
  for (const line of lsblk.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    if (name === attachedAs || name === xvd) return name;
  }
  return undefined;
}

/** `findmnt -n -o SOURCE,TARGET DIR`: the device mounted there, or undefined (exit 1). */
export function parseFindmnt(res: { code: number | null; stdout: string }): string | undefined {
  if (res.code !== 0) return undefined;
  return res.stdout.trim().split(/\s+/)[0] || undefined;
}

/** The last line the backup tool wrote that says why it failed (its log goes to stderr). */
export function backupFailure(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const why = [...lines].reverse().find((l) => /error|failed|cannot|denied|No space|not found|errno/i.test(l));
  return (why ?? lines.at(-1) ?? '(no output)').slice(0, 300);
}

export const COMPLETED_OK = /completed OK!\s*$/m;
