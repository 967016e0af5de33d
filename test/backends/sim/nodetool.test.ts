// The simulated nodetool: `status` parses with the real parser; `repair -pr`
// streams nodetool's progress lines over virtual minutes, finishes with the
// line the runbook checks, and fails or stops the way the real one does.

import { describe, expect, it, vi } from 'vitest';
import { parseNodetoolStatus, REPAIR_FINISHED } from '../../../src/backends/engines/cassandra.js';
import { EngineProbes } from '../../../src/backends/engines/index.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { fleet, openSim, pastConnectTimeout, tempStateDir } from './sim-helpers.js';

async function ring(given?: SimBackends) {
  const b = given ?? (await openSim());
  const f = await fleet(b);
  const c = f.clusters.find((x) => x.engine === 'cassandra')!;
  return { b, f, nodes: f.members(c.name) };
}

describe('simulated nodetool', () => {
  it('prints a status every member parses, with UN rows at the members loopback addresses', async () => {
    const { b, nodes } = await ring();
    const res = await b.shell.exec(nodes[0]!, 'sudo -u cassandra nodetool status');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Datacenter: us-east-1\n=+\nStatus=Up\/Down\n\|\/ State=Normal\/Leaving\/Joining\/Moving\n--  Address +Load +Tokens +Owns \(effective\) +Host ID +Rack\n/);
    const peers = parseNodetoolStatus(res.stdout);
    expect(peers.map((p) => p.address).sort()).toEqual(nodes.map((n) => n.privateIp).sort());
    expect(peers.every((p) => p.status === 'UN' && p.address.startsWith('127.'))).toBe(true);
    const facts = await new EngineProbes(b.shell).probe(nodes[1]!, 'cassandra');
    expect(facts.kind === 'cassandra' && facts.cassandra.status).toBe('UN');
  });

  it('on a ring whose keyspaces replicate differently prints Owns ? and the Note, as real rings do, and still parses', async () => {
    const { b, nodes } = await ring();
    const ringName = b.world.view().cassandra[nodes[0]!.id]!.ring;
    b.world.mutate((w) => {
      w.rings[ringName]!.keyspaces.push('audit');
    });
    const res = await b.shell.exec(nodes[0]!, 'nodetool -u cassandra -pw S3cret status');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--  Address +Load +Tokens +Owns +Host ID +Rack\n/);
    expect(res.stdout).toMatch(/\n\nNote: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless\n$/);
    const peers = parseNodetoolStatus(res.stdout);
    expect(peers).toHaveLength(nodes.length);
    expect(peers.every((p) => p.owns === '?')).toBe(true);
    const facts = await new EngineProbes(b.shell).probe(nodes[1]!, 'cassandra');
    expect(facts.kind === 'cassandra' && facts.cassandra.status).toBe('UN');
  });

  it('streams a repair over virtual minutes and finishes with "Repair command #N finished"', async () => {
    const { b, nodes } = await ring();
    const chunks: string[] = [];
    const started = b.clock.now();
    // A limit long enough for a repair: without one, ssh's 30 s applies (see below).
    const run = b.shell.exec(nodes[0]!, 'nodetool repair -pr', { onStdout: (c) => chunks.push(c), timeoutMs: 3_600_000 });
    await vi.waitFor(() => expect(chunks.join('')).toMatch(/Starting repair command #1 \([0-9a-f-]{36}\), repairing keyspace system_auth with repair options \(parallelism: parallel, primary range: true/));
    const before = chunks.length;
    b.world.advance(60_000);
    await vi.waitFor(() => expect(chunks.length).toBeGreaterThan(before));
    expect(chunks.join('')).toMatch(/Repair session [0-9a-f-]{36} for range \[\(-?\d+,-?\d+\]\] finished \(progress: \d+%\)/);
    b.world.advance(20 * 60_000);
    const res = await run;
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.every((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(REPAIR_FINISHED);
    expect(lines.at(-1)).toMatch(/finished in (\d+ minutes?)( \d+ seconds?)?$/);
    expect(res.stdout).toBe(chunks.join(''));
    const rec = b.world.repairs().at(-1)!;
    expect(rec.outcome).toBe('ok');
    const took = rec.finishedAt! - started;
    expect(took).toBeGreaterThanOrEqual(3 * 60_000);
    expect(took).toBeLessThanOrEqual(16 * 60_000);
    // The repair never tags: that is the runbook's job.
    expect(b.world.instances().find((i) => i.id === nodes[0]!.id)!.tags['last-repaired']).toBe(nodes[0]!.tags['last-repaired']);
  });

  it('stops when aborted, like a dropped channel, and records it', async () => {
    const { b, nodes } = await ring();
    const ctrl = new AbortController();
    const run = b.shell.exec(nodes[1]!, 'nodetool repair -pr', { signal: ctrl.signal });
    b.world.advance(60_000);
    ctrl.abort();
    await expect(run).rejects.toThrow(/abort/i);
    await vi.waitFor(() => expect(b.world.repairs().at(-1)!.outcome).toBe('aborted'));
  });

  it("without a limit of its own, a command gets ssh's (30 s), so a plain exec of a repair fails as over ssh", async () => {
    const { b, nodes } = await ring();
    const t0 = b.clock.now();
    const run = b.shell.exec(nodes[1]!, 'nodetool repair -pr');
    let settled = false;
    const err = run.then(() => undefined, (e: unknown) => e as Error).finally(() => (settled = true));
    b.world.advance(29_000);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    b.world.advance(2_000);
    expect((await err)?.message).toMatch(/timed out after 30000 ms: nodetool repair -pr$/);
    expect(b.clock.now() - t0).toBe(31_000);
    await vi.waitFor(() => expect(b.world.repairs().at(-1)!.outcome).toBe('aborted'));
  });

  it('takes the default limit from the config it is given (ssh.commandTimeoutSeconds)', async () => {
    const b = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir: tempStateDir(), realNow: () => 0, commandTimeoutMs: 90_000 });
    const { nodes } = await ring(b);
    const err = b.shell.exec(nodes[1]!, 'nodetool repair -pr').then(() => undefined, (e: unknown) => e as Error);
    b.world.advance(60_000);
    b.world.advance(31_000);
    expect((await err)?.message).toMatch(/timed out after 90000 ms/);
    // Short commands are not touched by it.
    expect((await b.shell.exec(nodes[1]!, 'nodetool version')).stdout).toMatch(/^ReleaseVersion: /);
    await b.close();
  });

  it('times out on the virtual clock', async () => {
    const { b, nodes } = await ring();
    const run = b.shell.exec(nodes[1]!, 'nodetool repair -pr', { timeoutMs: 60_000 });
    b.world.advance(61_000);
    await expect(run).rejects.toThrow(/timed out after 60000 ms/);
  });

  it('fails with exit 2 and nodetool\'s error when a fault is injected', async () => {
    const { b, nodes } = await ring();
    b.world.inject({ kind: 'repair-fails', node: nodes[2]!.id, message: 'Stream failed' });
    const run = b.shell.exec(nodes[2]!, 'nodetool repair -pr', { timeoutMs: 3_600_000 });
    b.world.advance(30 * 60_000);
    const res = await run;
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^error: Repair job has failed with the error message: .*Stream failed/);
    expect(res.stdout.trimEnd().split('\n').at(-1)).toMatch(/Repair command #\d+ finished with error$/);
    expect(b.world.repairs().at(-1)!.outcome).toBe('failed');
    // The fault was used up: the next repair succeeds.
    const again = b.shell.exec(nodes[2]!, 'nodetool repair -pr', { timeoutMs: 3_600_000 });
    b.world.advance(30 * 60_000);
    expect((await again).code).toBe(0);
  });

  it('fails when a ring member is down, naming it', async () => {
    const { b, f, nodes } = await ring();
    // Its group would replace the dead node five minutes on, before the one clock jump below ends.
    await b.scaling!.suspendProcesses(f.clusters.find((x) => x.engine === 'cassandra')!.asg!, ['ReplaceUnhealthy']);
    b.world.inject({ kind: 'kill-node', node: nodes[3]!.name });
    const status = parseNodetoolStatus((await b.shell.exec(nodes[0]!, 'nodetool status')).stdout);
    expect(status.find((p) => p.address === nodes[3]!.privateIp)!.status).toBe('DN');
    const run = b.shell.exec(nodes[0]!, 'nodetool repair -pr', { timeoutMs: 3_600_000 });
    b.world.advance(30 * 60_000);
    const res = await run;
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`Endpoint not alive: /${nodes[3]!.privateIp}:7000`);
    await expect(pastConnectTimeout(b, b.shell.exec(nodes[3]!, 'nodetool status'))).rejects.toThrow(`connect ETIMEDOUT ${nodes[3]!.privateIp}:22`);
  });
});
