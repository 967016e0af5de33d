// `nightshift run rebuild --via stream` on the lab, as issue 13 documents it:
// the real CLI over the real sshd, m2 streamed with mariadb-backup into the
// spare m4's empty datadir, prepared, moved back, started, pointed at m1 and
// joined to the cluster; m4 then has every row m1 has. Then the same with the
// SSH connection serving the stream dropped mid-backup while the session
// dies with it (the engineer's laptop loses its network): `nightshift resume`
// ends what the first attempt left, streams again and finishes.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';
import { describeLab, useTestLab } from '../helpers/lab.js';
import { labCli } from './mysql-lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'nightshift.js');

/** The command issue 13 documents for the lab (the inventory flag comes first in cli()). */
const REBUILD = ['run', 'rebuild', '--cluster', 'lab', '--target', 'm4', '--via', 'stream', '--yes', '--confirm', 'lab'];

function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describeLab('rebuild over the stream on the lab', () => {
  // The heartbeat writer: the catch-up step reads lag from the heartbeat table, as in production.
  const fx = useTestLab({ heartbeat: true });
  const { cli, topology, journalRecords } = labCli(fx);

  async function writeRows(count: number, note: string): Promise<void> {
    await fx.lab.sql('m1', `INSERT INTO nightshift_lab.writes (note) SELECT CONCAT('${note} ', seq) FROM nightshift_lab.seq_1_to_${count}`);
  }

  /** The newest run's end as its journal says it, if it ended. */
  const finished = (home: string) => (journalRecords(home).find((x) => x.type === 'run-finished') as { status: string } | undefined)?.status;

  const rows = 'SELECT COUNT(*), SUM(CRC32(note)) FROM nightshift_lab.writes';

  async function everyRowOnM4(): Promise<void> {
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    expect(await fx.lab.value('m4', `SELECT MASTER_GTID_WAIT('${pos}', 60)`)).toBe('0');
    expect(await fx.lab.sql('m4', rows)).toBe(await fx.lab.sql('m1', rows));
  }

  /** m4 back to a spare with an empty datadir and no server, as `lab up` made it (for the second test). */
  async function resetM4(home: string): Promise<void> {
    const m4 = fx.lab.node('m4');
    execFileSync(m4.service, ['stop', 'mariadb']);
    execFileSync('sh', ['-c', `rm -rf -- "$1" && mkdir -p -- "$1"`, 'sh', m4.datadir]);
    // Its membership lives in the overlay of this state home; a fresh home makes it a spare again.
    void home;
  }

  it('streams m2 into the spare m4, which replicates from m1 with every row and joins the cluster', { timeout: 600_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-rebuild-'));
    await writeRows(50_000, 'before');
    const started = Date.now();
    const r = cli(home, REBUILD);
    const seconds = (Date.now() - started) / 1000;
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(finished(home)).toBe('succeeded');
    await writeRows(1_000, 'after');
    await everyRowOnM4();
    const m4 = topology(home).m4;
    expect(m4).toBe('replica of m1 io=Yes sql=Yes read_only=true');
    expect(await fx.lab.value('m4', 'SELECT @@server_id')).toBe('4');
    // m2's SQL thread runs again after --safe-slave-backup.
    expect(topology(home).m2).toBe('replica of m1 io=Yes sql=Yes read_only=true');
    const ok = journalRecords(home)
      .filter((x) => x.type === 'step-finished' && x.status === 'ok')
      .map((x) => (x as { stepId: string }).stepId);
    expect(ok).toEqual(expect.arrayContaining(['stream', 'prepare', 'move-back', 'start', 'replicate', 'catch-up', 'join']));
    console.log(`rebuild --via stream on the lab: ${seconds.toFixed(1)} s`);
  });

  it('the connection serving the stream drops mid-backup with the session: resume ends the leftovers, streams again and finishes', { timeout: 600_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-rebuild-'));
    await resetM4(home);
    // Enough data that the backup runs for seconds, so the cut lands mid-stream.
    await fx.lab.sql('m1', 'CREATE TABLE nightshift_lab.bulk (id INT PRIMARY KEY, pad CHAR(255) NOT NULL) ENGINE=InnoDB');
    await fx.lab.sql('m1', 'INSERT INTO nightshift_lab.bulk SELECT seq, REPEAT(CHAR(65 + seq % 26), 255) FROM nightshift_lab.seq_1_to_300000');
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    expect(await fx.lab.value('m2', `SELECT MASTER_GTID_WAIT('${pos}', 120)`)).toBe('0');

    const env = { ...process.env, XDG_STATE_HOME: home, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
    const child = spawn(process.execPath, [bin, '--inventory', fx.lab.state.files.inventory, ...REBUILD], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

    // The backup is running on m2 and has sent bytes: the cut lands mid-stream.
    const backup = `[t]arget-dir=/tmp/nightshift-`;
    await vi.waitFor(() => expect(pgrep(backup)).toHaveLength(1), { timeout: 120_000, interval: 50 });
    await vi.waitFor(() => expect(out).toMatch(/Streaming \.\/nightshift_lab\/bulk\.ibd/), { timeout: 60_000, interval: 50 });
    const sshdChild = parentOf(pgrep(backup)[0]!);
    expect(readFileSync(`/proc/${sshdChild}/cmdline`, 'utf8')).toMatch(/^sshd/);
    // The session and its connection go together.
    child.kill('SIGKILL');
    process.kill(sshdChild, 'SIGKILL');
    await exited;
    expect(finished(home)).toBeUndefined();

    const resumed = cli(home, ['resume', '--yes', '--confirm', 'lab']);
    expect(resumed.status, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect(finished(home)).toBe('succeeded');
    expect(resumed.stdout).toMatch(/\[n\]ightshift-/); // it ended what the first attempt left
    await writeRows(1_000, 'after-resume');
    await everyRowOnM4();
    expect(await fx.lab.sql('m4', 'SELECT COUNT(*) FROM nightshift_lab.bulk')).toBe('300000\n');
    expect(topology(home).m4).toBe('replica of m1 io=Yes sql=Yes read_only=true');
    expect(topology(home).m2).toBe('replica of m1 io=Yes sql=Yes read_only=true');
    // Nothing of the first attempt runs any more.
    expect(pgrep(backup)).toEqual([]);
  });
});
