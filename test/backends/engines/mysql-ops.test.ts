// The switchover and failover operations on the simulated MySQL 8.0, 8.4 and
// MariaDB servers, through the Shell port as the runbooks will call them.

import { describe, expect, it } from 'vitest';
import {
  sqlString,
  DEFAULT_HEARTBEAT_TABLE,
  describeOp,
  describeRepoint,
  gtidForWait,
  killClientConnections,
  MysqlOpError,
  mysqlTarget,
  promote,
  readHeartbeat,
  readOnlyState,
  repoint,
  replicationWords,
  resetReplicaAll,
  setReadOnly,
  startReplica,
  stopIoThread,
  stopReplica,
  waitForGtid,
  writeHeartbeat,
  type MysqlTarget,
} from '../../../src/backends/engines/mysql-ops.js';
import type { ExecOptions, Shell } from '../../../src/backends/ports.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import type { Instance, MysqlFlavour } from '../../../src/domain/types.js';
import { fleet, openSim, probeMysql, sql } from '../sim/sim-helpers.js';

const PASSWORD = 'S3cret-repl-pw';

/** The sim's shell with every command and its options recorded. */
function recording(shell: Shell): Shell & { calls: Array<{ command: string; opts: ExecOptions | undefined }> } {
  const calls: Array<{ command: string; opts: ExecOptions | undefined }> = [];
  return {
    calls,
    exec: (node, command, opts) => {
      calls.push({ command, opts });
      return shell.exec(node, command, opts);
    },
    loginCommand: (node) => shell.loginCommand(node),
    close: () => shell.close(),
  };
}

async function clusterOf(flavour: MysqlFlavour, version?: RegExp) {
  const b = await openSim();
  const f = await fleet(b);
  const w = b.world.view();
  const c = f.clusters.find((x) => x.engine === 'mysql' && w.mysql[x.instanceIds[0]!]!.flavour === flavour && (!version || version.test(w.mysql[x.instanceIds[0]!]!.version)))!;
  const [master, r1, r2] = f.members(c.name) as [Instance, Instance, Instance];
  const shell = recording(b.shell);
  const target = async (node: Instance): Promise<MysqlTarget> => mysqlTarget(node, 'mysql', await probeMysql(b, node));
  return { b, shell, master, r1, r2, target };
}

/** Runs `work` while moving the fleet's clock, which stands still in these tests, until it settles. */
async function whileTimePasses<T>(b: SimBackends, work: Promise<T>, stepMs = 500, maxMs = 120_000): Promise<T> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  for (let t = 0; t < maxMs && !settled; t += stepMs) {
    await new Promise((r) => setImmediate(r));
    if (!settled) b.world.advance(stepMs);
  }
  return done;
}

const VARIANTS: Array<[string, MysqlFlavour, RegExp]> = [
  ['MariaDB', 'mariadb', /MariaDB/],
  ['MySQL 8.0', 'mysql', /^8\.0/],
  ['MySQL 8.4', 'mysql', /^8\.4/],
];

describe.each(VARIANTS)('MySQL operations on simulated %s', (_label, flavour, version) => {
  it('sets read_only on and off (and super_read_only on MySQL), and reads it back', async () => {
    const { b, shell, master, target } = await clusterOf(flavour, version);
    const t = await target(master);
    expect(await readOnlyState(shell, t)).toEqual(flavour === 'mysql' ? { readOnly: false, superReadOnly: false } : { readOnly: false });
    expect(await setReadOnly(shell, t, true)).toEqual(flavour === 'mysql' ? { readOnly: true, superReadOnly: true } : { readOnly: true });
    // The probe, which the console shows, agrees.
    expect(await probeMysql(b, master)).toMatchObject({ readOnly: true, ...(flavour === 'mysql' ? { superReadOnly: true } : {}) });
    expect(await readOnlyState(shell, t)).toMatchObject({ readOnly: true });
    expect(await setReadOnly(shell, t, false)).toEqual(flavour === 'mysql' ? { readOnly: false, superReadOnly: false } : { readOnly: false });
    // The plan shows exactly what ran.
    expect(`${master.name}: ${shell.calls[1]!.command}`).toBe(describeOp(t, { kind: 'set-read-only', isOn: true }));
    const sent = shell.calls.map((c) => c.command).join('\n');
    if (flavour === 'mysql') expect(sent).toContain('SET GLOBAL super_read_only=0; SET GLOBAL read_only=0');
    else expect(sent).not.toContain('super_read_only');
    // Every call names its limit.
    expect(shell.calls.every((c) => typeof c.opts?.timeoutMs === 'number')).toBe(true);
  });

  it('stops the IO thread only, then all of replication, and starts it again, in the words of the version', async () => {
    const { b, shell, r1, target } = await clusterOf(flavour, version);
    const t = await target(r1);
    await stopIoThread(shell, t);
    let facts = await probeMysql(b, r1);
    expect([facts.replica?.ioThread, facts.replica?.sqlThread]).toEqual(['No', 'Yes']);
    await stopReplica(shell, t);
    facts = await probeMysql(b, r1);
    expect([facts.replica?.ioThread, facts.replica?.sqlThread]).toEqual(['No', 'No']);
    await startReplica(shell, t);
    facts = await probeMysql(b, r1);
    expect([facts.replica?.ioThread, facts.replica?.sqlThread]).toEqual(['Yes', 'Yes']);
    const words = flavour === 'mariadb' ? 'SLAVE' : 'REPLICA';
    expect(shell.calls.map((c) => c.command).join('\n')).toContain(`STOP ${words} IO_THREAD`);
    expect(shell.calls.map((c) => c.command).join('\n')).not.toContain(flavour === 'mariadb' ? 'REPLICA' : 'SLAVE');
  });

  it('waits for a GTID position: 0 is reached, the server timeout is an outcome, a malformed value never reaches SQL', async () => {
    const { b, shell, master, r1, target } = await clusterOf(flavour, version);
    const m = await probeMysql(b, master);
    const t = await target(r1);
    const reached = await whileTimePasses(b, waitForGtid(shell, t, m.gtidExecuted, 30));
    expect(reached.reached).toBe(true);
    // Far ahead of anything written: the server gives up after its own timeout.
    await stopReplica(shell, t);
    const ahead = (await probeMysql(b, master)).gtidExecuted;
    b.world.advance(60_000);
    const timedOut = await whileTimePasses(b, waitForGtid(shell, t, (await probeMysql(b, master)).gtidExecuted || ahead, 3));
    expect(timedOut).toEqual({ reached: false, timedOutAfterSeconds: 3 });
    const before = shell.calls.length;
    await expect(waitForGtid(shell, t, "0-1-5', 0); DROP TABLE x; --", 3)).rejects.toThrow(/is not a (MariaDB GTID position|MySQL GTID set)/);
    expect(shell.calls.length).toBe(before);
    expect(() => gtidForWait(t, 'nonsense')).toThrow(MysqlOpError);
  });

  it('promotes a replica (stop, reset all, writable) and repoints the others to it, the password only on stdin', async () => {
    const { b, shell, master, r1, r2, target } = await clusterOf(flavour, version);
    const [tm, t1, t2] = [await target(master), await target(r1), await target(r2)];
    await setReadOnly(shell, tm, true);
    await whileTimePasses(b, waitForGtid(shell, t1, (await probeMysql(b, master)).gtidExecuted, 30));
    expect(await promote(shell, t1)).toMatchObject({ readOnly: false });
    expect((await probeMysql(b, r1)).replica).toBeUndefined();
    const spec = { host: r1.privateIp, port: 3306, user: 'repl', password: PASSWORD, wasMaster: true };
    await repoint(shell, tm, spec);
    await repoint(shell, t2, { ...spec, wasMaster: false });
    b.world.advance(5_000);
    for (const node of [master, r2]) {
      const facts = await probeMysql(b, node);
      expect(facts.replica).toMatchObject({ sourceHost: r1.privateIp, ioThread: 'Yes', sqlThread: 'Yes', usingGtid: true });
    }
    const repoints = shell.calls.filter((c) => c.opts?.stdin !== undefined);
    expect(repoints).toHaveLength(2);
    expect(repoints[0]!.opts!.stdin).toContain(flavour === 'mariadb' ? 'MASTER_USE_GTID=slave_pos' : 'SOURCE_AUTO_POSITION=1');
    expect(repoints[0]!.opts!.stdin).toContain(PASSWORD);
    for (const c of shell.calls) expect(c.command).not.toContain(PASSWORD);
    const plan = describeRepoint(tm, spec);
    expect(plan).toContain('[redacted]');
    expect(plan).not.toContain(PASSWORD);
  });

  it('in a failover: with the master dead and the IO thread stopped, waits for the relay log on the retrieved position', async () => {
    const { b, shell, master, r1, target } = await clusterOf(flavour, version);
    const t1 = await target(r1);
    b.world.inject({ kind: 'lag', node: r1.id, seconds: 20 });
    b.world.advance(30_000);
    b.world.inject({ kind: 'stop-mysqld', node: master.id });
    await stopIoThread(shell, t1);
    const facts = await probeMysql(b, r1);
    const retrieved = facts.replica!.gtidRetrieved!;
    expect(retrieved).not.toBe('');
    // Behind what it has retrieved: it applies its relay log with the master gone.
    const outcome = await whileTimePasses(b, waitForGtid(shell, t1, retrieved, 60, { clock: b.world }));
    expect(outcome.reached).toBe(true);
    if (outcome.reached) expect(outcome.waitedMs).toBeGreaterThan(0);
    expect((await probeMysql(b, r1)).gtidExecuted).not.toBe(facts.gtidExecuted);
  });

  it('kills the application connections and leaves replication and its own alone', async () => {
    const { b, shell, master, target } = await clusterOf(flavour, version);
    const t = await target(master);
    expect(await killClientConnections(shell, t, ['app'])).toEqual({ killed: 0, gone: 0 });
    expect(await killClientConnections(shell, t)).toEqual({ killed: 3, gone: 0 });
    expect(await killClientConnections(shell, t)).toEqual({ killed: 0, gone: 0 });
    const list = await sql(b, master, 'SELECT USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST');
    expect(list.stdout).toContain(flavour === 'mariadb' ? 'Binlog Dump' : 'Binlog Dump GTID');
  });

  it('writes a heartbeat on the master that each replica shows once it has applied it', async () => {
    const { b, shell, master, r1, target } = await clusterOf(flavour, version);
    const [tm, t1] = [await target(master), await target(r1)];
    await stopIoThread(shell, t1);
    b.world.advance(1_000);
    const beat = await writeHeartbeat(shell, tm, DEFAULT_HEARTBEAT_TABLE, b.world.now());
    expect(beat.table).toBe(DEFAULT_HEARTBEAT_TABLE);
    expect(await readHeartbeat(shell, tm, beat)).toEqual({ arrived: true, ts: beat.ts });
    b.world.advance(10_000);
    // The IO thread is down: neither the table nor the row have reached r1.
    expect(await readHeartbeat(shell, t1, beat)).toEqual({ arrived: false, ts: null });
    await startReplica(shell, t1);
    b.world.advance(10_000);
    expect(await readHeartbeat(shell, t1, beat)).toEqual({ arrived: true, ts: beat.ts });
    // A second beat, newer: the replica shows the old one until it catches up.
    await stopIoThread(shell, t1);
    b.world.advance(1_000);
    const next = await writeHeartbeat(shell, tm, DEFAULT_HEARTBEAT_TABLE, b.world.now() + 1);
    expect(await readHeartbeat(shell, t1, next)).toEqual({ arrived: false, ts: beat.ts });
  });

  it('fails with an error naming the node and the operation when mysqld is down', async () => {
    const { b, shell, master, target } = await clusterOf(flavour, version);
    const t = await target(master);
    b.world.inject({ kind: 'stop-mysqld', node: master.id });
    const err = await setReadOnly(shell, t, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MysqlOpError);
    expect((err as MysqlOpError).message).toMatch(new RegExp(`^${master.name}: set read_only=ON failed: ERROR 2002`));
    expect((err as MysqlOpError).transient).toBe(true);
    expect((err as MysqlOpError).node).toBe(master.name);
  });
});

describe('statement words by version', () => {
  it('says SLAVE/MASTER on MariaDB and old MySQL 8.0, REPLICA from 8.0.22, SOURCE from 8.0.23', () => {
    expect(replicationWords({ flavour: 'mariadb', version: '11.4.3-MariaDB-log' })).toMatchObject({ replica: 'SLAVE', changeSource: 'CHANGE MASTER TO' });
    expect(replicationWords({ flavour: 'mysql', version: '8.0.21' })).toMatchObject({ replica: 'SLAVE', changeSource: 'CHANGE MASTER TO', option: 'MASTER_' });
    expect(replicationWords({ flavour: 'mysql', version: '8.0.22' })).toMatchObject({ replica: 'REPLICA', changeSource: 'CHANGE MASTER TO' });
    expect(replicationWords({ flavour: 'mysql', version: '8.0.39' })).toMatchObject({ replica: 'REPLICA', changeSource: 'CHANGE REPLICATION SOURCE TO', option: 'SOURCE_' });
    expect(replicationWords({ flavour: 'mysql', version: '8.4.2' })).toMatchObject({ replica: 'REPLICA', option: 'SOURCE_' });
  });

  it('asks for TLS and (MySQL) the source public key only when told, in the words of the version', async () => {
    const { b, shell, master, r1, target } = await clusterOf('mysql', /^8\.4/);
    const t = await target(r1);
    const spec = { host: '10.0.0.9', port: 3306, user: 'repl', password: PASSWORD };
    expect(describeRepoint(t, spec)).not.toMatch(/SSL|PUBLIC_KEY/);
    expect(describeRepoint(t, { ...spec, tls: true, getSourcePublicKey: true })).toContain('SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, GET_SOURCE_PUBLIC_KEY=1');
    expect(describeRepoint({ ...t, server: { flavour: 'mysql', version: '8.0.21' } }, { ...spec, getSourcePublicKey: true })).toContain('MASTER_AUTO_POSITION=1, GET_MASTER_PUBLIC_KEY=1');
    expect(describeRepoint({ ...t, server: { flavour: 'mariadb', version: '10.11.9-MariaDB' } }, { ...spec, tls: true, getSourcePublicKey: true })).toMatch(/MASTER_USE_GTID=slave_pos, MASTER_SSL=1; START SLAVE\)$/);
    // The simulated 8.4 takes them.
    await repoint(shell, t, { ...spec, host: master.privateIp, tls: true, getSourcePublicKey: true });
    expect((await probeMysql(b, r1)).replica).toMatchObject({ sourceHost: master.privateIp, ioThread: 'Yes' });
  });

  it('keeps the password out of the error when the server quotes the statement back', async () => {
    const { master, target } = await clusterOf('mysql', /^8\.4/);
    const t = await target(master);
    // What a server says of a statement it cannot parse: the text near the fault, password and all.
    const quoting: Shell = {
      exec: async (_node, _command, opts) => ({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `ERROR 1064 (42000) at line 2: You have an error in your SQL syntax; check the manual near '${/SOURCE_PASSWORD='((?:[^']|'')*)'/.exec(opts?.stdin ?? '')?.[1]}', SOURCE_AUTO_POSITION=1' at line 1\n`,
      }),
      loginCommand: () => '',
      close: async () => undefined,
    };
    for (const password of [PASSWORD, "it's-a-secret"]) {
      const err = await repoint(quoting, t, { host: '10.0.0.9', port: 3306, user: 'repl', password }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MysqlOpError);
      expect((err as MysqlOpError).mysql?.code).toBe(1064);
      expect((err as Error).message).toMatch(/repoint to 10\.0\.0\.9:3306 failed: ERROR 1064 .*near '\[redacted\]'/);
      expect((err as Error).message).not.toContain(password);
      expect((err as Error).message).not.toContain("it''s");
    }
  });

  it("reads MariaDB 11's read_only enum: NO_LOCK is read-only, and an unknown answer is an error, not a guess", async () => {
    const { master, target } = await clusterOf('mariadb');
    const t = await target(master);
    const answering = (value: string): Shell => ({
      exec: async () => ({ code: 0, signal: null, stdout: `nightshift_section\nro\nread_only\n${value}\n`, stderr: '' }),
      loginCommand: () => '',
      close: async () => undefined,
    });
    expect(await readOnlyState(answering('NO_LOCK'), t)).toEqual({ readOnly: true });
    expect(await readOnlyState(answering('OFF'), t)).toEqual({ readOnly: false });
    await expect(readOnlyState(answering('MAYBE'), t)).rejects.toThrow(`${master.name}: read read_only: read_only is "MAYBE", not 0/1`);
  });

  it('refuses a repoint spec that would put unvalidated text into SQL', async () => {
    const { master, target } = await clusterOf('mariadb');
    const t = await target(master);
    expect(() => describeRepoint(t, { host: "h'; DROP", port: 3306, user: 'repl', password: 'x' })).toThrow(/is not a host name/);
    expect(() => describeRepoint(t, { host: 'h', port: 0, user: 'repl', password: 'x' })).toThrow(/is not a port/);
    expect(() => describeRepoint(t, { host: 'h', port: 3306, user: "r'x", password: 'x' })).toThrow(/replication user/);
    // A quote in the password is fine: it is quoted, and sent on stdin.
    expect(describeRepoint(t, { host: 'h', port: 3306, user: 'repl', password: "it's" })).not.toContain("it's");
  });
});

describe('simulated MySQL 8.4 refuses the statements it removed', () => {
  it.each(['STOP SLAVE', 'START SLAVE', 'STOP SLAVE IO_THREAD', 'RESET SLAVE ALL', "CHANGE MASTER TO MASTER_HOST='x'", 'SHOW SLAVE STATUS', 'SHOW MASTER STATUS', 'RESET MASTER'])(
    '%s: ERROR 1064, as the real 8.4',
    async (statement) => {
      const { b, r1 } = await clusterOf('mysql', /^8\.4/);
      const res = await sql(b, r1, statement);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^ERROR 1064 \(42000\) at line 1: You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version/);
    },
  );

  it('but MySQL 8.0 still takes them', async () => {
    const { b, r1 } = await clusterOf('mysql', /^8\.0/);
    expect((await sql(b, r1, 'STOP SLAVE')).code).toBe(0);
    expect((await sql(b, r1, 'START SLAVE')).code).toBe(0);
  });
});

describe('simulated mysql client input', () => {
  it('reads its statements from stdin when there is no -e, as the real client', async () => {
    const { b, master } = await clusterOf('mariadb');
    const res = await b.shell.exec(master, 'mysql --batch', { stdin: 'SELECT 1 AS one;\nSELECT 2 AS two;\n' });
    expect(res).toMatchObject({ code: 0, stdout: 'one\n1\ntwo\n2\n' });
    expect(await b.shell.exec(master, 'mysql --batch', { stdin: '' })).toMatchObject({ code: 0, stdout: '' });
  });

  it('waits on an open stdin until the command limit when given none, as over ssh', async () => {
    const { b, master } = await clusterOf('mariadb');
    const res = whileTimePasses(b, b.shell.exec(master, 'mysql --batch', { timeoutMs: 5_000 }).catch((e: unknown) => e));
    const err = await res;
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((err as Error).message).toMatch(/timed out after 5000 ms/);
  });

  it('goes on past a failed statement with --force and exits 1', async () => {
    const { b, master } = await clusterOf('mariadb');
    const res = await b.shell.exec(master, `mysql --batch --force -e "SELECT nope(); SELECT 2 AS two"`);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('two\n2\n');
    expect(res.stderr).toMatch(/^ERROR 1305/);
  });

  it('refuses gtid_strict_mode on MySQL, which has no such variable', async () => {
    const { b, master } = await clusterOf('mysql');
    expect((await sql(b, master, 'SET GLOBAL gtid_strict_mode=1')).stderr).toContain("Unknown system variable 'gtid_strict_mode'");
  });
});

// resetReplicaAll is promote's first half; exercised here on its own so a replica can be made standalone.
describe('reset replication', () => {
  it('forgets the source on both flavours', async () => {
    for (const flavour of ['mariadb', 'mysql'] as const) {
      const { b, shell, r2, target } = await clusterOf(flavour);
      await resetReplicaAll(shell, await target(r2));
      expect((await probeMysql(b, r2)).replica).toBeUndefined();
    }
  });
});

describe('sqlString', () => {
  it('quotes a literal: quotes doubled, backslashes escaped', () => {
    expect(sqlString("it's")).toBe("'it''s'");
    expect(sqlString('a\\b')).toBe("'a\\\\b'");
  });
});
