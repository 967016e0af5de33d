// EBS on the simulated fleet: volumes are created, attached and detached in
// a few virtual seconds, snapshots take time in proportion to size, and the
// AWS rules that bite runbooks hold (same AZ to attach, detach before delete).

import type { CallOptions, Snapshot, Volume, Volumes } from '../ports.js';
import { Prng, hash32 } from './prng.js';
import type { WorldState } from './state.js';
import type { SimWorld } from './world.js';

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

  async create(spec: { az: string; sizeGiB: number; snapshotId?: string; tags?: Record<string, string> }, opts?: CallOptions): Promise<Volume> {
    opts?.signal?.throwIfAborted();
    const { id, readyAt } = this.world.mutate((w, t) => {
      if (spec.snapshotId) {
        const snap = w.snapshots[spec.snapshotId];
        if (!snap) throw new SimEc2Error('InvalidSnapshot.NotFound', `The snapshot '${spec.snapshotId}' does not exist.`);
        if (snap.state !== 'completed') throw new SimEc2Error('IncorrectState', `Snapshot '${spec.snapshotId}' is not 'completed'.`);
        if (spec.sizeGiB < snap.sizeGiB) throw new SimEc2Error('InvalidParameterValue', `Volume of ${spec.sizeGiB}GiB is smaller than snapshot '${spec.snapshotId}', expect size >= ${snap.sizeGiB}GiB`);
      }
      const prng = new Prng(hash32(w.seed, 3, ++w.counters.volume));
      const vol: Volume = { id: `vol-${prng.hex(17)}`, az: spec.az, sizeGiB: spec.sizeGiB, state: 'creating', tags: { ...(spec.tags ?? {}) } };
      if (spec.snapshotId) vol.snapshotId = spec.snapshotId;
      w.volumes[vol.id] = vol;
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
      const when = t + 5_000 + (hash32(w.seed, 9, t) % 5_000);
      this.world.schedule({ at: when, kind: 'volume-available', id: volumeId });
      return when;
    });
    await this.world.clock.sleepUntil(at, opts?.signal);
  }

  async snapshot(volumeId: string, opts?: CallOptions & { description?: string; onProgress?: (percent: number) => void }): Promise<Snapshot> {
    const snap = this.world.mutate((w, t) => {
      const v = need(w, volumeId);
      const prng = new Prng(hash32(w.seed, 5, ++w.counters.snapshot));
      const ms = Math.min(2 * 3_600_000, Math.max(30_000, v.sizeGiB * 2_000)) * (0.8 + 0.4 * prng.next());
      const s = { id: `snap-${prng.hex(17)}`, volumeId, state: 'pending' as const, progressPercent: 0, tags: {}, sizeGiB: v.sizeGiB, startedAt: t, doneAt: Math.round(t + ms) };
      w.snapshots[s.id] = s;
      this.world.schedule({ at: s.doneAt, kind: 'snapshot-done', id: s.id });
      return s;
    });
    opts?.onProgress?.(0);
    for (let p = 10; p <= 100; p += 10) {
      await this.world.clock.sleepUntil(snap.startedAt + ((snap.doneAt - snap.startedAt) * p) / 100, opts?.signal);
      opts?.onProgress?.(p);
    }
    const s = this.world.view().snapshots[snap.id]!;
    return { id: s.id, volumeId: s.volumeId, state: s.state, progressPercent: s.progressPercent, tags: { ...s.tags } };
  }


  // Issue 13 fills these in.
  async find(): Promise<Volume[]> { throw new Error('not built yet (issue 13)'); }
  async waitSnapshot(): Promise<Snapshot> { throw new Error('not built yet (issue 13)'); }
  async getSnapshot(): Promise<Snapshot | undefined> { throw new Error('not built yet (issue 13)'); }
  async findSnapshots(): Promise<Snapshot[]> { throw new Error('not built yet (issue 13)'); }
  async removeSnapshot(): Promise<void> { throw new Error('not built yet (issue 13)'); }

  async remove(volumeId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.world.mutate((w) => {
      const v = need(w, volumeId);
      if (v.attachedTo || v.state === 'in-use') {
        throw new SimEc2Error('VolumeInUse', `Volume ${volumeId} is currently attached to ${v.attachedTo?.instanceId ?? 'an instance'}`);
      }
      delete w.volumes[volumeId];
    });
  }

}

function need(w: WorldState, volumeId: string): Volume {
  const v = w.volumes[volumeId];
  if (!v) throw new SimEc2Error('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
  return v;
}
