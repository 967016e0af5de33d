// What nightshift keeps under the state dir besides journals: locks/,
// inventory/ and sim/ are 0700 whatever the umask, and the inventory's tags
// file and the simulated world are written as the journal is: aside, fsynced,
// renamed, and the directory fsynced, so a crash leaves the old file or the new.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Every file-system call the code under test makes, in order, by path.
const events: string[] = [];
const failRename = { next: false };
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const pathOfFd = new Map<number, string>();
  const name = (p: unknown) => String(p);
  const mocked = {
    ...real,
    openSync: (path: fs.PathLike, ...rest: unknown[]) => {
      const fd = (real.openSync as (...a: unknown[]) => number)(path, ...rest);
      pathOfFd.set(fd, name(path));
      events.push(`open ${name(path)}`);
      return fd;
    },
    writeFileSync: (file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      events.push(`write ${typeof file === 'number' ? pathOfFd.get(file) : name(file)}`);
      return (real.writeFileSync as (...a: unknown[]) => void)(file, ...rest);
    },
    fsyncSync: (fd: number) => {
      events.push(`fsync ${pathOfFd.get(fd)}`);
      return real.fsyncSync(fd);
    },
    renameSync: (from: fs.PathLike, to: fs.PathLike) => {
      events.push(`rename ${name(from)} -> ${name(to)}`);
      if (failRename.next) {
        failRename.next = false;
        throw Object.assign(new Error('EIO: i/o error, rename (injected)'), { code: 'EIO' });
      }
      return real.renameSync(from, to);
    },
  };
  return { ...mocked, default: mocked };
});

const { makePrivateDir, writeFileDurably } = await import('../../src/backends/private-files.js');
const { FileLock } = await import('../../src/backends/inventory/file-lock.js');
const { createInventoryBackends } = await import('../../src/backends/inventory/index.js');
const { SimLock } = await import('../../src/backends/sim/lock.js');
const { StateFile } = await import('../../src/backends/sim/state-file.js');
const { configSchema } = await import('../../src/config/schema.js');

const noShell = {
  exec: () => Promise.reject(new Error('no shell in this test')),
  loginCommand: () => 'ssh',
  close: async () => undefined,
};
const owner = { runId: 'r1', owner: 'ops@bastion', startedAt: '2026-12-05T18:00:00Z' };
const mode = (p: string) => fs.statSync(p).mode & 0o777;
/** The temp names carry the pid and a counter; the order of calls is what matters. */
const calls = (file: string) =>
  events
    .map((e) => e.split(`${file}.${process.pid}.`).join(`${file}.`).replace(/\.\d+\.tmp\b/g, '.TMP'))
    .filter((e) => e.includes(basename(file)) || e === `open ${dirname(file)}` || e === `fsync ${dirname(file)}`);

let state: string;
let oldUmask: number;
beforeEach(() => {
  state = fs.mkdtempSync(join(tmpdir(), 'ns-private-'));
  events.length = 0;
  // The loosest umask there is: every mode below is set, not inherited.
  oldUmask = process.umask(0);
});
afterEach(() => {
  process.umask(oldUmask);
});

describe('private directories under the state dir', () => {
  it('locks/, inventory/ and sim/ are 0700 and their files 0600 under umask 000', async () => {
    const inventoryFile = join(state, 'fleet.yaml');
    fs.writeFileSync(inventoryFile, 'hosts:\n  - { name: db-a1, cluster: orders, engine: mysql, host: 10.0.1.11 }\n', { mode: 0o644 });
    const config = { ...configSchema.parse({}), target: 'inventory' as const, inventory: inventoryFile, stateDir: join(state, 'nightshift') };
    const b = await createInventoryBackends(config, { shell: noShell });
    expect(await b.lock.acquire({ name: 'orders' }, owner)).toEqual({ acquired: true });
    await b.inventory.setTags('db-a1', { 'last-repaired': '2026-12-05T18:00:00Z' });
    const stateDir = join(state, 'nightshift');
    expect(mode(stateDir)).toBe(0o700);
    expect(mode(join(stateDir, 'locks'))).toBe(0o700);
    expect(mode(join(stateDir, 'locks', 'orders.lock'))).toBe(0o600);
    expect(mode(join(stateDir, 'inventory'))).toBe(0o700);
    const [tags] = fs.readdirSync(join(stateDir, 'inventory'));
    expect(tags).toMatch(/^fleet\.yaml-[0-9a-f]{12}\.tags\.json$/);
    expect(mode(join(stateDir, 'inventory', tags!))).toBe(0o600);

    const world = new StateFile(join(stateDir, 'sim', 'healthy-7.json'));
    world.write({ hello: 'world' } as never);
    expect(mode(join(stateDir, 'sim'))).toBe(0o700);
    expect(mode(world.path)).toBe(0o600);
    const simLock = new SimLock(join(stateDir, 'sim', 'locks', 'healthy-7'));
    expect(await simLock.acquire({ name: 'orders' }, owner)).toEqual({ acquired: true });
    expect(mode(join(stateDir, 'sim', 'locks'))).toBe(0o700);
    expect(mode(join(stateDir, 'sim', 'locks', 'healthy-7'))).toBe(0o700);
  });

  it('puts an existing loose locks/ back to 0700', async () => {
    fs.mkdirSync(join(state, 'locks'), { mode: 0o777 });
    expect(mode(join(state, 'locks'))).toBe(0o777);
    expect(await new FileLock(join(state, 'locks')).acquire({ name: 'orders' }, owner)).toEqual({ acquired: true });
    expect(mode(join(state, 'locks'))).toBe(0o700);
  });

  it('says which level failed where the file system refuses, rather than looping', () => {
    expect(() => makePrivateDir('/proc/x/locks')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/proc/x' }));
    const file = join(state, 'plain');
    fs.writeFileSync(file, 'x');
    expect(() => makePrivateDir(join(file, 'locks'))).toThrow(expect.objectContaining({ code: 'ENOTDIR', path: file }));
  });
});

describe('durable writes', () => {
  it('writes aside, fsyncs the file, renames, then fsyncs the directory', () => {
    const file = join(state, 'x.json');
    writeFileDurably(file, '{"a":1}');
    expect(calls(file)).toEqual([`open ${file}.TMP`, `write ${file}.TMP`, `fsync ${file}.TMP`, `rename ${file}.TMP -> ${file}`, `open ${state}`, `fsync ${state}`]);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}');
    expect(mode(file)).toBe(0o600);
  });

  it('a failure before the rename leaves the old content and no temp file', () => {
    const file = join(state, 'x.json');
    writeFileDurably(file, 'old');
    failRename.next = true;
    expect(() => writeFileDurably(file, 'new')).toThrow(/EIO/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(state)).toEqual(['x.json']);
  });

  it('the simulated world file and the inventory tags file are written that way', async () => {
    const world = new StateFile(join(state, 'sim', 'healthy-7.json'));
    world.write({ hello: 'world' } as never);
    expect(calls(world.path)).toEqual([
      `open ${world.path}.TMP`,
      `write ${world.path}.TMP`,
      `fsync ${world.path}.TMP`,
      `rename ${world.path}.TMP -> ${world.path}`,
      `open ${dirname(world.path)}`,
      `fsync ${dirname(world.path)}`,
    ]);

    const inventoryFile = join(state, 'fleet.yaml');
    fs.writeFileSync(inventoryFile, 'hosts:\n  - { name: db-a1, cluster: orders, engine: mysql, host: 10.0.1.11 }\n');
    const config = { ...configSchema.parse({}), target: 'inventory' as const, inventory: inventoryFile, stateDir: join(state, 'nightshift') };
    const b = await createInventoryBackends(config, { shell: noShell });
    events.length = 0;
    await b.inventory.setTags('db-a1', { 'last-repaired': '2026-12-05T18:00:00Z' });
    const tags = join(state, 'nightshift', 'inventory', fs.readdirSync(join(state, 'nightshift', 'inventory'))[0]!);
    expect(calls(tags)).toEqual([`open ${tags}.TMP`, `write ${tags}.TMP`, `fsync ${tags}.TMP`, `rename ${tags}.TMP -> ${tags}`, `open ${dirname(tags)}`, `fsync ${dirname(tags)}`]);
  });
});
