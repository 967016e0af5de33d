// The console's data path on the lab: the static-inventory backends opened
// on the inventory `nightshift lab up` writes, polled like the console does.

import { createElement } from 'react';
import { afterAll, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { engineOptionsFromConfig } from '../../src/backends/engines/index.js';
import { createInventoryBackends } from '../../src/backends/inventory/index.js';
import { createSshShell } from '../../src/backends/ssh/index.js';
import type { Backends } from '../../src/backends/ports.js';
import { pollerOptions } from '../../src/poller-options.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { keys } from '../helpers/keys.js';
import { describeLab, useTestLab } from '../helpers/lab.js';
import { cleanupInk, renderInk } from '../helpers/render.js';

describeLab('static inventory on the lab', () => {
  const fx = useTestLab();
  let opened: Backends | undefined;
  const open = async () => (opened ??= await createInventoryBackends(fx.config, { shell: createSshShell(fx.config) }));
  afterAll(async () => {
    cleanupInk();
    await opened?.close();
  });

  it('opens in the console as LIVE, with the three servers in the roles they report', async () => {
    const backends = await open();
    const fleet = createFleetStore({ target: backends.target, refreshSeconds: 5 });
    const poller = new Poller(backends, fleet, { ...pollerOptions(fx.config), engine: engineOptionsFromConfig(fx.config) });
    await poller.refreshNow();
    const app = await renderInk(createElement(App, { fleet, onRefresh: () => void poller.refreshNow(), onQuit: () => {} }));
    const fleetFrame = await app.waitForText('lab');
    expect(fleetFrame.split('\n')[0]).toContain(`LIVE · inventory ${fx.config.inventory}`);
    await app.press(keys.enter);
    const frame = await app.waitForText('m3');
    const row = (name: string) => frame.split('\n').find((l) => new RegExp(`\\b${name}\\b`).test(l) && /master|replica/.test(l)) ?? '';
    expect(row('m1')).toMatch(/master/);
    expect(row('m2')).toMatch(/replica/);
    expect(row('m3')).toMatch(/replica/);
    poller.stop();
  });

  it('discovers the three servers of the lab cluster from the file', async () => {
    const backends = await open();
    const d = await backends.inventory.discover();
    expect(d.clusters).toEqual([{ name: 'lab', engine: 'mysql', instanceIds: ['m1', 'm2', 'm3'], source: 'inventory' }]);
    expect(d.instances.map((i) => [i.name, i.privateIp, i.ssh?.port])).toEqual(
      fx.lab.state.nodes.map((n) => [n.name, n.ip, fx.lab.state.sshPort]),
    );
    expect(backends.target).toEqual({ kind: 'inventory', file: fx.config.inventory });
    expect(Object.keys(backends.unavailable ?? {}).sort()).toEqual(['compute', 'dns', 'scaling', 'volumes']);
  });

  it('polled as the console polls it, shows one master and two replicas, as the servers say', async () => {
    const backends = await open();
    const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
    const poller = new Poller(backends, store, { ...pollerOptions(fx.config), engine: engineOptionsFromConfig(fx.config) });
    await poller.refreshNow();
    poller.stop();
    const state = store.getState();
    expect(state.error).toBeNull();
    const cluster = state.clusters.find((c) => c.name === 'lab')!;
    const roles = Object.fromEntries(cluster.nodes.map((n) => [n.instance.name, n.role]));
    expect(roles).toEqual({ m1: 'master', m2: 'replica', m3: 'replica' });
    expect(cluster.nodes.every((n) => !n.stale)).toBe(true);
    expect(cluster.findings.filter((f) => f.kind === 'no-writable-master' || f.kind === 'two-writable-masters')).toEqual([]);
  });

  it('keeps tags set by runbooks in the sidecar state, not in the inventory file', async () => {
    const backends = await open();
    await backends.inventory.setTags('m2', { 'last-repaired': '2026-01-01T00:00:00Z' });
    let m2 = (await backends.inventory.discover()).instances.find((i) => i.id === 'm2')!;
    expect(m2.tags['last-repaired']).toBe('2026-01-01T00:00:00Z');
    await backends.inventory.deleteTags('m2', ['last-repaired', 'lab']);
    m2 = (await backends.inventory.discover()).instances.find((i) => i.id === 'm2')!;
    expect(m2.tags['last-repaired']).toBeUndefined();
    expect(m2.tags.lab).toBeUndefined();
  });

  it('takes the cluster lock as a file, once', async () => {
    const backends = await open();
    const owner = { runId: 'run-1', owner: 'test@lab', startedAt: new Date().toISOString() };
    expect(await backends.lock.acquire({ name: 'lab' }, owner)).toEqual({ acquired: true });
    expect(await backends.lock.acquire({ name: 'lab' }, { ...owner, runId: 'run-2' })).toEqual({ acquired: false, heldBy: owner });
    await backends.lock.release({ name: 'lab' }, 'run-2');
    expect(await backends.lock.holder({ name: 'lab' })).toEqual(owner);
    await backends.lock.release({ name: 'lab' }, 'run-1');
    expect(await backends.lock.holder({ name: 'lab' })).toBeUndefined();
  });
});
