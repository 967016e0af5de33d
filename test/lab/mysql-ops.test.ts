// The switchover and failover operations over real ssh against real MariaDB
// GTID replication: read-only, GTID waits, the IO thread, and a switch from
// m1 to m2 and back, repointing the others with gtid_strict_mode on and then
// off. The file leaves the lab as it found it: m1 the writable master, m2 and
// m3 read-only replicas of it, gtid_strict_mode as it was.

import { beforeAll, expect, it, vi } from 'vitest';
import {
  DEFAULT_HEARTBEAT_TABLE,
  killClientConnections,
  mysqlTarget,
  promote,
  readHeartbeat,
  readOnlyState,
  repoint,
  setReadOnly,
  startReplica,
  stopIoThread,
  waitForGtid,
  writeHeartbeat,
  type MysqlTarget,
} from '../../src/backends/engines/mysql-ops.js';
import type { ExecOptions, Shell } from '../../src/backends/ports.js';
import { LAB_HEARTBEAT_TABLE, LAB_REPL_USER } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

/** The lab's replication password (src/lab/lab.ts); the repoints below only connect if it is right. */
const LAB_REPL_PASSWORD = 'lab-repl-only';

describeLab('MySQL operations on the lab (MariaDB over real ssh)', () => {
  const fx = useTestLab();
  const calls: Array<{ node: string; command: string; opts: ExecOptions | undefined }> = [];
  let shell: Shell;
  let version: string;
  let strictBefore: Record<string, string>;

  beforeAll(async () => {
    shell = {
      exec: (node, command, opts) => {
        calls.push({ node: node.name, command, opts });
        return fx.shell.exec(node, command, opts);
      },
      loginCommand: (node) => fx.shell.loginCommand(node),
      close: async () => undefined,
    };
    version = await fx.lab.value('m1', 'SELECT @@version');
    strictBefore = {};
    for (const n of ['m1', 'm2', 'm3']) strictBefore[n] = await fx.lab.value(n, 'SELECT @@global.gtid_strict_mode');
  });

  const t = (name: string): MysqlTarget => mysqlTarget(fx.instance(name), 'mysql', { flavour: 'mariadb', version });

  async function slaveStatus(name: string): Promise<Record<string, string>> {
    const r = await fx.shell.exec(fx.instance(name), 'mysql --batch -e "SHOW SLAVE STATUS"', { readOnly: true });
    if (!r.stdout.trim()) return {};
    const [header, row] = r.stdout.trimEnd().split('\n');
    const cols = header!.split('\t');
    const vals = row!.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, vals[i]!]));
  }

  /** Planned switch of the master from `from` to `to`, the third node following; strict mode as given. */
  async function switchMaster(from: string, to: string, other: string, gtidStrictMode: boolean): Promise<void> {
    await setReadOnly(shell, t(from), true);
    const pos = await fx.lab.value(from, 'SELECT @@gtid_binlog_pos');
    expect(await waitForGtid(shell, t(to), pos, 20)).toMatchObject({ reached: true });
    expect(await promote(shell, t(to))).toEqual({ readOnly: false });
    // As on any production server, the new master's old binlogs are gone: the old master must ask from where it is.
    await fx.lab.sql(to, 'FLUSH BINARY LOGS');
    const current = (await fx.lab.sql(to, 'SHOW MASTER STATUS')).split('\t')[0]!;
    await fx.lab.sql(to, `PURGE BINARY LOGS TO '${current}'`);
    const source = fx.lab.node(to);
    const spec = { host: source.ip, port: source.mysqlPort, user: LAB_REPL_USER, password: LAB_REPL_PASSWORD, gtidStrictMode };
    await repoint(shell, t(from), { ...spec, wasMaster: true });
    await repoint(shell, t(other), spec);
    // A write on the new master reaches both: the verify a switchover ends with, in the
    // lab's configured table (pt-heartbeat's layout) one way and the default one back.
    const beat = await writeHeartbeat(shell, t(to), gtidStrictMode ? LAB_HEARTBEAT_TABLE : DEFAULT_HEARTBEAT_TABLE, Date.now());
    for (const name of [from, other]) {
      await vi.waitFor(async () => expect(await readHeartbeat(shell, t(name), beat)).toMatchObject({ arrived: true }), { timeout: 15_000, interval: 100 });
      const s = await slaveStatus(name);
      expect(s).toMatchObject({ Master_Host: source.ip, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Using_Gtid: 'Slave_Pos', Last_IO_Errno: '0', Last_SQL_Errno: '0' });
      expect(await fx.lab.value(name, 'SELECT @@global.gtid_strict_mode')).toBe(gtidStrictMode ? '1' : '0');
    }
    expect(await fx.lab.value(to, 'SHOW SLAVE STATUS')).toBe('');
  }

  it('writes stdin to the remote command and closes it over real ssh', async () => {
    const res = await fx.shell.exec(fx.instance('m1'), 'cat', { stdin: 'line one\nline two\n' });
    expect(res).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
    const sql = await fx.shell.exec(fx.instance('m1'), 'mysql --batch', { stdin: 'SELECT 41 + 1 AS answer;\n' });
    expect(sql).toMatchObject({ code: 0, stdout: 'answer\n42\n' });
  });

  it('sets read_only on m1 and clears it again', async () => {
    expect(await setReadOnly(shell, t('m1'), true)).toEqual({ readOnly: true });
    expect(await fx.lab.value('m1', 'SELECT @@global.read_only')).toBe('1');
    expect(await setReadOnly(shell, t('m1'), false)).toEqual({ readOnly: false });
    expect(await readOnlyState(shell, t('m1'))).toEqual({ readOnly: false });
  });

  it('waits for a GTID position on a replica, and reports a position never reached as a timeout', async () => {
    await fx.lab.sql('m1', "INSERT INTO nightshift_lab.writes (note) VALUES ('ops')");
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    expect(await waitForGtid(shell, t('m2'), pos, 20)).toMatchObject({ reached: true });
    const [domain, server, seq] = pos.split('-').map(Number) as [number, number, number];
    expect(await waitForGtid(shell, t('m2'), `${domain}-${server}-${seq + 1000}`, 1)).toEqual({ reached: false, timedOutAfterSeconds: 1 });
  });

  it('stops the IO thread only, and starts replication again', async () => {
    await stopIoThread(shell, t('m3'));
    expect(await slaveStatus('m3')).toMatchObject({ Slave_IO_Running: 'No', Slave_SQL_Running: 'Yes' });
    await startReplica(shell, t('m3'));
    await vi.waitFor(async () => expect(await slaveStatus('m3')).toMatchObject({ Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' }), { timeout: 10_000, interval: 100 });
  });

  it('kills a client connection and counts it', async () => {
    // A client of its own on m1, sleeping, as an application session would.
    const sleeper = fx.shell.exec(fx.instance('m1'), "mysql --batch -e 'SELECT SLEEP(30)'", { timeoutMs: 40_000 });
    await vi.waitFor(async () => expect(await fx.lab.value('m1', "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'")).toBe('1'), { timeout: 10_000, interval: 100 });
    const { killed } = await killClientConnections(shell, t('m1'), []);
    expect(killed).toBe(1);
    const res = await sleeper;
    expect(res.code).not.toBe(0);
    // Replication from m1 survived it.
    await vi.waitFor(async () => expect(await slaveStatus('m2')).toMatchObject({ Slave_IO_Running: 'Yes' }), { timeout: 10_000, interval: 100 });
  });

  it('promotes m2 and repoints m1 and m3 to it with gtid_strict_mode on, then back to m1 with it off', async () => {
    await switchMaster('m1', 'm2', 'm3', true);
    await switchMaster('m2', 'm1', 'm3', false);
    // As found: m1 writable master, m2 and m3 read-only replicas of it, strict mode as it was.
    for (const n of ['m1', 'm2', 'm3']) await fx.lab.sql(n, `SET GLOBAL gtid_strict_mode=${strictBefore[n]}`);
    expect(await fx.lab.value('m1', 'SELECT @@global.read_only')).toBe('0');
    for (const n of ['m2', 'm3']) {
      expect(await fx.lab.value(n, 'SELECT @@global.read_only')).toBe('1');
      expect(await slaveStatus(n)).toMatchObject({ Master_Host: fx.lab.node('m1').ip, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    }
    await fx.lab.sql('m1', 'DROP DATABASE IF EXISTS nightshift');
    await fx.lab.waitForReplicasInSync(15_000);
  });

  it('never put the replication password on a command line', () => {
    const repoints = calls.filter((c) => c.opts?.stdin?.includes(LAB_REPL_PASSWORD));
    expect(repoints.length).toBe(4);
    for (const c of calls) expect(c.command).not.toContain(LAB_REPL_PASSWORD);
  });
});
