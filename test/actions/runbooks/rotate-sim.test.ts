// The rotate runbook on the simulated fleet's stale-asg scenario: every
// stale instance of a group replaced one at a time, the group's fighting
// processes suspended for the run and resumed at its end (and on a stop),
// never two instances out, each Cassandra replacement UN everywhere before
// the next goes, a MySQL replica's replacement rebuilt and caught up before
// it joins. The world is read directly after every journal record, never
// through nightshift, so the runbook cannot vouch for itself.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate, type Gate } from '../../../src/actions/engine/gate.js';
import type { RunRecord } from '../../../src/actions/engine/records.js';
import { executeRun, prepareRun, resumeRun } from '../../../src/actions/engine/runner.js';
import { rotateRunbook } from '../../../src/actions/runbooks/rotate.js';
import { ROTATION_SUSPENDS } from '../../../src/backends/ports.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { driftFindings } from '../../../src/domain/findings.js';
import { SPARE_TAG } from '../../../src/domain/types.js';
import { makeDeps } from '../helpers.js';
import { drive } from '../../backends/sim/rebuild-helpers.js';
import { world, writable } from './mysql-sim.js';

function groupOfEngine(b: SimBackends, engine: string, flavour?: string) {
  const w = b.world.view();
  const g = Object.values(w.asgs).find((a) => w.clusters[a.cluster]?.engine === engine && (flavour === undefined || w.clusters[a.cluster]?.flavour === flavour));
  if (!g) throw new Error(`the stale-asg world has no ${flavour ?? engine} group`);
  return g;
}

/** After each journal record: how many of the group's desired instances are not serving (InService and running). */
function watchGroup(b: SimBackends, group: string) {
  const worst = { out: 0, at: '' };
  return {
    worst,
    onEvent(r: RunRecord) {
      const w = b.world.view();
      const g = w.asgs[group]!;
      const serving = g.members.filter((m) => (g.lifecycle[m] ?? 'InService') === 'InService' && w.instances[m]!.state === 'running').length;
      const out = g.desired - serving;
      if (out > worst.out) Object.assign(worst, { out, at: `${r.type}${'stepId' in r && r.stepId ? ` ${r.stepId}` : ''}` });
    },
  };
}

async function rotate(b: SimBackends, stateDir: string, params: Record<string, unknown>, opts: { gate?: Gate; onEvent?: (r: RunRecord) => void } = {}) {
  const deps = makeDeps(b, opts.gate ?? createHeadlessGate({ yes: true }), stateDir, opts.onEvent ? { onEvent: opts.onEvent } : {});
  const ac = new AbortController();
  const prepared = await drive(b, prepareRun(rotateRunbook, params, deps, ac.signal));
  if (prepared.blocked) return { prepared, outcome: undefined, deps };
  const outcome = await drive(b, executeRun(prepared, deps, ac.signal));
  return { prepared, outcome, deps };
}

const groupView = async (b: SimBackends, name: string) => (await b.scaling!.getGroup(name))!;

describe('rotate on the simulated fleet (stale-asg)', () => {
  it('replaces every stale instance of a Cassandra ring one at a time, each UN everywhere before the next goes; the drift finding goes away', { timeout: 120_000 }, async () => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'cassandra');
    const before = await groupView(b, g.name);
    const stale = driftFindings(before)[0]!;
    expect(stale.suggests).toBe('rotate');
    const watch = watchGroup(b, g.name);
    const { prepared, outcome } = await rotate(b, stateDir, { cluster: g.cluster }, { onEvent: (r) => watch.onEvent(r) });
    expect(prepared.blocked).toBeUndefined();
    expect(outcome!.status, outcome!.reason).toBe('succeeded');
    const after = await groupView(b, g.name);
    expect(driftFindings(after)).toEqual([]);
    expect(after.members.every((m) => m.lifecycle === 'InService' && m.health === 'Healthy')).toBe(true);
    expect(after.members).toHaveLength(before.desired);
    expect(after.members.some((m) => stale.nodes.includes(m.instanceId))).toBe(false);
    expect(after.suspended).toEqual([]);
    // One out at a time, never more.
    expect(watch.worst.out, watch.worst.at).toBe(1);
    // Every member's view of the ring is all UN at the end.
    const ring = b.world.view().rings[g.cluster]!;
    expect(ring.members.sort()).toEqual(after.members.map((m) => m.instanceId).sort());
  });

  it('stopped at a checkpoint: the processes it suspended are resumed, the group is at its desired capacity, and nothing more is terminated', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'cassandra');
    const before = await groupView(b, g.name);
    const stop: Gate = { ...createHeadlessGate({ yes: true }), checkpoint: async () => ({ choice: 'stop', via: 'operator' }) };
    const { outcome } = await rotate(b, stateDir, { cluster: g.cluster }, { gate: stop });
    expect(outcome!.status).toBe('stopped');
    const after = await groupView(b, g.name);
    expect(after.suspended).toEqual([]);
    expect(after.members.filter((m) => m.lifecycle === 'InService')).toHaveLength(before.desired);
    // Exactly one replaced.
    expect(after.members.filter((m) => !before.members.some((x) => x.instanceId === m.instanceId))).toHaveLength(1);
  });

  it('leaves suspended what someone suspended before it', { timeout: 120_000 }, async () => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'generic');
    await b.scaling!.suspendProcesses(g.name, ['AZRebalance']);
    const { outcome } = await rotate(b, stateDir, { cluster: g.cluster, noPause: true });
    expect(outcome!.status, outcome!.reason).toBe('succeeded');
    expect((await groupView(b, g.name)).suspended).toEqual(['AZRebalance']);
  });

  it('holds the group\'s fighting processes suspended while it runs', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'generic');
    const seen = new Set<string>();
    const { outcome } = await rotate(b, stateDir, { cluster: g.cluster, noPause: true }, {
      onEvent: (r) => {
        if (r.type === 'step-started' && r.stepId.startsWith('terminate:')) for (const p of b.world.view().asgs[g.name]!.suspended ?? []) seen.add(p);
      },
    });
    expect(outcome!.status, outcome!.reason).toBe('succeeded');
    expect([...seen].sort()).toEqual([...ROTATION_SUSPENDS].sort());
  });

  it.each([
    ['mariadb', 'stream'],
    ['mysql', 'ebs'],
  ] as const)('rotates a %s replica (%s): its replacement is rebuilt from another replica, joins only once caught up, and the master is never touched', { timeout: 180_000 }, async (flavour, via) => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'mysql', flavour);
    const original = [...g.members];
    const master = writable(b, g.cluster)[0]!;
    const w0 = b.world.view();
    const replica = original.map((id) => w0.instances[id]!).find((i) => i.name !== master)!;
    const early: string[] = [];
    let joined = false;
    const { prepared, outcome } = await rotate(b, stateDir, { cluster: g.cluster, order: replica.name, via, lagLimitSeconds: 3600 }, {
      onEvent: (r) => {
        if (r.type === 'step-started' && r.stepId.startsWith('join:')) joined = true;
        const w = b.world.view();
        for (const id of w.asgs[g.name]!.members) {
          const inst = w.instances[id]!;
          if (!original.includes(id) && inst.tags[SPARE_TAG] === undefined && !joined && inst.state === 'running') early.push(`${r.type}: ${inst.name} a member before it was rebuilt`);
        }
        // A replacement is an empty, writable server until its rebuild: it must be no member meanwhile.
        const members = writable(b, g.cluster).filter((name) => Object.values(w.instances).find((i) => i.name === name)!.tags[SPARE_TAG] === undefined);
        if (members.length > 1) early.push(`${r.type}: two writable members: ${members.join(', ')}`);
      },
    });
    expect(prepared.blocked).toBeUndefined();
    expect(outcome!.status, outcome!.reason).toBe('succeeded');
    expect(early).toEqual([]);
    expect(writable(b, g.cluster)).toEqual([master]);
    const w = b.world.view();
    expect(w.instances[replica.id]!.state).toMatch(/terminated|shutting-down/);
    const fresh = w.asgs[g.name]!.members.find((id) => !original.includes(id))!;
    const rep = w.mysql[fresh]!.replica!;
    expect(rep.sourceHost).toBe(Object.values(w.instances).find((i) => i.name === master)!.privateIp);
    expect(w.instances[fresh]!.tags[SPARE_TAG]).toBeUndefined();
  });

  it('a replacement that never joins: the run pauses holding the group and the lock, nothing more is terminated; healed, resume finishes', { timeout: 120_000 }, async () => {
    const { backends: b, stateDir } = await world('stale-asg');
    const g = groupOfEngine(b, 'cassandra');
    const original = [...g.members];
    b.world.inject({ kind: 'replacement-unhealthy', group: g.name });
    const { outcome, deps } = await rotate(b, stateDir, { cluster: g.cluster, joinMinutes: 20 });
    expect(outcome!.status).toBe('paused');
    expect(outcome!.reason).toMatch(/^paused after "\S+'s replacement UN everywhere" failed: gave up waiting for \S+ to be UN in every node's view after 20m 00s/);
    // The dead member's address is named for what it was; the replacement still joining.
    expect(outcome!.reason).toMatch(/\S+ \(127\.[\d.]+, no longer a member\) is DN \(seen from all \d members\); \S+ is UJ \(seen from all \d members\)/);
    expect(outcome!.reason).toContain(`nightshift resume ${outcome!.runId}`);
    const w = b.world.view();
    // One out, the rest untouched; the group keeps its processes suspended and the lock is held.
    expect(original.filter((id) => w.instances[id]!.state !== 'running')).toHaveLength(1);
    expect(w.asgs[g.name]!.suspended).toEqual(expect.arrayContaining([...ROTATION_SUSPENDS]));
    expect((await b.lock.holder({ name: g.cluster }))?.runId).toBe(outcome!.runId);

    b.world.heal(g.name);
    const resumed = await drive(b, resumeRun(rotateRunbook, outcome!.runId, deps, new AbortController().signal));
    expect(resumed.status, resumed.reason).toBe('succeeded');
    expect(b.world.view().asgs[g.name]!.suspended).toEqual([]);
    expect(await b.lock.holder({ name: g.cluster })).toBeUndefined();
  });

  describe('refusals, each before anything changes', () => {
    it('names the master and says to switch over first', async () => {
      const { backends: b, stateDir } = await world('stale-asg');
      const g = groupOfEngine(b, 'mysql');
      const master = writable(b, g.cluster)[0]!;
      const { prepared } = await rotate(b, stateDir, { cluster: g.cluster, order: master });
      expect(prepared.blocked).toContain(`${master} is the master`);
      expect(prepared.blocked).toContain('switchover');
      expect((await groupView(b, g.name)).suspended).toEqual([]);
    });

    it('a cluster with no group', async () => {
      const { backends: b, stateDir } = await world('stale-asg');
      const w = b.world.view();
      const plain = Object.values(w.clusters).find((c) => !Object.values(w.asgs).some((a) => a.cluster === c.name))!;
      const { prepared } = await rotate(b, stateDir, { cluster: plain.name });
      expect(prepared.blocked).toContain('not backed by one Auto Scaling group');
    });

    it('a group at its minimum', async () => {
      const { backends: b, stateDir } = await world('stale-asg');
      const g = groupOfEngine(b, 'cassandra');
      b.world.mutate((w) => void (w.asgs[g.name]!.min = w.asgs[g.name]!.members.length));
      const { prepared } = await rotate(b, stateDir, { cluster: g.cluster });
      expect(prepared.blocked).toContain('no room to take one out safely');
    });

    it('an unhealthy member before the start', async () => {
      const { backends: b, stateDir } = await world('stale-asg');
      const g = groupOfEngine(b, 'cassandra');
      const victim = b.world.view().instances[g.members[1]!]!;
      b.world.inject({ kind: 'stop-cassandra', node: victim.id });
      const { prepared } = await rotate(b, stateDir, { cluster: g.cluster });
      expect(prepared.blocked).toContain(`${victim.name} is DN`);
    });
  });
});
