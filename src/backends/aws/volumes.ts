// EBS volumes and snapshots for the rebuild runbook. Every wait is bounded
// and abortable; the long one (a snapshot) reports its percent as it goes.
// What a run creates is tagged so a resume finds it again (find,
// findSnapshots) instead of making a second one; a volume also takes the
// run's client token, so a create whose answer was lost returns the same volume.
// Every volume and snapshot made here is also tagged MANAGED_TAG, the tag the
// IAM policy (iam-actions.ts) requires before it lets nightshift change one.

import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type Filter,
  type Snapshot as Ec2Snapshot,
  type Volume as Ec2Volume,
} from '@aws-sdk/client-ec2';
import type { CallOptions, Snapshot, TagFilter, Volume, Volumes } from '../ports.js';
import { call, type AwsContext } from './context.js';
import { checkClientToken, tagList, tagsOf } from './ec2-shapes.js';
import { AwsError } from './errors.js';
import { MANAGED_TAG, MANAGED_VALUE } from './iam-actions.js';
import type { RegionClients } from './clients.js';
import { pollUntil, retryThrottled } from './wait.js';

const POLL_MS = 5_000;
const VOLUME_WAIT_MS = 10 * 60_000;
/** A snapshot of a large datadir can take hours; the operator can always abort. */
const SNAPSHOT_WAIT_MS = 12 * 60 * 60_000;
const SNAPSHOT_POLL_MS = 15_000;
/**
 * EC2 reads are eventually consistent: a snapshot just started may be unknown
 * to DescribeSnapshots for a few seconds. Past this, "not found" means it was
 * deleted, and waiting on would only run into the long limit.
 */
const SNAPSHOT_UNSEEN_MS = 2 * 60_000;
/** DescribeVolumes' page maximum. */
const VOLUME_PAGE = 500;
/** DescribeSnapshots' page maximum. */
const SNAPSHOT_PAGE = 1000;
/** Tagged by every snapshot nightshift takes: which volume it is of, also when the volume is gone. */
export const SOURCE_VOLUME_TAG = 'nightshift:source-volume';

const VOLUME_STATES: ReadonlySet<string> = new Set(['creating', 'available', 'in-use', 'deleting', 'deleted', 'error']);
/** Everything but deleting and deleted: a volume on its way out is no volume to reuse. */
const LIVE_VOLUME_STATES = ['creating', 'available', 'in-use', 'error'];

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

function toSnapshot(s: Ec2Snapshot, fallback: { id?: string; volumeId?: string } = {}): Snapshot {
  // recoverable / recovering (a snapshot coming back from the recycle bin) are not usable yet: pending.
  const state = s.State === 'completed' ? 'completed' : s.State === 'error' ? 'error' : 'pending';
  return {
    id: s.SnapshotId ?? fallback.id ?? '',
    volumeId: s.VolumeId ?? fallback.volumeId ?? '',
    state,
    // "45%" while running; some answers leave it empty until the first block is copied.
    progressPercent: state === 'completed' ? 100 : Number.parseInt(s.Progress ?? '0', 10) || 0,
    tags: tagsOf(s.Tags),
    ...(s.StartTime ? { startTime: new Date(s.StartTime).toISOString() } : {}),
  };
}

/** `tag:K = V` for each tag; an empty filter would match every volume or snapshot of the account. */
function tagFilters(tags: TagFilter, what: string): Filter[] {
  const entries = Object.entries(tags);
  if (entries.length === 0) throw new Error(`finding ${what} needs at least one tag: an empty filter matches all of the account's`);
  return entries.map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
}

function awsMessage(err: AwsError): string {
  const cause = err.cause as { message?: unknown } | undefined;
  return typeof cause?.message === 'string' ? cause.message : err.sentence;
}

export class AwsVolumes implements Volumes {
  constructor(private readonly ctx: AwsContext) {}

  async create(
    spec: { az: string; sizeGiB: number; snapshotId?: string; tags?: Record<string, string>; clientToken?: string },
    opts: CallOptions = {},
  ): Promise<Volume> {
    // From a snapshot: the snapshot's own account (a snapshot is restored where it lives).
    const r =
      (spec.snapshotId !== undefined ? this.ctx.router.knownSnapshot(spec.snapshotId) : undefined) ??
      this.ctx.router.forAz(spec.az, spec.tags?.[this.ctx.config.discovery.clusterTag]);
    const doing = `creating a ${spec.sizeGiB} GiB volume in ${spec.az}${spec.snapshotId ? ` from ${spec.snapshotId}` : ''}`;
    checkClientToken(spec.clientToken, doing);
    let created;
    try {
      // A throttled call was not carried out, so asking again is safe with or without a token.
      created = await this.retry(doing, opts.signal, () =>
        call(this.ctx, { action: 'ec2:CreateVolume', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(
            new CreateVolumeCommand({
              AvailabilityZone: spec.az,
              Size: spec.sizeGiB,
              VolumeType: 'gp3',
              ...(spec.snapshotId ? { SnapshotId: spec.snapshotId } : {}),
              // Always tagged: the IAM policy lets nightshift create, attach, detach and delete only volumes marked its own.
              TagSpecifications: [{ ResourceType: 'volume', Tags: tagList({ ...spec.tags, [MANAGED_TAG]: MANAGED_VALUE }) }],
              ...(spec.clientToken ? { ClientToken: spec.clientToken } : {}),
            }),
            { abortSignal: opts.signal },
          ),
        ),
      );
    } catch (err) {
      if (err instanceof AwsError && err.code === 'IdempotentParameterMismatch') {
        throw new AwsError(
          err.code,
          'conflict',
          `${doing}: EC2 already made a volume for client token ${spec.clientToken ?? '?'} with other parameters (size, AZ, snapshot or tags differ), so it made none: find that volume by its tags (${tagText(spec.tags)}) and reuse or delete it, or start a new run`,
          err.action,
          err.requestId,
          r.region,
          { cause: err },
        );
      }
      throw err;
    }
    const id = created.VolumeId ?? '';
    this.ctx.router.rememberVolume(id, r);
    // A retry with the token may find the volume already attached by the attempt that made it: that is done too.
    return this.waitFor(r, id, 'available', `volume ${id} to become available`, opts.signal, () => true, ['in-use']);
  }

  async get(volumeId: string, opts: CallOptions = {}): Promise<Volume | undefined> {
    return this.describe(this.ctx.router.forVolume(volumeId), volumeId, opts.signal);
  }

  async find(tags: TagFilter, opts: CallOptions = {}): Promise<Volume[]> {
    const Filters = [...tagFilters(tags, 'volumes'), { Name: 'status', Values: LIVE_VOLUME_STATES }];
    const out: Volume[] = [];
    for (const r of this.ctx.router.all) {
      const doing = `finding volumes tagged ${tagText(tags)}`;
      let NextToken: string | undefined;
      do {
        const page = await this.retry(doing, opts.signal, () =>
          call(this.ctx, { action: 'ec2:DescribeVolumes', region: r.region, profile: r.profile, doing }, () =>
            r.ec2.send(new DescribeVolumesCommand({ Filters, MaxResults: VOLUME_PAGE, NextToken }), { abortSignal: opts.signal }),
          ),
        );
        for (const v of page.Volumes ?? []) {
          const vol = toVolume(v);
          // The filter already says so; a volume that turned to deleting between pages is still left out.
          if (vol.state === 'deleting' || vol.state === 'deleted') continue;
          this.ctx.router.rememberVolume(vol.id, r);
          out.push(vol);
        }
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async attach(volumeId: string, instanceId: string, device: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    this.ctx.router.rememberVolume(volumeId, r);
    await call(this.ctx, { action: 'ec2:AttachVolume', region: r.region, profile: r.profile, doing: `attaching ${volumeId} to ${instanceId} as ${device}` }, () =>
      r.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }), { abortSignal: opts.signal }),
    );
    await this.waitFor(r, volumeId, 'in-use', `volume ${volumeId} to attach to ${instanceId}`, opts.signal, (v) => v.attachedTo?.instanceId === instanceId);
  }

  async detach(volumeId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forVolume(volumeId);
    await call(this.ctx, { action: 'ec2:DetachVolume', region: r.region, profile: r.profile, doing: `detaching ${volumeId}` }, () =>
      r.ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }), { abortSignal: opts.signal }),
    );
    await this.waitFor(r, volumeId, 'available', `volume ${volumeId} to detach`, opts.signal);
  }

  async snapshot(volumeId: string, opts: CallOptions & { description?: string; tags?: Record<string, string> } = {}): Promise<Snapshot> {
    const r = this.ctx.router.forVolume(volumeId);
    // MANAGED_TAG: the IAM policy lets nightshift take and delete only snapshots marked its own.
    const tags = { ...opts.tags, [SOURCE_VOLUME_TAG]: volumeId, [MANAGED_TAG]: MANAGED_VALUE };
    const doing = `snapshotting ${volumeId}`;
    // Throttled means not started; any other failure is not retried here (a second snapshot would cost a
    // second copy): the caller finds the first one by its tags before starting another.
    const created = await this.retry(doing, opts.signal, () =>
      call(this.ctx, { action: 'ec2:CreateSnapshot', region: r.region, profile: r.profile, doing }, () =>
        r.ec2.send(
          new CreateSnapshotCommand({
            VolumeId: volumeId,
            Description: opts.description ?? `nightshift snapshot of ${volumeId}`,
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
          }),
          { abortSignal: opts.signal },
        ),
      ),
    );
    const snap = toSnapshot({ ...created, Tags: created.Tags?.length ? created.Tags : tagList(tags) }, { volumeId });
    if (!snap.id) {
      throw new AwsError('NoSnapshot', 'other', `CreateSnapshot of ${volumeId} answered without a snapshot id: look for a snapshot tagged ${SOURCE_VOLUME_TAG}=${volumeId} before retrying`, 'ec2:CreateSnapshot', created.$metadata?.requestId, r.region);
    }
    this.ctx.router.rememberSnapshot(snap.id, r);
    // The answer says pending (or, for a tiny volume, already completed): never more done than that.
    return snap.state === 'completed' ? snap : { ...snap, state: snap.state === 'error' ? 'error' : 'pending' };
  }

  async waitSnapshot(snapshotId: string, opts: CallOptions & { onProgress?: (percent: number) => void } = {}): Promise<Snapshot> {
    const r = this.ctx.router.forSnapshot(snapshotId);
    const started = this.ctx.clock.now();
    let lastPercent = -1;
    return pollUntil(
      { clock: this.ctx.clock, intervalMs: SNAPSHOT_POLL_MS, timeoutMs: SNAPSHOT_WAIT_MS, signal: opts.signal, what: `snapshot ${snapshotId}` },
      async () => {
        const s = await this.describeSnapshot(r, snapshotId, opts.signal);
        if (!s) {
          if (this.ctx.clock.now() - started < SNAPSHOT_UNSEEN_MS) return undefined;
          throw new AwsError(
            'InvalidSnapshot.NotFound',
            'not-found',
            `snapshot ${snapshotId} no longer exists in ${r.region} (deleted while nightshift waited for it): take a new one`,
            'ec2:DescribeSnapshots',
            undefined,
            r.region,
          );
        }
        if (s.progressPercent !== lastPercent) opts.onProgress?.((lastPercent = s.progressPercent));
        if (s.state === 'error') {
          throw new AwsError(
            'SnapshotFailed',
            'other',
            `snapshot ${snapshotId} of ${s.volumeId || 'its volume'} failed: ${s.stateMessage || 'EC2 gave no reason'}; delete it and take it again`,
            'ec2:DescribeSnapshots',
            undefined,
            r.region,
          );
        }
        return s.state === 'completed' ? s.snapshot : undefined;
      },
    );
  }

  async getSnapshot(snapshotId: string, opts: CallOptions = {}): Promise<Snapshot | undefined> {
    return (await this.describeSnapshot(this.ctx.router.forSnapshot(snapshotId), snapshotId, opts.signal))?.snapshot;
  }

  /** Oldest first, so a caller keeping the newest N removes from the front. */
  async findSnapshots(tags: TagFilter, opts: CallOptions = {}): Promise<Snapshot[]> {
    const Filters = tagFilters(tags, 'snapshots');
    const out: Snapshot[] = [];
    for (const r of this.ctx.router.all) {
      const doing = `finding snapshots tagged ${tagText(tags)}`;
      let NextToken: string | undefined;
      do {
        // OwnerIds self: without it EC2 also searches every public and shared snapshot, slowly.
        const page = await this.retry(doing, opts.signal, () =>
          call(this.ctx, { action: 'ec2:DescribeSnapshots', region: r.region, profile: r.profile, doing }, () =>
            r.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters, MaxResults: SNAPSHOT_PAGE, NextToken }), {
              abortSignal: opts.signal,
            }),
          ),
        );
        for (const s of page.Snapshots ?? []) {
          const snap = toSnapshot(s);
          this.ctx.router.rememberSnapshot(snap.id, r);
          out.push(snap);
        }
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out.sort((a, b) => (a.startTime ?? '').localeCompare(b.startTime ?? '') || a.id.localeCompare(b.id));
  }

  async removeSnapshot(snapshotId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forSnapshot(snapshotId);
    const doing = `deleting snapshot ${snapshotId}`;
    try {
      await this.retry(doing, opts.signal, () =>
        call(this.ctx, { action: 'ec2:DeleteSnapshot', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal: opts.signal }),
        ),
      );
    } catch (err) {
      // Already gone is what we wanted (a resumed cleanup step).
      if (err instanceof AwsError && err.code === 'InvalidSnapshot.NotFound') return;
      if (err instanceof AwsError && err.code === 'InvalidSnapshot.InUse') {
        throw new AwsError(
          err.code,
          'conflict',
          `${doing}: it is still in use (${awsMessage(err)}), so it was kept: deregister the image that uses it, or keep the snapshot`,
          err.action,
          err.requestId,
          r.region,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async remove(volumeId: string, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forVolume(volumeId);
    const doing = `deleting volume ${volumeId}`;
    try {
      await this.retry(doing, opts.signal, () =>
        call(this.ctx, { action: 'ec2:DeleteVolume', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }), { abortSignal: opts.signal }),
        ),
      );
    } catch (err) {
      // Already gone is what we wanted (a resumed cleanup step).
      if (err instanceof AwsError && err.code === 'InvalidVolume.NotFound') return;
      if (err instanceof AwsError && err.code === 'VolumeInUse') {
        const now = await this.describe(r, volumeId, opts.signal).catch(() => undefined);
        const on = now?.attachedTo
          ? `${now.attachedTo.instanceId} as ${now.attachedTo.device}`
          : (/\b(i-[0-9a-f]+)\b/.exec(awsMessage(err))?.[1] ?? 'an instance');
        throw new AwsError(
          err.code,
          'conflict',
          `${doing}: it is still attached to ${on}, so it was kept: unmount it on the node and detach it (the runbook's detach step), then retry`,
          err.action,
          err.requestId,
          r.region,
          { cause: err },
        );
      }
      throw err;
    }
  }

  private retry<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    return retryThrottled({ clock: this.ctx.clock, what, ...(signal ? { signal } : {}) }, fn);
  }

  private async describe(r: RegionClients, volumeId: string, signal?: AbortSignal): Promise<Volume | undefined> {
    try {
      const res = await call(this.ctx, { action: 'ec2:DescribeVolumes', region: r.region, profile: r.profile, doing: `reading volume ${volumeId}` }, () =>
        r.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }), { abortSignal: signal }),
      );
      const v = res.Volumes?.[0];
      return v ? toVolume(v) : undefined;
    } catch (err) {
      if (err instanceof AwsError && err.code === 'InvalidVolume.NotFound') return undefined;
      throw err;
    }
  }

  /** The snapshot and EC2's reason when it failed; undefined when EC2 does not know it. Throttled reads are tried again. */
  private async describeSnapshot(
    r: RegionClients,
    snapshotId: string,
    signal?: AbortSignal,
  ): Promise<{ snapshot: Snapshot; state: Snapshot['state']; progressPercent: number; volumeId: string; stateMessage?: string } | undefined> {
    const doing = `reading snapshot ${snapshotId}`;
    try {
      const res = await this.retry(doing, signal, () =>
        call(this.ctx, { action: 'ec2:DescribeSnapshots', region: r.region, profile: r.profile, doing }, () =>
          r.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }), { abortSignal: signal }),
        ),
      );
      const s = res.Snapshots?.find((x) => x.SnapshotId === snapshotId);
      if (!s) return undefined;
      const snapshot = toSnapshot(s);
      return { snapshot, state: snapshot.state, progressPercent: snapshot.progressPercent, volumeId: snapshot.volumeId, ...(s.StateMessage ? { stateMessage: s.StateMessage } : {}) };
    } catch (err) {
      if (err instanceof AwsError && err.code === 'InvalidSnapshot.NotFound') return undefined;
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
    alsoDone: Array<Volume['state']> = [],
  ): Promise<Volume> {
    return pollUntil({ clock: this.ctx.clock, intervalMs: POLL_MS, timeoutMs: VOLUME_WAIT_MS, signal, what }, async () => {
      let v;
      try {
        v = await this.describe(r, volumeId, signal);
      } catch (err) {
        // A throttled look is a look missed: the next poll tries again, within the same bound.
        if (err instanceof AwsError && err.kind === 'throttled') return undefined;
        throw err;
      }
      if (v?.state === 'error') {
        throw new AwsError('VolumeError', 'other', `volume ${volumeId} went into the error state while waiting for ${what}: replace it`, 'ec2:DescribeVolumes', undefined, r.region);
      }
      return v && ((v.state === state && also(v)) || alsoDone.includes(v.state)) ? v : undefined;
    });
  }
}

function tagText(tags: Record<string, string> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : 'none';
}
