// The EC2 side of a rebuild on the simulated fleet: token-idempotent
// launches and volumes, finding by tags, waiting for readiness and for
// snapshots, a stuck snapshot, spares that are no members, old worlds, and
// the lost-replica scenario.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SIM_TAGS, statePathOf } from '../../../src/backends/sim/index.js';
import { mysqlCommand } from '../../../src/backends/engines/mysql.js';
import { SPARE_TAG } from '../../../src/domain/types.js';
import { fleet, openSim, probeMysql, tempStateDir } from './sim-helpers.js';
import { drive, launchSpare, mysqlCluster, run } from './rebuild-helpers.js';

describe('EC2 for a rebuild on the simulated fleet', () => {
  it('launch with a client token launches once; find by tags lists it; waitReady reports pending, then status checks, then returns it running', async () => {
    const b = await openSim();
    const { name, members } = await mysqlCluster(b, 'mariadb', '11');
    const spec = { launchTemplate: 'lt', az: members[0]!.az, tags: { [SIM_TAGS.cluster]: name, [SPARE_TAG]: 'true', 'nightshift:rebuild': 'run-7' }, clientToken: 'run-7-launch' };
    const a = await b.compute!.launch(spec);
    const again = await b.compute!.launch(spec);
    expect(again.id).toBe(a.id);
    expect(a.state).toBe('pending');
    await expect(b.compute!.launch({ ...spec, az: 'us-east-1b' === spec.az ? 'us-east-1c' : 'us-east-1b' })).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    expect((await b.compute!.find({ 'nightshift:rebuild': 'run-7' })).map((i) => i.id)).toEqual([a.id]);
    const said: string[] = [];
    const ready = await drive(b, b.compute!.waitReady(a.id, { onProgress: (s) => said.push(s) }));
    expect(ready).toMatchObject({ id: a.id, state: 'running', statusChecks: 'ok' });
    expect(said[0]).toBe('pending');
    expect(said).toContain('running, status checks initializing');
    // A fresh server: running, empty, writable, nobody's replica.
    const facts = await probeMysql(b, ready);
    expect(facts).toMatchObject({ readOnly: false });
    expect(facts.replica).toBeUndefined();
    await b.compute!.terminate(a.id);
    await b.compute!.terminate(a.id);
    b.world.advance(120_000);
    expect(await b.compute!.find({ 'nightshift:rebuild': 'run-7' })).toEqual([]);
    await expect(b.compute!.waitReady(a.id)).rejects.toThrow(/terminated/);
  });

  it('a spare is listed but no member until its spare tag goes', async () => {
    const b = await openSim();
    const { name, members } = await mysqlCluster(b, 'mariadb', '10');
    const spare = await launchSpare(b, name, members[1]!.az);
    const d = await b.inventory.discover();
    expect(d.instances.map((i) => i.id)).toContain(spare.id);
    expect(d.clusters.find((c) => c.name === name)!.instanceIds).toEqual(members.map((m) => m.id));
    await b.inventory.deleteTags(spare.id, [SPARE_TAG]);
    expect((await b.inventory.discover()).clusters.find((c) => c.name === name)!.instanceIds).toEqual([...members.map((m) => m.id), spare.id]);
  });

  it('volumes: a client token makes one volume, find by tags, remove twice', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const spec = { az: members[0]!.az, sizeGiB: 120, tags: { 'nightshift:rebuild': 'r9' }, clientToken: 'r9-vol' };
    const v1 = await drive(b, b.volumes!.create(spec));
    const v2 = await drive(b, b.volumes!.create(spec));
    expect(v2.id).toBe(v1.id);
    expect(v1.state).toBe('available');
    await expect(drive(b, b.volumes!.create({ ...spec, sizeGiB: 200 }))).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    expect((await b.volumes!.find({ 'nightshift:rebuild': 'r9' })).map((v) => v.id)).toEqual([v1.id]);
    expect(await b.volumes!.find({ 'nightshift:rebuild': 'other' })).toEqual([]);
    await b.volumes!.remove(v1.id);
    await b.volumes!.remove(v1.id);
    expect(await b.volumes!.find({ 'nightshift:rebuild': 'r9' })).toEqual([]);
  });

  it('a snapshot takes time in proportion to the bytes written on the volume, and carries its files to a volume made from it', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const n = members[1]!;
    const empty = await drive(b, b.volumes!.create({ az: n.az, sizeGiB: 500 }));
    const full = await drive(b, b.volumes!.create({ az: n.az, sizeGiB: 500 }));
    await drive(b, b.volumes!.attach(full.id, n.id, '/dev/sdf'));
    for (const c of ['sudo -n mkfs.ext4 -q -L nightshift -- /dev/sdf', 'sudo -n mkdir -p -- /mnt/nightshift-backup', 'sudo -n mount -- /dev/sdf /mnt/nightshift-backup', 'sudo -n mkdir -p -- /mnt/nightshift-backup/copy']) {
      expect(await run(b, n, c)).toMatchObject({ code: 0 });
    }
    await b.jobs.start(n, { id: 's/backup.1', command: 'sudo -n mariadb-backup --backup --datadir=/var/lib/mysql --target-dir=/mnt/nightshift-backup/copy' });
    for (let i = 0; i < 200 && b.world.jobs()[0]!.state === 'running'; i++) b.world.advance(10_000);
    expect(b.world.jobs()[0]).toMatchObject({ state: 'exited', code: 0 });
    const s1 = await b.volumes!.snapshot(empty.id, { tags: { k: 'empty' } });
    const s2 = await b.volumes!.snapshot(full.id, { tags: { k: 'full' } });
    const t0 = b.clock.now();
    const w1 = await drive(b, b.volumes!.waitSnapshot(s1.id), 5_000);
    const emptyMs = b.clock.now() - t0;
    const w2 = await drive(b, b.volumes!.waitSnapshot(s2.id), 5_000);
    const fullMs = b.clock.now() - t0;
    expect([w1.state, w2.state]).toEqual(['completed', 'completed']);
    expect(emptyMs).toBeLessThan(60_000);
    expect(fullMs).toBeGreaterThan(5 * emptyMs);
    const copy = await drive(b, b.volumes!.create({ az: members[2]!.az, sizeGiB: 500, snapshotId: s2.id }));
    await drive(b, b.volumes!.attach(copy.id, members[2]!.id, '/dev/sdg'));
    expect(await run(b, members[2]!, 'sudo -n mkdir -p -- /mnt/nightshift-restore')).toMatchObject({ code: 0 });
    expect(await run(b, members[2]!, 'sudo -n mount -- /dev/sdg /mnt/nightshift-restore')).toMatchObject({ code: 0 });
    expect((await run(b, members[2]!, 'cat -- /mnt/nightshift-restore/copy/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = full-backuped\n/);
  });

  it('snapshot-stuck holds a volume\'s snapshots at a percent, pending, until healed', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const v = await drive(b, b.volumes!.create({ az: members[0]!.az, sizeGiB: 50 }));
    b.world.inject({ kind: 'snapshot-stuck', volume: v.id, percent: 42 });
    const s = await b.volumes!.snapshot(v.id);
    const seen: number[] = [];
    const waiting = b.volumes!.waitSnapshot(s.id, { onProgress: (p) => seen.push(p) });
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setImmediate(r));
      b.world.advance(30_000);
    }
    expect(await b.volumes!.getSnapshot(s.id)).toMatchObject({ state: 'pending', progressPercent: 42 });
    expect(seen.at(-1)).toBe(42);
    b.world.heal(v.id);
    const done = await drive(b, waiting, 5_000);
    expect(done).toMatchObject({ state: 'completed', progressPercent: 100 });
  });

  it('a world saved before hosts had files opens, and its hosts get their generated layout', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const { members } = await mysqlCluster(a, 'mariadb', '10');
    const size = (await run(a, members[1]!, 'du -sb -- /var/lib/mysql')).stdout;
    await a.close();
    const path = statePathOf(stateDir, 'healthy', 1, null);
    const old = JSON.parse(readFileSync(path, 'utf8'));
    for (const k of ['hosts', 'filesystems', 'snapshotFiles', 'procs', 'tokens']) delete old[k];
    writeFileSync(path, JSON.stringify(old));
    const b = await openSim({ stateDir });
    expect((await run(b, members[1]!, 'du -sb -- /var/lib/mysql')).stdout).toBe(size);
  });

  it('hosts\' files are persisted with the world: a second process sees a directory the first made', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const { members } = await mysqlCluster(a, 'mariadb', '10');
    expect(await run(a, members[1]!, 'sudo -n mkdir -p -- /var/lib/mysql.nightshift-p1')).toMatchObject({ code: 0 });
    const b = await openSim({ stateDir });
    await new Promise((r) => setImmediate(r));
    expect(await run(b, members[1]!, 'ls -A -- /var/lib/mysql.nightshift-p1')).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('the lost-replica scenario', () => {
  it('a MySQL cluster one replica short after a failover: the old master terminated, its AZ empty, the promoted master writable, the other replica following it', async () => {
    const b = await openSim({ scenario: 'lost-replica' });
    const healthy = await openSim({ scenario: 'healthy' });
    const f = await fleet(b);
    const before = await fleet(healthy);
    const name = Object.values(b.world.view().clusters).find((c) => c.engine === 'mysql')!.name;
    const now = f.members(name);
    const was = before.members(name);
    expect(now).toHaveLength(was.length - 1);
    // The sim names its clusters' redundancy targets itself: the replicas they were generated with.
    expect(b.targetReplicas({ name: name })).toBe(was.length - 1);
    expect(healthy.targetReplicas({ name: name })).toBe(was.length - 1);
    // A launch template to launch the new replica from, on every member as EC2 tags it.
    const lt = b.world.view().clusters[name]!.launchTemplate;
    expect(lt).toMatch(/^lt-/);
    expect(now.every((i) => i.tags['aws:ec2launchtemplate:id'] === lt)).toBe(true);
    const gone = was.find((i) => !now.some((n) => n.id === i.id))!;
    expect(b.world.view().instances[gone.id]!.state).toBe('terminated');
    // The AZ that restores the spread is the one left without a member; a launch there works.
    expect(now.map((i) => i.az)).not.toContain(gone.az);
    const spare = await launchSpare(b, name, gone.az);
    expect(spare.az).toBe(gone.az);
    const master = now.find((i) => b.world.view().mysql[i.id]!.replica === undefined)!;
    expect((await probeMysql(b, master)).readOnly).toBe(false);
    const replica = now.find((i) => i.id !== master.id)!;
    b.world.advance(60_000);
    const r = await probeMysql(b, replica);
    expect(r.replica).toMatchObject({ sourceHost: master.privateIp, ioThread: 'Yes', sqlThread: 'Yes' });
    expect(b.writerDns({ name: name })).toBeDefined();
    const rec = await b.dns!.getRecord(b.writerDns({ name: name })!.zoneId, b.writerDns({ name: name })!.name, 'A');
    expect(rec!.values).toEqual([master.privateIp]);
  });

  it('a node set to a GTID of the new master replicates from it: the old master\'s last writes, which never reached the new one, are not claimed', async () => {
    const b = await openSim({ scenario: 'lost-replica' });
    const name = Object.values(b.world.view().clusters).find((c) => c.engine === 'mysql')!.name;
    const now = (await fleet(b)).members(name);
    const master = now.find((i) => b.world.view().mysql[i.id]!.replica === undefined)!;
    const spare = await launchSpare(b, name, master.az);
    const pos = (await run(b, master, mysqlCommand('mysql', 'SELECT @@gtid_binlog_pos'))).stdout.trim().split('\n').at(-1)!;
    expect(pos).toMatch(/^0-\d+-\d+$/);
    const r = await run(b, spare, mysqlCommand('mysql', `SET GLOBAL gtid_slave_pos='${pos}'; CHANGE MASTER TO MASTER_HOST='${master.privateIp}', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='x', MASTER_USE_GTID=slave_pos; START SLAVE;`));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    b.world.advance(30_000);
    const f = await probeMysql(b, spare);
    expect(f.replica?.lastIoError).toBeUndefined();
    expect(f.replica).toMatchObject({ ioThread: 'Yes', sqlThread: 'Yes' });
  });
});
