// Who we are on the far side: the agent first (SSH_AUTH_SOCK), then the
// identity files, as `ssh` tries them. An encrypted key's passphrase is asked
// through the injected callback (the TUI's prompt), used once to decrypt, and
// dropped; only the decrypted key object stays in memory for the session, so
// fifty hosts do not mean fifty prompts. Nothing here logs key material.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// ssh2 is CommonJS: Node's ESM loader only gives its default export.
import ssh2, { type AuthenticationType, type AuthHandlerMiddleware, type NextAuthHandler, type ParsedKey } from 'ssh2';
import type { ResolvedHop } from './openssh-config.js';

/** Asks the engineer for the passphrase of `keyPath`; undefined = skip this key. */
export type AskPassphrase = (keyPath: string) => Promise<string | undefined>;

const { utils } = ssh2;

const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'];
const PASSPHRASE_TRIES = 3;

type Loaded = { key: ParsedKey } | { skipped: string };

export class KeyStore {
  private readonly cache = new Map<string, Promise<Loaded>>();

  constructor(private readonly askPassphrase?: AskPassphrase) {}

  /** Parsed (decrypted) key, or why it was skipped. Single-flight per path. */
  load(path: string): Promise<Loaded> {
    let p = this.cache.get(path);
    if (!p) {
      p = this.read(path);
      this.cache.set(path, p);
      // A skipped key may be fixed (file created, passphrase remembered): try again next time.
      void p.then((r) => {
        if ('skipped' in r) this.cache.delete(path);
      });
    }
    return p;
  }

  private async read(path: string): Promise<Loaded> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      return { skipped: `${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}` };
    }
    const plain = firstKey(utils.parseKey(data));
    if (!(plain instanceof Error)) return { key: plain };
    if (!/encrypted|passphrase/i.test(plain.message)) return { skipped: `${path}: ${plain.message}` };
    if (!this.askPassphrase) return { skipped: `${path}: encrypted, and no way to ask for its passphrase here` };
    for (let i = 0; i < PASSPHRASE_TRIES; i++) {
      const passphrase = await this.askPassphrase(path);
      if (passphrase === undefined) return { skipped: `${path}: passphrase not given` };
      const parsed = firstKey(utils.parseKey(data, passphrase));
      if (!(parsed instanceof Error)) return { key: parsed };
    }
    return { skipped: `${path}: wrong passphrase ${PASSPHRASE_TRIES} times` };
  }
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (Array.isArray(parsed)) return parsed[0] ?? new Error('no key in file');
  return parsed;
}

export interface AuthPlan {
  handler: AuthHandlerMiddleware;
  /** What was tried, for the refusal message (paths, never contents). */
  tried: string[];
}

/** The identity files `ssh` would offer for this hop. */
export function identityFilesFor(hop: ResolvedHop, home: string): string[] {
  if (hop.identityFiles.length > 0) return hop.identityFiles;
  return DEFAULT_IDENTITIES.map((f) => join(home, '.ssh', f)).filter((f) => existsSync(f));
}

export function planAuth(hop: ResolvedHop, keys: KeyStore, opts: { agentSocket?: string; home: string }): AuthPlan {
  const tried: string[] = [];
  const candidates: Array<{ kind: 'agent'; socket: string } | { kind: 'file'; path: string }> = [];
  // IdentitiesOnly: the agent may still hold the key, but OpenSSH then offers
  // only the listed files; we keep it simple and skip the agent.
  if (opts.agentSocket && !hop.identitiesOnly) candidates.push({ kind: 'agent', socket: opts.agentSocket });
  for (const path of identityFilesFor(hop, opts.home)) candidates.push({ kind: 'file', path });
  let index = 0;
  const handler = (methodsLeft: AuthenticationType[], _partial: boolean, next: NextAuthHandler): void => {
    const allows = (m: AuthenticationType) => !methodsLeft || methodsLeft.includes(m);
    const step = async (): Promise<void> => {
      while (index < candidates.length) {
        const c = candidates[index++]!;
        if (!allows('publickey')) break;
        if (c.kind === 'agent') {
          tried.push('agent (SSH_AUTH_SOCK)');
          next({ type: 'agent', username: hop.user, agent: c.socket });
          return;
        }
        const loaded = await keys.load(c.path);
        if ('skipped' in loaded) {
          tried.push(`${c.path} (skipped: ${loaded.skipped.slice(c.path.length + 2)})`);
          continue;
        }
        tried.push(c.path);
        next({ type: 'publickey', username: hop.user, key: loaded.key });
        return;
      }
      next(false as unknown as AuthenticationType);
    };
    void step();
  };
  return { handler: handler as AuthHandlerMiddleware, tried };
}
