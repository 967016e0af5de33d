// Time from process start to the first frame on the simulated fleet for the
// single file (dist/nightshift.cjs, copied alone into an empty folder as on a
// bastion) next to the installed build (bin/nightshift.js running
// dist/cli.cjs) and `node -e 0`, interleaved so that a machine slowing down
// part-way slows all alike. Both with their code cache (every start but the
// first; the single file's under XDG_CACHE_HOME), and the single file's
// first start without it. Budgets: the single file within 1.5x of the
// installed build; the installed build within 1.25x of what it was before the
// single file (README "Performance": 1.7-1.9x `node -e 0` on quiet sittings),
// or, with BENCH_BASELINE=<another checkout>/bin/nightshift.js (built, e.g.
// of the commit before), within 1.25x of that one, timed in the same runs.
// Prints figures; asserts nothing.
// Run: npm run bench -- startup-onefile (or npx tsx bench/startup-onefile.ts after `npm run build`).

import { HAS_SCRIPT, stats, timeUntil } from './pty.js';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** The installed build's first frame over `node -e 0` before the single file (the top of README's quiet sittings). */
const INSTALLED_BEFORE = 1.9;

export async function benchStartupOneFile(): Promise<void> {
  const installed = resolve('bin/nightshift.js');
  const built = resolve('dist/nightshift.cjs');
  if (!existsSync(built)) throw new Error(`no ${built}: run npm run build first`);
  const work = mkdtempSync(join(tmpdir(), 'ns-bench-onefile-'));
  const folder = join(work, 'bastion');
  const oneFile = join(folder, 'nightshift.cjs');
  mkdirSync(folder);
  copyFileSync(built, oneFile);
  const { CI: _ci, NODE_ENV: _nodeEnv, ...rest } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...rest,
    HOME: work,
    XDG_STATE_HOME: join(work, 'state'),
    XDG_CACHE_HOME: join(work, 'cache'),
    XDG_CONFIG_HOME: join(work, 'config'),
    NIGHTSHIFT_CONFIG: '',
    FORCE_COLOR: '0',
    COLUMNS: '80',
    LINES: '24',
  };
  const oneFileCache = join(work, 'cache', 'nightshift', `${oneFile.replace(/[^\w.]+/g, '-')}.cache`);
  // Started from the empty folder, as on a bastion (nothing there to find).
  const cwd = process.cwd();
  process.chdir(folder);
  try {
    const before = process.env.BENCH_BASELINE ? resolve(cwd, process.env.BENCH_BASELINE) : undefined;
    // Each writes its code cache once; the timed starts after that use it.
    for (const args of [[installed, '--sim'], [oneFile, '--sim'], ...(before ? [[before, '--sim']] : [])]) {
      await timeUntil(args, /code cache (written|kept)/, { ...env, NIGHTSHIFT_DEBUG: '1' });
    }
    if (!existsSync(oneFileCache)) throw new Error(`no ${oneFileCache} after the single file's console has started`);
    const baseline: number[] = [];
    const old: number[] = [];
    const inst: number[] = [];
    const one: number[] = [];
    const oneCold: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await timeUntil(['-e', '0'], null, env));
      if (before) old.push(await timeUntil([before, '--sim'], 'REHEARSAL', env));
      inst.push(await timeUntil([installed, '--sim'], 'REHEARSAL', env));
      one.push(await timeUntil([oneFile, '--sim'], 'REHEARSAL', env));
      // Its first start on a bastion: no cache yet (the one it then writes is taken away again).
      rmSync(oneFileCache, { force: true });
      oneCold.push(await timeUntil([oneFile, '--sim'], 'REHEARSAL', env));
      await timeUntil([oneFile, '--sim'], /code cache (written|kept)/, { ...env, NIGHTSHIFT_DEBUG: '1' });
    }
    const b = stats(baseline);
    const n = stats(inst);
    const o = stats(one);
    const c = stats(oneCold);
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    const within = (ratio: number, budget: number) => `budget ${budget}x: ${ratio <= budget ? 'within' : 'OVER'}`;
    console.log(`startup, single file vs installed build (${RUNS} runs each, ${HAS_SCRIPT ? 'in a pty via script(1), 80x24' : 'piped stdout'}; dist/nightshift.cjs ${mb(statSync(built).size)})`);
    console.log(`  node -e 0                          median ${b.median.toFixed(0)} ms  p95 ${b.p95.toFixed(0)} ms`);
    const installedRatio = n.median / b.median;
    if (before) {
      const p = stats(old);
      console.log(`  baseline (${before}) median ${p.median.toFixed(0)} ms  p95 ${p.p95.toFixed(0)} ms  (${(p.median / b.median).toFixed(2)}x node -e 0)`);
    }
    const vsBefore = before
      ? `${(n.median / stats(old).median).toFixed(2)}x the baseline; ${within(n.median / stats(old).median, 1.25)}`
      : `${(installedRatio / INSTALLED_BEFORE).toFixed(2)}x the ${INSTALLED_BEFORE}x before; ${within(installedRatio / INSTALLED_BEFORE, 1.25)}`;
    console.log(
      `  installed build (bin/nightshift.js) median ${n.median.toFixed(0)} ms  p95 ${n.p95.toFixed(0)} ms  (${installedRatio.toFixed(2)}x node -e 0; ${vsBefore})`,
    );
    console.log(`  single file, code cache            median ${o.median.toFixed(0)} ms  p95 ${o.p95.toFixed(0)} ms  (${(o.median / n.median).toFixed(2)}x installed; ${within(o.median / n.median, 1.5)})`);
    console.log(`  single file, first start (no cache) median ${c.median.toFixed(0)} ms  p95 ${c.p95.toFixed(0)} ms  (${(c.median / n.median).toFixed(2)}x installed)`);
  } finally {
    process.chdir(cwd);
    // The last console quits within a moment of its frame; its state goes with it.
    await new Promise((r) => setTimeout(r, 500));
    rmSync(work, { recursive: true, force: true });
  }
}

// Run directly (also through a symlinked path, as run-all's bundles may be).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await benchStartupOneFile();
