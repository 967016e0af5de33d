// UI bench: 5,000 nodes in 500 clusters (test fixture generator), rendered by
// the real App into an in-memory terminal of 80x24. Prints figures, asserts
// nothing. Run: npx tsx bench/ui.ts
//
// Each mode runs in its own process (so memory figures do not mix), with
// React's production build unless NODE_ENV says otherwise. The machine may be
// busy: CPU time per key press is printed next to wall time for that reason.
//
// Two modes:
// - "render": Ink in debug mode (every render written at once), which times
//   React + layout + output with no frame throttle;
// - "terminal": Ink as the console runs it (MAX_FPS frame throttle), key presses
//   spaced like a held-down arrow key (40 ms), timed to the frame that shows them.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { render } from 'ink';
import { Keyboard, pct, sleep, Terminal } from './terminal.js';
import { createElement } from 'react';
import { App, MAX_FPS } from '../src/app.js';
import { createUiStore } from '../src/store/ui.js';
import { fleetStoreWith, generateFleet, NOW } from '../test/helpers/fleet-fixtures.js';

const ms = (x: number) => `${x.toFixed(2)} ms`;

async function bench(mode: 'render' | 'terminal') {
  const t0 = performance.now();
  const fleets = [generateFleet(500, 10), generateFleet(500, 10)];
  const genMs = performance.now() - t0;
  const fleet = fleetStoreWith(fleets[0]!);
  const ui = createUiStore();
  const stdout = new Terminal();
  const stdin = new Keyboard();
  const first = stdout.nextWrite();
  const t1 = performance.now();
  const rssBefore = process.memoryUsage().rss / 1024 / 1024;
  const inkMs: number[] = [];
  const app = render(
    createElement(App, { fleet, ui, onRefresh: () => {}, onQuit: () => {}, clock: () => NOW }),
    {
      onRender: ({ renderTime }) => inkMs.push(renderTime),
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      debug: mode === 'render',
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: MAX_FPS,
    },
  );
  await first;
  const firstFrameMs = performance.now() - t1;
  await sleep(50);

  // A refresh tick's render part: a new clusters array lands in the store.
  const tick: number[] = [];
  for (let i = 0; i < 40; i++) {
    const next = fleets[i % 2]!;
    const written = stdout.nextWrite();
    const s = performance.now();
    fleet.getState().actions.setClusters(next, NOW, 1);
    await written;
    tick.push(performance.now() - s);
    await sleep(mode === 'terminal' ? 40 : 0);
  }

  // Down to the last row and back up again: a key that changes nothing draws no frame.
  const cpu: number[] = [];
  const press = async (rows: number, n: number) => {
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = Math.floor(i / (rows - 1)) % 2 === 0 ? 'j' : 'k';
      const written = stdout.nextWrite();
      const c = process.cpuUsage();
      const s = performance.now();
      stdin.write(key);
      await written;
      lat.push(performance.now() - s);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      await sleep(mode === 'terminal' ? 40 : 0);
    }
    return lat;
  };
  const fleetKeys = await press(500, 200);

  ui.getState().actions.push({ kind: 'cluster', key: 'db-0000' });
  await sleep(50);
  // A 50-node cluster: swap one in so the cluster screen has 50 rows.
  const big = generateFleet(1, 50)[0]!;
  fleet.getState().actions.setClusters([big, ...fleets[0]!.filter((c) => c.name !== big.name)], NOW, 1);
  await sleep(50);
  const clusterKeys = await press(50, 200);

  const inkKeys = inkMs.slice(-400);
  const rss = process.memoryUsage().rss / 1024 / 1024;
  const heap = process.memoryUsage().heapUsed / 1024 / 1024;
  app.unmount();
  console.log(`\n== ${mode} mode (${mode === 'render' ? 'unthrottled, debug output' : `as in a terminal: ${MAX_FPS} fps throttle, keys every 40 ms`}) ==`);
  console.log(`fleet: 500 clusters, 5000 nodes (generated in ${ms(genMs)}); terminal 80x24`);
  console.log(`first frame:                          ${ms(firstFrameMs)}`);
  console.log(`store update -> frame (refresh tick): p50 ${ms(pct(tick, 50))}  p95 ${ms(pct(tick, 95))}  (n=${tick.length})`);
  console.log(`key -> frame, fleet screen (500 rows): p50 ${ms(pct(fleetKeys, 50))}  p95 ${ms(pct(fleetKeys, 95))}  (n=${fleetKeys.length})`);
  console.log(`key -> frame, 50-node cluster screen:  p50 ${ms(pct(clusterKeys, 50))}  p95 ${ms(pct(clusterKeys, 95))}  (n=${clusterKeys.length})`);
  console.log(`  cpu time per key press:             p50 ${ms(pct(cpu, 50))}  p95 ${ms(pct(cpu, 95))}`);
  console.log(`  of which Ink's output pass:         p50 ${ms(pct(inkKeys, 50))}  p95 ${ms(pct(inkKeys, 95))}`);
  console.log(`resident memory: ${rss.toFixed(0)} MB (heap used ${heap.toFixed(0)} MB; ${rssBefore.toFixed(0)} MB before the first render, fixtures for two 5,000-node fleets included)`);
}

const mode = process.argv.find((a) => a.startsWith('--mode='))?.slice('--mode='.length);
if (mode === 'render' || mode === 'terminal') {
  await bench(mode);
  process.exit(0);
} else {
  console.log(`node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? 'production (set by this bench)'}`);
  for (const m of ['render', 'terminal']) {
    spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--mode=${m}`], {
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' },
    });
  }
}
