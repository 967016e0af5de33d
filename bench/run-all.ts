// Runs the benches one after the other, each in its own process so memory
// figures do not mix, on the code as the console runs it: bundled by esbuild
// with scripts/bundle.mjs's options, as scripts/build.mjs bundles src/ (tsx
// keeps every function's name, which costs on hot paths; the build patches
// Ink), with React's production build (aws-calls, which times a dynamic
// import, runs from the sources). Prints figures;
// never fails on time. `npm run bench` builds dist/ first (startup and
// console-rss start bin/nightshift.js).
//
//   npm run bench                      every bench that needs nothing but this machine
//   npm run bench -- refresh ui        some of them
//   npm run bench -- --lab             also ssh-probe and runbooks-lab (need the lab: real sshd + MariaDB)

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error: a build script in plain JavaScript, without types
import { bundleOptions } from '../scripts/bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface Bench {
  name: string;
  file: string;
  what: string;
  lab?: boolean;
  /** Run from the sources through tsx instead of bundled: the bench times a dynamic import, which a bundle would inline. */
  fromSources?: boolean;
}

const BENCHES: Bench[] = [
  { name: 'startup', file: 'startup.ts', what: 'process start -> first frame on the simulated fleet, next to node -e 0 (budget 400 ms)' },
  { name: 'refresh', file: 'refresh.ts', what: 'refresh tick by phase, keys with the poller running, memory: default fleet and --nodes 5000' },
  { name: 'ui', file: 'ui.ts', what: 'render and key latency of the App on 5,000 fixture nodes' },
  { name: 'console-rss', file: 'console-rss.ts', what: 'resident memory and CPU of the real console on --nodes 5000' },
  { name: 'startup-onefile', file: 'startup-onefile.ts', what: 'first frame on the simulated fleet: dist/nightshift.cjs from an empty folder vs the installed build (budget 1.5x)' },
  { name: 'startup-aws', file: 'startup-aws.ts', what: 'first frame with an AWS target (no network)' },
  { name: 'aws-calls', file: 'aws-calls.ts', what: 'AWS API calls for one 5,000-instance refresh (mocked clients)', fromSources: true },
  { name: 'journal', file: 'journal.ts', what: 'journal append + fsync per record' },
  { name: 'ssh-probe', file: 'ssh-probe.ts', what: 'SSH probes on the lab', lab: true },
  { name: 'runbooks-lab', file: 'runbooks-lab.ts', what: 'switchover and failover on the lab against their budgets (10 s, 2 s, 10 s; medians of 5)', lab: true },
  { name: 'ls-outage', file: 'ls-outage.ts', what: 'ls on 5,000 simulated nodes, healthy vs az-outage (budget 3x)' },
  { name: 'regions', file: 'regions.ts', what: 'discovery and one poller refresh: 1 region × 5,000 simulated nodes against 2 regions × 2,500, and a region throttled alone' },
  { name: 'rotate-sim', file: 'rotate-sim.ts', what: 'rotate of a 6-node Cassandra ring on the sim at x1000 against the sum of its waits (the floor)' },
  { name: 'rebuild-lab', file: 'rebuild-lab.ts', what: 'rebuild on the lab: ~800 MB raw tar over ssh against the stream + prepare (budget 1.5x), and the whole run rebuild --via stream', lab: true },
];

const args = process.argv.slice(2);
const withLab = args.includes('--lab');
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}; one of: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const chosen = BENCHES.filter((b) => (named.length > 0 ? named.includes(b.name) : !b.lab || withLab));

// Inside the project, so the bundles find node_modules (the AWS SDK and ssh2 stay outside, as in dist/).
const outdir = join(root, 'node_modules', '.cache', 'nightshift-bench');
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
// One build per bench: with chunks shared between benches, the code of a bench that
// another imports (startup.ts's helpers) lands in a chunk, where its "run directly"
// check compares the chunk's URL, not the entry's, and the bench silently does nothing.
for (const b of chosen.filter((x) => !x.fromSources)) {
  await build({
    ...bundleOptions,
    entryPoints: [join(here, b.file)],
    outdir: join(outdir, b.name),
    outExtension: { '.js': '.mjs' },
    // As in dist/: Ink's React DevTools module (it imports react-devtools-core, which is not installed) stays a chunk of its own, loaded only with DEV=true.
    splitting: true,
    logLevel: 'error',
  });
}

const { CI: _ci, ...env } = process.env;
console.log(`nightshift benches · node ${process.version} · ${process.platform}/${process.arch} · NODE_ENV=production`);
let failed = 0;
for (const b of chosen) {
  console.log(`\n### ${b.name}: ${b.what}`);
  const started = performance.now();
  const entry = b.fromSources ? ['--import', 'tsx', join(here, b.file)] : [join(outdir, b.name, b.file.replace(/\.ts$/, '.mjs'))];
  const res = spawnSync(process.execPath, entry, {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, NODE_ENV: 'production' },
  });
  if (res.status !== 0) {
    failed++;
    console.log(`(${b.name} exited with ${res.status ?? res.signal})`);
  }
  console.log(`(${b.name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
// A bench that cannot run (no lab, no /proc) is reported, not a failure of the figures.
process.exit(failed > 0 ? 1 : 0);
