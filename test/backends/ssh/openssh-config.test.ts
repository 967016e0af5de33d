import { describe, expect, it } from 'vitest';
import { OpenSshConfig, parseJumpSpec, expandTokens } from '../../../src/backends/ssh/openssh-config.js';
import { SshError } from '../../../src/backends/ssh/ssh-error.js';

const env = { home: '/home/ana', localUser: 'ana' };
const config = OpenSshConfig.fromText(
  `
Host bastion
  HostName 203.0.113.10
  User ops
  Port 2222
  IdentityFile ~/.ssh/bastion_ed25519

Host db-* !db-legacy
  ProxyJump bastion
  User ec2-user
  IdentityFile ~/.ssh/fleet_%h
  IdentitiesOnly yes
  UserKnownHostsFile ~/.ssh/known_hosts.fleet

Host db-legacy
  ProxyJump none
  HostKeyAlias legacy-db

Host *
  User fallback
  Port 22
  IdentityFile ~/.ssh/id_ed25519
  ConnectTimeout 4
`,
  env,
);

describe('ssh config resolution', () => {
  it('applies the first value per key, in file order, with Host patterns', () => {
    const hop = config.resolve({ host: 'db-a1' });
    expect(hop).toMatchObject({
      alias: 'db-a1',
      hostName: 'db-a1',
      port: 22,
      user: 'ec2-user',
      identitiesOnly: true,
      proxyJump: 'bastion',
      knownHostsFiles: ['/home/ana/.ssh/known_hosts.fleet'],
      connectTimeoutSeconds: 4,
    });
    expect(hop.identityFiles).toEqual(['/home/ana/.ssh/fleet_db-a1', '/home/ana/.ssh/id_ed25519']);
  });

  it('honours negated patterns and ProxyJump none', () => {
    const hop = config.resolve({ host: 'db-legacy' });
    expect(hop.proxyJump).toBeUndefined();
    expect(hop.user).toBe('fallback');
    expect(hop.hostKeyAlias).toBe('legacy-db');
  });

  it('resolves HostName, User and Port for the bastion itself', () => {
    expect(config.resolve({ host: 'bastion' })).toMatchObject({ hostName: '203.0.113.10', user: 'ops', port: 2222 });
  });

  it('lets an explicit user and port win, like -l and -p', () => {
    expect(config.resolve({ host: 'bastion', user: 'me', port: 22 })).toMatchObject({ user: 'me', port: 22 });
    expect(config.resolve({ host: 'elsewhere' }, { user: 'cfg-user' }).user).toBe('cfg-user');
  });

  it('falls back to the local user and port 22 with no config at all', () => {
    const none = OpenSshConfig.load(undefined, env);
    expect(none.resolve({ host: '10.0.0.5' })).toMatchObject({ hostName: '10.0.0.5', user: 'ana', port: 22, identityFiles: [] });
  });

  it('refuses a missing explicit config file', () => {
    expect(() => OpenSshConfig.load('/nonexistent/ssh_config', env, { isExplicit: true })).toThrow(SshError);
  });

  it('expands ~ and %-tokens', () => {
    expect(expandTokens('~/.ssh/%r@%h:%p-%u-%%', { ...env, host: 'h', user: 'r', port: 2200 })).toBe('/home/ana/.ssh/r@h:2200-ana-%');
  });

  it('parses ProxyJump specs: user, port, IPv6, ssh:// and lists', () => {
    expect(parseJumpSpec('ops@bastion:2222,inner')).toEqual([{ host: 'bastion', user: 'ops', port: 2222 }, { host: 'inner' }]);
    expect(parseJumpSpec('ssh://me@[2001:db8::1]:22')).toEqual([{ host: '2001:db8::1', user: 'me', port: 22 }]);
    expect(() => parseJumpSpec('a@b@c')).toThrow(/not \[user@\]host\[:port\]/);
  });
});
