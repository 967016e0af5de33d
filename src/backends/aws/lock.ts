// One mutating run per cluster. Where the cluster has a hosted zone, the lock
// is a Route 53 TXT record that only a CREATE makes: Route 53 rejects a CREATE
// of an existing record atomically, so two consoles can never both win.
// Elsewhere it is a lease tag on every member, written then read back; that
// is best effort (EC2 tags have no compare-and-set), so the read-back waits a
// moment for a concurrent writer to show itself before claiming the lock.

import { CreateTagsCommand, DeleteTagsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { clusterSettings } from '../../config/cluster-settings.js';
import { clusterLabel, resolveCluster, type ScopedName } from '../../domain/scope.js';
import type { CallOptions, Lock, LockOwner, LockResult } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import type { AwsDns } from './dns.js';
import { chunk } from './ec2-shapes.js';
import { AwsError } from './errors.js';
import type { AwsInventory } from './inventory.js';

export const LOCK_TAG = 'nightshift:lock';
/** How long a lease writer waits before reading back, so a racing writer's tags are visible. */
const LEASE_SETTLE_MS = 2_000;
const LOCK_TTL = 60;

export function formatLockValue(o: LockOwner): string {
  return `${o.runId}|${o.owner}|${o.startedAt}`;
}

export function parseLockValue(value: string): LockOwner {
  const [runId = value, owner = 'unknown', startedAt = ''] = value.split('|');
  return { runId, owner, startedAt };
}

function quoteTxt(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function unquoteTxt(s: string): string {
  return s.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
}

export class AwsLock implements Lock {
  constructor(
    private readonly ctx: AwsContext,
    private readonly dns: AwsDns,
    private readonly inventory: AwsInventory,
  ) {}

  acquire(cluster: ScopedName, owner: LockOwner, opts: CallOptions = {}): Promise<LockResult> {
    const zone = this.zoneOf(cluster);
    return zone ? this.acquireRecord(zone, owner, opts) : this.acquireLease(cluster, owner, opts);
  }

  async release(cluster: ScopedName, runId: string, opts: CallOptions = {}): Promise<void> {
    await this.removeIfHeldBy(cluster, runId, opts);
  }

  async holder(cluster: ScopedName, opts: CallOptions = {}): Promise<LockOwner | undefined> {
    const zone = this.zoneOf(cluster);
    if (zone) {
      const rec = await this.dns.getRecord(zone.zoneId, zone.name, 'TXT', opts);
      return rec?.values[0] !== undefined ? parseLockValue(unquoteTxt(rec.values[0])) : undefined;
    }
    const leases = await this.readLeases(await this.members(cluster, opts.signal), opts.signal);
    const first = [...leases.values()][0];
    return first ? parseLockValue(first) : undefined;
  }

  async breakLock(cluster: ScopedName, runId: string, opts: CallOptions = {}): Promise<void> {
    const other = await this.removeIfHeldBy(cluster, runId, opts);
    if (other) {
      throw new AwsError(
        'LockHeldByOther',
        'conflict',
        `the lock on ${clusterLabel(cluster)} is now held by run ${other.runId} (${other.owner}, since ${other.startedAt}), not ${runId}: nothing was broken`,
        'lock',
      );
    }
  }

  // ------------------------------------------------------------ TXT record

  private zoneOf(cluster: ScopedName): { zoneId: string; name: string } | undefined {
    const w = clusterSettings(this.ctx.config, cluster)?.writerDns;
    return w ? { zoneId: w.zoneId, name: `_nightshift-lock.${w.name.replace(/\.$/, '')}` } : undefined;
  }

  private async acquireRecord(zone: { zoneId: string; name: string }, owner: LockOwner, opts: CallOptions): Promise<LockResult> {
    try {
      await this.dns.changeBatch(
        zone.zoneId,
        [{ Action: 'CREATE', ResourceRecordSet: { Name: zone.name, Type: 'TXT', TTL: LOCK_TTL, ResourceRecords: [{ Value: quoteTxt(formatLockValue(owner)) }] } }],
        `nightshift lock for run ${owner.runId}`,
        `taking the lock ${zone.name}`,
        opts.signal,
      );
      return { acquired: true };
    } catch (err) {
      if (!(err instanceof AwsError && err.code === 'InvalidChangeBatch')) throw err;
      const rec = await this.dns.getRecord(zone.zoneId, zone.name, 'TXT', opts);
      const value = rec?.values[0];
      // Released between our CREATE and our read: say "held" by an unknown run rather than retry in a loop here.
      const heldBy = value !== undefined ? parseLockValue(unquoteTxt(value)) : { runId: 'unknown', owner: 'unknown', startedAt: '' };
      return heldBy.runId === owner.runId ? { acquired: true } : { acquired: false, heldBy };
    }
  }

  /** Deletes the lock if `runId` holds it; returns the other holder when someone else does. */
  private async removeIfHeldBy(cluster: ScopedName, runId: string, opts: CallOptions): Promise<LockOwner | undefined> {
    const zone = this.zoneOf(cluster);
    if (zone) {
      const rec = await this.dns.getRecord(zone.zoneId, zone.name, 'TXT', opts);
      if (!rec || rec.values[0] === undefined) return undefined;
      const held = parseLockValue(unquoteTxt(rec.values[0]));
      if (held.runId !== runId) return held;
      // DELETE of the exact record: if it changed since the read, Route 53 refuses and nothing is lost.
      await this.dns.changeBatch(
        rec.zoneId,
        [{ Action: 'DELETE', ResourceRecordSet: { Name: rec.name, Type: 'TXT', TTL: rec.ttl, ResourceRecords: rec.values.map((Value) => ({ Value })) } }],
        `nightshift unlock for run ${runId}`,
        `releasing the lock ${zone.name}`,
        opts.signal,
      );
      return undefined;
    }
    const ids = await this.members(cluster, opts.signal);
    const leases = await this.readLeases(ids, opts.signal);
    const mine = [...leases].filter(([, v]) => parseLockValue(v).runId === runId);
    await this.deleteLeases(mine, opts.signal);
    const other = [...leases.values()].find((v) => parseLockValue(v).runId !== runId);
    return other ? parseLockValue(other) : undefined;
  }

  // ------------------------------------------------------------ tag lease

  private async acquireLease(cluster: ScopedName, owner: LockOwner, opts: CallOptions): Promise<LockResult> {
    const ids = await this.members(cluster, opts.signal);
    const before = await this.readLeases(ids, opts.signal);
    const other = [...before.values()].find((v) => parseLockValue(v).runId !== owner.runId);
    if (other) return { acquired: false, heldBy: parseLockValue(other) };

    const value = formatLockValue(owner);
    for (const [r, regionIds] of this.byRegion(ids)) {
      for (const Resources of chunk(regionIds, 1000)) {
        await call(this.ctx, { action: 'ec2:CreateTags', region: r.region, profile: r.profile, doing: `taking the lock on ${clusterLabel(cluster)}` }, () =>
          r.ec2.send(new CreateTagsCommand({ Resources, Tags: [{ Key: LOCK_TAG, Value: value }] }), { abortSignal: opts.signal }),
        );
      }
    }
    await this.ctx.clock.sleep(LEASE_SETTLE_MS, opts.signal);

    const after = await this.readLeases(ids, opts.signal);
    const isMine = ids.every((id) => after.get(id) === value);
    if (isMine) return { acquired: true };
    // Lost a race: take back only our own tags (DeleteTags with a value deletes only on a match).
    await this.deleteLeases([...after].filter(([, v]) => v === value), opts.signal);
    const winner = [...after.values()].find((v) => v !== value);
    return { acquired: false, heldBy: winner ? parseLockValue(winner) : { runId: 'unknown', owner: 'unknown', startedAt: '' } };
  }

  /**
   * The members of the one cluster the query names: `{name}` alone still finds
   * a unique cluster; a name in several regions (or accounts) is refused with
   * the candidates, so a lease never spans two clusters.
   */
  private async members(cluster: ScopedName, signal?: AbortSignal): Promise<string[]> {
    const found = await this.inventory.discover({ signal });
    const resolved = resolveCluster(found.clusters, cluster);
    if (!resolved.ok) {
      const ambiguous = resolved.candidates.length > 1 && resolved.candidates.every((c) => c.name === cluster.name);
      throw new AwsError(
        ambiguous ? 'AmbiguousCluster' : 'NoMembers',
        'not-found',
        `cannot lock ${clusterLabel(cluster)}: ${resolved.reason}`,
        'lock',
      );
    }
    const ids = resolved.cluster.instanceIds;
    if (ids.length === 0) {
      throw new AwsError('NoMembers', 'not-found', `cluster ${clusterLabel(cluster)} has no instances to hold its lock: check its tags, or give it clusters.${cluster.name}.writerDns`, 'lock');
    }
    return ids;
  }

  /** The ids by the scope (a profile's region) that serves them. */
  private byRegion(ids: string[]): Map<RegionClients, string[]> {
    const out = new Map<RegionClients, string[]>();
    for (const id of ids) {
      const r = this.ctx.router.forInstance(id);
      out.set(r, [...(out.get(r) ?? []), id]);
    }
    return out;
  }

  /** instance id -> lease tag value, for the members that carry one. */
  private async readLeases(ids: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [r, regionIds] of this.byRegion(ids)) {
      for (const InstanceIds of chunk(regionIds, 200)) {
        let NextToken: string | undefined;
        do {
          const page = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing: 'reading the lock tags' }, () =>
            r.ec2.send(new DescribeInstancesCommand({ InstanceIds, NextToken }), { abortSignal: signal }),
          );
          for (const i of (page.Reservations ?? []).flatMap((res) => res.Instances ?? [])) {
            const v = i.Tags?.find((t) => t.Key === LOCK_TAG)?.Value;
            if (i.InstanceId && v) out.set(i.InstanceId, v);
          }
          NextToken = page.NextToken;
        } while (NextToken);
      }
    }
    return out;
  }

  private async deleteLeases(entries: Array<[string, string]>, signal?: AbortSignal): Promise<void> {
    for (const [id, value] of entries) {
      const r = this.ctx.router.forInstance(id);
      await call(this.ctx, { action: 'ec2:DeleteTags', region: r.region, profile: r.profile, doing: `releasing the lock tag on ${id}` }, () =>
        r.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: LOCK_TAG, Value: value }] }), { abortSignal: signal }),
      );
    }
  }
}
