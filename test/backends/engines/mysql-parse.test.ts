// The probe parsers against output captured from real MariaDB 10.11 servers
// in the lab (fixtures/, via `mysql --batch -e` over ssh), plus the failure
// messages an engineer reads when output does not parse.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineProbes, MYSQL_CLIENT_TAG, engineOptionsFromConfig } from '../../../src/backends/engines/index.js';
import { BatchParseError, formatBatch, parseSections, unescapeBatchValue } from '../../../src/backends/engines/mysql-batch.js';
import { heartbeatSql, parseHeartbeat, parseProbe, ProbeError, MysqlProber } from '../../../src/backends/engines/mysql.js';
import type { ExecOptions, ExecResult, Shell } from '../../../src/backends/ports.js';
import { configSchema } from '../../../src/config/schema.js';
import type { Instance } from '../../../src/domain/types.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const VERSION = '10.11.19-MariaDB-0+deb12u1-log';

describe('MariaDB probe output (captured from the lab)', () => {
  it('reads the version section', () => {
    expect(parseSections(fixture('mariadb-10.11-version.txt')).get('version')).toEqual([{ version: VERSION }]);
  });

  it('parses a master: no replica section rows, binlog position, writable', () => {
    const f = parseProbe('mariadb', VERSION, fixture('mariadb-10.11-master.txt'));
    expect(f).toEqual({
      flavour: 'mariadb',
      version: VERSION,
      serverId: 1,
      readOnly: false,
      logBin: true,
      logReplicaUpdates: true,
      gtidExecuted: '0-1-7',
      binlog: { file: 'm1-bin.000001', position: 1938 },
    });
  });

  it('parses a running replica', () => {
    const f = parseProbe('mariadb', VERSION, fixture('mariadb-10.11-replica.txt'));
    expect(f.readOnly).toBe(true);
    expect(f.replica).toEqual({
      sourceHost: '127.0.53.11',
      sourcePort: 39181,
      ioThread: 'Yes',
      sqlThread: 'Yes',
      lagSeconds: 0,
      usingGtid: true,
      gtidRetrieved: '0-1-7',
    });
  });

  it('parses a replica whose SQL thread is stopped: lag unknown, not zero', () => {
    const f = parseProbe('mariadb', VERSION, fixture('mariadb-10.11-replica-sql-stopped.txt'));
    expect(f.replica?.sqlThread).toBe('No');
    expect(f.replica?.ioThread).toBe('Yes');
    expect(f.replica?.lagSeconds).toBeNull();
  });
});

describe('batch format', () => {
  it('round-trips escaped tabs, newlines, backslashes and NULL', () => {
    const out = formatBatch(['a', 'b'], [['x\ty\nz\\', null]]);
    expect(out).toBe('a\tb\nx\\ty\\nz\\\\\tNULL\n');
    expect(unescapeBatchValue('x\\ty\\nz\\\\')).toBe('x\ty\nz\\');
  });

  it('names the line that does not parse', () => {
    const text = 'nightshift_section\nvars\na\tb\n1\t2\n1\t2\t3\n';
    expect(() => parseSections(text)).toThrow(BatchParseError);
    try {
      parseSections(text);
    } catch (err) {
      expect((err as BatchParseError).line).toBe(5);
      expect((err as BatchParseError).message).toContain('"1\t2\t3"');
    }
  });

  it('refuses output before the first marker', () => {
    expect(() => parseSections('Warning: something\nnightshift_section\nx\n')).toThrow(/before the first section/);
  });
});

function fakeShell(answers: Array<Partial<ExecResult>>): Shell & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    exec: async (_n: Instance, command: string, _o?: ExecOptions) => {
      commands.push(command);
      const a = answers.shift() ?? {};
      return { code: 0, signal: null, stdout: '', stderr: '', ...a };
    },
    loginCommand: () => 'ssh',
    close: async () => undefined,
  };
}

const node: Instance = {
  id: 'db-2', name: 'db-2', privateIp: '10.0.0.2', az: 'a', type: 't', state: 'running',
  launchTime: '', statusChecks: 'ok', tags: { [MYSQL_CLIENT_TAG]: 'sudo mysql' },
};

describe('MysqlProber', () => {
  it('wraps a parse failure as ProbeError naming the node and the line', async () => {
    const shell = fakeShell([{ stdout: fixture('mariadb-10.11-version.txt') }, { stdout: 'nightshift_section\nvars\na\tb\n1\n' }]);
    const err = await new MysqlProber(shell).probe(node, { client: 'mysql' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect((err as ProbeError).message).toMatch(/^db-2: mysql output line 4 does not parse: expected 2 columns/);
    expect((err as ProbeError).line).toBe(4);
  });

  it('reports the client error line when mysql exits non-zero', async () => {
    const shell = fakeShell([{ code: 1, stderr: "ERROR 2002 (HY000): Can't connect to local server through socket\n" }]);
    await expect(new MysqlProber(shell).probe(node, { client: 'mysql' })).rejects.toThrow(/^db-2: mysql probe failed: ERROR 2002/);
  });

  it('asks the heartbeat table for lag on replicas when configured', async () => {
    const shell = fakeShell([
      { stdout: fixture('mariadb-10.11-version.txt') },
      { stdout: fixture('mariadb-10.11-replica-sql-stopped.txt') },
      { stdout: 'nightshift_section\nheartbeat\nlag_us\n12345678\n' },
    ]);
    const f = await new MysqlProber(shell).probe(node, { client: 'mysql', heartbeatTable: 'percona.heartbeat' });
    expect(f.replica?.lagSeconds).toBe(12.3);
    expect(shell.commands[2]).toContain('FROM `percona`.`heartbeat`');
  });

  it('never asks the heartbeat table on a master', async () => {
    const shell = fakeShell([{ stdout: fixture('mariadb-10.11-version.txt') }, { stdout: fixture('mariadb-10.11-master.txt') }]);
    await new MysqlProber(shell).probe(node, { client: 'mysql', heartbeatTable: 'percona.heartbeat' });
    expect(shell.commands).toHaveLength(2);
  });

  it('parses heartbeat lag: NULL for an empty table, clock skew clamped to 0, garbage refused', () => {
    expect(parseHeartbeat('nightshift_section\nheartbeat\nlag_us\nNULL\n', 't')).toBeNull();
    expect(parseHeartbeat('nightshift_section\nheartbeat\nlag_us\n-2000\n', 't')).toBe(0);
    expect(() => parseHeartbeat('nightshift_section\nheartbeat\nlag_us\nabc\n', 't')).toThrow(/not a whole number/);
    expect(() => heartbeatSql('x; DROP TABLE y')).toThrow(/not schema.table/);
  });
});

describe('EngineProbes client per node', () => {
  it('uses the inventory client tag only when told to trust node tags', async () => {
    const config = { ...configSchema.parse({}), target: 'inventory' as const, inventory: 'x', stateDir: '/tmp' };
    const trusted = new EngineProbes(fakeShell([]), engineOptionsFromConfig(config));
    expect(trusted.mysqlClientFor(node)).toBe('sudo mysql');
    const aws = new EngineProbes(fakeShell([]), engineOptionsFromConfig({ ...config, target: 'aws' }));
    expect(aws.mysqlClientFor(node)).toBe('mysql');
  });
});
