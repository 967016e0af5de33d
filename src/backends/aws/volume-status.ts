// EBS volume status checks (DescribeVolumeStatus), read beside discovery as
// the groups are: never ahead of it, never a reason for it to fail or wait.
// What they say lands on the instances (Instance.volumes) for the
// io-impaired finding and the node screen.

import { DescribeVolumeStatusCommand, type VolumeStatusItem } from '@aws-sdk/client-ec2';
import type { VolumeHealth, VolumeStatus } from '../../domain/types.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { scopeWords } from './regions.js';

/**
 * The statuses read. EC2 filters them server-side, so a fleet of any size
 * whose volumes are well costs one call per region; ok volumes are not listed.
 */
const NOT_OK: readonly VolumeStatus[] = ['impaired', 'warning', 'insufficient-data'];
/** DescribeVolumeStatus's page maximum. */
const PAGE_SIZE = 1000;
/**
 * How often the statuses are read again. EBS runs its checks every few
 * minutes: reading once a minute shows a new impairment within one check,
 * without a call on every discovery.
 */
const REFRESH_MS = 60_000;
/** A region last read longer ago than this shows no volume: a read that keeps failing leaves no finding rather than an old one. */
const MAX_AGE_MS = 5 * REFRESH_MS;
/** EC2's event descriptions are a sentence; anything longer is cut, so one volume cannot fill the screen. */
const DETAIL_MAX = 200;
/** Detail statuses that mean all is well. */
const FINE = new Set(['passed', 'normal', 'not-applicable']);

/** One region's statuses as last read well: the volumes that are not ok, by the instance each is attached to. */
interface RegionVolumes {
  at: number;
  byInstance: Map<string, VolumeHealth[]>;
}

export class VolumeStatusReader {
  /** By scope (a profile's region): the same region under two profiles is two accounts' volumes. */
  private readonly read = new Map<RegionClients, RegionVolumes>();
  /** The read in flight; a newer one (`seq`) makes its answer void. */
  private reading: { seq: number; done: Promise<void>; abort: AbortController } | undefined;
  private seq = 0;
  private attemptAt: number | undefined;
  /** Why the statuses (or a region's) were not read last time, in words; undefined when all went well. */
  problem: string | undefined;

  constructor(private readonly ctx: AwsContext) {}

  /** Settles when the read in flight, if any, has ended. Never rejects. */
  settled(): Promise<void> {
    return this.reading?.done ?? Promise.resolve();
  }

  /** Starts a read of these scopes when one is due; never awaited by discovery (its answer shows on a later one). */
  refreshIfDue(regions: readonly RegionClients[]): void {
    if (regions.length === 0) return;
    const now = this.ctx.clock.now();
    if (this.attemptAt !== undefined && now - this.attemptAt < REFRESH_MS) return;
    // A read still going after a whole interval is stuck: dropped, and its answer would be ignored.
    this.reading?.abort.abort();
    const seq = ++this.seq;
    const abort = new AbortController();
    this.attemptAt = now;
    const asked = [...regions];
    const done = Promise.allSettled(asked.map((r) => describeVolumeStatus(this.ctx, r, abort.signal)))
      .then((settled) => {
        if (seq !== this.seq) return;
        const at = this.ctx.clock.now();
        const problems: string[] = [];
        settled.forEach((s, k) => {
          if (s.status === 'fulfilled') this.read.set(asked[k]!, { at, byInstance: s.value });
          else problems.push(`EBS volume status not read in ${scopeWords(asked[k]!, this.ctx.router.severalProfiles)}, so no impaired volume is shown there: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`);
        });
        this.problem = problems.length > 0 ? problems.join('; ') : undefined;
      })
      .finally(() => {
        if (this.reading?.seq === seq) this.reading = undefined;
      });
    this.reading = { seq, done, abort };
  }

  /** The instance's volumes that are not ok, as last read in its region (copies); undefined when none, or the read is too old. */
  forInstance(scope: RegionClients, instanceId: string): VolumeHealth[] | undefined {
    const r = this.read.get(scope);
    if (!r || this.ctx.clock.now() - r.at > MAX_AGE_MS) return undefined;
    return r.byInstance.get(instanceId)?.map((v) => ({ ...v }));
  }
}

/** Every page of one region's volumes that are not ok, by the instance each is attached to. */
export async function describeVolumeStatus(ctx: AwsContext, r: RegionClients, signal?: AbortSignal): Promise<Map<string, VolumeHealth[]>> {
  const out = new Map<string, VolumeHealth[]>();
  let NextToken: string | undefined;
  do {
    const page = await call(ctx, { action: 'ec2:DescribeVolumeStatus', region: r.region, profile: r.profile, doing: 'reading EBS volume status checks' }, () =>
      r.ec2.send(
        new DescribeVolumeStatusCommand({ Filters: [{ Name: 'volume-status.status', Values: [...NOT_OK] }], MaxResults: PAGE_SIZE, NextToken }),
        { abortSignal: signal },
      ),
    );
    for (const item of page.VolumeStatuses ?? []) {
      const health = toVolumeHealth(item);
      if (!health) continue;
      // A multi-attach volume is each of its instances' trouble.
      for (const a of item.AttachmentStatuses ?? []) {
        if (!a.InstanceId) continue;
        const list = out.get(a.InstanceId) ?? [];
        list.push({ ...health });
        out.set(a.InstanceId, list);
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/**
 * One volume's status in our words: its events' descriptions, then the
 * checks that did not pass ("io-enabled: failed"); since the earliest event
 * began. Undefined for an ok volume (or one EC2 says nothing usable about).
 * The text is EC2's, and still anyone's: the poller cleans it for the screen.
 */
export function toVolumeHealth(item: VolumeStatusItem): VolumeHealth | undefined {
  const status = item.VolumeStatus?.Status;
  if (!item.VolumeId || !status || !(NOT_OK as readonly string[]).includes(status)) return undefined;
  const words: string[] = [];
  let since: number | undefined;
  for (const e of item.Events ?? []) {
    const text = e.Description?.replace(/\s+/g, ' ').trim();
    if (text && !words.includes(text)) words.push(text);
    const start = e.NotBefore ? new Date(e.NotBefore).getTime() : NaN;
    if (!Number.isNaN(start) && (since === undefined || start < since)) since = start;
  }
  for (const d of item.VolumeStatus?.Details ?? []) {
    if (d.Name && d.Status && !FINE.has(d.Status)) words.push(`${d.Name}: ${d.Status}`);
  }
  const chars = Array.from(words.join(', '));
  const health: VolumeHealth = {
    volumeId: item.VolumeId,
    status: status as VolumeStatus,
    detail: chars.length > DETAIL_MAX ? `${chars.slice(0, DETAIL_MAX - 1).join('')}…` : chars.join(''),
  };
  if (since !== undefined) health.since = new Date(since).toISOString();
  return health;
}
