import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replicationCredentials } from '../../src/config/credentials.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { createRedactor } from '../../src/domain/redact.js';
import { ConfigError } from '../../src/errors.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'ns-creds-'));
}

function write(d: string, name: string, text: string, mode = 0o644): string {
  const p = join(d, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

const env = (d: string) => ({ XDG_CONFIG_HOME: join(d, 'xdg-config'), XDG_STATE_HOME: join(d, 'xdg-state') });

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('clusters.C.replication', () => {
  it('reads the password from a 0600 file beside the config, without its newline', () => {
    const d = dir();
    write(d, 'repl.password', 'file-pw-4821\n', 0o600);
    const f = write(d, 'ns.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordFile: repl.password\n');
    const config = loadConfig({ config: f }, { env: env(d), cwd: '/' });
    expect(config.clusters.orders!.replication!.passwordFile).toBe(join(d, 'repl.password'));
    expect(replicationCredentials(config, 'orders', {})).toEqual({ user: 'repl', password: 'file-pw-4821' });
  });

  it('a password file readable by others is a ConfigError naming the config file, line, key and the file', () => {
    const d = dir();
    const pw = write(d, 'repl.password', 'loose-pw-1', 0o640);
    const f = write(d, 'ns.yaml', 'refreshSeconds: 5\nclusters:\n  orders:\n    replication:\n      user: repl\n      passwordFile: repl.password\n');
    const err = caught(() => loadConfig({ config: f }, { env: env(d), cwd: d }));
    expect(err.file).toBe(f);
    expect(err.line).toBe(6);
    expect(err.key).toBe('clusters.orders.replication.passwordFile');
    expect(err.message).toContain(`the password file ${pw} is mode 0640`);
    expect(err.message).toContain(`chmod 600 ${pw}`);
    // 0400 is stricter than 0600, and fine.
    chmodSync(pw, 0o400);
    expect(replicationCredentials(loadConfig({ config: f }, { env: env(d), cwd: d }), 'orders', {}).password).toBe('loose-pw-1');
  });

  it('a missing, empty or multi-line password file is named', () => {
    const d = dir();
    const f = write(d, 'ns.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordFile: nope.password\n');
    expect(caught(() => loadConfig({ config: f }, { env: env(d), cwd: d })).message).toBe(
      `${f}:5: clusters.orders.replication.passwordFile: cannot read the password file ${join(d, 'nope.password')}: ENOENT`,
    );
    write(d, 'nope.password', '\n', 0o600);
    expect(caught(() => loadConfig({ config: f }, { env: env(d), cwd: d })).message).toMatch(/nope\.password is empty$/);
    write(d, 'nope.password', 'one\ntwo\n', 0o600);
    expect(caught(() => loadConfig({ config: f }, { env: env(d), cwd: d })).message).toMatch(/holds more than one line/);
  });

  it('exactly one of passwordEnv and passwordFile', () => {
    const d = dir();
    const none = write(d, 'none.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n');
    const e1 = caught(() => loadConfig({ config: none }, { env: env(d), cwd: d }));
    expect(e1.key).toBe('clusters.orders.replication');
    expect(e1.line).toBe(3);
    expect(e1.message).toMatch(/passwordEnv .* or passwordFile/);
    const both = write(d, 'both.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordEnv: X\n      passwordFile: y\n');
    const e2 = caught(() => loadConfig({ config: both }, { env: env(d), cwd: d }));
    expect(e2.key).toBe('clusters.orders.replication.passwordFile');
    expect(e2.line).toBe(6);
    expect(e2.message).toContain('not both');
    const inline = write(d, 'inline.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      password: hunter22\n');
    expect(caught(() => loadConfig({ config: inline }, { env: env(d), cwd: d })).message).toContain(
      'clusters.orders.replication.password: unknown key',
    );
  });

  it('reads passwordEnv when a runbook needs it; an unset variable is an error naming it, not a load error', () => {
    const d = dir();
    const f = write(d, 'ns.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordEnv: ORDERS_REPL_PW\n');
    const config = loadConfig({ config: f }, { env: env(d), cwd: d });
    const err = caught(() => replicationCredentials(config, 'orders', {}));
    expect(err.message).toBe(
      `${f}:5: clusters.orders.replication.passwordEnv: the environment variable ORDERS_REPL_PW is not set: the replication password for cluster orders is read from it (export ORDERS_REPL_PW=... before the run, or use passwordFile)`,
    );
    expect(replicationCredentials(config, 'orders', { ORDERS_REPL_PW: 'env-pw-7319' })).toEqual({ user: 'repl', password: 'env-pw-7319' });
  });

  it('a cluster without replication credentials says what to add', () => {
    const d = dir();
    const config = loadConfig({}, { env: env(d), cwd: d });
    expect(() => replicationCredentials(config, 'orders', {})).toThrow(
      /clusters\.orders\.replication: cluster orders has no replication credentials: add `clusters\.orders\.replication: \{ user: repl, passwordFile: repl\.password \}`/,
    );
  });

  it('a password too short to redact is refused', () => {
    const config = configSchema.parse({ clusters: { orders: { replication: { user: 'repl', passwordEnv: 'PW' } } } });
    expect(() => replicationCredentials(config, 'orders', { PW: 'ab' })).toThrow(/shorter than 3 characters/);
  });

  it('a resolved password joins every redactor of the process, even one made before it was read', () => {
    const before = createRedactor([]);
    const config = configSchema.parse({ clusters: { orders: { replication: { user: 'repl', passwordEnv: 'PW' } } } });
    expect(before.text('pw is late-pw-5512')).toBe('pw is late-pw-5512');
    replicationCredentials(config, 'orders', { PW: 'late-pw-5512' });
    expect(before.text('pw is late-pw-5512')).toBe('pw is [redacted]');
    expect(createRedactor().text('late-pw-5512!')).toBe('[redacted]!');
  });

  it('a password file is registered at load, before any runbook asks for it', () => {
    const d = dir();
    write(d, 'repl.password', 'loaded-pw-9035\n', 0o600);
    const f = write(d, 'ns.yaml', 'clusters:\n  orders:\n    replication:\n      user: repl\n      passwordFile: repl.password\n');
    const redactor = createRedactor();
    expect(redactor.text('loaded-pw-9035')).toBe('loaded-pw-9035');
    loadConfig({ config: f }, { env: env(d), cwd: d });
    expect(redactor.text('loaded-pw-9035')).toBe('[redacted]');
  });
});

describe('a nightshift.yaml beside the inventory', () => {
  it('is read for --inventory after ./nightshift.yaml and before the user config', () => {
    const d = dir();
    mkdirSync(join(d, 'lab'));
    mkdirSync(join(d, 'xdg-config', 'nightshift'), { recursive: true });
    write(join(d, 'xdg-config', 'nightshift'), 'config.yaml', 'refreshSeconds: 7\n');
    write(join(d, 'lab'), 'nightshift.yaml', 'refreshSeconds: 3\n');
    expect(loadConfig({ inventory: 'lab/inventory.yaml' }, { env: env(d), cwd: d }).refreshSeconds).toBe(3);
    expect(loadConfig({}, { env: env(d), cwd: d }).refreshSeconds).toBe(7);
    write(d, 'nightshift.yaml', 'refreshSeconds: 9\n');
    expect(loadConfig({ inventory: 'lab/inventory.yaml' }, { env: env(d), cwd: d }).refreshSeconds).toBe(9);
  });
});
