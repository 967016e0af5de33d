// known_hosts, read the way OpenSSH reads it: plain host patterns (with `*`,
// `?` and `!` negation, `[host]:port` for non-22 ports), hashed `|1|salt|hash`
// entries, and the @revoked marker. The verdict is a value; the SSH layer
// turns anything but a match into a refusal with the fingerprint and the fix.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns, or a hashed name. */
  hosts: { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hostField, keyType, keyBase64] = fields;
    // A malformed line is skipped, as OpenSSH does; it can only fail to match.
    if (!hostField || !keyType || !keyBase64) return;
    const key = Buffer.from(keyBase64, 'base64');
    if (key.length === 0) return;
    let hosts: KnownHostEntry['hosts'];
    if (hostField.startsWith('|1|')) {
      const [, , salt, hash] = hostField.split('|');
      if (!salt || !hash) return;
      hosts = { kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      hosts = { kind: 'patterns', patterns: hostField.split(',') };
    }
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key });
  });
  return entries;
}

/** The name known_hosts files use: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Does this entry name `name` (already in `[host]:port` form where needed)? */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hosts.kind === 'hashed') {
    const mac = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return mac.length === entry.hosts.hash.length && timingSafeEqual(mac, entry.hosts.hash);
  }
  let matched = false;
  for (const pattern of entry.hosts.patterns) {
    const negated = pattern.startsWith('!');
    const re = globToRegExp(negated ? pattern.slice(1) : pattern);
    if (re.test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** The algorithm name inside an SSH wire-format public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len <= 0 || len > 64 || 4 + len > blob.length) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:…` exactly as `ssh-keygen -lf` and OpenSSH's prompts print it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; entries: KnownHostEntry[] }
  /** `otherTypes`: keys of other types that are known for the name (the server offered a new type). */
  | { status: 'unknown'; otherTypes: KnownHostEntry[] };

export function checkHostKey(entries: KnownHostEntry[], name: string, blob: Buffer): HostKeyVerdict {
  const type = keyTypeOf(blob);
  const matching = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  const revoked = matching.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(blob));
  if (same) return { status: 'ok', entry: same };
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: 'changed', entries: sameType };
  return { status: 'unknown', otherTypes: plain };
}

const RSA_ALGORITHMS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
/** ssh2's own default order (protocol/constants.js), restated because it is not exported. */
export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  ...RSA_ALGORITHMS,
];

/**
 * Host key algorithms with the ones we already hold a key for first, as
 * OpenSSH orders them; otherwise a server with both an RSA and an Ed25519
 * key, known here by its RSA key, would be refused as unknown.
 */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], name: string): string[] {
  const known = new Set<string>();
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatches(e, name)) continue;
    for (const algo of e.keyType === 'ssh-rsa' ? RSA_ALGORITHMS : [e.keyType]) known.add(algo);
  }
  const first = DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => known.has(a));
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !known.has(a))];
}

/** The sentence that refuses a key, with the fingerprint and the exact fix. */
export function describeRefusal(
  verdict: Exclude<HostKeyVerdict, { status: 'ok' }>,
  name: string,
  blob: Buffer,
  knownHostsFile: string,
): { code: 'host-key-unknown' | 'host-key-changed' | 'host-key-revoked'; message: string } {
  const offered = `${keyTypeOf(blob)} ${fingerprintSha256(blob)}`;
  const line = knownHostsLine(name, blob);
  switch (verdict.status) {
    case 'revoked':
      return {
        code: 'host-key-revoked',
        message:
          `host key of ${name} is REVOKED (refused): the server offered ${offered}, ` +
          `marked @revoked at ${verdict.entry.file}:${verdict.entry.line}. Do not connect; ask who runs the host.`,
      };
    case 'changed': {
      const was = verdict.entries.map((e) => `${fingerprintSha256(e.key)} (${e.file}:${e.line})`).join(', ');
      const file = verdict.entries[0]!.file;
      return {
        code: 'host-key-changed',
        message:
          `host key of ${name} has CHANGED (refused): the server offered ${offered}, known_hosts holds ${was}. ` +
          `Someone may be intercepting the connection, or the host was rebuilt. ` +
          `Only if you know it was rebuilt and the new fingerprint is right: ` +
          `ssh-keygen -R ${shellWord(name)} -f ${shellWord(file)} and add this line to ${file}:\n${line}`,
      };
    }
    case 'unknown': {
      const other =
        verdict.otherTypes.length > 0
          ? ` (known_hosts holds only ${[...new Set(verdict.otherTypes.map((e) => e.keyType))].join(', ')} keys for it)`
          : '';
      return {
        code: 'host-key-unknown',
        message:
          `host key of ${name} is not known (refused): the server offered ${offered}${other}. ` +
          `Check that fingerprint against the host (ssh-keygen -lf /etc/ssh/ssh_host_${keyFileStem(blob)}_key.pub there), ` +
          `then add this line to ${knownHostsFile}:\n${line}`,
      };
    }
  }
}

function keyFileStem(blob: Buffer): string {
  const type = keyTypeOf(blob);
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type.startsWith('ecdsa')) return 'ecdsa';
  if (type === 'ssh-rsa') return 'rsa';
  return '*';
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
