// The simulated MySQL and MariaDB servers behind the Shell port: what the
// real client prints (batch format, errors with exit 1), and replication
// semantics a switchover depends on, driven with the runbooks' own SQL.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBatch as enginesFormatBatch } from '../../../src/backends/engines/mysql-batch.js';
import { shellQuote } from '../../../src/backends/engines/shell-quote.js';
import { formatBatch } from '../../../src/backends/sim/mysql-server.js';
import { splitWords } from '../../../src/backends/sim/posix-words.js';
import type { MysqlFlavour } from '../../../src/domain/types.js';
import { fleet, openSim, probeMysql, sql } from './sim-helpers.js';

async function clusterOf(flavour: MysqlFlavour, version?: RegExp) {
  const b = await openSim();
  const f = await fleet(b);
  const w = b.world.view();
  const c = f.clusters.find((x) => x.engine === 'mysql' && w.mysql[x.instanceIds[0]!]!.flavour === flavour && (!version || version.test(w.mysql[x.instanceIds[0]!]!.version)))!;
  const [master, r1, r2] = f.members(c.name) as [typeof f.instances[0], typeof f.instances[0], typeof f.instances[0]];
  return { b, f, master, r1, r2, cluster: c.name };
}

describe('simulated mysql client', () => {
  it('answers a variable the flavour lacks with ERROR 1193 and exit 1, as the real client', async () => {
    const { b, master } = await clusterOf('mysql');
    const res = await sql(b, master, 'SELECT @@gtid_current_pos AS g');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("ERROR 1193 (HY000) at line 1: Unknown system variable 'gtid_current_pos'\n");
    const maria = await clusterOf('mariadb');
    const res2 = await sql(maria.b, maria.master, 'SELECT @@super_read_only');
    expect(res2.stderr).toContain("Unknown system variable 'super_read_only'");
  });

  it('answers unknown SQL with ERROR 1064 and a missing program with exit 127', async () => {
    const { b, master } = await clusterOf('mariadb');
    const res = await sql(b, master, 'FROBNICATE THE TABLES');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^ERROR 1064 \(42000\) at line 1: You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version/);
    const missing = await b.shell.exec(master, 'xtrabackup --version');
    expect(missing).toMatchObject({ code: 127, stderr: 'sh: 1: xtrabackup: not found\n' });
    const onRing = await b.shell.exec((await fleet(b)).instances.find((i) => i.tags['nightshift:engine'] === 'cassandra')!, 'mysql --batch -e "SELECT 1"');
    expect(onRing.code).toBe(127);
  });

  it('runs through a configured client prefix (sudo) and honours -N', async () => {
    const { b, master } = await clusterOf('mysql');
    const res = await b.shell.exec(master, `sudo -u root mysql -N --batch -e ${shellQuote("SELECT 'it''s' AS x, @@server_id")}`);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^it's\t\d+\n$/);
  });

  it('refuses SHOW SLAVE STATUS on MySQL 8.4 (removed there) but answers SHOW REPLICA STATUS', async () => {
    const { b, r1 } = await clusterOf('mysql', /^8\.4/);
    expect((await sql(b, r1, 'SHOW SLAVE STATUS')).code).toBe(1);
    const ok = await sql(b, r1, 'SHOW REPLICA STATUS');
    expect(ok.stdout.split('\n')[0]).toContain('Replica_IO_Running');
  });

  it('formats batch output byte for byte like engines/mysql-batch.ts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(fc.option(fc.string({ unit: fc.constantFrom('a', '\t', '\n', '\\', '\0', 'é', ' ') }), { nil: null }), { minLength: 4, maxLength: 4 }), { maxLength: 3 }),
        (cols, rows) => {
          const r = rows.map((row) => row.slice(0, cols.length));
          expect(formatBatch(cols, r)).toBe(enginesFormatBatch(cols, r));
        },
      ),
    );
  });

  it('splits shell-quoted commands back into the exact argument', () => {
    fc.assert(
      fc.property(fc.string(), (arg) => {
        expect(splitWords(`mysql --batch -e ${shellQuote(arg)}`).words).toEqual(['mysql', '--batch', '-e', arg]);
      }),
    );
  });
});

describe('replication semantics', () => {
  it('a stopped SQL thread stops applying; started again, the replica catches up over time', async () => {
    const { b, master, r1 } = await clusterOf('mariadb');
    b.world.inject({ kind: 'stop-sql-thread', node: r1.id });
    const stopped = await probeMysql(b, r1);
    expect(stopped.replica).toMatchObject({ sqlThread: 'No', lagSeconds: null });
    expect(stopped.replica!.lastSqlError?.code).toBe(1062);
    b.world.advance(600_000);
    expect((await probeMysql(b, r1)).gtidExecuted).toBe(stopped.gtidExecuted);
    await sql(b, r1, 'START SLAVE');
    const behind = (await probeMysql(b, r1)).replica!.lagSeconds!;
    expect(behind).toBeGreaterThan(500);
    b.world.advance(900_000);
    const caught = await probeMysql(b, r1);
    expect(caught.replica!.lagSeconds!).toBeLessThan(5);
    const m = await probeMysql(b, master);
    expect(Number(caught.gtidExecuted.split('-')[2])).toBeGreaterThan(Number(m.gtidExecuted.split('-')[2]) - 200);
  });

  it('a write on a writable MySQL replica creates an errant GTID; super_read_only refuses it', async () => {
    const { b, master, r1 } = await clusterOf('mysql', /^8\.0/);
    const refused = await sql(b, r1, 'INSERT INTO app.t VALUES (1)');
    expect(refused.stderr).toContain('ERROR 1290 (HY000)');
    await sql(b, r1, 'SET GLOBAL super_read_only=0');
    expect((await sql(b, r1, 'INSERT INTO app.t VALUES (1)')).code).toBe(0);
    const replicaSet = (await probeMysql(b, r1)).gtidExecuted;
    const masterSet = (await probeMysql(b, master)).gtidExecuted;
    const res = await sql(b, master, `SELECT GTID_SUBTRACT('${replicaSet}', '${masterSet}') AS errant`);
    const uuid = (await sql(b, r1, 'SELECT @@server_uuid AS u')).stdout.split('\n')[1]!;
    expect(res.stdout).toBe(`errant\n${uuid}:1\n`);
  });

  it('refuses RESET SLAVE ALL while threads run, as MariaDB does', async () => {
    const { b, r1 } = await clusterOf('mariadb');
    const res = await sql(b, r1, 'RESET SLAVE ALL');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('ERROR 1198 (HY000)');
  });
});

describe('simulated waits on a running clock', () => {
  // The world reads one instant per turn (a macrotask). A sleep whose end had
  // already passed on the clock used to resolve inside the same turn, so the
  // command woke to the instant it fell asleep at: a GTID wait polling that
  // way spun for ever with the event loop blocked (a switchover hung at
  // MASTER_GTID_WAIT and ignored SIGTERM). Here the real clock jumps 5 s at
  // every reading, so every sleep is already over when it starts.
  it.each(['mariadb', 'mysql'] as const)('%s: after SLEEP(2) the server clock has moved 2 s on', async (flavour) => {
    let real = 0;
    const { createSimBackends } = await import('../../../src/backends/sim/index.js');
    const { tempStateDir } = await import('./sim-helpers.js');
    const b = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir: tempStateDir(), realNow: () => (real += 5_000), commandTimeoutMs: 3_600_000 });
    try {
      const f = await fleet(b);
      const w = b.world.view();
      const c = f.clusters.find((x) => x.engine === 'mysql' && w.mysql[x.instanceIds[0]!]!.flavour === flavour)!;
      const replica = f.members(c.name)[1]!;
      const res = await sql(b, replica, 'SELECT NOW() AS a; SELECT SLEEP(2) AS s; SELECT NOW() AS b');
      expect(res.stderr).toBe('');
      const [, before, , , , after] = res.stdout.trim().split('\n');
      expect(Date.parse(`${after}Z`) - Date.parse(`${before}Z`)).toBeGreaterThanOrEqual(2_000);
    } finally {
      await b.close();
    }
  });
});
