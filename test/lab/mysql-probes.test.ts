// The MySQL probes over real ssh against real MariaDB replication: what the
// probe says must be what the server says.

import { expect, it, vi } from 'vitest';
import { EngineProbes, type EngineOptions } from '../../src/backends/engines/index.js';
import { errantTransactions, formatGtidSet, isEmptyGtidSet, parseGtidSet, transactionsBehind } from '../../src/domain/gtid.js';
import type { MysqlFacts } from '../../src/domain/types.js';
import { LAB_HEARTBEAT_TABLE } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

describeLab('MySQL probes on the lab (MariaDB, GTID replication)', () => {
  const fx = useTestLab();
  const options: EngineOptions = { mysqlClient: 'mysql', nodetool: 'nodetool', probeTimeoutMs: 15_000, heartbeatTable: LAB_HEARTBEAT_TABLE };
  let cached: EngineProbes | undefined;
  const probes = () => (cached ??= new EngineProbes(fx.shell, options));

  async function probe(name: string): Promise<MysqlFacts> {
    const facts = await probes().probe(fx.instance(name), 'mysql');
    if (facts.kind !== 'mysql') throw new Error('not mysql');
    return facts.mysql;
  }

  /** One row of `SHOW SLAVE STATUS` as the stock client prints it: the oracle. */
  async function slaveStatus(name: string): Promise<Record<string, string>> {
    const r = await fx.shell.exec(fx.instance(name), 'mysql --batch -e "SHOW SLAVE STATUS"', { readOnly: true });
    const [header, row] = r.stdout.trimEnd().split('\n');
    const cols = header!.split('\t');
    const vals = row!.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, vals[i]!]));
  }

  async function writeOnMaster(n = 1): Promise<void> {
    const stmts = Array.from(
      { length: n },
      () =>
        `INSERT INTO nightshift_lab.writes (note) VALUES ('tick'); ` +
        `UPDATE ${LAB_HEARTBEAT_TABLE} SET ts = DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f') WHERE server_id = 1;`,
    ).join('\n');
    await fx.lab.sql('m1', stmts);
  }

  it('reports what each server says: flavour, ids, read_only, binlog, GTID position, source', async () => {
    const [m1, m2, m3] = await Promise.all([probe('m1'), probe('m2'), probe('m3')]);
    for (const [facts, name] of [
      [m1, 'm1'],
      [m2, 'm2'],
      [m3, 'm3'],
    ] as const) {
      expect(facts.flavour).toBe('mariadb');
      expect(facts.version).toBe(await fx.lab.value(name, 'SELECT @@version'));
      expect(facts.serverId).toBe(Number(await fx.lab.value(name, 'SELECT @@server_id')));
      expect(facts.readOnly).toBe((await fx.lab.value(name, 'SELECT @@read_only')) === '1');
      expect(facts.gtidExecuted).toBe(await fx.lab.value(name, 'SELECT @@gtid_current_pos'));
      expect(facts.logBin).toBe(true);
      expect(facts.logReplicaUpdates).toBe(true);
      expect(facts.superReadOnly).toBeUndefined();
      const [file, pos] = (await fx.lab.sql(name, 'SHOW MASTER STATUS')).split('\t');
      expect(facts.binlog).toEqual({ file, position: Number(pos) });
    }
    expect(m1.readOnly).toBe(false);
    expect(m1.replica).toBeUndefined();
    for (const r of [m2, m3]) {
      expect(r.readOnly).toBe(true);
      expect(r.replica).toMatchObject({
        sourceHost: fx.lab.node('m1').ip,
        sourcePort: fx.lab.node('m1').mysqlPort,
        ioThread: 'Yes',
        sqlThread: 'Yes',
        usingGtid: true,
      });
    }
  });

  it('shows a stopped SQL thread, and lag and the GTID gap growing while the master writes', async () => {
    await fx.lab.sql('m2', 'STOP SLAVE SQL_THREAD');
    try {
      const stopped = await probe('m2');
      expect(stopped.replica?.sqlThread).toBe('No');
      expect(stopped.replica?.ioThread).toBe('Yes');
      const status = await slaveStatus('m2');
      expect(status.Slave_SQL_Running).toBe('No');

      const master0 = parseGtidSet('mariadb', (await probe('m1')).gtidExecuted);
      const behind0 = transactionsBehind(parseGtidSet('mariadb', stopped.gtidExecuted), master0);
      const lag0 = stopped.replica?.lagSeconds ?? 0;

      // Keep writing until the heartbeat lag has grown by more than a second.
      await vi.waitFor(
        async () => {
          await writeOnMaster(3);
          const now = await probe('m2');
          const master = parseGtidSet('mariadb', (await probe('m1')).gtidExecuted);
          const behind = transactionsBehind(parseGtidSet('mariadb', now.gtidExecuted), master);
          expect(behind).toBeGreaterThan(behind0);
          expect(now.replica!.lagSeconds).not.toBeNull();
          expect(now.replica!.lagSeconds!).toBeGreaterThan(lag0 + 1);
          // The IO thread keeps receiving: the retrieved position follows the master.
          expect(now.replica!.gtidRetrieved).toBe(formatGtidSet(master));
        },
        { timeout: 20_000, interval: 300 },
      );
    } finally {
      await fx.lab.sql('m2', 'START SLAVE SQL_THREAD');
    }
    await fx.lab.waitForReplicasInSync(30_000);
    const caughtUp = await probe('m2');
    expect(caughtUp.replica?.sqlThread).toBe('Yes');
    expect(transactionsBehind(parseGtidSet('mariadb', caughtUp.gtidExecuted), parseGtidSet('mariadb', (await probe('m1')).gtidExecuted))).toBe(0);
  });

  it('shows the server’s own lag column when no heartbeat table is configured', async () => {
    const plain = new EngineProbes(fx.shell, { ...options, heartbeatTable: undefined });
    const facts = await plain.probe(fx.instance('m3'), 'mysql');
    if (facts.kind !== 'mysql') throw new Error('not mysql');
    const status = await slaveStatus('m3');
    expect(String(facts.mysql.replica?.lagSeconds)).toBe(status.Seconds_Behind_Master);
  });

  it('reports the replication error a broken replica shows', async () => {
    // A row on the replica only, then the same key from the master: duplicate key, SQL thread stops.
    await fx.lab.sql('m3', "SET SESSION sql_log_bin=0; INSERT INTO nightshift_lab.writes (id, note) VALUES (100000, 'replica only')");
    await fx.lab.sql('m1', "INSERT INTO nightshift_lab.writes (id, note) VALUES (100000, 'from master')");
    await vi.waitFor(
      async () => {
        const f = await probe('m3');
        expect(f.replica?.sqlThread).toBe('No');
        expect(f.replica?.lastSqlError?.code).toBe(1062);
        expect(f.replica?.lastSqlError?.message).toContain('Duplicate entry');
      },
      { timeout: 20_000, interval: 300 },
    );
    // Repair: drop the replica-only row and restart; it catches up.
    await fx.lab.sql('m3', 'SET SESSION sql_log_bin=0; DELETE FROM nightshift_lab.writes WHERE id = 100000; START SLAVE');
    await fx.lab.waitForReplicasInSync(30_000);
    expect((await probe('m3')).replica?.sqlThread).toBe('Yes');
  });

  it('detects a transaction written on a replica as errant', async () => {
    const before = await Promise.all([probe('m1'), probe('m3')]);
    expect(isEmptyGtidSet(errantTransactions(parseGtidSet('mariadb', before[1].gtidExecuted), parseGtidSet('mariadb', before[0].gtidExecuted)))).toBe(true);
    // Root bypasses read_only: exactly the accident this check exists for.
    await fx.lab.sql('m3', "INSERT INTO nightshift_lab.writes (note) VALUES ('oops, written on a replica')");
    const [m1, m3] = await Promise.all([probe('m1'), probe('m3')]);
    const errant = errantTransactions(parseGtidSet('mariadb', m3.gtidExecuted), parseGtidSet('mariadb', m1.gtidExecuted));
    expect(formatGtidSet(errant)).toMatch(/^0-3-\d+$/);
    // The other replica is clean.
    const m2 = await probe('m2');
    expect(isEmptyGtidSet(errantTransactions(parseGtidSet('mariadb', m2.gtidExecuted), parseGtidSet('mariadb', m1.gtidExecuted)))).toBe(true);
  });

  it('names the node and the line when the output does not parse', async () => {
    const odd = new EngineProbes(fx.shell, { ...options, mysqlClient: "printf 'nightshift_section\\nversion\\nversion\\n10.11-MariaDB\\nnot\\ta\\tversion\\n' #" });
    const err = await odd.probe(fx.instance('m1'), 'mysql').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^m1: mysql output line 5 does not parse/);
    expect((err as Error).message).toContain('not\ta\tversion');
  });

  it('has mariadb-backup on each node, set up for that node’s own datadir and socket', async () => {
    const r = await fx.shell.exec(fx.instance('m2'), 'mariadb-backup --print-defaults', { readOnly: true });
    expect(r.code).toBe(0);
    const args = r.stdout.trim().split(/\s+/);
    // The last value of an option wins: the node's own my.cnf comes after /etc/mysql.
    expect(args.filter((a) => a.startsWith('--datadir=')).pop()).toBe(`--datadir=${fx.lab.node('m2').datadir}`);
    expect(args.filter((a) => a.startsWith('--socket=')).pop()).toBe(`--socket=${fx.lab.node('m2').socket}`);
  });
});
