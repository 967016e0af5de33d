// Backup, prepare and move-back as jobs on the simulated fleet: schedules in
// the world that outlive the process that started them, write the tool's
// lines and bytes as virtual time passes, and fail as the real tool does.

import { describe, expect, it } from 'vitest';
import type { Instance } from '../../../src/domain/types.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { createSimBackends } from '../../../src/backends/sim/index.js';
import { openSim, probeMysql, tempStateDir } from './sim-helpers.js';
import { drive, followJob, mysqlCluster, run, ZERO } from './rebuild-helpers.js';

const BACKUP = (dir: string) => `sudo -n mariadb-backup --backup --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=${dir}`;

async function duOf(b: SimBackends, node: Instance, path: string): Promise<number> {
  const r = await run(b, node, `du -sb -- ${path}`);
  return Number(r.stdout.split('\t')[0]);
}

/** Mounts a fresh EBS volume of `gib` on the node at /mnt/nightshift-backup, as the EBS path does. */
async function backupVolume(b: SimBackends, node: Instance, gib = 150) {
  const vol = await drive(b, b.volumes!.create({ az: node.az, sizeGiB: gib, tags: { 'nightshift:rebuild': 'r1' }, clientToken: `vol-${node.id}-${gib}` }));
  await drive(b, b.volumes!.attach(vol.id, node.id, '/dev/sdf'));
  const dev = (await run(b, node, 'lsblk -dnpo NAME,SERIAL')).stdout.split('\n').find((l) => l.endsWith(vol.id.replace('-', '')))!.split(' ')[0]!;
  for (const c of [`sudo -n mkfs.ext4 -q -L nightshift -- ${dev}`, 'sudo -n mkdir -p -- /mnt/nightshift-backup', `sudo -n mount -- ${dev} /mnt/nightshift-backup`]) {
    expect(await run(b, node, c)).toMatchObject({ code: 0 });
  }
  return vol;
}

describe('backup tool jobs on the simulated fleet', () => {
  it('a backup job copies at 150-250 MB/s, du of its target grows, and it ends with completed OK! and the metadata files', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    const size = await duOf(b, src, '/var/lib/mysql');
    const t0 = b.clock.now();
    expect(await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') })).toEqual({ started: true });
    const out = await followJob(b, src, 'r1/backup.1', 20_000);
    expect(out.last).toMatchObject({ state: 'exited', code: 0 });
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\[00\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d completed OK!$/);
    expect(out.stderr).toMatch(/^\[0\d\] [-\d: ]+ Copying \.\/ibdata1 to \/mnt\/nightshift-backup\/copy\/ibdata1$/m);
    expect(out.stderr).toMatch(/Stopping slave SQL thread\./);
    expect(out.stderr).toMatch(/Starting slave SQL thread/);
    const took = (b.world.jobs().find((j) => j.id === 'r1/backup.1')!.endedAt! - t0) / 1000;
    expect(size / took).toBeGreaterThan(140 * 1_048_576);
    expect(size / took).toBeLessThan(260 * 1_048_576);
    // The SQL thread, stopped for the last phase (see the cancel test), runs again now.
    expect(b.world.view().mysql[src.id]!.replica!.sql).toBe(true);
    expect(await duOf(b, src, '/mnt/nightshift-backup/copy')).toBeGreaterThanOrEqual(size);
    const names = (await run(b, src, 'ls -A -- /mnt/nightshift-backup/copy')).stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['xtrabackup_checkpoints', 'xtrabackup_binlog_info', 'xtrabackup_slave_info', 'ibdata1']));
    expect((await run(b, src, 'cat -- /mnt/nightshift-backup/copy/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = \d+\nlast_lsn = \d+\n/);
    const info = (await run(b, src, 'cat -- /mnt/nightshift-backup/copy/xtrabackup_binlog_info')).stdout;
    expect(info).toMatch(/^mysql-bin\.\d{6}\t\d+\t\d+-\d+-\d+\n$/);
    expect((await run(b, src, 'cat -- /mnt/nightshift-backup/copy/xtrabackup_slave_info')).stdout).toMatch(/^SET GLOBAL gtid_slave_pos = '\d+-\d+-\d+';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n$/);
  });

  it('du of the target grows while the backup runs', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      b.world.advance(30_000);
      seen.push(await duOf(b, src, '/mnt/nightshift-backup/copy'));
    }
    expect(seen[0]).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect((await b.jobs.poll(src, 'r1/backup.1', ZERO)).state).toBe('running');
  });

  it('the job survives its process: another one opening the world finds it running, then finished at the right time', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const { members } = await mysqlCluster(a, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(a, src);
    await a.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    a.world.advance(10_000);
    await a.close();
    const b = await openSim({ stateDir });
    const p = await b.jobs.poll(src, 'r1/backup.1', ZERO);
    expect(p.state).toBe('running');
    expect(p.stderr).toMatch(/Copying/);
    const out = await followJob(b, src, 'r1/backup.1', 60_000);
    expect(out.last).toMatchObject({ state: 'exited', code: 0 });
    // Nothing started twice.
    expect(b.world.jobStarts().filter((s) => s.id === 'r1/backup.1')).toHaveLength(1);
  });

  it('a disk that fills fails the backup with errno 28, leaving a partial copy', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    // A volume too small for the datadir.
    await backupVolume(b, src, 20);
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    const out = await followJob(b, src, 'r1/backup.1');
    expect(out.last).toMatchObject({ state: 'exited', code: 1 });
    expect(out.stderr).toMatch(/Error: failed to write to \/mnt\/nightshift-backup\/copy\/\S+ \(errno: 28 "No space left on device"\)/);
    expect(out.stderr).not.toMatch(/completed OK!/);
    const names = (await run(b, src, 'ls -A -- /mnt/nightshift-backup/copy')).stdout;
    expect(names).not.toMatch(/xtrabackup_checkpoints/);
    const df = (await run(b, src, 'df -P -B1 -- /mnt/nightshift-backup')).stdout.split('\n')[1]!.split(/ +/);
    expect(Number(df[3])).toBeLessThan(1_048_576);
  });

  it('a disk-full fault fails the next write past what is free', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    b.world.inject({ kind: 'disk-full', node: src.id, path: '/mnt/nightshift-backup' });
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    const out = await followJob(b, src, 'r1/backup.1');
    expect(out.last).toMatchObject({ state: 'exited', code: 1 });
    expect(out.stderr).toMatch(/errno: 28 "No space left on device"/);
    b.world.heal(src.id);
    const df = (await run(b, src, 'df -P -B1 -- /mnt/nightshift-backup')).stdout.split('\n')[1]!.split(/ +/);
    expect(Number(df[3])).toBeGreaterThan(100e9);
  });

  it('a backup-fails fault fails the tool part-way with InnoDB\'s I/O error', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    b.world.inject({ kind: 'backup-fails', node: src.id });
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    const out = await followJob(b, src, 'r1/backup.1');
    expect(out.last).toMatchObject({ state: 'exited', code: 1 });
    expect(out.stderr).toMatch(/InnoDB: Operating system error number 5 in a file operation\./);
    // One-shot: the next backup (into a clean dir) goes through.
    expect(b.world.faults().some((f) => f.kind === 'backup-fails')).toBe(false);
    await b.jobs.start(src, { id: 'r1/backup.2', command: BACKUP('/var/lib/mysql.nightshift-t2') });
    expect((await followJob(b, src, 'r1/backup.2')).last).toMatchObject({ state: 'exited', code: 0 });
  });

  it('the source server stopping fails the backup', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    b.world.advance(30_000);
    b.world.inject({ kind: 'stop-mysqld', node: src.id });
    const out = await followJob(b, src, 'r1/backup.1');
    expect(out.last).toMatchObject({ state: 'exited', code: 1 });
    expect(out.stderr).toMatch(/Lost connection to MariaDB server during query/);
    // And a backup needs it up from the start.
    await b.jobs.start(src, { id: 'r1/backup.2', command: BACKUP('/mnt/nightshift-backup/copy2') });
    const again = await followJob(b, src, 'r1/backup.2');
    expect(again.last).toMatchObject({ state: 'exited', code: 1 });
    expect(again.stderr).toMatch(/Can't connect to local server through socket/);
  });

  it('a backup cancelled in its last phase leaves the SQL thread stopped; its host going down loses it', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    // mariadb-backup stops the SQL thread before it copies anything (as the lab's 10.11 does): stopped for the whole copy.
    b.world.advance(30_000);
    expect(b.world.view().mysql[src.id]!.replica!.sql).toBe(false);
    const p = await b.jobs.poll(src, 'r1/backup.1', ZERO);
    expect(p.state).toBe('running');
    expect(p.stderr).toMatch(/Stopping slave SQL thread\.\n.*Slave open temp tables: 0\n.*Slave is safe to backup\./);
    await b.jobs.cancel(src, 'r1/backup.1');
    b.world.advance(60_000);
    expect((await b.jobs.poll(src, 'r1/backup.1', ZERO)).state).toBe('exited');
    const facts = await probeMysql(b, src);
    expect(facts.replica?.sqlThread).toBe('No');
    expect(facts.replica?.ioThread).toBe('Yes');

    const other = members[2]!;
    await backupVolume(b, other);
    await b.jobs.start(other, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    b.world.advance(20_000);
    b.world.inject({ kind: 'kill-node', node: other.id });
    b.world.heal(other.id);
    const lost = await b.jobs.poll(other, 'r1/backup.1', ZERO);
    expect(lost.state).toBe('lost');
  });

  it('prepare applies the log in a few per cent of the backup\'s time; move-back on one fs renames in seconds and the copy keeps its metadata', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/var/lib/mysql.nightshift-t1') });
    const t0 = b.clock.now();
    expect((await followJob(b, src, 'r1/backup.1')).last).toMatchObject({ state: 'exited', code: 0 });
    const backupMs = b.clock.now() - t0;
    const t1 = b.clock.now();
    await b.jobs.start(src, { id: 'r1/prepare.1', command: 'sudo -n mariadb-backup --prepare --use-memory=1024M --target-dir=/var/lib/mysql.nightshift-t1' });
    const prep = await followJob(b, src, 'r1/prepare.1', 1_000);
    expect(prep.last).toMatchObject({ state: 'exited', code: 0 });
    expect(prep.stderr).toMatch(/Using 1073741824 bytes for buffer pool \(set by --use-memory parameter\)/);
    expect(prep.stderr.trimEnd().split('\n').at(-1)).toMatch(/completed OK!$/);
    expect(b.clock.now() - t1).toBeLessThan(backupMs * 0.1);
    expect((await run(b, src, 'cat -- /var/lib/mysql.nightshift-t1/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = log-applied\n/);

    // Move-back needs an empty datadir.
    await b.jobs.start(src, { id: 'r1/move.1', command: 'sudo -n mariadb-backup --move-back --datadir=/var/lib/mysql --target-dir=/var/lib/mysql.nightshift-t1' });
    const refused = await followJob(b, src, 'r1/move.1');
    expect(refused.last).toMatchObject({ state: 'exited', code: 1 });
    expect(refused.stderr).toMatch(/Original data directory \/var\/lib\/mysql is not empty!/);
    expect(await run(b, src, 'sudo -n systemctl stop mariadb')).toMatchObject({ code: 0 });
    expect(await run(b, src, 'sudo -n mv -- /var/lib/mysql /var/lib/mysql.nightshift-old-t1')).toMatchObject({ code: 0 });
    expect(await run(b, src, 'sudo -n mkdir -p -- /var/lib/mysql')).toMatchObject({ code: 0 });
    const t2 = b.clock.now();
    await b.jobs.start(src, { id: 'r1/move.2', command: 'sudo -n mariadb-backup --move-back --datadir=/var/lib/mysql --target-dir=/var/lib/mysql.nightshift-t1' });
    const moved = await followJob(b, src, 'r1/move.2', 1_000);
    expect(moved.last).toMatchObject({ state: 'exited', code: 0 });
    expect(moved.stderr).toMatch(/Moving \.\/ibdata1 to \/var\/lib\/mysql\/ibdata1/);
    expect(b.clock.now() - t2).toBeLessThan(10_000);
    expect(await duOf(b, src, '/var/lib/mysql')).toBeGreaterThan(10e9);
    expect(await duOf(b, src, '/var/lib/mysql.nightshift-t1')).toBeLessThan(1e6);
    expect((await run(b, src, 'ls -A -- /var/lib/mysql.nightshift-t1')).stdout).toMatch(/^xtrabackup_binlog_info$/m);
  });

  it('move-back across file systems copies at disk speed', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await backupVolume(b, src);
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/mnt/nightshift-backup/copy') });
    await followJob(b, src, 'r1/backup.1');
    await b.jobs.start(src, { id: 'r1/prepare.1', command: 'sudo -n mariadb-backup --prepare --use-memory=1024M --target-dir=/mnt/nightshift-backup/copy' });
    await followJob(b, src, 'r1/prepare.1');
    await run(b, src, 'sudo -n systemctl stop mariadb');
    await run(b, src, 'sudo -n rm -rf -- /var/lib/mysql');
    await run(b, src, 'sudo -n mkdir -p -- /var/lib/mysql');
    const size = await duOf(b, src, '/mnt/nightshift-backup/copy');
    const t0 = b.clock.now();
    await b.jobs.start(src, { id: 'r1/move.1', command: 'sudo -n mariadb-backup --move-back --datadir=/var/lib/mysql --target-dir=/mnt/nightshift-backup/copy' });
    b.world.advance(20_000);
    const mid = await duOf(b, src, '/var/lib/mysql');
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(size);
    const moved = await followJob(b, src, 'r1/move.1', 5_000);
    expect(moved.last).toMatchObject({ state: 'exited', code: 0 });
    expect((b.clock.now() - t0) / 1000).toBeGreaterThan(size / (250 * 1_048_576));
  });

  it('a backup job on a real clock at x200 runs to its end without spinning', async () => {
    const b = await createSimBackends({ scenario: 'healthy', seed: 3, speed: 200, stateDir: tempStateDir() });
    try {
      const { name } = await mysqlCluster(b, 'mariadb', '10');
      // Tens of GB: minutes on the fleet's clock, a second or two of real time at x200.
      const w = b.world.view();
      const members = Object.values(w.instances).filter((i) => i.cluster === name && i.state === 'running');
      const src = (await b.inventory.discover()).instances.find((i) => i.id === members[1]!.id)!;
      const started = Date.now();
      await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/var/lib/mysql.nightshift-t1') });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      let last;
      try {
        // The event loop keeps turning (the timer ticks) while the job plays out on the fleet's clock.
        last = await new Promise<{ state: string; code?: number | null }>((resolve, reject) => {
          const poll = async () => {
            try {
              const p = await b.jobs.poll(src, 'r1/backup.1', ZERO);
              if (p.state !== 'running') resolve(p as { state: string; code?: number | null });
              else setTimeout(poll, 50);
            } catch (err) {
              reject(err as Error);
            }
          };
          void poll();
        });
      } finally {
        clearInterval(timer);
      }
      expect(last).toMatchObject({ state: 'exited', code: 0 });
      const realMs = Date.now() - started;
      const job = b.world.jobs().find((j) => j.id === 'r1/backup.1')!;
      // Virtual time ran at about 200 real: the backup's minutes took seconds.
      expect((job.endedAt! - job.startedAt) / realMs).toBeGreaterThan(50);
      expect(ticks).toBeGreaterThan(realMs / 10 / 4);
    } finally {
      await b.close();
    }
  }, 60_000);

  it('xtrabackup stops the SQL thread only for its last phase', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mysql', '8.0');
    const src = members[1]!;
    await b.jobs.start(src, { id: 'r1/backup.1', command: 'sudo -n xtrabackup --backup --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/var/lib/mysql.nightshift-t1' });
    const sql: boolean[] = [];
    for (let i = 0; i < 5_000 && b.world.jobs()[0]!.state === 'running'; i++) {
      b.world.advance(500);
      sql.push(b.world.view().mysql[src.id]!.replica!.sql);
    }
    const stopped = sql.filter((x) => !x).length;
    expect(stopped).toBeGreaterThan(0);
    // A few seconds of a copy of minutes.
    expect(stopped).toBeLessThan(sql.length / 20);
    expect(sql.at(-1)).toBe(true);
    expect(b.world.jobs()[0]!.stderr).toMatch(/\[Xtrabackup\] Stopping SQL thread\./);
  });

  it('run over a plain channel, prepare works as a job does, and a backup is cut by the command\'s limit', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const src = members[1]!;
    await b.jobs.start(src, { id: 'r1/backup.1', command: BACKUP('/var/lib/mysql.nightshift-t1') });
    await followJob(b, src, 'r1/backup.1');
    const chunks: string[] = [];
    const prep = await drive(b, b.shell.exec(src, 'sudo -n mariadb-backup --prepare --use-memory=128M --target-dir=/var/lib/mysql.nightshift-t1', { timeoutMs: 0, onStderr: (c) => chunks.push(c) }), 1_000);
    expect(prep.code).toBe(0);
    expect(prep.stderr).toMatch(/completed OK!\n$/);
    expect(chunks.join('')).toBe(prep.stderr);
    expect((await run(b, src, 'cat -- /var/lib/mysql.nightshift-t1/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = log-applied\n/);
    // A backup over ssh's default 30 s limit: cut part-way, a partial copy left, the SQL thread left stopped.
    const cut = drive(b, b.shell.exec(src, BACKUP('/var/lib/mysql.nightshift-t2')), 5_000);
    await expect(cut).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await run(b, src, 'ls -A -- /var/lib/mysql.nightshift-t2')).stdout).not.toMatch(/checkpoints/);
    expect(b.world.view().mysql[src.id]!.replica!.sql).toBe(false);
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t2')).toMatchObject({ code: 1 });
  });
});
