import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FileLock } from '../../../src/backends/inventory/file-lock.js';
import { createInventoryBackends, DATADIR_TAG, MYSQL_CLIENT_TAG } from '../../../src/backends/inventory/index.js';
import { SPARE_TAG } from '../../../src/domain/types.js';
import type { Shell } from '../../../src/backends/ports.js';
import { configSchema, type Config } from '../../../src/config/schema.js';

const TEXT = `hosts:
  - { name: db-a1, cluster: orders, engine: mysql, host: 10.0.1.11, role: master, mysqlClient: sudo mysql }
  - { name: db-a2, cluster: orders, engine: mysql, host: 10.0.1.12, port: 2222, user: admin, az: eu-west-1b }
`;

const noShell: Shell = {
  exec: () => Promise.reject(new Error('no shell in this test')),
  loginCommand: () => 'ssh',
  close: async () => undefined,
};

let dir: string;
let config: Config;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ns-inv-'));
  writeFileSync(join(dir, 'fleet.yaml'), TEXT);
  config = { ...configSchema.parse({}), target: 'inventory', inventory: join(dir, 'fleet.yaml'), stateDir: join(dir, 'state') };
});

describe('static inventory backends', () => {
  it('discovers clusters and instances with ssh endpoints and the discovery tags', async () => {
    const b = await createInventoryBackends(config, { shell: noShell });
    const d = await b.inventory.discover();
    expect(d.clusters).toEqual([{ name: 'orders', engine: 'mysql', instanceIds: ['db-a1', 'db-a2'], source: 'inventory' }]);
    const [a1, a2] = d.instances;
    expect(a1).toMatchObject({ id: 'db-a1', privateIp: '10.0.1.11', state: 'running', ssh: { host: '10.0.1.11' } });
    expect(a1!.tags).toMatchObject({ 'nightshift:cluster': 'orders', 'nightshift:engine': 'mysql', 'nightshift:role': 'master', [MYSQL_CLIENT_TAG]: 'sudo mysql' });
    expect(a2).toMatchObject({ az: 'eu-west-1b', ssh: { host: '10.0.1.12', port: 2222, user: 'admin' } });
    expect(await b.metrics.fetch({ instanceIds: ['db-a1'], minutes: 30 })).toEqual({});
    expect(b.dns).toBeUndefined();
    expect(b.unavailable?.volumes).toMatch(/no EBS/);
  });

  it('persists tags in a sidecar file and leaves the inventory untouched', async () => {
    const b = await createInventoryBackends(config, { shell: noShell });
    await b.inventory.setTags('db-a2', { 'last-repaired': '2026-11-01T00:00:00Z' });
    const again = await createInventoryBackends(config, { shell: noShell });
    const a2 = (await again.inventory.discover()).instances.find((i) => i.id === 'db-a2')!;
    expect(a2.tags['last-repaired']).toBe('2026-11-01T00:00:00Z');
    await again.inventory.deleteTags('db-a1', ['nightshift:role']);
    expect((await b.inventory.discover()).instances[0]!.tags['nightshift:role']).toBeUndefined();
    expect(readFileSync(join(dir, 'fleet.yaml'), 'utf8')).toBe(TEXT);
    await expect(b.inventory.setTags('nope', { a: 'b' })).rejects.toThrow(/no host nope/);
  });

  it('lists a spare but leaves it out of its cluster until its spare tag is deleted; datadir becomes a tag', async () => {
    writeFileSync(
      join(dir, 'fleet.yaml'),
      TEXT + '  - { name: db-a4, cluster: orders, engine: mysql, host: 10.0.1.14, spare: true, datadir: /srv/mysql/data }\n',
    );
    const b = await createInventoryBackends(config, { shell: noShell });
    const d = await b.inventory.discover();
    expect(d.clusters[0]!.instanceIds).toEqual(['db-a1', 'db-a2']);
    const a4 = d.instances.find((i) => i.id === 'db-a4')!;
    expect(a4.tags).toMatchObject({ [SPARE_TAG]: 'true', [DATADIR_TAG]: '/srv/mysql/data', 'nightshift:cluster': 'orders' });
    expect(d.instances.find((i) => i.id === 'db-a1')!.tags).not.toHaveProperty(SPARE_TAG);
    expect(d.instances.find((i) => i.id === 'db-a1')!.tags).not.toHaveProperty(DATADIR_TAG);
    // The rebuild's join: the overlay deletes the spare tag, and the host is a member from the next discover on.
    await b.inventory.deleteTags('db-a4', [SPARE_TAG]);
    const after = await b.inventory.discover();
    expect(after.clusters[0]!.instanceIds).toEqual(['db-a1', 'db-a2', 'db-a4']);
    expect(after.instances.find((i) => i.id === 'db-a4')!.tags).not.toHaveProperty(SPARE_TAG);
  });

  it('spare: false is a member like any host', async () => {
    writeFileSync(join(dir, 'fleet.yaml'), TEXT + '  - { name: db-a4, cluster: orders, engine: mysql, host: 10.0.1.14, spare: false }\n');
    const d = await (await createInventoryBackends(config, { shell: noShell })).inventory.discover();
    expect(d.clusters[0]!.instanceIds).toEqual(['db-a1', 'db-a2', 'db-a4']);
    expect(d.instances.find((i) => i.id === 'db-a4')!.tags).not.toHaveProperty(SPARE_TAG);
  });

  it('fails at open with file:line when the inventory is bad', async () => {
    writeFileSync(join(dir, 'fleet.yaml'), TEXT.replace('port: 2222', 'port: "x"'));
    await expect(createInventoryBackends(config, { shell: noShell })).rejects.toThrow(/fleet\.yaml:3: hosts\[1\]\.port/);
  });
});

describe('file lock', () => {
  it('is exclusive, releases only for its run, and breaks only the named run', async () => {
    const lock = new FileLock(join(dir, 'locks'));
    const a = { runId: 'a', owner: 'ana@bastion', startedAt: '2026-11-21T01:00:00Z' };
    const results = await Promise.all([lock.acquire({ name: 'orders' }, a), lock.acquire({ name: 'orders' }, { ...a, runId: 'b' })]);
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    const holder = (await lock.holder({ name: 'orders' }))!;
    await lock.release({ name: 'orders' }, holder.runId === 'a' ? 'b' : 'a');
    expect(await lock.holder({ name: 'orders' })).toEqual(holder);
    await expect(lock.breakLock({ name: 'orders' }, 'someone-else')).rejects.toThrow(/not broken/);
    await lock.breakLock({ name: 'orders' }, holder.runId);
    expect(await lock.holder({ name: 'orders' })).toBeUndefined();
    expect(await lock.acquire({ name: 'orders' }, a)).toEqual({ acquired: true });
    // The owner is on disk as JSON, for whoever finds the lock at 1 AM.
    expect(JSON.parse(readFileSync(join(dir, 'locks', 'orders.lock'), 'utf8'))).toEqual(a);
  });

  it('treats an unreadable lock file as held', async () => {
    const lock = new FileLock(join(dir, 'locks'));
    await lock.acquire({ name: 'x' }, { runId: 'r', owner: 'o', startedAt: 's' });
    writeFileSync(join(dir, 'locks', 'x.lock'), '{torn');
    expect(await lock.acquire({ name: 'x' }, { runId: 'q', owner: 'o', startedAt: 's' })).toMatchObject({ acquired: false, heldBy: { runId: 'unreadable' } });
  });
});
