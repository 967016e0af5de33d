// EBS volumes and snapshots for the rebuild runbook. Every wait is bounded
// and abortable; the long one (a snapshot) reports its percent as it goes.

import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type Volume as Ec2Volume,
} from '@aws-sdk/client-ec2';
import type { CallOptions, Snapshot, Volume, Volumes } from '../ports.js';
import { call, type AwsContext } from './context.js';
import { tagList, tagsOf } from './ec2-shapes.js';
import { AwsError } from './errors.js';
import type { RegionClients } from './clients.js';
import { pollUntil } from './wait.js';

const POLL_MS = 5_000;
const VOLUME_WAIT_MS = 10 * 60_000;
/** A snapshot of a large datadir can take hours; the operator can always abort. */
const SNAPSHOT_WAIT_MS = 12 * 60 * 60_000;
const SNAPSHOT_POLL_MS = 15_000;

const VOLUME_STATES: ReadonlySet<string> = new Set(['creating', 'available', 'in-use', 'deleting', 'deleted', 'error']);

function toVolume(v: Ec2Volume): Volume {
  // Only a finished attachment counts: attach() waits on exactly this.
  const a = v.Attachments?.find((x) => x.State === 'attached');
  return {
    id: v.VolumeId ?? '',
    az: v.AvailabilityZone ?? '',
    sizeGiB: v.Size ?? 0,
    state: v.State && VOLUME_STATES.has(v.State) ? (v.State as Volume['state']) : 'error',
    ...(a?.InstanceId ? { attachedTo: { instanceId: a.InstanceId, device: a.Device ?? '' } } : {}),
    ...(v.SnapshotId ? { snapshotId: v.SnapshotId } : {}),
    tags: tagsOf(v.Tags),
  };
}

export class AwsVolumes implements Volumes {
  constructor(private readonly ctx: AwsContext) {}

  async create(
    spec: { az: string; sizeGiB: number; snapshotId?: string; tags?: Record<string, string> },
    opts: CallOptions = {},
  ): Promise<Volume> {
    const r = this.ctx.router.forAz(spec.az);
    const created = await call(this.ctx, { action: 'ec2:CreateVolume', region: r.region, doing: `creating a ${spec.sizeGiB} GiB volume in ${spec.az}` }, () =>
      r.ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: spec.az,
          Size: spec.sizeGiB,
          VolumeType: 'gp3',
          ...(spec.snapshotId ? { SnapshotId: spec.snapshotId } : {}),
          ...(spec.tags && Object.keys(spec.tags).length > 0
            ? { TagSpecifications: [{ ResourceType: 'volume', Tags: tagList(spec.tags) }] }
            : {}),
        }),
        { abortSignal: opts.signal },
      ),
    );
    const id = created.VolumeId ?? '';
    this.ctx.router.rememberVolume(id, r.region);
    return this.waitFor(r, id, 'available', `volume ${id} to become available`, opts.signal);
  }

  async get(volumeId: string, opts: CallOptions = {}): Promise<Volume | undefined> {
    return this.describe(this.ctx.router.forVolume(volumeId), volumeId, opts.signal);
  }

  async attach(volumeId: string, instanceId: string, device: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    this.ctx.router.rememberVolume(volumeId, r.region);
    await call(this.ctx, { action: 'ec2:AttachVolume', region: r.region, doing: `attaching ${volumeId} to ${instanceId} as ${device}` }, () =>
      r.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }), { abortSignal: opts.signal }),
    );
    await this.waitFor(r, volumeId, 'in-use', `volume ${volumeId} to attach to ${instanceId}`, opts.signal, (v) => v.attachedTo?.instanceId === instanceId);
  }

  async detach(volumeId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forVolume(volumeId);
    await call(this.ctx, { action: 'ec2:DetachVolume', region: r.region, doing: `detaching ${volumeId}` }, () =>
      r.ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }), { abortSignal: opts.signal }),
    );
    await this.waitFor(r, volumeId, 'available', `volume ${volumeId} to detach`, opts.signal);
  }

  async snapshot(
    volumeId: string,
    opts: CallOptions & { description?: string; tags?: Record<string, string>; onProgress?: (percent: number) => void } = {},
  ): Promise<Snapshot> {
    const r = this.ctx.router.forVolume(volumeId);
    const created = await call(this.ctx, { action: 'ec2:CreateSnapshot', region: r.region, doing: `snapshotting ${volumeId}` }, () =>
      r.ec2.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: opts.description ?? `nightshift snapshot of ${volumeId}`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'nightshift:source-volume', Value: volumeId }] }],
        }),
        { abortSignal: opts.signal },
      ),
    );
    const snapshotId = created.SnapshotId ?? '';
    let lastPercent = -1;
    return pollUntil(
      { clock: this.ctx.clock, intervalMs: SNAPSHOT_POLL_MS, timeoutMs: SNAPSHOT_WAIT_MS, signal: opts.signal, what: `snapshot ${snapshotId} of ${volumeId}` },
      async () => {
        const res = await call(this.ctx, { action: 'ec2:DescribeSnapshots', region: r.region, doing: `checking snapshot ${snapshotId}` }, () =>
          r.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }), { abortSignal: opts.signal }),
        );
        const s = res.Snapshots?.[0];
        const state = s?.State === 'completed' ? 'completed' : s?.State === 'error' ? 'error' : 'pending';
        // "45%" while running; some answers leave it empty until the first block is copied.
        const percent = state === 'completed' ? 100 : Number.parseInt(s?.Progress ?? '0', 10) || 0;
        if (percent !== lastPercent) opts.onProgress?.((lastPercent = percent));
        if (state === 'error') {
          throw new AwsError('SnapshotFailed', 'other', `snapshot ${snapshotId} of ${volumeId} failed: ${s?.StateMessage ?? 'no reason given'}; take it again`, 'ec2:CreateSnapshot', undefined, r.region);
        }
        return state === 'completed' ? { id: snapshotId, volumeId, state, progressPercent: 100, tags: {} } : undefined;
      },
    );
  }


  // Issue 13 fills these in.
  async find(): Promise<Volume[]> { throw new Error('not built yet (issue 13)'); }
  async waitSnapshot(): Promise<Snapshot> { throw new Error('not built yet (issue 13)'); }
  async getSnapshot(): Promise<Snapshot | undefined> { throw new Error('not built yet (issue 13)'); }
  async findSnapshots(): Promise<Snapshot[]> { throw new Error('not built yet (issue 13)'); }
  async removeSnapshot(): Promise<void> { throw new Error('not built yet (issue 13)'); }

  async remove(volumeId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forVolume(volumeId);
    try {
      await call(this.ctx, { action: 'ec2:DeleteVolume', region: r.region, doing: `deleting ${volumeId}` }, () =>
        r.ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }), { abortSignal: opts.signal }),
      );
    } catch (err) {
      // Already gone is what we wanted (a resumed cleanup step).
      if (!(err instanceof AwsError && err.code === 'InvalidVolume.NotFound')) throw err;
    }
  }

  private async describe(r: RegionClients, volumeId: string, signal?: AbortSignal): Promise<Volume | undefined> {
    try {
      const res = await call(this.ctx, { action: 'ec2:DescribeVolumes', region: r.region, doing: `reading volume ${volumeId}` }, () =>
        r.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }), { abortSignal: signal }),
      );
      const v = res.Volumes?.[0];
      return v ? toVolume(v) : undefined;
    } catch (err) {
      if (err instanceof AwsError && err.code === 'InvalidVolume.NotFound') return undefined;
      throw err;
    }
  }

  private waitFor(
    r: RegionClients,
    volumeId: string,
    state: Volume['state'],
    what: string,
    signal: AbortSignal | undefined,
    also: (v: Volume) => boolean = () => true,
  ): Promise<Volume> {
    return pollUntil({ clock: this.ctx.clock, intervalMs: POLL_MS, timeoutMs: VOLUME_WAIT_MS, signal, what }, async () => {
      const v = await this.describe(r, volumeId, signal);
      if (v?.state === 'error') {
        throw new AwsError('VolumeError', 'other', `volume ${volumeId} went into the error state while waiting for ${what}: replace it`, 'ec2:DescribeVolumes', undefined, r.region);
      }
      return v && v.state === state && also(v) ? v : undefined;
    });
  }
}
