// The `ls --json` contract and the CLI's exit codes, through main() with the
// simulated fleet (a product feature, not a mock).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cli as run, prepareWorld, SCENARIO, workspace } from './cli-helpers.js';
import { startHungHost } from '../helpers/hung-host.js';
import { mockAwsAccount } from '../helpers/aws-fleet.js';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';

const level = z.enum(['OK', 'WARN', 'CRIT', 'UNKNOWN']);
const finding = z.object({ kind: z.string(), level, message: z.string(), nodes: z.array(z.string()), runbook: z.string().nullable(), suggests: z.string().optional() }).strict();
const lsSchema = z
  .object({
    target: z.object({ kind: z.literal('sim'), scenario: z.string(), seed: z.number(), speed: z.number(), live: z.literal(false) }),
    timeoutSeconds: z.number().positive(),
    unanswered: z.number().int().min(0),
    findings: z.array(finding.extend({ az: z.string() }).strict()),
    clusters: z.array(
      z.object({
        name: z.string(),
        engine: z.enum(['mysql', 'cassandra', 'generic']),
        health: z.object({ level, reasons: z.array(z.string()).min(1) }),
        findings: z.array(finding),
        worstLagSeconds: z.number().nullable(),
        writer: z
          .object({ name: z.string(), type: z.enum(['A', 'CNAME']), values: z.array(z.string()), node: z.string().nullable(), error: z.string().optional() })
          .strict()
          .optional(),
        nodes: z.array(
          z.object({
            id: z.string().regex(/^i-[0-9a-f]{17}$/),
            name: z.string(),
            az: z.string(),
            privateIp: z.string().regex(/^127\./),
            role: z.string(),
            state: z.string(),
            health: z.object({ level, reason: z.string().min(1) }),
            lagSeconds: z.number().nullable(),
            stale: z.boolean(),
            tags: z.record(z.string(), z.string()),
            updatedAt: z.string().nullable(),
            answered: z.boolean().optional(),
            mysql: z
              .object({
                readOnly: z.boolean(),
                source: z.string().nullable(),
                ioThread: z.enum(['Yes', 'No', 'Connecting']).nullable(),
                sqlThread: z.enum(['Yes', 'No', 'Connecting']).nullable(),
                gtidExecuted: z.string(),
              })
              .strict()
              .optional(),
          }),
        ),
      }),
    ),
  })
  .strict();

describe('nightshift ls', () => {
  it('prints the documented JSON: target and clusters with nodes', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stdout } = await run(['ls', '--json', '--state-dir', stateDir, '--scenario', 'split-brain']);
    expect(code).toBe(0);
    const json = lsSchema.parse(JSON.parse(stdout));
    expect(json.target.scenario).toBe('split-brain');
    const mysql = json.clusters.filter((c) => c.engine === 'mysql');
    expect(mysql.length).toBeGreaterThanOrEqual(3);
    for (const c of mysql) for (const n of c.nodes) expect(n.lagSeconds === null || n.lagSeconds >= 0).toBe(true);
    const ring = json.clusters.find((c) => c.engine === 'cassandra')!;
    expect(ring.nodes.every((n) => n.lagSeconds === null)).toBe(true);
    expect(ring.nodes.some((n) => 'last-repaired' in n.tags)).toBe(true);
    expect(json.clusters.flatMap((c) => c.findings).map((f) => f.kind)).toContain('two-writable-masters');
    // Split brain: no runbook; both masters named, the writer record's marked; their rows CRIT with it.
    const users = json.clusters.find((c) => c.findings.some((f) => f.kind === 'two-writable-masters'))!;
    const split = users.findings.find((f) => f.kind === 'two-writable-masters')!;
    expect(split.runbook).toBeNull();
    expect(split.message).toContain(`${users.writer!.node} (writer record)`);
    expect(split.message).toContain('by hand: SET GLOBAL read_only=ON on ');
    const masters = users.nodes.filter((n) => split.nodes.includes(n.id));
    expect(masters).toHaveLength(2);
    for (const m of masters) expect(m.health).toMatchObject({ level: 'CRIT', reason: expect.stringMatching(/^split brain: writable master, as is /) });
    expect(users.findings.find((f) => f.kind === 'redundancy-below-target')?.runbook).toBe('rebuild');
    expect(json.findings).toEqual([]);
    // Every running node answered within the default timeout.
    expect(json).toMatchObject({ timeoutSeconds: 5, unanswered: 0 });
    const nodes = json.clusters.flatMap((c) => c.nodes);
    const engines = new Map(json.clusters.flatMap((c) => c.nodes.map((n) => [n.id, c.engine])));
    for (const n of nodes) expect(n.answered).toBe(n.state === 'running' && engines.get(n.id) !== 'generic' ? true : undefined);
  });

  it('az-outage: a top-level finding names the dark AZ; the master gone names failover, the ring repair', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stdout } = await run(['ls', '--json', '--state-dir', stateDir, '--scenario', 'az-outage']);
    expect(code).toBe(0);
    const json = lsSchema.parse(JSON.parse(stdout));
    const dark = json.clusters.flatMap((c) => c.nodes).filter((n) => n.az === 'us-east-1c');
    expect(json.findings).toEqual([
      {
        kind: 'az-impaired',
        level: 'CRIT',
        az: 'us-east-1c',
        message: `us-east-1c: ${dark.length} of ${dark.length} nodes unreachable or impaired (${dark.length} failing EC2 status checks)`,
        nodes: expect.arrayContaining(dark.map((n) => n.id)),
        runbook: null,
      },
    ]);
    // The dark AZ's running nodes were not waited for (EC2 fails their status checks): not answered, and counted.
    // A generic node has no engine to ask: it is never probed, so neither answers nor fails to.
    const generic = new Set(json.clusters.filter((c) => c.engine === 'generic').flatMap((c) => c.nodes.map((n) => n.id)));
    const darkRunning = dark.filter((n) => n.state === 'running' && !generic.has(n.id));
    expect(darkRunning.length).toBeGreaterThan(1);
    for (const n of darkRunning) expect(n.answered).toBe(false);
    expect(json.clusters.flatMap((c) => c.nodes).filter((n) => n.answered === false)).toHaveLength(darkRunning.length);
    expect(json.unanswered).toBe(darkRunning.length);
    const all = json.clusters.flatMap((c) => c.findings);
    expect(all.find((f) => f.kind === 'no-writable-master')?.runbook).toBe('failover');
    expect(all.find((f) => f.kind === 'repair-overdue')?.runbook).toBe('repair');
    // The field scripts read since issue 13 stays, and says the same.
    for (const f of all) expect(f.suggests).toBe(f.runbook ?? undefined);
  });

  it('--fail-on crit|warn: exit 3 when a cluster is at or above the level, after printing everything; 0 below it and without the flag', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const crit = await run(['ls', '--fail-on', 'crit', '--state-dir', stateDir, '--scenario', 'split-brain']);
    expect(crit.code).toBe(3);
    expect(crit.stdout).toContain('users-db');
    expect(crit.stderr).toBe('nightshift: 1 cluster at or above CRIT (--fail-on crit): users-db CRIT\n');
    const one = await run(['ls', '--fail-on', 'crit', '--cluster', 'billing-db', '--state-dir', stateDir, '--scenario', 'split-brain']);
    expect(one.code).toBe(0);
    const warn = await run(['ls', '--fail-on', 'warn', '--cluster', 'orders-db', '--state-dir', stateDir, '--scenario', 'split-brain']);
    expect(warn.code).toBe(3);
    expect(warn.stderr).toBe('nightshift: 1 cluster at or above WARN (--fail-on warn): orders-db WARN\n');
    expect((await run(['ls', '--state-dir', stateDir, '--scenario', 'split-brain'])).code).toBe(0);
    const bad = await run(['ls', '--fail-on', 'unknown', '--state-dir', stateDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'unknown' is invalid. Allowed choices are warn, crit.");
  });

  it('every simulated MySQL cluster has its writer record at its master, and every MySQL node says whom it replicates from', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stdout } = await run(['ls', '--json', '--state-dir', stateDir]);
    expect(code).toBe(0);
    const json = lsSchema.parse(JSON.parse(stdout));
    const mysql = json.clusters.filter((c) => c.engine === 'mysql');
    expect(mysql.length).toBe(4);
    for (const c of mysql) {
      const master = c.nodes.find((n) => n.role === 'master')!;
      expect(c.writer).toEqual({ name: `${c.name}.writer.sim.internal`, type: 'A', values: [master.privateIp], node: master.name });
      expect(master.mysql).toMatchObject({ readOnly: false, source: null, ioThread: null, sqlThread: null });
      for (const n of c.nodes.filter((x) => x.role === 'replica')) {
        expect(n.mysql).toMatchObject({ readOnly: true, source: master.name, ioThread: 'Yes', sqlThread: 'Yes' });
        expect(n.mysql!.gtidExecuted).not.toBe('');
      }
    }
    for (const c of json.clusters.filter((x) => x.engine !== 'mysql')) {
      expect(c.writer).toBeUndefined();
      expect(c.nodes.every((n) => n.mysql === undefined)).toBe(true);
    }
  });

  it('says the same in text, REHEARSAL first', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stdout } = await run(['ls', '--state-dir', stateDir]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('REHEARSAL · simulated fleet · healthy · seed 1 · ×1');
    expect(stdout).toMatch(/timeline-ring/);
  });

  it('fails with exit 1 naming a cluster that does not exist', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stderr } = await run(['ls', '--cluster', 'nope', '--state-dir', stateDir]);
    expect(code).toBe(1);
    expect(stderr).toBe('nightshift: no cluster named "nope"\n');
  });
});

describe('nightshift ls --timeout', () => {
  it('prints what has answered when the time is up: a hung node (no answer, status checks still ok) is marked, and ls does not wait out its connect timeout', async () => {
    const { dir } = workspace();
    let hung = '';
    await prepareWorld(dir, async (b) => {
      const replica = (await b.inventory.discover()).instances.find((i) => i.tags['nightshift:role'] === 'replica' && i.tags['nightshift:engine'] === 'mysql')!;
      hung = replica.id;
      // Fenced by network: running, checks ok, but nothing new reaches it, as a host whose sshd is wedged.
      await b.compute!.isolate(hung, 'sg-quarantine');
    });

    const started = performance.now();
    const { code, stdout } = await run(['ls', '--json', '--timeout', '1', ...SCENARIO, '--state-dir', dir]);
    const tookMs = performance.now() - started;
    expect(code).toBe(0);
    // It waited for the hung node until the timeout, and no longer: ssh would give up on it only after 10 s.
    expect(tookMs).toBeGreaterThanOrEqual(950);
    expect(tookMs).toBeLessThan(5_000);
    const json = lsSchema.parse(JSON.parse(stdout));
    expect(json).toMatchObject({ timeoutSeconds: 1, unanswered: 1 });
    const nodes = json.clusters.flatMap((c) => c.nodes);
    const node = nodes.find((n) => n.id === hung)!;
    // The seconds are the probe's own age when printed: about the timeout, give or take the event loop on a busy machine.
    expect(node).toMatchObject({ answered: false, stale: true, health: { level: 'UNKNOWN', reason: expect.stringMatching(/^no answer yet \(asked [12] s ago\)$/) } });
    const generic = new Set(json.clusters.filter((c) => c.engine === 'generic').flatMap((c) => c.nodes.map((n) => n.id)));
    for (const n of nodes.filter((x) => x.id !== hung && x.state === 'running' && !generic.has(x.id))) expect(n.answered).toBe(true);

    const text = await run(['ls', '--timeout', '1', ...SCENARIO, '--state-dir', dir]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[2]).toBe(`? 1 of ${nodes.length} nodes gave no answer: 1 within 1 s (--timeout 1)`);
    const row = lines.find((l) => l.includes(hung))!;
    expect(row).toMatch(/ no answer yet \(asked [12] s ago\)  \[no answer in 1 s\]$/);
    expect(lines.filter((l) => l.includes('[no answer'))).toHaveLength(1);
  });

  it('a static inventory host that takes the connection and says nothing: marked, and ls returns at the timeout', async () => {
    const host = await startHungHost();
    try {
      const { dir, flags } = workspace();
      const file = join(dir, 'fleet.yaml');
      writeFileSync(file, `hosts:\n  - { name: db-hung, cluster: orders, engine: mysql, host: ${host.host}, port: ${host.port}, user: ops }\n`);
      const started = performance.now();
      const { code, stdout, stderr } = await run(['ls', '--json', '--timeout', '1', '--inventory', file, ...flags]);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const json = JSON.parse(stdout) as { unanswered: number; clusters: Array<{ nodes: Array<{ name: string; answered?: boolean; health: { reason: string } }> }> };
      expect(json.unanswered).toBe(1);
      expect(json.clusters[0]!.nodes[0]).toMatchObject({ name: 'db-hung', answered: false, health: { reason: expect.stringMatching(/^no answer yet \(asked [12] s ago\)$/) } });
      expect(host.accepted).toBeGreaterThanOrEqual(1);
    } finally {
      await host.close();
    }
  });

  it('AWS discovery that says nothing: exit 1 naming the region, the timeout and what to type, never a hang', async () => {
    const account = mockAwsAccount();
    // DescribeInstances taken and never answered, as over a blackholed route.
    account.ec2.on(DescribeInstancesCommand).callsFake(() => new Promise(() => {}));
    try {
      const { flags } = workspace();
      const started = performance.now();
      const { code, stdout, stderr } = await run(['ls', '--region', 'eu-west-1', '--profile', 'prod', '--timeout', '0.5', ...flags]);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        'nightshift: discovery of AWS in eu-west-1 (profile prod) did not answer within 0.5 s (--timeout 0.5): check that this host can reach it, or give it longer: nightshift ls --timeout 30\n',
      );
    } finally {
      for (const m of [account.ec2, account.cloudwatch, account.autoscaling, account.route53, account.sts]) m.restore();
    }
  });

  it('takes a positive number of seconds: 0, -1 and abc exit 2 naming the flag', async () => {
    const { dir } = workspace();
    for (const value of ['0', '-1', 'abc', '']) {
      const { code, stderr, stdout } = await run(['ls', '--timeout', value, '--state-dir', dir]);
      expect(code).toBe(2);
      expect(stderr).toBe(`nightshift: --timeout takes a positive number of seconds, not "${value}"\n`);
      expect(stdout).toBe('');
    }
  });
});

describe('exit codes', () => {
  it('0 for --help and --version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: nightshift');
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('2 for the console without a terminal, pointing at the headless commands', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const { code, stderr } = await run(['--state-dir', stateDir]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^nightshift: the console needs a terminal, and stdin is not one; for scripts and cron use `nightshift ls --json`/);
  });

  it('2 for an unknown flag or a bad value', async () => {
    expect((await run(['ls', '--frobnicate'])).code).toBe(2);
    const bad = await run(['ls', '--seed', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('nightshift: --seed takes a whole number from -9007199254740991 to 9007199254740991, not "abc"\n');
  });

  it('2 for a config file that does not validate, naming file, line and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-ls-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'refreshSeconds: 5\nthresholds:\n  lagWarnSeconds: -3\n');
    const { code, stderr } = await run(['ls', '--config', file, '--state-dir', dir]);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^nightshift: ${file}:3: thresholds\\.lagWarnSeconds: `));
  });
});
