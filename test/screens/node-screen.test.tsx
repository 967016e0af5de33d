// The node screen of ebs-stuck's stuck replica at 80x24, drawn from what the
// real poller made of the simulated fleet: the impaired volume and the
// finding that names it are on screen in full, wrapped, never cut.
// (Simulated fleet: a product feature, not a mock.)

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimBackends } from '../../src/backends/sim/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { ClusterView } from '../../src/domain/types.js';
import { pollerOptions } from '../../src/poller-options.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { keys } from '../helpers/keys.js';
import { renderApp } from './render-app.js';

async function ebsStuck(): Promise<ClusterView[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-node-ebs-'));
  const config = loadConfig({ scenario: 'ebs-stuck', stateDir }, { env: {}, cwd: stateDir });
  const backends = await createSimBackends({ scenario: 'ebs-stuck', seed: 1, speed: 1, stateDir });
  try {
    const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
    await new Poller(backends, store, pollerOptions(config)).refreshNow();
    return store.getState().clusters;
  } finally {
    await backends.close();
  }
}

/** The frame's rows, as the terminal shows them. */
const rowsOf = (frame: string) => frame.split('\n');

describe('node screen of an impaired EBS volume at 80x24', () => {
  it('shows the volume and the finding in full, wrapped', async () => {
    const clusters = await ebsStuck();
    const c = clusters.find((x) => x.findings.some((f) => f.kind === 'io-impaired'))!;
    const f = c.findings.find((x) => x.kind === 'io-impaired')!;
    const node = c.nodes.find((n) => n.instance.id === f.nodes[0])!;
    const volume = node.instance.volumes![0]!;
    const app = await renderApp(clusters, { columns: 80, rows: 24 });
    await app.waitForText(' cluster');
    app.ui.getState().actions.push({ kind: 'cluster', key: c.name });
    app.ui.getState().actions.push({ kind: 'node', cluster: c.name, id: node.instance.id });

    let frame = await app.waitForText('EBS volume');
    for (const row of rowsOf(frame)) expect(Array.from(row).length).toBeLessThanOrEqual(80);
    const at = rowsOf(frame).findIndex((r) => r.includes('EBS volume'));
    // The value column starts at 22; its wrapped rows are indented to it.
    const value = [rowsOf(frame)[at]!.slice(22)];
    for (let k = at + 1; rowsOf(frame)[k]?.startsWith(' '.repeat(22)); k++) value.push(rowsOf(frame)[k]!.slice(22).trimEnd());
    expect(value.length).toBeGreaterThan(1);
    expect(value.join(' ').trimEnd()).toMatch(new RegExp(`^${volume.volumeId} on /dev/xvda: impaired since \\d{4}-\\d\\d-\\d\\d 00:48 UTC \\(\\d+ [smhd] ago\\) — I/O performance stalled, io-performance: severely-degraded$`));

    // The finding sits further down: the end of the page shows it whole.
    await app.press(keys.end);
    frame = await app.waitForText('Findings about this node');
    for (const row of rowsOf(frame)) expect(Array.from(row).length).toBeLessThanOrEqual(80);
    const head = rowsOf(frame).findIndex((r) => r.startsWith('  ✗ CRIT '));
    const parts = [rowsOf(frame)[head]!.slice(9).trimEnd()];
    for (let k = head + 1; rowsOf(frame)[k]?.startsWith(' '.repeat(9)); k++) parts.push(rowsOf(frame)[k]!.slice(9).trimEnd());
    expect(parts.join(' ')).toBe(f.message);
  });
});
