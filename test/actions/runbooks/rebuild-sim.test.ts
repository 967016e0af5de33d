// The rebuild runbook on the simulated fleet, in process, both paths and
// both flavours: a new instance is launched in the AZ that restores the
// spread, the backup of a healthy replica moves to it (EBS snapshot or a
// stream), is prepared and moved back, the server starts and replicates from
// the master from the backup's position, catches up and only then joins the
// cluster. After every journal record the world is read directly: the new
// node is never a member before the join step. The refusals and failures
// the issue names leave no temporary resource behind.

import { describe, expect, it } from 'vitest';
import { createHeadlessGate, type Gate } from '../../../src/actions/engine/gate.js';
import { readJournal } from '../../../src/actions/engine/journal.js';
import type { RunRecord } from '../../../src/actions/engine/records.js';
import { executeRun, prepareRun, resumeRun } from '../../../src/actions/engine/runner.js';
import { rebuildRunbook } from '../../../src/actions/runbooks/rebuild.js';
import type { SimBackends } from '../../../src/backends/sim/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { REBUILD_TAG, SPARE_TAG } from '../../../src/domain/types.js';
import { foldRun } from '../../../src/store/runs.js';
import { makeDeps } from '../helpers.js';
import { drive, launchSpare } from '../../backends/sim/rebuild-helpers.js';
import { members, world, writable } from './mysql-sim.js';

const CLUSTERS = [
  ['catalog-db', 'MariaDB 11.4', 'stream'],
  ['payments-db', 'MySQL 8.4', 'ebs'],
  ['audit-db', 'MySQL 8.0', 'stream'],
  ['search-db', 'MariaDB, a replica short after a failover', 'ebs'],
] as const;

function launchTemplates(b: SimBackends) {
  const clusters: Record<string, { launchTemplate: string }> = {};
  for (const c of Object.values(b.world.view().clusters)) if (c.engine === 'mysql') clusters[c.name] = { launchTemplate: `${c.name}-lt` };
  return clusters;
}

async function rebuild(b: SimBackends, stateDir: string, params: Record<string, unknown>, opts: { gate?: Gate; onStepStarted?: (stepId: string) => void } = {}) {
  const cluster = params.cluster as string;
  const early: string[] = [];
  let joinStarted = false;
  const deps = makeDeps(b, opts.gate ?? createHeadlessGate({ yes: true, confirm: [cluster] }), stateDir, {
    onEvent: (r: RunRecord) => {
      if (r.type === 'step-started' && r.stepId === 'join') joinStarted = true;
      if (r.type === 'step-started') opts.onStepStarted?.(r.stepId);
      // A launched node is a member once it has the cluster tag and no spare tag.
      for (const i of Object.values(b.world.view().instances)) {
        if (i.tags[REBUILD_TAG] === undefined) continue;
        if (i.tags[SPARE_TAG] === undefined && !joinStarted) early.push(`${r.type}: ${i.name} a member before the join step`);
      }
    },
  });
  deps.config = { ...deps.config, clusters: configSchema.parse({ clusters: launchTemplates(b) }).clusters };
  const ac = new AbortController();
  const prepared = await drive(b, prepareRun(rebuildRunbook, params, deps, ac.signal));
  const outcome = await drive(b, executeRun(prepared, deps, ac.signal));
  return { prepared, outcome, early };
}

/** Every rebuild-made volume and snapshot still there, and every instance it launched that is not terminated. */
function leftovers(b: SimBackends) {
  const w = b.world.view();
  return {
    volumes: Object.values(w.volumes).filter((v) => v.state !== 'deleted' && v.tags[REBUILD_TAG] !== undefined).map((v) => `${v.id} ${v.tags['nightshift:rebuild-part']}`),
    snapshots: Object.values(w.snapshots).filter((s) => s.tags?.[REBUILD_TAG] !== undefined).map((s) => s.id),
    launched: Object.values(w.instances).filter((i) => i.tags[REBUILD_TAG] !== undefined && i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => i.name),
  };
}

describe.each(CLUSTERS)('rebuild of %s (%s) on the simulated fleet, via %s', (cluster, _flavour, via) => {
  it('launches a node, copies a replica to it, and it joins replicating from the master, caught up, with nothing temporary left', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const before = members(b, cluster).filter((m) => b.world.view().instances[m.id]!.state !== 'terminated');
    const master = writable(b, cluster)[0]!;
    const { prepared, outcome, early } = await rebuild(b, stateDir, { cluster, via });
    expect(prepared.blocked).toBeUndefined();
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(early).toEqual([]);

    const found = await b.inventory.discover();
    const ref = found.clusters.find((c) => c.name === cluster)!;
    expect(ref.instanceIds).toHaveLength(before.length + 1);
    const added = found.instances.find((i) => ref.instanceIds.includes(i.id) && !before.some((m) => m.id === i.id))!;
    expect(added.tags['nightshift:role']).toBe('replica');
    expect(added.tags[SPARE_TAG]).toBeUndefined();
    // Replicating from the master, both threads, and it has what the master has.
    const node = b.world.view().mysql[added.id]!;
    const masterNode = before.find((m) => m.name === master)!;
    expect(node.replica?.sourceHost).toBe(masterNode.ip);
    expect(node.replica?.io && node.replica.sql).toBe(true);
    // Read-only, as a replica is: the master is the only writable node.
    expect(node.readOnly).toBe(true);
    expect(writable(b, cluster)).toEqual([master]);
    // The AZ that had the fewest members.
    const azs = before.map((m) => found.instances.find((i) => i.id === m.id)!.az);
    const fewest = Math.min(...['us-east-1a', 'us-east-1b', 'us-east-1c'].map((az) => azs.filter((a) => a === az).length));
    expect(azs.filter((a) => a === added.az).length).toBe(fewest);
    // The source's SQL thread runs again; nothing temporary is left; one snapshot kept on the EBS path.
    for (const m of members(b, cluster)) if (m.mysql.replica) expect(m.mysql.replica.sql, m.name).toBe(true);
    const left = leftovers(b);
    expect(left.volumes).toEqual([]);
    expect(left.launched).toEqual([]);
    expect(left.snapshots).toHaveLength(via === 'ebs' ? 1 : 0);

    const view = foldRun(readJournal(outcome.journal!).records)!;
    expect(view.steps.map((s) => s.id)).toEqual(
      via === 'ebs'
        ? ['launch', 'target-check', 'backup-volume', 'backup', 'prepare', 'detach', 'snapshot', 'restore-volume', 'stop-target', 'datadir', 'move-back', 'start', 'replicate', 'catch-up', 'join', 'cleanup']
        : ['launch', 'target-check', 'stream', 'prepare', 'stop-target', 'datadir', 'move-back', 'start', 'replicate', 'catch-up', 'join', 'cleanup'],
    );
    expect(JSON.stringify(readJournal(outcome.journal!).records)).not.toContain('sim-repl-not-a-secret');
    expect(await b.lock.holder({ name: cluster })).toBeUndefined();
  });
});

describe('rebuild refusals and failures on the simulated fleet', () => {
  const cluster = 'catalog-db';

  /** Nothing a refused or failed rebuild may leave: volumes, snapshots in progress, launched instances, a stopped SQL thread, the lock. */
  async function expectNothingLeft(b: SimBackends) {
    const left = leftovers(b);
    expect(left.volumes).toEqual([]);
    expect(left.launched).toEqual([]);
    for (const m of members(b, cluster)) if (m.mysql.replica) expect(m.mysql.replica.sql, `${m.name} SQL thread`).toBe(true);
    expect(await b.lock.holder({ name: cluster })).toBeUndefined();
  }

  it('refuses the master as the source unless overridden, a member as the target, and a lagging source; nothing launched', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const [m1, m2, m3] = members(b, cluster);
    const asMaster = await rebuild(b, stateDir, { cluster, source: m1!.name });
    expect(asMaster.prepared.blocked).toMatch(new RegExp(`${m1!.name} is the master: .*--override source --confirm ${cluster}`));
    const onMember = await rebuild(b, stateDir, { cluster, target: m2!.name });
    expect(onMember.prepared.blocked).toMatch(new RegExp(`--target ${m2!.name} is a member of ${cluster}: rebuilding it would destroy a working node`));
    for (const m of [m2!, m3!]) b.world.inject({ kind: 'lag', node: m.id, seconds: 900, hold: true });
    b.world.advance(30_000);
    const lagging = await rebuild(b, stateDir, { cluster });
    expect(lagging.prepared.blocked).toMatch(/lags \d+ s \(limit 60 s\)/);
    expect(Object.values(b.world.view().instances).filter((i) => i.tags[REBUILD_TAG] !== undefined)).toEqual([]);
    await expectNothingLeft(b);
  });

  it('refuses a source without the backup tool, naming the node and the package', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const [, m2, m3] = members(b, cluster);
    b.world.mutate((w) => {
      for (const m of [m2!, m3!]) (w.hosts ??= {})[m.id] = { ...(w.hosts?.[m.id] ?? { mounts: [{ device: '/dev/nvme0n1p1', fs: `fs-${m.id}`, target: '/' }], datadir: '/var/lib/mysql' }), tools: [] };
    });
    const { prepared } = await rebuild(b, stateDir, { cluster });
    expect(prepared.blocked).toMatch(/: mariadb-backup is not installed \(`mariadb-backup --version` says not found\): install the mariadb-backup package there/);
    await expectNothingLeft(b);
  });

  it('a backup that fails part-way fails the run with the tool’s words; the volume, the launched node and the stopped SQL thread are undone', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const [, m2, m3] = members(b, cluster);
    for (const m of [m2!, m3!]) b.world.inject({ kind: 'backup-fails', node: m.id });
    const { outcome } = await rebuild(b, stateDir, { cluster, via: 'ebs' });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/mariadb-backup --backup exited 1: /);
    expect(outcome.reason).toMatch(/rolled back "launch the new instance"/);
    await expectNothingLeft(b);
  });

  it('a target disk that fills during the stream fails the run naming the node; the partial copy and the node go', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    // As the stream starts, the new node's disk fills.
    const onStepStarted = (stepId: string) => {
      if (stepId !== 'stream') return;
      const launched = Object.values(b.world.view().instances).find((i) => i.tags[REBUILD_TAG] !== undefined)!;
      b.world.inject({ kind: 'disk-full', node: launched.id });
    };
    const { outcome } = await rebuild(b, stateDir, { cluster, via: 'stream' }, { onStepStarted });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/catalog-db-rebuild-\S+: mbstream exited|No space left on device|errno: 28/);
    await expectNothingLeft(b);
  });

  it('a snapshot stuck part-way fails at the copy limit; the pending snapshot, both volumes and the launched node go', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const onStepStarted = (stepId: string) => {
      if (stepId !== 'snapshot') return;
      const vol = Object.values(b.world.view().volumes).find((v) => v.tags[REBUILD_TAG] !== undefined && v.state !== 'deleted')!;
      b.world.inject({ kind: 'snapshot-stuck', volume: vol.id, percent: 40 });
    };
    const { outcome } = await rebuild(b, stateDir, { cluster, via: 'ebs', copyHours: 1 }, { onStepStarted });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/snapshot the backup volume.*(timed out|1h 00m)/);
    await expectNothingLeft(b);
    expect(leftovers(b).snapshots).toEqual([]);
  });

  it('a spare whose datadir holds files is rebuilt only when its own name is typed; the old datadir is kept aside', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const spare = await launchSpare(b, cluster, 'us-east-1a', 'spare-1');
    // Without its name the run pauses before the move, holding the lock, the copy made: `resume` goes on.
    const declined = await rebuild(b, stateDir, { cluster, target: spare.name, via: 'stream' });
    expect(declined.outcome.status).toBe('paused');
    expect(declined.outcome.reason).toContain(`--confirm ${spare.name}`);
    expect((await b.inventory.discover()).clusters.find((c) => c.name === cluster)!.instanceIds).not.toContain(spare.id);
    const deps = makeDeps(b, createHeadlessGate({ yes: true, confirm: [cluster, spare.name] }), stateDir);
    deps.config = { ...deps.config, clusters: configSchema.parse({ clusters: launchTemplates(b) }).clusters };
    const resumed = await drive(b, resumeRun(rebuildRunbook, declined.outcome.runId, deps, new AbortController().signal));
    expect(resumed.status, resumed.reason).toBe('succeeded');
    const confirmed = { outcome: resumed };
    const found = await b.inventory.discover();
    expect(found.clusters.find((c) => c.name === cluster)!.instanceIds).toContain(spare.id);
    const listing = await drive(b, b.shell.exec(spare, `ls -A -- /var/lib/mysql.nightshift-old-${confirmed.outcome.runId}`, { timeoutMs: 0 }));
    expect(listing.code).toBe(0);
  });
});

describe('rebuild with a cluster tag of the team\'s own (discovery.clusterTag)', () => {
  it('launches the new node with that tag, so discovery finds it again, and never with nightshift:cluster', { timeout: 60_000 }, async () => {
    const { backends: b, stateDir } = await world('lost-replica');
    const cluster = CLUSTERS[0][0];
    const sent: Record<string, string>[] = [];
    b.compute!.launch = async (spec) => {
      sent.push(spec.tags);
      throw new Error('no capacity in this test');
    };
    const deps = makeDeps(b, createHeadlessGate({ yes: true, confirm: [cluster] }), stateDir);
    deps.config = {
      ...deps.config,
      clusters: configSchema.parse({ clusters: launchTemplates(b) }).clusters,
      discovery: configSchema.parse({ discovery: { clusterTag: 'team:cluster' } }).discovery,
    };
    const ac = new AbortController();
    const prepared = await drive(b, prepareRun(rebuildRunbook, { cluster, via: 'stream' }, deps, ac.signal));
    const launchLines = prepared.plan?.find((s) => s.id === 'launch')?.describe.join('\n') ?? '';
    expect(launchLines).toContain(`team:cluster: ${cluster}`);
    const outcome = await drive(b, executeRun(prepared, deps, ac.signal));
    expect(outcome.status).toBe('failed');
    expect(sent).toHaveLength(1);
    expect(sent[0]!['team:cluster']).toBe(cluster);
    expect(sent[0]!['nightshift:cluster']).toBeUndefined();
  });
});
