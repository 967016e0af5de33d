// `rotate` on the lab: every step that can run on real servers runs on them,
// with real durations. The lab has no Auto Scaling group, so this file
// supplies that one thing by hand — LabGroup, a Scaling port (and
// Compute.waitReady) over the lab's hosts — and everything else is the
// product's own: the static lab inventory and its tag overlay, the SshShell
// over the real sshd, MariaDB m1 (master), m2 and m3 (replicas), the spare m4
// (empty datadir, no server), and mariadb-backup streamed by the rebuild
// steps rotate embeds. Terminating m3 really stops its server; the group's
// replacement is m4, which must come out of the run a replica of m1 with
// every row m1 has. The Cassandra path runs too, against the nodetool
// stand-in of the repair test over the same sshd: drain, terminate, the
// replacement UN in every view.
//
// Each step's real duration is printed: on the lab most of a MySQL rotation
// is the runbooks' poll intervals (the group every 10 s, a job every 30 s),
// not the work.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { engineDeps } from '../../src/actions/engine/deps.js';
import { createHeadlessGate } from '../../src/actions/engine/gate.js';
import { readJournal } from '../../src/actions/engine/journal.js';
import type { RunRecord } from '../../src/actions/engine/records.js';
import { executeRun, prepareRun, type RunOutcome } from '../../src/actions/engine/runner.js';
import { rotateRunbook } from '../../src/actions/runbooks/rotate.js';
import { createInventoryBackends, realClock, StaticInventory } from '../../src/backends/inventory/index.js';
import { ROTATION_SUSPENDS, type Backends, type CallOptions, type Compute, type Discovery, type Inventory, type Scaling } from '../../src/backends/ports.js';
import { createSshShell } from '../../src/backends/ssh/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { SPARE_TAG, type GroupMember, type Instance, type ScalingGroup } from '../../src/domain/types.js';
import { findLabBinaries } from '../../src/lab/binaries.js';
import { LAB_SERVICE_UNIT } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

const run = promisify(execFile);
const fakeNodetool = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-nodetool.sh');
const GROUP = 'lab-asg';
/** The group launches v2; every member was launched from v1, so all are stale. */
const OLD_VERSION = '1';
const NEW_VERSION = '2';

interface LabGroupWorld {
  /** The group's members at the start, all launched from OLD_VERSION. */
  members: string[];
  /** The hosts it launches in place of those it terminates, in order. */
  spares: string[];
  /** What terminating an instance does to the lab (MySQL: its server stopped for real). */
  shutDown(instanceId: string): Promise<void>;
  /** What launching one does (Cassandra: it starts joining the ring). */
  launched?(instanceId: string, replacing: string): void;
  /** Real ms a replacement stays Pending. */
  pendingMs?: number;
}

/**
 * The Auto Scaling group the lab lacks. Terminating a member runs the
 * world's shutDown behind the call (as EC2 returns at once and shuts down
 * after); the member stays Terminating until that is over, then leaves the
 * group, and the group launches the next spare in its place (desired kept):
 * Pending for a couple of real seconds, then InService.
 */
class LabGroup implements Scaling {
  readonly min = 2;
  readonly max = 4;
  readonly desired = 3;
  readonly suspended = new Set<string>();
  /** Every mutating call, in order, with the suspended set at that moment. */
  readonly calls: Array<{ call: string; suspended: string[] }> = [];
  /** Instances terminated that have left the group. */
  readonly gone = new Set<string>();
  /** Instances the group launched. */
  readonly launched = new Set<string>();
  private readonly members: Array<GroupMember & { pendingUntil?: number }>;
  private readonly spares: string[];
  /** The terminations under way: each settles once the instance is down and its replacement launched. */
  private readonly shutdowns: Promise<void>[] = [];

  constructor(private readonly world: LabGroupWorld) {
    this.spares = [...world.spares];
    this.members = world.members.map((n, i) => ({
      instanceId: n,
      az: `lab-${String.fromCharCode(97 + i)}`,
      lifecycle: 'InService',
      health: 'Healthy',
      isProtected: false,
      launchTemplateVersion: OLD_VERSION,
    }));
  }

  async getGroup(name: string): Promise<ScalingGroup | undefined> {
    if (name !== GROUP) return undefined;
    const now = Date.now();
    for (const m of this.members) {
      if (m.lifecycle === 'Pending' && m.pendingUntil !== undefined && now >= m.pendingUntil) {
        m.lifecycle = 'InService';
        delete m.pendingUntil;
      }
    }
    return {
      name: GROUP,
      min: this.min,
      max: this.max,
      desired: this.desired,
      members: this.members.map(({ pendingUntil: _, ...m }) => ({ ...m })),
      launchTemplate: { id: 'lt-lab', name: 'lab-lt', version: NEW_VERSION, asked: '$Latest' },
      suspended: [...this.suspended].sort(),
    };
  }

  async terminateInGroup(instanceId: string): Promise<void> {
    this.record(`terminate ${instanceId}`);
    const m = this.members.find((x) => x.instanceId === instanceId);
    if (!m) throw new Error(`${instanceId} is not in ${GROUP}`);
    m.lifecycle = 'Terminating';
    this.shutdowns.push(
      (async () => {
        await this.world.shutDown(instanceId);
        this.members.splice(this.members.indexOf(m), 1);
        this.gone.add(instanceId);
        const next = this.spares.shift();
        if (!next) throw new Error('LabGroup: no spare host left to launch');
        this.launched.add(next);
        this.members.push({
          instanceId: next,
          az: m.az,
          lifecycle: 'Pending',
          health: 'Healthy',
          isProtected: false,
          launchTemplateVersion: NEW_VERSION,
          pendingUntil: Date.now() + (this.world.pendingMs ?? 2_000),
        });
        this.world.launched?.(next, instanceId);
      })(),
    );
  }

  /** Polls the group on the real clock, as the AWS adapter does. */
  async waitForReplacement(group: string, known: string[], opts: CallOptions & { timeoutMs?: number; onProgress?: (status: string) => void } = {}): Promise<string> {
    const end = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const g = await this.getGroup(group);
      const fresh = (g?.members ?? []).filter((m) => !known.includes(m.instanceId));
      const ready = fresh.find((m) => m.lifecycle === 'InService' && m.health === 'Healthy');
      if (ready) return ready.instanceId;
      opts.onProgress?.(fresh.length === 0 ? 'no replacement yet' : fresh.map((m) => `${m.instanceId} ${m.lifecycle}`).join(', '));
      if (Date.now() > end) throw new Error(`no replacement InService in ${group} after ${opts.timeoutMs} ms`);
      await realClock.sleep(1_000, opts.signal);
    }
  }

  async suspendProcesses(group: string, processes: readonly string[]): Promise<void> {
    for (const p of processes) this.suspended.add(p);
    this.record(`suspend ${processes.join(',')} on ${group}`);
  }

  async resumeProcesses(group: string, processes: readonly string[]): Promise<void> {
    for (const p of processes) this.suspended.delete(p);
    this.record(`resume ${processes.join(',')} on ${group}`);
  }

  /** Every termination's shutdown finished (rejects with its failure). */
  settled(): Promise<void[]> {
    return Promise.all(this.shutdowns);
  }

  private record(call: string): void {
    this.calls.push({ call, suspended: [...this.suspended].sort() });
  }
}

/**
 * The lab inventory as an Auto Scaling target shows it: every host names the
 * group; one the group launched carries the group's tags, not the file's
 * `spare: true` (which stands for "not launched yet"), so it is a member until
 * a runbook tags it otherwise; one it terminated is terminated and no member.
 */
/** The lab's config keeps discovery.clusterTag's default. */
const LAB_CLUSTER_TAG = 'nightshift:cluster';

function inGroup(inner: Inventory, group: LabGroup): Inventory {
  return {
    async discover(opts?: CallOptions): Promise<Discovery> {
      const found = await inner.discover(opts);
      const instances = found.instances.map((i) => {
        const tags = { ...i.tags };
        if (group.launched.has(i.id) && tags[SPARE_TAG] === 'true') delete tags[SPARE_TAG];
        return { ...i, tags, asg: GROUP, ...(group.gone.has(i.id) ? { state: 'terminated' as const } : {}) };
      });
      const memberOf = (c: string, i: Instance) => i.tags[LAB_CLUSTER_TAG] === c && !(SPARE_TAG in i.tags) && i.state !== 'terminated';
      return {
        clusters: found.clusters.map((c) => ({ ...c, asg: GROUP, instanceIds: instances.filter((i) => memberOf(c.name, i)).map((i) => i.id) })),
        instances,
      };
    },
    setTags: (id, tags, opts) => inner.setTags(id, tags, opts),
    deleteTags: (id, keys, opts) => inner.deleteTags(id, keys, opts),
  };
}

/** Only what rotate asks of EC2: the lab's hosts pass their status checks as soon as they are asked. */
function labCompute(inventory: Inventory): Compute {
  const notHere = (what: string) => async (): Promise<never> => {
    throw new Error(`Compute.${what}: not on the lab (rotate-lab supplies waitReady only)`);
  };
  return {
    async waitReady(instanceId: string, opts?: CallOptions): Promise<Instance> {
      const inst = (await inventory.discover(opts)).instances.find((i) => i.id === instanceId);
      if (!inst) throw new Error(`Compute.waitReady: no host ${instanceId} in the lab inventory`);
      return { ...inst, statusChecks: 'ok' };
    },
    launch: notHere('launch'),
    find: notHere('find'),
    terminate: notHere('terminate'),
    stop: notHere('stop'),
    isolate: notHere('isolate'),
    fenceState: notHere('fenceState'),
  };
}

describeLab('rotate on the lab', () => {
  // The heartbeat writer: rotate's health check and rebuild's catch-up read lag from it, as in production.
  const fx = useTestLab({ heartbeat: true });
  const opened: Backends[] = [];
  afterAll(async () => {
    for (const b of opened) await b.close();
  });

  /** The MySQL lab's group: m1..m3, m4 launched in place of one; terminating stops the member's server for real. */
  const mysqlWorld = (): LabGroupWorld => ({
    members: ['m1', 'm2', 'm3'],
    spares: ['m4'],
    shutDown: async (id) => {
      await run(fx.lab.node(id).service, ['stop', LAB_SERVICE_UNIT]);
    },
  });

  /** The backends `nightshift --inventory FILE` opens (the lab's by default), with LabGroup as the group behind them. */
  async function labBackends(home: string, world: LabGroupWorld, inventoryFile = fx.lab.state.files.inventory) {
    const elsewhere = mkdtempSync(join(tmpdir(), 'ns-rotate-conf-'));
    const config: Config = loadConfig(
      { inventory: inventoryFile, stateDir: join(home, 'nightshift') },
      { env: { XDG_CONFIG_HOME: join(elsewhere, 'xdg') }, cwd: elsewhere },
    );
    const base = await createInventoryBackends(config, { shell: createSshShell(config) });
    opened.push(base);
    const group = new LabGroup(world);
    const inventory = inGroup(base.inventory, group);
    const { scaling: _s, compute: _c, ...unavailable } = base.unavailable ?? {};
    const backends: Backends = { ...base, inventory, scaling: group, compute: labCompute(inventory), unavailable };
    return { config, backends, group, overlay: (base.inventory as StaticInventory).tagStateFile };
  }

  async function rotate(home: string, params: Record<string, unknown>, world = mysqlWorld(), inventoryFile?: string) {
    const { config, backends, group, overlay } = await labBackends(home, world, inventoryFile);
    const events: RunRecord[] = [];
    const deps = engineDeps(config, backends, createHeadlessGate({ yes: true, confirm: [] }), (r) => events.push(r));
    const signal = new AbortController().signal;
    const prepared = await prepareRun(rotateRunbook, params, deps, signal);
    let outcome: RunOutcome | undefined;
    if (!prepared.blocked) outcome = await executeRun(prepared, deps, signal);
    return { prepared, outcome, backends, group, overlay, events };
  }

  const rows = 'SELECT COUNT(*), SUM(CRC32(note)) FROM nightshift_lab.writes';
  const writeRows = (count: number, note: string) =>
    fx.lab.sql('m1', `INSERT INTO nightshift_lab.writes (note) SELECT CONCAT('${note} ', seq) FROM nightshift_lab.seq_1_to_${count}`);

  /** SHOW SLAVE STATUS by column name (Lab.sql leaves the names out). */
  async function slaveStatus(node: string): Promise<Record<string, string>> {
    const { stdout: text } = await run(findLabBinaries().client, [`--socket=${fx.lab.node(node).socket}`, '--batch', '-e', 'SHOW SLAVE STATUS\\G']);
    return Object.fromEntries([...text.matchAll(/^\s*(\w+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  }

  async function serverAnswers(node: string): Promise<boolean> {
    return fx.lab.sql(node, 'SELECT 1').then(
      () => true,
      () => false,
    );
  }

  /** The lab as `lab up` made it: m3 a replica of m1 again, m4 a spare with an empty datadir and no server. */
  async function resetLab(): Promise<void> {
    if (!(await serverAnswers('m3'))) await fx.lab.startService('m3');
    const m4 = fx.lab.node('m4');
    await run(m4.service, ['stop', LAB_SERVICE_UNIT]);
    await run('sh', ['-c', 'rm -rf -- "$1" && mkdir -p -- "$1"', 'sh', m4.datadir]);
    // m3's server kept its replication settings; it catches up on what it missed.
    await fx.lab.waitForReplicasInSync(60_000);
  }
  afterEach(resetLab);

  it('rotates m3 out: its server stops, m4 comes in as the replacement, rebuilt by stream from a replica, replicating from m1 with every row', { timeout: 300_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-rotate-'));
    await writeRows(20_000, 'before');
    // Writes go on during the rotation, as they would on a live master.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await writeRows(10, `during-${written}`);
        written++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const started = Date.now();
    const r = await rotate(home, { cluster: 'lab', order: 'm3', via: 'stream', noPause: true }).finally(() => (writing = false));
    const seconds = (Date.now() - started) / 1000;
    await writer;
    await r.group.settled();
    expect(r.prepared.blocked).toBeUndefined();
    expect(r.outcome?.status, r.outcome?.reason).toBe('succeeded');
    expect(written).toBeGreaterThan(0);

    // m4: a member again, read-only, replicating from m1, with every row m1 has (those written during the run too).
    await writeRows(1_000, 'after');
    const pos = await fx.lab.value('m1', 'SELECT @@gtid_binlog_pos');
    expect(await fx.lab.value('m4', `SELECT MASTER_GTID_WAIT('${pos}', 60)`)).toBe('0');
    expect(await fx.lab.sql('m4', rows)).toBe(await fx.lab.sql('m1', rows));
    const st = await slaveStatus('m4');
    expect([st.Master_Host, st.Slave_IO_Running, st.Slave_SQL_Running]).toEqual([fx.lab.node('m1').ip, 'Yes', 'Yes']);
    expect(await fx.lab.value('m4', 'SELECT @@read_only')).toBe('1');
    expect(await fx.lab.value('m4', 'SELECT @@server_id')).toBe('4');
    const found = await r.backends.inventory.discover();
    const lab = found.clusters.find((c) => c.name === 'lab')!;
    expect([...lab.instanceIds].sort()).toEqual(['m1', 'm2', 'm4']);
    const m4 = found.instances.find((i) => i.id === 'm4')!;
    expect(m4.tags[SPARE_TAG]).toBeUndefined();
    expect(m4.tags['nightshift:role']).toBe('replica');

    // m3: out of the group, its server down, tagged out by this run.
    const m3 = found.instances.find((i) => i.id === 'm3')!;
    expect(m3.tags[SPARE_TAG]).toBe(`rotate ${r.prepared.runId}`);
    expect(m3.state).toBe('terminated');
    expect(await serverAnswers('m3')).toBe(false);
    await expect(run(fx.lab.node('m3').service, ['is-active', LAB_SERVICE_UNIT])).rejects.toMatchObject({ code: 3 });

    // The group: desired kept, m4 in m3's place on the new version; the fighting processes held while m3 went, resumed at the end.
    const g = (await r.group.getGroup(GROUP))!;
    expect(g.members.map((m) => `${m.instanceId} ${m.lifecycle} v${m.launchTemplateVersion}`)).toEqual(['m1 InService v1', 'm2 InService v1', 'm4 InService v2']);
    expect(g.desired).toBe(3);
    expect(g.suspended).toEqual([]);
    expect(r.group.calls.map((c) => c.call)).toEqual([`suspend ${ROTATION_SUSPENDS.join(',')} on ${GROUP}`, 'terminate m3', `resume ${ROTATION_SUSPENDS.join(',')} on ${GROUP}`]);
    expect(r.group.calls.find((c) => c.call === 'terminate m3')!.suspended).toEqual([...ROTATION_SUSPENDS].sort());

    // The journal: every step ran, in order, each with its real duration.
    const records = readJournal(r.outcome!.journal!).records;
    const finished = records.filter((x): x is Extract<RunRecord, { type: 'step-finished' }> => x.type === 'step-finished');
    expect(finished.map((s) => `${s.stepId} ${s.status}`)).toEqual(
      [
        'suspend',
        'leave:m3',
        'terminate:m3',
        'replacement:m3',
        'rebuild-plan:m3',
        'target-check:m3',
        'stream:m3',
        'prepare:m3',
        'stop-target:m3',
        'datadir:m3',
        'move-back:m3',
        'start:m3',
        'replicate:m3',
        'catch-up:m3',
        'join:m3',
        'cleanup:m3',
        'resume-processes',
      ].map((id) => `${id} ok`),
    );
    // Real durations: the steps' times make up the run's, and the run's is what the wall clock saw.
    const end = records.find((x): x is Extract<RunRecord, { type: 'run-finished' }> => x.type === 'run-finished')!;
    const stepsMs = finished.reduce((sum, s) => sum + s.realMs, 0);
    expect(stepsMs).toBeLessThanOrEqual(end.realMs);
    expect(stepsMs).toBeGreaterThan(end.realMs * 0.9);
    expect(end.realMs).toBeLessThanOrEqual(seconds * 1000);
    // The replacement was Pending for real seconds: its wait saw that, not a stand-in clock.
    expect(finished.find((s) => s.stepId === 'replacement:m3')!.realMs).toBeGreaterThanOrEqual(2_000);
    for (const s of finished) console.log(`rotate on the lab: ${s.stepId.padEnd(18)} ${(s.realMs / 1000).toFixed(2).padStart(7)} s`);
    console.log(`rotate on the lab: whole run ${seconds.toFixed(1)} s (${written * 10} rows written on m1 meanwhile)`);
    expect(JSON.stringify(records)).not.toContain('lab-repl-only');
    expect(existsSync(r.overlay)).toBe(true);
  });

  it('--order m1 (the master) is refused with the switchover advice before anything changes', { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-rotate-'));
    // The heartbeat moves the GTID position every second; who is writable, and what each replica follows, does not.
    const roles = () => Promise.all(['m1', 'm2', 'm3'].map((n) => fx.lab.value(n, 'SELECT @@read_only')));
    expect(await roles()).toEqual(['0', '1', '1']);
    const r = await rotate(home, { cluster: 'lab', order: 'm1', via: 'stream', noPause: true });
    expect(r.prepared.blocked).toMatch(/m1 is the master of lab: a master is never terminated by a rotation; .*nightshift run switchover --cluster lab/);
    expect(r.outcome).toBeUndefined();
    // The preflight before it passed: the lab was whole (the reset after the first case left it so).
    expect(r.prepared.preflight.map((c) => `${c.id} ${c.status}`)).toEqual(expect.arrayContaining(['group ok', 'engine ok', 'order failed']));
    // Nothing changed: the group untouched, no tag written, every server as it was, m4 still without one.
    expect(r.group.calls).toEqual([]);
    expect(existsSync(r.overlay)).toBe(false);
    expect(await roles()).toEqual(['0', '1', '1']);
    expect(await serverAnswers('m4')).toBe(false);
    for (const n of ['m2', 'm3']) {
      const st = await slaveStatus(n);
      expect([st.Master_Host, st.Slave_IO_Running, st.Slave_SQL_Running], n).toEqual([fx.lab.node('m1').ip, 'Yes', 'Yes']);
    }
  });

  it('Cassandra: c3 drained with nodetool over ssh, terminated, and its replacement c4 UN in every view before the run ends', { timeout: 180_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-rotate-'));
    // No Cassandra on the lab: the nodetool stand-in answers over the real sshd, its ring in a file the "cluster" below rewrites.
    const ringFile = join(home, 'ring');
    const drains = join(home, 'drains.log');
    writeFileSync(ringFile, '11 UN\n12 UN\n13 UN\n');
    const ringNow = () => readFileSync(ringFile, 'utf8').trim().split('\n');
    // Write-then-rename: a nodetool status reading it meanwhile sees one ring or the other, never half a file.
    const setRing = (lines: string[]) => {
      writeFileSync(`${ringFile}.tmp`, lines.join('\n') + '\n');
      renameSync(`${ringFile}.tmp`, ringFile);
    };
    const octet = (name: string) => fx.lab.node(`m${name.slice(1)}`).ip.split('.').at(-1)!;
    const inventory = join(fx.lab.state.dir, 'ring.yaml');
    writeFileSync(
      inventory,
      stringify({
        ssh: { configFile: 'ssh/ssh_config' },
        hosts: fx.lab.state.nodes.map((n, i) => ({
          name: `c${i + 1}`,
          cluster: 'ring',
          engine: 'cassandra',
          host: n.ip,
          port: fx.lab.state.sshPort,
          user: fx.lab.state.user,
          az: `lab-${String.fromCharCode(97 + i)}`,
          nodetool: `FAKE_NODETOOL_RING=${ringFile} FAKE_NODETOOL_DRAIN_LOG=${drains} ${fakeNodetool}`,
          ...(n.spare ? { spare: true } : {}),
        })),
      }),
    );
    const seen: string[] = [];
    const world: LabGroupWorld = {
      members: ['c1', 'c2', 'c3'],
      spares: ['c4'],
      // Drained, it is DN already; terminated, nothing of it answers any more, and the ring still lists it until it is replaced.
      shutDown: async (id) => {
        seen.push(`${id} terminated: ${ringNow().join(', ')}`);
      },
      // Started with replace_address: joining in the dead node's place, then UN, the dead one gone from the ring.
      launched: (id, replacing) => {
        setRing([...ringNow(), `${octet(id)} UJ`]);
        setTimeout(() => setRing(ringNow().filter((l) => !l.startsWith(`${octet(replacing)} `)).map((l) => (l.startsWith(`${octet(id)} `) ? `${octet(id)} UN` : l))), 3_000);
      },
    };

    const started = Date.now();
    const r = await rotate(home, { cluster: 'ring', order: 'c3', noPause: true }, world, inventory);
    const seconds = (Date.now() - started) / 1000;
    await r.group.settled();
    expect(r.prepared.blocked).toBeUndefined();
    expect(r.outcome?.status, r.outcome?.reason).toBe('succeeded');

    // Drained once, on c3's address, before it was terminated (its peers saw it DN by then).
    expect(readFileSync(drains, 'utf8').trim().split('\n').map((l) => l.replace(/^\S+ drain pid=\d+ /, ''))).toEqual([`on=${fx.lab.node('m3').ip}`]);
    expect(seen).toEqual([`c3 terminated: ${octet('c1')} UN, ${octet('c2')} UN, ${octet('c3')} DN`]);
    expect(ringNow()).toEqual([`${octet('c1')} UN`, `${octet('c2')} UN`, `${octet('c4')} UN`]);
    const found = await r.backends.inventory.discover();
    expect([...found.clusters.find((c) => c.name === 'ring')!.instanceIds].sort()).toEqual(['c1', 'c2', 'c4']);
    const g = (await r.group.getGroup(GROUP))!;
    expect(g.members.map((m) => `${m.instanceId} ${m.lifecycle} v${m.launchTemplateVersion}`)).toEqual(['c1 InService v1', 'c2 InService v1', 'c4 InService v2']);
    expect(g.suspended).toEqual([]);
    expect(r.group.calls.find((c) => c.call === 'terminate c3')!.suspended).toEqual([...ROTATION_SUSPENDS].sort());

    const finished = readJournal(r.outcome!.journal!).records.filter((x): x is Extract<RunRecord, { type: 'step-finished' }> => x.type === 'step-finished');
    expect(finished.map((s) => `${s.stepId} ${s.status}`)).toEqual(['suspend', 'drain:c3', 'terminate:c3', 'replacement:c3', 'ring:c3', 'resume-processes'].map((id) => `${id} ok`));
    // The stand-in's drain takes a real second: the step waited for it.
    expect(finished.find((s) => s.stepId === 'drain:c3')!.realMs).toBeGreaterThanOrEqual(1_000);
    for (const s of finished) console.log(`rotate (Cassandra) on the lab: ${s.stepId.padEnd(18)} ${(s.realMs / 1000).toFixed(2).padStart(7)} s`);
    console.log(`rotate (Cassandra) on the lab: whole run ${seconds.toFixed(1)} s`);
  });
});
