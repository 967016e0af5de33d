import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  describeRefusal,
  entryMatches,
  fingerprintSha256,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../../../src/backends/ssh/known-hosts.js';

// Made with ssh-keygen (key, `ssh-keygen -lf`, and `ssh-keygen -H` on two plain lines).
const KEY_B64 = 'AAAAC3NzaC1lZDI1NTE5AAAAIFlSZjjK5X30lpF2Z3saRT4DKgJzB3T9QSq90b+loPM/';
const KEY = Buffer.from(KEY_B64, 'base64');
const KEY_FINGERPRINT = 'SHA256:Vwiz2T8eF0QzyEkD1vvkPiEgXDQbSxladMLTGv1gRkw';
const HASHED = [
  `|1|b7h6IWiwaSGC5AW5eMTNRX0ZeSQ=|PuGg3mCOBtF51SoDQxH8XQYd6XE= ssh-ed25519 ${KEY_B64}`, // [db-1.example]:2222
  `|1|55Gw0iZ4MfPbKgi8+CcBPZ3lbNY=|HWJJhnz0Huy2b01RE3Z1a875dD4= ssh-ed25519 ${KEY_B64}`, // db-2.example
].join('\n');
// Another ed25519 key (a rebuilt host), built by hand: type string + 32 bytes.
const OTHER = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]);

describe('known_hosts', () => {
  it('computes the fingerprint exactly as ssh-keygen prints it, and reads the key type', () => {
    expect(fingerprintSha256(KEY)).toBe(KEY_FINGERPRINT);
    expect(keyTypeOf(KEY)).toBe('ssh-ed25519');
  });

  it('names non-22 ports in brackets', () => {
    expect(knownHostsName('db-1', 22)).toBe('db-1');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches hashed entries written by ssh-keygen -H, including [host]:port', () => {
    const entries = parseKnownHosts(HASHED, '/kh');
    expect(entries.map((e) => e.hosts.kind)).toEqual(['hashed', 'hashed']);
    expect(entryMatches(entries[0]!, '[db-1.example]:2222')).toBe(true);
    expect(entryMatches(entries[0]!, 'db-1.example')).toBe(false);
    expect(entryMatches(entries[1]!, 'db-2.example')).toBe(true);
    expect(checkHostKey(entries, '[db-1.example]:2222', KEY).status).toBe('ok');
  });

  it('matches plain patterns: lists, wildcards, negation, brackets', () => {
    const [e] = parseKnownHosts(`db-*.prod,!db-9.prod,[10.0.0.?]:2222 ssh-ed25519 ${KEY_B64}`, '/kh');
    expect(entryMatches(e!, 'db-1.prod')).toBe(true);
    expect(entryMatches(e!, 'DB-1.PROD')).toBe(true);
    expect(entryMatches(e!, 'db-9.prod')).toBe(false);
    expect(entryMatches(e!, '[10.0.0.7]:2222')).toBe(true);
    expect(entryMatches(e!, '10.0.0.7')).toBe(false);
    expect(entryMatches(e!, 'db-1.prodx')).toBe(false);
  });

  it('skips comments, blank and malformed lines, keeping line numbers', () => {
    const entries = parseKnownHosts(`# comment\n\nbroken-line\nhost ssh-ed25519 ${KEY_B64}\n`, '/kh');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.line).toBe(4);
  });

  it('says changed when a different key of the same type is known, naming file and line', () => {
    const entries = parseKnownHosts(`# x\nhost ssh-ed25519 ${OTHER.toString('base64')}\n`, '/home/me/.ssh/known_hosts');
    const verdict = checkHostKey(entries, 'host', KEY);
    expect(verdict.status).toBe('changed');
    if (verdict.status === 'ok') throw new Error('unreachable');
    const r = describeRefusal(verdict, 'host', KEY, '/home/me/.ssh/known_hosts');
    expect(r.code).toBe('host-key-changed');
    expect(r.message).toContain(KEY_FINGERPRINT);
    expect(r.message).toContain(`${fingerprintSha256(OTHER)} (/home/me/.ssh/known_hosts:2)`);
    expect(r.message).toContain('ssh-keygen -R host -f /home/me/.ssh/known_hosts');
    expect(r.message).toContain(`host ssh-ed25519 ${KEY_B64}`);
  });

  it('says unknown (with the line to add) when nothing matches, noting keys of other types', () => {
    const rsaOnly = parseKnownHosts('[h]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n', '/kh');
    const verdict = checkHostKey(rsaOnly, '[h]:2222', KEY);
    expect(verdict.status).toBe('unknown');
    if (verdict.status === 'ok') throw new Error('unreachable');
    const r = describeRefusal(verdict, '[h]:2222', KEY, '/kh');
    expect(r.code).toBe('host-key-unknown');
    expect(r.message).toContain('only ssh-rsa keys');
    expect(r.message).toContain(`add this line to /kh:\n[h]:2222 ssh-ed25519 ${KEY_B64}`);
    expect(checkHostKey([], 'h', KEY).status).toBe('unknown');
  });

  it('refuses a @revoked key even when another line lists it as good', () => {
    const entries = parseKnownHosts(`host ssh-ed25519 ${KEY_B64}\n@revoked * ssh-ed25519 ${KEY_B64}\n`, '/kh');
    expect(checkHostKey(entries, 'host', KEY).status).toBe('revoked');
  });

  it('ignores @cert-authority lines for plain key checks', () => {
    const entries = parseKnownHosts(`@cert-authority * ssh-ed25519 ${KEY_B64}\n`, '/kh');
    expect(checkHostKey(entries, 'host', KEY).status).toBe('unknown');
  });

  it('offers the algorithms of known keys first, as OpenSSH does', () => {
    const entries = parseKnownHosts('h ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n', '/kh');
    expect(preferredHostKeyAlgorithms(entries, 'h').slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms(entries, 'other')[0]).toBe('ssh-ed25519');
  });
});
