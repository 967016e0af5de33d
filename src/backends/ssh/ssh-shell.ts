// The Shell port over SSH: one pooled connection per host (and per jump
// host), many exec channels on it, a global concurrency limit plus a
// per-connection channel limit (sshd's MaxSessions is 10 by default), a
// per-command deadline and AbortSignal that close the channel. Connecting
// holds no exec slot: it has its own limit, so hosts that do not answer
// (the normal case in an outage) never hold up commands on the ones that do.

import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import type { Instance } from '../../domain/types.js';
import { ReadOnlyError } from '../../errors.js';
import { shellQuote } from '../engines/shell-quote.js';
import type { ExecOptions, ExecResult, PipeEnd, PipeOptions, PipeResult, Shell } from '../ports.js';
import { deadline } from './abort.js';
import { firstWords, relay, type OpenEnd } from './pipe.js';
import { OutputTail } from './output-tail.js';
import { KeyStore, type AskPassphrase } from './auth.js';
import { hopLabel, SshConnection, type ConnectionSettings } from './connection.js';
import { OpenSshConfig, parseJumpSpec, type HopSpec, type OpenSshEnv, type ResolvedHop } from './openssh-config.js';
import { Semaphore } from './semaphore.js';
import { SshError } from './ssh-error.js';

export interface SshShellOptions {
  /** Parsed ~/.ssh/config (or ssh.configFile). */
  sshConfig: OpenSshConfig;
  /** Set when the config is not the default one, so loginCommand adds `-F`. */
  loginConfigFile?: string;
  /** Replaces UserKnownHostsFile and the global file when set (config `ssh.knownHosts`). */
  knownHostsFiles?: string[];
  /** Default user for nodes (config `ssh.user`); the node's own user wins. */
  user?: string;
  /** Jump host(s) for every node, as -J (config `ssh.jump`); overrides ProxyJump from the ssh config. */
  jump?: string;
  /** Commands running at once, over all connections. */
  concurrency?: number;
  channelsPerHost?: number;
  /** Connection attempts in flight at once; hosts whose last attempt failed may hold half of them. */
  connectConcurrency?: number;
  keepaliveMs?: number;
  keepaliveCountMax?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Bytes of stdout (and of stderr) kept per command; the tail is kept past it. */
  maxOutputBytes?: number;
  agentSocket?: string;
  askPassphrase?: AskPassphrase;
  /** Under --read-only, only commands declared `readOnly` run. */
  readOnly?: boolean;
  env?: OpenSshEnv;
  /** Tries within one connection attempt when a connect fails at once (refused, reset); a timeout ends the attempt. */
  connectAttempts?: number;
  /** After a failed attempt, commands for that host fail at once for base x 2^(failures-1) ms, up to the max. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

const GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

export function defaultOpenSshEnv(): OpenSshEnv {
  return { home: homedir(), localUser: process.env.USER ?? safeUserName() };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

export class SshShell implements Shell {
  private readonly connections = new Map<string, SshConnection>();
  private readonly channelLimits = new Map<string, Semaphore>();
  private readonly global: Semaphore;
  private readonly settings: ConnectionSettings;
  private readonly env: OpenSshEnv;
  private isClosed = false;

  constructor(private readonly options: SshShellOptions) {
    this.env = options.env ?? defaultOpenSshEnv();
    this.global = new Semaphore(options.concurrency ?? 16);
    // A hung connect costs a socket and a timer; a handshake costs CPU on the
    // console's event loop. 16 keeps a cold start of a big fleet smooth.
    const connectConcurrency = options.connectConcurrency ?? 16;
    const home = this.env.home;
    this.settings = {
      keys: new KeyStore(options.askPassphrase),
      home,
      ...(options.agentSocket ? { agentSocket: options.agentSocket } : {}),
      knownHostsFiles: (hop) =>
        options.knownHostsFiles ??
        hop.knownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2'), ...GLOBAL_KNOWN_HOSTS],
      keepaliveMs: options.keepaliveMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      connectAttempts: options.connectAttempts ?? 3,
      backoffBaseMs: options.backoffBaseMs ?? 250,
      backoffMaxMs: options.backoffMaxMs ?? 30_000,
      connectLimit: new Semaphore(connectConcurrency),
      retryLimit: new Semaphore(Math.max(1, Math.floor(connectConcurrency / 2))),
    };
  }

  /** The hops to reach a node: jump hosts first, the node last. */
  resolveChain(node: Instance): ResolvedHop[] {
    const spec: HopSpec = { host: node.ssh?.host ?? node.privateIp };
    if (node.ssh?.port !== undefined) spec.port = node.ssh.port;
    const user = node.ssh?.user ?? this.options.user;
    if (user !== undefined) spec.user = user;
    const target = this.options.sshConfig.resolve(spec);
    const jump = this.options.jump ?? target.proxyJump;
    return [...(jump ? this.jumpChain(jump, 0) : []), target];
  }

  private jumpChain(spec: string, depth: number): ResolvedHop[] {
    if (depth > 4) throw new SshError('config', spec, `ProxyJump chain through ${spec} is deeper than 5 hops (a loop?)`);
    const hops = parseJumpSpec(spec).map((h) => this.options.sshConfig.resolve(h));
    const first = hops[0]!;
    // The first hop's own ProxyJump applies, as it does for `ssh -J`.
    const before = first.proxyJump ? this.jumpChain(first.proxyJump, depth + 1) : [];
    return [...before, ...hops];
  }

  private connectionFor(chain: ResolvedHop[]): { conn: SshConnection; key: string } {
    let via: SshConnection | undefined;
    let key = '';
    for (const hop of chain) {
      // Keyed by the name as given too: two aliases of one address are two
      // connections, as with `ssh` (each alias may carry its own settings).
      const part = hop.alias === hop.hostName ? hopLabel(hop) : `${hop.user}@${hop.alias}(${hop.hostName}):${hop.port}`;
      key = key ? `${key} > ${part}` : part;
      let conn = this.connections.get(key);
      if (!conn) {
        conn = new SshConnection(hop, via, this.settings);
        this.connections.set(key, conn);
        this.channelLimits.set(key, new Semaphore(this.options.channelsPerHost ?? 8));
      }
      via = conn;
    }
    return { conn: via!, key };
  }

  async exec(node: Instance, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.options.readOnly && !opts.readOnly) throw new ReadOnlyError(`running "${command}" on ${node.name}`);
    if (this.isClosed) throw new SshError('connect', node.name, `${node.name}: the ssh shell is closed`);
    const chain = this.resolveChain(node);
    const { conn, key } = this.connectionFor(chain);
    const timeoutMs = opts.timeoutMs ?? this.options.commandTimeoutMs ?? 30_000;
    const limit = deadline(timeoutMs, opts.signal);
    let releaseChannel: (() => void) | undefined;
    let phase = `waiting for a free channel to ${conn.label}`;
    try {
      releaseChannel = await this.channelLimits.get(key)!.acquire(limit.signal);
      for (let attempt = 1; ; attempt++) {
        phase = `connecting to ${conn.label}`;
        const client = await conn.get(limit.signal, node.name);
        // Only now an exec slot: waiting on a host that does not answer must
        // not keep commands on live connections waiting.
        phase = 'waiting for a free ssh slot';
        const releaseGlobal = await this.global.acquire(limit.signal);
        phase = 'running';
        try {
          return await this.run(client, conn, node, command, opts, limit.signal);
        } catch (err) {
          // The pooled connection died between uses: the command never
          // started, so one retry on a fresh connection is safe.
          if (err instanceof NotStarted && attempt === 1) {
            conn.discard(client);
            continue;
          }
          if (err instanceof NotStarted) throw err.error;
          throw err;
        } finally {
          releaseGlobal();
        }
      }
    } catch (err) {
      if (limit.signal.aborted && !(err instanceof SshError && err.code !== 'timeout' && err.code !== 'aborted')) {
        if (limit.isTimedOut()) {
          throw new SshError('timeout', conn.label, `${node.name}: timed out after ${timeoutMs} ms (${phase}): "${firstWords(command)}"; its channel was closed`, {
            cause: err,
          });
        }
        throw new SshError('aborted', conn.label, `${node.name}: cancelled (${phase}): "${firstWords(command)}"; its channel was closed`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      limit.dispose();
      releaseChannel?.();
    }
  }

  private run(
    client: Client,
    conn: SshConnection,
    node: Instance,
    command: string,
    opts: ExecOptions,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    const max = this.options.maxOutputBytes ?? 8 * 1024 * 1024;
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let exit: { code: number | null; signal: string | null } | undefined;
      const out = new OutputTail(max);
      const err = new OutputTail(max);
      const outDecoder = new StringDecoder('utf8');
      const errDecoder = new StringDecoder('utf8');
      let done = false;
      const onClientClose = () => finish(new SshError('disconnected', conn.label, `${node.name}: the ssh connection dropped while "${firstWords(command)}" ran; it may or may not have completed`));
      const onAbort = () => {
        // Ask the remote side to stop, then close the channel; the result is the caller's abort.
        try {
          channel?.signal('TERM');
        } catch {
          /* the channel may already be gone */
        }
        channel?.close();
        finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      };
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        client.removeListener('close', onClientClose);
        if (error) {
          channel?.close();
          reject(error);
          return;
        }
        const stdout = out.text(outDecoder.end());
        const stderr = err.text(errDecoder.end());
        resolve({ code: exit?.code ?? null, signal: exit?.signal ?? null, stdout, stderr });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      client.once('close', onClientClose);
      try {
        client.exec(command, (openErr, ch) => {
          if (openErr) {
            const message = `${node.name}: ${conn.label} refused an exec channel: ${openErr.message}`;
            finish(/not connected|no response|closed/i.test(openErr.message)
              ? new NotStarted(new SshError('disconnected', conn.label, message, { cause: openErr }))
              : new SshError('channel', conn.label, message, { cause: openErr }));
            return;
          }
          channel = ch;
          if (done) {
            ch.close();
            return;
          }
          // Closing stdin once written: a client reading its statements from it (mysql) ends there.
          if (opts.stdin !== undefined) ch.end(opts.stdin);
          ch.on('data', (chunk: Buffer) => {
            const text = outDecoder.write(chunk);
            out.push(text);
            if (text) opts.onStdout?.(text);
          });
          ch.stderr.on('data', (chunk: Buffer) => {
            const text = errDecoder.write(chunk);
            err.push(text);
            if (text) opts.onStderr?.(text);
          });
          ch.on('exit', (code: number | null, sig?: string) => {
            exit = { code: typeof code === 'number' ? code : null, signal: sig ?? null };
          });
          ch.on('close', () => {
            if (exit) finish();
            else if (!done) {
              // Closed without an exit status: the server or the connection gave up on it.
              finish(new SshError('disconnected', conn.label, `${node.name}: "${firstWords(command)}" ended without an exit status (channel closed by ${conn.label})`));
            }
          });
        });
      } catch (e) {
        finish(new NotStarted(new SshError('disconnected', conn.label, `${node.name}: ${(e as Error).message}`, { cause: e })));
      }
    });
  }

  /**
   * Two exec channels, on the same pools, limits and host-key checks as exec;
   * see relay() for how the bytes flow and how it ends. Opening both ends is
   * bounded by the per-command timeout; the relay itself only by the idle
   * timeout and the signal.
   */
  async pipe(from: PipeEnd, to: PipeEnd, opts: PipeOptions = {}): Promise<PipeResult> {
    if (this.options.readOnly) {
      throw new ReadOnlyError(`piping "${from.command}" on ${from.node.name} into "${to.command}" on ${to.node.name}`);
    }
    if (this.isClosed) throw new SshError('connect', from.node.name, `${from.node.name}: the ssh shell is closed`);
    const timeoutMs = this.options.commandTimeoutMs ?? 30_000;
    const limit = deadline(timeoutMs, opts.signal);
    const opened: Array<{ end: OpenEnd; release: () => void }> = [];
    const releaseAll = () => {
      for (const o of opened.splice(0)) o.release();
    };
    let current: PipeEnd = to;
    const phase = { text: '' };
    try {
      // The receiver first: a sender must never run with nowhere to send.
      opened.push(await this.openEnd('to', to, limit.signal, phase));
      current = from;
      opened.push(await this.openEnd('from', from, limit.signal, phase));
    } catch (err) {
      // mbstream reading an empty stdin ends at once: nothing was written yet.
      for (const o of opened) o.end.channel.close();
      releaseAll();
      limit.dispose();
      if (limit.signal.aborted && !(err instanceof SshError && err.code !== 'timeout' && err.code !== 'aborted')) {
        const what = `${current.node.name}: ${limit.isTimedOut() ? `timed out after ${timeoutMs} ms` : 'cancelled'} (${phase.text}) opening the pipe's ${current === to ? 'receiving' : 'sending'} end "${firstWords(current.command)}"`;
        throw new SshError(limit.isTimedOut() ? 'timeout' : 'aborted', current.node.name, what, { cause: err });
      }
      throw err;
    }
    limit.dispose();
    try {
      const toEnd = opened[0]!.end;
      const fromEnd = opened[1]!.end;
      return await relay(fromEnd, toEnd, opts, this.options.maxOutputBytes ?? 8 * 1024 * 1024);
    } finally {
      releaseAll();
    }
  }

  /** One end's channel: a channel slot, the connection, an exec slot, the command started. */
  private async openEnd(end: 'from' | 'to', spec: PipeEnd, signal: AbortSignal, phase: { text: string }): Promise<{ end: OpenEnd; release: () => void }> {
    const { node, command } = spec;
    const { conn, key } = this.connectionFor(this.resolveChain(node));
    phase.text = `waiting for a free channel to ${conn.label}`;
    const releaseChannel = await this.channelLimits.get(key)!.acquire(signal);
    try {
      for (let attempt = 1; ; attempt++) {
        phase.text = `connecting to ${conn.label}`;
        const client = await conn.get(signal, node.name);
        phase.text = 'waiting for a free ssh slot';
        const releaseGlobal = await this.global.acquire(signal);
        phase.text = 'starting the command';
        try {
          const channel = await this.startChannel(client, conn, node, command, signal);
          return {
            end: { end, nodeName: node.name, command, label: conn.label, client, channel },
            release: () => {
              releaseGlobal();
              releaseChannel();
            },
          };
        } catch (err) {
          releaseGlobal();
          if (err instanceof NotStarted && attempt === 1) {
            conn.discard(client);
            continue;
          }
          if (err instanceof NotStarted) throw err.error;
          throw err;
        }
      }
    } catch (err) {
      releaseChannel();
      throw err;
    }
  }

  private startChannel(client: Client, conn: SshConnection, node: Instance, command: string, signal: AbortSignal): Promise<ClientChannel> {
    return new Promise<ClientChannel>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, ch?: ClientChannel) => {
        if (settled) {
          ch?.close();
          return;
        }
        settled = true;
        signal.removeEventListener('abort', onAbort);
        client.removeListener('close', onClose);
        if (err) {
          ch?.close();
          reject(err);
        } else resolve(ch!);
      };
      const onAbort = () => settle(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      const onClose = () =>
        settle(new NotStarted(new SshError('disconnected', conn.label, `${node.name}: the ssh connection dropped before "${firstWords(command)}" started`)));
      signal.addEventListener('abort', onAbort, { once: true });
      client.once('close', onClose);
      try {
        client.exec(command, (openErr, ch) => {
          if (openErr) {
            const message = `${node.name}: ${conn.label} refused an exec channel: ${openErr.message}`;
            settle(
              /not connected|no response|closed/i.test(openErr.message)
                ? new NotStarted(new SshError('disconnected', conn.label, message, { cause: openErr }))
                : new SshError('channel', conn.label, message, { cause: openErr }),
            );
            return;
          }
          settle(undefined, ch);
        });
      } catch (e) {
        settle(new NotStarted(new SshError('disconnected', conn.label, `${node.name}: ${(e as Error).message}`, { cause: e })));
      }
    });
  }

  loginCommand(node: Instance): string {
    const chain = this.resolveChain(node);
    const target = chain[chain.length - 1]!;
    const args = ['ssh'];
    if (this.options.loginConfigFile) args.push('-F', this.options.loginConfigFile);
    if (this.options.knownHostsFiles) args.push('-o', `UserKnownHostsFile=${this.options.knownHostsFiles.join(' ')}`);
    const jump = this.options.jump ?? target.proxyJump;
    if (jump) args.push('-J', jump);
    if (target.port !== 22) args.push('-p', String(target.port));
    args.push(`${target.user}@${target.alias}`);
    return args.map((a) => shellQuote(a)).join(' ');
  }

  /** For `lab status` and diagnostics: which hops hold a live connection. */
  connectedHops(): string[] {
    return [...this.connections.entries()].filter(([, c]) => c.isConnected).map(([k]) => k);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    // Targets before the jump hosts they ride on.
    const all = [...this.connections.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [, conn] of all) conn.close();
    this.connections.clear();
  }
}

/** The command never started (dead pooled connection): safe to retry once. */
class NotStarted extends Error {
  constructor(readonly error: SshError) {
    super(error.message);
  }
}


