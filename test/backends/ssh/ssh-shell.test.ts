// What the shell decides before it touches the network: hop chains, the
// login command an engineer pastes, and --read-only refusals.

import { describe, expect, it } from 'vitest';
import { OpenSshConfig } from '../../../src/backends/ssh/openssh-config.js';
import { Semaphore } from '../../../src/backends/ssh/semaphore.js';
import { SshShell } from '../../../src/backends/ssh/ssh-shell.js';
import type { Instance } from '../../../src/domain/types.js';
import { ReadOnlyError } from '../../../src/errors.js';

const env = { home: '/home/ana', localUser: 'ana' };
const sshConfig = OpenSshConfig.fromText(
  'Host bastion\n  HostName 203.0.113.10\n  User ops\nHost 10.1.*\n  ProxyJump bastion\n',
  env,
);

function node(over: Partial<Instance> = {}): Instance {
  return {
    id: 'i-1', name: 'db-a1', privateIp: '10.1.0.5', az: 'eu-west-1a', type: 't3.large', state: 'running',
    launchTime: '2026-01-01T00:00:00Z', statusChecks: 'ok', tags: {}, ...over,
  };
}

describe('SshShell without a network', () => {
  it('jumps through the bastion the ssh config names, and says so in the login command', () => {
    const shell = new SshShell({ sshConfig, env, user: 'ec2-user' });
    expect(shell.resolveChain(node()).map((h) => `${h.user}@${h.hostName}:${h.port}`)).toEqual([
      'ops@203.0.113.10:22',
      'ec2-user@10.1.0.5:22',
    ]);
    expect(shell.loginCommand(node())).toBe('ssh -J bastion ec2-user@10.1.0.5');
  });

  it('lets ssh.jump override ProxyJump, and prints -F, -p and the node user', () => {
    const shell = new SshShell({ sshConfig, env, jump: 'me@jump.example:2200', loginConfigFile: '/etc/ns/ssh config' });
    const n = node({ ssh: { host: 'db-a1.internal', port: 2222, user: 'admin' } });
    expect(shell.resolveChain(n).map((h) => `${h.user}@${h.hostName}:${h.port}`)).toEqual([
      'me@jump.example:2200',
      'admin@db-a1.internal:2222',
    ]);
    expect(shell.loginCommand(n)).toBe("ssh -F '/etc/ns/ssh config' -J me@jump.example:2200 -p 2222 admin@db-a1.internal");
  });

  it('connects straight to a node outside the jump pattern', () => {
    const shell = new SshShell({ sshConfig, env });
    expect(shell.loginCommand(node({ privateIp: '192.168.1.9' }))).toBe('ssh ana@192.168.1.9');
  });

  it('under --read-only refuses a pipe (it always changes something), before connecting', async () => {
    const shell = new SshShell({ sshConfig, env, readOnly: true });
    const err = await shell.pipe({ node: node(), command: 'mariadb-backup --backup --stream=xbstream' }, { node: node({ name: 'db-a2' }), command: 'mbstream -x -C /x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadOnlyError);
    expect((err as Error).message).toMatch(/piping "mariadb-backup --backup --stream=xbstream" on db-a1 into "mbstream -x -C \/x" on db-a2/);
    expect(shell.connectedHops()).toEqual([]);
  });

  it('under --read-only refuses a command not declared read-only, before connecting', async () => {
    const shell = new SshShell({ sshConfig, env, readOnly: true });
    await expect(shell.exec(node(), 'STOP SLAVE')).rejects.toBeInstanceOf(ReadOnlyError);
    await shell.close();
  });
});

describe('Semaphore', () => {
  it('queues past the limit in order, and an aborted waiter gives up its place', async () => {
    const s = new Semaphore(1);
    const release1 = await s.acquire();
    const order: string[] = [];
    const controller = new AbortController();
    const b = s.acquire(controller.signal).then((r) => (order.push('b'), r));
    const c = s.acquire().then((r) => (order.push('c'), r));
    controller.abort(new Error('gave up'));
    await expect(b).rejects.toThrow('gave up');
    release1();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    expect(s.inUse).toBe(1);
    releaseC();
    expect(s.inUse).toBe(0);
  });
});
