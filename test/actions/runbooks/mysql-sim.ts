// The MySQL clusters of the simulated fleet as the switchover and failover
// tests read them: straight from the world, never through nightshift, so a
// runbook cannot vouch for itself.

import { afterEach } from 'vitest';
import type { Shell } from '../../../src/backends/ports.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { tempStateDir } from '../helpers.js';

export const opened: SimBackends[] = [];

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

export async function world(scenario = 'healthy') {
  const stateDir = tempStateDir();
  const frozen = Date.parse('2026-11-21T01:00:00Z');
  const backends = await createSimBackends({ scenario, seed: 7, speed: 1, stateDir, realNow: () => frozen });
  opened.push(backends);
  return { backends, stateDir };
}

/** Runs the promise to its end, moving virtual time 100 ms at a time whenever nothing else can happen. */
export async function onVirtualTime<T>(backends: SimBackends, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  for (let i = 0; i < 20_000 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    if (!done) (backends.clock as unknown as { advance(ms: number): void }).advance(100);
  }
  return watched;
}

export function members(b: SimBackends, cluster: string) {
  const w = b.world.view();
  return Object.values(w.instances)
    .filter((i) => i.cluster === cluster)
    .sort((a, c) => a.name.localeCompare(c.name))
    .map((i) => ({ id: i.id, name: i.name, ip: i.privateIp, mysql: w.mysql[i.id]! }));
}

/** Nodes that accept writes now: mysqld up, read_only off (and super_read_only off), not a replica. */
export function writable(b: SimBackends, cluster: string): string[] {
  return members(b, cluster)
    .filter((m) => b.world.mysqlUp(m.id) && !m.mysql.readOnly && !m.mysql.superReadOnly && !m.mysql.replica)
    .map((m) => m.name);
}

export function sourceOf(b: SimBackends, cluster: string, name: string): string | undefined {
  const all = members(b, cluster);
  const host = all.find((m) => m.name === name)!.mysql.replica?.sourceHost;
  return host === undefined ? undefined : (all.find((m) => m.ip === host)?.name ?? host);
}

export async function writerValues(b: SimBackends, cluster: string): Promise<string[]> {
  const ref = b.writerDns({ name: cluster })!;
  return (await b.dns!.getRecord(ref.zoneId, ref.name, ref.type))!.values;
}

/**
 * A Shell whose exec fails on `node` for any command matching `pattern`: as a
 * server refusing the statement would (`refused`), or after the statement ran,
 * its answer lost with the channel (`lost`).
 */
export function failingShell(shell: Shell, nodeName: string, pattern: RegExp, how: 'refused' | 'lost' = 'refused'): Shell {
  return new Proxy(shell, {
    get(target, prop) {
      if (prop === 'exec') {
        return (async (node, command, opts) => {
          if (node.name === nodeName && pattern.test(command + (opts?.stdin ?? ''))) {
            if (how === 'lost') {
              await target.exec(node, command, opts);
              throw Object.assign(new Error(`${nodeName}: channel closed before the command's exit status arrived`), { code: 'ECONNRESET' });
            }
            return { code: 1, signal: null, stdout: '', stderr: 'ERROR 1227 (42000): Access denied; you need (at least one of) the SUPER privilege(s) for this operation\n' };
          }
          return target.exec(node, command, opts);
        }) as Shell['exec'];
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

