// Shared by the rebuild tests of the simulated fleet: clusters by flavour,
// time driven by hand while something waits on it, jobs followed to the end.

import type { JobOffsets, JobPoll } from '../../../src/backends/ports.js';
import { SIM_TAGS, type SimBackends } from '../../../src/backends/sim/index.js';
import { SPARE_TAG, type Instance } from '../../../src/domain/types.js';
import { fleet } from './sim-helpers.js';

export const ZERO: JobOffsets = { stdout: 0, stderr: 0 };

/** A MySQL cluster of the generated fleet by flavour (and major version), with its members: master first. */
export async function mysqlCluster(b: SimBackends, flavour: 'mariadb' | 'mysql', version?: string) {
  const f = await fleet(b);
  const w = b.world.view();
  const c = Object.values(w.clusters).find((x) => x.engine === 'mysql' && x.flavour === flavour && (version === undefined || x.version!.startsWith(version)))!;
  return { name: c.name, members: f.members(c.name), f };
}

/** Moves the fleet's clock in steps until `p` settles (each step gives the waiting code its turns first). */
export async function drive<T>(b: SimBackends, p: Promise<T>, stepMs = 5_000, maxSteps = 20_000): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < maxSteps && !settled; i++) {
    for (let k = 0; k < 3 && !settled; k++) await new Promise<void>((r) => setImmediate(r));
    if (!settled) b.world.advance(stepMs);
  }
  return p;
}

export async function run(b: SimBackends, node: Instance, command: string) {
  return drive(b, b.shell.exec(node, command, { timeoutMs: 0 }));
}

/** Polls a job until it ends, moving the clock `stepMs` between polls; all it wrote. */
export async function followJob(b: SimBackends, node: Instance, id: string, stepMs = 10_000, onPoll?: (p: JobPoll) => void) {
  let offsets = ZERO;
  let stdout = '';
  let stderr = '';
  for (let i = 0; i < 100_000; i++) {
    const p = await b.jobs.poll(node, id, offsets);
    stdout += p.stdout;
    stderr += p.stderr;
    offsets = p.offsets;
    onPoll?.(p);
    if (p.state !== 'running') return { last: p, stdout, stderr };
    b.world.advance(stepMs);
  }
  throw new Error(`job ${id} never ended`);
}

/** Launches a spare into the cluster, as the rebuild does, and waits until it is ready. */
export async function launchSpare(b: SimBackends, cluster: string, az: string, token = 'tok-1'): Promise<Instance> {
  const inst = await b.compute!.launch({
    launchTemplate: `${cluster}-lt`,
    az,
    tags: { [SIM_TAGS.cluster]: cluster, [SIM_TAGS.engine]: 'mysql', [SPARE_TAG]: 'true', 'nightshift:rebuild': 'run-1', Name: `${cluster}-rebuild-1` },
    clientToken: token,
  });
  return drive(b, b.compute!.waitReady(inst.id));
}
