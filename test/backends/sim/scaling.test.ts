// The simulated Auto Scaling groups' own processes (issue 14): suspended and
// resumed as AWS does them, AZRebalance taking a second instance out,
// ReplaceUnhealthy replacing a dead member, Launch held back, launch template
// versions for the drift finding, and replacements as rotate meets them.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNodetoolStatus } from '../../../src/backends/engines/cassandra.js';
import { statePathOf, type SimBackends } from '../../../src/backends/sim/index.js';
import { ROTATION_SUSPENDS } from '../../../src/backends/ports.js';
import type { Instance } from '../../../src/domain/types.js';
import { fleet, openSim, probeMysql, tempStateDir } from './sim-helpers.js';

const MINUTE = 60_000;

/** Moves the clock a minute at a time and lets waiters take their turn, as a running clock does. */
async function minutes(b: SimBackends, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    b.world.advance(MINUTE);
    await new Promise((r) => setImmediate(r));
  }
}

async function group(b: SimBackends, name: string) {
  const g = await b.scaling!.getGroup(name);
  if (!g) throw new Error(`no group ${name}`);
  return g;
}

async function ringOf(b: SimBackends) {
  const f = await fleet(b);
  const c = f.clusters.find((x) => x.engine === 'cassandra')!;
  return { f, asg: c.asg!, nodes: f.members(c.name) };
}

async function instance(b: SimBackends, id: string): Promise<Instance> {
  return b.world.instances().find((i) => i.id === id)!;
}

/** Each running ring node's view of the ring: address -> status letters. */
async function views(b: SimBackends, asg: string): Promise<Map<string, Map<string, string>>> {
  const w = b.world.view();
  const ring = w.rings[w.asgs[asg]!.cluster]!;
  const out = new Map<string, Map<string, string>>();
  for (const id of ring.members) {
    if (w.instances[id]!.state !== 'running' || !b.world.cassandraUp(id)) continue;
    const res = await b.shell.exec(await instance(b, id), 'nodetool status');
    out.set(id, new Map(parseNodetoolStatus(res.stdout).map((p) => [p.address, p.status])));
  }
  return out;
}

function azCounts(members: Array<{ az: string; lifecycle: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of members) if (m.lifecycle !== 'Terminating') out[m.az] = (out[m.az] ?? 0) + 1;
  return out;
}

describe('simulated Auto Scaling processes: suspend and resume', () => {
  it('suspends and resumes idempotently, refuses an unknown process, and a second world on the same file sees it', async () => {
    const stateDir = tempStateDir();
    const b = await openSim({ stateDir });
    const { asg } = await ringOf(b);
    expect((await group(b, asg)).suspended).toEqual([]);

    await b.scaling!.suspendProcesses(asg, ROTATION_SUSPENDS);
    await b.scaling!.suspendProcesses(asg, ['AZRebalance', 'ReplaceUnhealthy']);
    expect((await group(b, asg)).suspended).toEqual([...ROTATION_SUSPENDS]);

    await expect(b.scaling!.suspendProcesses(asg, ['AZRebalance', 'Rebalance'])).rejects.toThrow(/"Rebalance" is no Auto Scaling process; one of Launch, Terminate/);
    await expect(b.scaling!.suspendProcesses('nope-asg', ['AZRebalance'])).rejects.toThrow(/Auto Scaling group nope-asg not found/);
    // A second world on the same file (another nightshift process) sees the suspension.
    const other = await openSim({ stateDir });
    expect((await group(other, asg)).suspended).toEqual([...ROTATION_SUSPENDS]);

    // Resuming one that is not suspended (Launch) is fine, and resuming twice too.
    await b.scaling!.resumeProcesses(asg, ['ReplaceUnhealthy', 'Launch']);
    await b.scaling!.resumeProcesses(asg, ['ReplaceUnhealthy']);
    expect((await group(b, asg)).suspended).toEqual(['AZRebalance', 'AlarmNotification', 'ScheduledActions']);
    await b.scaling!.resumeProcesses(asg, ROTATION_SUSPENDS);
    // The other world reads the file again on its next turn (one instant per turn).
    await new Promise((r) => setImmediate(r));
    expect((await group(other, asg)).suspended).toEqual([]);
  });

  it('an empty list suspends every process, as AWS does when ScalingProcesses is left out', async () => {
    const b = await openSim();
    const { asg } = await ringOf(b);
    await b.scaling!.suspendProcesses(asg, []);
    expect((await group(b, asg)).suspended).toContain('Launch');
    expect((await group(b, asg)).suspended).toHaveLength(9);
    await b.scaling!.resumeProcesses(asg, []);
    expect((await group(b, asg)).suspended).toEqual([]);
  });
});

describe('simulated Launch', () => {
  it('suspended: the terminated member goes and nothing replaces it until Launch is resumed', async () => {
    const b = await openSim();
    const { asg, nodes } = await ringOf(b);
    await b.scaling!.suspendProcesses(asg, ['Launch']);
    await b.scaling!.terminateInGroup(nodes[0]!.id);
    const progress: string[] = [];
    const waiting = b.scaling!.waitForReplacement(asg, nodes.map((n) => n.id), { timeoutMs: 20 * MINUTE, onProgress: (s) => progress.push(s) });
    const failed = expect(waiting).rejects.toThrow(/no new InService instance in .* after 1200 s/);
    await minutes(b, 21);
    await failed;
    expect(progress.at(-1)).toBe(`no replacement launched yet in ${asg} (Launch is suspended)`);
    const g = await group(b, asg);
    expect(g.desired).toBe(6);
    expect(g.members.map((m) => m.instanceId).sort()).toEqual(nodes.slice(1).map((n) => n.id).sort());
    expect((await instance(b, nodes[0]!.id)).state).toBe('terminated');

    await b.scaling!.resumeProcesses(asg, ['Launch']);
    const fresh = b.scaling!.waitForReplacement(asg, nodes.map((n) => n.id), { timeoutMs: 20 * MINUTE });
    await minutes(b, 10);
    const id = await fresh;
    expect((await group(b, asg)).members).toHaveLength(6);
    expect((await instance(b, id)).az).toBe(nodes[0]!.az);
  });
});

describe('simulated AZRebalance', () => {
  /**
   * The replacement of a ring member lands in another AZ (its own is down
   * for launches); once the AZ is back the group is 1/3/2.
   */
  async function unbalanced(b: SimBackends) {
    const { asg, nodes } = await ringOf(b);
    const victim = nodes[0]!;
    b.world.inject({ kind: 'az-outage', az: victim.az });
    await b.scaling!.terminateInGroup(victim.id);
    await minutes(b, 10);
    const g = await group(b, asg);
    const fresh = g.members.find((m) => !nodes.some((n) => n.id === m.instanceId))!;
    expect(fresh).toMatchObject({ lifecycle: 'InService' });
    expect(fresh.az).not.toBe(victim.az);
    b.world.heal();
    return { asg, nodes, victim, fresh };
  }

  it('active: once the AZ is back it launches in the emptiest AZ, then terminates the oldest of the fullest, a second instance out', async () => {
    const b = await openSim();
    const { asg, nodes, victim, fresh } = await unbalanced(b);
    const before = await group(b, asg);
    expect(Math.max(...Object.values(azCounts(before.members)))).toBe(3);
    await minutes(b, 10);

    const g = await group(b, asg);
    const gone = nodes.filter((n) => !g.members.some((m) => m.instanceId === n.id));
    expect(gone.map((n) => n.id)).toContain(victim.id);
    expect(gone).toHaveLength(2);
    const second = gone.find((n) => n.id !== victim.id)!;
    // The second one was the oldest in the AZ where the replacement landed.
    expect(second.az).toBe(fresh.az);
    const sameAz = nodes.filter((n) => n.az === fresh.az && n.id !== victim.id);
    expect(second.id).toBe([...sameAz].sort((a, c) => Date.parse(a.launchTime) - Date.parse(c.launchTime))[0]!.id);
    expect(g.members).toHaveLength(6);
    expect(Object.values(azCounts(g.members))).toEqual([2, 2, 2]);
    // Nobody drained or replaced it: the ring lists it DN.
    for (const view of (await views(b, asg)).values()) expect(view.get(second.privateIp)).toBe('DN');
  });

  it('suspended: the group stays uneven and nothing more is terminated, until AZRebalance is resumed', async () => {
    const b = await openSim();
    const { asg } = await ringOf(b);
    await b.scaling!.suspendProcesses(asg, ['AZRebalance']);
    const { nodes, victim } = await unbalanced(b);
    await minutes(b, 20);
    let g = await group(b, asg);
    expect(nodes.filter((n) => !g.members.some((m) => m.instanceId === n.id)).map((n) => n.id)).toEqual([victim.id]);
    expect(Object.values(azCounts(g.members)).sort()).toEqual([1, 2, 3]);

    await b.scaling!.resumeProcesses(asg, ['AZRebalance']);
    await minutes(b, 10);
    g = await group(b, asg);
    expect(nodes.filter((n) => !g.members.some((m) => m.instanceId === n.id))).toHaveLength(2);
    expect(Object.values(azCounts(g.members))).toEqual([2, 2, 2]);
  });

  it('leaves a balanced group alone: a replacement lands in the AZ it left', async () => {
    const b = await openSim();
    const { asg, nodes } = await ringOf(b);
    await b.scaling!.terminateInGroup(nodes[2]!.id);
    await minutes(b, 30);
    const g = await group(b, asg);
    expect(g.members).toHaveLength(6);
    expect(nodes.filter((n) => !g.members.some((m) => m.instanceId === n.id)).map((n) => n.id)).toEqual([nodes[2]!.id]);
    expect(g.members.find((m) => !nodes.some((n) => n.id === m.instanceId))!.az).toBe(nodes[2]!.az);
  });
});

describe('simulated ReplaceUnhealthy', () => {
  it('replaces a hung member after five minutes Unhealthy, and a stopped one too', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [hung, stopped] = f.members('web');
    b.world.inject({ kind: 'kill-node', node: hung!.id });
    const stopping = b.compute!.stop(stopped!.id);
    b.world.advance(4 * MINUTE);
    await stopping;
    let g = await group(b, 'web-asg');
    expect(g.members.find((m) => m.instanceId === hung!.id)).toMatchObject({ lifecycle: 'InService', health: 'Unhealthy' });
    expect(g.members.find((m) => m.instanceId === stopped!.id)).toMatchObject({ lifecycle: 'InService', health: 'Unhealthy' });
    expect(g.members).toHaveLength(4);

    // Five minutes on it is Terminating (and gone 45 s later).
    b.world.advance(90_000);
    g = await group(b, 'web-asg');
    expect(g.members.find((m) => m.instanceId === hung!.id)).toMatchObject({ lifecycle: 'Terminating' });
    expect(g.members.find((m) => m.instanceId === stopped!.id)).toMatchObject({ lifecycle: 'Terminating' });
    expect(g.members.filter((m) => m.lifecycle === 'Pending')).toHaveLength(2);
    await minutes(b, 10);
    g = await group(b, 'web-asg');
    expect(g.members).toHaveLength(4);
    expect(g.members.every((m) => m.lifecycle === 'InService' && m.health === 'Healthy')).toBe(true);
  });

  it('suspended: the Unhealthy member stays; resumed, it is replaced at once', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [hung] = f.members('web');
    await b.scaling!.suspendProcesses('web-asg', ['ReplaceUnhealthy']);
    b.world.inject({ kind: 'kill-node', node: hung!.id });
    await minutes(b, 30);
    let g = await group(b, 'web-asg');
    expect(g.members).toHaveLength(4);
    expect(g.members.find((m) => m.instanceId === hung!.id)).toMatchObject({ lifecycle: 'InService', health: 'Unhealthy' });

    await b.scaling!.resumeProcesses('web-asg', ['ReplaceUnhealthy']);
    g = await group(b, 'web-asg');
    expect(g.members.find((m) => m.instanceId === hung!.id)).toMatchObject({ lifecycle: 'Terminating' });
    expect(g.members.filter((m) => m.lifecycle === 'Pending')).toHaveLength(1);
  });

  it('leaves a member that came back before its five minutes', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const [hung] = f.members('web');
    b.world.inject({ kind: 'kill-node', node: hung!.id });
    b.world.advance(3 * MINUTE);
    b.world.heal(hung!.id);
    await minutes(b, 10);
    const g = await group(b, 'web-asg');
    expect(g.members.map((m) => m.instanceId).sort()).toEqual(f.members('web').map((n) => n.id).sort());
    expect(g.members.every((m) => m.health === 'Healthy')).toBe(true);
  });
});

describe('simulated fault replacement-unhealthy', () => {
  it('takes the next replacement of the group (named by group or cluster): its status checks go impaired and it never turns Healthy', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const web = f.members('web');
    expect(() => b.world.inject({ kind: 'replacement-unhealthy', group: 'nope' })).toThrow(/no simulated Auto Scaling group "nope" \(a group or a cluster name; groups: .*web-asg/);
    b.world.inject({ kind: 'replacement-unhealthy', group: 'web' });
    expect(b.world.faults()).toEqual([expect.objectContaining({ kind: 'replacement-unhealthy', group: 'web-asg' })]);
    // As rotate runs: ReplaceUnhealthy suspended, so the bad replacement stays.
    await b.scaling!.suspendProcesses('web-asg', ROTATION_SUSPENDS);
    await b.scaling!.terminateInGroup(web[0]!.id);
    const known = web.map((n) => n.id);
    const waiting = b.scaling!.waitForReplacement('web-asg', known, { timeoutMs: 15 * MINUTE });
    const failed = expect(waiting).rejects.toThrow(/no new InService instance in web-asg after 900 s \(i-[0-9a-f]{17} InService Unhealthy\)/);
    await minutes(b, 16);
    await failed;
    const bad = (await group(b, 'web-asg')).members.find((m) => !known.includes(m.instanceId))!;
    expect(bad).toMatchObject({ lifecycle: 'InService', health: 'Unhealthy' });
    expect((await instance(b, bad.instanceId)).statusChecks).toBe('impaired');
    expect(b.world.faults()).toEqual([expect.objectContaining({ kind: 'replacement-unhealthy', group: 'web-asg', node: bad.instanceId })]);

    // One replacement only: the next is healthy.
    await b.scaling!.terminateInGroup(web[1]!.id);
    const next = b.scaling!.waitForReplacement('web-asg', [...known, bad.instanceId], { timeoutMs: 15 * MINUTE });
    await minutes(b, 10);
    expect((await instance(b, await next)).statusChecks).toBe('ok');
    // Healed, the bad one passes its checks.
    b.world.heal(bad.instanceId);
    expect((await group(b, 'web-asg')).members.find((m) => m.instanceId === bad.instanceId)).toMatchObject({ health: 'Healthy' });
  });

  it('with ReplaceUnhealthy active, the bad replacement is itself replaced five minutes on', async () => {
    const b = await openSim();
    const web = (await fleet(b)).members('web');
    b.world.inject({ kind: 'replacement-unhealthy', group: 'web-asg' });
    await b.scaling!.terminateInGroup(web[0]!.id);
    await minutes(b, 6);
    const bad = b.world.faults()[0]!;
    expect(bad).toMatchObject({ kind: 'replacement-unhealthy', node: expect.stringMatching(/^i-/) });
    const known = web.map((n) => n.id);
    const waiting = b.scaling!.waitForReplacement('web-asg', [...known, (bad as { node: string }).node], { timeoutMs: 30 * MINUTE });
    await minutes(b, 20);
    const good = await waiting;
    expect((await instance(b, (bad as { node: string }).node)).state).toBe('terminated');
    expect((await instance(b, good)).statusChecks).toBe('ok');
  });

  it('on a ring: the replacement passes its checks but stays UJ until healed, the dead member DN beside it', async () => {
    const b = await openSim();
    const { asg, nodes } = await ringOf(b);
    b.world.inject({ kind: 'replacement-unhealthy', group: asg });
    await b.scaling!.suspendProcesses(asg, ROTATION_SUSPENDS);
    await b.scaling!.terminateInGroup(nodes[0]!.id);
    const waiting = b.scaling!.waitForReplacement(asg, nodes.map((n) => n.id), { timeoutMs: 20 * MINUTE });
    await minutes(b, 20);
    const fresh = await instance(b, await waiting);
    expect(fresh.statusChecks).toBe('ok');
    for (const view of (await views(b, asg)).values()) {
      expect(view.get(fresh.privateIp)).toBe('UJ');
      expect(view.get(nodes[0]!.privateIp)).toBe('DN');
    }
    b.world.heal(asg);
    await minutes(b, 5);
    for (const view of (await views(b, asg)).values()) {
      expect(view.get(fresh.privateIp)).toBe('UN');
      expect(view.has(nodes[0]!.privateIp)).toBe(false);
      expect([...view.values()]).toEqual(Array(6).fill('UN'));
    }
  });
});

describe('simulated replacements as rotate meets them', () => {
  it('a drained ring member is DN to every peer; its replacement goes UJ then UN in every view, the drained one DN until then', async () => {
    const b = await openSim();
    const { asg, nodes } = await ringOf(b);
    const drained = nodes[1]!;
    const draining = b.shell.exec(drained, 'nodetool drain');
    await new Promise((r) => setImmediate(r));
    b.world.advance(20_000);
    expect((await draining).code).toBe(0);
    for (const [id, view] of await views(b, asg)) {
      expect(id).not.toBe(drained.id);
      expect(view.get(drained.privateIp)).toBe('DN');
    }
    // Drained again (a resumed run): Cassandra ignores it; a node merely stopped refuses.
    const again = b.shell.exec(drained, 'nodetool drain');
    await new Promise((r) => setImmediate(r));
    b.world.advance(20_000);
    expect(await again).toMatchObject({ code: 0 });
    b.world.inject({ kind: 'stop-cassandra', node: nodes[2]!.id });
    expect((await b.shell.exec(nodes[2]!, 'nodetool drain')).stderr).toMatch(/Connection refused/);
    b.world.heal(nodes[2]!.id);

    await b.scaling!.terminateInGroup(drained.id);
    const seen: string[] = [];
    let fresh: Instance | undefined;
    for (let i = 0; i < 15; i++) {
      await minutes(b, 1);
      const id = (await group(b, asg)).members.find((m) => !nodes.some((n) => n.id === m.instanceId))?.instanceId;
      fresh ??= id ? await instance(b, id) : undefined;
      const all = await views(b, asg);
      // Every view agrees, the replacement's own included once it runs.
      const states = new Set([...all.values()].map((v) => `${fresh ? (v.get(fresh.privateIp) ?? '-') : '-'}/${v.get(drained.privateIp) ?? '-'}`));
      expect(states.size).toBe(1);
      const [state] = states;
      if (seen.at(-1) !== state) seen.push(state!);
    }
    // Absent while it boots, UJ while it bootstraps with the drained one DN, then UN in its place.
    expect(seen).toEqual(['-/DN', 'UJ/DN', 'UN/-']);
    const ring = [...(await views(b, asg)).values()][0]!;
    expect([...ring.values()]).toEqual(Array(6).fill('UN'));
  });

  it('a MySQL replacement comes up empty and writable, tagged with the group\'s tags (a replica), whatever it replaced', async () => {
    const b = await openSim({ scenario: 'stale-asg' });
    const d = await b.inventory.discover();
    const mysqlGroups = d.groups!.filter((g) => d.clusters.find((c) => c.asg === g.name)?.engine === 'mysql');
    expect(mysqlGroups.length).toBeGreaterThanOrEqual(1);
    for (const g of mysqlGroups.slice(0, 2)) {
      const cluster = d.clusters.find((c) => c.asg === g.name)!;
      const members = cluster.instanceIds.map((id) => d.instances.find((i) => i.id === id)!);
      // A master too: rotate refuses one, but what the group launches is the group's, not the dead one's.
      for (const role of ['replica', 'master']) {
        const gone = members.find((m) => m.tags['nightshift:role'] === role)!;
        await b.inventory.setTags(gone.id, { team: 'someone-else' });
        const known = (await group(b, g.name)).members.map((m) => m.instanceId);
        await b.scaling!.terminateInGroup(gone.id);
        const waiting = b.scaling!.waitForReplacement(g.name, known, { timeoutMs: 20 * MINUTE });
        await minutes(b, 10);
        const fresh = await instance(b, await waiting);
        expect(fresh.tags).toMatchObject({
          'nightshift:cluster': cluster.name,
          'nightshift:engine': 'mysql',
          'nightshift:role': 'replica',
          'aws:autoscaling:groupName': g.name,
          'aws:ec2launchtemplate:version': g.launchTemplate!.version,
          team: 'data-platform',
        });
        const facts = await probeMysql(b, fresh);
        expect(facts.readOnly).toBe(false);
        expect(facts.replica).toBeUndefined();
        expect(facts.gtidExecuted).toBe('');
      }
    }
  });
});

describe('simulated stale-asg', () => {
  it('shows drift in every group, reports launch templates as AWS resolves $Latest, and has MySQL groups of master and replicas', async () => {
    const b = await openSim({ scenario: 'stale-asg' });
    const d = await b.inventory.discover();
    const w = b.world.view();
    expect(d.groups!.map((g) => g.name).sort()).toEqual(Object.keys(w.asgs).sort());
    for (const g of d.groups!) {
      expect(g.launchTemplate).toEqual({ id: w.asgs[g.name]!.launchTemplate, name: expect.stringMatching(/-lt$/), version: expect.stringMatching(/^\d+$/), asked: '$Latest' });
      expect(g.suspended).toEqual([]);
      expect(g.members.length).toBeGreaterThanOrEqual(3);
      for (const m of g.members) expect(Number(m.launchTemplateVersion)).toBeLessThan(Number(g.launchTemplate!.version));
      expect(Number(g.launchTemplate!.version)).toBe(w.launchTemplates[g.launchTemplate!.id]!.version);
      expect(g.min + 1).toBeLessThan(g.members.length);
      expect(await b.scaling!.getGroup(g.name)).toEqual(g);
    }
    const mysql = d.clusters.filter((c) => c.engine === 'mysql' && c.asg);
    expect(new Set(mysql.map((c) => w.clusters[c.name]!.flavour))).toEqual(new Set(['mariadb', 'mysql']));
    for (const c of mysql) {
      const g = d.groups!.find((x) => x.name === c.asg)!;
      expect(g.members.map((m) => m.instanceId).sort()).toEqual([...c.instanceIds].sort());
      const roles = c.instanceIds.map((id) => d.instances.find((i) => i.id === id)!.tags['nightshift:role']).sort();
      expect(roles[0]).toBe('master');
      expect(roles.slice(1).filter((r) => r === 'replica').length).toBeGreaterThanOrEqual(2);
      expect(new Set(g.members.map((m) => m.az)).size).toBe(3);
    }
  });

  it('the healthy fleet has no drift: members on the version their group launches', async () => {
    const b = await openSim();
    const d = await b.inventory.discover();
    expect(d.groups!.length).toBeGreaterThanOrEqual(2);
    for (const g of d.groups!) for (const m of g.members) expect(m.launchTemplateVersion).toBe(g.launchTemplate!.version);
  });
});

describe('simulated groups in a world saved before issue 14', () => {
  it('load without suspended processes or propagated tags, and launch replacements tagged from the cluster', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    const { asg, nodes } = await ringOf(a);
    await a.close();
    const path = statePathOf(stateDir, 'healthy', 1, null);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    for (const g of Object.values(saved.asgs) as Array<Record<string, unknown>>) {
      delete g.suspended;
      delete g.tags;
    }
    writeFileSync(path, JSON.stringify(saved), { mode: 0o600 });

    const b = await openSim({ stateDir });
    expect((await group(b, asg)).suspended).toEqual([]);
    await b.scaling!.terminateInGroup(nodes[0]!.id);
    const waiting = b.scaling!.waitForReplacement(asg, nodes.map((n) => n.id), { timeoutMs: 20 * MINUTE });
    await minutes(b, 10);
    const fresh = await instance(b, await waiting);
    expect(fresh.tags).toMatchObject({ 'nightshift:cluster': nodes[0]!.tags['nightshift:cluster'], 'nightshift:engine': 'cassandra', 'nightshift:role': 'cassandra', env: 'prod' });
  });
});
