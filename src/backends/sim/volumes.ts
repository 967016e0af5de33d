// EBS on the simulated fleet: volumes are created, attached and detached in
// a few virtual seconds, snapshots take time in proportion to size, and the
// AWS rules that bite runbooks hold (same AZ to attach, detach before delete).

import type { VolumeHealth } from '../../domain/types.js';
import type { CallOptions, Snapshot, TagFilter, Volume, Volumes } from '../ports.js';
import { cloneFs, freeBytes, hostOf, locate, rootVolumeId, usedBytes } from './host-files.js';
import { Prng, hash32 } from './prng.js';
import type { WorldState } from './state.js';
import type { SimWorld } from './world.js';

type SnapshotRecord = WorldState['snapshots'][string];

/** EBS snapshots copy the blocks written on the volume: their time follows the bytes on it, not its size. */
const SNAPSHOT_BYTES_PER_S = 90 * 1_048_576;
const STUCK_PERCENT = 37;

function matches(tags: Record<string, string>, filter: TagFilter): boolean {
  return Object.entries(filter).every(([k, v]) => tags[k] === v);
}

/** Is a snapshot-stuck fault holding the volume's snapshots? */
export function snapshotHeld(w: WorldState, volumeId: string): number | undefined {
  const f = w.faults.find((x) => x.kind === 'snapshot-stuck' && x.volume === volumeId);
  return f && f.kind === 'snapshot-stuck' ? (f.percent ?? STUCK_PERCENT) : undefined;
}

/** Percent done at `t`, as EC2 reports it (whole numbers; 100 only once completed). */
export function snapshotPercent(w: WorldState, s: SnapshotRecord, t: number): number {
  if (s.state !== 'pending') return s.state === 'completed' ? 100 : s.progressPercent;
  const p = Math.min(99, Math.floor(((t - s.startedAt) / Math.max(1, s.doneAt - s.startedAt)) * 100));
  const held = snapshotHeld(w, s.volumeId);
  return held === undefined ? p : Math.min(p, held);
}

function copySnapshot(w: WorldState, s: SnapshotRecord, t: number): Snapshot {
  return { id: s.id, volumeId: s.volumeId, state: s.state, progressPercent: snapshotPercent(w, s, t), tags: { ...s.tags }, startTime: new Date(s.startedAt).toISOString() };
}

/** A healed snapshot-stuck fault: the held snapshots go on from where they stood. */
export function releaseSnapshots(world: SimWorld, w: WorldState, volumeId: string, t: number): void {
  for (const s of Object.values(w.snapshots)) {
    if (s.volumeId !== volumeId || s.state !== 'pending') continue;
    const stood = Math.min(99, Math.floor(((t - s.startedAt) / Math.max(1, s.doneAt - s.startedAt)) * 100), snapshotHeld(w, volumeId) ?? STUCK_PERCENT);
    const whole = s.doneAt - s.startedAt;
    // Rebased so the progress goes on from where it stood.
    s.startedAt = t - Math.round((whole * stood) / 100);
    s.doneAt = s.startedAt + whole;
    world.schedule({ at: s.doneAt, kind: 'snapshot-done', id: s.id });
  }
}

/** A disk-full fault: the file system holding `path` (the datadir by default) keeps a few MB free. */
export function fillDisk(w: WorldState, id: string, path?: string): void {
  const at = locate(w, id, path ?? hostOf(w, id).datadir);
  at.fs.reserved = (at.fs.reserved ?? 0) + Math.max(0, freeBytes(at.fs) - 16 * 1_048_576);
}

export function unfillDisk(w: WorldState, id: string): void {
  for (const m of hostOf(w, id).mounts) {
    const fs = w.filesystems?.[m.fs];
    if (fs) delete fs.reserved;
  }
}

/**
 * The volume a node's data is on: the EBS volume mounted at its datadir (a
 * rebuilt node's), else its root volume, where a generated host keeps it.
 * Read without making a host's layout: 5,000 nodes are not laid out for it.
 */
export function dataVolumeOf(w: WorldState, id: string): { volumeId: string; device: string } {
  const h = w.hosts?.[id];
  if (h) {
    const v = w.volumes[locate(w, id, h.datadir).mount.fs];
    if (v) return { volumeId: v.id, device: v.attachedTo?.device ?? '/dev/sdf' };
  }
  return { volumeId: rootVolumeId(w, id), device: '/dev/xvda' };
}

/**
 * A node's volumes whose status check is not ok, as DescribeVolumeStatus
 * would say: an io-stuck node's data volume is impaired, its I/O performance
 * stalled, since the fault began; nothing once it is healed.
 */
export function volumeHealthOf(w: WorldState, id: string): VolumeHealth[] | undefined {
  const stuck = w.faults.find((f) => f.kind === 'io-stuck' && f.node === id);
  if (!stuck) return undefined;
  const { volumeId, device } = dataVolumeOf(w, id);
  return [{ volumeId, device, status: 'impaired', detail: 'I/O performance stalled, io-performance: severely-degraded', since: new Date(stuck.since).toISOString() }];
}

export class SimEc2Error extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

function copyVolume(v: Volume): Volume {
  const out: Volume = { id: v.id, az: v.az, sizeGiB: v.sizeGiB, state: v.state, tags: { ...v.tags } };
  if (v.attachedTo) out.attachedTo = { ...v.attachedTo };
  if (v.snapshotId) out.snapshotId = v.snapshotId;
  return out;
}

export class SimVolumes implements Volumes {
  constructor(private readonly world: SimWorld) {}

  async create(spec: { az: string; sizeGiB: number; snapshotId?: string; tags?: Record<string, string>; clientToken?: string }, opts?: CallOptions): Promise<Volume> {
    opts?.signal?.throwIfAborted();
    const { id, readyAt } = this.world.mutate((w, t) => {
      const tokenKey = spec.clientToken ? `volume:${spec.clientToken}` : undefined;
      const known = tokenKey ? w.tokens?.[tokenKey] : undefined;
      if (known && w.volumes[known]) {
        const v = w.volumes[known]!;
        if (v.az !== spec.az || v.sizeGiB !== spec.sizeGiB || (v.snapshotId ?? undefined) !== spec.snapshotId) {
          throw new SimEc2Error('IdempotentParameterMismatch', `The client token '${spec.clientToken}' was used before with different parameters (${v.id}: ${v.sizeGiB} GiB in ${v.az}).`);
        }
        const pending = w.transitions.find((tr) => tr.kind === 'volume-available' && tr.id === known);
        return { id: known, readyAt: pending?.at ?? t };
      }
      if (spec.snapshotId) {
        const snap = w.snapshots[spec.snapshotId];
        if (!snap) throw new SimEc2Error('InvalidSnapshot.NotFound', `The snapshot '${spec.snapshotId}' does not exist.`);
        if (snap.state !== 'completed') throw new SimEc2Error('IncorrectState', `Snapshot '${spec.snapshotId}' is not 'completed'.`);
        if (spec.sizeGiB < snap.sizeGiB) throw new SimEc2Error('InvalidParameterValue', `Volume of ${spec.sizeGiB}GiB is smaller than snapshot '${spec.snapshotId}', expect size >= ${snap.sizeGiB}GiB`);
      }
      const prng = new Prng(hash32(w.seed, 3, ++w.counters.volume));
      const vol: Volume = { id: `vol-${prng.hex(17)}`, az: spec.az, sizeGiB: spec.sizeGiB, state: 'creating', tags: { ...(spec.tags ?? {}) } };
      if (spec.snapshotId) {
        vol.snapshotId = spec.snapshotId;
        // The snapshot's blocks: the file system it held, files and all.
        const files = w.snapshotFiles?.[spec.snapshotId];
        if (files) (w.filesystems ??= {})[vol.id] = cloneFs(files);
      }
      w.volumes[vol.id] = vol;
      if (tokenKey) (w.tokens ??= {})[tokenKey] = vol.id;
      const at = t + prng.int(4, 15) * 1000;
      this.world.schedule({ at, kind: 'volume-available', id: vol.id });
      return { id: vol.id, readyAt: at };
    });
    await this.world.clock.sleepUntil(readyAt, opts?.signal);
    return copyVolume(this.world.view().volumes[id]!);
  }

  async get(volumeId: string, opts?: CallOptions): Promise<Volume | undefined> {
    opts?.signal?.throwIfAborted();
    const v = this.world.view().volumes[volumeId];
    return v ? copyVolume(v) : undefined;
  }

  async attach(volumeId: string, instanceId: string, device: string, opts?: CallOptions): Promise<void> {
    const at = this.world.mutate((w, t) => {
      const v = need(w, volumeId);
      const inst = w.instances[instanceId];
      if (!inst || inst.state === 'terminated') throw new SimEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      if (v.state !== 'available') throw new SimEc2Error(v.state === 'in-use' ? 'VolumeInUse' : 'IncorrectState', `${volumeId} is ${v.state === 'in-use' ? `already attached to an instance` : `in state ${v.state}`}`);
      if (v.az !== inst.az) throw new SimEc2Error('InvalidVolume.ZoneMismatch', `The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`);
      for (const other of Object.values(w.volumes)) {
        if (other.attachedTo?.instanceId === instanceId && other.attachedTo.device === device) {
          throw new SimEc2Error('InvalidParameterValue', `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`);
        }
      }
      v.attachedTo = { instanceId, device };
      w.volumes[volumeId]!.attachedAt = t;
      const when = t + 3_000 + (hash32(w.seed, w.counters.volume, t) % 5_000);
      this.world.schedule({ at: when, kind: 'volume-in-use', id: volumeId });
      return when;
    });
    await this.world.clock.sleepUntil(at, opts?.signal);
  }

  async detach(volumeId: string, opts?: CallOptions): Promise<void> {
    const at = this.world.mutate((w, t) => {
      const v = need(w, volumeId);
      if (!v.attachedTo) throw new SimEc2Error('IncorrectState', `Volume '${volumeId}' is in the '${v.state}' state.`);
      // A forced-off disk: its mount on the host goes (the sim does not model a stale one).
      const h = w.hosts?.[v.attachedTo.instanceId];
      if (h) h.mounts = h.mounts.filter((m) => m.fs !== volumeId);
      const when = t + 5_000 + (hash32(w.seed, 9, t) % 5_000);
      this.world.schedule({ at: when, kind: 'volume-available', id: volumeId });
      return when;
    });
    await this.world.clock.sleepUntil(at, opts?.signal);
  }

  async find(tags: TagFilter, opts?: CallOptions): Promise<Volume[]> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    return Object.values(w.volumes)
      .filter((v) => v.state !== 'deleted' && v.state !== 'deleting' && matches(v.tags, tags))
      .map(copyVolume);
  }

  async snapshot(volumeId: string, opts?: CallOptions & { description?: string; tags?: Record<string, string> }): Promise<Snapshot> {
    opts?.signal?.throwIfAborted();
    return this.world.mutate((w, t) => {
      const v = need(w, volumeId);
      const prng = new Prng(hash32(w.seed, 5, ++w.counters.snapshot));
      const fs = w.filesystems?.[volumeId];
      const written = fs ? usedBytes(fs) : 0;
      const ms = Math.round((20_000 + (written / SNAPSHOT_BYTES_PER_S) * 1000) * (0.85 + 0.3 * prng.next()));
      const s: SnapshotRecord = { id: `snap-${prng.hex(17)}`, volumeId, state: 'pending', progressPercent: 0, tags: { ...(opts?.tags ?? {}) }, sizeGiB: v.sizeGiB, startedAt: t, doneAt: t + ms };
      s.startTime = new Date(t).toISOString();
      w.snapshots[s.id] = s;
      // Point in time: the blocks as they are now.
      if (fs) (w.snapshotFiles ??= {})[s.id] = cloneFs(fs);
      this.world.schedule({ at: s.doneAt, kind: 'snapshot-done', id: s.id });
      return copySnapshot(w, s, t);
    });
  }

  async waitSnapshot(snapshotId: string, opts?: CallOptions & { onProgress?: (percent: number) => void }): Promise<Snapshot> {
    let last = -1;
    for (;;) {
      opts?.signal?.throwIfAborted();
      const w = this.world.view();
      const s = w.snapshots[snapshotId];
      if (!s) throw new SimEc2Error('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
      const t = this.world.now();
      const out = copySnapshot(w, s, t);
      if (out.progressPercent !== last) {
        last = out.progressPercent;
        opts?.onProgress?.(last);
      }
      if (s.state === 'completed') return out;
      if (s.state === 'error') throw new SimEc2Error('SnapshotCreationPerVolumeRateExceeded', `snapshot ${snapshotId} of ${s.volumeId} failed`);
      // EC2's waiter asks every 15 s.
      const until = t + 15_000;
      await this.world.clock.sleepUntil(s.doneAt > t ? Math.min(until, s.doneAt) : until, opts?.signal);
      if (this.world.now() < until && this.world.now() <= t) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async getSnapshot(snapshotId: string, opts?: CallOptions): Promise<Snapshot | undefined> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    const s = w.snapshots[snapshotId];
    return s ? copySnapshot(w, s, this.world.now()) : undefined;
  }

  async findSnapshots(tags: TagFilter, opts?: CallOptions): Promise<Snapshot[]> {
    opts?.signal?.throwIfAborted();
    const w = this.world.view();
    const t = this.world.now();
    return Object.values(w.snapshots)
      .filter((s) => matches(s.tags, tags))
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((s) => copySnapshot(w, s, t));
  }

  async removeSnapshot(snapshotId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.world.mutate((w) => {
      if (!w.snapshots[snapshotId]) return;
      const inUse = Object.values(w.volumes).find((v) => v.snapshotId === snapshotId && v.state === 'creating');
      if (inUse) throw new SimEc2Error('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${inUse.id}`);
      delete w.snapshots[snapshotId];
      delete w.snapshotFiles?.[snapshotId];
      w.transitions = w.transitions.filter((tr) => !(tr.kind === 'snapshot-done' && tr.id === snapshotId));
    });
  }

  async remove(volumeId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.world.mutate((w) => {
      const v = w.volumes[volumeId];
      if (!v) return;
      if (v.attachedTo || v.state === 'in-use') {
        throw new SimEc2Error('VolumeInUse', `Volume ${volumeId} is currently attached to ${v.attachedTo?.instanceId ?? 'an instance'}`);
      }
      delete w.volumes[volumeId];
      delete w.filesystems?.[volumeId];
    });
  }
}

function need(w: WorldState, volumeId: string): Volume {
  const v = w.volumes[volumeId];
  if (!v) throw new SimEc2Error('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
  return v;
}
