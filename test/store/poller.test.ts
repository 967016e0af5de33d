// The poller against small hand-written ports: a MariaDB master whose probe
// can be made to fail, to show that a failed probe keeps the last values and
// marks the row stale instead of blanking it.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatBatch, MARKER_COLUMN } from '../../src/backends/engines/mysql-batch.js';
import type { Backends, ExecResult, Shell } from '../../src/backends/ports.js';
import type { Instance } from '../../src/domain/types.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { partition, Poller } from '../../src/store/poller.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/backends/engines/index.js';
import { MemoryJobs } from '../helpers/jobs.js';

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
    jobs: new MemoryJobs(shell),
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

/** Fake timers, performance.now and Date for each test of the describe that calls it, from a fixed start. */
function onFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance', 'Date'], now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

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

describe('Poller: hostile text on its way to the fleet store', () => {
  // Anything a terminal acts on: ESC, C1, and C0 but newline.
  const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

  it('cleans names, tags, what a node answers and why a probe failed; unchanged answers stay the same objects', async () => {
    const state = { failing: false, readOnly: '0' };
    const b = backends(mariadbShell(state));
    const hostile = { ...master, name: 'db-\x1b]0;pwned\x071', tags: { team: 'pay\x1b[2Jments', 'k\x9b31m': 'v' } };
    b.inventory.discover = async () => ({
      clusters: [{ name: 'orders\x07', engine: 'mysql', instanceIds: [master.id], source: 'inventory' }],
      instances: [hostile],
    });
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const poller = new Poller(b, store, options);
    await poller.refreshNow();
    const first = store.getState().clusters[0]!;
    expect(first.name).toBe('orders');
    expect(first.nodes[0]!.instance.name).toBe('db-1');
    expect(first.nodes[0]!.instance.tags).toEqual({ team: 'payments', k: 'v' });
    const facts = first.nodes[0]!.facts;
    await poller.refreshNow();
    expect(store.getState().clusters[0]!.nodes[0]!.facts).toBe(facts);

    b.shell.exec = async () => {
      throw new Error('ssh: \x1b]2;owned\x1b\\host key\rchanged\x9b2J');
    };
    await poller.refreshNow();
    expect(store.getState().clusters[0]!.nodes[0]!.health.reason).toBe('probe failed: ssh: host key␍changed');
    b.inventory.discover = async () => {
      throw new Error('AccessDenied for tag value "\x1b[2J"');
    };
    await poller.refreshNow();
    expect(store.getState().error).toBe('discovery failed: AccessDenied for tag value ""');
    // Every string the screens can read, keys included.
    const texts: string[] = [];
    JSON.stringify(store.getState(), (k, v: unknown) => {
      texts.push(k);
      if (typeof v === 'string') texts.push(v);
      return v;
    });
    expect(texts.filter((t) => CONTROL.test(t))).toEqual([]);
  });
});

describe('Poller on a big fleet', () => {
  // 60 clusters of 10 MariaDB nodes: 600 nodes, so a round is 3 ticks of about 200 nodes.
  const clusters = Array.from({ length: 60 }, (_, c) => ({
    name: `orders-${String(c).padStart(2, '0')}`,
    engine: 'mysql' as const,
    instanceIds: Array.from({ length: 10 }, (_, n) => `i-${String(c * 10 + n).padStart(17, '0')}`),
    source: 'inventory' as const,
  }));
  const instances = clusters.flatMap((c) => c.instanceIds.map((id, n): Instance => ({ ...master, id, name: `${c.name}-${n}` })));
  const clusterOfNode = new Map(clusters.flatMap((c) => c.instanceIds.map((id) => [id, c.name] as const)));

  /** Probes by node id, and when each tick's probes ran (fake time). */
  function bigFleet() {
    const probes: Array<{ id: string; at: number }> = [];
    const shell = mariadbShell({ failing: false, readOnly: '0' });
    const exec = shell.exec.bind(shell);
    shell.exec = async (node, command) => {
      if (!command.includes('@@version AS version')) probes.push({ id: node.id, at: Date.now() });
      return exec(node, command);
    };
    const b = backends(shell);
    b.inventory.discover = async () => ({ clusters, instances });
    return { b, probes };
  }

  /** A poller started, as the console starts it, on the big fleet. */
  function startedOnBigFleet() {
    const { b, probes } = bigFleet();
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const poller = new Poller(b, store, options);
    poller.start();
    return { probes, store, poller };
  }

  onFakeClock();

  it('probes the whole fleet first, then a slice at a time, spread over the interval, each cluster whole', async () => {
    const { probes, store, poller } = startedOnBigFleet();
    await vi.advanceTimersByTimeAsync(100);
    expect(new Set(probes.map((p) => p.id)).size).toBe(600);
    // A fleet refreshed in slices is told so from the first refresh on: the header's wording stays the same.
    expect(store.getState().isRolling).toBe(true);
    const firstAt = store.getState().refreshedAt!;
    probes.length = 0;

    // One round: three ticks, 5 s / 3 apart, starting an interval after the first refresh.
    const ticks: Array<{ at: number; ids: Set<string> }> = [];
    for (const dueIn of [5_000, 1_667, 1_667]) {
      await vi.advanceTimersByTimeAsync(dueIn);
      ticks.push({ at: Date.now(), ids: new Set(probes.splice(0).map((p) => p.id)) });
      expect(store.getState().isRolling).toBe(true);
      // Every node of a cluster, or none of it, in one tick.
      const touched = new Set([...ticks.at(-1)!.ids].map((id) => clusterOfNode.get(id)!));
      for (const name of touched) {
        const ids = clusters.find((c) => c.name === name)!.instanceIds;
        expect(ids.every((id) => ticks.at(-1)!.ids.has(id))).toBe(true);
      }
    }
    for (const t of ticks) expect(t.ids.size).toBeGreaterThan(150);
    for (const t of ticks) expect(t.ids.size).toBeLessThan(250);
    // Each node once a round.
    const all = ticks.flatMap((t) => [...t.ids]);
    expect(all).toHaveLength(600);
    expect(new Set(all).size).toBe(600);
    // Until the last slice is done, the oldest data shown is the first refresh's.
    expect(store.getState().refreshedAt).toBeGreaterThan(firstAt);
    expect(store.getState().refreshedAt).toBeLessThanOrEqual(ticks[0]!.at);
    poller.stop();
  });

  it('shows the first refresh as it comes in, slice by slice, then says it has the whole fleet', async () => {
    const { b } = bigFleet();
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const seen: Array<{ clusters: number; progress: { done: number; total: number } | null; whole: boolean; refreshing: boolean }> = [];
    store.subscribe((s, prev) => {
      if (s.clusters !== prev.clusters) seen.push({ clusters: s.clusters.length, progress: s.progress, whole: s.hasWholeFleet, refreshing: s.isRefreshing });
    });
    await new Poller(b, store, options).refreshNow();
    expect(seen).toHaveLength(3);
    expect(seen.map((x) => x.whole)).toEqual([false, false, true]);
    expect(seen.map((x) => x.refreshing)).toEqual([true, true, false]);
    expect(seen[0]!.progress).toEqual({ done: seen[0]!.clusters, total: 60 });
    expect(seen[1]!.clusters).toBeGreaterThan(seen[0]!.clusters);
    expect(seen[2]).toMatchObject({ clusters: 60, progress: null });
  });

  it('a node that does not answer holds up neither the first refresh nor the slices after its own', async () => {
    const { b } = bigFleet();
    const exec = b.shell.exec.bind(b.shell);
    const silent = clusters[0]!.instanceIds[3]!;
    b.shell.exec = async (node, command, opts) => (node.id === silent ? new Promise<never>(() => {}) : exec(node, command, opts));
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const published: Array<{ at: number; clusters: number }> = [];
    store.subscribe((s, prev) => {
      if (s.clusters !== prev.clusters) published.push({ at: Date.now() - 1_000_000, clusters: s.clusters.length });
    });
    const poller = new Poller(b, store, options);
    poller.start();
    // The two slices without the silent node are out at once; its own slice after the 2 s patience.
    await vi.advanceTimersByTimeAsync(100);
    expect(published).toHaveLength(2);
    expect(store.getState().progress).not.toBeNull();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(published).toHaveLength(3);
    expect(published[2]).toMatchObject({ clusters: 60 });
    expect(store.getState().hasWholeFleet).toBe(true);
    // Then a slice every 5/3 s from 5 s on, each published when due: the silent node is still being asked.
    published.length = 0;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(published.map((p) => Math.round(p.at / 100) * 100)).toEqual([5_000, 6_700, 8_300, 10_000]);
    const row = store.getState().clusters.flatMap((c) => c.nodes).find((n) => n.instance.id === silent)!;
    expect(row.health.reason).toMatch(/^no answer yet \(asked \d+ s ago\)$/);
    poller.stop();
  });

  it('r probes everything at once, and the next round waits an interval from then', async () => {
    const { probes, store, poller } = startedOnBigFleet();
    await vi.advanceTimersByTimeAsync(5_100);
    probes.length = 0;
    await poller.refreshNow();
    expect(new Set(probes.map((p) => p.id)).size).toBe(600);
    expect(store.getState().isRolling).toBe(true);
    probes.length = 0;
    await vi.advanceTimersByTimeAsync(4_900);
    expect(probes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(probes.length).toBeGreaterThan(150);
    expect(probes.length).toBeLessThan(250);
    poller.stop();
  });

  it('a small fleet is probed whole every interval', async () => {
    const shell = mariadbShell({ failing: false, readOnly: '0' });
    const store = createFleetStore({ target: { kind: 'inventory', file: 'test.yaml' }, refreshSeconds: 5 });
    const poller = new Poller(backends(shell), store, options);
    poller.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(shell.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(shell.calls).toBe(3);
    expect(store.getState().isRolling).toBe(false);
    poller.stop();
  });
});

describe('Poller with a node that does not answer', () => {
  // Two clusters: orders (db-1, a MariaDB master) and billing (db-2, another); db-1's sshd hangs.
  const other: Instance = { ...master, id: 'i-00000000000000002', name: 'db-2', privateIp: '127.0.5.2' };

  function hangingFleet() {
    const state = { failing: false, readOnly: '0' };
    const shell = mariadbShell(state);
    const answer = shell.exec.bind(shell);
    const asked: string[] = [];
    // While hung, db-1 answers nothing until released: an sshd that accepted the connection and went quiet.
    let gate: { promise: Promise<void>; release: () => void } | undefined;
    const hang = () => {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      gate = { promise, release };
    };
    hang();
    shell.exec = async (node, command, opts) => {
      asked.push(node.name);
      if (node.id === master.id && gate) await gate.promise;
      return answer(node, command, opts);
    };
    const b = backends(shell);
    b.inventory.discover = async () => ({
      clusters: [
        { name: 'orders', engine: 'mysql', instanceIds: [master.id], source: 'inventory' },
        { name: 'billing', engine: 'mysql', instanceIds: [other.id], source: 'inventory' },
      ],
      instances: [master, other],
    });
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    const poller = new Poller(b, store, options);
    const node = (name: string) => store.getState().clusters.flatMap((c) => c.nodes).find((n) => n.instance.name === name)!;
    const release = () => {
      gate?.release();
      gate = undefined;
    };
    return { store, poller, asked, node, release, hang };
  }

  onFakeClock();

  it('publishes the rest of the fleet after a short wait, and says the silent node has not answered', async () => {
    const { store, poller, node } = hangingFleet();
    poller.start();
    await vi.advanceTimersByTimeAsync(1_900);
    // Still within the patience: nothing shown yet, rather than a half-probed fleet.
    expect(store.getState().clusters).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(store.getState().isRefreshing).toBe(false);
    expect(node('db-2')).toMatchObject({ role: 'master', stale: false });
    expect(node('db-1').health).toEqual({ level: 'UNKNOWN', reason: 'no answer yet (asked 2 s ago)' });
    expect(node('db-1').stale).toBe(true);
    poller.stop();
  });

  it('a node EC2 reports failing holds nothing: the fleet is out at once, its row says so, its probe goes on beside', async () => {
    const { store, poller, asked, node, release } = hangingFleet();
    const b = (poller as unknown as { backends: { inventory: { discover: () => Promise<{ instances: Instance[] }> } } }).backends;
    const discover = b.inventory.discover.bind(b.inventory);
    // db-1's AZ went dark: EC2's reachability check fails, as in the sim's az-outage.
    b.inventory.discover = async () => {
      const found = await discover();
      return { ...found, instances: found.instances.map((i) => (i.id === master.id ? { ...i, statusChecks: 'impaired' as const } : i)) };
    };
    poller.start();
    await vi.advanceTimersByTimeAsync(50);
    // No patience spent on it: the picture is out before the 2 s a silent node costs.
    expect(store.getState().isRefreshing).toBe(false);
    expect(node('db-2')).toMatchObject({ role: 'master', stale: false });
    expect(node('db-1').health).toEqual({ level: 'CRIT', reason: 'EC2 status checks failing' });
    // Asked all the same, beside the rest; its answer shows when it comes.
    expect(asked).toContain('db-1');
    release();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(node('db-1').facts?.kind).toBe('mysql');
    poller.stop();
  });

  it('keeps every later round on time, asks the silent node nothing more, and shows its answer when it comes', async () => {
    const { store, poller, asked, node, release } = hangingFleet();
    poller.start();
    await vi.advanceTimersByTimeAsync(2_100);
    const firstAt = node('db-2').updatedAt;
    // Rounds every 5 s from the first refresh's start, each published at once: no wait on db-1 again.
    for (let round = 1; round <= 3; round++) {
      await vi.advanceTimersByTimeAsync(round === 1 ? 2_900 : 5_000);
      expect(node('db-2').updatedAt).toBe(firstAt + round * 5_000);
      expect(node('db-1').health.reason).toBe(`no answer yet (asked ${round * 5} s ago)`);
    }
    // One question to db-1 (its version and its state are one exec each), while db-2 was asked every round.
    expect(asked.filter((n) => n === 'db-1')).toHaveLength(1);
    expect(asked.filter((n) => n === 'db-2').length).toBeGreaterThanOrEqual(5);
    release();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(node('db-1')).toMatchObject({ role: 'master', stale: false });
    expect(node('db-1').health.level).toBe('OK');
    expect(store.getState().clusters.find((c) => c.name === 'orders')!.health.level).toBe('OK');
    poller.stop();
  });

  it('on a node that answered before, keeps its last answer and says how long it has been silent', async () => {
    const { poller, node, release, hang } = hangingFleet();
    poller.start();
    await vi.advanceTimersByTimeAsync(2_100);
    release();
    await vi.advanceTimersByTimeAsync(2_900);
    expect(node('db-1').health.level).toBe('OK');
    const answeredAt = node('db-1').updatedAt;
    // The next round (at 10 s) asks again, and this time db-1 goes quiet: its row comes 2 s later.
    hang();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(node('db-1').stale).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(node('db-1')).toMatchObject({ role: 'master', stale: true, updatedAt: answeredAt });
    expect(node('db-1').health).toEqual({ level: 'WARN', reason: 'no answer for 2 s (values from its last answer)' });
    poller.stop();
  });
});

describe('partition', () => {
  it('keeps the order, uses every item once, and balances the weights', () => {
    const weights = [5, 1, 1, 8, 2, 2, 3, 9, 1, 1, 4, 3];
    const parts = partition(weights, (w) => w, 4);
    expect(parts).toHaveLength(4);
    expect(parts.flat()).toEqual(weights);
    for (const p of parts) expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(15);
  });

  it('gives fewer runs than asked when there are fewer items, never an empty run', () => {
    expect(partition([3, 4], (w) => w, 5).every((p) => p.length > 0)).toBe(true);
    expect(partition([], (w: number) => w, 3)).toEqual([[]]);
  });
});
