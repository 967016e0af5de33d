// Time from process start to the first frame of the console on the simulated
// fleet, next to `node -e 0` on the same machine. Prints figures; asserts nothing.
// Run: npm run bench (or npx tsx bench/startup.ts after `npm run build`).

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function timeUntil(args: string[], marker: string | null, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(performance.now() - started);
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (marker && out.includes(marker)) finish();
    });
    child.on('exit', (code) => {
      if (!marker) finish();
      else if (!done) reject(new Error(`exited (${code}) before "${marker}":\n${out}`));
    });
  });
}

function stats(xs: number[]): { median: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]! };
}

export async function benchStartup(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  // Ink draws only the last frame when it thinks it runs in CI, so CI is unset here.
  const { CI: _ci, ...rest } = process.env;
  const env: NodeJS.ProcessEnv = { ...rest, XDG_STATE_HOME: state, FORCE_COLOR: '0', COLUMNS: '80', LINES: '24' };
  const baseline: number[] = [];
  const firstFrame: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await timeUntil(['-e', '0'], null, env));
    firstFrame.push(await timeUntil(['bin/nightshift.js', '--sim'], 'REHEARSAL', env));
  }
  const b = stats(baseline);
  const f = stats(firstFrame);
  console.log(`startup (${RUNS} runs each)`);
  console.log(`  node -e 0                     median ${b.median.toFixed(0)} ms  p95 ${b.p95.toFixed(0)} ms`);
  console.log(`  first frame, simulated fleet  median ${f.median.toFixed(0)} ms  p95 ${f.p95.toFixed(0)} ms  (${(f.median / b.median).toFixed(1)}x node -e 0; budget 400 ms)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStartup();
