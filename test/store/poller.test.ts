// The poller against small hand-written ports: a MariaDB master whose probe
// can be made to fail, to show that a failed probe keeps the last values and
// marks the row stale instead of blanking it.

import { describe, expect, it } from 'vitest';
import { formatBatch, MARKER_COLUMN } from '../../src/backends/engines/mysql-batch.js';
import type { Backends, ExecResult, Shell } from '../../src/backends/ports.js';
import type { Instance } from '../../src/domain/types.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/backends/engines/index.js';

const master: Instance = {
  id: 'i-00000000000000001',
  name: 'db-1',
  privateIp: '127.0.5.1',
  az: 'us-east-1a',
  type: 't3.small',
  state: 'running',
  launchTime: '2026-11-01T00:00:00Z',
  statusChecks: 'ok',
  tags: {},
};

function section(name: string): string {
  return formatBatch([MARKER_COLUMN], [[name]]);
}

// Answers exactly the two probes the MySQL prober sends, as `mysql --batch` would.
function mariadbShell(state: { failing: boolean; readOnly: string }): Shell & { calls: number } {
  const shell = {
    calls: 0,
    async exec(_node: Instance, command: string): Promise<ExecResult> {
      shell.calls++;
      if (state.failing) throw new Error('connect ECONNREFUSED 127.0.5.1:22');
      if (command.includes('@@version AS version')) {
        return { code: 0, signal: null, stderr: '', stdout: section('version') + formatBatch(['version'], [['10.11.6-MariaDB-log']]) };
      }
      const stdout =
        section('vars') +
        formatBatch(
          ['server_id', 'read_only', 'log_bin', 'log_replica_updates', 'gtid_executed'],
          [['1', state.readOnly, '1', '1', '0-1-42']],
        ) +
        section('binlog') +
        formatBatch(['File', 'Position', 'Binlog_Do_DB', 'Binlog_Ignore_DB'], [['mysql-bin.000003', '1234', '', '']]) +
        section('replica');
      return { code: 0, signal: null, stderr: '', stdout };
    },
    loginCommand: () => 'ssh 127.0.5.1',
    close: async () => {},
  };
  return shell;
}

function backends(shell: Shell): Backends {
  return {
    target: { kind: 'inventory', file: 'test.yaml' },
    clock: { now: () => Date.parse('2026-11-21T00:00:00Z'), sleep: async () => {}, speed: 1 },
    inventory: {
      discover: async () => ({
        clusters: [{ name: 'orders', engine: 'mysql', instanceIds: [master.id], source: 'inventory' }],
        instances: [master],
      }),
      setTags: async () => {},
      deleteTags: async () => {},
    },
    metrics: { fetch: async () => ({}) },
    shell,
    lock: {
      acquire: async () => ({ acquired: true }),
      release: async () => {},
      holder: async () => undefined,
      breakLock: async () => {},
    },
    close: async () => {},
  };
}

const options = {
  refreshSeconds: 5,
  thresholds: DEFAULT_THRESHOLDS,
  roleTag: 'nightshift:role',
  repairTag: 'last-repaired',
  engine: DEFAULT_ENGINE_OPTIONS,
};

describe('Poller', () => {
  it('publishes what the server says, then keeps it and marks the row stale when a probe fails', async () => {
    const state = { failing: false, readOnly: '0' };
    const shell = mariadbShell(state);
    const store = createFleetStore({ target: { kind: 'inventory', file: 'test.yaml' }, refreshSeconds: 5 });
    let now = 1_000;
    const poller = new Poller(backends(shell), store, { ...options, now: () => now });

    await poller.refreshNow();
    let node = store.getState().clusters[0]!.nodes[0]!;
    expect(node.probeError).toBeUndefined();
    expect(node.role).toBe('master');
    expect(node.stale).toBe(false);
    expect(node.updatedAt).toBe(1_000);
    expect(node.facts).toMatchObject({ kind: 'mysql', mysql: { gtidExecuted: '0-1-42', binlog: { position: 1234 } } });

    state.failing = true;
    now = 6_000;
    await poller.refreshNow();
    node = store.getState().clusters[0]!.nodes[0]!;
    expect(node.stale).toBe(true);
    expect(node.updatedAt).toBe(1_000);
    expect(node.facts).toMatchObject({ kind: 'mysql', mysql: { gtidExecuted: '0-1-42' } });
    expect(node.health).toEqual({ level: 'UNKNOWN', reason: 'probe failed: connect ECONNREFUSED 127.0.5.1:22' });
    expect(store.getState().clusters[0]!.findings.map((f) => f.kind)).toEqual(['no-node-answered']);
  });

  it('remembers the flavour: one exec per probe after the first', async () => {
    const shell = mariadbShell({ failing: false, readOnly: '0' });
    const store = createFleetStore({ target: { kind: 'inventory', file: 'test.yaml' }, refreshSeconds: 5 });
    const poller = new Poller(backends(shell), store, options);
    await poller.refreshNow();
    expect(shell.calls).toBe(2);
    await poller.refreshNow();
    expect(shell.calls).toBe(3);
  });

  it('keeps the last clusters and says why when discovery fails', async () => {
    const shell = mariadbShell({ failing: false, readOnly: '0' });
    const b = backends(shell);
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const poller = new Poller(b, store, options);
    await poller.refreshNow();
    b.inventory.discover = async () => {
      throw new Error('Rate exceeded');
    };
    await poller.refreshNow();
    expect(store.getState().error).toBe('discovery failed: Rate exceeded');
    expect(store.getState().clusters).toHaveLength(1);
  });
});
