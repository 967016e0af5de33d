import { describe, expect, it } from 'vitest';
import {
  backupFailure,
  backupPosition,
  commands,
  deviceOf,
  isOwnScratch,
  isPrepared,
  metadataFile,
  parseBinlogInfo,
  parseCheckpoints,
  parseDf,
  parseDu,
  parseFindmnt,
  parseLs,
  parseSlaveInfo,
} from '../../../src/backends/engines/backup-ops.js';
import { describeRepoint, mysqlTarget } from '../../../src/backends/engines/mysql-ops.js';
import { createRedactor } from '../../../src/domain/redact.js';
import type { Instance } from '../../../src/domain/types.js';

describe('the rebuild commands', () => {
  it('prefix the privileged ones with engines.privileged, and leave the prefix out when it is empty', () => {
    expect(commands.du('sudo -n', '/var/lib/mysql')).toBe('sudo -n du -sb -- /var/lib/mysql');
    expect(commands.du('', '/var/lib/mysql')).toBe('du -sb -- /var/lib/mysql');
    expect(commands.df('/var/lib')).toBe('df -P -B1 -- /var/lib');
    expect(commands.mv('', '/data/my sql', '/x')).toBe("mv -- '/data/my sql' /x");
  });

  it('delete only what the rebuild made itself', () => {
    const tok = 'abc123';
    expect(commands.rmrf('', '/var/lib/mysql.nightshift-abc123', tok)).toBe('rm -rf -- /var/lib/mysql.nightshift-abc123');
    expect(commands.rmrf('', '/mnt/nightshift-backup/abc123', tok)).toContain('rm -rf');
    for (const bad of ['/var/lib/mysql', '/', '/var/lib/mysql.nightshift-other', '/mnt/nightshift-backup/../../etc', 'relative.nightshift-abc123']) {
      expect(isOwnScratch(bad, tok)).toBe(false);
      expect(() => commands.rmrf('', bad, tok)).toThrow(/refusing to delete/);
    }
  });

  it("keep pkill from matching its own shell's command line", () => {
    expect(commands.pkill('', 'abc')).toBe("pkill -f -- '[n]ightshift-abc'");
  });

  it('choose the tool by flavour in every backup command', () => {
    const maria = { backup: 'mariadb-backup', stream: 'mbstream' };
    expect(commands.streamFrom('sudo -n', maria, { parallel: 4, datadir: '/var/lib/mysql', token: 't1' })).toBe(
      'sudo -n mariadb-backup --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/tmp/nightshift-t1',
    );
    expect(commands.streamInto('', maria, '/d.nightshift-t1')).toBe('mbstream -x -C /d.nightshift-t1');
    expect(commands.prepare('', { backup: 'xtrabackup', stream: 'xbstream' }, { memoryMB: 512, dir: '/b' })).toBe('xtrabackup --prepare --use-memory=512M --target-dir=/b');
  });
});

describe('reading what the commands print', () => {
  it('du, df, ls and findmnt', () => {
    expect(parseDu('837812224\t/var/lib/mysql\n', 'd')).toBe(837812224);
    expect(() => parseDu('du: cannot read', 'd')).toThrow(/not "<bytes> <dir>"/);
    const df = 'Filesystem     1-blocks      Used Available Capacity Mounted on\n/dev/nvme0n1p1 107321753600 5368709120 101953044480       5% /\n';
    expect(parseDf(df, 'x')).toEqual({ size: 107321753600, available: 101953044480, mountedOn: '/' });
    // A long device name wraps onto its own line.
    const wrapped = 'Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/mapper/very-long-volume-group-name\n 1000 400 600 40% /var/lib/my data\n';
    expect(parseDf(wrapped, 'x')).toEqual({ size: 1000, available: 600, mountedOn: '/var/lib/my data' });
    expect(() => parseDf('df: /nope: No such file or directory\n', 'x')).toThrow(/no table/);
    expect(parseLs({ code: 0, stdout: 'ibdata1\nmysql\n', stderr: '' }, 'd')).toEqual({ absent: false, entries: ['ibdata1', 'mysql'] });
    expect(parseLs({ code: 0, stdout: '', stderr: '' }, 'd')).toEqual({ absent: false, entries: [] });
    expect(parseLs({ code: 2, stdout: '', stderr: "ls: cannot access '/d': No such file or directory\n" }, 'd')).toEqual({ absent: true });
    expect(() => parseLs({ code: 2, stdout: '', stderr: "ls: cannot open directory '/d': Permission denied\n" }, '/d')).toThrow(/Permission denied/);
    expect(parseFindmnt({ code: 0, stdout: '/dev/nvme1n1 /mnt/nightshift-backup\n' })).toBe('/dev/nvme1n1');
    expect(parseFindmnt({ code: 1, stdout: '' })).toBeUndefined();
  });

  it('the checkpoints file, before and after a prepare, in both tools’ words', () => {
    const before = 'backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 47616\nlast_lsn = 47616\n';
    expect(isPrepared(parseCheckpoints(before, 'x'))).toBe(false);
    expect(isPrepared(parseCheckpoints(before.replace('full-backuped', 'log-applied'), 'x'))).toBe(true);
    expect(isPrepared(parseCheckpoints(before.replace('full-backuped', 'full-prepared'), 'x'))).toBe(true);
    expect(() => parseCheckpoints('garbage\n', 'm4:/d')).toThrow(/m4:\/d: no backup_type/);
    expect(metadataFile(['ibdata1', 'xtrabackup_checkpoints'], 'checkpoints')).toBe('xtrabackup_checkpoints');
    expect(metadataFile(['mariadb_backup_checkpoints', 'xtrabackup_checkpoints'], 'checkpoints')).toBe('mariadb_backup_checkpoints');
    expect(metadataFile(['ibdata1'], 'slaveInfo')).toBeUndefined();
  });

  it('the recorded positions: GTID first, the master’s binlog coordinates without one', () => {
    expect(parseBinlogInfo('mariadb-bin.000096\t568\t0-1-2\n', 'x')).toEqual({ file: 'mariadb-bin.000096', pos: 568, gtid: '0-1-2' });
    expect(parseBinlogInfo('binlog.000003\t197\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3\n', 'x').gtid).toBe(
      '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3',
    );
    expect(parseBinlogInfo('mysql-bin.000002\t120\n', 'x')).toEqual({ file: 'mysql-bin.000002', pos: 120 });
    expect(() => parseBinlogInfo('nonsense', 'm2:/b')).toThrow(/m2:\/b/);
    expect(parseSlaveInfo("SET GLOBAL gtid_slave_pos = '0-1-123';\nCHANGE MASTER TO master_use_gtid = slave_pos\n", 'x')).toEqual({ gtid: '0-1-123' });
    expect(parseSlaveInfo("CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=1234\n", 'x')).toEqual({ file: 'mysql-bin.000003', pos: 1234 });
    expect(parseSlaveInfo("CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000007', SOURCE_LOG_POS=157;\n", 'x')).toEqual({ file: 'binlog.000007', pos: 157 });
    // What the lab's MariaDB 10.11 wrote from a replica, trailing semicolons and all.
    expect(parseSlaveInfo("SET GLOBAL gtid_slave_pos = '0-1-10';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n", 'x')).toEqual({ gtid: '0-1-10' });
    expect(() => parseSlaveInfo('', 'x')).toThrow(/neither/);

    expect(backupPosition('mariadb-bin.000002\t900\t0-1-77\n', "SET GLOBAL gtid_slave_pos = '0-1-77';\n", 'x')).toEqual({ gtid: '0-1-77' });
    expect(backupPosition('mariadb-bin.000002\t900\n', "CHANGE MASTER TO MASTER_LOG_FILE='m.000009', MASTER_LOG_POS=44\n", 'x')).toEqual({ file: 'm.000009', pos: 44 });
    expect(() => backupPosition('mariadb-bin.000002\t900\n', undefined, 'm2:/b')).toThrow(/--slave-info/);
  });

  it('the device an EBS volume shows up as, on Nitro by serial and on Xen by name', () => {
    const nitro = '/dev/nvme0n1 vol0aaaaaaaaaaaaaaaa\n/dev/nvme1n1 vol0123456789abcdef0\n';
    expect(deviceOf(nitro, 'vol-0123456789abcdef0', '/dev/sdf')).toBe('/dev/nvme1n1');
    expect(deviceOf('/dev/xvda\n/dev/xvdf\n', 'vol-0123456789abcdef0', '/dev/sdf')).toBe('/dev/xvdf');
    expect(deviceOf('/dev/xvda\n', 'vol-0123456789abcdef0', '/dev/sdf')).toBeUndefined();
  });

  it('the backup tool’s own reason for a failure', () => {
    const log = '[00] 2026-12-05 01:02:03 Copying ./ibdata1 to /b/ibdata1\n[01] 2026-12-05 01:02:09 Error: failed to write to /b/db/t.ibd (errno: 28 "No space left on device")\n[00] 2026-12-05 01:02:09 Streaming ./db/u.ibd\n';
    expect(backupFailure(log)).toMatch(/errno: 28/);
    expect(backupFailure('')).toBe('(no output)');
  });
});

describe('replication from a restored backup', () => {
  const node = { id: 'i-1', name: 'db-4', privateIp: '127.0.0.4' } as Instance;
  const spec = { host: '127.0.0.1', port: 3306, user: 'repl', password: 's3cret' };

  it('shows the password as a quoted [redacted] that the redactor leaves as it is, comma and all', () => {
    const line = describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mariadb', version: '10.11.6' }), spec);
    expect(line).toContain("MASTER_PASSWORD='[redacted]', MASTER_USE_GTID=slave_pos");
    expect(createRedactor([]).text(line)).toBe(line);
  });

  it('MariaDB sets gtid_slave_pos to the backup’s position before it starts', () => {
    const line = describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mariadb', version: '10.11.6' }), { ...spec, startAt: { gtid: '0-1-77' } });
    expect(line).toContain("SET GLOBAL gtid_slave_pos='0-1-77'; CHANGE MASTER TO MASTER_HOST='127.0.0.1'");
    expect(line).toContain('MASTER_USE_GTID=slave_pos');
    expect(line).not.toContain('s3cret');
  });

  it('MySQL empties its GTID history and sets gtid_purged (8.4 in its own words)', () => {
    const gtid = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';
    expect(describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mysql', version: '8.0.36' }), { ...spec, startAt: { gtid } })).toContain(`RESET MASTER; SET GLOBAL gtid_purged='${gtid}'`);
    expect(describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mysql', version: '8.4.2' }), { ...spec, startAt: { gtid } })).toContain(`RESET BINARY LOGS AND GTIDS; SET GLOBAL gtid_purged='${gtid}'`);
  });

  it('without a GTID, the master’s file and position; a bad position is refused before any SQL', () => {
    expect(describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mariadb', version: '10.11.6' }), { ...spec, startAt: { file: 'm.000009', pos: 44 } })).toContain("MASTER_LOG_FILE='m.000009', MASTER_LOG_POS=44, MASTER_USE_GTID=no");
    expect(() => describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mariadb', version: '10.11.6' }), { ...spec, startAt: { file: "x'; DROP", pos: 44 } })).toThrow(/not a binlog file/);
    expect(() => describeRepoint(mysqlTarget(node, 'mysql', { flavour: 'mariadb', version: '10.11.6' }), { ...spec, startAt: { gtid: "0-1-2'; DROP" } })).toThrow(/not a MariaDB GTID/);
  });
});
