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
import type { Semaphore } from './semaphore.js';
import { SshError, type SshErrorCode } from './ssh-error.js';

export interface ConnectionSettings {
  keys: KeyStore;
  home: string;
  agentSocket?: string;
  /** Files to read for this hop; the first is named in "add this line to ...". */
  knownHostsFiles(hop: ResolvedHop): string[];
  keepaliveMs: number;
  keepaliveCountMax: number;
  connectTimeoutMs: number;
  /**
   * Tries within one connection attempt for failures that come at once
   * (refused, reset, hung up), never for a timeout or a key or auth refusal.
   */
  connectAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Connection attempts in flight, shared by every connection of the shell. */
  connectLimit: Semaphore;
  /** The part of connectLimit that hosts whose last attempt failed may hold. */
  retryLimit: Semaphore;
}

export function hopLabel(hop: ResolvedHop): string {
  return `${hop.user}@${hop.hostName}:${hop.port}`;
}

/** Failures that say the host cannot be reached (rather than refused us). */
const UNREACHABLE_CODES: ReadonlySet<SshErrorCode> = new Set(['connect', 'timeout', 'disconnected', 'channel']);

export class SshConnection {
  readonly label: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  /** Failed attempts in a row, the last one's error, and when the next may start. */
  private failures = 0;
  private lastError: SshError | undefined;
  private retryAt = 0;
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

  /**
   * The live client, connecting as needed; callers during an attempt share it.
   * After a failed attempt, callers fail at once until the backoff is over, so
   * a dead host costs them nothing and is not hammered by every refresh.
   * `who` names the host for those errors (the node's name).
   */
  async get(signal?: AbortSignal, who?: string): Promise<Client> {
    if (this.closed) throw new SshError('connect', this.label, `${this.label}: the ssh shell is closed`);
    if (this.client) return this.client;
    if (!this.connecting) {
      const wait = this.retryAt - Date.now();
      if (this.lastError && wait > 0) throw this.inBackoff(this.lastError, wait, who);
      this.connecting = this.attempt().finally(() => {
        this.connecting = undefined;
      });
      // Nobody may be waiting any more when it fails (every caller aborted).
      this.connecting.catch(() => undefined);
    }
    return raceSignal(this.connecting, signal);
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

  /**
   * One connection attempt: a few quick tries for failures that come at once,
   * within one connect timeout in all. Bound to no caller: once started it
   * ends by itself, so its outcome (a client, or a backoff) serves the next caller.
   */
  private async attempt(): Promise<Client> {
    const started = Date.now();
    for (let tryNo = 1; ; tryNo++) {
      try {
        const client = await this.tryOnce();
        if (this.closed) {
          client.end();
          throw new SshError('connect', this.label, `${this.label}: the ssh shell is closed`);
        }
        this.failures = 0;
        this.lastError = undefined;
        this.client = client;
        return client;
      } catch (caught) {
        // A jump host's failure is the jump host's: it keeps its own backoff.
        if (caught instanceof SshError && caught.host !== this.label) throw caught;
        const err =
          caught instanceof SshError
            ? caught
            : new SshError('connect', this.label, `${this.label}: ${(caught as Error).message}`, { cause: caught });
        const pause = this.backoffMs(tryNo);
        const isQuick = err.code === 'connect' || err.code === 'disconnected';
        if (isQuick && !this.closed && tryNo < this.settings.connectAttempts && Date.now() - started + pause < this.settings.connectTimeoutMs) {
          await sleep(pause);
          continue;
        }
        this.failures++;
        this.lastError = err;
        this.retryAt = Date.now() + this.backoffMs(this.failures);
        throw err;
      }
    }
  }

  private async tryOnce(): Promise<Client> {
    // The jump connection before a connect slot: targets waiting for their jump
    // host to connect must not hold the slots that connection needs.
    const jumpClient = this.via ? await this.via.get() : undefined;
    const releases: Array<() => void> = [];
    try {
      // Hosts that failed last time (hung ones, mostly) retry within part of
      // the slots, so however many there are, the others always find one.
      if (this.lastError) releases.push(await this.settings.retryLimit.acquire());
      releases.push(await this.settings.connectLimit.acquire());
      if (this.closed) throw new SshError('connect', this.label, `${this.label}: the ssh shell is closed`);
      return await this.open(jumpClient);
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private backoffMs(failures: number): number {
    return Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (failures - 1));
  }

  private inBackoff(last: SshError, waitMs: number, who: string | undefined): SshError {
    const prefix = `${this.label}: `;
    const why = last.message.startsWith(prefix) ? last.message.slice(prefix.length) : last.message;
    const isUnreachable = UNREACHABLE_CODES.has(last.code);
    const times = this.failures === 1 ? 'once' : `${this.failures} times in a row`;
    return new SshError(
      isUnreachable ? 'connect' : last.code,
      this.label,
      `${who ? `${who} (${this.label})` : this.label}: ${isUnreachable ? 'not reachable: ' : ''}${why}; ` +
        `failed ${times}, next attempt in ${formatMs(waitMs)}`,
      { cause: last },
    );
  }

  private async open(jumpClient: Client | undefined): Promise<Client> {
    const hop = this.hop;
    const started = Date.now();
    const timeoutMs = hop.connectTimeoutSeconds ? hop.connectTimeoutSeconds * 1000 : this.settings.connectTimeoutMs;
    const files = this.settings.knownHostsFiles(hop);
    const entries = await readKnownHosts(files);
    const name = knownHostsName(hop.hostKeyAlias ?? hop.hostName, hop.hostKeyAlias ? 22 : hop.port);
    let sock: Duplex | undefined;
    if (jumpClient && this.via) sock = await this.forwardThrough(this.via, jumpClient, timeoutMs);
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
        fail(refusal ?? this.mapConnectError(err, auth.tried, timeoutMs));
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
          // The connect timeout covers the forward through a jump host too.
          readyTimeout: Math.max(1, timeoutMs - (Date.now() - started)),
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

  private forwardThrough(via: SshConnection, jumpClient: Client, timeoutMs: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      let settled = false;
      // sshd answers a forward only once its own TCP connect is done: to a
      // host that drops SYNs, that is minutes. Ours ends at the connect timeout.
      const timer = setTimeout(() => {
        settled = true;
        reject(
          new SshError(
            'timeout',
            this.label,
            `${this.label}: the jump host ${via.label} did not connect to ${this.hop.hostName}:${this.hop.port} within ${formatMs(timeoutMs)}`,
          ),
        );
      }, timeoutMs);
      try {
        jumpClient.forwardOut('127.0.0.1', 0, this.hop.hostName, this.hop.port, (err, channel) => {
          clearTimeout(timer);
          if (settled) {
            channel?.close();
            return;
          }
          settled = true;
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
        clearTimeout(timer);
        settled = true;
        via.discard(jumpClient);
        reject(new SshError('disconnected', via.label, `${via.label}: jump connection lost: ${(err as Error).message}`));
      }
    });
  }

  private mapConnectError(err: Error & { level?: string; code?: string }, tried: string[], timeoutMs: number): SshError {
    const why = err.message;
    switch (err.level) {
      case 'client-timeout':
        return new SshError('timeout', this.label, `${this.label}: no ssh handshake within ${formatMs(timeoutMs)} (the connect timeout)`, {
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

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.ceil(ms)} ms` : `${Number((ms / 1000).toFixed(1))} s`;
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
