// SshShell.pipe against the lab's real sshd: one command's stdout relayed
// into another's stdin on a second node, through nightshift's own two
// channels. Loopback only; the remote processes are local processes, so
// pgrep sees whether an end really stopped.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { createSshShell, SshError } from '../../src/backends/ssh/index.js';
import { PROGRESS_INTERVAL_MS } from '../../src/backends/ssh/pipe.js';
import { shellQuote } from '../../src/backends/engines/shell-quote.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

const MB = 1024 * 1024;

/** Pids of live processes whose command line holds `marker` (pgrep exits 1 when none). */
function pids(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', '--', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function sha256File(file: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

async function rejection(p: Promise<unknown>): Promise<SshError> {
  const err = await p.then(
    () => new Error('expected the pipe to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SshError);
  return err as SshError;
}

describeLab('ssh pipe between two lab nodes', () => {
  const fx = useTestLab();
  const marker = () => `nsmark-${randomBytes(6).toString('hex')}`;

  it('relays 200 MB of random bytes from m1 to m2 unchanged, with throttled progress', { timeout: 180_000 }, async () => {
    const src = join(fx.dir, 'random.bin');
    const dst = join(fx.dir, 'received.bin');
    // Random bytes: every byte value, invalid UTF-8 everywhere; a decode anywhere would change the hash.
    execFileSync('sh', ['-c', `head -c ${200 * MB} /dev/urandom > ${shellQuote(src)}`]);
    const progress: Array<{ at: number; bytes: number }> = [];
    const started = Date.now();
    const r = await fx.shell.pipe(
      { node: fx.instance('m1'), command: `cat -- ${shellQuote(src)}` },
      { node: fx.instance('m2'), command: `cat > ${shellQuote(dst)} && sha256sum < ${shellQuote(dst)}` },
      { onProgress: (bytes) => progress.push({ at: Date.now(), bytes }), idleTimeoutMs: 30_000 },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(r.from).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
    expect(r.to.code).toBe(0);
    expect(r.bytes).toBe(200 * MB);
    const want = await sha256File(src);
    expect(r.to.stdout.split(/\s/)[0]).toBe(want);
    expect(await sha256File(dst)).toBe(want);
    // Progress: rising, ending on the total, and never more often than the interval (the last one excepted).
    expect(progress.at(-1)!.bytes).toBe(200 * MB);
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytes).toBeGreaterThan(progress[i - 1]!.bytes);
    for (let i = 1; i < progress.length - 1; i++) expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_MS - 1);
    console.log(`pipe: 200 MB m1 -> m2 in ${seconds.toFixed(1)} s (${(200 / seconds).toFixed(0)} MB/s), ${progress.length} progress calls`);
  });

  it('a receiver that exits early: the sender gets EPIPE, the pipe resolves with both exit codes', async () => {
    const errFile = join(fx.dir, 'sender.err');
    // SIGPIPE ignored (inherited by dd), so the write fails with EPIPE instead of killing it; 42 says the loop saw the failure.
    const sender = `trap '' PIPE; while :; do dd if=/dev/zero bs=64k count=16 2>>${shellQuote(errFile)} || exit 42; done`;
    const r = await fx.shell.pipe(
      { node: fx.instance('m1'), command: `sh -c ${shellQuote(sender)}` },
      { node: fx.instance('m2'), command: 'head -c 100000 >/dev/null; echo took-enough; exit 3' },
      { idleTimeoutMs: 30_000 },
    );
    expect(r.to).toEqual({ code: 3, signal: null, stdout: 'took-enough\n', stderr: '' });
    expect(r.from.code).toBe(42);
    expect(r.bytes).toBeGreaterThanOrEqual(100_000);
    expect(execFileSync('cat', [errFile], { encoding: 'utf8' })).toMatch(/Broken pipe/);
  });

  it('abort mid-way closes both channels and both remote processes end', async () => {
    const m = marker();
    const controller = new AbortController();
    let seen = 0;
    const run = fx.shell.pipe(
      { node: fx.instance('m1'), command: `yes ${m}-from` },
      { node: fx.instance('m2'), command: `sh -c 'cat >/dev/null; :' ${m}-to` },
      { signal: controller.signal, onProgress: (b) => (seen = b) },
    );
    await vi.waitFor(() => expect(seen).toBeGreaterThan(4 * MB), { timeout: 30_000 });
    expect(pids(`${m}-from`)).toHaveLength(1);
    expect(pids(`${m}-to`)).toHaveLength(1);
    controller.abort(new Error('operator pressed q'));
    const err = await rejection(run);
    expect(err.code).toBe('aborted');
    expect(err.message).toMatch(/m1 to m2 was cancelled \(operator pressed q\)/);
    await vi.waitFor(() => expect([...pids(`${m}-from`), ...pids(`${m}-to`)]).toEqual([]), { timeout: 10_000 });
    // The connections stay usable.
    expect((await fx.shell.exec(fx.instance('m1'), 'echo ok')).stdout).toBe('ok\n');
  });

  it('no byte for idleTimeoutMs: both ends closed, a timeout naming the sender', async () => {
    const m = marker();
    const started = Date.now();
    const err = await rejection(
      fx.shell.pipe(
        // Silent past the idle timeout, then writing again: the login shell's command line carries the marker.
        { node: fx.instance('m1'), command: `printf head; sleep 3; exec yes ${m}` },
        { node: fx.instance('m2'), command: 'cat >/dev/null' },
        { idleTimeoutMs: 800 },
      ),
    );
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/relayed no byte for 800 ms \(after 4 bytes\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The channel is closed: once the sender writes again it gets EPIPE and ends. (sshd
    // refuses the TERM nightshift also sends when the login is root, as the lab's may be.)
    expect(pids(m)).toHaveLength(1);
    await vi.waitFor(() => expect(pids(m)).toEqual([]), { timeout: 10_000 });
  });

  it('a dropped connection rejects, and the other end is closed', async () => {
    const m = marker();
    let seen = 0;
    const run = fx.shell.pipe(
      { node: fx.instance('m3'), command: `yes ${m}-from` },
      { node: fx.instance('m2'), command: `sh -c 'cat >/dev/null; :' ${m}-to` },
      { onProgress: (b) => (seen = b) },
    );
    await vi.waitFor(() => expect(seen).toBeGreaterThan(MB), { timeout: 30_000 });
    // The sshd process serving m3's connection, killed from a channel of that same connection.
    await fx.shell.exec(fx.instance('m3'), 'kill -KILL $PPID').catch(() => undefined);
    const err = await rejection(run);
    expect(err.code).toBe('disconnected');
    expect(err.message).toMatch(/^m3: /);
    await vi.waitFor(() => expect([...pids(`${m}-from`), ...pids(`${m}-to`)]).toEqual([]), { timeout: 10_000 });
  });

  it('a receiver that cannot be reached: the sender never runs', async () => {
    const m = marker();
    const m2 = fx.instance('m2');
    // Nothing listens on port 1: refused at once, as a host whose sshd is down.
    const down = { ...m2, ssh: { ...m2.ssh!, port: 1 } };
    const err = await rejection(fx.shell.pipe({ node: fx.instance('m1'), command: `yes ${m}` }, { node: down, command: 'cat >/dev/null' }));
    expect(err.code).toBe('connect');
    expect(pids(m)).toEqual([]);
  });

  it('is refused under --read-only, before anything runs', async () => {
    const m = marker();
    const readOnly = createSshShell({ ...fx.config, readOnly: true });
    try {
      await expect(readOnly.pipe({ node: fx.instance('m1'), command: `yes ${m}` }, { node: fx.instance('m2'), command: 'cat >/dev/null' })).rejects.toThrow(
        /read-only.*piping "yes nsmark-|piping "yes nsmark-.*read-only/i,
      );
    } finally {
      await readOnly.close();
    }
    expect(pids(m)).toEqual([]);
  });
});
