// Jobs on the simulated fleet: they live in the world, so a nightshift that
// dies and one that opens the world later find them where virtual time has
// taken them; a repair job writes nodetool's lines on their own times and
// fails the way a real one does.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { REPAIR_FINISHED } from '../../../src/backends/engines/cassandra.js';
import { JobError } from '../../../src/backends/jobs/job-error.js';
import type { JobOffsets, JobPoll } from '../../../src/backends/ports.js';
import { createSimBackends, SimJobs, SimShell, statePathOf, type SimBackends } from '../../../src/backends/sim/index.js';
import type { Instance } from '../../../src/domain/types.js';
import { fleet, openSim, pastConnectTimeout, tempStateDir } from './sim-helpers.js';

const ZERO: JobOffsets = { stdout: 0, stderr: 0 };

async function ring(b?: SimBackends) {
  b ??= await openSim();
  const f = await fleet(b);
  const c = f.clusters.find((x) => x.engine === 'cassandra')!;
  return { b, nodes: f.members(c.name) };
}

/** Every line's "[yyyy-mm-dd hh:mm:ss,mmm]" stamp, as epoch ms. */
function stamps(text: string): number[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => Date.parse(l.slice(1, 24).replace(' ', 'T').replace(',', '.') + 'Z'));
}

/** Repair commands started ("Starting repair command #N") that never printed "Repair command #N finished in". */
function unfinishedCommands(stdout: string): number {
  return (stdout.match(/Starting repair command #/g) ?? []).length - (stdout.match(/Repair command #\d+ finished in/g) ?? []).length;
}

/** Polls from `from` until nothing new comes, as a follower catching up would. */
async function readAll(b: SimBackends, node: Instance, id: string, from: JobOffsets = ZERO) {
  let offsets = from;
  let stdout = '';
  let stderr = '';
  let last: JobPoll;
  for (;;) {
    last = await b.jobs.poll(node, id, offsets);
    stdout += last.stdout;
    stderr += last.stderr;
    if (last.offsets.stdout === offsets.stdout && last.offsets.stderr === offsets.stderr) break;
    offsets = last.offsets;
  }
  return { last, stdout, stderr, offsets };
}

describe('simulated jobs', () => {
  it('a repair job writes by virtual time T exactly the lines stamped up to T, and ends with exit 0', async () => {
    const { b, nodes } = await ring();
    const node = nodes[0]!;
    const t0 = b.clock.now();
    expect(await b.jobs.start(node, { id: 'run-a/repair.1', command: 'nodetool repair -pr' })).toEqual({ started: true });
    const first = await readAll(b, node, 'run-a/repair.1');
    expect(first.last.state).toBe('running');
    expect(first.stdout).toMatch(/^\[[^\]]+\] Starting repair command #1 \([0-9a-f-]{36}\), repairing keyspace system_auth/);
    b.world.advance(2 * 60_000);
    const part = await readAll(b, node, 'run-a/repair.1', first.offsets);
    const now = b.clock.now();
    expect(part.last.state).toBe('running');
    expect(stamps(first.stdout + part.stdout).every((t) => t <= now)).toBe(true);
    expect(stamps(part.stdout).length).toBeGreaterThan(3);
    b.world.advance(30 * 60_000);
    const rest = await readAll(b, node, 'run-a/repair.1', part.offsets);
    expect(rest.last).toMatchObject({ state: 'exited', code: 0 });
    const all = first.stdout + part.stdout + rest.stdout;
    expect(all.trimEnd().split('\n').at(-1)).toMatch(REPAIR_FINISHED);
    // The rest holds only lines from after the second read: none is repeated.
    expect(stamps(rest.stdout).every((t) => t > now)).toBe(true);
    const rec = b.world.repairs().at(-1)!;
    expect(rec).toMatchObject({ node: node.id, outcome: 'ok' });
    expect(rec.finishedAt! - t0).toBeGreaterThanOrEqual(3 * 60_000);
  });

  it('writes what nodetool repair over a channel writes (one schedule for both)', async () => {
    const a = await ring(await openSim({ seed: 3 }));
    await a.b.jobs.start(a.nodes[1]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    a.b.world.advance(40 * 60_000);
    const job = await readAll(a.b, a.nodes[1]!, 'r/repair.1');
    const c = await ring(await openSim({ seed: 3 }));
    const run = c.b.shell.exec(c.nodes[1]!, 'nodetool repair -pr', { timeoutMs: 3_600_000 });
    c.b.world.advance(40 * 60_000);
    const res = await run;
    expect(job.stdout).toBe(res.stdout);
    expect(job.last).toMatchObject({ state: 'exited', code: res.code });
  });

  it('starts once for one id, and the world records every start', async () => {
    const { b, nodes } = await ring();
    const answers = await Promise.all([1, 2, 3].map(() => b.jobs.start(nodes[0]!, { id: 'r/once.1', command: 'nodetool repair -pr' })));
    expect(answers.filter((a) => a.started)).toHaveLength(1);
    b.world.advance(40 * 60_000);
    expect(await b.jobs.start(nodes[0]!, { id: 'r/once.1', command: 'nodetool repair -pr' })).toEqual({ started: false });
    await b.jobs.start(nodes[1]!, { id: 'r/once.1', command: 'nodetool repair -pr' });
    const starts = b.world.jobStarts();
    expect(starts.map((s) => [s.node, s.id, s.command])).toEqual([
      [nodes[0]!.id, 'r/once.1', 'nodetool repair -pr'],
      [nodes[1]!.id, 'r/once.1', 'nodetool repair -pr'],
    ]);
    expect(b.world.repairs().filter((r) => r.node === nodes[0]!.id)).toHaveLength(1);
  });

  it('a process that dies mid-repair and one that opens the world later find the job at the right virtual time', async () => {
    const stateDir = tempStateDir();
    let real = Date.parse('2026-11-21T01:00:00Z');
    const open = () => createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, realNow: () => real });
    const a = await open();
    const { nodes } = await ring(a);
    await a.jobs.start(nodes[2]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    const startedVt = a.clock.now();
    const seen = await readAll(a, nodes[2]!, 'r/repair.1');
    // The process dies: nothing is closed, nothing more is saved.
    a.world.clock.dispose();

    real += 90_000;
    const b = await open();
    const mid = await readAll(b, nodes[2]!, 'r/repair.1', seen.offsets);
    expect(mid.last.state).toBe('running');
    expect(b.clock.now() - startedVt).toBeGreaterThanOrEqual(90_000);
    expect(stamps(mid.stdout).every((t) => t > startedVt && t <= startedVt + 90_000)).toBe(true);
    expect(mid.stdout).toMatch(/progress: \d+%/);
    await b.close();

    real += 60 * 60_000;
    const c = await open();
    const end = await readAll(c, nodes[2]!, 'r/repair.1', mid.offsets);
    expect(end.last).toMatchObject({ state: 'exited', code: 0 });
    expect(end.stdout).toMatch(REPAIR_FINISHED);
    expect(c.world.jobStarts()).toHaveLength(1);
    await c.close();
  });

  it('fails with exit 2 when a ring member goes down mid-repair, naming it', async () => {
    const { b, nodes } = await ring();
    await b.jobs.start(nodes[0]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    b.world.advance(60_000);
    b.world.inject({ kind: 'stop-cassandra', node: nodes[3]!.id });
    b.world.advance(40 * 60_000);
    const r = await readAll(b, nodes[0]!, 'r/repair.1');
    expect(r.last).toMatchObject({ state: 'exited', code: 2 });
    expect(r.stderr).toMatch(new RegExp(`^error: Repair job has failed with the error message: .*Endpoint not alive: /${nodes[3]!.privateIp.replace(/\./g, '\\.')}:7000`));
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/Repair command #\d+ finished with error$/);
    expect(b.world.repairs().at(-1)!.outcome).toBe('failed');
  });

  it('fails with exit 2 on an injected fault, which is used up', async () => {
    const { b, nodes } = await ring();
    b.world.inject({ kind: 'repair-fails', node: nodes[1]!.id, message: 'Stream failed' });
    await b.jobs.start(nodes[1]!, { id: 'r/repair.1', command: 'sudo -u cassandra nodetool repair -pr' });
    b.world.advance(40 * 60_000);
    const r = await readAll(b, nodes[1]!, 'r/repair.1');
    expect(r.last).toMatchObject({ state: 'exited', code: 2 });
    expect(r.stderr).toContain('Stream failed');
    expect(b.world.faults().filter((f) => f.kind === 'repair-fails')).toEqual([]);
    await b.jobs.start(nodes[1]!, { id: 'r/repair.2', command: 'nodetool repair -pr' });
    b.world.advance(40 * 60_000);
    expect((await readAll(b, nodes[1]!, 'r/repair.2')).last).toMatchObject({ state: 'exited', code: 0 });
  });

  it("Cassandra stopping on the repairing node closes nodetool's JMX connection: exit 2", async () => {
    const { b, nodes } = await ring();
    await b.jobs.start(nodes[2]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    b.world.advance(2 * 60_000);
    await b.shell.exec(nodes[2]!, 'sudo systemctl stop cassandra');
    const r = await readAll(b, nodes[2]!, 'r/repair.1');
    expect(r.last).toMatchObject({ state: 'exited', code: 2 });
    expect(r.stderr).toMatch(/^error: \[[^\]]+\] JMX connection closed\. You should check server log for repair status of keyspace \S+\(Subsequent keyspaces are not going to be repaired\)\./);
    expect(unfinishedCommands(r.stdout)).toBeGreaterThan(0);
  });

  it('its host going down loses the job: polls fail like ssh while it is down, and after it is back the job is lost', async () => {
    const { b, nodes } = await ring();
    const node = nodes[1]!;
    await b.jobs.start(node, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    b.world.advance(60_000);
    const before = await readAll(b, node, 'r/repair.1');
    b.world.inject({ kind: 'kill-node', node: node.id });
    await expect(pastConnectTimeout(b, b.jobs.poll(node, 'r/repair.1', before.offsets))).rejects.toThrow(`connect ETIMEDOUT ${node.privateIp}:22`);
    // Back before the repair's next line would have come: its process is gone all the same.
    b.world.heal(node.id);
    const after = await b.jobs.poll(node, 'r/repair.1', before.offsets);
    expect(after.state).toBe('lost');
    expect(after.state === 'lost' && after.why).toMatch(new RegExp(`^${node.name} went down at .* while job r/repair.1 ran \\(its host hung or was stopped\\); its process did not survive and left no exit status$`));
    expect(after.stdout).toBe('');
    expect(b.world.repairs().at(-1)!.outcome).toBe('aborted');
  });

  it('start and poll on an unreachable host reject as ssh does: refused at once, a hung host after the connect timeout', async () => {
    const { b, nodes } = await ring();
    b.world.inject({ kind: 'ssh-refused', node: nodes[0]!.id });
    await expect(b.jobs.start(nodes[0]!, { id: 'r/x.1', command: 'nodetool repair -pr' })).rejects.toThrow(`connect ECONNREFUSED ${nodes[0]!.privateIp}:22`);
    b.world.inject({ kind: 'kill-node', node: nodes[1]!.id });
    const t0 = b.clock.now();
    await expect(pastConnectTimeout(b, b.jobs.start(nodes[1]!, { id: 'r/x.1', command: 'nodetool repair -pr' }))).rejects.toThrow('ETIMEDOUT');
    expect(b.clock.now() - t0).toBeGreaterThanOrEqual(10_000);
    expect(b.world.jobStarts()).toEqual([]);
  });

  it('cancel stops a repair job with TERM (exit 143) and records the repair aborted', async () => {
    const { b, nodes } = await ring();
    await b.jobs.start(nodes[0]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    b.world.advance(60_000);
    await b.jobs.cancel(nodes[0]!, 'r/repair.1');
    b.world.advance(40 * 60_000);
    const r = await readAll(b, nodes[0]!, 'r/repair.1');
    expect(r.last).toMatchObject({ state: 'exited', code: 143, signal: 'SIGTERM' });
    expect(unfinishedCommands(r.stdout)).toBeGreaterThan(0);
    expect(b.world.repairs().at(-1)!.outcome).toBe('aborted');
    // Nothing left to cancel: a no-op, as for a job that never was.
    await b.jobs.cancel(nodes[0]!, 'r/repair.1');
    await b.jobs.cancel(nodes[0]!, 'r/never.1');
  });

  it('any other command runs through the shell at once and is recorded finished', async () => {
    const { b, nodes } = await ring();
    await b.jobs.start(nodes[0]!, { id: 'r/status.1', command: 'nodetool status' });
    await b.jobs.start(nodes[0]!, { id: 'r/nothing.1', command: 'no-such-tool --now' });
    await new Promise((r) => setImmediate(r));
    const status = await readAll(b, nodes[0]!, 'r/status.1');
    expect(status.last).toMatchObject({ state: 'exited', code: 0 });
    expect(status.stdout).toMatch(/^Datacenter: /);
    const nothing = await readAll(b, nodes[0]!, 'r/nothing.1');
    expect(nothing.last).toMatchObject({ state: 'exited', code: 127 });
    expect(nothing.stderr).toBe('sh: 1: no-such-tool: not found\n');
  });

  it('a job run inside another process is running while that process lives, and lost once it has ended', async () => {
    const { b, nodes } = await ring();
    const other = await openSim({ stateDir: b.world.stateDir });
    // `nodetool drain` is not a schedule: it runs through exec, inside the process that started it.
    await other.jobs.start(nodes[0]!, { id: 'r/drain.1', command: 'nodetool drain' });
    // A world object reads the file again on its next turn.
    await new Promise((r) => setImmediate(r));
    expect((await b.jobs.poll(nodes[0]!, 'r/drain.1', ZERO)).state).toBe('running');
    // The record of a job a process of this host ran, and that process has exited since.
    const dead = Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
    b.world.mutate((ws, t) => {
      ws.jobs[`${nodes[1]!.id}|r/drain.1`] = { node: nodes[1]!.id, id: 'r/drain.1', command: 'nodetool drain', pid: 4242, startedAt: t, state: 'running', stdout: '', stderr: '', ranBy: `${hostname()}:${dead}` };
    });
    const p = await b.jobs.poll(nodes[1]!, 'r/drain.1', ZERO);
    expect(p.state === 'lost' && p.why).toBe(`job r/drain.1 ran inside nightshift process ${hostname()}:${dead}, which ended before it finished (a simulated host runs such commands in the session)`);
  });

  it('hands over at most pollBytes per stream per poll, in whole lines, and all of it in the end', async () => {
    const { b, nodes } = await ring();
    await b.jobs.start(nodes[0]!, { id: 'r/repair.1', command: 'nodetool repair -pr' });
    b.world.advance(40 * 60_000);
    const whole = (await readAll(b, nodes[0]!, 'r/repair.1')).stdout;
    const small = new SimJobs(b.world, b.shell as SimShell, { pollBytes: 1000 });
    const chunks: string[] = [];
    let offsets = ZERO;
    for (let i = 0; i < 1_000; i++) {
      const p = await small.poll(nodes[0]!, 'r/repair.1', offsets);
      if (p.stdout === '') break;
      chunks.push(p.stdout);
      offsets = p.offsets;
    }
    expect(chunks.join('')).toBe(whole);
    expect(chunks.length).toBeGreaterThan(whole.length / 1000);
    expect(chunks.every((c) => Buffer.byteLength(c) <= 1000 && c.endsWith('\n'))).toBe(true);
  });

  it('refuses a bad id before touching the world', async () => {
    const { b, nodes } = await ring();
    await expect(b.jobs.start(nodes[0]!, { id: '../x', command: 'true' })).rejects.toThrow(JobError);
    expect(b.world.jobStarts()).toEqual([]);
  });

  it('opens a world saved before jobs existed', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir });
    await a.close();
    const path = statePathOf(stateDir, 'healthy', 1, null);
    const old = JSON.parse(readFileSync(path, 'utf8'));
    delete old.jobs;
    delete old.jobStarts;
    writeFileSync(path, JSON.stringify(old));
    const { b, nodes } = await ring(await openSim({ stateDir }));
    expect(b.world.jobStarts()).toEqual([]);
    expect(await b.jobs.start(nodes[0]!, { id: 'r/repair.1', command: 'nodetool repair -pr' })).toEqual({ started: true });
  });
});
