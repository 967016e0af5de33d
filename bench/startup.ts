// Time from process start to the first frame of the console on the simulated
// fleet, next to `node -e 0` on the same machine, and to the first frame that
// shows the fleet (after the first refresh). Prints figures; asserts nothing.
// Both run in a pseudo-terminal through script(1) where there is one, as a
// person would start them (the baseline pays the same wrapper); without it,
// with pipes, where Ink draws the first frame and then gives up on raw mode.
// The console is timed twice: without V8's code cache (as the first start
// after a build is: dist/cli.cjs.cache removed), and with it.
// Run: npm run bench (or npx tsx bench/startup.ts after `npm run build`).

import { HAS_SCRIPT, stats, timeUntil } from './pty.js';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const CODE_CACHE = 'dist/cli.cjs.cache';

export async function benchStartup(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  // Ink draws only the last frame when it thinks it runs in CI, so CI is unset here.
  const { CI: _ci, ...rest } = process.env;
  const env: NodeJS.ProcessEnv = { ...rest, XDG_STATE_HOME: state, FORCE_COLOR: '0', COLUMNS: '80', LINES: '24' };
  const baseline: number[] = [];
  const cold: number[] = [];
  const firstFrame: number[] = [];
  const withFleet: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await timeUntil(['-e', '0'], null, env));
    rmSync(CODE_CACHE, { force: true });
    cold.push(await timeUntil(['bin/nightshift.js', '--sim'], 'REHEARSAL', env));
    // A console that has started writes the cache (and says so with NIGHTSHIFT_DEBUG).
    await timeUntil(['bin/nightshift.js', '--sim'], /code cache (written|kept)/, { ...env, NIGHTSHIFT_DEBUG: '1' });
    if (!existsSync(CODE_CACHE)) throw new Error(`no ${CODE_CACHE} after a console has started`);
    firstFrame.push(await timeUntil(['bin/nightshift.js', '--sim'], 'REHEARSAL', env));
    // The fleet screen's title once the first refresh has landed: "6 clusters · 22 nodes" (needs a tty for keys).
    if (HAS_SCRIPT) withFleet.push(await timeUntil(['bin/nightshift.js', '--sim'], /[1-9]\d* clusters · \d+ nodes/, env));
  }
  const b = stats(baseline);
  const c = stats(cold);
  const f = stats(firstFrame);
  const w = stats(withFleet);
  console.log(`startup (${RUNS} runs each, ${HAS_SCRIPT ? 'in a pty via script(1), 80x24' : 'piped stdout'})`);
  console.log(`  node -e 0                     median ${b.median.toFixed(0)} ms  p95 ${b.p95.toFixed(0)} ms`);
  console.log(`  first frame, simulated fleet  median ${f.median.toFixed(0)} ms  p95 ${f.p95.toFixed(0)} ms  (${(f.median / b.median).toFixed(1)}x node -e 0; budget 400 ms)`);
  console.log(`    without the code cache      median ${c.median.toFixed(0)} ms  p95 ${c.p95.toFixed(0)} ms  (${(c.median / b.median).toFixed(1)}x node -e 0; the first start after a build)`);
  if (withFleet.length > 0) {
    console.log(`  first frame with the fleet    median ${w.median.toFixed(0)} ms  p95 ${w.p95.toFixed(0)} ms  (after the first refresh: every node probed)`);
  }
  // The last console quits within a moment of its frame; its state goes with it.
  await new Promise((r) => setTimeout(r, 500));
  rmSync(state, { recursive: true, force: true });
}

// Run directly (also through a symlinked path, as run-all's bundles may be).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await benchStartup();
