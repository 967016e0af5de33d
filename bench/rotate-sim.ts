// Rotate of a 6-node Cassandra ring on the simulated fleet (stale-asg), at
// sim speed, against the floor: the sum of what the world itself makes the
// run wait for, node by node (the drain, then from the terminate to the
// moment the replacement is InService, passes its status checks and is UN:
// booting and joining, which no runbook can shorten). What is left is the
// runbook's own cost: polling intervals, SSH probes, steps and journal.
// Prints figures; never passes or fails on time.
//   npx tsx bench/rotate-sim.ts [--speed 1000] [--seed 7]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineDeps } from '../src/actions/engine/deps.js';
import { createHeadlessGate } from '../src/actions/engine/gate.js';
import type { RunRecord } from '../src/actions/engine/records.js';
import { executeRun, prepareRun } from '../src/actions/engine/runner.js';
import { rotateRunbook } from '../src/actions/runbooks/rotate.js';
import { createSimBackends } from '../src/backends/sim/index.js';
import { configSchema } from '../src/config/schema.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const speed = arg('speed', 1000);
const seed = arg('seed', 7);
const RING = 6;
const JOINING_MS = 4 * 60_000; // the sim's joining time after boot (world.ts, instance-running)
const DRAIN_MS = 15_000; // the sim's nodetool drain (nodetool.ts)

const stateDir = mkdtempSync(join(tmpdir(), 'nightshift-rotate-bench-'));
const b = await createSimBackends({ scenario: 'stale-asg', seed, speed, stateDir });
try {
  const w0 = b.world.view();
  const group = Object.values(w0.asgs).find((g) => w0.clusters[g.cluster]?.engine === 'cassandra' && g.members.length === RING);
  if (!group) throw new Error(`stale-asg seed ${seed} has no ${RING}-node Cassandra group (sizes: ${Object.values(w0.asgs).map((g) => `${g.cluster} ${g.members.length}`).join(', ')}); try another --seed`);

  // The world's view is live: the group's members as they were at the start, kept apart.
  const original = [...group.members];
  const seen = new Set<string>();
  const config = { ...configSchema.parse({}), stateDir, target: 'sim' as const };
  /** Per outgoing node: when its drain and terminate started, and when its replacement was ready by the world's own schedule. */
  const timeline = new Map<string, { drainAt?: number; drainEnd?: number; terminateAt?: number; readyAt?: number }>();
  const onEvent = (r: RunRecord) => {
    if (r.type !== 'step-started' && r.type !== 'step-finished') return;
    const [kind, name] = r.stepId.split(':');
    if (!name) return;
    const t = timeline.get(name) ?? {};
    timeline.set(name, t);
    const now = b.clock.now();
    if (kind === 'drain') (r.type === 'step-started' ? (t.drainAt = now) : (t.drainEnd = now));
    if (kind === 'terminate' && r.type === 'step-started') t.terminateAt = now;
    if (kind === 'terminate' && r.type === 'step-finished') {
      // The group launched the replacement as the terminate returned, and the world scheduled its boot then.
      const w = b.world.view();
      const fresh = w.asgs[group.name]!.members.filter((id) => !original.includes(id) && !seen.has(id))[0];
      if (!fresh) throw new Error(`no replacement launched for ${name}`);
      seen.add(fresh);
      const at = (k: string) => w.transitions.find((tr) => tr.id === fresh && tr.kind === k)?.at;
      const [inService, statusOk, running] = [at('in-service'), at('status-ok'), at('instance-running')];
      if (inService === undefined || statusOk === undefined || running === undefined) throw new Error(`${fresh}: its boot was not scheduled at launch`);
      t.readyAt = Math.max(inService, statusOk, running + JOINING_MS);
    }
  };
  const deps = engineDeps(config, b, createHeadlessGate({ yes: true }), onEvent);
  const ac = new AbortController();
  const real0 = performance.now();
  const prepared = await prepareRun(rotateRunbook, { cluster: group.cluster, noPause: true }, deps, ac.signal);
  if (prepared.blocked) throw new Error(`rotate refused: ${prepared.blocked}`);
  const v0 = b.clock.now();
  const outcome = await executeRun(prepared, deps, ac.signal);
  const virtualMs = b.clock.now() - v0;
  const realMs = performance.now() - real0;
  if (outcome.status !== 'succeeded') throw new Error(`rotate ${outcome.status}: ${outcome.reason}`);

  let floor = 0;
  const rows: string[] = [];
  for (const [name, t] of timeline) {
    if (t.terminateAt === undefined || t.readyAt === undefined) continue;
    const drain = (t.drainEnd ?? t.drainAt ?? 0) - (t.drainAt ?? 0);
    const wait = t.readyAt - t.terminateAt;
    // The floor counts the drain as the world makes it; the step's own time beside it is the runbook's.
    floor += DRAIN_MS + wait;
    rows.push(`  ${name.padEnd(24)} drain step ${(drain / 1000).toFixed(0).padStart(3)} s (the world's ${DRAIN_MS / 1000} s)   terminate → replacement ready ${(wait / 60_000).toFixed(1).padStart(4)} min`);
  }
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} fleet min`;
  console.log(`rotate ${group.cluster} (${RING} nodes, ${group.name}) on the sim at ×${speed}, seed ${seed}`);
  console.log(rows.join('\n'));
  console.log(`  floor (sum of the waits):  ${min(floor)}`);
  console.log(`  rotation:                  ${min(virtualMs)}  (${(virtualMs / floor).toFixed(2)}× the floor; ${((virtualMs - floor) / 1000 / RING).toFixed(0)} s of overhead per node)`);
  console.log(`  real time:                 ${(realMs / 1000).toFixed(1)} s`);
} finally {
  await b.close();
  rmSync(stateDir, { recursive: true, force: true });
}
