// The switchover runbook on the simulated fleet, in process, on both flavours:
// the sim's servers answer read_only, STOP/RESET/CHANGE/START, the GTID waits
// and the heartbeat table, its writer records swap with INSYNC, and virtual
// time moves only when nothing else can happen. After every journal record
// the world is read directly: at no instant may two nodes accept writes.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate, type Gate } from '../../../src/actions/engine/gate.js';
import { readJournal } from '../../../src/actions/engine/journal.js';
import type { RunRecord } from '../../../src/actions/engine/records.js';
import { executeRun, prepareRun } from '../../../src/actions/engine/runner.js';
import { buildParams } from '../../../src/commands/run.js';
import { switchoverRunbook } from '../../../src/actions/runbooks/switchover.js';
import type { Shell } from '../../../src/backends/ports.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { foldRun } from '../../../src/store/runs.js';
import { probeMysql, sql } from '../../backends/sim/sim-helpers.js';
import { makeDeps, tempStateDir } from '../helpers.js';
import { failingShell, members, onVirtualTime, opened, sourceOf, world, writable, writerValues } from './mysql-sim.js';

async function switchover(b: SimBackends, stateDir: string, params: Record<string, unknown>, opts: { gate?: Gate; shell?: Shell; backends?: SimBackends } = {}) {
  const cluster = params.cluster as string;
  const violations: string[] = [];
  const base = opts.backends ?? b;
  const backends = opts.shell ? ({ ...base, shell: opts.shell } as SimBackends) : base;
  const deps = makeDeps(backends, opts.gate ?? createHeadlessGate({ yes: true, confirm: [cluster] }), stateDir, {
    onEvent: (r: RunRecord) => {
      const w = writable(b, cluster);
      if (w.length > 1) violations.push(`${r.type}${'stepId' in r ? ` ${String(r.stepId)}` : ''}: ${w.join(', ')} writable`);
    },
  });
  const ac = new AbortController();
  const prepared = await prepareRun(switchoverRunbook, params, deps, ac.signal);
  const outcome = await onVirtualTime(b, executeRun(prepared, deps, ac.signal));
  return { prepared, outcome, violations };
}

describe.each([
  ['catalog-db', 'MariaDB 11.4'],
  ['payments-db', 'MySQL 8.4'],
  ['audit-db', 'MySQL 8.0'],
])('switchover of %s (%s) on the simulated fleet', (cluster) => {
  it('moves the writes to the candidate: new master writable, everyone replicates from it, writer record follows, never two writable', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    expect(writable(backends, cluster)).toEqual([m1!.name]);
    const { prepared, outcome, violations } = await switchover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(prepared.blocked).toBeUndefined();
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(violations).toEqual([]);
    expect(writable(backends, cluster)).toEqual([m2!.name]);
    expect(sourceOf(backends, cluster, m2!.name)).toBeUndefined();
    expect(sourceOf(backends, cluster, m1!.name)).toBe(m2!.name);
    expect(sourceOf(backends, cluster, m3!.name)).toBe(m2!.name);
    const old = members(backends, cluster).find((m) => m.name === m1!.name)!.mysql;
    expect(old.readOnly).toBe(true);
    expect(old.replica?.io && old.replica.sql).toBe(true);
    expect(await writerValues(backends, cluster)).toEqual([m2!.ip]);
    const tags = (await backends.inventory.discover()).instances;
    expect(tags.find((i) => i.id === m2!.id)!.tags['nightshift:role']).toBe('master');
    expect(tags.find((i) => i.id === m1!.id)!.tags['nightshift:role']).toBe('replica');
    const view = foldRun(readJournal(outcome.journal!).records)!;
    expect(view.steps.map((s) => s.id)).toEqual(['readonly', 'catch-up', 'promote', `repoint:${m3!.name}`, 'old-master', 'dns', 'tags', 'verify']);
    expect(view.steps.every((s) => s.status === 'ok')).toBe(true);
    // The password reaches the servers on stdin only: never the journal.
    expect(JSON.stringify(readJournal(outcome.journal!).records)).not.toContain('sim-repl-not-a-secret');
    expect(await backends.lock.holder({ name: cluster })).toBeUndefined();
  });
});

/** The undo ran both compensations for real: the old master was read-only and the section was left by undo. */
function expectUndone(journal: string) {
  const records = readJournal(journal).records;
  expect(records.some((r) => r.type === 'section' && r.action === 'opened')).toBe(true);
  const comps = records.filter((r): r is Extract<RunRecord, { type: 'compensation' }> => r.type === 'compensation' && r.status === 'ok');
  expect(comps.map((c) => c.stepId)).toContain('readonly');
  expect(comps.find((c) => c.stepId === 'readonly')!.via).toBe('run');
  expect(records.some((r) => r.type === 'undo' && r.action === 'finished' && r.ok)).toBe(true);
}

describe('switchover refusals and the way back', () => {
  const cluster = 'catalog-db';

  it('a promotion the candidate refuses (S5 fails) restores the old topology and fails the run', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    const shell = failingShell(backends.shell, m2!.name, /RESET (SLAVE|REPLICA) ALL/);
    const { outcome, violations } = await switchover(backends, stateDir, { cluster, candidate: m2!.name }, { shell });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('Access denied');
    expect(violations).toEqual([]);
    expectUndone(outcome.journal!);
    expect(writable(backends, cluster)).toEqual([m1!.name]);
    expect(sourceOf(backends, cluster, m2!.name)).toBe(m1!.name);
    expect(sourceOf(backends, cluster, m3!.name)).toBe(m1!.name);
    expect(members(backends, cluster).find((m) => m.name === m2!.name)!.mysql.readOnly).toBe(true);
    expect(await writerValues(backends, cluster)).toEqual([m1!.ip]);
    expect(await backends.lock.holder({ name: cluster })).toBeUndefined();
  });

  it('a promotion that ran but whose answer was lost is undone too: the candidate read-only and a replica again before the old master is writable', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    const shell = failingShell(backends.shell, m2!.name, /RESET (SLAVE|REPLICA) ALL/, 'lost');
    const { outcome, violations } = await switchover(backends, stateDir, { cluster, candidate: m2!.name }, { shell });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('channel closed');
    expect(violations).toEqual([]);
    expectUndone(outcome.journal!);
    const comps = readJournal(outcome.journal!).records.filter((r) => r.type === 'compensation' && r.status === 'ok');
    expect(comps.find((c) => c.type === 'compensation' && c.stepId === 'promote')).toMatchObject({ via: 'run' });
    expect(writable(backends, cluster)).toEqual([m1!.name]);
    expect(sourceOf(backends, cluster, m2!.name)).toBe(m1!.name);
    expect(sourceOf(backends, cluster, m3!.name)).toBe(m1!.name);
    expect(members(backends, cluster).find((m) => m.name === m2!.name)!.mysql.readOnly).toBe(true);
  });

  it('asks once for the whole write outage, before it starts: --confirm without --yes promotes, then pauses at the first step after it', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    const gate = createHeadlessGate({ yes: false, confirm: [cluster] });
    const { outcome, violations } = await switchover(backends, stateDir, { cluster, candidate: m2!.name }, { gate });
    expect(outcome.status).toBe('paused');
    expect(outcome.reason).toContain(`stopped before "${m3!.name} replicates from the new master": it needs confirmation; pass --yes`);
    expect(violations).toEqual([]);
    expect(writable(backends, cluster)).toEqual([m2!.name]);
    expect(sourceOf(backends, cluster, m3!.name)).toBe(m1!.name);
  });

  it('a writer record changed by someone else during the run is not overwritten: the run fails saying what it found, the old topology restored', async () => {
    const { backends, stateDir } = await world();
    const [m1, m2, m3] = members(backends, cluster);
    const dns = backends.dns!;
    const meddling = {
      ...backends,
      dns: {
        getRecord: dns.getRecord.bind(dns),
        swapRecord: async (current: Parameters<typeof dns.swapRecord>[0], next: Parameters<typeof dns.swapRecord>[1], opts?: Parameters<typeof dns.swapRecord>[2]) => {
          // Someone points the record at m3 a moment before nightshift's change lands.
          await dns.swapRecord(current, { ...current, values: [m3!.ip] });
          return dns.swapRecord(current, next, opts);
        },
      },
    } as unknown as SimBackends;
    const { outcome, violations } = await switchover(backends, stateDir, { cluster, candidate: m2!.name }, { backends: meddling });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain(`changed during the run: it is now ${m3!.ip}`);
    expect(violations).toEqual([]);
    expect(await writerValues(backends, cluster)).toEqual([m3!.ip]);
    expect(writable(backends, cluster)).toEqual([m1!.name]);
    expect(sourceOf(backends, cluster, m2!.name)).toBe(m1!.name);
    expect(sourceOf(backends, cluster, m3!.name)).toBe(m1!.name);
    expect(sourceOf(backends, cluster, m1!.name)).toBeUndefined();
  });

  it('MariaDB: a replica with a write of its own is refused as candidate, even once its gtid_current_pos no longer shows it', async () => {
    const { backends, stateDir } = await world();
    const [, m2] = members(backends, cluster);
    const node = (await backends.inventory.discover()).instances.find((i) => i.id === m2!.id)!;
    const local = await sql(backends, node, "SET GLOBAL read_only=0; CREATE DATABASE IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY); REPLACE INTO app.t (id) VALUES (1); SET GLOBAL read_only=1");
    expect(local.stderr).toBe('');
    const facts = await probeMysql(backends, node);
    // The server's own id in its binlog state, and not in the master's: the position alone does not show it.
    expect(facts.gtidBinlogState).toMatch(new RegExp(`(^|,)0-${facts.serverId}-\\d+`));
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(outcome.status).toBe('blocked');
    expect(prepared.blocked).toMatch(new RegExp(`${m2!.name} cannot be promoted: .*errant GTIDs 0-${facts.serverId}-\\d+`));
    expect(before(backends)).toBe(was);
    // Left to choose, the runbook takes another and says why m2 was passed over.
    const ranked = await prepareRun(switchoverRunbook, { cluster }, makeDeps(backends, createHeadlessGate({ yes: true }), stateDir), new AbortController().signal);
    expect(ranked.preflight.find((c) => c.id === 'candidate')!.detail).toMatch(new RegExp(`not eligible: ${m2!.name} \\(errant GTIDs 0-${facts.serverId}-`));
  });

  const before = (b: SimBackends) => JSON.stringify(members(b, cluster).map((m) => [m.name, m.mysql.readOnly, m.mysql.replica?.sourceHost]));

  it('a writer record pointing elsewhere than the master is refused before anything changes', async () => {
    const { backends, stateDir } = await world();
    const [, , m3] = members(backends, cluster);
    const ref = backends.writerDns({ name: cluster })!;
    const rec = (await backends.dns!.getRecord(ref.zoneId, ref.name, ref.type))!;
    await onVirtualTime(backends, backends.dns!.swapRecord(rec, { ...rec, values: [m3!.ip] }));
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster });
    expect(prepared.blocked).toContain(`${ref.name} → ${m3!.ip} (${m3!.name}), not the master`);
    expect(outcome.status).toBe('blocked');
    expect(before(backends)).toBe(was);
    expect(await writerValues(backends, cluster)).toEqual([m3!.ip]);
  });

  it('--candidate reaches the runbook as its candidate parameter', () => {
    expect(buildParams({ cluster, candidate: 'catalog-db-03' })).toEqual({ cluster, candidate: 'catalog-db-03' });
  });

  it('an unknown candidate is refused before anything changes', async () => {
    const { backends, stateDir } = await world();
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster, candidate: 'no-such-db' });
    expect(prepared.blocked).toContain('no node "no-such-db" in cluster catalog-db');
    expect(outcome.status).toBe('blocked');
    expect(before(backends)).toBe(was);
  });

  it('a candidate from another cluster is refused naming its cluster, before anything changes', async () => {
    const { backends, stateDir } = await world();
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster, candidate: 'audit-db-02' });
    expect(prepared.blocked).toContain('audit-db-02 is a node of cluster audit-db, not of catalog-db');
    expect(outcome.status).toBe('blocked');
    expect(before(backends)).toBe(was);
  });

  it('a candidate tagged promotion=never is refused before anything changes', async () => {
    const { backends, stateDir } = await world();
    const [, m2] = members(backends, cluster);
    await backends.inventory.setTags(m2!.id, { 'nightshift:promotion': 'never' });
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(prepared.blocked).toContain(`${m2!.name} cannot be promoted: promotion rule never`);
    expect(outcome.status).toBe('blocked');
    expect(before(backends)).toBe(was);
  });

  it('a lagging candidate is refused before anything changes', async () => {
    const { backends, stateDir } = await world();
    const [, m2] = members(backends, cluster);
    backends.world.inject({ kind: 'lag', node: m2!.id, seconds: 120, hold: true });
    const was = before(backends);
    const { prepared, outcome } = await switchover(backends, stateDir, { cluster, candidate: m2!.name });
    expect(prepared.blocked).toMatch(new RegExp(`${m2!.name}: lag \\d+ s over the 10 s limit`));
    expect(outcome.status).toBe('blocked');
    expect(before(backends)).toBe(was);
  });
});

describe('switchover on a running clock', () => {
  // The other tests move virtual time by hand. Here it runs as in the console
  // (real time × speed): a sim wait that polled inside one turn once spun for
  // ever at the catch-up step, with every timer and signal dead.
  it('succeeds at speed 60 with nothing driving the clock', { timeout: 60_000 }, async () => {
    const stateDir = tempStateDir();
    const b = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 60, stateDir });
    opened.push(b);
    const cluster = 'billing-db';
    const deps = makeDeps(b, createHeadlessGate({ yes: true, confirm: [cluster] }), stateDir);
    const ac = new AbortController();
    const prepared = await prepareRun(switchoverRunbook, { cluster }, deps, ac.signal);
    expect(prepared.blocked).toBeUndefined();
    const outcome = await executeRun(prepared, deps, ac.signal);
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(writable(b, cluster)).toHaveLength(1);
  });
});
