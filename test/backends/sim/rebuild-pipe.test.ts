// SimShell.pipe, the stream path of a rebuild: the backup tool's stream from
// a source into mbstream/xbstream on the target, relayed through this
// process on virtual time, and failing where a real pipe fails.

import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../../src/domain/types.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { createSimBackends } from '../../../src/backends/sim/index.js';
import { openSim, probeMysql, tempStateDir } from './sim-helpers.js';
import { drive, launchSpare, mysqlCluster, run } from './rebuild-helpers.js';

const FROM = 'sudo -n mariadb-backup --backup --stream=xbstream --slave-info --safe-slave-backup --parallel=4 --datadir=/var/lib/mysql --target-dir=/tmp/nightshift-t1';
const TO = 'sudo -n mbstream -x -C /var/lib/mysql.nightshift-t1';

async function duOf(b: SimBackends, node: Instance, path: string): Promise<number> {
  return Number((await run(b, node, `du -sb -- ${path}`)).stdout.split('\t')[0]);
}

async function setUp(b: SimBackends) {
  const { name, members } = await mysqlCluster(b, 'mariadb', '10');
  const src = members[1]!;
  const target = await launchSpare(b, name, members[0]!.az);
  expect(await run(b, target, 'sudo -n mkdir -p -- /var/lib/mysql.nightshift-t1')).toMatchObject({ code: 0 });
  return { name, members, src, target };
}

describe('SimShell.pipe', () => {
  it('streams the source datadir at 100-150 MB/s with progress, into an unprepared complete image, restarting the SQL thread it stopped', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    const size = await duOf(b, src, '/var/lib/mysql');
    const progress: number[] = [];
    const stderr: string[] = [];
    const t0 = b.clock.now();
    const res = await drive(
      b,
      b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, { onProgress: (n) => progress.push(n), onStderr: (end, chunk) => stderr.push(`${end}:${chunk}`) }),
      2_000,
    );
    expect(res.from).toMatchObject({ code: 0 });
    expect(res.to).toMatchObject({ code: 0 });
    expect(res.bytes).toBe(size);
    expect(progress.length).toBeGreaterThan(20);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
    expect(progress.at(-1)).toBe(size);
    const secs = (b.clock.now() - t0) / 1000;
    expect(size / secs).toBeGreaterThan(90 * 1_048_576);
    expect(size / secs).toBeLessThan(155 * 1_048_576);
    expect(res.from.stderr.trimEnd().split('\n').at(-1)).toMatch(/completed OK!$/);
    expect(stderr.every((s) => s.startsWith('from:'))).toBe(true);
    expect(res.from.stderr).toMatch(/Stopping slave SQL thread\./);
    expect(res.from.stderr).toContain("Backup created in directory '/tmp/nightshift-t1/'");
    expect(b.world.view().mysql[src.id]!.replica!.sql).toBe(true);
    expect(await duOf(b, target, '/var/lib/mysql.nightshift-t1')).toBeGreaterThanOrEqual(size);
    expect((await run(b, target, 'cat -- /var/lib/mysql.nightshift-t1/xtrabackup_checkpoints')).stdout).toMatch(/^backup_type = full-backuped\n/);
    // Nothing of the stream runs on after it.
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 1 });
  });

  it('the target going down mid-way rejects like a dropped ssh connection and leaves a partial staging dir', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    const piping = b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, {});
    piping.catch(() => {});
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setImmediate(r));
      b.world.advance(2_000);
    }
    b.world.inject({ kind: 'kill-node', node: target.id });
    await expect(drive(b, piping, 2_000)).rejects.toMatchObject({ name: 'SshError', code: 'ETIMEDOUT' });
    b.world.heal(target.id);
    const part = await duOf(b, target, '/var/lib/mysql.nightshift-t1');
    expect(part).toBeGreaterThan(1e9);
    expect((await run(b, target, 'ls -A -- /var/lib/mysql.nightshift-t1')).stdout).not.toMatch(/checkpoints/);
    // The source's end was closed with it.
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 1 });
  });

  it('a target disk that fills ends mbstream non-zero with errno 28 and the source with a broken pipe', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    b.world.inject({ kind: 'disk-full', node: target.id });
    const res = await drive(b, b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, {}), 2_000);
    expect(res.to.code).toBe(1);
    expect(res.to.stderr).toMatch(/errno: 28 "No space left on device"/);
    expect(res.from.code).toBe(1);
    expect(res.from.stderr).toMatch(/Broken pipe/);
  });

  it('the signal closes both ends and rejects; the partial dir stays', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    const ac = new AbortController();
    const piping = b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, { signal: ac.signal, onProgress: (n) => n > 2e9 && ac.abort(new Error('operator pressed stop')) });
    await expect(drive(b, piping, 2_000)).rejects.toThrow(/operator pressed stop/);
    expect(await duOf(b, target, '/var/lib/mysql.nightshift-t1')).toBeGreaterThan(2e9);
    // mariadb-backup stopped the SQL thread before the copy; cut off, it never started it again.
    expect((await probeMysql(b, src)).replica).toMatchObject({ ioThread: 'Yes', sqlThread: 'No' });
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 1 });
  });

  it('a backup-fails fault ends the source non-zero with InnoDB\'s I/O error, and mbstream on a cut stream', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    b.world.inject({ kind: 'backup-fails', node: src.id });
    const res = await drive(b, b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, {}), 2_000);
    expect(res.from.code).toBe(1);
    expect(res.from.stderr).toMatch(/InnoDB: Operating system error number 5 in a file operation\./);
    expect(res.to.code).toBe(0);
    expect(res.bytes).toBeGreaterThan(0);
    expect((await run(b, target, 'ls -A -- /var/lib/mysql.nightshift-t1')).stdout).not.toMatch(/checkpoints/);
  });

  it('a source that sends nothing for idleTimeoutMs fails the pipe', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    b.world.inject({ kind: 'io-stuck', node: src.id });
    await expect(drive(b, b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, { idleTimeoutMs: 60_000 }), 2_000)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('either end that cannot run: a missing tool exits 127, a missing staging dir makes mbstream fail', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    const wrong = await drive(b, b.shell.pipe!({ node: src, command: FROM }, { node: target, command: 'sudo -n xbstream -x -C /var/lib/mysql.nightshift-t1' }, {}));
    expect(wrong.to).toMatchObject({ code: 127, stderr: 'sh: 1: xbstream: not found\n' });
    const nodir = await drive(b, b.shell.pipe!({ node: src, command: FROM }, { node: target, command: 'sudo -n mbstream -x -C /var/lib/nothing' }, {}));
    expect(nodir.to.code).toBe(1);
    expect(nodir.to.stderr).toMatch(/Can't change dir to '\/var\/lib\/nothing'/);
    b.world.inject({ kind: 'ssh-refused', node: target.id });
    await expect(b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a pkill of the source ends a running stream: the source by TERM, mbstream on a cut stream', async () => {
    const b = await openSim();
    const { src, target } = await setUp(b);
    const piping = b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, {});
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      b.world.advance(2_000);
    }
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 0 });
    const res = await drive(b, piping, 2_000);
    expect(res.from).toMatchObject({ code: null, signal: 'SIGTERM' });
    // mbstream takes a stream cut between two chunks for a clean end (as the lab saw): only the sender tells.
    expect(res.to.code).toBe(0);
    expect((await run(b, target, 'ls -A -- /var/lib/mysql.nightshift-t1')).stdout).not.toMatch(/checkpoints/);
  });

  it('a stream whose nightshift died leaves its source running until its next write notices (30 s), with the SQL thread as it was; pkill ends it at once', async () => {
    const b = await openSim();
    const { src } = await setUp(b);
    const dead = Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
    const plant = () =>
      b.world.mutate((ws, t) => {
        (ws.procs ??= {})[`${src.id}|4242`] = { node: src.id, pid: 4242, command: FROM, ranBy: `${hostname()}:${dead}`, startedAt: t - 100_000, lastBeat: t, sqlStopped: true };
        ws.mysql[src.id]!.replica!.sql = false;
      });
    plant();
    b.world.advance(10_000);
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 0 });
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 1 });
    // Left alone, it is gone 30 s after its last write; the SQL thread stays stopped.
    plant();
    b.world.advance(31_000);
    expect(await run(b, src, 'sudo -n pkill -f -- [n]ightshift-t1')).toMatchObject({ code: 1 });
    expect((await probeMysql(b, src)).replica?.sqlThread).toBe('No');
  });

  it('a stream on a real clock at x200 runs to its end with the event loop turning', async () => {
    const b = await createSimBackends({ scenario: 'healthy', seed: 3, speed: 200, stateDir: tempStateDir() });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const { name, members } = await mysqlCluster(b, 'mariadb', '10');
      const src = members[1]!;
      const spare = await b.compute!.launch({ launchTemplate: 'lt', az: src.az, tags: { 'nightshift:cluster': name, 'nightshift:spare': 'true' } });
      const target = await b.compute!.waitReady(spare.id);
      expect(await b.shell.exec(target, 'sudo -n mkdir -p -- /var/lib/mysql.nightshift-t1')).toMatchObject({ code: 0 });
      const started = Date.now();
      const t0 = b.clock.now();
      let progress = 0;
      const res = await b.shell.pipe!({ node: src, command: FROM }, { node: target, command: TO }, { onProgress: () => progress++ });
      const realMs = Date.now() - started;
      expect(res.from.code).toBe(0);
      expect(progress).toBeGreaterThan(20);
      expect((b.clock.now() - t0) / realMs).toBeGreaterThan(50);
      expect(ticks).toBeGreaterThan(realMs / 10 / 4);
    } finally {
      clearInterval(timer);
      await b.close();
    }
  }, 60_000);
});
