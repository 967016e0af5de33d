// Two regions against one, on the simulated fleet, in one process: 1 region ×
// 5,000 nodes (the baseline) and 2 regions × 2,500 nodes, each opened, then
// timed through discovery (the inventory alone, as each refresh starts) and
// one whole refresh of the real poller (discover -> metrics -> probe every
// running node -> views -> store), the virtual clock moved on 5 s first as
// the console's refresh would. Then, on two regions, discovery with
// eu-west-1 throttled (the other region answers, the refused one shows its
// last good answer). Medians of N; interleaved so the machine's load falls on
// both alike. Prints figures and the ratio; never passes or fails on time.
//   npx tsx bench/regions.ts [--runs 5]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSimBackends, type SimBackends } from '../src/backends/sim/index.js';
import { loadConfig } from '../src/config/load.js';
import { pollerOptions } from '../src/poller-options.js';
import { createFleetStore } from '../src/store/fleet.js';
import { Poller } from '../src/store/poller.js';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
const NODES = 5000;

interface Fleet {
  label: string;
  regions: number;
  backends: SimBackends;
  poller: Poller;
  stateDir: string;
  openMs: number;
  discover: number[];
  refresh: number[];
}

async function open(label: string, regions: number): Promise<Fleet> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-bench-regions-'));
  const t0 = performance.now();
  const backends = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, nodes: NODES, ...(regions > 1 ? { regions } : {}) });
  const openMs = performance.now() - t0;
  const flags = { sim: true, stateDir, nodes: String(NODES), ...(regions > 1 ? { regions: String(regions) } : {}) };
  const config = loadConfig(flags, { env: {}, cwd: stateDir });
  const fleet = createFleetStore({ target: backends.target, refreshSeconds: config.refreshSeconds });
  const poller = new Poller(backends, fleet, pollerOptions(config, backends));
  return { label, regions, backends, poller, stateDir, openMs, discover: [], refresh: [] };
}

async function once(f: Fleet): Promise<void> {
  f.backends.world.advance(5000);
  // A change first, so discovery does the whole list rather than answer from its cache, as after any change in the fleet.
  const some = f.backends.world.instances()[0]!;
  await f.backends.inventory.setTags(some.id, { bench: String(performance.now()) });
  let t = performance.now();
  const d = await f.backends.inventory.discover();
  f.discover.push(performance.now() - t);
  if (d.instances.length !== NODES) throw new Error(`${f.label}: discovery listed ${d.instances.length} instances, not ${NODES}`);
  f.backends.world.advance(5000);
  t = performance.now();
  await f.poller.refreshNow();
  f.refresh.push(performance.now() - t);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

const one = await open('1 region × 5,000', 1);
const two = await open('2 regions × 2,500', 2);
// A first round each, not counted: the first refresh warms caches and JIT.
await once(one);
await once(two);
one.discover.length = one.refresh.length = two.discover.length = two.refresh.length = 0;
for (let k = 0; k < runs; k++) {
  await once(one);
  await once(two);
}

// Two regions, one throttled: the other answers fresh, the refused one keeps its last good answer.
two.backends.world.inject({ kind: 'api-throttled', region: 'eu-west-1' });
const throttled: number[] = [];
for (let k = 0; k < runs; k++) {
  await two.backends.inventory.setTags(two.backends.world.instances()[0]!.id, { bench: String(k) });
  const t = performance.now();
  const d = await two.backends.inventory.discover();
  throttled.push(performance.now() - t);
  if (!d.scopes?.some((s) => s.region === 'eu-west-1' && s.throttled)) throw new Error('eu-west-1 was not marked throttled');
  if (d.instances.length !== NODES) throw new Error(`throttled discovery listed ${d.instances.length} instances, not ${NODES}`);
}

console.log(`simulated fleet of ${NODES.toLocaleString('en')} nodes, median of ${runs}:`);
for (const f of [one, two]) {
  console.log(`  ${f.label.padEnd(20)} open ${ms(f.openMs).padStart(10)}   discovery ${ms(median(f.discover)).padStart(9)}   refresh ${ms(median(f.refresh)).padStart(9)}`);
}
console.log(`  2 regions / 1 region: discovery ${(median(two.discover) / median(one.discover)).toFixed(2)}×, refresh ${(median(two.refresh) / median(one.refresh)).toFixed(2)}×`);
console.log(`  2 regions, eu-west-1 throttled: discovery ${ms(median(throttled))} (${(median(throttled) / median(two.discover)).toFixed(2)}× unthrottled)`);

for (const f of [one, two]) {
  f.poller.stop();
  await f.backends.close();
  rmSync(f.stateDir, { recursive: true, force: true });
}
