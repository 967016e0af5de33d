// Builds the SSH Shell from the config (and, for a static inventory, from
// the inventory's own `ssh:` block, which is more specific and wins).

import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { Shell } from '../ports.js';
import { readInventorySsh } from '../inventory/inventory-file.js';
import type { AskPassphrase } from './auth.js';
import { OpenSshConfig } from './openssh-config.js';
import { defaultOpenSshEnv, SshShell } from './ssh-shell.js';

export { SshShell, defaultOpenSshEnv, type SshShellOptions } from './ssh-shell.js';
export { SshError, type SshErrorCode } from './ssh-error.js';
export { OpenSshConfig, parseJumpSpec, type ResolvedHop } from './openssh-config.js';
export type { AskPassphrase } from './auth.js';

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

export function createSshShell(config: Config, deps: { askPassphrase?: AskPassphrase } = {}): SshShell {
  const env = defaultOpenSshEnv();
  const inv = config.target === 'inventory' && config.inventory ? readInventorySsh(config.inventory) : {};
  const explicitConfig = inv.configFile ?? config.ssh.configFile;
  const configFile = explicitConfig ? expandHome(explicitConfig) : join(env.home, '.ssh', 'config');
  let sshConfig: OpenSshConfig;
  try {
    sshConfig = OpenSshConfig.load(configFile, env, { isExplicit: explicitConfig !== undefined });
  } catch (err) {
    const from = inv.configFile ? config.inventory! : (config.source ?? '(config)');
    throw new ConfigError(from, undefined, inv.configFile ? 'ssh.configFile' : 'ssh.configFile', (err as Error).message);
  }
  const knownHosts = inv.knownHosts ?? config.ssh.knownHosts;
  const user = inv.user ?? config.ssh.user;
  const jump = inv.jump ?? config.ssh.jump;
  return new SshShell({
    sshConfig,
    ...(explicitConfig ? { loginConfigFile: configFile } : {}),
    ...(knownHosts ? { knownHostsFiles: [expandHome(knownHosts)] } : {}),
    ...(user ? { user } : {}),
    ...(jump ? { jump } : {}),
    concurrency: config.ssh.concurrency,
    channelsPerHost: config.ssh.channelsPerHost,
    connectConcurrency: config.ssh.connectConcurrency,
    keepaliveMs: config.ssh.keepaliveSeconds * 1000,
    connectTimeoutMs: config.ssh.connectTimeoutSeconds * 1000,
    commandTimeoutMs: config.ssh.commandTimeoutSeconds * 1000,
    ...(process.env.SSH_AUTH_SOCK ? { agentSocket: process.env.SSH_AUTH_SOCK } : {}),
    ...(deps.askPassphrase ? { askPassphrase: deps.askPassphrase } : {}),
    readOnly: config.readOnly,
    env,
  });
}
