// The SSH Shell against a real OpenSSH sshd on loopback.

import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { createSshShell, SshError, SshShell, type SshShellOptions } from '../../src/backends/ssh/index.js';
import { OpenSshConfig } from '../../src/backends/ssh/openssh-config.js';
import { defaultOpenSshEnv } from '../../src/backends/ssh/ssh-shell.js';
import { startHungHost, type HungHost } from '../helpers/hung-host.js';
import { describeLab, labConfig, processOwnsLocalPort, useTestLab } from '../helpers/lab.js';

describeLab('ssh shell on the lab sshd', () => {
  const fx = useTestLab();

  /** A shell like the product's, but reading `knownHosts` instead of the lab's known_hosts. */
  function shellWithKnownHosts(knownHosts: string): SshShell {
    return createSshShell(labConfig(fx.lab, { ssh: { knownHosts } }));
  }

  /** A shell on the lab's ssh config with limits the config file does not carry. */
  function labShell(options: Partial<SshShellOptions>): SshShell {
    const sshConfig = OpenSshConfig.load(fx.lab.state.files.sshConfig, defaultOpenSshEnv(), { isExplicit: true });
    return new SshShell({ sshConfig, ...options });
  }

  async function failure(p: Promise<unknown>): Promise<SshError> {
    const err = await p.then(
      () => new Error('expected the command to fail'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshError);
    return err as SshError;
  }

  function fingerprintOfHostKey(): string {
    // ssh-keygen is the independent oracle for the fingerprint format.
    const out = execFileSync('ssh-keygen', ['-lf', `${fx.lab.state.files.hostKey}.pub`], { encoding: 'utf8' });
    return out.split(/\s+/)[1]!;
  }

  it('returns exit code, stdout and stderr; a non-zero exit is a result', async () => {
    const node = fx.instance('m1');
    const ok = await fx.shell.exec(node, 'echo out; echo err >&2; exit 0');
    expect(ok).toEqual({ code: 0, signal: null, stdout: 'out\n', stderr: 'err\n' });
    const failed = await fx.shell.exec(node, 'echo partial; echo "no such thing" >&2; exit 7');
    expect(failed.code).toBe(7);
    expect(failed.stdout).toBe('partial\n');
    expect(failed.stderr).toBe('no such thing\n');
  });

  it('reports a signal that killed the command', async () => {
    const r = await fx.shell.exec(fx.instance('m1'), 'kill -TERM $$');
    expect(r.code).toBeNull();
    expect(r.signal).toBe('SIGTERM');
  });

  it('streams output as it arrives, before the command ends', async () => {
    const chunks: string[] = [];
    let sawFirstBeforeEnd = false;
    const run = fx.shell.exec(fx.instance('m2'), 'echo first; sleep 1; echo second', {
      onStdout: (c) => chunks.push(c),
    });
    await vi.waitFor(() => expect(chunks.join('')).toContain('first'), { timeout: 5_000 });
    sawFirstBeforeEnd = !chunks.join('').includes('second');
    const r = await run;
    expect(sawFirstBeforeEnd).toBe(true);
    expect(r.stdout).toBe('first\nsecond\n');
  });

  it('streams stderr to onStderr', async () => {
    const err: string[] = [];
    await fx.shell.exec(fx.instance('m1'), 'echo warn1 >&2; echo warn2 >&2', { onStderr: (c) => err.push(c) });
    expect(err.join('')).toBe('warn1\nwarn2\n');
  });

  it('times out a command, closes its channel, and the connection stays usable', async () => {
    const node = fx.instance('m1');
    const started = Date.now();
    const err = await fx.shell.exec(node, 'sleep 30', { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('timeout');
    expect((err as SshError).message).toMatch(/timed out after 500 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await fx.shell.exec(node, 'echo still here')).stdout).toBe('still here\n');
  });

  it('aborts a command on the caller signal', async () => {
    const controller = new AbortController();
    const run = fx.shell.exec(fx.instance('m1'), 'sleep 30', { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const err = await run.catch((e: unknown) => e);
    expect((err as SshError).code).toBe('aborted');
  });

  it('runs many commands at once on one pooled connection per host', async () => {
    const node = fx.instance('m3');
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => fx.shell.exec(node, `echo "$SSH_CONNECTION" ${i}`)),
    );
    const connections = new Set(results.map((r) => r.stdout.split(' ').slice(0, 2).join(' ')));
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(connections.size).toBe(1);
    expect(results.map((r) => Number(r.stdout.trim().split(' ').pop()))).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('refuses a host key missing from known_hosts, with its fingerprint and the line to add', async () => {
    const empty = join(fx.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const shell = shellWithKnownHosts(empty);
    try {
      const err = await shell.exec(fx.instance('m1'), 'echo should-not-run').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshError);
      expect((err as SshError).code).toBe('host-key-unknown');
      const msg = (err as SshError).message;
      expect(msg).toContain(fingerprintOfHostKey());
      const hostPub = readFileSync(`${fx.lab.state.files.hostKey}.pub`, 'utf8').split(/\s+/);
      expect(msg).toContain(`[${fx.lab.node('m1').ip}]:${fx.lab.state.sshPort} ${hostPub[0]} ${hostPub[1]}`);
      expect(msg).toContain(empty);
    } finally {
      await shell.close();
    }
  });

  it('refuses a changed host key and says how to remove the old one', async () => {
    const other = join(fx.dir, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const pub = readFileSync(`${other}.pub`, 'utf8').split(/\s+/);
    const name = `[${fx.lab.node('m1').ip}]:${fx.lab.state.sshPort}`;
    const file = join(fx.dir, 'changed_known_hosts');
    writeFileSync(file, `${name} ${pub[0]} ${pub[1]}\n`);
    const shell = shellWithKnownHosts(file);
    try {
      const err = await shell.exec(fx.instance('m1'), 'echo should-not-run').catch((e: unknown) => e);
      expect((err as SshError).code).toBe('host-key-changed');
      expect((err as SshError).message).toContain(fingerprintOfHostKey());
      expect((err as SshError).message).toContain(`ssh-keygen -R '${name}' -f ${file}`);
      expect((err as SshError).message).toContain(`${file}:1`);
    } finally {
      await shell.close();
    }
  });

  it('accepts the key from a hashed known_hosts (ssh-keygen -H)', async () => {
    const hashed = join(fx.dir, 'hashed_known_hosts');
    copyFileSync(fx.lab.state.files.knownHosts, hashed);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    expect(readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/);
    const shell = shellWithKnownHosts(hashed);
    try {
      expect((await shell.exec(fx.instance('m2'), 'echo hashed-ok')).stdout).toBe('hashed-ok\n');
    } finally {
      await shell.close();
    }
  });

  it('jumps through the lab sshd to another node (ProxyJump with forwardOut)', async () => {
    const m1 = fx.lab.node('m1');
    const jump = `${fx.lab.state.user}@${m1.ip}:${fx.lab.state.sshPort}`;
    const shell = createSshShell(labConfig(fx.lab, { ssh: { jump } }));
    try {
      const node = fx.instance('m2');
      const r = await shell.exec(node, 'echo "$SSH_CONNECTION"; mysql --batch --skip-column-names -e "SELECT @@server_id"');
      expect(r.code).toBe(0);
      const [, clientPort, serverIp] = r.stdout.split('\n')[0]!.split(' ');
      expect(serverIp).toBe(fx.lab.node('m2').ip);
      expect(r.stdout.split('\n')[1]).toBe('2');
      // The TCP connection to m2 belongs to the jump host's sshd, not to this process.
      expect(processOwnsLocalPort(Number(clientPort))).toBe(false);
      expect(shell.connectedHops()).toContain(`${jump} > ${fx.lab.state.user}@${fx.lab.node('m2').ip}:${fx.lab.state.sshPort}`);
      expect(shell.loginCommand(node)).toContain(`-J ${jump}`);
      // And the direct shell really is direct: the same check must be able to say true.
      const direct = await fx.shell.exec(node, 'echo "$SSH_CONNECTION"');
      expect(processOwnsLocalPort(Number(direct.stdout.split(' ')[1]))).toBe(true);
    } finally {
      await shell.close();
    }
  });

  it('fails through a jump host that is down, naming the jump host', async () => {
    const jump = `${fx.lab.state.user}@127.0.0.1:1`;
    const shell = createSshShell(labConfig(fx.lab, { ssh: { jump } }));
    try {
      const err = await shell.exec(fx.instance('m2'), 'true', { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshError);
      expect((err as SshError).code).toBe('connect');
      expect((err as SshError).message).toContain('127.0.0.1:1');
    } finally {
      await shell.close();
    }
  });

  it('refuses when no key is accepted (auth), naming what it tried', async () => {
    const stranger = join(fx.dir, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const cfg = join(fx.dir, 'stranger_ssh_config');
    writeFileSync(cfg, `Host *\n  IdentityFile ${stranger}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${fx.lab.state.files.knownHosts}\n`);
    const shell = new SshShell({ sshConfig: OpenSshConfig.load(cfg, defaultOpenSshEnv()), connectAttempts: 1 });
    try {
      const err = await shell.exec(fx.instance('m1'), 'true').catch((e: unknown) => e);
      expect((err as SshError).code).toBe('auth');
      expect((err as SshError).message).toContain(stranger);
    } finally {
      await shell.close();
    }
  });

  it('reconnects after the connection drops', async () => {
    const node = fx.instance('m3');
    const first = await fx.shell.exec(node, 'echo "$SSH_CONNECTION"');
    // Kill this connection's sshd session process from inside it: the connection dies.
    await fx.shell.exec(node, 'kill -KILL $PPID').catch(() => undefined);
    const again = await fx.shell.exec(node, 'echo "$SSH_CONNECTION"');
    expect(again.code).toBe(0);
    expect(again.stdout.split(' ')[1]).not.toBe(first.stdout.split(' ')[1]);
  });

  it('hosts that do not answer hold no exec slot: the healthy sshd answers while they hang', async () => {
    const user = fx.lab.state.user;
    const hung: HungHost[] = [];
    for (let i = 0; i < 3; i++) hung.push(await startHungHost());
    // Fewer exec slots than hung hosts: a hung connect that held one would starve m1.
    const shell = labShell({ concurrency: 2, connectTimeoutMs: 5_000 });
    try {
      let settled = 0;
      const pending = hung.map((h, i) => {
        const p = failure(shell.exec(h.instance(`hung-${i}`, user), 'true', { timeoutMs: 15_000 }));
        void p.then(() => settled++, () => settled++);
        return p;
      });
      // At least as many hung connects in flight as there are exec slots.
      await vi.waitFor(() => expect(hung.filter((h) => h.accepted === 1).length).toBeGreaterThanOrEqual(2));
      const started = Date.now();
      const cold = await shell.exec(fx.instance('m1'), 'echo cold', { timeoutMs: 4_000 });
      const warm = await Promise.all([1, 2, 3, 4].map((i) => shell.exec(fx.instance('m1'), `echo ${i}`, { timeoutMs: 4_000 })));
      const healthyMs = Date.now() - started;
      expect(cold.stdout).toBe('cold\n');
      expect(warm.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n', '4\n']);
      expect(settled).toBe(0);
      expect(healthyMs).toBeLessThan(2_500);
      for (const err of await Promise.all(pending)) expect(err.code).toBe('timeout');
      expect(hung.map((h) => h.accepted)).toEqual([1, 1, 1]);
    } finally {
      await shell.close();
      for (const h of hung) await h.close();
    }
  });

  it('a host whose connect failed fails at once during its backoff, naming it and the next attempt; then it is tried again', async () => {
    const user = fx.lab.state.user;
    const h = await startHungHost();
    const node = h.instance('db-hung', user);
    const shell = labShell({ connectTimeoutMs: 2_000, backoffBaseMs: 4_000 });
    try {
      const first = await failure(shell.exec(node, 'true', { timeoutMs: 15_000 }));
      expect(first.code).toBe('timeout');
      expect(h.accepted).toBe(1);

      const started = Date.now();
      const fast = await failure(shell.exec(node, 'true', { timeoutMs: 15_000 }));
      expect(Date.now() - started).toBeLessThan(500);
      expect(fast.code).toBe('connect');
      const label = `${user}@127.0.0.1:${h.port}`;
      expect(fast.message.startsWith(`db-hung (${label}): not reachable: no ssh handshake within 2 s`)).toBe(true);
      expect(fast.message).toMatch(/; failed once, next attempt in [0-9.]+ m?s$/);
      expect(h.accepted).toBe(1);
      expect((await shell.exec(fx.instance('m2'), 'echo fine', { timeoutMs: 4_000 })).stdout).toBe('fine\n');

      // Each try fails at once until the backoff is over; then one makes a new attempt.
      await vi.waitFor(
        async () => {
          await shell.exec(node, 'true', { timeoutMs: 15_000 }).catch(() => undefined);
          expect(h.accepted).toBe(2);
        },
        { timeout: 20_000, interval: 200 },
      );
      const after = await failure(shell.exec(node, 'true', { timeoutMs: 15_000 }));
      expect(after.message).toContain('failed 2 times in a row, next attempt in');
    } finally {
      await shell.close();
      await h.close();
    }
  });

  it('behind a jump host, a target that does not answer holds up neither the jump connection nor the other targets', async () => {
    const user = fx.lab.state.user;
    const h = await startHungHost();
    const jump = `${user}@${fx.lab.node('m1').ip}:${fx.lab.state.sshPort}`;
    const shell = labShell({ jump, concurrency: 1, connectTimeoutMs: 5_000, backoffBaseMs: 60_000 });
    try {
      const hung = failure(shell.exec(h.instance('db-hung', user), 'true', { timeoutMs: 15_000 }));
      // The jump host's sshd took the connection to it on our behalf.
      await vi.waitFor(() => expect(h.accepted).toBe(1));
      const started = Date.now();
      const r = await shell.exec(fx.instance('m2'), 'echo "$SSH_CONNECTION"', { timeoutMs: 4_000 });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(r.stdout.split(' ')[2]).toBe(fx.lab.node('m2').ip);

      expect((await hung).code).toBe('timeout');
      const again = Date.now();
      const fast = await failure(shell.exec(h.instance('db-hung', user), 'true', { timeoutMs: 15_000 }));
      expect(Date.now() - again).toBeLessThan(500);
      expect(fast.code).toBe('connect');
      expect(fast.message).toContain(`db-hung (${user}@127.0.0.1:${h.port}): not reachable`);
      expect(h.accepted).toBe(1);
      expect(shell.connectedHops()).toContain(jump);
    } finally {
      await shell.close();
      await h.close();
    }
  });

  it('gives the exact ssh command to open a shell there', () => {
    const cmd = fx.shell.loginCommand(fx.instance('m2'));
    expect(cmd).toBe(
      `ssh -F ${fx.lab.state.files.sshConfig} -p ${fx.lab.state.sshPort} ${fx.lab.state.user}@${fx.lab.node('m2').ip}`,
    );
    // The engineer's OpenSSH, given that exact command, gets in.
    const out = execFileSync('sh', ['-c', `${cmd.replace(/^ssh /, 'ssh -o BatchMode=yes ')} echo via-openssh`], { encoding: 'utf8' });
    expect(out).toBe('via-openssh\n');
  });
});
