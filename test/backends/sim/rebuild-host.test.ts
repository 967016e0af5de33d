// A whole rebuild typed by hand on the simulated fleet, both paths: the
// stream into a spare (MariaDB) and a backup on an EBS volume moved to the
// spare through a snapshot (MySQL 8). Each ends with the spare a member and
// a replica that has caught up with the master.

import { describe, expect, it } from 'vitest';
import { mysqlCommand } from '../../../src/backends/engines/mysql.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { SPARE_TAG, type Instance } from '../../../src/domain/types.js';
import { openSim, probeMysql } from './sim-helpers.js';
import { drive, followJob, launchSpare, mysqlCluster, run } from './rebuild-helpers.js';

async function sqlOk(b: SimBackends, node: Instance, statements: string) {
  const r = await drive(b, b.shell.exec(node, mysqlCommand('mysql', statements)));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r;
}

async function expectJobOk(b: SimBackends, node: Instance, id: string, command: string) {
  expect(await b.jobs.start(node, { id, command })).toEqual({ started: true });
  const out = await followJob(b, node, id, 5_000);
  expect(out.last).toMatchObject({ state: 'exited', code: 0 });
  expect(out.stderr.trimEnd().split('\n').at(-1)).toMatch(/completed OK!$/);
  return out;
}

/** Follows the new replica until it has caught up: lag falling to 0 and the master's GTIDs all there. */
async function catchesUp(b: SimBackends, node: Instance, master: Instance) {
  const lags: number[] = [];
  for (let i = 0; i < 200; i++) {
    b.world.advance(15_000);
    const f = await probeMysql(b, node);
    expect(f.replica).toMatchObject({ ioThread: 'Yes', sqlThread: 'Yes' });
    lags.push(f.replica!.lagSeconds ?? -1);
    if (f.replica!.lagSeconds === 0) break;
  }
  // Behind when it starts (the copy is as old as the steps since the backup ended), falling to nothing.
  expect(lags[0]!).toBeGreaterThan(0);
  expect(lags.at(-1)).toBe(0);
  for (let i = 1; i < lags.length; i++) expect(lags[i]!).toBeLessThanOrEqual(lags[i - 1]!);
  // What the master had a minute ago, the replica has now.
  const m = await probeMysql(b, master);
  b.world.advance(60_000);
  const r = await probeMysql(b, node);
  expect(covers(r.gtidExecuted, m.gtidExecuted)).toBe(true);
  return { master: m, replica: r, lags };
}

/** Does GTID set/position `have` hold every transaction of `want` (highest number per domain or uuid)? */
function covers(have: string, want: string): boolean {
  const last = (text: string) => {
    const out = new Map<string, number>();
    for (const part of text.split(/,\n?/).filter(Boolean)) {
      const m = /^(\d+)-\d+-(\d+)$/.exec(part) ?? /^([0-9a-f-]{36}):(?:\d+-)?(\d+)$/.exec(part);
      if (!m) throw new Error(`not a GTID: ${part}`);
      out.set(m[1]!, Math.max(out.get(m[1]!) ?? 0, Number(m[2])));
    }
    return out;
  };
  const h = last(have);
  return [...last(want)].every(([k, n]) => (h.get(k) ?? 0) >= n);
}

describe('a rebuild by hand on the simulated fleet', () => {
  it('MariaDB, stream path: spare launched, streamed, prepared, moved in, started, pointed at the master; it catches up and joins', async () => {
    const b = await openSim();
    const { name, members } = await mysqlCluster(b, 'mariadb', '10');
    const [master, src] = members as [Instance, Instance];
    const target = await launchSpare(b, name, src.az);
    // A spare is no member yet.
    expect((await b.inventory.discover()).clusters.find((c) => c.name === name)!.instanceIds).not.toContain(target.id);
    expect(await run(b, target, 'sudo -n systemctl is-active mariadb')).toMatchObject({ code: 0, stdout: 'active\n' });
    const staging = '/var/lib/mysql.nightshift-t1';
    expect(await run(b, target, `sudo -n mkdir -p -- ${staging}`)).toMatchObject({ code: 0 });
    const streamed = await drive(
      b,
      b.shell.pipe!(
        { node: src, command: 'sudo -n mariadb-backup --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/tmp/nightshift-t1' },
        { node: target, command: `sudo -n mbstream -x -C ${staging}` },
        {},
      ),
      2_000,
    );
    expect(streamed.from.code).toBe(0);
    // An empty datadir does not start: try it, as an operator who skipped the move-back would.
    expect(await run(b, target, 'sudo -n systemctl stop mariadb')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n mv -- /var/lib/mysql /var/lib/mysql.nightshift-old-t1')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n mkdir -p -- /var/lib/mysql')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n chown -R mysql:mysql -- /var/lib/mysql')).toMatchObject({ code: 0 });
    const early = await run(b, target, 'sudo -n systemctl start mariadb');
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^Job for mariadb\.service failed because the control process exited with error code\./);
    expect(await run(b, target, 'sudo -n systemctl is-active mariadb')).toMatchObject({ code: 3, stdout: 'failed\n' });
    expect((await run(b, target, 'cat -- /var/log/mysql/error.log')).stdout).toMatch(/\[ERROR\] Fatal error: Can't open and lock privilege tables/);

    await expectJobOk(b, target, 't1/prepare.1', `sudo -n mariadb-backup --prepare --use-memory=1024M --target-dir=${staging}`);
    const names = (await run(b, target, `sudo -n ls -A -- ${staging}`)).stdout.split('\n');
    expect(names).toContain('xtrabackup_binlog_info');
    expect((await run(b, target, `sudo -n cat -- ${staging}/xtrabackup_checkpoints`)).stdout).toMatch(/^backup_type = log-applied\n/);
    const [, , gtid] = (await run(b, target, `sudo -n cat -- ${staging}/xtrabackup_binlog_info`)).stdout.trimEnd().split('\t') as [string, string, string];
    expect(gtid).toMatch(/^\d+-\d+-\d+(,\d+-\d+-\d+)*$/);

    await expectJobOk(b, target, 't1/move-back.1', `sudo -n mariadb-backup --move-back --datadir=/var/lib/mysql --target-dir=${staging}`);
    // Owned by root after the move: mysqld cannot open it.
    const denied = await run(b, target, 'sudo -n systemctl start mariadb');
    expect(denied.code).toBe(1);
    expect((await run(b, target, 'cat -- /var/log/mysql/error.log')).stdout).toMatch(/InnoDB: Operating system error number 13 in a file operation\./);
    expect(await run(b, target, 'sudo -n chown -R mysql:mysql -- /var/lib/mysql')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n systemctl start mariadb')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n systemctl is-active mariadb')).toMatchObject({ code: 0, stdout: 'active\n' });
    const started = await probeMysql(b, target);
    expect(started.replica).toBeUndefined();
    expect(started.serverId).not.toBe((await probeMysql(b, src)).serverId);
    expect(started.gtidExecuted).toBe(gtid);

    await sqlOk(b, target, `SET GLOBAL gtid_slave_pos='${gtid}'; CHANGE MASTER TO MASTER_HOST='${master.privateIp}', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='x', MASTER_USE_GTID=slave_pos; START SLAVE;`);
    const { replica } = await catchesUp(b, target, master);
    expect(replica.replica?.sourceHost).toBe(master.privateIp);
    // Joining: the spare tag goes, the role comes.
    await b.inventory.deleteTags(target.id, [SPARE_TAG]);
    await b.inventory.setTags(target.id, { 'nightshift:role': 'replica' });
    expect((await b.inventory.discover()).clusters.find((c) => c.name === name)!.instanceIds).toContain(target.id);
    // Leftovers cleaned up.
    expect(await run(b, target, `sudo -n rm -rf -- ${staging}`)).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n rm -rf -- /var/lib/mysql.nightshift-old-t1')).toMatchObject({ code: 0 });
  });

  it('MySQL 8, EBS path: backup on a volume, prepared, snapshot, a volume from it on the spare, moved in across file systems; RESET MASTER, gtid_purged, auto-position; it catches up', async () => {
    const b = await openSim();
    const { name, members } = await mysqlCluster(b, 'mysql', '8.0');
    const [master, src] = members as [Instance, Instance];
    const other = members[2]!;
    const target = await launchSpare(b, name, other.az);
    expect(target.az).not.toBe(src.az);

    const vol = await drive(b, b.volumes!.create({ az: src.az, sizeGiB: 150, tags: { 'nightshift:rebuild': 't1' }, clientToken: 't1-backup' }));
    await drive(b, b.volumes!.attach(vol.id, src.id, '/dev/sdf'));
    const dev = (await run(b, src, 'lsblk -dnpo NAME,SERIAL')).stdout.split('\n').find((l) => l.endsWith(vol.id.replace('-', '')))!.split(' ')[0]!;
    for (const c of [`sudo -n mkfs.ext4 -q -L nightshift -- ${dev}`, 'sudo -n mkdir -p -- /mnt/nightshift-backup', `sudo -n mount -- ${dev} /mnt/nightshift-backup`]) {
      expect(await run(b, src, c)).toMatchObject({ code: 0 });
    }
    const backup = await expectJobOk(b, src, 't1/backup.1', 'sudo -n xtrabackup --backup --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/mnt/nightshift-backup/backup');
    expect(backup.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+-00:00 \d+ \[Note\] \[MY-011825\] \[Xtrabackup\] Copying \.\/ibdata1 to /m);
    await expectJobOk(b, src, 't1/prepare.1', 'sudo -n xtrabackup --prepare --use-memory=1024M --target-dir=/mnt/nightshift-backup/backup');
    expect((await run(b, src, 'cat -- /mnt/nightshift-backup/backup/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = full-prepared\n/);
    const info = (await run(b, src, 'cat -- /mnt/nightshift-backup/backup/xtrabackup_binlog_info')).stdout;
    const gtidSet = info.slice(info.indexOf('\t', info.indexOf('\t') + 1) + 1).trimEnd();
    expect(gtidSet).toMatch(/^[0-9a-f-]{36}:1-\d+/);
    expect(await run(b, src, 'sudo -n umount -- /mnt/nightshift-backup')).toMatchObject({ code: 0 });

    const snap = await b.volumes!.snapshot(vol.id, { tags: { 'nightshift:rebuild': 't1', 'nightshift:cluster': name } });
    expect(snap).toMatchObject({ state: 'pending', progressPercent: 0 });
    const percents: number[] = [];
    const done = await drive(b, b.volumes!.waitSnapshot(snap.id, { onProgress: (p) => percents.push(p) }), 15_000);
    expect(done.state).toBe('completed');
    expect(percents.at(-1)).toBe(100);
    expect(percents.length).toBeGreaterThan(3);
    expect((await b.volumes!.findSnapshots({ 'nightshift:rebuild': 't1' })).map((s) => s.id)).toEqual([snap.id]);

    const restored = await drive(b, b.volumes!.create({ az: target.az, sizeGiB: 150, snapshotId: snap.id, tags: { 'nightshift:rebuild': 't1' }, clientToken: 't1-restore' }));
    await drive(b, b.volumes!.attach(restored.id, target.id, '/dev/sdg'));
    const dev2 = (await run(b, target, 'lsblk -dnpo NAME,SERIAL')).stdout.split('\n').find((l) => l.endsWith(restored.id.replace('-', '')))!.split(' ')[0]!;
    expect(await run(b, target, 'sudo -n mkdir -p -- /mnt/nightshift-restore')).toMatchObject({ code: 0 });
    // Formatted already (the snapshot's fs): mount it, do not mkfs it.
    expect(await run(b, target, `sudo -n mount -- ${dev2} /mnt/nightshift-restore`)).toMatchObject({ code: 0 });
    expect((await run(b, target, 'sudo -n ls -A -- /mnt/nightshift-restore/backup')).stdout).toMatch(/^xtrabackup_checkpoints$/m);

    expect(await run(b, target, 'sudo -n systemctl stop mysql')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n mv -- /var/lib/mysql /var/lib/mysql.nightshift-old-t1')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n mkdir -p -- /var/lib/mysql')).toMatchObject({ code: 0 });
    const t0 = b.clock.now();
    await expectJobOk(b, target, 't1/move-back.1', 'sudo -n xtrabackup --move-back --datadir=/var/lib/mysql --target-dir=/mnt/nightshift-restore/backup');
    // Across file systems: a copy at disk speed, tens of seconds at least.
    expect(b.clock.now() - t0).toBeGreaterThan(30_000);
    expect(await run(b, target, 'sudo -n chown -R mysql:mysql -- /var/lib/mysql')).toMatchObject({ code: 0 });
    expect(await run(b, target, 'sudo -n systemctl start mysql')).toMatchObject({ code: 0 });
    const up = await probeMysql(b, target);
    expect(up.replica).toBeUndefined();
    // gtid_purged cannot be set over executed GTIDs: the real error, then RESET MASTER first.
    const refused = await drive(b, b.shell.exec(target, mysqlCommand('mysql', `SET GLOBAL gtid_purged='${gtidSet.replace(/\n/g, '')}'`)));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERROR 3546/);
    await sqlOk(b, target, `RESET MASTER; SET GLOBAL gtid_purged='${gtidSet.replace(/\n/g, '')}'; CHANGE REPLICATION SOURCE TO SOURCE_HOST='${master.privateIp}', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='x', SOURCE_AUTO_POSITION=1; START REPLICA;`);
    const { master: m, replica } = await catchesUp(b, target, master);
    expect(replica.replica?.usingGtid).toBe(true);
    expect(m.gtidExecuted.split(',\n')[0]!.split(':')[0]).toBe(replica.gtidExecuted.split(',\n')[0]!.split(':')[0]);

    // Cleaning up: unmount, detach, delete; a second delete is done too.
    expect(await run(b, target, 'sudo -n umount -- /mnt/nightshift-restore')).toMatchObject({ code: 0 });
    await drive(b, b.volumes!.detach(restored.id));
    await b.volumes!.remove(restored.id);
    await b.volumes!.remove(restored.id);
    expect(await b.volumes!.get(restored.id)).toBeUndefined();
    await b.volumes!.removeSnapshot(snap.id);
    await b.volumes!.removeSnapshot(snap.id);
    expect(await b.volumes!.getSnapshot(snap.id)).toBeUndefined();
  });
  it('an unprepared image moved into the datadir does not start: InnoDB says why, and is-active says failed', async () => {
    const b = await openSim();
    for (const [flavour, version, unit, tool, words] of [
      ['mariadb', '10', 'mariadb', 'mariadb-backup', /\[ERROR\] InnoDB: Missing FILE_CHECKPOINT/],
      ['mysql', '8.4', 'mysql', 'xtrabackup', /\[ERROR\] \[MY-012960\] \[InnoDB\] Cannot create redo log files because data files are corrupt/],
    ] as const) {
      const { members } = await mysqlCluster(b, flavour, version);
      const n = members[2]!;
      await expectJobOk(b, n, 'u1/backup.1', `sudo -n ${tool} --backup --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/var/lib/mysql.nightshift-u1`);
      expect(await run(b, n, `sudo -n systemctl stop ${unit}`)).toMatchObject({ code: 0 });
      expect(await run(b, n, 'sudo -n mv -- /var/lib/mysql /var/lib/mysql.nightshift-old-u1')).toMatchObject({ code: 0 });
      // Without a datadir at all, the server says so.
      expect((await run(b, n, `sudo -n systemctl start ${unit}`)).code).toBe(1);
      expect((await run(b, n, 'cat -- /var/log/mysql/error.log')).stdout).toMatch(/No such file or directory/);
      expect(await run(b, n, 'sudo -n mkdir -p -- /var/lib/mysql')).toMatchObject({ code: 0 });
      await expectJobOk(b, n, 'u1/move-back.1', `sudo -n ${tool} --move-back --datadir=/var/lib/mysql --target-dir=/var/lib/mysql.nightshift-u1`);
      expect(await run(b, n, 'sudo -n chown -R mysql:mysql -- /var/lib/mysql')).toMatchObject({ code: 0 });
      const res = await run(b, n, `sudo -n systemctl start ${unit}`);
      expect(res.code).toBe(1);
      // A restart tries again, and fails the same way.
      expect((await run(b, n, `sudo -n systemctl restart ${unit}`)).code).toBe(1);
      expect(await run(b, n, `sudo -n systemctl is-active ${unit}`)).toMatchObject({ code: 3, stdout: 'failed\n' });
      expect((await run(b, n, 'cat -- /var/log/mysql/error.log')).stdout).toMatch(words);
    }
  });
});
