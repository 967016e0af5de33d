// The refresh tick and key latency on the simulated fleet, through the real
// parts: createSimBackends (every node answers the real `mysql --batch -e` and
// `nodetool status` command lines through the Shell port), the real Poller,
// probes and parsers, buildClusterViews, the fleet store, and the real App
// rendered by Ink into an in-memory 80x24 terminal, throttled to MAX_FPS as
// the console runs it. Prints figures; asserts nothing.
//
// Run: npx tsx bench/refresh.ts            (default fleet, then --nodes 5000)
//      npx tsx bench/refresh.ts --nodes=5000 --child   (one fleet, this process)
//
// Each fleet runs in its own process so memory figures do not mix. The
// machine may be busy: CPU time is printed next to wall time.
//
// A whole refresh (the first one, `r`, `ls`): the virtual clock moves on 5 s
// (the default refresh), then poller.refreshNow(): discover -> metrics ->
// probe every running node -> buildClusterViews -> one store update, timed to
// the frame Ink writes after it. A rolling tick (what the running console
// does on a big fleet, every 250 ms at 5,000 nodes): the poller started as
// the console starts it, each tick timed from its start to the frame after
// its store update. Key presses are timed from when the key was due (40 ms after the last
// frame, like a held arrow key) to the frame that shows it, so a key that
// waits behind a busy event loop (a tick in progress) counts its wait.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { render } from 'ink';
import { createElement } from 'react';
import { App, MAX_FPS } from '../src/app.js';
import { createSimBackends } from '../src/backends/sim/index.js';
import { loadConfig } from '../src/config/load.js';
import { FLAVOUR_SQL, mysqlCommand, probeSql } from '../src/backends/engines/mysql.js';
import type { Instance } from '../src/domain/types.js';
import { pollerOptions } from '../src/poller-options.js';
import { createFleetStore, selectCluster } from '../src/store/fleet.js';
import { clusterKey } from '../src/domain/scope.js';
import { Poller, type RefreshTiming } from '../src/store/poller.js';
import { createUiStore, currentScreen, screenKey } from '../src/store/ui.js';
import { Keyboard, Terminal, f1, mb, pct, sleep } from './terminal.js';

const TICKS = Number(process.env.BENCH_TICKS ?? 20);
const KEYS = Number(process.env.BENCH_KEYS ?? 300);
const KEY_GAP_MS = 40;
/** Refresh intervals of rolling ticks to time. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Tick extends RefreshTiming {
  /** Store update started -> the frame after it written. */
  frameMs: number;
  /** Refresh started -> that frame: poll + store update + render. */
  tickMs: number;
  cpuMs: number;
}

function row(label: string, xs: number[], unit = 'ms'): string {
  return `  ${label.padEnd(38)} p50 ${f1(pct(xs, 50)).padStart(7)} ${unit}   p95 ${f1(pct(xs, 95)).padStart(7)} ${unit}   max ${f1(Math.max(...xs)).padStart(7)} ${unit}`;
}

async function bench(nodes: number | undefined): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-bench-refresh-'));
  const rssStart = process.memoryUsage().rss;
  const o0 = performance.now();
  const backends = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir, ...(nodes ? { nodes } : {}) });
  const openMs = performance.now() - o0;
  const config = loadConfig({ sim: true, stateDir, ...(nodes ? { nodes: String(nodes) } : {}) }, { env: {}, cwd: stateDir });

  // Phases come from the poller's onTiming (a poller without it, as before this bench, leaves them blank).
  const timings: RefreshTiming[] = [];
  const fleet = createFleetStore({ target: backends.target, refreshSeconds: config.refreshSeconds });
  let onTiming = (t: RefreshTiming) => void timings.push(t);
  const poller = new Poller(backends, fleet, { ...pollerOptions(config, backends), onTiming: (t) => onTiming(t) });
  // Subscribed before the App, so this runs before React draws: the moment the new clusters land.
  let storeAt = NaN;
  fleet.subscribe((state, prev) => {
    if (state.clusters !== prev.clusters) storeAt = performance.now();
  });
  const ui = createUiStore();
  const stdout = new Terminal(80, 24);
  const stdin = new Keyboard();
  const inkMs: number[] = [];
  const app = render(
    createElement(App, { fleet, ui, onRefresh: () => void poller.refreshNow(), onQuit: () => {} }),
    {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: MAX_FPS,
      onRender: ({ renderTime }) => inkMs.push(renderTime),
    },
  );

  /** One refresh, timed to the first frame written after its store update. */
  const tick = async (): Promise<Tick> => {
    const before = timings.length;
    const c0 = process.cpuUsage();
    const s = performance.now();
    // The frame may be written inside the store update (Ink's leading edge) or by its throttle's trailing edge.
    stdout.marks = [];
    storeAt = NaN;
    await poller.refreshNow();
    if (Number.isNaN(storeAt)) throw new Error(`refresh did not complete: ${fleet.getState().error ?? 'no new clusters'}`);
    const t = timings[before];
    if (!t) throw new Error('the refresh reported no timing');
    let frameAt = stdout.marks.find((m) => m >= storeAt);
    if (frameAt === undefined) frameAt = await Promise.race([stdout.nextWrite(), sleep(500).then(() => NaN)]);
    const used = process.cpuUsage(c0);
    return { ...t, frameMs: frameAt - storeAt, tickMs: frameAt - s, cpuMs: (used.user + used.system) / 1000 };
  };

  let refreshes = 0;
  fleet.subscribe((state, prev) => {
    if (state.clusters !== prev.clusters) refreshes++;
  });
  const cold = await tick();
  const clusters = fleet.getState().clusters;
  const nodeCount = clusters.reduce((n, c) => n + c.nodes.length, 0);
  const stale = clusters.reduce((n, c) => n + c.nodes.filter((x) => x.stale).length, 0);

  const ticks: Tick[] = [];
  const a0 = performance.now();
  for (let i = 0; i < TICKS; i++) {
    // 5 s of fleet time pass, as between two refreshes (lag, positions and metrics move on);
    // the clock alone moves, so no state file is written, as in a console left running.
    backends.world.clock.advance(5000);
    await sleep(60);
    ticks.push(await tick());
  }
  const ticksWall = performance.now() - a0;

  // The simulated servers' share: the same command lines sent through the Shell port, not parsed.
  // On a real fleet the servers do this work, not the console.
  const jobs: Array<{ node: Instance; command: string }> = [];
  for (const c of fleet.getState().clusters) {
    for (const n of c.nodes) {
      if (n.instance.state !== 'running') continue;
      if (n.facts?.kind === 'mysql') jobs.push({ node: n.instance, command: mysqlCommand(config.engines.mysqlClient, probeSql(n.facts.mysql.flavour, n.facts.mysql.version)) });
      else if (n.facts?.kind === 'cassandra') jobs.push({ node: n.instance, command: `${config.engines.nodetool} status` });
      else if (n.engine === 'mysql') jobs.push({ node: n.instance, command: mysqlCommand(config.engines.mysqlClient, FLAVOUR_SQL) });
    }
  }
  const simMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    backends.world.clock.advance(5000);
    await sleep(60);
    const s0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < jobs.length) {
          const j = jobs[next++]!;
          await backends.shell.exec(j.node, j.command, { readOnly: true }).catch(() => undefined);
        }
      }),
    );
    simMs.push(performance.now() - s0);
  }

  // The poller as the console runs it: after its whole first refresh, rolling ticks (if the fleet is big).
  const rolling: Tick[] = [];
  const ticked: Array<{ timing: RefreshTiming; startAt: number; storeAt: number }> = [];
  let lastStore = NaN;
  const unsubscribe = fleet.subscribe((state, prev) => {
    if (state.clusters !== prev.clusters) lastStore = performance.now();
  });
  // Called right after the tick's store update: its start is totalMs before now.
  onTiming = (t) => {
    if (t.kind === 'rolling') ticked.push({ timing: t, startAt: performance.now() - t.totalMs, storeAt: lastStore });
  };
  stdout.marks = [];
  const r0 = performance.now();
  poller.start();
  // The first round begins an interval after the whole first refresh.
  await sleep((ROUNDS + 1) * config.refreshSeconds * 1000 + 200);
  const roundsWall = performance.now() - r0;
  unsubscribe();
  for (const { timing, startAt, storeAt } of ticked) {
    const frameAt = stdout.marks.find((m) => m >= storeAt);
    if (frameAt !== undefined) rolling.push({ ...timing, frameMs: frameAt - storeAt, tickMs: frameAt - startAt, cpuMs: NaN });
  }

  // Keys with the poller running at the console's interval.
  const pressKeys = async (n: number) => {
    const lat: number[] = [];
    const duringTick: number[] = [];
    const cpu: number[] = [];
    let dir: 'j' | 'k' = 'j';
    let missed = 0;
    let lastFrame = performance.now();
    for (let i = 0; i < n; i++) {
      const due = lastFrame + KEY_GAP_MS;
      await sleep(Math.max(0, due - performance.now()));
      const state = ui.getState();
      const screen = currentScreen(state);
      const count =
        screen.kind === 'cluster'
          ? (selectCluster(screen.key)(fleet.getState())?.nodes.length ?? 0)
          : fleet.getState().clusters.length;
      const index = state.selection[screenKey(screen)]?.index ?? 0;
      if (index >= count - 1) dir = 'k';
      else if (index <= 0) dir = 'j';
      const refreshing = fleet.getState().isRefreshing;
      const written = Promise.race([stdout.nextWrite(), sleep(2000).then(() => NaN)]);
      const c0 = process.cpuUsage();
      stdin.write(dir);
      const at = await written;
      const used = process.cpuUsage(c0);
      if (Number.isNaN(at)) {
        missed++;
        lastFrame = performance.now();
        continue;
      }
      lat.push(at - due);
      if (refreshing || fleet.getState().isRefreshing) duringTick.push(at - due);
      cpu.push((used.user + used.system) / 1000);
      lastFrame = at;
    }
    return { lat, duringTick, cpu, missed };
  };
  await sleep(100);
  const fleetKeys = await pressKeys(KEYS);

  const biggest = [...fleet.getState().clusters].sort((a, b) => b.nodes.length - a.nodes.length)[0]!;
  ui.getState().actions.push({ kind: 'cluster', key: clusterKey(biggest) });
  await sleep(100);
  const clusterKeys = await pressKeys(KEYS);
  poller.stop();
  const keyTicks = refreshes - 1 - TICKS;

  const mem = process.memoryUsage();
  const maxRss = process.resourceUsage().maxRSS * 1024;
  // What is really kept (the fleet, the world, the views), once the garbage is gone.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const live = gc ? process.memoryUsage().heapUsed : NaN;
  if (process.env.BENCH_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.BENCH_SNAPSHOT);
  app.unmount();
  await backends.close();
  rmSync(stateDir, { recursive: true, force: true });

  const label = nodes ? `--nodes ${nodes}` : 'default fleet';
  const tm = (k: keyof Tick, of = ticks) => of.map((t) => t[k] as number);
  const running = clusters.reduce((n, c) => n + c.nodes.filter((x) => x.instance.state === 'running').length, 0);
  console.log(`\n== ${label}: ${clusters.length} clusters, ${nodeCount} nodes (${running} probed per tick${stale ? `, ${stale} stale` : ''}); terminal 80x24, ${MAX_FPS} fps throttle ==`);
  console.log(`  sim opened in ${f1(openMs)} ms; first (cold) tick ${f1(cold.tickMs)} ms, cpu ${f1(cold.cpuMs)} ms (includes one-time version probes)`);
  console.log(`whole refresh (first refresh, r, ls), ${TICKS} of them, 5 s of fleet time apart:`);
  console.log(row('discover', tm('discoverMs')));
  console.log(row('metrics', tm('metricsMs')));
  console.log(row('probes (every running node)', tm('probesMs')));
  console.log(row('buildClusterViews', tm('buildMs')));
  console.log(row('store update (sync React render)', tm('storeMs')));
  console.log(row('store update -> frame written', tm('frameMs')));
  console.log(row('WHOLE: refresh start -> frame', tm('tickMs')));
  console.log(row('  cpu time in the tick', tm('cpuMs')));
  console.log(row(`  simulated servers alone (${jobs.length} execs)`, simMs));
  console.log(`  (${TICKS} refreshes in ${f1(ticksWall / 1000)} s wall)`);
  if (rolling.length === 0) {
    console.log(`rolling ticks: none (${running} nodes are probed in one go every ${config.refreshSeconds} s)`);
  } else {
    const slices = rolling[0]!.slices;
    const probed = rolling.map((t) => t.probed);
    console.log(
      `rolling ticks, the console's refresh on this fleet: ${rolling.length} ticks in ${f1(roundsWall / 1000)} s, ` +
        `${slices} a round, ${Math.min(...probed)}-${Math.max(...probed)} nodes each:`,
    );
    const starting = rolling.filter((t) => t.slice === 0);
    if (starting.length > 0) console.log(row('discover (the tick that starts a round)', tm('discoverMs', starting)));
    console.log(row('probes (one slice)', tm('probesMs', rolling)));
    console.log(row('buildClusterViews', tm('buildMs', rolling)));
    console.log(row('store update (sync React render)', tm('storeMs', rolling)));
    console.log(row('store update -> frame written', tm('frameMs', rolling)));
    console.log(row('TICK: tick start -> frame', tm('tickMs', rolling)));
    const round = rolling.slice(0, slices);
    console.log(
      `  (a tick every ${f1((config.refreshSeconds * 1000) / slices)} ms; a round's ${round.length} ticks add up to ` +
        `${f1(round.reduce((n, t) => n + t.totalMs, 0))} ms to their store updates)`,
    );
  }
  const keyLine = (name: string, k: { lat: number[]; duringTick: number[]; cpu: number[]; missed: number }) => {
    console.log(row(`key -> frame, ${name}`, k.lat));
    console.log(row(`  cpu time per key`, k.cpu));
    if (k.duringTick.length > 0) console.log(row(`  keys that met a refresh (n=${k.duringTick.length})`, k.duringTick));
    if (k.missed > 0) console.log(`  ${k.missed} keys drew no frame within 2 s`);
  };
  console.log(`keys every ${KEY_GAP_MS} ms after the last frame, poller running (every ${config.refreshSeconds} s; ${keyTicks} refreshes during the keys):`);
  keyLine(`fleet screen (${clusters.length} rows, n=${fleetKeys.lat.length})`, fleetKeys);
  keyLine(`cluster ${biggest.name} (${biggest.nodes.length} rows, n=${clusterKeys.lat.length})`, clusterKeys);
  console.log(row("Ink's output pass, every frame", inkMs));
  console.log(
    `memory: rss ${mb(mem.rss)} (peak ${mb(maxRss)}, ${mb(rssStart)} at start), heap used ${mb(mem.heapUsed)} of ${mb(mem.heapTotal)}` +
      `${gc ? ` (${mb(live)} live after a full GC)` : ''}, external ${mb(mem.external)}`,
  );
}

const args = process.argv.slice(2);
const nodesArg = args.find((a) => a.startsWith('--nodes='))?.slice('--nodes='.length);
if (args.includes('--child')) {
  await bench(nodesArg ? Number(nodesArg) : undefined);
  process.exit(0);
} else {
  console.log(`refresh bench · node ${process.version} · NODE_ENV=${process.env.NODE_ENV ?? 'production (set by this bench)'}`);
  const fleets = nodesArg ? [nodesArg] : ['default', '5000'];
  for (const f of fleets) {
    spawnSync(process.execPath, [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--child', ...(f === 'default' ? [] : [`--nodes=${f}`])], {
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' },
    });
  }
}
