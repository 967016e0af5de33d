import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/backends/inventory/inventory-file.js';
import { ConfigError } from '../../../src/errors.js';

const F = '/etc/nightshift/fleet.yaml';

function errorOf(text: string): ConfigError {
  try {
    parseInventory(F, text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no error');
}

const GOOD = `ssh:
  configFile: ssh_config
  jump: ops@bastion
defaults:
  engine: mysql
  cluster: orders
  user: ec2-user
  tags:
    team: payments
hosts:
  - name: db-a1
    host: 10.0.1.11
    az: eu-west-1a
    role: master
  - name: db-a2
    host: db-a2.internal
    port: 2222
    privateIp: 10.0.1.12
    mysqlClient: sudo mysql
    tags:
      tier: gold
  - name: cass-1
    cluster: events
    engine: cassandra
    host: 10.0.2.1
`;

describe('inventory file', () => {
  it('reads hosts with defaults merged and ssh paths made absolute next to the file', () => {
    const inv = parseInventory(F, GOOD);
    expect(inv.ssh).toEqual({ configFile: '/etc/nightshift/ssh_config', jump: 'ops@bastion' });
    expect(inv.hosts.map((h) => [h.name, h.cluster, h.engine, h.user])).toEqual([
      ['db-a1', 'orders', 'mysql', 'ec2-user'],
      ['db-a2', 'orders', 'mysql', 'ec2-user'],
      ['cass-1', 'events', 'cassandra', 'ec2-user'],
    ]);
    expect(inv.hosts[1]).toMatchObject({ port: 2222, privateIp: '10.0.1.12', mysqlClient: 'sudo mysql', tags: { team: 'payments', tier: 'gold' } });
  });

  it.each([
    ['a port that is not a number', GOOD.replace('port: 2222', 'port: twenty'), 17, 'hosts[1].port', /number/],
    ['an unknown key', GOOD.replace('    az: eu-west-1a', '    zone: eu-west-1a'), 13, 'hosts[0].zone', /unknown key/],
    ['a missing host', GOOD.replace('    host: 10.0.2.1\n', ''), 22, 'hosts[2].host', /required/],
    ['a tag that is not a string', GOOD.replace('tier: gold', 'tier: 3'), 21, 'hosts[1].tags.tier', /string/],
    ['a duplicate name', GOOD.replace('name: cass-1', 'name: db-a1'), 22, 'hosts[2].name', /already the name of hosts\[0\]/],
    ['a cluster with two engines', GOOD.replace('    engine: cassandra\n', '').replace('cluster: events', 'cluster: orders').replace('    cluster: orders\n    host: 10.0.2.1', '    cluster: orders\n    engine: cassandra\n    host: 10.0.2.1'), 24, 'hosts[2].engine', /cluster orders is mysql/],
    ['a bad default (pointing at the defaults line)', GOOD.replace('  engine: mysql', '  engine: postgres'), 5, 'defaults.engine', /mysql|cassandra/],
    ['an unknown top-level key', `hostz: []\n${GOOD}`, 1, 'hostz', /unknown key/],
  ])('names file, line and key for %s', (_what, text, line, key, problem) => {
    const err = errorOf(text);
    expect({ file: err.file, line: err.line, key: err.key }).toEqual({ file: F, line, key });
    expect(err.problem).toMatch(problem);
    expect(err.message).toBe(`${F}:${line}: ${key}: ${err.problem}`);
  });

  it('names the line of a YAML syntax error', () => {
    const err = errorOf('hosts:\n  - name: a\n    host: [unclosed\n');
    expect(err.line).toBeGreaterThanOrEqual(3);
    expect(err.problem).toMatch(/not valid YAML/);
  });

  it('refuses a relative datadir and a spare that is not a boolean, naming file, line and key', () => {
    const base = 'hosts:\n  - name: a\n    cluster: c\n    engine: mysql\n    host: 10.0.0.1\n';
    const rel = errorOf(`${base}    datadir: var/lib/mysql\n`);
    expect([rel.file, rel.line, rel.key]).toEqual([F, 6, 'hosts[0].datadir']);
    expect(rel.problem).toMatch(/absolute path/);
    const spare = errorOf(`${base}    spare: "yes"\n`);
    expect([spare.file, spare.line, spare.key]).toEqual([F, 6, 'hosts[0].spare']);
    expect(spare.problem).toMatch(/true or false/);
    const ok = parseInventory(F, `${base}    spare: true\n    datadir: /var/lib/mysql\n`).hosts[0]!;
    expect([ok.spare, ok.datadir]).toEqual([true, '/var/lib/mysql']);
  });

  it('refuses an empty host list and a file that is not a mapping', () => {
    expect(errorOf('hosts: []\n').problem).toMatch(/at least one host/);
    expect(errorOf('- just\n- a list\n').problem).toMatch(/mapping with a `hosts:` list/);
  });

  it('reads from disk, naming an unreadable file', async () => {
    const { loadInventoryFile } = await import('../../../src/backends/inventory/inventory-file.js');
    const dir = mkdtempSync(join(tmpdir(), 'ns-inv-'));
    writeFileSync(join(dir, 'inv.yaml'), GOOD);
    expect(loadInventoryFile(join(dir, 'inv.yaml')).hosts).toHaveLength(3);
    expect(() => loadInventoryFile(join(dir, 'missing.yaml'))).toThrow(/cannot read the inventory: ENOENT/);
  });
});
