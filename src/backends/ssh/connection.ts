// One SSH connection to one hop (a node or a jump host), opened on first use
// and kept for every later probe and step: many exec channels share it.
// A jump host's connection is shared too: each target behind it is one
// `direct-tcpip` channel (forwardOut) on it, as ProxyJump does.

import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
// ssh2 is CommonJS: Node's ESM loader only gives its default export.
import ssh2, { type Client, type ClientChannel } from 'ssh2';
import { raceSignal, sleep } from './abort.js';
import { planAuth, type KeyStore } from './auth.js';
import {
  checkHostKey,
  describeRefusal,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  type KnownHostEntry,
} from './known-hosts.js';
import type { ResolvedHop } from './openssh-config.js';
import { isTransientSshError, SshError } from './ssh-error.js';

export interface ConnectionSettings {
  keys: KeyStore;
  home: string;
  agentSocket?: string;
  /** Files to read for this hop; the first is named in "add this line to ...". */
  knownHostsFiles(hop: ResolvedHop): string[];
  keepaliveMs: number;
  keepaliveCountMax: number;
  connectTimeoutMs: number;
  /** Attempts per `get()` for network failures (never for key or auth refusals). */
  connectAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export function hopLabel(hop: ResolvedHop): string {
  return `${hop.user}@${hop.hostName}:${hop.port}`;
}

export class SshConnection {
  readonly label: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private failures = 0;
  private lastFailureAt = 0;
  private closed = false;

  constructor(
    readonly hop: ResolvedHop,
    readonly via: SshConnection | undefined,
    private readonly settings: ConnectionSettings,
  ) {
    this.label = hopLabel(hop);
  }

  get isConnected(): boolean {
    return this.client !== undefined;
  }

  /** The live client, connecting (and reconnecting with backoff) as needed. */
  async get(signal?: AbortSignal): Promise<Client> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.getOnce(signal);
      } catch (err) {
        // A jump host's failure was already retried by its own connection.
        const isOurs = err instanceof SshError && err.host === this.label;
        if (!isOurs || !isTransientSshError(err) || attempt >= this.settings.connectAttempts || signal?.aborted) throw err;
      }
    }
  }

  /** Drops the client (it is dead or misbehaving); the next `get()` reconnects. */
  discard(client: Client): void {
    if (this.client === client) this.client = undefined;
    client.end();
  }

  close(): void {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    c?.end();
  }

  private async getOnce(signal?: AbortSignal): Promise<Client> {
    if (this.closed) throw new SshError('connect', this.label, `${this.label}: the ssh shell is closed`);
    if (this.client) return this.client;
    if (!this.connecting) {
      // Backoff across callers: after a failure, the next attempt waits, so a
      // dead host is not hammered by every refresh and every queued probe.
      const wait =
        this.failures === 0
          ? 0
          : Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (this.failures - 1)) -
            (Date.now() - this.lastFailureAt);
      this.connecting = (wait > 0 ? sleep(wait) : Promise.resolve())
        .then(() => this.open())
        .then(
          (client) => {
            this.failures = 0;
            this.client = client;
            return client;
          },
          (err: unknown) => {
            this.failures++;
            this.lastFailureAt = Date.now();
            throw err;
          },
        )
        .finally(() => {
          this.connecting = undefined;
        });
      // Nobody may be waiting any more when it fails (every caller aborted).
      this.connecting.catch(() => undefined);
    }
    return raceSignal(this.connecting, signal);
  }

  private async open(): Promise<Client> {
    const hop = this.hop;
    const files = this.settings.knownHostsFiles(hop);
    const entries = await readKnownHosts(files);
    const name = knownHostsName(hop.hostKeyAlias ?? hop.hostName, hop.hostKeyAlias ? 22 : hop.port);
    let sock: Duplex | undefined;
    if (this.via) sock = await this.forwardThrough(this.via);
    const auth = planAuth(hop, this.settings.keys, {
      home: this.settings.home,
      ...(this.settings.agentSocket ? { agentSocket: this.settings.agentSocket } : {}),
    });
    const client = new ssh2.Client();
    return new Promise<Client>((resolve, reject) => {
      let refusal: SshError | undefined;
      let settled = false;
      const fail = (err: SshError) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(err);
      };
      // Nagle + delayed ACKs cost ~40 ms per exec on the small packets of channel
      // open / exec request / close; OpenSSH sets TCP_NODELAY too.
      client.on('connect', () => client.setNoDelay(true));
      client.on('ready', () => {
        settled = true;
        // Past this point errors belong to the live connection: keepalive
        // timeouts, resets. `close` follows each of them; we only forget the client.
        client.on('close', () => {
          if (this.client === client) this.client = undefined;
        });
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        fail(refusal ?? this.mapConnectError(err, auth.tried));
      });
      client.on('close', () => {
        fail(refusal ?? new SshError('connect', this.label, `${this.label}: connection closed during the handshake`));
      });
      try {
        client.connect({
          host: hop.hostName,
          port: hop.port,
          username: hop.user,
          ...(sock ? { sock } : {}),
          readyTimeout: hop.connectTimeoutSeconds ? hop.connectTimeoutSeconds * 1000 : this.settings.connectTimeoutMs,
          keepaliveInterval: this.settings.keepaliveMs,
          keepaliveCountMax: this.settings.keepaliveCountMax,
          algorithms: { serverHostKey: preferredHostKeyAlgorithms(entries, name) as never },
          authHandler: auth.handler,
          hostVerifier: (key: Buffer) => {
            const verdict = checkHostKey(entries, name, key);
            if (verdict.status === 'ok') return true;
            const r = describeRefusal(verdict, name, key, files[0] ?? '~/.ssh/known_hosts');
            refusal = new SshError(r.code, this.label, `${this.label}: ${r.message}`);
            return false;
          },
        });
      } catch (err) {
        fail(new SshError('config', this.label, `${this.label}: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  private async forwardThrough(via: SshConnection): Promise<ClientChannel> {
    const jumpClient = await via.get();
    return new Promise((resolve, reject) => {
      try {
        jumpClient.forwardOut('127.0.0.1', 0, this.hop.hostName, this.hop.port, (err, channel) => {
          if (err) {
            reject(
              new SshError(
                'channel',
                this.label,
                `${this.label}: the jump host ${via.label} could not open a connection to ${this.hop.hostName}:${this.hop.port}: ${err.message}`,
                { cause: err },
              ),
            );
            return;
          }
          resolve(channel);
        });
      } catch (err) {
        via.discard(jumpClient);
        reject(new SshError('disconnected', via.label, `${via.label}: jump connection lost: ${(err as Error).message}`));
      }
    });
  }

  private mapConnectError(err: Error & { level?: string; code?: string }, tried: string[]): SshError {
    const why = err.message;
    switch (err.level) {
      case 'client-timeout':
        return new SshError('timeout', this.label, `${this.label}: no ssh handshake within the connect timeout (${why})`, {
          cause: err,
        });
      case 'client-authentication':
        return new SshError(
          'auth',
          this.label,
          `${this.label}: authentication refused for user ${this.hop.user}; tried ${tried.length ? tried.join(', ') : 'nothing (no agent, no identity file)'}. ` +
            `Check the user and that one of these keys is in ~${this.hop.user}/.ssh/authorized_keys there.`,
          { cause: err },
        );
      case 'client-socket':
      case 'client-dns':
        return new SshError('connect', this.label, `${this.label}: cannot connect: ${err.code ?? why}`, { cause: err });
      default:
        return new SshError('connect', this.label, `${this.label}: ssh handshake failed: ${why}`, { cause: err });
    }
  }
}

async function readKnownHosts(files: string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    try {
      all.push(...parseKnownHosts(await readFile(file, 'utf8'), file));
    } catch (err) {
      // A missing known_hosts file is an empty one (every key is then unknown and refused).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return all;
}
