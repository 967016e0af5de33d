// Shared by the simulated-fleet tests (the simulated fleet is a product
// feature; these tests drive it through the real probes and parsers).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { EngineProbes } from '../../../src/backends/engines/index.js';
import { mysqlCommand } from '../../../src/backends/engines/mysql.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import type { Instance, MysqlFacts } from '../../../src/domain/types.js';

const dirs: string[] = [];
const opened: SimBackends[] = [];

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempStateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nightshift-sim-'));
  dirs.push(d);
  return d;
}

/** A simulated fleet whose real clock stands still: only world.advance() moves time. */
export async function openSim(
  opts: { scenario?: string; seed?: number; nodes?: number; stateDir?: string; speed?: number; regions?: number; view?: string[] } = {},
): Promise<SimBackends> {
  const b = await createSimBackends({
    scenario: opts.scenario ?? 'healthy',
    seed: opts.seed ?? 1,
    speed: opts.speed ?? 1,
    stateDir: opts.stateDir ?? tempStateDir(),
    realNow: () => 0,
    ...(opts.nodes !== undefined ? { nodes: opts.nodes } : {}),
    ...(opts.regions !== undefined ? { regions: opts.regions } : {}),
    ...(opts.view !== undefined ? { view: opts.view } : {}),
  });
  opened.push(b);
  return b;
}

export async function fleet(b: SimBackends) {
  const d = await b.inventory.discover();
  const byName = (name: string): Instance => {
    const i = d.instances.find((x) => x.name === name);
    if (!i) throw new Error(`no instance ${name}`);
    return i;
  };
  const members = (cluster: string): Instance[] =>
    d.clusters.find((c) => c.name === cluster)!.instanceIds.map((id) => d.instances.find((i) => i.id === id)!);
  return { ...d, byName, members };
}

export async function probeMysql(b: SimBackends, node: Instance): Promise<MysqlFacts> {
  const facts = await new EngineProbes(b.shell).probe(node, 'mysql');
  if (facts.kind !== 'mysql') throw new Error('not mysql');
  return facts.mysql;
}

export async function sql(b: SimBackends, node: Instance, statement: string) {
  return b.shell.exec(node, mysqlCommand('mysql', statement));
}

/**
 * What `run` comes to, with the fleet's clock moved past ssh's connect
 * timeout (10 s) if it is waiting on it: a command for a host that is down
 * fails only then, as over real ssh, and the clock here moves only by hand.
 */
export async function pastConnectTimeout<T>(b: SimBackends, run: Promise<T>): Promise<T> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (b.world.clock.pending > 0) b.world.advance(10_000);
  return run;
}
