// The console on a mocked AWS account, end to end: the real AWS adapters
// (createAwsBackends) over aws-sdk-client-mock'ed clients, the real Poller,
// fleet store and App, wired as src/console.tsx wires them, driven with keys
// and read as text. Nodes sit on 127.x addresses and no request leaves the
// process (the throttling case answers EC2 from an in-process HTTP handler).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createElement } from 'react';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConsoleRunner, type RunController } from '../../src/actions/console-runner.js';
import { App } from '../../src/app.js';
import { planRunbooks } from '../../src/console.js';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../src/backends/aws/index.js';
import { targetOf } from '../../src/backends/index.js';
import { MemoryJobs } from '../helpers/jobs.js';
import type { Backends, Clock, ExecResult, Shell } from '../../src/backends/ports.js';
import { withReadOnly } from '../../src/backends/read-only.js';
import type { Config } from '../../src/config/schema.js';
import { pollerOptions } from '../../src/poller-options.js';
import { RunScreen } from '../../src/screens/run/run-screen.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { createRunsStore } from '../../src/store/runs.js';
import { createUiStore } from '../../src/store/ui.js';
import {
  ACCOUNT,
  awsConfig,
  ec2Instance,
  FLEET,
  mockAwsAccount,
  REGION,
  unreachableShell,
  type MockedAccount,
} from '../helpers/aws-fleet.js';
import { drive, TestClock } from '../actions/helpers.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk, renderInk, type Rendered } from '../helpers/render.js';

// Wide enough for every node column (at 80 the cluster table drops STATE first).
const SIZE = { columns: 120, rows: 30 };
const CREDENTIALS = { accessKeyId: 'AKIDNIGHTSHIFTTEST', secretAccessKey: 'not-a-secret' };

const open: Array<{ poller?: Poller; backends?: Backends }> = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  cleanupInk();
  for (const c of open.splice(0)) {
    c.poller?.stop();
    await c.backends?.close();
  }
});

let account: MockedAccount;
beforeEach(() => {
  account = mockAwsAccount();
});

interface ConsoleOptions {
  shell: Shell;
  /** `readOnly: true` in it wraps the backends as openBackends does for --read-only. */
  config?: Config;
  /** An HTTP handler for the EC2 client (the real SDK middleware, retries included, then runs). */
  ec2Handler?: unknown;
  maxAttempts?: number;
  clock?: Clock;
  /** Wire the runbook runner and the run screen, as the console does. */
  withRunbooks?: boolean;
  size?: { columns: number; rows: number };
}

/**
 * Mounts the App first (the header knows the target from the config alone),
 * then opens the backends and runs the first refresh: the order console.tsx
 * follows. `firstFrame` is what the screen showed before any AWS call.
 */
async function openConsole(opts: ConsoleOptions) {
  const config = opts.config ?? awsConfig();
  const fleet = createFleetStore({ target: targetOf(config), refreshSeconds: config.refreshSeconds });
  const ui = createUiStore();
  const runs = createRunsStore();
  const wiring: { poller?: Poller; backends?: Backends; refreshing?: Promise<void>; runner?: ReturnType<typeof createConsoleRunner> } = {};
  open.push(wiring);

  const app: Rendered = await renderInk(
    <App
      fleet={fleet}
      ui={ui}
      runs={runs}
      onRefresh={() => {
        wiring.refreshing = wiring.poller?.refreshNow();
      }}
      onQuit={() => {}}
      isReadOnly={config.readOnly}
      {...(opts.withRunbooks
        ? {
            onRunbook: planRunbooks(() => wiring.runner, ui),
            renderRunScreen: (runId, slot) => {
              const controller = wiring.runner?.get(runId);
              return controller
                ? createElement(RunScreen, { runId, runs, controller, ...slot, onBack: () => ui.getState().actions.pop() })
                : null;
            },
          }
        : {})}
    />,
    opts.size ?? SIZE,
  );
  const firstFrame = app.lastFrame();
  const requestsBeforeOpen = account.ec2.calls().length + account.sts.calls().length;

  const clients = createAwsClients({
    regions: [REGION],
    ...(config.aws.profile ? { profile: config.aws.profile } : {}),
    credentials: CREDENTIALS,
    maxAttempts: opts.maxAttempts ?? 3,
    ...(opts.ec2Handler ? { requestHandler: opts.ec2Handler as never } : {}),
  });
  const live: AwsBackends = await createAwsBackends(config, { shell: opts.shell, clients, ...(opts.clock ? { clock: opts.clock } : {}) });
  // The stub shell answers nodetool, not the job scripts ShellJobs sends: jobs run over it in memory.
  live.jobs = new MemoryJobs(opts.shell);
  const backends: Backends = config.readOnly ? withReadOnly(live) : live;
  wiring.backends = backends;
  fleet.getState().actions.setTarget(backends.target);
  wiring.poller = new Poller(backends, fleet, pollerOptions(config));
  if (opts.withRunbooks) wiring.runner = createConsoleRunner({ config, backends, runs });
  await wiring.poller.refreshNow();

  return {
    app,
    fleet,
    ui,
    firstFrame,
    requestsBeforeOpen,
    /** The refresh that the last `r` started. */
    lastRefresh: () => wiring.refreshing,
    /** The console runner, for the controller of a run the keys planned. */
    runner: () => wiring.runner!,
  };
}

const lines = (frame: string) => frame.split('\n');
const header = (frame: string) => lines(frame)[0] ?? '';
const rowOf = (frame: string, name: string) => lines(frame).find((l) => new RegExp(`^[› ] ${name} `).test(l)) ?? '';

/** SSH that answers `nodetool` on the events ring (all UN, repairs finish); MySQL hosts refuse. */
function cassandraShell() {
  const commands: string[] = [];
  const ring = FLEET.filter((n) => n.engine === 'cassandra');
  const ok = (stdout: string): ExecResult => ({ code: 0, signal: null, stdout, stderr: '' });
  const shell: Shell = {
    async exec(node, command, opts) {
      commands.push(`${node.name}: ${command}`);
      if (!ring.some((n) => n.ip === node.privateIp)) return unreachableShell.exec(node, command, opts);
      if (command === 'nodetool status') {
        const peers = ring.map((n, i) => `UN  ${n.ip}  1.2 GiB  16  33.3%  0000000${i}-7764-4dbd-bad8-43fddce94b7c  rack1`);
        return ok(['Datacenter: us-east-1', '===============', 'Status=Up/Down', '|/ State=Normal/Leaving/Joining/Moving', ...peers, ''].join('\n'));
      }
      if (command === 'nodetool repair -pr') {
        const out = '[2026-03-01 01:00:00,000] Starting repair command #1\n[2026-03-01 01:00:05,000] Repair command #1 finished in 5 seconds\n';
        opts?.onStdout?.(out);
        return ok(out);
      }
      return { code: 127, signal: null, stdout: '', stderr: `${command.split(' ')[0]}: command not found` };
    },
    loginCommand: (node) => `ssh ec2-user@${node.privateIp}`,
    close: async () => {},
  };
  return { shell, commands };
}

/** Requests that would change the account: anything that is not a Describe, Get or List. */
function mutatingRequests(a: MockedAccount): string[] {
  return [a.ec2, a.cloudwatch, a.autoscaling, a.route53, a.sts]
    .flatMap((m) => m.calls().map((c) => (c.args[0] as object).constructor.name))
    .filter((name) => !/^(Describe|Get|List)/.test(name));
}

// ------------------------------------------------------------------ EC2 over HTTP

const xml = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);

function instancesXml(): string {
  const items = FLEET.map((n) => {
    const i = ec2Instance(n);
    const tags = (i.Tags ?? []).map((t) => `<item><key>${xml(t.Key!)}</key><value>${xml(t.Value!)}</value></item>`).join('');
    return `<item><instanceId>${i.InstanceId}</instanceId><instanceType>${i.InstanceType}</instanceType>
<instanceState><code>16</code><name>running</name></instanceState><privateIpAddress>${i.PrivateIpAddress}</privateIpAddress>
<placement><availabilityZone>${n.az}</availabilityZone></placement><launchTime>2026-01-10T08:00:00.000Z</launchTime>
<tagSet>${tags}</tagSet></item>`;
  }).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>req-ok</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${items}</instancesSet></item></reservationSet>
</DescribeInstancesResponse>`;
}

/**
 * EC2 as an in-process HTTP handler, so the SDK's standard retry mode runs for
 * real (aws-sdk-client-mock replaces `send`, and the retries with it).
 * DescribeInstances answers the mocked fleet until `throttle()`, then
 * RequestLimitExceeded for good.
 */
function ec2OverHttp() {
  const seen: string[] = [];
  let isThrottled = false;
  const respond = (statusCode: number, body: string) => ({
    response: {
      statusCode,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': statusCode === 503 ? 'req-throttled' : 'req-ok' },
      body: new TextEncoder().encode(body),
    },
  });
  const handler = {
    async handle(request: { hostname: string; body?: unknown }) {
      const action = /Action=(\w+)/.exec(String(request.body ?? ''))?.[1] ?? request.hostname;
      seen.push(action);
      if (action === 'DescribeInstanceStatus') {
        return respond(200, '<DescribeInstanceStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-st</requestId><instanceStatusSet/></DescribeInstanceStatusResponse>');
      }
      if (action === 'DescribeVolumeStatus') {
        return respond(200, '<DescribeVolumeStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-vs</requestId><volumeStatusSet/></DescribeVolumeStatusResponse>');
      }
      if (action === 'DescribeInstances' && !isThrottled) return respond(200, instancesXml());
      return respond(
        503,
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>req-throttled</RequestID></Response>',
      );
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return { handler, seen, throttle: () => (isThrottled = true) };
}

// ------------------------------------------------------------------ tests

describe('the console on a mocked AWS account', () => {
  it('says LIVE before any AWS call, then the account id from STS, the region and the profile', async () => {
    const c = await openConsole({ shell: unreachableShell });

    // The frame drawn before the backends opened: honest about what it does not know yet.
    expect(c.requestsBeforeOpen).toBe(0);
    expect(header(c.firstFrame).trimStart()).toMatch(/^LIVE · account … · us-east-1 · prod\s+loading…$/);

    await c.app.waitForText(ACCOUNT);
    const head = header(c.app.lastFrame()).trimStart();
    expect(head).toMatch(/^LIVE · 123456789012 · us-east-1 · prod\s+refreshed \d+ s ago$/);
    expect(account.sts.calls()).toHaveLength(1);
  });

  it('lists the clusters with their health, and a cluster shows its nodes with AZ, EC2 state and why each is stale', async () => {
    const c = await openConsole({ shell: unreachableShell });
    let frame = await c.app.waitForText('Fleet · 2 clusters · 6 nodes');
    expect(rowOf(frame, 'orders')).toMatch(/orders\s+mysql\s+3 (✓ OK|▲ WARN|✗ CRIT|\? UNKNOWN) \S/);
    expect(rowOf(frame, 'events')).toMatch(/events\s+cassandra\s+3 (✓ OK|▲ WARN|✗ CRIT|\? UNKNOWN) \S/);

    // Worst first: the ring (repairs overdue) above orders (nothing answered); go down to orders.
    expect(rowOf(frame, 'events')).toMatch(/^›/);
    await c.app.press(keys.down, keys.enter);
    frame = await c.app.waitForText('Fleet › orders');
    for (const node of FLEET.filter((n) => n.cluster === 'orders')) {
      const row = rowOf(frame, node.name);
      // Every cell filled: AZ, EC2 state, a health word with its reason, and the age column saying stale.
      expect(row, node.name).toMatch(new RegExp(`${node.name}\\s.*${node.az}\\s+running\\s.*\\? UNKNOWN probe failed.*▲ no data\\s*$`));
    }
    // The selected node's reason in full, under the table: what failed, where.
    expect(frame).toContain('» orders-db-1 · ? UNKNOWN probe failed: ec2-user@127.0.1.1:22: cannot connect: ECONNREFUSED');

    await c.app.press(keys.escape);
    await c.app.waitForText('Fleet · 2 clusters');
    await c.app.press(keys.up, keys.enter);
    frame = await c.app.waitForText('Fleet › events');
    for (const node of FLEET.filter((n) => n.cluster === 'events')) {
      expect(rowOf(frame, node.name), node.name).toMatch(new RegExp(`${node.name}\\s.*${node.az}\\s+running\\s.*probe failed.*▲ no data\\s*$`));
    }
    expect(frame).toContain('cannot connect: ECONNREFUSED');
  });

  it('a DescribeInstances throttled through every retry shows the refresh error in the header and keeps the last clusters', async () => {
    account.ec2.restore(); // EC2 goes through the SDK for real, retries included
    const ec2 = ec2OverHttp();
    const c = await openConsole({ shell: unreachableShell, ec2Handler: ec2.handler, maxAttempts: 2 });
    await c.app.waitForText('Fleet · 2 clusters · 6 nodes');
    expect(header(c.app.lastFrame())).toMatch(/refreshed \d+ s ago$/);

    ec2.throttle();
    ec2.seen.length = 0;
    await c.app.press('r');
    await c.lastRefresh();

    expect(ec2.seen.filter((a) => a === 'DescribeInstances')).toHaveLength(2); // first try and one retry
    const frame = await c.app.waitForText('✗ refresh failed');
    const [head, error] = lines(frame);
    expect(head!.trimStart()).toMatch(/^LIVE · 123456789012 · us-east-1 · prod\s+✗ refresh failed · data \d+ s old$/);
    expect(error).toMatch(/✗ .*throttl.*DescribeInstances/i);
    // The last clusters stay on screen, not a blank list.
    expect(frame).toContain('Fleet · 2 clusters · 6 nodes');
    expect(rowOf(frame, 'orders')).toContain('mysql');
    expect(rowOf(frame, 'events')).toContain('cassandra');
  });
});

describe('what an on-call engineer reads at 80x24 when AWS cannot be used', () => {
  const SMALL = { columns: 80, rows: 24 };

  /** Shared AWS files with one profile, `prod`, and no endpoint override. */
  function awsFiles() {
    const dir = mkdtempSync(join(tmpdir(), 'ns-aws-files-'));
    writeFileSync(join(dir, 'config'), '[profile prod]\nsso_session = corp\nregion = us-east-1\n');
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'));
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', '');
  }

  /** As the SDK's default chain fails when nothing yields credentials. */
  function noCredentials() {
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    account.ec2.on(DescribeInstancesCommand).rejects(err);
    account.sts.on(GetCallerIdentityCommand).rejects(err);
  }

  it('a profile that does not exist: the header stays LIVE and the error says so and what to do', async () => {
    awsFiles();
    noCredentials();
    const config = awsConfig({ aws: { regions: [REGION], profile: 'bench' } });
    const c = await openConsole({ shell: unreachableShell, config, size: SMALL });

    const frame = await c.app.waitForText('refresh failed');
    const [head, error] = lines(frame);
    expect(head!.trimStart()).toMatch(/^LIVE · account \? · us-east-1 · bench\s+✗ refresh failed · no data yet$/);
    expect(error).toMatch(/^✗ discovery failed: no AWS profile named bench: check --profile/);
    expect(Array.from(error!).length).toBeLessThanOrEqual(80);
    expect(c.fleet.getState().error).toContain('aws configure sso --profile bench');
  });

  it('a profile that exists but has no credentials: log in to it', async () => {
    awsFiles();
    noCredentials();
    const c = await openConsole({ shell: unreachableShell, size: SMALL });

    const [, error] = lines(await c.app.waitForText('refresh failed'));
    expect(error).toMatch(/^✗ discovery failed: no AWS credentials for profile prod: run `aws sso login/);
    expect(c.fleet.getState().error).toContain('run `aws sso login --profile prod`');
    // With a profile named the SDK ignores AWS_ACCESS_KEY_ID, so that is not offered.
    expect(c.fleet.getState().error).not.toContain('AWS_ACCESS_KEY_ID');
  });

  it('an endpoint that refuses the connection names the service and the override to check', async () => {
    awsFiles();
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
    account.ec2.on(DescribeInstancesCommand).rejects(refused);
    const c = await openConsole({ shell: unreachableShell, size: SMALL });

    const [head, error] = lines(await c.app.waitForText('refresh failed'));
    expect(head).toContain('LIVE · 123456789012 · us-east-1 · prod');
    expect(error).toMatch(/^✗ discovery failed: cannot reach EC2 in us-east-1: check AWS_ENDPOINT_URL=/);
    expect(c.fleet.getState().error).toBe(
      'discovery failed: cannot reach EC2 in us-east-1: check AWS_ENDPOINT_URL=http://127.0.0.1:9 (connect ECONNREFUSED 127.0.0.1:9)',
    );
  });
});

describe('the console on a mocked AWS account with --read-only', () => {
  function runbookConfig(overrides: Parameters<typeof awsConfig>[0] = {}): Config {
    return { ...awsConfig(overrides), stateDir: mkdtempSync(join(tmpdir(), 'ns-aws-console-')) };
  }

  /** Fleet → events → R → repair → its form → the plan (`planned`: what it then says) → ⏎: what an engineer does to repair the ring. */
  async function startRepair(c: Awaited<ReturnType<typeof openConsole>>, planned = 'plan: ⏎ to start'): Promise<RunController> {
    await c.app.waitForText('Fleet · 2 clusters');
    await c.app.press('/', ...'events', keys.enter, keys.enter);
    await c.app.waitForText('Fleet › events');
    await c.app.press('R');
    await c.app.waitForText('● repair');
    await c.app.press(keys.enter);
    await c.app.waitForText('least recently repaired');
    await c.app.press(keys.enter);
    await c.app.waitForText(planned);
    const runId = c.ui.getState().stack.at(-1)!;
    const controller = runId.kind === 'run' ? c.runner().get(runId.runId) : undefined;
    await c.app.press(keys.enter);
    return controller!;
  }

  it('pressing repair on a Cassandra cluster stops at the plan, says why, and sends no mutating request', async () => {
    const ssh = cassandraShell();
    const clock = new TestClock();
    const c = await openConsole({ shell: ssh.shell, config: runbookConfig({ readOnly: true }), clock, withRunbooks: true });
    account.resetHistory();
    const controller = await startRepair(c, 'read-only: nothing will change; this is the plan');

    const frame = c.app.lastFrame();
    expect(frame.split('\n')[0]).toContain('LIVE · READ-ONLY · 123456789012');
    expect(frame).toContain('nodetool repair -pr');
    expect(frame).not.toContain('⏎ to start');
    expect(controller.isStarted).toBe(false);
    expect(mutatingRequests(account)).toEqual([]);
    expect(ssh.commands.filter((cmd) => cmd.includes('repair'))).toEqual([]);
    // Reads still went out: the ring was listed and probed for the plan.
    expect(account.ec2.calls().length).toBeGreaterThan(0);
    expect(ssh.commands.some((cmd) => cmd.endsWith('nodetool status'))).toBe(true);
  });

  it('without --read-only the same keys do send them (so the zero above means something)', async () => {
    const ssh = cassandraShell();
    const clock = new TestClock();
    const c = await openConsole({ shell: ssh.shell, config: runbookConfig(), clock, withRunbooks: true });
    account.resetHistory();
    const controller = await startRepair(c);
    // Fleet time moves whenever the run waits on it (the lock lease settles for 2 s).
    const outcome = drive(clock, controller.done);
    await c.app.waitForText('[y/N]');
    await c.app.press('y');
    expect((await outcome)?.status).toBe('succeeded');

    await c.app.waitForText('succeeded');
    expect(mutatingRequests(account)).toContain('CreateTagsCommand');
    expect(ssh.commands.some((cmd) => cmd.endsWith('nodetool repair -pr'))).toBe(true);
  });
});
