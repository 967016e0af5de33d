// The file-system and disk commands a rebuild runs, on the simulated fleet:
// each answers in the real tool's bytes and exit codes, on the host's files,
// mounts and EBS volumes, and fails where the real one fails.

import { describe, expect, it } from 'vitest';
import { openSim } from './sim-helpers.js';
import { drive, mysqlCluster, run } from './rebuild-helpers.js';

/** `df -P -B1`'s row for the path: the numbers the runbook reads. */
function dfRow(stdout: string) {
  const lines = stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^Filesystem +1-blocks +Used +Available +Capacity +Mounted on$/);
  const cells = lines[1]!.split(/ +/);
  return { device: cells[0]!, size: Number(cells[1]), used: Number(cells[2]), available: Number(cells[3]), capacity: cells[4]!, mountedOn: cells.slice(5).join(' ') };
}

describe('host commands on the simulated fleet', () => {
  it('du, df and ls read the datadir as the real tools print it', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const n = members[1]!;
    const du = await run(b, n, 'sudo -n du -sb -- /var/lib/mysql');
    expect(du.code).toBe(0);
    const m = /^(\d+)\t\/var\/lib\/mysql\n$/.exec(du.stdout);
    expect(m).not.toBeNull();
    // Tens of GB on a generated node.
    expect(Number(m![1])).toBeGreaterThan(10e9);
    expect(Number(m![1])).toBeLessThan(100e9);
    const df = await run(b, n, 'df -P -B1 -- /var/lib/mysql');
    const row = dfRow(df.stdout);
    expect(row).toMatchObject({ device: '/dev/nvme0n1p1', mountedOn: '/' });
    expect(row.used + row.available).toBe(row.size);
    expect(row.used).toBeGreaterThan(Number(m![1]));
    expect(row.capacity).toBe(`${Math.ceil((row.used * 100) / row.size)}%`);
    const ls = await run(b, n, 'sudo -n ls -A -- /var/lib/mysql');
    expect(ls.stdout.split('\n')).toEqual(expect.arrayContaining(['ibdata1', 'mysql', 'app', 'aria_log_control']));
    expect(await run(b, n, 'ls -A -- /var/lib/nothing')).toEqual({ code: 2, signal: null, stdout: '', stderr: "ls: cannot access '/var/lib/nothing': No such file or directory\n" });
    expect(await run(b, n, 'sudo -n du -sb -- /var/lib/nothing')).toMatchObject({ code: 1, stderr: "du: cannot access '/var/lib/nothing': No such file or directory\n" });
    expect(await run(b, n, 'df -P -B1 -- /var/lib/nothing')).toMatchObject({ code: 1, stderr: 'df: /var/lib/nothing: No such file or directory\n' });
  });

  it('a fresh instance has a datadir of a few MB', async () => {
    const b = await openSim();
    const { name, members } = await mysqlCluster(b, 'mysql', '8.0');
    const inst = await b.compute!.launch({ launchTemplate: 'x', az: members[0]!.az, tags: { 'nightshift:cluster': name } });
    const ready = await drive(b, b.compute!.waitReady(inst.id));
    const du = await run(b, ready, 'du -sb -- /var/lib/mysql');
    const bytes = Number(du.stdout.split('\t')[0]);
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(bytes).toBeLessThan(20_000_000);
    expect((await run(b, ready, 'ls -A -- /var/lib/mysql')).stdout).not.toMatch(/^app$/m);
  });

  it('mkdir -p, mv, chown -R, rm -rf and cat work on the host files, with the real errors', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const n = members[2]!;
    expect(await run(b, n, 'sudo -n mkdir -p -- /var/lib/mysql.nightshift-t1/a/b')).toMatchObject({ code: 0, stderr: '' });
    expect((await run(b, n, 'ls -A -- /var/lib/mysql.nightshift-t1')).stdout).toBe('a\n');
    expect(await run(b, n, 'mkdir -- /x/y')).toMatchObject({ code: 1, stderr: "mkdir: cannot create directory '/x/y': No such file or directory\n" });
    const before = (await run(b, n, 'du -sb -- /var/lib/mysql')).stdout.split('\t')[0];
    expect(await run(b, n, 'sudo -n mv -- /var/lib/mysql /var/lib/mysql.nightshift-old-t1')).toMatchObject({ code: 0 });
    expect((await run(b, n, 'du -sb -- /var/lib/mysql.nightshift-old-t1')).stdout).toBe(`${before}\t/var/lib/mysql.nightshift-old-t1\n`);
    expect(await run(b, n, 'mv -- /var/lib/mysql /tmp/x')).toMatchObject({ code: 1, stderr: "mv: cannot stat '/var/lib/mysql': No such file or directory\n" });
    expect(await run(b, n, 'chown -R mysql:mysql -- /var/lib/nothing')).toMatchObject({ code: 1, stderr: "chown: cannot access '/var/lib/nothing': No such file or directory\n" });
    expect(await run(b, n, 'chown -R nobodyknows -- /tmp')).toMatchObject({ code: 1, stderr: "chown: invalid user: 'nobodyknows'\n" });
    expect(await run(b, n, 'sudo -n rm -rf -- /var/lib/mysql.nightshift-t1')).toMatchObject({ code: 0 });
    expect((await run(b, n, 'ls -A -- /var/lib/mysql.nightshift-t1')).code).toBe(2);
    // rm -f of what is not there: done.
    expect(await run(b, n, 'sudo -n rm -rf -- /var/lib/mysql.nightshift-t1')).toMatchObject({ code: 0, stderr: '' });
    expect(await run(b, n, 'cat -- /nope')).toMatchObject({ code: 1, stderr: 'cat: /nope: No such file or directory\n' });
    expect(await run(b, n, 'cat -- /tmp')).toMatchObject({ code: 1, stderr: 'cat: /tmp: Is a directory\n' });
  });

  it('an EBS volume shows in lsblk by its Nitro serial, takes mkfs, mount, findmnt and umount, and refuses what the real ones refuse', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    const n = members[1]!;
    const vol = await drive(b, b.volumes!.create({ az: n.az, sizeGiB: 100, tags: { 'nightshift:rebuild': 'r1' } }));
    await drive(b, b.volumes!.attach(vol.id, n.id, '/dev/sdf'));
    const lsblk = await run(b, n, 'lsblk -dnpo NAME,SERIAL');
    const rows = lsblk.stdout.trimEnd().split('\n').map((l) => l.split(/ +/));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual(['/dev/nvme1n1', vol.id.replace('-', '')]);
    expect(await run(b, n, 'sudo -n mkdir -p -- /mnt/nightshift-backup')).toMatchObject({ code: 0 });
    // Not formatted yet: mount cannot tell its fs type.
    const bad = await run(b, n, 'sudo -n mount -- /dev/nvme1n1 /mnt/nightshift-backup');
    expect(bad.code).toBe(32);
    expect(bad.stderr).toMatch(/^mount: \/mnt\/nightshift-backup: wrong fs type, bad option, bad superblock on \/dev\/nvme1n1/);
    expect(await run(b, n, 'sudo -n mkfs.ext4 -q -L nightshift -- /dev/nvme1n1')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await run(b, n, 'findmnt -n -o SOURCE,TARGET -- /mnt/nightshift-backup')).toMatchObject({ code: 1, stdout: '' });
    expect(await run(b, n, 'sudo -n mount -- /dev/nvme1n1 /mnt/nightshift-backup')).toMatchObject({ code: 0 });
    expect(await run(b, n, 'findmnt -n -o SOURCE,TARGET -- /mnt/nightshift-backup')).toMatchObject({ code: 0, stdout: '/dev/nvme1n1 /mnt/nightshift-backup\n' });
    const df = dfRow((await run(b, n, 'df -P -B1 -- /mnt/nightshift-backup')).stdout);
    expect(df).toMatchObject({ device: '/dev/nvme1n1', mountedOn: '/mnt/nightshift-backup' });
    expect(df.size).toBeGreaterThan(100 * 1_073_741_824 * 0.95);
    expect(df.available).toBeGreaterThan(df.size * 0.99);
    const again = await run(b, n, 'sudo -n mkfs.ext4 -q -L nightshift -- /dev/nvme1n1');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\/dev\/nvme1n1 is mounted; will not make a filesystem here!\n$/);
    expect((await run(b, n, 'sudo -n mount -- /dev/nvme1n1 /mnt/nightshift-backup')).stderr).toBe('mount: /mnt/nightshift-backup: /dev/nvme1n1 already mounted on /mnt/nightshift-backup.\n');
    expect((await run(b, n, 'sudo -n mount -- /dev/nvme9n1 /mnt/nightshift-backup')).stderr).toBe('mount: /mnt/nightshift-backup: special device /dev/nvme9n1 does not exist.\n');
    expect(await run(b, n, 'sudo -n umount -- /mnt/nightshift-backup')).toMatchObject({ code: 0 });
    expect(await run(b, n, 'sudo -n umount -- /mnt/nightshift-backup')).toMatchObject({ code: 32, stderr: 'umount: /mnt/nightshift-backup: not mounted.\n' });
    // The attachment's name works too, as udev links it on Nitro.
    expect(await run(b, n, 'sudo -n mount -- /dev/sdf /mnt/nightshift-backup')).toMatchObject({ code: 0 });
  });

  it('pkill -f exits 1 when nothing matches', async () => {
    const b = await openSim();
    const { members } = await mysqlCluster(b, 'mariadb', '10');
    expect(await run(b, members[1]!, 'sudo -n pkill -f -- [n]ightshift-t1')).toEqual({ code: 1, signal: null, stdout: '', stderr: '' });
  });

  it('the backup tools answer --version where installed, and exit 127 where not', async () => {
    const b = await openSim();
    const maria = (await mysqlCluster(b, 'mariadb', '10')).members[1]!;
    const mysql = (await mysqlCluster(b, 'mysql', '8.0')).members[1]!;
    // As the lab's real tools answer: the version on stderr; mbstream has no --version (exit 1), its --help has the version line.
    expect(await run(b, maria, 'mariadb-backup --version')).toMatchObject({ code: 0, stdout: '', stderr: 'mariadb-backup based on MariaDB server 10.11.9-MariaDB Linux (x86_64)\n' });
    expect(await run(b, maria, 'mbstream --version')).toEqual({ code: 1, signal: null, stdout: '', stderr: "mbstream: unknown option '--version'\n" });
    expect((await run(b, maria, 'mbstream --help')).stdout).toMatch(/^mbstream\s+Ver \d/);
    expect(await run(b, maria, 'xtrabackup --version')).toEqual({ code: 127, signal: null, stdout: '', stderr: 'sh: 1: xtrabackup: not found\n' });
    expect((await run(b, mysql, 'xtrabackup --version')).stderr).toMatch(/^xtrabackup version 8\.0\.39-31 based on MySQL server 8\.0\.39 Linux/);
    expect(await run(b, mysql, 'xbstream --version')).toMatchObject({ code: 0 });
  });
});
