// ~/.ssh/config, resolved per host the way `ssh` resolves it (first value
// wins, Host patterns with `!` negation), by the maintained `ssh-config`
// parser. `Match exec` is never run: reading a config must not execute
// commands behind the engineer's back.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import SSHConfig from 'ssh-config';
import { SshError } from './ssh-error.js';

export interface HopSpec {
  host: string;
  user?: string;
  port?: number;
}

export interface ResolvedHop {
  /** The name as given (inventory host, jump spec): what `ssh` is typed with. */
  alias: string;
  /** Where the TCP connection goes (HostName, else the alias). */
  hostName: string;
  port: number;
  user: string;
  /** Absolute paths, in the order to try. Explicit ones only; defaults are added by the auth layer. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** The name to look up in known_hosts instead of hostName (HostKeyAlias). */
  hostKeyAlias?: string;
  /** UserKnownHostsFile from the config, when set. */
  knownHostsFiles?: string[];
  /** ProxyJump from the config, unless `none`. */
  proxyJump?: string;
  connectTimeoutSeconds?: number;
}

export interface OpenSshEnv {
  home: string;
  localUser: string;
}

export class OpenSshConfig {
  private constructor(
    private readonly parsed: SSHConfig | undefined,
    readonly file: string | undefined,
    private readonly env: OpenSshEnv,
  ) {}

  /** Reads `file`; a missing default file is an empty config, a missing explicit one is an error. */
  static load(file: string | undefined, env: OpenSshEnv, opts: { isExplicit?: boolean } = {}): OpenSshConfig {
    if (!file || !existsSync(file)) {
      if (file && opts.isExplicit) {
        throw new SshError('config', file, `ssh config file ${file} does not exist (set by ssh.configFile)`);
      }
      return new OpenSshConfig(undefined, undefined, env);
    }
    let parsed: SSHConfig;
    try {
      parsed = SSHConfig.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new SshError('config', file, `ssh config ${file} does not parse: ${(err as Error).message}`, { cause: err });
    }
    return new OpenSshConfig(parsed, file, env);
  }

  static fromText(text: string, env: OpenSshEnv, file = '(inline)'): OpenSshConfig {
    return new OpenSshConfig(SSHConfig.parse(text), file, env);
  }

  /** What `ssh` would use for this host; explicit user/port in the spec win, like -l and -p. */
  resolve(spec: HopSpec, defaults: { user?: string } = {}): ResolvedHop {
    const c = this.parsed ? this.parsed.compute(spec.host, { ignoreCase: true, matchExec: false }) : {};
    const one = (key: string): string | undefined => {
      const v = c[key];
      return Array.isArray(v) ? v[0] : v;
    };
    const many = (key: string): string[] => {
      const v = c[key];
      return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
    };
    const hostName = expandTokens(one('hostname') ?? spec.host, { ...this.env, host: spec.host });
    const portText = one('port');
    const port = spec.port ?? (portText !== undefined ? Number(portText) : 22);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new SshError('config', spec.host, `ssh config gives ${spec.host} port "${portText}", not a port number`);
    }
    const user = spec.user ?? defaults.user ?? one('user') ?? this.env.localUser;
    const tokens = { ...this.env, host: hostName, user, port };
    const hop: ResolvedHop = {
      alias: spec.host,
      hostName,
      port,
      user,
      identityFiles: many('identityfile').map((f) => this.path(expandTokens(f, tokens))),
      identitiesOnly: /^yes$/i.test(one('identitiesonly') ?? ''),
    };
    const alias = one('hostkeyalias');
    if (alias) hop.hostKeyAlias = alias;
    const known = many('userknownhostsfile');
    if (known.length > 0) hop.knownHostsFiles = known.map((f) => this.path(expandTokens(f, tokens)));
    const jump = one('proxyjump');
    if (jump && jump.toLowerCase() !== 'none') hop.proxyJump = jump;
    const timeout = Number(one('connecttimeout'));
    if (Number.isFinite(timeout) && timeout > 0) hop.connectTimeoutSeconds = timeout;
    return hop;
  }

  private path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.env.home, '.ssh', p);
  }
}

/** `~` and the %-tokens ssh_config(5) documents for IdentityFile and friends. */
export function expandTokens(
  value: string,
  t: OpenSshEnv & { host: string; user?: string; port?: number },
): string {
  const withHome = value.startsWith('~/') ? join(t.home, value.slice(2)) : value === '~' ? t.home : value;
  return withHome.replace(/%([%dhpru])/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return t.home;
      case 'h':
        return t.host;
      case 'p':
        return String(t.port ?? 22);
      case 'r':
        return t.user ?? t.localUser;
      case 'u':
        return t.localUser;
      default:
        return _;
    }
  });
}

/**
 * A ProxyJump / -J value: `[user@]host[:port]` (or `ssh://[user@]host[:port]`),
 * comma-separated for several hops, IPv6 in brackets.
 */
export function parseJumpSpec(spec: string): HopSpec[] {
  return spec.split(',').map((raw) => {
    const text = raw.trim().replace(/^ssh:\/\//, '');
    const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(text);
    if (!m) throw new SshError('config', raw, `jump host "${raw}" is not [user@]host[:port]`);
    const hop: HopSpec = { host: m[2]!.replace(/^\[|\]$/g, '') };
    if (m[1]) hop.user = m[1];
    if (m[3]) hop.port = Number(m[3]);
    return hop;
  });
}

export function formatJumpSpec(hop: HopSpec): string {
  const host = hop.host.includes(':') ? `[${hop.host}]` : hop.host;
  return `${hop.user ? `${hop.user}@` : ''}${host}${hop.port && hop.port !== 22 ? `:${hop.port}` : ''}`;
}
