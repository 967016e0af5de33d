// A whole refresh with a deadline (ls --timeout): nothing the backends do
// holds it past the deadline, neither discovery, nor a metrics API that says
// nothing, nor a node that never answers; what answered is published and the
// rest is named.

import { afterEach, describe, expect, it } from 'vitest';
import type { Backends, Shell } from '../../src/backends/ports.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/backends/engines/index.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import type { Instance } from '../../src/domain/types.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { MemoryJobs } from '../helpers/jobs.js';
import { instance } from '../helpers/node-views.js';

function node(n: number): Instance {
  return instance({ id: `i-0000000000000000${n}`, name: `db-${n}`, privateIp: `127.0.5.${n}`, type: 't3.small' });
}

/** Never settles, unless the signal aborts it: a request to a host or an API that takes it and says nothing. */
function silence<T>(signal?: AbortSignal): Promise<T> {
  return new Promise<T>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

/** db-1 answers at once (exit 1: a result, the probe fails with it); db-2 never does. */
function shell(): Shell & { aborted: number } {
  const s = {
    aborted: 0,
    exec: async (n: Instance, _command: string, opts?: { signal?: AbortSignal }) => {
      if (n.name === 'db-1') return { code: 1, signal: null, stdout: '', stderr: 'ERROR 2002 (HY000): no socket\n' };
      return silence<never>(opts?.signal).catch((err: unknown) => {
        s.aborted++;
        throw err;
      });
    },
    loginCommand: () => 'ssh',
    close: async () => {},
  };
  return s;
}

function backends(over: Partial<Backends> & { shell: Shell }): Backends {
  return {
    target: { kind: 'inventory', file: 'test.yaml' },
    clock: { now: () => Date.parse('2026-11-21T00:00:00Z'), sleep: async () => {}, speed: 1 },
    inventory: {
      discover: async () => ({ clusters: [{ name: 'orders', engine: 'mysql', instanceIds: [node(1).id, node(2).id], source: 'inventory' }], instances: [node(1), node(2)] }),
      setTags: async () => {},
      deleteTags: async () => {},
    },
    metrics: { fetch: async () => ({}) },
    jobs: new MemoryJobs(over.shell),
    lock: { acquire: async () => ({ acquired: true }), release: async () => {}, holder: async () => undefined, breakLock: async () => {} },
    close: async () => {},
    ...over,
  };
}

const options = {
  // A long interval: patience alone (40% of it, at most 2 s) would let the refresh end at 2 s, not at the deadline.
  refreshSeconds: 30,
  thresholds: DEFAULT_THRESHOLDS,
  roleTag: 'nightshift:role',
  repairTag: 'last-repaired',
  engine: DEFAULT_ENGINE_OPTIONS,
};

const pollers: Poller[] = [];
afterEach(() => {
  for (const p of pollers.splice(0)) p.stop();
});

function poll(b: Backends) {
  const store = createFleetStore({ target: b.target, refreshSeconds: options.refreshSeconds });
  const poller = new Poller(b, store, options);
  pollers.push(poller);
  return { store, poller };
}

describe('Poller.refreshOnce with a timeout', () => {
  it('discovery that says nothing: timed out at the deadline, the store saying so, never a hang', async () => {
    const { store, poller } = poll(backends({ shell: shell(), inventory: { discover: (o) => silence(o?.signal), setTags: async () => {}, deleteTags: async () => {} } }));
    const started = performance.now();
    const outcome = await poller.refreshOnce({ timeoutMs: 150 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(outcome).toEqual({ discovery: 'timed-out', unanswered: new Set() });
    expect(store.getState().error).toBe('discovery did not answer within 150 ms');
  });

  it('a node that never answers and a metrics API that says nothing: published at the deadline with what answered, the silent node named, its probe let go on stop', async () => {
    const sh = shell();
    const { store, poller } = poll(backends({ shell: sh, metrics: { fetch: (_q, o) => silence(o?.signal) } }));
    const started = performance.now();
    const outcome = await poller.refreshOnce({ timeoutMs: 300 });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    expect(outcome.discovery).toBe('ok');
    expect([...outcome.unanswered]).toEqual([node(2).id]);
    const rows = store.getState().clusters[0]!.nodes;
    const silent = rows.find((n) => n.instance.name === 'db-2')!;
    expect(silent.stale).toBe(true);
    expect(silent.health.reason).toBe('no answer yet (asked 0 s ago)');
    // db-1 answered, with a failure: that is an answer, and its row says what it was.
    expect(rows.find((n) => n.instance.name === 'db-1')!.probeError).toMatch(/2002/);
    expect(store.getState().isRefreshing).toBe(false);

    expect(sh.aborted).toBe(0);
    poller.stop();
    await expect.poll(() => sh.aborted).toBe(1);
  });

  it('hung nodes free their slot after patience: a node behind them in the queue is still asked and answers before the deadline', async () => {
    const sh = shell();
    const nodes = [node(2), node(3), node(1)];
    const b = backends({
      shell: sh,
      inventory: {
        discover: async () => ({ clusters: [{ name: 'orders', engine: 'mysql', instanceIds: nodes.map((n) => n.id), source: 'inventory' }], instances: nodes }),
        setTags: async () => {},
        deleteTags: async () => {},
      },
    });
    const store = createFleetStore({ target: b.target, refreshSeconds: 0.5 });
    // One probe at a time; patience is 40% of the interval: 200 ms.
    const poller = new Poller(b, store, { ...options, refreshSeconds: 0.5, probeConcurrency: 1 });
    pollers.push(poller);
    const started = performance.now();
    const outcome = await poller.refreshOnce({ timeoutMs: 1_000 });
    // The hung nodes keep their slice open until the deadline: they might still have answered.
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect([...outcome.unanswered].sort()).toEqual([node(2).id, node(3).id]);
    expect(store.getState().clusters[0]!.nodes.find((n) => n.instance.name === 'db-1')!.probeError).toMatch(/2002/);
  });

  it('without a timeout, a whole refresh resolves as before with every node answered', async () => {
    const sh: Shell = { exec: async () => ({ code: 1, signal: null, stdout: '', stderr: 'no\n' }), loginCommand: () => 'ssh', close: async () => {} };
    const { poller } = poll(backends({ shell: sh }));
    expect(await poller.refreshOnce()).toEqual({ discovery: 'ok', unanswered: new Set() });
  });
});
