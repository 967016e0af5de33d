// Every scenario at 80x24, walked with real keys as a new user would: the
// fleet screen, then each troubled cluster (worst first), node by node. Nothing
// an engineer needs may be lost to width: every health reason and finding of
// what is shown must be readable whole somewhere on the screen (wrapped is
// fine, `…` is not). The console is the real one on the simulated fleet, after
// the real poller's refresh; what must be whole is read from the same store.
// bench/walkthrough.ts walks the same way in real tmux.

import { describe, expect, it, vi } from 'vitest';
import { SCENARIOS } from '../../src/backends/sim/index.js';
import { selectClusters, selectFleetFindings } from '../../src/store/fleet.js';
import { describeCut, findCuts, type MustBeWhole } from '../helpers/cut-check.js';
import { keys } from '../helpers/keys.js';
import type { Rendered } from '../helpers/render.js';
import { clusterScreenTexts, fleetScreenTexts, walkFleetOfStore, walkTargets, type WalkCluster } from '../helpers/walk-texts.js';
import { openSimConsole } from './runbooks/sim-console.js';

/** Clusters opened per scenario: the worst few say whether the screens hold up; more only costs time. */
const CLUSTERS_PER_SCENARIO = 3;

/** The first word of the row under the cursor (`›`): a cluster's or a node's name. */
function selectedName(frame: string): string | undefined {
  const row = frame.split('\n').find((l) => l.startsWith('›'));
  return row?.slice(1).trim().split(/\s+/)[0];
}

/** Waits until the frame satisfies `ok`, and returns that frame. */
async function frameWhere(app: Rendered, what: string, ok: (frame: string) => boolean): Promise<string> {
  await vi.waitFor(() => {
    if (!ok(app.lastFrame())) throw new Error(`waiting for ${what}; the screen shows:\n${app.lastFrame()}`);
  });
  return app.lastFrame();
}

/** Moves the cursor with j/k, one row a key, until the row named `name` is under it. */
async function selectRow(app: Rendered, names: readonly string[], name: string, screen: (frame: string) => boolean): Promise<string> {
  const from = names.indexOf(selectedName(app.lastFrame()) ?? '');
  const to = names.indexOf(name);
  expect(to, `${name} is a row of this screen`).toBeGreaterThanOrEqual(0);
  const key = to > from ? 'j' : 'k';
  for (let i = 0; i < Math.abs(to - Math.max(0, from)); i++) await app.press(key);
  return frameWhere(app, `${name} under the cursor`, (f) => screen(f) && selectedName(f) === name);
}

describe('no reason or finding is cut at 80x24', () => {
  it.each(SCENARIOS.map((s) => s.name))('%s: the fleet screen and its troubled clusters show them whole', async (scenario) => {
    expect(await walkScenario(scenario, 80)).toEqual([]);
  });

  // The walk itself can pass: where the screen has room for every line, it finds nothing.
  it('finds nothing cut in split-brain 600 columns wide, where every » line has room', async () => {
    expect(await walkScenario('split-brain', 600)).toEqual([]);
  });
});

/** Walks one scenario's console at `columns` x 24 with real keys; each text not shown whole, as "scenario · screen: what cut: text". */
async function walkScenario(scenario: string, columns: number): Promise<string[]> {
  const { app, fleet } = await openSimConsole({ scenario, seed: 1, speed: 1 });
  if (columns !== app.stdout.columns) app.stdout.resize(columns, 24);
  const state = fleet.getState();
  const walk = walkFleetOfStore(selectClusters(state), selectFleetFindings(state));
  const names = walk.clusters.map((c) => c.name);
  const cuts: string[] = [];
  const check = (screen: string, frame: string, texts: MustBeWhole[]) => {
    for (const c of findCuts(frame, texts)) cuts.push(`${scenario} · ${screen}: ${describeCut(c)}`);
  };
  // The fleet screen, drawn at the width asked for (the title ends at the last column).
  const onFleet = (f: string) => f.includes('Fleet ·') && (f.split('\n')[1] ?? '').length === columns;

  await frameWhere(app, 'the fleet screen', onFleet);
  const first = walk.clusters[0];
  expect(first, `${scenario} has clusters`).toBeDefined();
  // The fleet screen as it opens: the worst cluster under the cursor.
  check(`fleet screen (${first!.name} selected)`, await selectRow(app, names, first!.name, onFleet), fleetScreenTexts(walk, first!));

  for (const cluster of walkTargets(walk, CLUSTERS_PER_SCENARIO)) {
    if (cluster !== first) {
      check(`fleet screen (${cluster.name} selected)`, await selectRow(app, names, cluster.name, onFleet), fleetScreenTexts(walk, cluster));
    }
    await app.press(keys.enter);
    await walkCluster(app, cluster, check);
    await app.press(keys.escape);
    await frameWhere(app, 'the fleet screen again', onFleet);
  }
  return cuts;
}

/** The cluster screen with each node in turn under the cursor: its findings always, that node's reason then. */
async function walkCluster(app: Rendered, cluster: WalkCluster, check: (screen: string, frame: string, texts: MustBeWhole[]) => void) {
  const onCluster = (f: string) => f.includes(`Fleet › ${cluster.name} `);
  await frameWhere(app, `the cluster screen of ${cluster.name}`, onCluster);
  const nodeNames = cluster.nodes.map((n) => n.name);
  for (const node of cluster.nodes) {
    const frame = await selectRow(app, nodeNames, node.name, onCluster);
    check(`cluster screen ${cluster.name} (${node.name} selected)`, frame, clusterScreenTexts(cluster, node));
  }
}
