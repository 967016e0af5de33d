// Hosts' disks, mounts and the directories a rebuild touches, on the
// simulated fleet. A file system is a map of paths to directories and files;
// a directory's bytes stand for the data files it holds that nobody lists one
// by one (a datadir's tablespaces). The root fs belongs to the instance; a
// file system made on an EBS volume belongs to the volume, so it follows it
// through detach, snapshot and a volume made from that snapshot.
//
// Everything here works on a WorldState in place: the callers run inside
// world.mutate (or read inside world.view, where a host seen for the first
// time gets its generated layout, the same in every process).

import { SIM_EPOCH } from './fleet.js';
import { hash32, keyOf, Prng } from './prng.js';
import type { BackupImage, FileNode, HostMount, HostState, SimFs, WorldState } from './state.js';

export const GiB = 1_073_741_824;
export const DATADIR = '/var/lib/mysql';
const ROOT_GIB = 200;
/** What ext4 keeps for itself (inode tables, journal): df shows the rest. */
const EXT4_USABLE = 0.984;
const DIR_BYTES = 4096;
export const MYSQL_OWNER = 'mysql:mysql';
const ROOT_OWNER = 'root:root';

export function rootFsId(id: string): string {
  return `root:${id}`;
}

/** The root volume's id, as lsblk's serial names it (the sim keeps no Volume for it). */
export function rootVolumeId(w: WorldState, id: string): string {
  return `vol-${new Prng(hash32(w.seed, 41, keyOf(id))).hex(17)}`;
}

/**
 * The datadir's size as generated: tens of GB, alike across a cluster; a
 * few MB on an instance launched into the rehearsal (system schema only).
 */
export function generatedDatadirBytes(w: WorldState, id: string): number {
  const inst = w.instances[id]!;
  if (Date.parse(inst.launchTime) >= SIM_EPOCH) return 5_242_880 + (hash32(w.seed, 43, keyOf(id)) % 2_097_152);
  const base = 18 + (hash32(w.seed, 42, keyOf(inst.cluster)) % 52);
  return Math.round(base * GiB * (0.97 + (hash32(w.seed, 44, keyOf(id)) % 600) / 10_000));
}

/** The host's mounts and datadir; made on first sight from the instance (deterministic, so every process makes the same). */
export function hostOf(w: WorldState, id: string): HostState {
  const hosts = (w.hosts ??= {});
  let h = hosts[id];
  if (h) return h;
  h = { mounts: [{ device: '/dev/nvme0n1p1', fs: rootFsId(id), target: '/' }], datadir: DATADIR };
  hosts[id] = h;
  const fss = (w.filesystems ??= {});
  if (!fss[rootFsId(id)]) {
    const files: Record<string, FileNode> = {};
    const dir = (p: string, owner = ROOT_OWNER) => (files[p] = { kind: 'dir', bytes: 0, owner });
    for (const p of ['', 'etc', 'home', 'mnt', 'tmp', 'usr', 'var', 'var/lib', 'var/log']) dir(p);
    // The OS, packages and logs: what a root fs holds before any data.
    files['usr'] = { kind: 'dir', bytes: 3_400_000_000 + (hash32(w.seed, 45, keyOf(id)) % 400_000_000), owner: ROOT_OWNER };
    if (w.mysql[id]) {
      files['var/lib/mysql'] = { kind: 'dir', bytes: generatedDatadirBytes(w, id), owner: MYSQL_OWNER, live: true };
      dir('var/log/mysql', MYSQL_OWNER);
      files['var/log/mysql/error.log'] = { kind: 'file', bytes: 0, owner: MYSQL_OWNER, text: '' };
    }
    fss[rootFsId(id)] = { sizeBytes: Math.floor(ROOT_GIB * GiB * EXT4_USABLE), files };
  }
  return h;
}

export function fsById(w: WorldState, fsId: string): SimFs | undefined {
  return w.filesystems?.[fsId];
}

// ---------------------------------------------------------------- paths

/** An absolute path without '.', '..', doubled or trailing slashes; undefined for a relative one. */
export function normalise(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

export interface Located {
  mount: HostMount;
  fs: SimFs;
  /** Path inside the fs ('' for its root). */
  rel: string;
}

/** The mount whose target is the longest prefix of `path`, and the path inside it. */
export function locate(w: WorldState, id: string, path: string): Located {
  const h = hostOf(w, id);
  let best = h.mounts[0]!;
  for (const m of h.mounts) {
    if ((path === m.target || path.startsWith(m.target === '/' ? '/' : `${m.target}/`)) && m.target.length >= best.target.length) best = m;
  }
  const rel = best.target === '/' ? path.slice(1) : path.slice(best.target.length + 1);
  return { mount: best, fs: w.filesystems![best.fs]!, rel };
}

export function nodeAt(w: WorldState, id: string, path: string): FileNode | undefined {
  const at = locate(w, id, path);
  return at.fs.files[at.rel];
}

function parentOf(rel: string): string {
  const k = rel.lastIndexOf('/');
  return k < 0 ? '' : rel.slice(0, k);
}

function under(rel: string): (key: string) => boolean {
  const prefix = rel === '' ? '' : `${rel}/`;
  return (key) => key !== rel && key.startsWith(prefix);
}

/** Bytes the fs holds (directories count a block each), and what a disk-full fault took. */
export function usedBytes(fs: SimFs): number {
  let n = fs.reserved ?? 0;
  for (const k in fs.files) {
    const f = fs.files[k]!;
    n += f.bytes + (f.kind === 'dir' ? DIR_BYTES : 0);
  }
  return n;
}

export function freeBytes(fs: SimFs): number {
  return Math.max(0, fs.sizeBytes - usedBytes(fs));
}

/** `du -sb`: the node and everything under it, file systems mounted below included (du does not stop at them without -x). */
export function duBytes(w: WorldState, id: string, path: string): number {
  const at = locate(w, id, path);
  const node = at.fs.files[at.rel];
  if (!node) return 0;
  let n = node.bytes + (node.kind === 'dir' ? DIR_BYTES : 0);
  if (node.kind === 'dir') {
    const inside = under(at.rel);
    for (const k in at.fs.files) if (inside(k)) n += at.fs.files[k]!.bytes + (at.fs.files[k]!.kind === 'dir' ? DIR_BYTES : 0);
    for (const m of hostOf(w, id).mounts) {
      if (m.target !== path && m.target.startsWith(path === '/' ? '/' : `${path}/`)) {
        const fs = w.filesystems![m.fs]!;
        for (const k in fs.files) n += fs.files[k]!.bytes + (fs.files[k]!.kind === 'dir' ? DIR_BYTES : 0);
      }
    }
  }
  return n;
}

/** The names `ls -A` shows in a directory: what is stored under it, what its datadir or image implies, and mount points. */
export function listDir(w: WorldState, id: string, path: string): string[] {
  const at = locate(w, id, path);
  const node = at.fs.files[at.rel]!;
  const names = new Set<string>();
  const prefix = at.rel === '' ? '' : `${at.rel}/`;
  for (const k in at.fs.files) {
    if (k.startsWith(prefix) && k !== at.rel && !k.slice(prefix.length).includes('/')) names.add(k.slice(prefix.length));
  }
  for (const m of hostOf(w, id).mounts) {
    if (m.target !== '/' && parentPath(m.target) === path) names.add(m.target.slice(m.target.lastIndexOf('/') + 1));
  }
  for (const n of impliedNames(w, id, node)) names.add(n);
  return [...names].sort();
}

function parentPath(path: string): string {
  const k = path.lastIndexOf('/');
  return k <= 0 ? '/' : path.slice(0, k);
}

/** Writes up to `bytes` into the directory at `path` (creating nothing): returns what fitted before the fs filled up. */
export function writeInto(w: WorldState, id: string, path: string, bytes: number): number {
  const at = locate(w, id, path);
  const node = at.fs.files[at.rel];
  if (!node) return 0;
  const fits = Math.min(bytes, freeBytes(at.fs));
  node.bytes += fits;
  return fits;
}

// ---------------------------------------------------------------- what a datadir or an image holds

const MARIADB_DATADIR = ['aria_log.00000001', 'aria_log_control', 'ib_buffer_pool', 'ibdata1', 'ib_logfile0', 'ibtmp1', 'mysql', 'performance_schema', 'sys'];
const MYSQL_DATADIR = ['#ib_16384_0.dblwr', '#innodb_redo', '#innodb_temp', 'auto.cnf', 'binlog.index', 'ib_buffer_pool', 'ibdata1', 'ibtmp1', 'mysql', 'mysql.ibd', 'performance_schema', 'sys', 'undo_001', 'undo_002'];
const MARIADB_IMAGE = ['aria_log.00000001', 'aria_log_control', 'backup-my.cnf', 'ibdata1', 'ib_logfile0', 'mysql', 'performance_schema', 'sys'];
const MYSQL_IMAGE = ['backup-my.cnf', 'ibdata1', 'mysql', 'mysql.ibd', 'performance_schema', 'sys', 'undo_001', 'undo_002'];
/** The schema the generated application writes (a fresh server has none). */
export const APP_SCHEMA = 'app';

export function metaPrefix(image: { flavour: string; version: string }): string {
  return image.flavour === 'mariadb' && Number(image.version.split('.')[0]) >= 11 ? 'mariadb_backup_' : 'xtrabackup_';
}

/** The tool's own files in a finished backup, by name. */
export function metaNames(image: BackupImage): string[] {
  const p = metaPrefix(image);
  const names = [`${p}binlog_info`, `${p}checkpoints`, `${p}info`];
  if (image.slaveInfo) names.push(`${p}slave_info`);
  if (image.flavour === 'mysql') names.push('xtrabackup_logfile', 'xtrabackup_tablespaces');
  return names;
}

function impliedNames(w: WorldState, id: string, node: FileNode): string[] {
  const flavour = w.mysql[id]?.flavour ?? 'mysql';
  if (node.live) {
    const names = [...(flavour === 'mariadb' ? MARIADB_DATADIR : MYSQL_DATADIR)];
    if (node.bytes > 100 * 1_048_576) names.push(APP_SCHEMA);
    return names;
  }
  const img = node.image;
  if (!img) return [];
  if (img.dataMoved) return metaNames(img);
  const names = [...(img.flavour === 'mariadb' ? MARIADB_IMAGE : MYSQL_IMAGE)];
  if (img.bytes > 100 * 1_048_576) names.push(APP_SCHEMA);
  if (img.complete && !img.movedBack) names.push(...metaNames(img));
  if (img.prepared && img.flavour === 'mysql') names.push('#innodb_redo');
  return names;
}

/** A file the image implies (its metadata), as the tool wrote it. */
export function impliedFile(node: FileNode, name: string): string | undefined {
  const img = node.image;
  if (!img || !img.complete || img.movedBack) return undefined;
  const p = metaPrefix(img);
  if (name === `${p}checkpoints`) {
    const type = img.prepared ? (img.flavour === 'mariadb' ? 'log-applied' : 'full-prepared') : 'full-backuped';
    const lines = [`backup_type = ${type}`, 'from_lsn = 0', `to_lsn = ${img.toLsn}`, `last_lsn = ${img.toLsn + 9}`];
    if (img.flavour === 'mariadb') lines.push('recover_binlog_info = 0');
    else lines.push(`flushed_lsn = ${img.toLsn}`, 'redo_memory = 0', 'redo_frames = 0');
    return `${lines.join('\n')}\n`;
  }
  if (name === `${p}binlog_info`) return `${img.binlogFile}\t${img.binlogPos}\t${img.gtid}\n`;
  if (name === `${p}slave_info` && img.slaveInfo) {
    const s = img.slaveInfo;
    if (img.flavour === 'mariadb') {
      // As mariadb-backup 10.11 writes it (seen on the lab), semicolons and all.
      return s.gtidMode === 'no'
        ? `CHANGE MASTER TO MASTER_LOG_FILE='${s.file}', MASTER_LOG_POS=${s.pos};\n`
        : `SET GLOBAL gtid_slave_pos = '${s.gtid}';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n`;
    }
    // xtrabackup 8.4 writes the statements 8.4 still has; 8.0 the MASTER words.
    const v84 = /^8\.([4-9]|\d\d)|^9\./.test(img.version);
    const change = v84 ? 'CHANGE REPLICATION SOURCE TO SOURCE_' : 'CHANGE MASTER TO MASTER_';
    return s.gtidMode === 'auto'
      ? `SET GLOBAL gtid_purged='${s.gtid}';\n${change}AUTO_POSITION=1;\n`
      : `${change}LOG_FILE='${s.file}', ${v84 ? 'SOURCE_' : 'MASTER_'}LOG_POS=${s.pos};\n`;
  }
  if (name === `${p}info`) {
    return `tool_name = ${img.flavour === 'mariadb' ? 'mariadb-backup' : 'xtrabackup'}\nserver_version = ${img.version}\nbinlog_pos = filename '${img.binlogFile}', position '${img.binlogPos}', GTID of the last change '${img.gtid.replace(/\n/g, '')}'\ninnodb_from_lsn = 0\ninnodb_to_lsn = ${img.toLsn}\npartial = N\nformat = file\ncompressed = N\n`;
  }
  if (name === 'xtrabackup_tablespaces' || name === 'xtrabackup_logfile') return '';
  return undefined;
}

// ---------------------------------------------------------------- changes

/** `mkdir -p`: every missing component; the error text when a component is a file. */
export function mkdirP(w: WorldState, id: string, path: string, owner = ROOT_OWNER): string | undefined {
  const parts = path.split('/').filter(Boolean);
  let cur = '';
  for (const part of parts) {
    cur += `/${part}`;
    const at = locate(w, id, cur);
    const node = at.fs.files[at.rel];
    if (node?.kind === 'file') return `mkdir: cannot create directory '${path}': Not a directory`;
    if (!node) at.fs.files[at.rel] = { kind: 'dir', bytes: 0, owner };
  }
  return undefined;
}

/** Every stored path at or under `rel` in `fs`. */
export function subtree(fs: SimFs, rel: string): string[] {
  const inside = under(rel);
  return Object.keys(fs.files).filter((k) => k === rel || inside(k));
}

/** Moves a subtree between (or within) file systems; the caller checked room and mounts. */
export function moveTree(from: Located, to: Located): void {
  const keys = subtree(from.fs, from.rel);
  const moved: Array<[string, FileNode]> = keys.map((k) => [to.rel + k.slice(from.rel.length), from.fs.files[k]!]);
  for (const k of keys) delete from.fs.files[k];
  for (const [k, node] of moved) to.fs.files[k] = node;
}

export function treeBytes(fs: SimFs, rel: string): number {
  let n = 0;
  for (const k of subtree(fs, rel)) n += fs.files[k]!.bytes + (fs.files[k]!.kind === 'dir' ? DIR_BYTES : 0);
  return n;
}

export function parentRel(rel: string): string {
  return parentOf(rel);
}

/** Mounts at or below `path` on the host. */
export function mountsUnder(w: WorldState, id: string, path: string): HostMount[] {
  return hostOf(w, id).mounts.filter((m) => m.target !== '/' && (m.target === path || m.target.startsWith(path === '/' ? '/' : `${path}/`)));
}

/** A copy of a file system (a snapshot taken, a volume made from one). */
export function cloneFs(fs: SimFs): SimFs {
  return structuredClone(fs);
}
