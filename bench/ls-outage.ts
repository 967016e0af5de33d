// `nightshift ls` on 5,000 simulated nodes, healthy against az-outage (a third
// of the fleet dark): a dark host must not hold the picture (issue 15, budget
// ≤ 3× healthy). The built CLI in a child process, as a user runs it, medians
// of N runs each, interleaved so the machine's load falls on both alike.
// Prints figures; never passes or fails on time.
//   npx tsx bench/ls-outage.ts [--runs 3]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
const bin = join(process.cwd(), 'bin', 'nightshift.js');

function once(scenario: string): number {
  const home = mkdtempSync(join(tmpdir(), 'nightshift-ls-bench-'));
  try {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, '--sim', '--nodes', '5000', '--scenario', scenario, 'ls'], { env: { ...process.env, XDG_STATE_HOME: home }, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`ls --scenario ${scenario} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
    return ms;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const healthy: number[] = [];
const outage: number[] = [];
for (let k = 0; k < runs; k++) {
  healthy.push(once('healthy'));
  outage.push(once('az-outage'));
}
const h = median(healthy);
const o = median(outage);
console.log(`ls, 5,000 simulated nodes, median of ${runs}: healthy ${(h / 1000).toFixed(2)} s, az-outage ${(o / 1000).toFixed(2)} s: ${(o / h).toFixed(2)}× (budget ≤ 3×)`);
