// The file-system, disk and process commands a rebuild runs on a host
// (du, df, ls, mkdir, mv, rm, chown, cat, pkill, lsblk, mkfs.ext4, mount,
// umount, findmnt), answered on the host's simulated files with the real
// tools' output, wording and exit codes.

import type { ExecContext } from './exec-context.js';
import {
  duBytes,
  freeBytes,
  hostOf,
  impliedFile,
  listDir,
  locate,
  mkdirP,
  moveTree,
  mountsUnder,
  nodeAt,
  normalise,
  rootVolumeId,
  subtree,
  treeBytes,
  usedBytes,
  GiB,
} from './host-files.js';
import { endProcesses } from './backup-tool.js';
import type { WorldState } from './state.js';
import type { SimWorld } from './world.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (code: number, stderr: string): CommandResult => ({ code, stdout: '', stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n` });

/** Throughput of a copy between two file systems on one host (mv across file systems). */
const COPY_BYTES_PER_S = 180 * 1_048_576;

export const HOST_COMMANDS = new Set(['du', 'df', 'ls', 'mkdir', 'mv', 'rm', 'chown', 'cat', 'pkill', 'lsblk', 'mkfs.ext4', 'mount', 'umount', 'findmnt']);

/** Operands: the words that are not options (everything after `--`). */
function operands(args: string[], withValue: Set<string> = new Set()): { flags: string[]; ops: string[] } {
  const flags: string[] = [];
  const ops: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      ops.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      flags.push(a);
      if (withValue.has(a)) flags.push(args[++i] ?? '');
    } else ops.push(a);
  }
  return { flags, ops };
}

export function runHostCommand(world: SimWorld, id: string, program: string, args: string[], ctx: ExecContext): CommandResult | Promise<CommandResult> {
  switch (program) {
    case 'du':
      return du(world, id, args);
    case 'df':
      return df(world, id, args);
    case 'ls':
      return ls(world, id, args);
    case 'cat':
      return cat(world, id, args);
    case 'mkdir':
      return mkdir(world, id, args);
    case 'mv':
      return mv(world, id, args, ctx);
    case 'rm':
      return rm(world, id, args);
    case 'chown':
      return chown(world, id, args);
    case 'pkill':
      return pkill(world, id, args);
    case 'lsblk':
      return lsblk(world, id);
    case 'mkfs.ext4':
      return mkfs(world, id, args);
    case 'mount':
      return mount(world, id, args);
    case 'umount':
      return umount(world, id, args);
    case 'findmnt':
      return findmnt(world, id, args);
    default:
      return fail(127, `sh: 1: ${program}: not found`);
  }
}

function du(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args);
  const w = world.view();
  let out = '';
  let err = '';
  for (const raw of ops) {
    const path = normalise(raw);
    if (!path || !nodeAt(w, id, path)) {
      err += `du: cannot access '${raw}': No such file or directory\n`;
      continue;
    }
    out += `${duBytes(w, id, path)}\t${raw}\n`;
  }
  return { code: err ? 1 : 0, stdout: out, stderr: err };
}

function df(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args, new Set(['-B']));
  const w = world.view();
  const rows: string[][] = [['Filesystem', '1-blocks', 'Used', 'Available', 'Capacity', 'Mounted on']];
  let err = '';
  for (const raw of ops.length ? ops : ['/']) {
    const path = normalise(raw);
    if (!path || !nodeAt(w, id, path)) {
      err += `df: ${raw}: No such file or directory\n`;
      continue;
    }
    const at = locate(w, id, path);
    const used = usedBytes(at.fs);
    const avail = freeBytes(at.fs);
    const cap = used + avail === 0 ? 0 : Math.ceil((used * 100) / (used + avail));
    rows.push([at.mount.device, String(at.fs.sizeBytes), String(used), String(avail), `${cap}%`, at.mount.target]);
  }
  if (rows.length === 1) return { code: 1, stdout: '', stderr: err || 'df: no file systems processed\n' };
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  // df pads the device name to the left and the numbers to the right, one space apart.
  const text = rows.map((r) => r.map((c, k) => (k === 0 || k === 5 ? (k === 5 ? c : c.padEnd(widths[k]!)) : c.padStart(widths[k]!))).join(' ')).join('\n');
  return { code: err ? 1 : 0, stdout: `${text}\n`, stderr: err };
}

function ls(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args);
  const w = world.view();
  let out = '';
  let err = '';
  for (const raw of ops) {
    const path = normalise(raw);
    const node = path ? nodeAt(w, id, path) : undefined;
    if (!path || !node) {
      // A file the image implies (its checkpoints) is there too.
      const parent = path ? nodeAt(w, id, path.slice(0, path.lastIndexOf('/')) || '/') : undefined;
      if (parent && impliedFile(parent, path!.slice(path!.lastIndexOf('/') + 1)) !== undefined) {
        out += `${raw}\n`;
        continue;
      }
      err += `ls: cannot access '${raw}': No such file or directory\n`;
      continue;
    }
    if (node.kind === 'file') out += `${raw}\n`;
    else for (const n of listDir(w, id, path)) out += `${n}\n`;
  }
  return { code: err ? 2 : 0, stdout: out, stderr: err };
}

function cat(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args);
  const w = world.view();
  let out = '';
  let err = '';
  for (const raw of ops) {
    const path = normalise(raw);
    const node = path ? nodeAt(w, id, path) : undefined;
    if (node?.kind === 'dir') {
      err += `cat: ${raw}: Is a directory\n`;
      continue;
    }
    if (node) {
      out += node.text ?? '';
      continue;
    }
    const cut = path ? path.lastIndexOf('/') : -1;
    const parent = path ? nodeAt(w, id, path.slice(0, cut) || '/') : undefined;
    const text = parent ? impliedFile(parent, path!.slice(cut + 1)) : undefined;
    if (text === undefined) err += `cat: ${raw}: No such file or directory\n`;
    else out += text;
  }
  return { code: err ? 1 : 0, stdout: out, stderr: err };
}

function mkdir(world: SimWorld, id: string, args: string[]): CommandResult {
  const { flags, ops } = operands(args);
  const parents = flags.some((f) => f === '-p' || f === '--parents' || (/^-[a-z]+$/.test(f) && f.includes('p')));
  return world.mutate((w) => {
    let err = '';
    for (const raw of ops) {
      const path = normalise(raw);
      if (!path) {
        err += `mkdir: cannot create directory '${raw}': the simulated host takes absolute paths only\n`;
        continue;
      }
      if (!parents) {
        if (nodeAt(w, id, path)) {
          err += `mkdir: cannot create directory '${raw}': File exists\n`;
          continue;
        }
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        if (!nodeAt(w, id, parent)) {
          err += `mkdir: cannot create directory '${raw}': No such file or directory\n`;
          continue;
        }
      }
      const e = mkdirP(w, id, path);
      if (e) err += `${e.replace(`'${path}'`, `'${raw}'`)}\n`;
    }
    return { code: err ? 1 : 0, stdout: '', stderr: err };
  });
}

async function mv(world: SimWorld, id: string, args: string[], ctx: ExecContext): Promise<CommandResult> {
  const { ops } = operands(args);
  if (ops.length !== 2) return fail(1, ops.length < 2 ? `mv: missing destination file operand after '${ops[0] ?? ''}'` : 'mv: the simulated host moves one path at a time');
  const [rawFrom, rawTo] = ops as [string, string];
  const from = normalise(rawFrom);
  let to = normalise(rawTo);
  if (!from || !to) return fail(1, `mv: the simulated host takes absolute paths only`);
  const plan = world.mutate((w) => {
    const src = nodeAt(w, id, from);
    if (!src) return fail(1, `mv: cannot stat '${rawFrom}': No such file or directory`);
    if (mountsUnder(w, id, from).length > 0) return fail(1, `mv: cannot move '${rawFrom}' to '${rawTo}': Device or resource busy`);
    const dest = nodeAt(w, id, to!);
    // Into an existing directory, as mv does.
    if (dest?.kind === 'dir') to = `${to === '/' ? '' : to}/${from.slice(from.lastIndexOf('/') + 1)}`;
    if (to === from || to!.startsWith(`${from}/`)) return fail(1, `mv: cannot move '${rawFrom}' to a subdirectory of itself, '${rawTo}'`);
    const existing = nodeAt(w, id, to!);
    if (existing?.kind === 'dir' && listDir(w, id, to!).length > 0) return fail(1, `mv: cannot move '${rawFrom}' to '${to}': Directory not empty`);
    const parent = to!.slice(0, to!.lastIndexOf('/')) || '/';
    if (!nodeAt(w, id, parent)) return fail(1, `mv: cannot move '${rawFrom}' to '${rawTo}': No such file or directory`);
    const a = locate(w, id, from);
    const b = locate(w, id, to!);
    if (a.mount.fs === b.mount.fs) {
      if (existing) for (const k of subtree(b.fs, b.rel)) delete b.fs.files[k];
      moveTree(a, b);
      return { code: 0, stdout: '', stderr: '' };
    }
    const bytes = treeBytes(a.fs, a.rel);
    return { bytes, room: freeBytes(b.fs) };
  });
  if ('code' in plan) return plan;
  // Across file systems mv copies, then removes the source: it takes the copy's time.
  const t0 = world.now();
  const fits = Math.min(plan.bytes, plan.room);
  await ctx.sleepUntil(t0 + Math.ceil((fits / COPY_BYTES_PER_S) * 1000));
  return world.mutate((w) => {
    const a = locate(w, id, from);
    const b = locate(w, id, to!);
    if (!a.fs.files[a.rel]) return fail(1, `mv: cannot stat '${rawFrom}': No such file or directory`);
    if (treeBytes(a.fs, a.rel) > freeBytes(b.fs)) {
      return fail(1, `mv: error writing '${to}': No space left on device`);
    }
    for (const k of subtree(b.fs, b.rel)) delete b.fs.files[k];
    moveTree(a, b);
    return { code: 0, stdout: '', stderr: '' };
  });
}

function rm(world: SimWorld, id: string, args: string[]): CommandResult {
  const { flags, ops } = operands(args);
  const recursive = flags.some((f) => f === '-r' || f === '-R' || f === '--recursive' || (/^-[a-zA-Z]+$/.test(f) && /[rR]/.test(f)));
  const force = flags.some((f) => f === '--force' || (/^-[a-zA-Z]+$/.test(f) && f.includes('f')));
  return world.mutate((w) => {
    let err = '';
    for (const raw of ops) {
      const path = normalise(raw);
      if (!path || path === '/') {
        err += `rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n`;
        continue;
      }
      const node = nodeAt(w, id, path);
      if (!node) {
        if (!force) err += `rm: cannot remove '${raw}': No such file or directory\n`;
        continue;
      }
      if (node.kind === 'dir' && !recursive) {
        err += `rm: cannot remove '${raw}': Is a directory\n`;
        continue;
      }
      // A file system mounted inside loses its contents; its mount point stays, busy.
      const mounted = mountsUnder(w, id, path);
      for (const m of mounted) {
        const fs = w.filesystems![m.fs]!;
        for (const k of Object.keys(fs.files)) if (k !== '') delete fs.files[k];
        fs.files['']!.bytes = 0;
        delete fs.files['']!.image;
        err += `rm: cannot remove '${m.target}': Device or resource busy\n`;
      }
      const at = locate(w, id, path);
      const keep = new Set(mounted.map((m) => locate(w, id, m.target).rel));
      if (mounted.length > 0 && at.mount.target === path) continue;
      for (const k of subtree(at.fs, at.rel)) {
        // The directories leading to a mount point stay: rm cannot remove what holds a busy one.
        if (mounted.length > 0 && [...keep].some((p) => p === k || p.startsWith(`${k}/`))) continue;
        delete at.fs.files[k];
      }
    }
    return { code: err ? 1 : 0, stdout: '', stderr: err };
  });
}

const USERS = new Set(['root', 'mysql', 'ubuntu', 'ec2-user', 'nobody']);

function chown(world: SimWorld, id: string, args: string[]): CommandResult {
  const { flags, ops } = operands(args);
  const recursive = flags.some((f) => f === '-R' || f === '--recursive');
  const [owner, ...paths] = ops;
  if (!owner) return fail(1, "chown: missing operand\nTry 'chown --help' for more information.");
  const [user, group = user] = owner.split(/[:.]/) as [string, string?];
  if (!USERS.has(user)) return fail(1, `chown: invalid user: '${owner}'`);
  if (!USERS.has(group!)) return fail(1, `chown: invalid group: '${owner}'`);
  return world.mutate((w) => {
    let err = '';
    for (const raw of paths) {
      const path = normalise(raw);
      if (!path || !nodeAt(w, id, path)) {
        err += `chown: cannot access '${raw}': No such file or directory\n`;
        continue;
      }
      const at = locate(w, id, path);
      for (const k of recursive ? subtree(at.fs, at.rel) : [at.rel]) at.fs.files[k]!.owner = `${user}:${group}`;
      if (recursive) for (const m of mountsUnder(w, id, path)) for (const f of Object.values(w.filesystems![m.fs]!.files)) f.owner = `${user}:${group}`;
    }
    return { code: err ? 1 : 0, stdout: '', stderr: err };
  });
}

function pkill(world: SimWorld, id: string, args: string[]): CommandResult {
  const { flags, ops } = operands(args);
  const full = flags.includes('-f') || flags.includes('--full');
  const pattern = ops[0];
  if (!pattern) return fail(2, 'pkill: no matching criteria specified\nTry `pkill --help\' for more information.');
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return fail(2, `pkill: invalid regular expression: ${pattern}`);
  }
  const n = world.mutate((w, t) => endProcesses(world, w, id, (cmd) => re.test(full ? cmd : cmd.split(' ').find((x) => !['sudo', '-n'].includes(x)) ?? ''), t));
  return { code: n > 0 ? 0 : 1, stdout: '', stderr: '' };
}

// ---------------------------------------------------------------- block devices

interface Disk {
  name: string;
  serial: string;
  /** Names udev links to it (the attachment's /dev/sdf, /dev/xvdf). */
  aliases: string[];
  /** File system id when made (the volume's id), or the root fs. */
  volumeId: string;
  root: boolean;
}

/** The host's disks as a Nitro instance shows them: nvme0n1 the root volume, then attached volumes in attachment order. */
export function disksOf(w: WorldState, id: string): Disk[] {
  const disks: Disk[] = [{ name: '/dev/nvme0n1', serial: rootVolumeId(w, id).replace('-', ''), aliases: ['/dev/xvda', '/dev/sda1'], volumeId: rootVolumeId(w, id), root: true }];
  const attached = Object.values(w.volumes)
    .filter((v) => v.attachedTo?.instanceId === id && v.state === 'in-use')
    .sort((a, b) => (a.attachedAt ?? 0) - (b.attachedAt ?? 0) || (a.id < b.id ? -1 : 1));
  attached.forEach((v, k) => {
    const dev = v.attachedTo!.device;
    disks.push({ name: `/dev/nvme${k + 1}n1`, serial: v.id.replace('-', ''), aliases: [dev, dev.replace('/dev/sd', '/dev/xvd')], volumeId: v.id, root: false });
  });
  return disks;
}

function diskNamed(w: WorldState, id: string, dev: string): Disk | undefined {
  return disksOf(w, id).find((d) => d.name === dev || d.aliases.includes(dev) || `${d.name}p1` === dev);
}

function lsblk(world: SimWorld, id: string): CommandResult {
  const w = world.view();
  const disks = disksOf(w, id);
  const width = Math.max(...disks.map((d) => d.name.length));
  return ok(disks.map((d) => `${d.name.padEnd(width)} ${d.serial}\n`).join(''));
}

function mkfs(world: SimWorld, id: string, args: string[]): CommandResult {
  const { flags, ops } = operands(args, new Set(['-L', '-b', '-t', '-T', '-E', '-O']));
  const dev = ops[0];
  if (!dev) return fail(1, 'Usage: mkfs.ext4 [-c|-l filename] [-b block-size] [-C cluster-size]\n\t[-i bytes-per-inode] [-I inode-size] [-J journal-options]');
  const label = flags[flags.indexOf('-L') + 1];
  return world.mutate((w) => {
    const disk = diskNamed(w, id, dev);
    if (!disk) return fail(1, `The file ${dev} does not exist and no size was specified.`);
    const fsId = disk.root ? `root:${id}` : disk.volumeId;
    const mountedOn = Object.entries(w.hosts ?? {}).some(([, h]) => h.mounts.some((m) => m.fs === fsId));
    if (disk.root || mountedOn) return fail(1, `mke2fs 1.47.0 (5-Feb-2023)\n${disk.name} contains a ext4 file system labelled '${w.filesystems?.[fsId]?.label ?? 'cloudimg-rootfs'}'\n${disk.name} is mounted; will not make a filesystem here!`);
    const vol = w.volumes[disk.volumeId]!;
    (w.filesystems ??= {})[fsId] = {
      sizeBytes: Math.floor(vol.sizeGiB * GiB * 0.984),
      ...(label && flags.includes('-L') ? { label } : {}),
      files: { '': { kind: 'dir', bytes: 0, owner: 'root:root' }, 'lost+found': { kind: 'dir', bytes: 12_288, owner: 'root:root' } },
    };
    return ok();
  });
}

function mount(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args, new Set(['-t', '-o']));
  if (ops.length === 0) {
    const w = world.view();
    return ok(hostOf(w, id).mounts.map((m) => `${m.device} on ${m.target} type ext4 (rw,relatime)\n`).join(''));
  }
  const [dev, rawTarget] = ops as [string, string?];
  if (!rawTarget) return fail(1, `mount: ${dev}: can't find in /etc/fstab.`);
  const target = normalise(rawTarget);
  return world.mutate((w) => {
    const h = hostOf(w, id);
    if (!target || !nodeAt(w, id, target)) return fail(32, `mount: ${rawTarget}: mount point does not exist.`);
    const disk = diskNamed(w, id, dev);
    if (!disk) return fail(32, `mount: ${rawTarget}: special device ${dev} does not exist.`);
    const fsId = disk.root ? `root:${id}` : disk.volumeId;
    const here = h.mounts.find((m) => m.fs === fsId);
    if (here) return fail(32, `mount: ${rawTarget}: ${disk.name} already mounted on ${here.target}.`);
    const fs = w.filesystems?.[fsId];
    if (!fs) return fail(32, `mount: ${rawTarget}: wrong fs type, bad option, bad superblock on ${disk.name}, missing codepage or helper program, or other error.\n       dmesg(1) may have more information after failed mount system call.`);
    // A volume from a snapshot is bigger than its snapshot's fs until resize2fs; df shows the fs.
    h.mounts.push({ device: disk.name, fs: fsId, target });
    return ok();
  });
}

function umount(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args);
  const raw = ops[0];
  if (!raw) return fail(1, "umount: bad usage\nTry 'umount --help' for more information.");
  const target = normalise(raw);
  return world.mutate((w) => {
    const h = hostOf(w, id);
    const k = h.mounts.findIndex((m) => m.target === target || m.device === raw);
    if (k <= 0) {
      if (!target || !nodeAt(w, id, target)) return fail(32, `umount: ${raw}: no mount point specified.`);
      return fail(32, `umount: ${raw}: not mounted.`);
    }
    const m = h.mounts[k]!;
    if (busy(w, id, m.target)) return fail(32, `umount: ${raw}: target is busy.`);
    h.mounts.splice(k, 1);
    return ok();
  });
}

/** A running job or stream on the host that works in the mount. */
function busy(w: WorldState, id: string, target: string): boolean {
  const inside = (cmd: string) => cmd.includes(`${target}/`) || cmd.includes(`${target} `) || cmd.endsWith(target) || cmd.includes(`=${target}`);
  for (const j of Object.values(w.jobs)) if (j.node === id && j.state === 'running' && inside(j.command)) return true;
  for (const p of Object.values(w.procs ?? {})) if (p.node === id && inside(p.command)) return true;
  return false;
}

function findmnt(world: SimWorld, id: string, args: string[]): CommandResult {
  const { ops } = operands(args, new Set(['-o', '--output', '-t']));
  const w = world.view();
  const target = ops[0] ? normalise(ops[0]) : undefined;
  const h = hostOf(w, id);
  const hits = target ? h.mounts.filter((m) => m.target === target || m.device === ops[0]) : h.mounts;
  if (hits.length === 0) return { code: 1, stdout: '', stderr: '' };
  const width = Math.max(...hits.map((m) => m.device.length));
  return ok(hits.map((m) => `${m.device.padEnd(width)} ${m.target}\n`).join(''));
}
