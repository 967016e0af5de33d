// Small in-test ports for engine unit tests: a discrete-event clock, an
// in-memory lock, and a tiny Cassandra ring whose `nodetool repair -pr` takes
// fleet minutes. These are test doubles, not the simulated fleet (which lives
// in src/backends/sim and is exercised by the command tests).

import { clusterKey, type ScopedName } from '../../src/domain/scope.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  Backends,
  Clock,
  Discovery,
  ExecOptions,
  ExecResult,
  Inventory,
  Lock,
  LockOwner,
  LockResult,
  Shell,
} from '../../src/backends/ports.js';
import type { Instance } from '../../src/domain/types.js';
import type { EngineDeps } from '../../src/actions/engine/runner.js';
import type { Gate } from '../../src/actions/engine/gate.js';
import type { RunRecord } from '../../src/actions/engine/records.js';
import { configSchema } from '../../src/config/schema.js';
import { MemoryJobs } from '../helpers/jobs.js';

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'nightshift-test-'));
}

interface Sleeper {
  deadline: number;
  resolve: () => void;
}

/** Virtual time that moves only when told (advance) or when driven (drive). */
export class TestClock implements Clock {
  readonly speed: number;
  private t: number;
  private readonly sleepers = new Set<Sleeper>();

  constructor(start = Date.parse('2026-11-21T01:00:00Z'), speed = 1) {
    this.t = start;
    this.speed = speed;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        deadline: this.t + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers.delete(sleeper);
        reject(signal!.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.add(sleeper);
    });
  }

  get pending(): number {
    return this.sleepers.size;
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const s of this.sleepers) if (min === undefined || s.deadline < min) min = s.deadline;
    return min;
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
    for (const s of [...this.sleepers]) {
      if (s.deadline <= this.t) {
        this.sleepers.delete(s);
        s.resolve();
      }
    }
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Runs `promise` to the end on virtual time: whenever everything is parked on
 * the clock, time jumps to the next deadline. No real time passes.
 */
export async function drive<T>(clock: TestClock, promise: Promise<T>, maxJumps = 100_000): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  // The caller handles the outcome; this only keeps a rejection during the loop from counting as unhandled.
  watched.catch(() => {});
  for (let i = 0; i < maxJumps && !settled; i++) {
    await tick();
    await tick();
    if (settled) break;
    const next = clock.nextDeadline();
    if (next !== undefined) clock.advanceTo(next);
  }
  return watched;
}

export class MemoryLock implements Lock {
  readonly held = new Map<string, LockOwner>();
  readonly log: string[] = [];

  async acquire(scoped: ScopedName, owner: LockOwner): Promise<LockResult> {
    const cluster = clusterKey(scoped);
    const h = this.held.get(cluster);
    if (h) return { acquired: false, heldBy: h };
    this.held.set(cluster, owner);
    this.log.push(`acquire ${cluster} ${owner.runId}`);
    return { acquired: true };
  }

  async release(scoped: ScopedName, runId: string): Promise<void> {
    const cluster = clusterKey(scoped);
    if (this.held.get(cluster)?.runId === runId) this.held.delete(cluster);
    this.log.push(`release ${cluster} ${runId}`);
  }

  async holder(scoped: ScopedName): Promise<LockOwner | undefined> {
    const cluster = clusterKey(scoped);
    return this.held.get(cluster);
  }

  async breakLock(scoped: ScopedName, runId: string): Promise<void> {
    const cluster = clusterKey(scoped);
    if (this.held.get(cluster)?.runId === runId) this.held.delete(cluster);
    this.log.push(`break ${cluster} ${runId}`);
  }
}

export interface RingOptions {
  cluster?: string;
  /** The region the ring is in: on its ClusterRef and its instances, and in its instance ids (so two regions' rings never share one). */
  region?: string;
  /** last-repaired tag per node (index), undefined = no tag. */
  tags?: Array<string | undefined>;
  /** Node indexes that nodetool status reports DN. */
  down?: number[];
  /** Sessions the repair runs through; each takes `sessionMs` of fleet time. */
  sessions?: number;
  sessionMs?: number;
}

/** A three-node Cassandra ring behind Inventory and Shell. */
export class TestRing {
  readonly cluster: string;
  readonly region: string | undefined;
  readonly instances: Instance[];
  readonly tagWrites: Array<{ id: string; tags: Record<string, string> }> = [];
  readonly commands: Array<{ node: string; command: string }> = [];
  /** The next repairs fail with this exit code and stderr. */
  failRepair: { code: number; stderr: string } | undefined;
  /** The repair waits on this promise before finishing (to interrupt it). */
  holdRepair: Promise<void> | undefined;
  down: Set<number>;
  private readonly sessions: number;
  private readonly sessionMs: number;
  private repairCount = 0;

  constructor(
    readonly clock: TestClock,
    opts: RingOptions = {},
  ) {
    this.cluster = opts.cluster ?? 'ring-a';
    this.region = opts.region;
    this.down = new Set(opts.down ?? []);
    this.sessions = opts.sessions ?? 4;
    this.sessionMs = opts.sessionMs ?? 60_000;
    this.instances = [0, 1, 2].map((i) => ({
      id: opts.region ? `i-${opts.region}-00${i + 1}` : `i-00${i + 1}`,
      name: `cass-${i + 1}`,
      privateIp: `10.0.0.${i + 1}`,
      az: `${opts.region ?? 'eu-west-1'}a`,
      ...(opts.region ? { region: opts.region } : {}),
      type: 'm5.large',
      state: 'running',
      launchTime: '2026-10-01T00:00:00Z',
      statusChecks: 'ok',
      tags: {
        'nightshift:cluster': this.cluster,
        'nightshift:engine': 'cassandra',
        ...(opts.tags?.[i] !== undefined ? { 'last-repaired': opts.tags[i]! } : {}),
      },
    }));
  }

  inventory(): Inventory {
    return {
      discover: async (): Promise<Discovery> => ({
        clusters: [{ name: this.cluster, ...(this.region ? { region: this.region } : {}), engine: 'cassandra', instanceIds: this.instances.map((i) => i.id), source: 'tag' }],
        instances: structuredClone(this.instances),
      }),
      setTags: async (id, tags) => {
        const inst = this.instances.find((i) => i.id === id);
        if (!inst) throw new Error(`no instance ${id}`);
        Object.assign(inst.tags, tags);
        this.tagWrites.push({ id, tags });
      },
      deleteTags: async (id, keys) => {
        const inst = this.instances.find((i) => i.id === id)!;
        for (const k of keys) delete inst.tags[k];
      },
    };
  }

  shell(): Shell {
    return {
      exec: (node, command, opts) => this.exec(node, command, opts),
      loginCommand: (node) => `ssh -J bastion ec2-user@${node.privateIp}`,
      close: async () => {},
    };
  }

  private statusText(): string {
    const lines = ['Datacenter: dc1', '===============', 'Status=Up/Down', '|/ State=Normal/Leaving/Joining/Moving', '--  Address    Load       Tokens  Owns    Host ID                               Rack'];
    this.instances.forEach((inst, i) => {
      const st = this.down.has(i) ? 'DN' : 'UN';
      lines.push(`${st}  ${inst.privateIp}  1.2 GiB  16  33.3%  0000000${i}-7764-4dbd-bad8-43fddce94b7c  rack1`);
    });
    return lines.join('\n') + '\n';
  }

  private async exec(node: Instance, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push({ node: node.name, command });
    if (command.endsWith('status')) return { code: 0, signal: null, stdout: this.statusText(), stderr: '' };
    if (command.endsWith('repair -pr')) {
      const n = ++this.repairCount;
      let stdout = '';
      const out = (line: string) => {
        stdout += line + '\n';
        opts.onStdout?.(line + '\n');
      };
      out(`[2026-11-21 01:00:00,000] Starting repair command #${n}, repairing keyspace ks with repair options (primary range: true)`);
      for (let s = 1; s <= this.sessions; s++) {
        await this.clock.sleep(this.sessionMs, opts.signal);
        out(`[2026-11-21 01:0${s}:00,000] Repair session ${s} for range (${s}) finished (progress: ${Math.round((100 * s) / this.sessions)}%)`);
      }
      if (this.holdRepair) await this.holdRepair;
      if (this.failRepair) {
        opts.onStderr?.(this.failRepair.stderr + '\n');
        return { code: this.failRepair.code, signal: null, stdout, stderr: this.failRepair.stderr };
      }
      out('[2026-11-21 01:05:00,000] Repair completed successfully');
      out(`[2026-11-21 01:05:00,000] Repair command #${n} finished in 4 minutes 0 seconds`);
      return { code: 0, signal: null, stdout, stderr: '' };
    }
    return { code: 127, signal: null, stdout: '', stderr: `${command}: command not found` };
  }

  tagOf(i: number): string | undefined {
    return this.instances[i]!.tags['last-repaired'];
  }
}

/** Several rings (each in its region) as one target: one discovery of them all, tags and commands sent to the ring that owns the instance. */
export function ringsInView(rings: TestRing[]): { inventory: Inventory; shell: Shell } {
  const owner = (id: string): TestRing => {
    const r = rings.find((x) => x.instances.some((i) => i.id === id));
    if (!r) throw new Error(`no instance ${id}`);
    return r;
  };
  return {
    inventory: {
      discover: async () => {
        const all = await Promise.all(rings.map((r) => r.inventory().discover()));
        return { clusters: all.flatMap((d) => d.clusters), instances: all.flatMap((d) => d.instances) };
      },
      setTags: (id, tags, opts) => owner(id).inventory().setTags(id, tags, opts),
      deleteTags: (id, keys, opts) => owner(id).inventory().deleteTags(id, keys, opts),
    },
    shell: {
      exec: (node, command, opts) => owner(node.id).shell().exec(node, command, opts),
      loginCommand: (node) => `ssh -J bastion ec2-user@${node.privateIp}`,
      close: async () => {},
    },
  };
}

export function makeBackends(clock: TestClock, parts: Partial<Backends> = {}): Backends {
  const ring = new TestRing(clock);
  const shell = parts.shell ?? ring.shell();
  return {
    target: { kind: 'sim', scenario: 'test', seed: 1, speed: clock.speed },
    clock,
    inventory: ring.inventory(),
    metrics: { fetch: async () => ({}) },
    shell,
    jobs: new MemoryJobs(shell),
    lock: new MemoryLock(),
    close: async () => {},
    ...parts,
  };
}

export function makeDeps(
  backends: Backends,
  gate: Gate,
  stateDir: string,
  extra: Partial<EngineDeps> = {},
): EngineDeps & { events: RunRecord[] } {
  const config = configSchema.parse({});
  const events: RunRecord[] = [];
  return {
    backends,
    gate,
    config: { ...config, stateDir },
    who: 'alice@bastion',
    host: 'bastion',
    pid: 4242,
    onEvent: (r) => events.push(r),
    events,
    ...extra,
  };
}

export function eventsOf<T extends RunRecord['type']>(events: RunRecord[], type: T): Array<Extract<RunRecord, { type: T }>> {
  return events.filter((e): e is Extract<RunRecord, { type: T }> => e.type === type);
}
