// `nightshift run switchover` on the lab, as an engineer runs it: the real
// CLI in a child process, over the real sshd, against three real MariaDB
// servers with GTID replication, with nothing but the inventory and the
// config `lab up` wrote beside it. m2 becomes the master and m1 and m3 follow
// it; then the switch back leaves the lab as it was found. The write outage
// (old master read-only → new master writable) is read from the journal.
//
// The lab here runs without its heartbeat writer, so that a test decides
// every transaction there is (an errant one on m3 must not be buried under
// the master's next write): each run is preceded by one heartbeat stamped on
// the master, as the writer would, so the replicas' lag reads true.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LAB_HEARTBEAT_TABLE } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';
import { healthy, labCli } from './mysql-lab.js';

const NODES = ['m1', 'm2', 'm3'] as const;

describeLab('switchover over real ssh on the lab', () => {
  const fx = useTestLab();

  const { cli, topology, journalRecords } = labCli(fx);

  /** The command issue 12 documents for the lab, word for word (the inventory flag comes first in cli()). */
  const documented = ['run', 'switchover', '--cluster', 'lab', '--yes', '--confirm', 'lab'];

  /** Fleet ms from the readonly step's start to the promote step's finish, from the run's journal. */
  function writeOutageMs(stateHome: string): number {
    const records = journalRecords(stateHome);
    const at = (type: string, stepId: string) => {
      const r = records.find((x) => x.type === type && 'stepId' in x && x.stepId === stepId) as { vt: number } | undefined;
      expect(r, `${type} ${stepId}`).toBeDefined();
      return r!.vt;
    };
    return at('step-finished', 'promote') - at('step-started', 'readonly');
  }

  /** One pt-heartbeat stamp on the master, so the replicas' lag (read from the table) is the truth, not the lab's age. */
  async function stamp(master: string): Promise<void> {
    await fx.lab.sql(
      master,
      `INSERT INTO ${LAB_HEARTBEAT_TABLE} (server_id, ts) VALUES (@@server_id, DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f')) ON DUPLICATE KEY UPDATE ts = VALUES(ts)`,
    );
  }

  async function write(master: string, rows: number, note: string): Promise<void> {
    const values = Array.from({ length: rows }, (_, i) => `('${note} ${i}')`).join(', ');
    await fx.lab.sql(master, `INSERT INTO nightshift_lab.writes (note) VALUES ${values}`);
  }

  /** Until every other node has executed everything the master has written. */
  async function synced(master: string): Promise<void> {
    const pos = await fx.lab.value(master, 'SELECT @@gtid_binlog_pos');
    for (const n of NODES.filter((x) => x !== master)) {
      expect(await fx.lab.value(n, `SELECT MASTER_GTID_WAIT('${pos}', 30)`), `${n} reaches ${master}'s ${pos}`).toBe('0');
    }
  }

  const counts = async () => Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, Number(await fx.lab.value(n, 'SELECT COUNT(*) FROM nightshift_lab.writes'))] as const)));

  /** What a refused run must leave as it was: read-only, positions, and the source of each node. */
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        NODES.map(async (n) => [n, (await fx.lab.sql(n, 'SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos, @@gtid_strict_mode')).trim()] as const),
      ),
    );

  it('moves the writes to m2 and back, with m1 and m3 following, and says how long writes stopped', { timeout: 300_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-switchover-'));
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));

    await stamp('m1');
    let t0 = Date.now();
    const there = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm2', '--yes', '--confirm', 'lab']);
    expect(there.status, there.stdout + there.stderr).toBe(0);
    const total = Date.now() - t0;
    const outage = writeOutageMs(home);
    expect(topology(home)).toEqual(healthy('m2', 'm1', 'm3'));
    // The lab configures no writer record: the DNS step says so and changes nothing.
    expect(there.stdout).toContain('no writer record configured');
    expect(there.stdout).not.toContain(readFileSync(fx.lab.state.files.replPassword, 'utf8').trim());

    await stamp('m2');
    t0 = Date.now();
    const back = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm1', '--yes', '--confirm', 'lab']);
    expect(back.status, back.stdout + back.stderr).toBe(0);
    const totalBack = Date.now() - t0;
    const outageBack = writeOutageMs(home);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));

    console.log(`switchover on the lab: write outage m1→m2 ${outage} ms, m2→m1 ${outageBack} ms; whole command (process start to exit) ${total} ms, ${totalBack} ms`);
    expect(outage).toBeLessThan(30_000);
  });

  it("the destructive gate wants the cluster's name: --confirm with the master's stops before anything changes and names the flag", { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-switchover-'));
    await stamp('m1');
    const before = await snapshot();
    const r = cli(home, ['run', 'switchover', '--cluster', 'lab', '--yes', '--confirm', 'm1']);
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain('--confirm lab');
    expect(await snapshot()).toEqual(before);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
    expect(journalRecords(home).some((x) => x.type === 'step-started')).toBe(false);
  });

  // The old master's repoint sets its gtid_slave_pos from its own binlog first:
  // with gtid_strict_mode on, anything else is an out-of-order GTID and its SQL
  // thread stops; with it off, a wrong position would silently re-apply or skip.
  for (const strict of [true, false]) {
    it(`the documented command, no --candidate, with gtid_strict_mode ${strict ? 'ON' : 'OFF'}: the old master replicates from the new one and every row is everywhere`, { timeout: 300_000 }, async () => {
      const home = mkdtempSync(join(tmpdir(), 'ns-switchover-'));
      expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
      for (const n of NODES) await fx.lab.sql(n, `SET GLOBAL gtid_strict_mode=${strict ? 1 : 0}`);
      await write('m1', 20, `before the switch, strict=${strict}`);
      await stamp('m1');
      const there = cli(home, documented);
      expect(there.status, there.stdout + there.stderr).toBe(0);
      // Ranked by lag, which is read from one heartbeat stamp and so differs between m2 and m3 by when each was probed: either may win.
      const chosen = /the candidate may be promoted: (m[23]) /.exec(there.stdout)?.[1];
      expect(chosen, there.stdout).toBeDefined();
      const other = chosen === 'm2' ? 'm3' : 'm2';
      expect(topology(home)).toEqual(healthy(chosen!, 'm1', other));
      await oldMasterReplicates('m1', chosen!);
      await write(chosen!, 20, `after the switch, strict=${strict}`);
      await synced(chosen!);
      const mid = await counts();
      expect(new Set(Object.values(mid)).size, JSON.stringify(mid)).toBe(1);

      await stamp(chosen!);
      const back = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm1', '--yes', '--confirm', 'lab']);
      expect(back.status, back.stdout + back.stderr).toBe(0);
      expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
      await oldMasterReplicates(chosen!, 'm1');
      await write('m1', 20, `after the switch back, strict=${strict}`);
      await synced('m1');
      expect(await counts()).toEqual({ m1: mid.m1! + 20, m2: mid.m1! + 20, m3: mid.m1! + 20 });
      for (const n of NODES) expect(await fx.lab.value(n, 'SELECT @@gtid_strict_mode'), n).toBe(strict ? '1' : '0');
    });
  }

  /** Read straight from the server, not through the product's own probe: both threads running, from the new master. */
  async function oldMasterReplicates(oldMaster: string, newMaster: string): Promise<void> {
    const status = (await fx.shell.exec(fx.instance(oldMaster), "mysql -e 'SHOW SLAVE STATUS\\G'")).stdout;
    expect(status, oldMaster).toContain(`Master_Host: ${fx.lab.node(newMaster).ip}`);
    expect(status, oldMaster).toMatch(/Slave_IO_Running: Yes/);
    expect(status, oldMaster).toMatch(/Slave_SQL_Running: Yes/);
    expect(status, oldMaster).toMatch(/Last_SQL_Errno: 0\n/);
  }

  // Last in the file: the errant transaction stays on m3 for good (only
  // rebuilding m3 would remove it), as it would on a real replica.
  it('a replica with an errant transaction is refused as --candidate, naming the GTID, and skipped by the ranking', { timeout: 300_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-switchover-'));
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));
    for (const n of NODES) await fx.lab.sql(n, 'SET GLOBAL gtid_strict_mode=0');
    await stamp('m1');
    await synced('m1');
    // Someone writes on the replica: read_only off for a moment, binary logging on, as a hurried DBA would.
    // A far id: the row must not collide with the master's rows when they replicate to m3.
    await fx.lab.sql('m3', "SET GLOBAL read_only=0; SET SESSION sql_log_bin=1; INSERT INTO nightshift_lab.writes (id, note) VALUES (1000000, 'errant on m3'); SET GLOBAL read_only=1");
    const errant = await fx.lab.value('m3', 'SELECT @@gtid_binlog_pos');
    expect(errant).toMatch(/^0-3-\d+$/);
    // The master writes on: on m3 its next GTID takes the errant one's place in gtid_current_pos
    // (one GTID per domain); only gtid_binlog_state still lists 0-3-N, and that is what is checked.
    await stamp('m1');
    await synced('m1');
    expect(await fx.lab.value('m3', 'SELECT @@gtid_current_pos')).not.toContain('0-3-');
    expect(await fx.lab.value('m3', 'SELECT @@gtid_binlog_state')).toContain(errant);
    const before = await snapshot();
    const lagLimit: string[] = [];
    const refused = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm3', '--yes', '--confirm', 'lab', ...lagLimit]);
    expect(refused.status, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(`m3 cannot be promoted: errant GTIDs ${errant}`);
    expect(await snapshot()).toEqual(before);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));

    // Without --candidate the ranking would put m3 first (tagged prefer); it skips it for m2.
    const inventory = join(dirname(fx.lab.state.files.inventory), 'inventory-m3-preferred.yaml');
    const doc = parse(readFileSync(fx.lab.state.files.inventory, 'utf8')) as { hosts: Array<{ name: string; tags: Record<string, string> }> };
    doc.hosts.find((h) => h.name === 'm3')!.tags['nightshift:promotion'] = 'prefer';
    writeFileSync(inventory, stringify(doc));
    const ranked = cli(home, [...documented, ...lagLimit], inventory);
    expect(ranked.status, ranked.stdout + ranked.stderr).toBe(0);
    expect(ranked.stdout).toMatch(/the candidate may be promoted[^\n]*m2/);
    expect(topology(home)).toEqual(healthy('m2', 'm1', 'm3'));
    // The errant row stayed where it was written: nothing carried it to the new master or the old one.
    const errantRows = async (n: string) => fx.lab.value(n, 'SELECT COUNT(*) FROM nightshift_lab.writes WHERE id = 1000000');
    expect({ m1: await errantRows('m1'), m2: await errantRows('m2'), m3: await errantRows('m3') }).toEqual({ m1: '0', m2: '0', m3: '1' });
  });
});
