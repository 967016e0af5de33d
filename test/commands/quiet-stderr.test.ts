// What an AWS target writes to stderr, as a real process (bin/nightshift.js)
// against a local fake of the AWS APIs: no MaxListenersExceededWarning however
// many calls share one abort signal, no multi-line warning from the SDK, and
// on Node 20 one line of ours about the SDK's Node version, once, after the
// output a script reads. The nodes' ssh port is closed, so every node is
// "no answer" at once and the run is short.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_NEEDS_NODE, sdkNodeLine } from '../../src/cli.js';
import { FAKE_ACCOUNT, startFakeAws, type FakeAws } from '../helpers/aws-http.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.NIGHTSHIFT_BIN ?? join(root, 'bin', 'nightshift.js');
/** More nodes than an EventTarget's default of 10 listeners, probed at once with the same signal. */
const NODES = 24;

let aws: FakeAws;
let dir: string;
beforeAll(async () => {
  aws = await startFakeAws({ instances: NODES });
  dir = mkdtempSync(join(tmpdir(), 'nightshift-quiet-'));
  // Port 9 (discard) is closed on loopback: each probe fails at connect, before any host key.
  writeFileSync(join(dir, 'ssh_config'), 'Host *\n  Port 9\n  User nightshift\n');
  writeFileSync(join(dir, 'known_hosts'), '');
  writeFileSync(
    join(dir, 'nightshift.yaml'),
    `target: aws\naws:\n  regions: [us-east-1]\nssh:\n  configFile: ${join(dir, 'ssh_config')}\n  knownHosts: ${join(dir, 'known_hosts')}\n`,
  );
});
afterAll(async () => {
  await aws?.close();
});

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    AWS_ENDPOINT_URL: aws.url,
    AWS_ACCESS_KEY_ID: 'AKIDNIGHTSHIFTTEST',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    NODE_OPTIONS: undefined,
    SSH_AUTH_SOCK: undefined,
    NO_COLOR: '1',
    NIGHTSHIFT_CONFIG: '',
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    // Asynchronous: the fake AWS answers from this process's event loop.
    const child = spawn(process.execPath, [bin, '--config', join(dir, 'nightshift.yaml'), '--state-dir', dir, ...args], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stderr on an AWS target (process test, fake AWS on 127.0.0.1)', () => {
  it('`ls --json`: valid JSON on stdout, and on stderr nothing but our one line about the Node version', { timeout: 60_000 }, async () => {
    const before = aws.seen.length;
    const res = await run(['ls', '--json', '--timeout', '20']);
    expect(res.code, res.stderr).toBe(0);
    // It really went through the SDK to the fake: the fleet and the account came from there.
    expect(aws.seen.slice(before)).toEqual(expect.arrayContaining(['DescribeInstances', 'DescribeInstanceStatus', 'GetMetricData', 'GetCallerIdentity']));
    const fleet = JSON.parse(res.stdout) as { target: { account?: string }; clusters: Array<{ name: string; nodes: unknown[] }> };
    expect(fleet.target.account).toBe(FAKE_ACCOUNT);
    expect(fleet.clusters.map((c) => [c.name, c.nodes.length])).toEqual([['orders', NODES]]);
    expect(res.stderr).not.toMatch(/MaxListenersExceededWarning|EventTarget memory leak/);
    expect(res.stderr).not.toContain('NodeVersionSupportWarning');
    expect(res.stderr).toBe(sdkNodeLine() ?? '');
  });

  it('says nothing of its own when the operator turned the SDK warning off', { timeout: 60_000 }, async () => {
    const res = await run(['ls', '--json', '--timeout', '20'], { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toHaveProperty('clusters');
    expect(res.stderr).toBe('');
  });

  it('the simulated fleet never mentions the SDK', { timeout: 60_000 }, async () => {
    const res = await run(['--sim', '--scenario', 'healthy', '--seed', '7', 'ls', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
  });
});

describe("our line for the SDK's Node version warning", () => {
  it('is one line on the Node versions the SDK warns about, and none on the others', () => {
    expect(sdkNodeLine('v20.19.4')).toBe(`nightshift: the AWS SDK will need Node ${SDK_NEEDS_NODE} after January 2027; this is Node 20.19.4\n`);
    expect(sdkNodeLine('v21.7.3')).toContain('this is Node 21.7.3');
    expect(sdkNodeLine('v22.0.0')).toBeUndefined();
    expect(sdkNodeLine('v24.11.1')).toBeUndefined();
  });
});
