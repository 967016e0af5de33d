// The failover runbook on the simulated fleet, in process, on both flavours:
// a master whose host hangs (no SSH, no MySQL, replicas' IO threads
// reconnecting) is fenced (stopped, tagged), the replicas apply their relay
// logs, the most advanced is promoted and the other follows it, with the
// writer record and tags. After every journal record the world is read
// directly: at no instant may two nodes accept writes. And every refusal the
// issue names leaves the world as it was.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate, type Gate } from '../../../src/actions/engine/gate.js';
import { readJournal } from '../../../src/actions/engine/journal.js';
import type { RunRecord } from '../../../src/actions/engine/records.js';
import { executeRun, prepareRun } from '../../../src/actions/engine/runner.js';
import { failoverRunbook, FENCED_TAG } from '../../../src/actions/runbooks/failover.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { foldRun } from '../../../src/store/runs.js';
import { sql } from '../../backends/sim/sim-helpers.js';
import { delayAt } from '../../../src/backends/sim/replication.js';
import { makeDeps } from '../helpers.js';
import { members, onVirtualTime, sourceOf, world, writable, writerValues } from './mysql-sim.js';

async function failover(b: SimBackends, stateDir: string, params: Record<string, unknown>, opts: { gate?: Gate; backends?: SimBackends } = {}) {
  const cluster = params.cluster as string;
  const violations: string[] = [];
  const deps = makeDeps(opts.backends ?? b, opts.gate ?? createHeadlessGate({ yes: true, confirm: [cluster] }), stateDir, {
    onEvent: (r: RunRecord) => {
      const w = writable(b, cluster);
      if (w.length > 1) violations.push(`${r.type}${'stepId' in r ? ` ${String(r.stepId)}` : ''}: ${w.join(', ')} writable`);
    },
  });
  const ac = new AbortController();
  const prepared = await onVirtualTime(b, prepareRun(failoverRunbook, params, deps, ac.signal));
  const outcome = await onVirtualTime(b, executeRun(prepared, deps, ac.signal));
  return { prepared, outcome, violations };
}

/** The cluster's master hangs now (no SSH, no MySQL); a moment later its replicas' IO threads reconnect in vain. */
async function killMaster(b: SimBackends, cluster: string) {
  const [m1] = members(b, cluster);
  b.world.inject({ kind: 'kill-node', node: m1!.id });
  (b.clock as unknown as { advance(ms: number): void }).advance(5_000);
  return m1!;
}

/** Names, read-only flags and sources: changes if anything a refusal must not touch moved. */
const topology = (b: SimBackends, cluster: string) => JSON.stringify(members(b, cluster).map((m) => [m.name, m.mysql.readOnly, m.mysql.replica?.sourceHost, m.mysql.replica?.io]));

describe.each([
  ['catalog-db', 'MariaDB 11.4'],
  ['payments-db', 'MySQL 8.4'],
  ['audit-db', 'MySQL 8.0'],
])('failover of %s (%s) on the simulated fleet', (cluster) => {
  it('fences the dead master, promotes the most advanced replica, the other follows it, writer record and tags move, never two writable', async () => {
    const { backends, stateDir } = await world();
    const m1 = await killMaster(backends, cluster);
    const [, m2, m3] = members(backends, cluster);
    const { prepared, outcome, violations } = await failover(backends, stateDir, { cluster });
    expect(prepared.blocked).toBeUndefined();
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(violations).toEqual([]);
    const [now] = writable(backends, cluster);
    expect([m2!.name, m3!.name]).toContain(now);
    const other = now === m2!.name ? m3! : m2!;
    expect(writable(backends, cluster)).toEqual([now]);
    expect(sourceOf(backends, cluster, other.name)).toBe(now);
    const o = members(backends, cluster).find((m) => m.name === other.name)!.mysql;
    expect(o.replica?.io && o.replica.sql).toBe(true);
    expect(await writerValues(backends, cluster)).toEqual([members(backends, cluster).find((m) => m.name === now)!.ip]);
    // Fenced: stopped, and tagged with the run.
    const found = (await backends.inventory.discover()).instances;
    const old = found.find((i) => i.id === m1.id)!;
    expect(old.state).toBe('stopped');
    expect(old.tags[FENCED_TAG]).toBe(outcome.runId);
    expect(found.find((i) => i.name === now)!.tags['nightshift:role']).toBe('master');
    const view = foldRun(readJournal(outcome.journal!).records)!;
    expect(view.steps.map((s) => s.id)).toEqual(['fence', 'relay-logs', 'choose', 'promote', 'repoint', 'dns', 'tags', 'verify', 'redundancy']);
    expect(JSON.stringify(readJournal(outcome.journal!).records)).not.toContain('sim-repl-not-a-secret');
    expect(await backends.lock.holder({ name: cluster })).toBeUndefined();
  });
});

describe('failover with a lagging replica', () => {
  it('waits for the heartbeat as long as the replica lags, and says so', async () => {
    // master-down: search-db's master is dead; its third node's lag wanders up to minutes.
    const { backends, stateDir } = await world('master-down');
    const cluster = 'search-db';
    const [, m2, m3] = members(backends, cluster);
    const advance = (ms: number) => (backends.clock as unknown as { advance(ms: number): void }).advance(ms);
    for (let i = 0; i < 120 && delayAt(backends.world.view(), m3!.id, backends.clock.now()) < 100; i++) advance(60_000);
    expect(delayAt(backends.world.view(), m3!.id, backends.clock.now())).toBeGreaterThanOrEqual(100);
    const { outcome, violations } = await failover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(violations).toEqual([]);
    const out = readJournal(outcome.journal!).records.filter((r) => r.type === 'step-output' && r.stepId === 'verify').map((r) => (r as { text: string }).text).join('');
    expect(out).toMatch(/worst replica lag now \d+ s: the heartbeat may take that long to arrive/);
  });
});

describe('failover refusals: nothing changed', () => {
  const cluster = 'catalog-db';

  it('a live writable master: refused, it says to use switchover', async () => {
    const { backends, stateDir } = await world();
    const was = topology(backends, cluster);
    const { prepared, outcome } = await failover(backends, stateDir, { cluster });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toMatch(/has a live master, there is nothing to fail over \(a planned change is `switchover`\)/);
    expect(topology(backends, cluster)).toBe(was);
  });

  it('a master out of nightshift\'s reach while its replicas still replicate from it: refused, the master is alive', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    backends.world.inject({ kind: 'ssh-refused', node: m1!.id });
    const was = topology(backends, cluster);
    const { prepared, outcome } = await failover(backends, stateDir, { cluster });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toContain(`${m2!.name}, ${m3!.name} still replicate from ${m1!.name} (IO thread Yes): the master is alive`);
    expect(topology(backends, cluster)).toBe(was);
    expect((await backends.inventory.discover()).instances.find((i) => i.id === m1!.id)!.state).toBe('running');
  });

  it.each([
    ['an unknown candidate', () => 'nope-db-9', /nope-db-9/],
    ['a candidate from another cluster', () => 'audit-db-02', /audit-db-02 is a node of cluster audit-db, not of catalog-db/],
  ])('%s: refused before anything is fenced', async (_what, pick, why) => {
    const { backends, stateDir } = await world();
    const m1 = await killMaster(backends, cluster);
    const was = topology(backends, cluster);
    const { prepared, outcome } = await failover(backends, stateDir, { cluster, candidate: pick() });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toMatch(why);
    expect(topology(backends, cluster)).toBe(was);
    expect((await backends.inventory.discover()).instances.find((i) => i.id === m1.id)!.state).toBe('running');
  });

  it('a candidate tagged nightshift:promotion=never: refused, naming the rule', async () => {
    const { backends, stateDir } = await world();
    const [, m2] = members(backends, cluster);
    await backends.inventory.setTags(m2!.id, { 'nightshift:promotion': 'never' });
    await killMaster(backends, cluster);
    const { prepared, outcome } = await failover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toContain(`${m2!.name} cannot be promoted`);
    expect(prepared.blocked).toContain('never');
  });

  it('a candidate short of transactions another replica has: refused, naming the missing GTIDs', async () => {
    const { backends, stateDir } = await world();
    const [, m2] = members(backends, cluster);
    // m2's IO thread stops a minute before the master dies: m3 received a minute more.
    const node = (await backends.inventory.discover()).instances.find((i) => i.id === m2!.id)!;
    expect((await sql(backends, node, 'STOP SLAVE IO_THREAD')).code).toBe(0);
    (backends.clock as unknown as { advance(ms: number): void }).advance(60_000);
    await killMaster(backends, cluster);
    const was = topology(backends, cluster);
    const { prepared, outcome } = await failover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toMatch(new RegExp(`${m2!.name} is not the most advanced replica: it lacks 0-\\d+-\\d+(-\\d+)? \\(`));
    expect(prepared.blocked).toContain('promoting it would lose those transactions');
    expect(topology(backends, cluster)).toBe(was);
  });
});

describe('fencing where nightshift cannot', () => {
  it('without a compute API the operator fences by hand: the cluster name is not enough, the master\'s own name is', async () => {
    const cluster = 'catalog-db';
    const { backends, stateDir } = await world();
    const m1 = await killMaster(backends, cluster);
    const noCompute = { ...backends, compute: undefined, unavailable: { compute: 'no EC2 here' } } as unknown as SimBackends;
    const first = await failover(backends, stateDir, { cluster }, { backends: noCompute });
    expect(first.outcome.status).toBe('stopped');
    expect(first.outcome.reason).toContain(`pass --confirm ${m1.name}`);
    expect(writable(backends, cluster)).toEqual([]);
    const plan = first.prepared.plan?.flatMap((s) => s.describe) ?? [];
    expect(plan.join('\n')).toContain(`Fence ${m1.name} by hand`);
    const second = await failover(backends, stateDir, { cluster }, { backends: noCompute, gate: createHeadlessGate({ yes: true, confirm: [m1.name] }) });
    expect(second.outcome.status, second.outcome.reason).toBe('succeeded');
    expect(second.violations).toEqual([]);
    expect(writable(backends, cluster)).toHaveLength(1);
  });
});
