// What the simulated servers keep between the thousands of probes of a
// refresh (replication state per node and instant, GTID set text, the
// metrics record of the last fetch) must never outlive a change: the answer
// right after a fault, a runbook's SQL, a clock step or another process's
// write shows it.

import { describe, expect, it } from 'vitest';
import { SimMetrics } from '../../../src/backends/sim/inventory.js';
import type { Instance } from '../../../src/domain/types.js';
import { fleet, openSim, probeMysql, sql, tempStateDir } from './sim-helpers.js';

type Sim = Awaited<ReturnType<typeof openSim>>;

/** Master and two replicas of the first cluster of a flavour. */
async function mysqlCluster(b: Sim, flavour: 'mysql' | 'mariadb') {
  const f = await fleet(b);
  const w = b.world.view();
  const c = f.clusters.find((x) => x.engine === 'mysql' && w.mysql[x.instanceIds[0]!]!.flavour === flavour)!;
  const [master, r1, r2] = f.members(c.name) as [Instance, Instance, Instance];
  return { master, r1, r2 };
}

/** Lets the event loop turn, as between two slices of a refresh: the world's instant and file check are per turn. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function rowOf(stdout: string): { header: string[]; cells: string[] } {
  const [header, row] = stdout.split('\n');
  return { header: header!.split('\t'), cells: row!.split('\t') };
}

describe('simulated answers right after a change', () => {
  it('shows a fault injected between two probes of the same instant', async () => {
    const b = await openSim();
    const { master, r1, r2 } = await mysqlCluster(b, 'mysql');
    expect((await probeMysql(b, r1)).replica).toMatchObject({ sqlThread: 'Yes', ioThread: 'Yes' });
    b.world.inject({ kind: 'stop-sql-thread', node: r1.id });
    expect((await probeMysql(b, r1)).replica).toMatchObject({ sqlThread: 'No', lastSqlError: { code: 1062 } });
    b.world.inject({ kind: 'kill-node', node: master.id });
    expect((await probeMysql(b, r2)).replica).toMatchObject({ ioThread: 'Connecting', lastIoError: { code: 2003 } });
  });

  it('shows what a runbook wrote: read_only, a write, a new source', async () => {
    const b = await openSim();
    const { master, r1, r2 } = await mysqlCluster(b, 'mariadb');
    expect((await probeMysql(b, r1)).readOnly).toBe(true);
    await sql(b, r1, 'SET GLOBAL read_only = 0');
    expect((await probeMysql(b, r1)).readOnly).toBe(false);

    // One transaction more in the master's domain at the same instant.
    const seq = (gtid: string) => Number(gtid.split('-')[2]);
    const before = seq((await probeMysql(b, master)).gtidExecuted);
    await sql(b, master, 'INSERT INTO app.heartbeat VALUES (1)');
    expect(seq((await probeMysql(b, master)).gtidExecuted)).toBe(before + 1);

    await sql(b, r2, 'STOP SLAVE');
    await sql(b, r2, `CHANGE MASTER TO MASTER_HOST='${r1.privateIp}', MASTER_USE_GTID=slave_pos`);
    await sql(b, r2, 'START SLAVE');
    const status = (await sql(b, r2, 'SHOW SLAVE STATUS')).stdout;
    const { header, cells } = rowOf(status);
    expect(cells[header.indexOf('Master_Host')]).toBe(r1.privateIp);
    expect(cells[header.indexOf('Master_Server_Id')]).toBe(String(b.world.view().mysql[r1.id]!.serverId));
  });

  it('moves positions on with the clock', async () => {
    const b = await openSim();
    const { master } = await mysqlCluster(b, 'mysql');
    const before = (await probeMysql(b, master)).binlog!.position;
    b.world.advance(60_000);
    expect((await probeMysql(b, master)).binlog!.position).toBeGreaterThan(before);
  });

  it('sees what another process wrote to the state file, in probes and metrics', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const other = await openSim({ stateDir });
    const { r1 } = await mysqlCluster(a, 'mysql');
    const ids = (await fleet(a)).instances.map((i) => i.id);
    expect((await probeMysql(a, r1)).readOnly).toBe(true);
    const cpuBefore = (await a.metrics.fetch({ instanceIds: ids, minutes: 30 }))[r1.id]!.cpu.map((p) => p.v);

    await sql(other, r1, 'SET GLOBAL read_only = 0');
    await nextTurn();
    expect((await probeMysql(a, r1)).readOnly).toBe(false);
    // Same minute, but a writable server works harder: the series is not the one handed out before.
    const cpuAfter = (await a.metrics.fetch({ instanceIds: ids, minutes: 30 }))[r1.id]!.cpu.map((p) => p.v);
    expect(cpuAfter).not.toEqual(cpuBefore);
    expect(cpuAfter).toEqual((await new SimMetrics(a.world).fetch({ instanceIds: [r1.id], minutes: 30 }))[r1.id]!.cpu.map((p) => p.v));
  });

  it('hands out metrics a minute later that equal a fresh computation, reusing the points it can', async () => {
    const b = await openSim();
    const { master, r1 } = await mysqlCluster(b, 'mysql');
    const ids = (await fleet(b)).instances.map((i) => i.id);
    const query = { instanceIds: ids, minutes: 30 };
    let previous = await b.metrics.fetch(query);
    expect(await b.metrics.fetch(query)).toBe(previous);
    for (let minute = 1; minute <= 4; minute++) {
      b.world.advance(60_000);
      if (minute === 2) b.world.inject({ kind: 'io-stuck', node: r1.id });
      if (minute === 3) b.world.inject({ kind: 'kill-node', node: master.id });
      const next = await b.metrics.fetch(query);
      expect(next).toEqual(await new SimMetrics(b.world).fetch(query));
      const cpu = next[r1.id]!.cpu;
      // The window moved by one minute: all but the newest point were in the last answer.
      expect(cpu.at(-2)).toBe(previous[r1.id]!.cpu.at(-1));
      previous = next;
    }
    expect(previous[r1.id]!.extra!['io-wait']!.at(-1)!.v).toBeGreaterThan(90);
    expect(previous[master.id]!.cpu.at(-1)!.v).toBeLessThan(1);
  });
});

describe('simulated SHOW REPLICA STATUS', () => {
  it('has a cell for every column in each flavour and naming, free text escaped', async () => {
    const b = await openSim();
    const message = "Could not execute Write_rows event\ton table app.orders;\nDuplicate entry '4211'";
    for (const [flavour, statement] of [
      ['mysql', 'SHOW SLAVE STATUS'],
      ['mysql', 'SHOW REPLICA STATUS'],
      ['mariadb', 'SHOW SLAVE STATUS'],
    ] as const) {
      const { r1, r2 } = await mysqlCluster(b, flavour);
      b.world.inject({ kind: 'stop-sql-thread', node: r1.id, error: { code: 1062, message } });
      for (const node of [r1, r2]) {
        const res = await sql(b, node, statement);
        expect(res.code).toBe(0);
        const { header, cells } = rowOf(res.stdout);
        expect(cells).toHaveLength(header.length);
        if (node === r1) expect(cells[header.indexOf('Last_SQL_Error')]).toBe(message.replace(/\t/g, '\\t').replace(/\n/g, '\\n'));
      }
    }
  });
});
