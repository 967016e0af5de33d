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
import { renderApp } from './render-app.js';
import { twoRegionFleet, twoRegionScopes, TWO_REGION_TARGET, WEST } from '../helpers/region-fixtures.js';
import type { ClusterView } from '../../src/domain/types.js';

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

/** The fleet table's rows as drawn: between its header line and the selected cluster's `»` line. */
function fleetRows(frame: string): string[] {
  const lines = frame.split('\n');
  const start = lines.findIndex((l) => l.startsWith('  CLUSTER'));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('»'));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/**
 * Puts the cursor on the fleet's row `index` (g, then j a row a key): by
 * position, since a name may be on two rows (one per region).
 */
async function selectFleetRow(app: Rendered, index: number, screen: (frame: string) => boolean): Promise<string> {
  await app.press('g', ...Array.from({ length: index }, () => 'j'));
  return frameWhere(app, `row ${index + 1} under the cursor`, (f) => screen(f) && (fleetRows(f)[index] ?? '').startsWith('›'));
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

describe('no reason or finding is cut at 80x24 over two regions', () => {
  it('a REGION column, one region stale with its error line: the fleet screen and every troubled cluster show them whole', async () => {
    expect(await walkTwoRegions()).toEqual([]);
  });
});

/**
 * Two regions with an `orders` in each: rows are walked by position, since
 * names repeat. One long finding in eu-west-1, and eu-west-1's discovery
 * failing: its error line must be whole beside the findings.
 */
async function walkTwoRegions(): Promise<string[]> {
  const fleet = twoRegionFleet().map((c): ClusterView => {
    if (c.name !== 'billing') return c;
    const message = 'two writable masters: billing-1, billing-2 (billing-1 holds the writer record); fence billing-2 before anything writes to it, then rebuild it from billing-1';
    return { ...c, health: { level: 'CRIT', reasons: [message, ...c.health.reasons] }, findings: [{ kind: 'two-writable-masters', level: 'CRIT', message, nodes: c.nodes.map((n) => n.instance.id), suggests: 'failover' }] };
  });
  const app = await renderApp(fleet, { target: TWO_REGION_TARGET });
  app.fleet.getState().actions.setScopes(twoRegionScopes());
  const state = app.fleet.getState();
  const walk = walkFleetOfStore(selectClusters(state), selectFleetFindings(state));
  const scopeError = { what: 'eu-west-1 discovery error', text: `${WEST} (prod-oncall, 123456789012): discovery failed: ${twoRegionScopes()[1]!.error!.replace(/\.$/, '')}; its rows are from its last good answer` };
  const cuts: string[] = [];
  const check = (screen: string, frame: string, texts: MustBeWhole[]) => {
    for (const c of findCuts(frame, texts)) cuts.push(`two regions · ${screen}: ${describeCut(c)}`);
  };
  const onFleet = (f: string) => f.includes('Fleet ·') && f.includes('REGION');
  await frameWhere(app, 'the fleet screen', onFleet);
  for (const [i, cluster] of walk.clusters.entries()) {
    const frame = await selectFleetRow(app, i, onFleet);
    check(`fleet screen (row ${i + 1}, ${cluster.name})`, frame, [...fleetScreenTexts(walk, cluster), scopeError]);
    if (cluster.level === 'OK') continue;
    await app.press(keys.enter);
    await walkCluster(app, cluster, check);
    await app.press(keys.escape);
    await frameWhere(app, 'the fleet screen again', onFleet);
  }
  expect(walk.clusters.filter((c) => c.level !== 'OK').length, 'troubled clusters were opened').toBeGreaterThanOrEqual(2);
  return cuts;
}

/** Walks one scenario's console at `columns` x 24 with real keys; each text not shown whole, as "scenario · screen: what cut: text". */
async function walkScenario(scenario: string, columns: number): Promise<string[]> {
  const { app, fleet } = await openSimConsole({ scenario, seed: 1, speed: 1 });
  if (columns !== app.stdout.columns) app.stdout.resize(columns, 24);
  const state = fleet.getState();
  const walk = walkFleetOfStore(selectClusters(state), selectFleetFindings(state));
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
  // Rows by position: regions-split has an orders-db in each region.
  check(`fleet screen (${first!.name} selected)`, await selectFleetRow(app, 0, onFleet), fleetScreenTexts(walk, first!));

  for (const cluster of walkTargets(walk, CLUSTERS_PER_SCENARIO)) {
    if (cluster !== first) {
      check(`fleet screen (${cluster.name} selected)`, await selectFleetRow(app, walk.clusters.indexOf(cluster), onFleet), fleetScreenTexts(walk, cluster));
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
