// The rebuild's command lines (the design page of issue 13), word for word,
// against the real MariaDB 10.11 tools on the lab: m2 (a replica) streamed
// to the spare m4 with mariadb-backup | mbstream through SshShell.pipe,
// prepared, moved into m4's empty datadir, started, and pointed at m1 with
// the position the backup wrote; m4 then has every row m1 has. Also what the
// runbook's parsers read: the file names, backup_type before and after
// prepare, binlog_info and slave_info, the target-dir rule with --stream,
// and what --safe-slave-backup leaves when the backup is killed.
//
// `P` (engines.privileged) is '' on the lab: the lab user owns every datadir.

import { existsSync, readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';
import { shellQuote as q } from '../../src/backends/engines/shell-quote.js';
import type { ExecResult } from '../../src/backends/ports.js';
import { LAB_REPL_USER, LAB_SERVICE_UNIT } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

const TOKEN = 'run-20261205-lab1';
const STREAM_TOOL = 'mariadb-backup';

describeLab('the rebuild commands on real MariaDB 10.11 tools', () => {
  const fx = useTestLab();

  const exec = async (node: string, command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> =>
    fx.shell.exec(fx.instance(node), command, { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });

  const ok = async (node: string, command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> => {
    const r = await exec(node, command, opts);
    expect(r.code, `${node}: ${command}\n${r.stderr.slice(-2000)}`).toBe(0);
    return r;
  };

  const sql = async (node: string, statements: string): Promise<string> =>
    (await ok(node, 'mariadb --batch --skip-column-names', { stdin: statements })).stdout;

  const slaveStatus = async (node: string): Promise<Record<string, string>> => {
    // Vertical output needs the column names, which lab.sql() skips.
    const text = (await ok(node, `mariadb -e ${q('SHOW SLAVE STATUS\\G')}`)).stdout;
    return Object.fromEntries(
      text
        .split('\n')
        .map((l) => /^\s*(\w+): ?(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  };

  const m2dd = () => fx.lab.node('m2').datadir;
  const m4dd = () => fx.lab.node('m4').datadir;
  const staging = () => `${m4dd()}.nightshift-${TOKEN}`;
  const streamFrom = () =>
    `${STREAM_TOOL} --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=4 --datadir=${q(m2dd())} --target-dir=/tmp/nightshift-${TOKEN}`;
  const streamTo = () => `mbstream -x -C ${q(staging())}`;

  async function writeRows(count: number, note: string): Promise<void> {
    await fx.lab.sql('m1', `INSERT INTO nightshift_lab.writes (note) SELECT CONCAT('${note} ', seq) FROM nightshift_lab.seq_1_to_${count}`);
  }

  async function synced(nodes: string[]): Promise<void> {
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    for (const n of nodes) expect(await fx.lab.value(n, `SELECT MASTER_GTID_WAIT('${pos}', 60)`), `${n} reaches m1's ${pos}`).toBe('0');
  }

  it('the probes: du, df, ls of the empty and the absent, the tools present and missing', async () => {
    const du = await ok('m2', `du -sb -- ${q(m2dd())}`);
    expect(du.stdout).toMatch(new RegExp(`^\\d+\\t${m2dd().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n$`));
    const df = await ok('m4', `df -P -B1 -- ${q(m4dd())}`);
    expect(df.stdout.split('\n')[0]).toMatch(/^Filesystem\s+1-blocks\s+Used\s+Available\s+Capacity\s+Mounted on$/);
    expect(df.stdout.split('\n')[1]!.split(/\s+/)).toHaveLength(6);
    expect(await ok('m4', `ls -A -- ${q(m4dd())}`)).toMatchObject({ stdout: '' });
    const absent = await exec('m4', `ls -A -- ${q(staging())}`);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toBe(`ls: cannot access '${staging()}': No such file or directory\n`);
    expect((await ok('m2', 'mariadb-backup --version')).stderr).toMatch(/^mariadb-backup based on MariaDB server 10\.11\./m);
    // mbstream has no --version: exit 1 and `mbstream: unknown option '--version'`; --help exits 0 with its version line.
    const mbVersion = await exec('m4', 'mbstream --version');
    expect([mbVersion.code, mbVersion.stderr]).toEqual([1, "mbstream: unknown option '--version'\n"]);
    const mbHelp = await ok('m4', 'mbstream --help');
    expect(mbHelp.stdout).toMatch(/^mbstream\s+Ver \d/);
    console.log(`[findings] mbstream --version: exit ${mbVersion.code} ${JSON.stringify(mbVersion.stdout + mbVersion.stderr)}; --help first line ${JSON.stringify(mbHelp.stdout.split('\n')[0])}`);
    // 127 either way; the words are the login shell's (bash here, dash's are `sh: 1: T: not found`).
    const missing = await exec('m4', 'nightshift-no-such-tool --version');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/nightshift-no-such-tool: (command )?not found/);
    console.log(`[findings] missing tool: exit ${missing.code}, stderr ${JSON.stringify(missing.stderr)}`);
    // Leftovers of an earlier attempt: none yet, exit 1; the bracket keeps pkill off its own shell.
    expect((await exec('m2', `pkill -f -- [n]ightshift-${TOKEN}`)).code).toBe(1);
  });

  it('--safe-slave-backup: the SQL thread is stopped for the whole copy, and a backup killed -9 leaves it stopped', async () => {
    await writeRows(20_000, 'before-kill');
    await synced(['m2']);
    await ok('m4', `mkdir -p -- ${q(staging())}`);
    let safe = false;
    const run = fx.shell.pipe(
      { node: fx.instance('m2'), command: streamFrom() },
      { node: fx.instance('m4'), command: streamTo() },
      { onStderr: (end, chunk) => (safe ||= end === 'from' && chunk.includes('Slave is safe to backup')), idleTimeoutMs: 60_000 },
    );
    try {
      await vi.waitFor(() => expect(safe).toBe(true), { timeout: 60_000 });
      // The copy has not started yet (the log line comes first): the SQL thread is already stopped.
      expect((await slaveStatus('m2')).Slave_SQL_Running).toBe('No');
      // The backup's own process, by its --target-dir (on the lab every host is this machine:
      // the design's `[n]ightshift-<tok>` would match m4's mbstream too).
      const killed = await exec('m2', `pkill -KILL -f -- [t]arget-dir=/tmp/nightshift-${TOKEN}`);
      expect(killed.code).toBe(0);
      const r = await run;
      expect(r.from.signal).toBe('SIGKILL');
      expect(r.from.stderr).not.toMatch(/completed OK!/);
      const status = await slaveStatus('m2');
      console.log(`[findings] after kill -9 mid-backup: Slave_IO_Running=${status.Slave_IO_Running} Slave_SQL_Running=${status.Slave_SQL_Running} Last_SQL_Error=${JSON.stringify(status.Last_SQL_Error)}; mbstream exit ${r.to.code}`);
      // mbstream may not notice a stream cut short (it exits 0 when the cut falls between its chunks):
      // only the sender's exit and its `completed OK!` say the copy is whole.
      expect(status.Slave_IO_Running).toBe('Yes');
      expect(status.Slave_SQL_Running).toBe('No');
      expect(status.Last_SQL_Error).toBe('');
    } finally {
      // What the runbook must do: start it again (here also when an assertion failed, for the next test).
      await fx.lab.sql('m2', 'START SLAVE SQL_THREAD');
      await run.catch(() => undefined);
    }
    await synced(['m2']);
    expect((await exec('m2', `pkill -f -- [n]ightshift-${TOKEN}`)).code).toBe(1);
    await ok('m4', `rm -rf -- ${q(staging())}`);
  });

  it('streams m2 to m4, prepares, moves back, starts m4 and replicates from m1 with every row', { timeout: 300_000 }, async () => {
    await writeRows(50_000, 'before-backup');
    await synced(['m2', 'm3']);
    await ok('m4', `mkdir -p -- ${q(staging())}`);
    const fromLog: string[] = [];
    const started = Date.now();
    const r = await fx.shell.pipe(
      { node: fx.instance('m2'), command: streamFrom() },
      { node: fx.instance('m4'), command: streamTo() },
      { onStderr: (end, chunk) => end === 'from' && fromLog.push(chunk), idleTimeoutMs: 60_000 },
    );
    const streamMs = Date.now() - started;
    expect(r.from.code, r.from.stderr.slice(-2000)).toBe(0);
    expect(r.to, r.to.stderr).toMatchObject({ code: 0, stdout: '' });
    expect(r.from.stderr).toMatch(/\[00\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d completed OK!\n$/);
    expect(r.from.stderr).toMatch(/Starting slave SQL thread/);
    expect(fromLog.join('')).toBe(r.from.stderr);
    // The target-dir rule with --stream: nothing is written there, not even the directory.
    expect(existsSync(`/tmp/nightshift-${TOKEN}`)).toBe(false);
    expect(r.from.stderr).toContain(`Backup created in directory '/tmp/nightshift-${TOKEN}/'`);
    expect((await slaveStatus('m2')).Slave_SQL_Running).toBe('Yes');

    // What the backup wrote (10.11: the xtrabackup_* names).
    const names = (await ok('m4', `ls -A -- ${q(staging())}`)).stdout.split('\n').filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['xtrabackup_checkpoints', 'xtrabackup_binlog_info', 'xtrabackup_slave_info', 'xtrabackup_info', 'backup-my.cnf', 'ibdata1']));
    expect(names.filter((n) => n.startsWith('mariadb_backup_'))).toEqual([]);
    const cat = async (name: string) => (await ok('m4', `cat -- ${q(`${staging()}/${name}`)}`)).stdout;
    const checkpoints = await cat('xtrabackup_checkpoints');
    expect(checkpoints).toMatch(/^backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = \d+\nlast_lsn = \d+\n/);
    const binlogInfo = await cat('xtrabackup_binlog_info');
    const slaveInfo = await cat('xtrabackup_slave_info');
    const gtid = await fx.lab.value('m2', 'SELECT @@gtid_slave_pos');
    expect(binlogInfo).toMatch(new RegExp(`^m2-bin\\.\\d{6}\\t\\d+\\t${gtid}\\n?$`));
    expect(slaveInfo).toBe(`SET GLOBAL gtid_slave_pos = '${gtid}';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n`);
    console.log(`[findings] stream ${r.bytes} bytes in ${streamMs} ms; files: ${names.join(' ')}`);
    console.log(`[findings] xtrabackup_checkpoints before prepare: ${JSON.stringify(checkpoints)}`);
    console.log(`[findings] xtrabackup_binlog_info: ${JSON.stringify(binlogInfo)}; xtrabackup_slave_info: ${JSON.stringify(slaveInfo)}`);

    // Rows written after the backup must come to m4 by replication.
    await writeRows(5_000, 'after-backup');

    const prep = await ok('m4', `${STREAM_TOOL} --prepare --use-memory=128M --target-dir=${q(staging())}`);
    expect(prep.stderr).toMatch(/completed OK!\n$/);
    const prepared = await cat('xtrabackup_checkpoints');
    expect(prepared).toMatch(/^backup_type = log-applied\n/);
    const afterNames = (await ok('m4', `ls -A -- ${q(staging())}`)).stdout.split('\n').filter(Boolean);
    console.log(`[findings] after prepare: ${JSON.stringify(prepared.split('\n')[0])}; new files: ${afterNames.filter((n) => !names.includes(n)).join(' ')}`);

    // Move aside (the empty datadir), in, owner, and the copy removed.
    const dd = m4dd();
    const old = `${dd}.nightshift-old-${TOKEN}`;
    await ok('m4', `mv -- ${q(dd)} ${q(old)}`);
    await ok('m4', `mkdir -p -- ${q(dd)}`);
    const moved = await ok('m4', `${STREAM_TOOL} --move-back --datadir=${q(dd)} --target-dir=${q(staging())}`);
    expect(moved.stderr).toMatch(/completed OK!\n$/);
    // engines.datadirOwner as the lab's nightshift.yaml sets it.
    await ok('m4', `chown -R ${fx.lab.state.user}:${fx.lab.state.group} -- ${q(dd)}`);
    await ok('m4', `rm -rf -- ${q(staging())}`);
    await ok('m4', `rm -rf -- ${q(old)}`);
    expect(existsSync(staging())).toBe(false);

    // The service, as the runbook runs it (the inventory's `service`).
    await ok('m4', `${q(fx.lab.node('m4').service)} start ${LAB_SERVICE_UNIT}`);
    expect((await exec('m4', `${q(fx.lab.node('m4').service)} is-active ${LAB_SERVICE_UNIT}`)).code).toBe(0);
    // Its own server_id, read-only as the service starts it, and no binlog of its own yet.
    expect(await sql('m4', 'SELECT @@server_id, @@read_only, @@gtid_binlog_pos')).toBe('4\t1\t\n');

    const m1 = fx.lab.node('m1');
    const password = readFileSync(fx.lab.state.files.replPassword, 'utf8').trim();
    // The password on stdin, never on the command line.
    await sql(
      'm4',
      `SET GLOBAL gtid_slave_pos='${gtid}'; CHANGE MASTER TO MASTER_HOST='${m1.ip}', MASTER_PORT=${m1.mysqlPort}, ` +
        `MASTER_USER='${LAB_REPL_USER}', MASTER_PASSWORD='${password}', MASTER_USE_GTID=slave_pos; START SLAVE;`,
    );
    await writeRows(1_000, 'after-join');
    await synced(['m4']);
    const s = await slaveStatus('m4');
    expect([s.Slave_IO_Running, s.Slave_SQL_Running, s.Master_Host]).toEqual(['Yes', 'Yes', m1.ip]);
    const count = 'SELECT COUNT(*), SUM(CRC32(note)) FROM nightshift_lab.writes';
    expect(await fx.lab.value('m4', 'SELECT COUNT(*) FROM nightshift_lab.writes')).toBe(await fx.lab.value('m1', 'SELECT COUNT(*) FROM nightshift_lab.writes'));
    expect(await fx.lab.sql('m4', count)).toBe(await fx.lab.sql('m1', count));
    expect(Number(await fx.lab.value('m4', "SELECT COUNT(*) FROM nightshift_lab.writes WHERE note LIKE 'after-backup %'"))).toBe(5_000);
    // Not in the cluster by itself: still a spare in the inventory until the runbook deletes the tag.
    console.log(`[findings] m4 after restore: ${(await fx.lab.sql('m4', 'SELECT @@server_id, @@gtid_slave_pos, @@gtid_binlog_pos')).trim()}`);
  });
});
