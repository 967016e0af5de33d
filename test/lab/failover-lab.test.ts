// `nightshift run failover` on the lab, as an engineer paged for a dead
// master runs it: the real CLI over the real sshd against three real MariaDB
// servers, with nothing but what `lab up` wrote. m1's mariadbd is killed
// with SIGKILL (no shutdown, no goodbye to its replicas); the run fences it
// with the inventory's fence command (the node's `service stop`), promotes
// the most advanced replica and points the other at it, and every row m1
// wrote before it died is on the new master. While m1 is alive the same
// command refuses and changes nothing, and so it does when only nightshift's
// own path to m1 is broken while the replicas still replicate from it. The lab is then restored (m1 started
// read-only, rejoined as a replica, switched back to master), which is what
// the budgets bench does between its runs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { LAB_HEARTBEAT_TABLE, LAB_SERVICE_UNIT } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';
import { healthy, labCli } from './mysql-lab.js';

const NODES = ['m1', 'm2', 'm3'] as const;
/** Long enough that m3 has not applied the last batch when the run starts, on a loaded machine too. */
const RELAY_DELAY_SECONDS = 10;

describeLab('failover over real ssh on the lab', () => {
  const fx = useTestLab();

  const { cli, topology, journalRecords } = labCli(fx);

  /** The command issue 12 documents for the lab, word for word (the inventory flag comes first in cli()). */
  const failover = ['run', 'failover', '--cluster', 'lab', '--yes', '--confirm', 'lab'];

  /** One pt-heartbeat stamp on the master, so the replicas' lag (read from the table) is the truth, not the lab's age. */
  async function stamp(master: string): Promise<void> {
    await fx.lab.sql(
      master,
      `INSERT INTO ${LAB_HEARTBEAT_TABLE} (server_id, ts) VALUES (@@server_id, DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f')) ON DUPLICATE KEY UPDATE ts = VALUES(ts)`,
    );
  }

  async function synced(master: string, others: readonly string[]): Promise<void> {
    const pos = await fx.lab.value(master, 'SELECT @@gtid_binlog_pos');
    for (const n of others) expect(await fx.lab.value(n, `SELECT MASTER_GTID_WAIT('${pos}', 30)`), `${n} reaches ${master}'s ${pos}`).toBe('0');
  }

  async function write(master: string, count: number, note: string): Promise<void> {
    await fx.lab.sql(master, `INSERT INTO nightshift_lab.writes (note) VALUES ${Array.from({ length: count }, (_, i) => `('${note} ${i}')`).join(', ')}`);
  }

  const rows = async (n: string) => Number(await fx.lab.value(n, 'SELECT COUNT(*) FROM nightshift_lab.writes'));

  /** What a refused run must leave as it was: read-only, positions, and each replica's source. */
  const snapshot = async () =>
    Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, (await fx.lab.sql(n, 'SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos')).trim()] as const)));

  it('refuses while m1 is alive: exit non-zero, the reason named, nothing changed', { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-failover-'));
    await stamp('m1');
    const pid = fx.lab.pidOf('m1');
    const before = await snapshot();
    const r = cli(home, failover);
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('m1 answers and is writable');
    expect(await snapshot()).toEqual(before);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
    expect(fx.lab.pidOf('m1')).toBe(pid);
    expect(journalRecords(home).some((x) => x.type === 'step-started')).toBe(false);
  });

  // Dead, not merely out of nightshift's reach: m1's socket moved away, so the
  // mysql client nightshift runs over ssh cannot reach it, while m2 and m3 keep
  // replicating from it over TCP.
  it("refuses when only nightshift's path to m1 is broken and the replicas still replicate from it", { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-failover-'));
    await stamp('m1');
    await synced('m1', ['m2', 'm3']);
    const before = await snapshot();
    const socket = fx.lab.node('m1').socket;
    renameSync(socket, `${socket}.away`);
    let r: ReturnType<typeof cli>;
    try {
      r = cli(home, failover);
    } finally {
      renameSync(`${socket}.away`, socket);
    }
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/m2, m3 still replicate from m1 \(IO thread Yes\)/);
    expect(await snapshot()).toEqual(before);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
    expect(journalRecords(home).some((x) => x.type === 'step-started')).toBe(false);
  });

  // The replicas are left unequal when m1 dies, so the run has to settle it
  // itself: m2 stopped receiving before the last batch (it would win on name
  // alone), m3 received the batch but applies it only after MASTER_DELAY, so
  // it is still in m3's relay log when the run starts. The relay-log wait must
  // apply it, the choice must be m3, and m2 must fetch the batch from m3.
  it("after kill -9 of m1's mariadbd: fenced, the most advanced replica promoted once its relay log is applied, the other following it, every row on both; then the lab is restored", { timeout: 300_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-failover-'));
    await write('m1', 50, 'everyone has it');
    await synced('m1', ['m2', 'm3']);
    await fx.lab.sql('m2', 'STOP SLAVE IO_THREAD');
    await fx.lab.sql('m3', `STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=${RELAY_DELAY_SECONDS}; START SLAVE`);
    const applied = await rows('m3');
    await write('m1', 30, 'only in the relay log of m3');
    const written = await rows('m1');
    expect(written).toBe(applied + 30);
    // m3 has received the batch (its IO position is m1's), and not applied it.
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    await vi.waitFor(async () => expect((await fx.shell.exec(fx.instance('m3'), "mysql -e 'SHOW SLAVE STATUS\\G'")).stdout).toContain(`Gtid_IO_Pos: ${pos}`), { timeout: 30_000, interval: 50 });
    const killed = await fx.lab.crash('m1');
    expect(await rows('m3')).toBe(applied);
    expect(await rows('m2')).toBe(applied);
    // The replicas see the connection reset at once; an engineer paged a minute later finds the same.
    await vi.waitFor(
      async () => {
        for (const n of ['m2', 'm3']) expect(await fx.lab.sql(n, "SHOW GLOBAL STATUS LIKE 'Slave_running'"), n).toContain('OFF');
      },
      { timeout: 30_000, interval: 50 },
    );

    const t0 = Date.now();
    const r = cli(home, failover);
    const wallMs = Date.now() - t0;
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('m3: relay log applied');
    expect(topology(home)).toEqual({ m1: 'down', m3: 'master read_only=false', m2: 'replica of m3 io=Yes sql=Yes read_only=true' });
    await synced('m3', ['m2']);
    expect({ m2: await rows('m2'), m3: await rows('m3') }).toEqual({ m2: written, m3: written });

    // The fence ran, over ssh, and m1 stays stopped: its service says so and no new mariadbd has its datadir.
    const records = journalRecords(home);
    expect(records.find((x) => x.type === 'step-finished' && x.stepId === 'fence')).toMatchObject({ status: 'ok' });
    expect(r.stdout).toContain(`${fx.lab.node('m1').service} stop ${LAB_SERVICE_UNIT}`);
    const active = spawnSync(fx.lab.node('m1').service, ['is-active', LAB_SERVICE_UNIT], { encoding: 'utf8' });
    expect(active.stdout.trim()).toBe('inactive');
    expect(fx.lab.pidOf('m1')).toBe(killed);
    expect(r.stdout).not.toContain(readFileSync(fx.lab.state.files.replPassword, 'utf8').trim());

    // A write on the new master reaches the replica that follows it.
    await write('m3', 1, 'after the failover');
    await synced('m3', ['m2']);
    expect(await rows('m2')).toBe(written + 1);
    const at = (type: string, stepId?: string) => (records.find((x) => x.type === type && (stepId === undefined || ('stepId' in x && x.stepId === stepId))) as { vt: number }).vt;
    console.log(`failover on the lab: m3 writable ${at('step-finished', 'promote') - t0} ms after the command started (${at('step-finished', 'promote') - at('run-started')} ms after run-started); whole command ${wallMs} ms`);

    // Restored as the bench restores it: m1 back read-only, a replica of the new master, then the master again.
    await fx.lab.startService('m1');
    expect(await fx.lab.value('m1', 'SELECT @@read_only')).toBe('1');
    await fx.lab.rejoin('m1', 'm3');
    await synced('m3', ['m1', 'm2']);
    expect(await rows('m1')).toBe(written + 1);
    await stamp('m3');
    const back = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm1', '--yes', '--confirm', 'lab']);
    expect(back.status, back.stdout + back.stderr).toBe(0);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
  });
});
