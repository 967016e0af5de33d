// Discovery (clusters by tag, Auto Scaling Group or security group) and tags.

import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  type Filter,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import { clusterSettings } from '../../config/cluster-settings.js';
import { compareScoped } from '../../domain/scope.js';
import { SPARE_TAG, type ClusterRef, type EngineKind, type Instance, type StatusChecks } from '../../domain/types.js';
import type { CallOptions, Discovery, Inventory, ScalingGroup, ScopeStatus } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, throttleKey, type AwsContext } from './context.js';
import { AwsError } from './errors.js';
import { scopeWords } from './regions.js';
import { chunk, tagList, toInstance, toStatusChecks } from './ec2-shapes.js';
import { describeGroups, LAUNCH_TEMPLATE_VERSION_TAG, readTemplates, toScalingGroup } from './groups.js';
import { VolumeStatusReader } from './volume-status.js';
import { retryThrottled } from './wait.js';

const ENGINES: ReadonlySet<string> = new Set<EngineKind>(['mysql', 'cassandra', 'generic']);
/** Terminated instances are history, not members. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
/** DescribeInstances' page maximum: 5,000 instances are 5 pages. */
const PAGE_SIZE = 1000;
/** DescribeInstanceStatus accepts at most 100 explicit ids per call. */
const STATUS_IDS_PER_CALL = 100;
/**
 * Up to this many instances, asking for their status by id (100 a call) is
 * cheaper than listing the whole region's statuses (1,000 a page, every
 * running instance in the account, ours or not).
 */
const STATUS_BY_ID_LIMIT = 500;
/** Ids per DescribeInstances call when asking by id (kept well under the request-size limit). */
const IDS_PER_DESCRIBE = 200;

/**
 * How often the clusters' groups are read again. They feed one finding (launch
 * template drift) that can be minutes old; discovery runs every few seconds
 * and must not wait on them or double its calls.
 */
const GROUPS_REFRESH_MS = 5 * 60_000;
/** Groups last read longer ago than this are shown no more: a read that keeps failing leaves no finding rather than an old one. */
const GROUPS_MAX_AGE_MS = 3 * GROUPS_REFRESH_MS;

/** A spare (a rebuild's node not yet joined) is listed, but is no member of any cluster however it was found. */
function isSpare(i: Ec2Instance): boolean {
  return (i.Tags ?? []).some((t) => t.Key === SPARE_TAG);
}

interface RegionFinding {
  instances: Map<string, Ec2Instance>;
  clusters: ClusterRef[];
}

/** One scope's answer: its instances and clusters (each carrying the scope), and each instance's devices by volume. */
interface ScopeFinding {
  scope: RegionClients;
  instances: Instance[];
  clusters: ClusterRef[];
  devices: Map<string, Map<string, string>>;
}

/** Group names wanted, by scope (group names repeat across accounts). */
type WantedGroups = Map<RegionClients, Set<string>>;

/** One scope's groups as last read well. */
interface RegionGroups {
  at: number;
  groups: ScalingGroup[];
}

export class AwsInventory implements Inventory {
  /** Per scope, the groups as last read well: a scope whose read fails keeps its last answer until it is too old. */
  private readonly groupsRead = new Map<RegionClients, RegionGroups>();
  /** Per scope, its last good discovery and when: a scope that fails or is throttled shows these, marked stale. */
  private readonly lastGood = new Map<RegionClients, { at: number; found: ScopeFinding }>();
  /** The read in flight; a newer one (`seq`) makes its answer void. */
  private groupsReading: { seq: number; done: Promise<void>; abort: AbortController } | undefined;
  private groupsSeq = 0;
  private groupsAttemptAt: number | undefined;
  /**
   * Why the groups (or some of them) were not read last time, in words; the
   * drift finding is then missing for them. Undefined when all went well.
   */
  groupsProblem: string | undefined;
  /** The EBS volume status checks, read beside discovery as the groups are (the io-impaired finding). */
  readonly volumeStatus: VolumeStatusReader;

  constructor(private readonly ctx: AwsContext) {
    this.volumeStatus = new VolumeStatusReader(ctx);
  }

  /** Settles when the group read in flight, if any, has ended (its answer then shows on the next discovery). Never rejects. */
  groupsSettled(): Promise<void> {
    return this.groupsReading?.done ?? Promise.resolve();
  }

  /**
   * Every scope (a profile's region) side by side. A scope whose calls fail
   * or are throttled keeps its last good instances and clusters, marked in
   * `scopes` with the error; the others stay fresh. Rejects when every scope
   * failed this round (a dead target, a throttled single region, a cancel), as
   * one region always did: nothing in the answer would be fresh.
   */
  async discover(opts: CallOptions & { withGroups?: boolean } = {}): Promise<Discovery> {
    const all = this.ctx.router.all;
    const settled = await Promise.allSettled(all.map((r) => this.discoverScope(r, opts.signal)));
    const now = this.ctx.clock.now();
    const throttled = new Set(this.ctx.throttles?.recent().map((t) => t.region));
    const perScope: ScopeFinding[] = [];
    const fresh: RegionClients[] = [];
    const scopes: ScopeStatus[] = [];
    let failure: { reason: unknown } | undefined;
    settled.forEach((s, k) => {
      const r = all[k]!;
      const account = this.ctx.router.accountOf(r);
      const status: ScopeStatus = { region: r.region, ...(account ? { account } : {}), ...(r.profile ? { profile: r.profile } : {}) };
      if (s.status === 'fulfilled') {
        this.lastGood.set(r, { at: now, found: s.value });
        perScope.push(s.value);
        fresh.push(r);
        status.at = now;
      } else {
        failure ??= { reason: s.reason };
        const last = this.lastGood.get(r);
        if (last) {
          perScope.push(copyFinding(last.found));
          status.at = last.at;
        }
        status.error = errorText(s.reason);
        if (s.reason instanceof AwsError && s.reason.kind === 'throttled') status.throttled = true;
      }
      if (throttled.has(throttleKey(this.ctx, r))) status.throttled = true;
      scopes.push(status);
    });
    // Every scope failed (or the call was cancelled): no answer at all, as with one region, and the caller keeps
    // what it last showed, marked stale with the reason. Only some failing is the partial answer above.
    if (failure && (fresh.length === 0 || opts.signal?.aborted)) throw failure.reason;

    const instances = perScope.flatMap((found) => found.instances);
    // Each scope's clusters are its own: `orders` in two regions (or accounts) is two clusters, never one of both.
    const sorted = perScope.flatMap((found) => found.clusters).sort(compareScoped);
    const wanted = this.wantedGroups(perScope);
    // Started, never awaited: the groups and volume statuses of this round show on a later one.
    this.refreshGroupsIfDue(wanted, instances);
    this.volumeStatus.refreshIfDue(perScope.filter((found) => found.instances.length > 0 && fresh.includes(found.scope)).map((found) => found.scope));
    if (opts.withGroups) {
      // A one-shot command waits for the reads (bounded by their own stuck-read rule and the caller's signal).
      // The listener goes when the reads are done: the caller's signal may be a console's, which lives all night.
      const signal = opts.signal;
      let onAbort = () => {};
      const aborted = new Promise<void>((resolve) => {
        onAbort = () => resolve();
        if (signal?.aborted) resolve();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([Promise.all([this.groupsReading?.done, this.volumeStatus.settled()]), aborted]);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
    for (const found of perScope) {
      for (const inst of found.instances) {
        const volumes = this.volumeStatus.forInstance(found.scope, inst.id);
        if (!volumes) continue;
        const devices = found.devices.get(inst.id);
        inst.volumes = volumes.map((v) => {
          const device = devices?.get(v.volumeId);
          return device ? { ...v, device } : v;
        });
      }
    }
    const groups = this.groupsFor(wanted);
    return { instances, clusters: sorted, ...(groups ? { groups } : {}), scopes };
  }

  async setTags(instanceId: string, tags: Record<string, string>, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    const doing = `tagging ${instanceId}`;
    // Tagging is idempotent, and a runbook tags right after a fence or a promotion: a busy API is waited out.
    await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
      call(this.ctx, { action: 'ec2:CreateTags', region: r.region, profile: r.profile, doing }, () =>
        r.ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: tagList(tags) }), { abortSignal: opts.signal }),
      ),
    );
  }

  async deleteTags(instanceId: string, keys: string[], opts: CallOptions = {}): Promise<void> {
    if (keys.length === 0) return;
    const r = this.ctx.router.forInstance(instanceId);
    await call(this.ctx, { action: 'ec2:DeleteTags', region: r.region, profile: r.profile, doing: `removing tags from ${instanceId}` }, () =>
      r.ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: keys.map((Key) => ({ Key })) }), {
        abortSignal: opts.signal,
      }),
    );
  }

  // ------------------------------------------------------------ groups

  /** The groups the clusters' members name (aws:autoscaling:groupName) and the clusters found by group, each in its scope. */
  private wantedGroups(perScope: ScopeFinding[]): WantedGroups {
    const wanted: WantedGroups = new Map();
    for (const found of perScope) {
      const members = new Set(found.clusters.flatMap((c) => c.instanceIds));
      const names = new Set<string>();
      for (const c of found.clusters) if (c.asg) names.add(c.asg);
      for (const i of found.instances) if (i.asg && members.has(i.id)) names.add(i.asg);
      if (names.size > 0) wanted.set(found.scope, names);
    }
    return wanted;
  }

  private refreshGroupsIfDue(wanted: WantedGroups, instances: Instance[]): void {
    if (wanted.size === 0) return;
    const now = this.ctx.clock.now();
    if (this.groupsAttemptAt !== undefined && now - this.groupsAttemptAt < GROUPS_REFRESH_MS) return;
    // A read still going after a whole interval is stuck: it is dropped, and its answer would be ignored.
    this.groupsReading?.abort.abort();
    const seq = ++this.groupsSeq;
    const abort = new AbortController();
    this.groupsAttemptAt = now;
    const tagged = new Map(instances.flatMap((i) => (i.tags[LAUNCH_TEMPLATE_VERSION_TAG] ? [[i.id, i.tags[LAUNCH_TEMPLATE_VERSION_TAG]] as const] : [])));
    const done = this.readGroups(wanted, (id) => tagged.get(id), abort.signal).then(
      ({ regions, problems }) => {
        if (seq !== this.groupsSeq) return;
        const at = this.ctx.clock.now();
        for (const [scope, groups] of regions) this.groupsRead.set(scope, { at, groups });
        this.groupsProblem = problems.length > 0 ? problems.join('; ') : undefined;
      },
      (err: unknown) => {
        if (seq === this.groupsSeq) this.groupsProblem = `Auto Scaling groups not read: ${err instanceof Error ? err.message : String(err)}`;
      },
    ).finally(() => {
      if (this.groupsReading?.seq === seq) this.groupsReading = undefined;
    });
    this.groupsReading = { seq, done, abort };
  }

  /**
   * Every wanted group, per region: one DescribeAutoScalingGroups round and
   * one DescribeLaunchTemplates round, regions side by side. A region that
   * fails is a problem for its groups only.
   */
  private async readGroups(
    wanted: WantedGroups,
    memberTag: (instanceId: string) => string | undefined,
    signal: AbortSignal,
  ): Promise<{ regions: Map<RegionClients, ScalingGroup[]>; problems: string[] }> {
    const asked = [...wanted].map(([r, names]) => ({ r, names: [...names].sort() }));
    const settled = await Promise.allSettled(
      asked.map(async ({ r, names }) => {
        const raw = await describeGroups(this.ctx, r, names, "reading the clusters' Auto Scaling groups", signal);
        const templates = await readTemplates(this.ctx, r, raw, "reading their launch templates", signal);
        return raw.map((g) => toScalingGroup(g, templates, memberTag));
      }),
    );
    const regions = new Map<RegionClients, ScalingGroup[]>();
    const problems: string[] = [];
    settled.forEach((s, k) => {
      const { r, names } = asked[k]!;
      if (s.status === 'rejected') {
        problems.push(`groups ${names.join(', ')} not read, so no launch template drift is shown for them: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`);
        return;
      }
      regions.set(r, s.value.map((read) => read.group));
      for (const read of s.value) if (read.unresolved) problems.push(`${read.unresolved} in ${scopeWords(r, this.ctx.router.severalProfiles)}`);
    });
    return { regions, problems };
  }

  /** The wanted groups as last read, copied (callers may keep or change them); undefined when none were read or the read is too old. */
  private groupsFor(wanted: WantedGroups): ScalingGroup[] | undefined {
    const now = this.ctx.clock.now();
    let out: ScalingGroup[] | undefined;
    for (const [scope, names] of wanted) {
      const read = this.groupsRead.get(scope);
      if (!read || now - read.at > GROUPS_MAX_AGE_MS) continue;
      out = [...(out ?? []), ...read.groups.filter((g) => names.has(g.name)).map((g) => structuredClone(g))];
    }
    return out;
  }

  // ------------------------------------------------------------ one scope

  private async discoverScope(r: RegionClients, signal?: AbortSignal): Promise<ScopeFinding> {
    // Several accounts: a ref without its account could be mistaken for another account's, so none is listed before STS says.
    const account = this.ctx.accounts && r.profile ? await this.accountOf(r.profile) : undefined;
    const where = { region: r.region, ...(account ? { account } : {}) };
    const d = this.ctx.config.discovery;
    const [byTag, byAsg, bySg] = await Promise.all([
      this.describeInstances(r, { filters: [{ Name: 'tag-key', Values: [d.clusterTag] }] }, signal),
      d.asgClusters.length > 0 ? this.asgClusters(r, signal) : undefined,
      d.securityGroupClusters.length > 0 ? this.securityGroupClusters(r, signal) : undefined,
    ]);

    const all = new Map<string, Ec2Instance>();
    for (const i of byTag) if (i.InstanceId) all.set(i.InstanceId, i);
    const found: RegionFinding = { instances: all, clusters: this.tagClusters(byTag, r.region) };
    for (const extra of [byAsg, bySg]) {
      if (!extra) continue;
      for (const [id, i] of extra.instances) all.set(id, i);
      found.clusters.push(...extra.clusters);
    }

    const statuses = await this.statusChecks(r, [...all.values()], signal);
    // Where each volume is attached, by instance: a volume status names the volume, the instance names its device.
    const devices = new Map<string, Map<string, string>>();
    const instances = [...all.values()].map((i) => {
      const inst: Instance = { ...toInstance(i, statuses.get(i.InstanceId ?? '') ?? 'unknown'), ...where };
      this.ctx.router.rememberInstance(inst.id, r);
      if (inst.asg) this.ctx.router.rememberGroup(inst.asg, r);
      const mapped = (i.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.VolumeId && b.DeviceName ? [[b.Ebs.VolumeId, b.DeviceName] as const] : []));
      if (mapped.length > 0) devices.set(inst.id, new Map(mapped));
      return inst;
    });
    for (const c of found.clusters) this.ctx.router.rememberCluster(c.name, r);
    return { scope: r, instances, clusters: found.clusters.map((c) => ({ ...c, ...where })), devices };
  }

  /** The profile's account id; its failure says that the profile's clusters are left out until STS answers. */
  private async accountOf(profile: string): Promise<string> {
    try {
      return await this.ctx.accounts!.ensure(profile);
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      throw new AwsError(
        err.code,
        err.kind,
        `profile ${profile}'s account is not known yet, so its clusters are not listed (asked again on the next refresh): ${err.sentence}`,
        err.action,
        err.requestId,
        err.region,
        { cause: err },
      );
    }
  }

  private tagClusters(instances: Ec2Instance[], region: string): ClusterRef[] {
    const d = this.ctx.config.discovery;
    const byName = new Map<string, { ids: string[]; engineTags: string[]; asgs: Set<string | undefined> }>();
    for (const i of instances) {
      const inst = toInstance(i);
      const name = inst.tags[d.clusterTag];
      if (!name || isSpare(i)) continue;
      const entry = byName.get(name) ?? { ids: [], engineTags: [], asgs: new Set() };
      entry.ids.push(inst.id);
      const engine = inst.tags[d.engineTag];
      if (engine) entry.engineTags.push(engine);
      entry.asgs.add(inst.asg);
      byName.set(name, entry);
    }
    return [...byName].map(([name, e]) => {
      const tagged = e.engineTags.find((t) => ENGINES.has(t)) as EngineKind | undefined;
      const [onlyAsg] = e.asgs;
      return {
        name,
        engine: tagged ?? clusterSettings(this.ctx.config, { name, region })?.engine ?? 'generic',
        instanceIds: e.ids.sort(),
        source: 'tag' as const,
        ...(e.asgs.size === 1 && onlyAsg ? { asg: onlyAsg } : {}),
      };
    });
  }

  private async asgClusters(r: RegionClients, signal?: AbortSignal): Promise<RegionFinding> {
    const wanted = this.ctx.config.discovery.asgClusters;
    const groups = new Map<string, string[]>();
    // Auto Scaling refuses more names in one call than MaxRecords (100 at most): batched, not paged.
    for (const g of await describeGroups(this.ctx, r, wanted.map((w) => w.asg), 'reading Auto Scaling Groups', signal)) {
      if (!g.AutoScalingGroupName) continue;
      this.ctx.router.rememberGroup(g.AutoScalingGroupName, r);
      groups.set(g.AutoScalingGroupName, (g.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])));
    }

    const ids = [...new Set([...groups.values()].flat())];
    const described = ids.length > 0 ? await this.describeInstances(r, { ids }, signal) : [];
    const instances = new Map(described.flatMap((i) => (i.InstanceId ? [[i.InstanceId, i] as const] : [])));
    const clusters = wanted.flatMap((w): ClusterRef[] => {
      const members = groups.get(w.asg);
      if (!members) return []; // the group lives in another region
      const ids = members.filter((id) => {
        const i = instances.get(id);
        return i !== undefined && !isSpare(i);
      });
      return [{ name: w.name, engine: w.engine, instanceIds: ids.sort(), source: 'asg', asg: w.asg }];
    });
    return { instances, clusters };
  }

  private async securityGroupClusters(r: RegionClients, signal?: AbortSignal): Promise<RegionFinding> {
    const wanted = this.ctx.config.discovery.securityGroupClusters;
    const described = await this.describeInstances(
      r,
      { filters: [{ Name: 'instance.group-id', Values: [...new Set(wanted.map((w) => w.securityGroup))] }] },
      signal,
    );
    const instances = new Map(described.flatMap((i) => (i.InstanceId ? [[i.InstanceId, i] as const] : [])));
    const clusters = wanted.flatMap((w): ClusterRef[] => {
      const ids = described
        .filter((i) => !isSpare(i) && i.SecurityGroups?.some((g) => g.GroupId === w.securityGroup))
        .flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
      return ids.length > 0 ? [{ name: w.name, engine: w.engine, instanceIds: ids.sort(), source: 'security-group' }] : [];
    });
    return { instances, clusters };
  }

  /**
   * Every page of DescribeInstances, live states only, readiness tag applied.
   * By id: no MaxResults (EC2 rejects it together with InstanceIds), chunks instead.
   */
  private async describeInstances(
    r: RegionClients,
    query: { filters?: Filter[]; ids?: string[] },
    signal?: AbortSignal,
  ): Promise<Ec2Instance[]> {
    const ready = this.ctx.config.discovery.readinessTag;
    const Filters: Filter[] = [
      ...(query.filters ?? []),
      { Name: 'instance-state-name', Values: LIVE_STATES },
      ...(ready ? [{ Name: `tag:${ready.key}`, Values: [ready.value] }] : []),
    ];
    const requests = query.ids
      ? chunk(query.ids, IDS_PER_DESCRIBE).map((InstanceIds) => ({ InstanceIds, Filters }))
      : [{ Filters, MaxResults: PAGE_SIZE }];
    const out: Ec2Instance[] = [];
    for (const input of requests) {
      let NextToken: string | undefined;
      do {
        const page = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, profile: r.profile, doing: 'listing instances' }, () =>
          r.ec2.send(new DescribeInstancesCommand({ ...input, NextToken }), { abortSignal: signal }),
        );
        for (const res of page.Reservations ?? []) out.push(...(res.Instances ?? []));
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }

  private async statusChecks(r: RegionClients, instances: Ec2Instance[], signal?: AbortSignal): Promise<Map<string, StatusChecks>> {
    // Only running instances have status checks; asking about the others is wasted.
    const running = instances.filter((i) => i.State?.Name === 'running').flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
    const out = new Map<string, StatusChecks>();
    if (running.length === 0) return out;
    const wanted = new Set(running);
    const requests =
      running.length <= STATUS_BY_ID_LIMIT
        ? chunk(running, STATUS_IDS_PER_CALL).map((InstanceIds) => ({ InstanceIds }))
        : [{ MaxResults: PAGE_SIZE }];
    for (const input of requests) {
      let NextToken: string | undefined;
      do {
        const page = await call(this.ctx, { action: 'ec2:DescribeInstanceStatus', region: r.region, profile: r.profile, doing: 'reading status checks' }, () =>
          r.ec2.send(new DescribeInstanceStatusCommand({ ...input, NextToken }), { abortSignal: signal }),
        );
        for (const s of page.InstanceStatuses ?? []) {
          if (s.InstanceId && wanted.has(s.InstanceId)) out.set(s.InstanceId, toStatusChecks(s));
        }
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }
}

/** A remembered finding to show again: copies, since callers may change what they are given. */
function copyFinding(found: ScopeFinding): ScopeFinding {
  return {
    scope: found.scope,
    instances: found.instances.map((i) => ({ ...i })),
    clusters: found.clusters.map((c) => ({ ...c, instanceIds: [...c.instanceIds] })),
    devices: found.devices,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
