// Start-up with an AWS target: time from process start to the first frame
// (the LIVE header, "loading…"), next to the same for the simulated fleet and
// `node -e 0`. The budget: within 150 ms of the simulated-fleet figure, which
// holds only if the frame reaches stdout before the AWS SDK (over half a
// second of module loading, during which the event loop is blocked) is imported.
//
// The SDK is pointed at a closed loopback port with fake keys, an empty HOME
// and no shared config files, so nothing real is read and nothing leaves the
// machine; `--profile bench` names a profile that does not exist, which must
// not stop the first frame (the credentials error shows up later, on screen).
//
// Then one run against a loopback listener checks the order: the first frame
// arrives before the first AWS request (which needs the SDK). Prints figures.
// Run: node scripts/build.mjs && npx tsx bench/startup-aws.ts

import { spawn } from 'node:child_process';
import { stats, timeUntil } from './pty.js';
import { mkdtempSync, realpathSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BUDGET_MS = 150;
const AWS_ARGS = ['bin/nightshift.js', '--profile', 'bench', '--region', 'us-east-1'];

/** Everything AWS- or nightshift-related from the caller's environment is dropped, so no real profile or config is read. */
function benchEnv(dir: string): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AWS_|NIGHTSHIFT_|XDG_|CI$)/.test(k) && k !== 'HOME'),
  );
  return {
    ...kept,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    AWS_CONFIG_FILE: join(dir, 'aws-config-absent'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials-absent'),
    // Port 9 (discard) on loopback: closed, so every request is refused at once.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'AKIDNIGHTSHIFTBENCH',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    FORCE_COLOR: '0',
    COLUMNS: '80',
    LINES: '24',
  };
}

/**
 * The order, seen from outside: one start-up in a pseudo-terminal (env keys,
 * no profile, so the SDK does send requests) against a loopback listener that
 * drops every connection. The first connection can only come once the SDK has loaded and
 * the clients are built; a first frame held back by that load (a throttled
 * write waiting on a timer) would arrive after it, not before.
 */
async function frameBeforeSdk(env: NodeJS.ProcessEnv): Promise<{ firstFrame: number; firstRequest: number }> {
  let firstRequest: number | undefined;
  let started = 0;
  const server = createServer((socket) => {
    firstRequest ??= performance.now() - started;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      started = performance.now();
      // In a pseudo-terminal (util-linux `script`), as on a bastion: Ink needs a TTY on stdin to keep running.
      const command = `stty cols 80 rows 24; exec '${process.execPath}' bin/nightshift.js --region us-east-1`;
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...env, TERM: 'xterm-256color', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.on('error', reject);
      let out = '';
      let firstFrame: number | undefined;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const check = () => {
        if (firstFrame !== undefined && firstRequest !== undefined) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve({ firstFrame, firstRequest });
        }
      };
      server.on('connection', check);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (firstFrame === undefined && out.includes('LIVE')) firstFrame = performance.now() - started;
        check();
      });
      child.on('close', () => {
        clearTimeout(timer);
        if (firstFrame === undefined || firstRequest === undefined) reject(new Error(`no frame or no request (frame ${firstFrame}, request ${firstRequest}):\n${out}`));
      });
    });
  } finally {
    server.close();
  }
}

export async function benchStartupAws(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ns-bench-aws-'));
  const env = benchEnv(dir);
  const baseline: number[] = [];
  const sim: number[] = [];
  const aws: number[] = [];
  // Interleaved, so a machine that slows down part-way slows all three alike.
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await timeUntil(['-e', '0'], null, env));
    sim.push(await timeUntil(['bin/nightshift.js', '--sim'], 'REHEARSAL', env));
    aws.push(await timeUntil(AWS_ARGS, 'LIVE', env));
  }
  const b = stats(baseline);
  const s = stats(sim);
  const a = stats(aws);
  const delta = a.median - s.median;
  console.log(`startup with an AWS target (${RUNS} runs each; SDK pointed at 127.0.0.1:9, profile "bench" absent)`);
  console.log(`  node -e 0                     median ${b.median.toFixed(0)} ms  p95 ${b.p95.toFixed(0)} ms`);
  console.log(`  first frame, simulated fleet  median ${s.median.toFixed(0)} ms  p95 ${s.p95.toFixed(0)} ms`);
  console.log(
    `  first frame, AWS (LIVE)       median ${a.median.toFixed(0)} ms  p95 ${a.p95.toFixed(0)} ms  ` +
      `(${delta >= 0 ? '+' : ''}${delta.toFixed(0)} ms vs simulated; budget +${BUDGET_MS} ms: ${delta <= BUDGET_MS ? 'within' : 'OVER'})`,
  );

  const order = await frameBeforeSdk(env).catch((err: Error) => err);
  if (order instanceof Error) {
    console.log(`  order: not checked (${order.message.split('\n')[0]})`);
    return;
  }
  const lead = order.firstRequest - order.firstFrame;
  console.log(
    `  order (one run): first frame at ${order.firstFrame.toFixed(0)} ms, first AWS request at ${order.firstRequest.toFixed(0)} ms: ` +
      (lead > 0 ? `the frame went out ${lead.toFixed(0)} ms before the SDK was ready` : 'FRAME HELD BACK UNTIL THE SDK HAD LOADED'),
  );
}

// Run directly (also through a symlinked path, as run-all's bundles may be).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await benchStartupAws();
