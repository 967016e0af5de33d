// dist/nightshift.cjs, the console as one file for a bastion with nothing but
// node: copied alone into an empty folder (no node_modules in it or above
// it), it runs the simulated fleet and an AWS target (EC2 faked over HTTP on
// loopback), keeps its code cache under XDG_CACHE_HOME, and `npm pack` makes
// a package that `npm install -g` installs offline. A static inventory over
// a real sshd is test/lab/one-file-lab.test.ts. A preloaded spy
// (one-file-spy.cjs) tells what the file compiled and loaded.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { said, startConsole as startConsoleOf } from './console-start.js';
import { bareEnv, copyAlone, run, SPY, spied, useTempDirs, VERSION } from './one-file-helpers.js';

const tempDir = useTempDirs();

describe('dist/nightshift.cjs copied alone', () => {
  it('runs ls --sim --json from an empty folder, compiling neither the AWS SDK nor ssh2', async () => {
    const { dir, file } = copyAlone(tempDir);
    const ls = await run(process.execPath, ['-r', SPY, file, 'ls', '--sim', '--json'], { cwd: dir, env: bareEnv(dir) });
    const { seen, rest } = spied(ls.stderr);
    expect(rest).toBe('');
    expect(ls.code).toBe(0);
    const json = JSON.parse(ls.stdout) as { target: { kind: string }; clusters: Array<{ nodes: unknown[] }> };
    expect(json.target.kind).toBe('sim');
    expect(json.clusters.length).toBeGreaterThan(0);
    expect(json.clusters.every((c) => c.nodes.length > 0)).toBe(true);
    expect(seen.scripts).toEqual([`${file} (cli.cjs)`]);
    // Node's loader found the file itself, and nothing else.
    expect(seen.resolved).toEqual([file]);
    expect(seen.dlopen).toEqual([]);
  });

  it('says its version without the package.json it was built from, run by node or by its #! line', async () => {
    const { dir, file } = copyAlone(tempDir);
    const byNode = await run(process.execPath, [file, '--version'], { cwd: dir, env: bareEnv(dir) });
    expect([byNode.code, byNode.stdout.trim(), byNode.stderr]).toEqual([0, VERSION, '']);
    const byItself = await run(file, ['--version'], { cwd: dir, env: bareEnv(dir) });
    expect([byItself.code, byItself.stdout.trim(), byItself.stderr]).toEqual([0, VERSION, '']);
  });

  it('on a node older than 20 says which node it needs, and exits 2', async () => {
    const { dir, file } = copyAlone(tempDir);
    const older = join(dir, 'older-node.cjs');
    writeFileSync(older, "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.19.0' } });\n");
    const ls = await run(process.execPath, ['-r', older, file, 'ls', '--sim'], { cwd: dir, env: bareEnv(dir) });
    expect([ls.code, ls.stdout, ls.stderr]).toEqual([
      2,
      '',
      `nightshift: ${file} needs Node 20 or newer; ${process.execPath} is v18.19.0. Run it with a newer node: /path/to/node ${file}\n`,
    ]);
  });

  it('lists the instances of an AWS account (EC2 faked over HTTP on loopback), with the SDK from inside the file', async () => {
    const aws = await fakeAws();
    try {
      const { dir, file } = copyAlone(tempDir);
      const env = bareEnv(dir, {
        AWS_ENDPOINT_URL: aws.url,
        AWS_ACCESS_KEY_ID: 'AKIDNIGHTSHIFTTEST',
        AWS_SECRET_ACCESS_KEY: 'not-a-secret',
        AWS_CONFIG_FILE: join(dir, 'aws-config-absent'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials-absent'),
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      // The nodes' addresses are on loopback, where no sshd of theirs answers: their probes fail fast, the listing stays.
      const ls = await run(process.execPath, ['-r', SPY, file, 'ls', '--json', '--region', 'us-east-1', '--timeout', '10'], { cwd: dir, env });
      const { seen } = spied(ls.stderr);
      const json = JSON.parse(ls.stdout) as { target: { kind: string }; clusters: Array<{ name: string; nodes: Array<{ id: string; name: string; az: string }> }> };
      expect(json.target.kind).toBe('aws');
      expect(json.clusters.map((c) => [c.name, c.nodes.map((n) => [n.id, n.name, n.az])])).toEqual([
        ['orders', [['i-0a0000000000000a1', 'orders-db-1', 'us-east-1a'], ['i-0a0000000000000a2', 'orders-db-2', 'us-east-1b']]],
      ]);
      expect(aws.actions).toContain('DescribeInstances');
      // The console first; the two payloads in the order the target's modules reach them.
      expect(seen.scripts[0]).toBe(`${file} (cli.cjs)`);
      expect([...seen.scripts].sort()).toEqual([`${file} (aws)`, `${file} (cli.cjs)`, `${file} (ssh2)`]);
      // Node's loader found the file itself, and nothing else.
      expect(seen.resolved).toEqual([file]);
      expect(seen.dlopen).toEqual([]);
    } finally {
      await aws.close();
    }
  });

  it('keeps its code cache under XDG_CACHE_HOME, never beside itself, and the next console uses it', { timeout: 60_000 }, async () => {
    const { dir, file } = copyAlone(tempDir);
    const cache = join(dir, 'cache', 'nightshift', `${file.replace(/[^\w.]+/g, '-')}.cache`);
    expect(said(await startConsole(file, dir))).toEqual(['code cache none', `code cache written (${cache})`]);
    expect(said(await startConsole(file, dir))).toEqual([`code cache used (${cache})`, 'code cache kept']);
    expect(readdirSync(dir).sort()).toEqual(['cache', 'nightshift.cjs', 'state']);
  });

  it('starts without a code cache where it cannot write one', { timeout: 60_000 }, async () => {
    const { dir, file } = copyAlone(tempDir);
    // A file where the cache directory would be.
    writeFileSync(join(dir, 'cache'), '');
    expect(said(await startConsole(file, dir))).toEqual(['code cache none', 'code cache not written: its place is not writable']);
  });

  it('draws in colour, and without under NO_COLOR', { timeout: 60_000 }, async () => {
    const { dir, file } = copyAlone(tempDir);
    // A foreground colour: the 16 colours, bright ones, 256 or true colour.
    const COLOUR = /\u001B\[(?:3[0-7]|9[0-7]|38;)[0-9;]*m/;
    expect(await startConsole(file, dir)).toMatch(COLOUR);
    const plain = await startConsole(file, dir, { NO_COLOR: '1' });
    expect(plain).toContain('REHEARSAL');
    expect(plain).not.toMatch(COLOUR);
  });
});

/** Starts the console of the single file, waits until it has started, quits it, and returns all it wrote. */
function startConsole(file: string, dir: string, extraEnv: Record<string, string> = {}): Promise<string> {
  return startConsoleOf(file, { cwd: dir, env: bareEnv(dir, { NIGHTSHIFT_DEBUG: '1', TERM: 'xterm-256color', ...extraEnv }) });
}

// ------------------------------------------------------------------ AWS over HTTP on loopback

const INSTANCES = [
  { id: 'i-0a0000000000000a1', name: 'orders-db-1', ip: '127.0.1.1', az: 'us-east-1a' },
  { id: 'i-0a0000000000000a2', name: 'orders-db-2', ip: '127.0.1.2', az: 'us-east-1b' },
];

const EC2 = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
const instancesXml = () =>
  `<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse ${EC2}><requestId>req-di</requestId>` +
  `<reservationSet><item><reservationId>r-1</reservationId><instancesSet>` +
  INSTANCES.map(
    (i) =>
      `<item><instanceId>${i.id}</instanceId><instanceType>r6i.large</instanceType><instanceState><code>16</code><name>running</name></instanceState>` +
      `<privateIpAddress>${i.ip}</privateIpAddress><placement><availabilityZone>${i.az}</availabilityZone></placement>` +
      `<launchTime>2026-01-10T08:00:00.000Z</launchTime><tagSet><item><key>Name</key><value>${i.name}</value></item>` +
      `<item><key>nightshift:cluster</key><value>orders</value></item><item><key>nightshift:engine</key><value>mysql</value></item></tagSet></item>`,
  ).join('') +
  `</instancesSet></item></reservationSet></DescribeInstancesResponse>`;

const QUERY_ANSWERS: Record<string, string> = {
  DescribeInstances: instancesXml(),
  DescribeInstanceStatus: `<DescribeInstanceStatusResponse ${EC2}><requestId>req-st</requestId><instanceStatusSet/></DescribeInstanceStatusResponse>`,
  DescribeVolumeStatus: `<DescribeVolumeStatusResponse ${EC2}><requestId>req-vs</requestId><volumeStatusSet/></DescribeVolumeStatusResponse>`,
  GetCallerIdentity:
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/test</Arn>' +
    '<UserId>AIDATEST</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-sts</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
  DescribeAutoScalingGroups:
    '<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult>' +
    '<ResponseMetadata><RequestId>req-asg</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>',
};

/** EC2, STS, Auto Scaling (query protocols) and CloudWatch (JSON) on one loopback port, as AWS_ENDPOINT_URL sends them all there. */
async function fakeAws(): Promise<{ url: string; actions: string[]; close: () => Promise<void> }> {
  const actions: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target ? target.split('.').pop()! : (new URLSearchParams(body).get('Action') ?? `${req.method} ${req.url}`);
      actions.push(action);
      if (target.endsWith('.GetMetricData')) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-cw' });
        res.end('{"MetricDataResults":[]}');
        return;
      }
      const answer = QUERY_ANSWERS[action];
      if (answer === undefined) {
        res.writeHead(400, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-no' });
        res.end(`<Response><Errors><Error><Code>InvalidAction</Code><Message>the fake does not answer ${action}</Message></Error></Errors><RequestID>req-no</RequestID></Response>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-ok' });
      res.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ------------------------------------------------------------------ npm pack

describe('npm pack', () => {
  it('makes a tarball of bin/ and the single file that npm install -g installs offline, with a working nightshift command', { timeout: 120_000 }, async () => {
    const work = tempDir('ns-pack-');
    const env = { ...bareEnv(work), npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    // --ignore-scripts: the tarball of the dist/ this run built (prepack would rebuild it under the other tests).
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: process.cwd(), env });
    expect(pack.code, pack.stderr).toBe(0);
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path).sort();
    expect(files).toEqual(['README.md', 'bin/code-cache.js', 'bin/environment.js', 'bin/nightshift.js', 'dist/nightshift.cjs', 'package.json']);

    const prefix = join(work, 'prefix');
    mkdirSync(prefix);
    // An empty npm cache and --offline: a dependency to fetch would fail the install.
    const install = await run('npm', ['install', '-g', '--offline', '--prefix', prefix, join(work, packed!.filename)], { cwd: work, env });
    expect(install.code, install.stderr).toBe(0);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'nightshift', 'node_modules'))).toBe(false);

    const command = join(prefix, 'bin', 'nightshift');
    const version = await run(command, ['--version'], { cwd: work, env });
    expect([version.code, version.stdout.trim(), version.stderr]).toEqual([0, VERSION, '']);
    const ls = await run(command, ['ls', '--sim'], { cwd: work, env });
    expect([ls.code, ls.stderr]).toEqual([0, '']);
    expect(ls.stdout).toContain('simulated fleet');
  });
});
