// Route 53: read a record, and swap it with a compare-and-swap batch.
// DnsRecord.values are Route 53 `Value`s verbatim (TXT values keep their quotes).

import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { CallOptions, Dns, DnsRecord } from '../ports.js';
import { call, type AwsContext } from './context.js';
import { AwsError } from './errors.js';
import { pollUntil, retryThrottled } from './wait.js';

const INSYNC_POLL_MS = 3_000;
/** Route 53 normally reaches INSYNC within a minute; ten is "something is wrong". */
const INSYNC_TIMEOUT_MS = 10 * 60_000;

/** `/hostedzone/Z123` and `Z123` are the same zone; the SDK accepts both but ids we print should not vary. */
export function bareZoneId(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

/** Route 53 answers `db.example.com.` and escapes some characters as `\ooo` octal. */
export function normalName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

function toRecordSet(r: DnsRecord): ResourceRecordSet {
  return { Name: r.name, Type: r.type, TTL: r.ttl, ResourceRecords: r.values.map((Value) => ({ Value })) };
}

/** The Route 53 client that can see a zone, and the profile it speaks for. */
interface ZoneClient {
  route53: Route53Client;
  profile?: string | undefined;
}

export class AwsDns implements Dns {
  /** Several profiles: which profile's account holds each zone, found on first use. */
  private readonly zones = new Map<string, Promise<ZoneClient>>();

  constructor(private readonly ctx: AwsContext) {}

  /**
   * The client for a zone. One profile: its own. Several: a hosted zone lives
   * in one account, so each profile is asked in turn (one read of the zone)
   * until one sees it, and that answer is kept.
   */
  private zoneClient(zoneId: string, signal?: AbortSignal): Promise<ZoneClient> {
    const profiles = this.ctx.byProfile;
    if (!profiles || profiles.size <= 1) return Promise.resolve({ route53: this.ctx.clients.route53, profile: this.ctx.profile });
    const HostedZoneId = bareZoneId(zoneId);
    const known = this.zones.get(HostedZoneId);
    if (known) return known;
    const found = (async () => {
      const refused: string[] = [];
      for (const [profile, clients] of profiles) {
        try {
          await call(this.ctx, { action: 'route53:ListResourceRecordSets', profile, doing: `finding which account holds zone ${HostedZoneId}` }, () =>
            clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId, MaxItems: 1 }), { abortSignal: signal }),
          );
          return { route53: clients.route53, profile };
        } catch (err) {
          // Not this account's zone (or not readable from it): the next profile's may be.
          if (err instanceof AwsError && (err.kind === 'not-found' || err.kind === 'denied')) refused.push(`${profile}: ${err.code}`);
          else throw err;
        }
      }
      throw new AwsError(
        'NoSuchHostedZone',
        'not-found',
        `hosted zone ${HostedZoneId} is in none of the accounts in view (${refused.join(', ')}): check clusters.<name>.writerDns.zoneId, or add the profile of the account that holds it (--profile)`,
        'route53:ListResourceRecordSets',
      );
    })();
    this.zones.set(HostedZoneId, found);
    // A failure is not remembered: the next step asks again.
    found.catch(() => this.zones.delete(HostedZoneId));
    return found;
  }

  async getRecord(zoneId: string, name: string, type: DnsRecord['type'], opts: CallOptions = {}): Promise<DnsRecord | undefined> {
    const HostedZoneId = bareZoneId(zoneId);
    const zone = await this.zoneClient(HostedZoneId, opts.signal);
    // The listing is sorted by name then type, so starting at (name, type) puts the record first if it exists.
    const page = await call(this.ctx, { action: 'route53:ListResourceRecordSets', profile: zone.profile, doing: `reading ${name} ${type}` }, () =>
      zone.route53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId, StartRecordName: name, StartRecordType: type, MaxItems: 1 }),
        { abortSignal: opts.signal },
      ),
    );
    const found = page.ResourceRecordSets?.[0];
    if (!found || found.Type !== type || normalName(found.Name ?? '') !== normalName(name)) return undefined;
    if (found.AliasTarget || found.SetIdentifier) {
      // An alias or a weighted/latency record cannot be swapped as plain values; better to say so than to break it.
      throw new AwsError(
        'UnsupportedRecord',
        'other',
        `${name} ${type} is ${found.AliasTarget ? `an alias to ${found.AliasTarget.DNSName}` : `a routing-policy record (${found.SetIdentifier})`}: nightshift swaps only simple records; change it by hand or make it a simple record`,
        'route53:ListResourceRecordSets',
      );
    }
    return {
      zoneId: HostedZoneId,
      name: normalName(found.Name ?? name),
      type,
      ttl: found.TTL ?? 0,
      values: (found.ResourceRecords ?? []).flatMap((r) => (r.Value !== undefined ? [r.Value] : [])),
    };
  }

  async swapRecord(
    current: DnsRecord,
    next: DnsRecord,
    opts: CallOptions & { onProgress?: (status: string) => void } = {},
  ): Promise<{ changeId: string; insyncAfterMs: number }> {
    const started = this.ctx.clock.now();
    const doing = `swapping ${current.name} ${current.type} from ${current.values.join(',')} to ${next.values.join(',')}`;
    const { changeId, status } = await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
      this.changeBatch(
        current.zoneId,
        [
          // DELETE must match the live record exactly, or Route 53 rejects the whole batch: that is the compare.
          { Action: 'DELETE', ResourceRecordSet: toRecordSet(current) },
          { Action: 'CREATE', ResourceRecordSet: toRecordSet(next) },
        ],
        `nightshift: ${current.name} ${current.values.join(',')} -> ${next.values.join(',')}`,
        doing,
        opts.signal,
      ),
    ).catch((err: unknown) => this.explainConflict(err, current, next, opts.signal));
    opts.onProgress?.(status);
    if (status !== 'INSYNC') await this.waitInsync(await this.zoneClient(current.zoneId, opts.signal), changeId, started, opts);
    return { changeId, insyncAfterMs: this.ctx.clock.now() - started };
  }

  /**
   * A refused compare: say what the record is now, so the operator sees at
   * once whether someone else moved the writer (and where) or the record was
   * read long ago. Anything else, or a record that reads as expected after
   * all, keeps its own error.
   */
  private async explainConflict(err: unknown, current: DnsRecord, next: DnsRecord, signal?: AbortSignal): Promise<never> {
    if (!(err instanceof AwsError) || err.kind !== 'conflict') throw err;
    const live = await this.getRecord(current.zoneId, current.name, current.type, signal ? { signal } : {}).catch(() => null);
    if (live === null) throw err;
    const show = (r: DnsRecord) => `${r.values.join(', ')} (TTL ${r.ttl} s)`;
    if (live && show(live) === show(current)) throw err;
    // Already what we wanted: a retried request of ours that landed, or someone made the same change.
    const already = live && show(live) === show(next) ? ', which is already the new value' : '';
    throw new AwsError(
      err.code,
      'conflict',
      `the record ${current.name} ${current.type} changed under us: now ${live ? show(live) : 'absent'}${already}, expected ${show(current)}; nothing was changed — find out who moved it before running the step again`,
      err.action,
      err.requestId,
      err.region,
      { cause: err },
    );
  }

  /** One ChangeResourceRecordSets batch; shared with the lock, which needs the same error sentences. */
  async changeBatch(
    zoneId: string,
    changes: Array<{ Action: 'CREATE' | 'DELETE' | 'UPSERT'; ResourceRecordSet: ResourceRecordSet }>,
    comment: string,
    doing: string,
    signal?: AbortSignal,
  ): Promise<{ changeId: string; status: string }> {
    const zone = await this.zoneClient(zoneId, signal);
    const res = await call(this.ctx, { action: 'route53:ChangeResourceRecordSets', profile: zone.profile, doing }, () =>
      zone.route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: bareZoneId(zoneId),
          ChangeBatch: { Comment: comment, Changes: changes },
        }),
        { abortSignal: signal },
      ),
    );
    return { changeId: (res.ChangeInfo?.Id ?? '').replace(/^\/?change\//, ''), status: res.ChangeInfo?.Status ?? 'PENDING' };
  }

  private async waitInsync(zone: ZoneClient, changeId: string, started: number, opts: CallOptions & { onProgress?: (status: string) => void }) {
    await pollUntil(
      {
        clock: this.ctx.clock,
        intervalMs: INSYNC_POLL_MS,
        // A change is never INSYNC the instant after it was PENDING.
        firstCheckAfterMs: INSYNC_POLL_MS,
        timeoutMs: INSYNC_TIMEOUT_MS,
        signal: opts.signal,
        what: `Route 53 change ${changeId} to be INSYNC`,
      },
      async () => {
        const res = await call(this.ctx, { action: 'route53:GetChange', profile: zone.profile, doing: `checking Route 53 change ${changeId}` }, () =>
          zone.route53.send(new GetChangeCommand({ Id: changeId }), { abortSignal: opts.signal }),
        );
        const status = res.ChangeInfo?.Status ?? 'PENDING';
        const seconds = Math.round((this.ctx.clock.now() - started) / 1000);
        opts.onProgress?.(`${status} after ${seconds} s`);
        return status === 'INSYNC' ? true : undefined;
      },
    );
  }
}
