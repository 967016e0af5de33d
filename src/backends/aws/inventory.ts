// Discovery (clusters by tag, Auto Scaling Group or security group) and tags.

import { compareNames } from '../../domain/names.js';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  type Filter,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import { SPARE_TAG, type ClusterRef, type EngineKind, type Instance, type StatusChecks } from '../../domain/types.js';
import type { CallOptions, Discovery, Inventory, ScalingGroup } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
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

/** Group names wanted, by region. */
type WantedGroups = Map<string, Set<string>>;

/** One region's groups as last read well. */
interface RegionGroups {
  at: number;
  groups: ScalingGroup[];
}

export class AwsInventory implements Inventory {
  /** Per region, the groups as last read well: a region whose read fails keeps its last answer until it is too old. */
  private readonly groupsRead = new Map<string, RegionGroups>();
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

  async discover(opts: CallOptions & { withGroups?: boolean } = {}): Promise<Discovery> {
    const perRegion = await Promise.all(this.ctx.router.all.map((r) => this.discoverRegion(r, opts.signal)));
    const instances: Instance[] = [];
    const clusters = new Map<string, ClusterRef>();
    for (const found of perRegion) {
      for (const inst of found.instances) instances.push(inst);
      // A cluster may span regions (a Cassandra ring with a DC per region): one name, one cluster.
      for (const c of found.clusters) {
        const known = clusters.get(c.name);
        if (known) known.instanceIds.push(...c.instanceIds);
        else clusters.set(c.name, { ...c, instanceIds: [...c.instanceIds] });
      }
    }
    const sorted = [...clusters.values()].sort((a, b) => compareNames(a.name, b.name));
    const wanted = this.wantedGroups(sorted, instances);
    // Started, never awaited: the groups and volume statuses of this round show on a later one.
    this.refreshGroupsIfDue(wanted, instances);
    this.volumeStatus.refreshIfDue(perRegion.filter((found) => found.instances.length > 0).map((found) => found.region));
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
    for (const found of perRegion) {
      for (const inst of found.instances) {
        const volumes = this.volumeStatus.forInstance(found.region, inst.id);
        if (!volumes) continue;
        const devices = found.devices.get(inst.id);
        inst.volumes = volumes.map((v) => {
          const device = devices?.get(v.volumeId);
          return device ? { ...v, device } : v;
        });
      }
    }
    const groups = this.groupsFor(wanted);
    return { instances, clusters: sorted, ...(groups ? { groups } : {}) };
  }

  async setTags(instanceId: string, tags: Record<string, string>, opts: CallOptions = {}): Promise<void> {
    const r = this.ctx.router.forInstance(instanceId);
    const doing = `tagging ${instanceId}`;
    // Tagging is idempotent, and a runbook tags right after a fence or a promotion: a busy API is waited out.
    await retryThrottled({ clock: this.ctx.clock, what: doing, ...(opts.signal ? { signal: opts.signal } : {}) }, () =>
      call(this.ctx, { action: 'ec2:CreateTags', region: r.region, doing }, () =>
        r.ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: tagList(tags) }), { abortSignal: opts.signal }),
      ),
    );
  }

  async deleteTags(instanceId: string, keys: string[], opts: CallOptions = {}): Promise<void> {
    if (keys.length === 0) return;
    const r = this.ctx.router.forInstance(instanceId);
    await call(this.ctx, { action: 'ec2:DeleteTags', region: r.region, doing: `removing tags from ${instanceId}` }, () =>
      r.ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: keys.map((Key) => ({ Key })) }), {
        abortSignal: opts.signal,
      }),
    );
  }

  // ------------------------------------------------------------ groups

  /** The groups the clusters' members name (aws:autoscaling:groupName) and the clusters found by group, each in its region. */
  private wantedGroups(clusters: ClusterRef[], instances: Instance[]): WantedGroups {
    const members = new Set(clusters.flatMap((c) => c.instanceIds));
    const names = new Set<string>();
    for (const c of clusters) if (c.asg) names.add(c.asg);
    for (const i of instances) if (i.asg && members.has(i.id)) names.add(i.asg);
    const wanted: WantedGroups = new Map();
    for (const name of names) {
      // Learnt by discovery; a group seen in no region (several in view) is left out.
      const r = this.ctx.router.forGroup(name);
      if (!r) continue;
      const set = wanted.get(r.region) ?? new Set<string>();
      set.add(name);
      wanted.set(r.region, set);
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
        for (const [region, groups] of regions) this.groupsRead.set(region, { at, groups });
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
  ): Promise<{ regions: Map<string, ScalingGroup[]>; problems: string[] }> {
    const asked = [...wanted].map(([region, names]) => ({ r: this.ctx.router.region(region), names: [...names].sort() }));
    const settled = await Promise.allSettled(
      asked.map(async ({ r, names }) => {
        const raw = await describeGroups(this.ctx, r, names, "reading the clusters' Auto Scaling groups", signal);
        const templates = await readTemplates(this.ctx, r, raw, "reading their launch templates", signal);
        return raw.map((g) => toScalingGroup(g, templates, memberTag));
      }),
    );
    const regions = new Map<string, ScalingGroup[]>();
    const problems: string[] = [];
    settled.forEach((s, k) => {
      const { r, names } = asked[k]!;
      if (s.status === 'rejected') {
        problems.push(`groups ${names.join(', ')} not read, so no launch template drift is shown for them: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`);
        return;
      }
      regions.set(r.region, s.value.map((read) => read.group));
      for (const read of s.value) if (read.unresolved) problems.push(`${read.unresolved} in ${r.region}`);
    });
    return { regions, problems };
  }

  /** The wanted groups as last read, copied (callers may keep or change them); undefined when none were read or the read is too old. */
  private groupsFor(wanted: WantedGroups): ScalingGroup[] | undefined {
    const now = this.ctx.clock.now();
    let out: ScalingGroup[] | undefined;
    for (const [region, names] of wanted) {
      const read = this.groupsRead.get(region);
      if (!read || now - read.at > GROUPS_MAX_AGE_MS) continue;
      out = [...(out ?? []), ...read.groups.filter((g) => names.has(g.name)).map((g) => structuredClone(g))];
    }
    return out;
  }

  // ------------------------------------------------------------ one region

  private async discoverRegion(
    r: RegionClients,
    signal?: AbortSignal,
  ): Promise<{ region: string; instances: Instance[]; clusters: ClusterRef[]; devices: Map<string, Map<string, string>> }> {
    const d = this.ctx.config.discovery;
    const [byTag, byAsg, bySg] = await Promise.all([
      this.describeInstances(r, { filters: [{ Name: 'tag-key', Values: [d.clusterTag] }] }, signal),
      d.asgClusters.length > 0 ? this.asgClusters(r, signal) : undefined,
      d.securityGroupClusters.length > 0 ? this.securityGroupClusters(r, signal) : undefined,
    ]);

    const all = new Map<string, Ec2Instance>();
    for (const i of byTag) if (i.InstanceId) all.set(i.InstanceId, i);
    const found: RegionFinding = { instances: all, clusters: this.tagClusters(byTag) };
    for (const extra of [byAsg, bySg]) {
      if (!extra) continue;
      for (const [id, i] of extra.instances) all.set(id, i);
      found.clusters.push(...extra.clusters);
    }

    const statuses = await this.statusChecks(r, [...all.values()], signal);
    // Where each volume is attached, by instance: a volume status names the volume, the instance names its device.
    const devices = new Map<string, Map<string, string>>();
    const instances = [...all.values()].map((i) => {
      const inst = toInstance(i, statuses.get(i.InstanceId ?? '') ?? 'unknown');
      this.ctx.router.rememberInstance(inst.id, r.region);
      if (inst.asg) this.ctx.router.rememberGroup(inst.asg, r.region);
      const mapped = (i.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.VolumeId && b.DeviceName ? [[b.Ebs.VolumeId, b.DeviceName] as const] : []));
      if (mapped.length > 0) devices.set(inst.id, new Map(mapped));
      return inst;
    });
    return { region: r.region, instances, clusters: found.clusters, devices };
  }

  private tagClusters(instances: Ec2Instance[]): ClusterRef[] {
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
        engine: tagged ?? this.ctx.config.clusters[name]?.engine ?? 'generic',
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
      this.ctx.router.rememberGroup(g.AutoScalingGroupName, r.region);
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
        const page = await call(this.ctx, { action: 'ec2:DescribeInstances', region: r.region, doing: 'listing instances' }, () =>
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
        const page = await call(this.ctx, { action: 'ec2:DescribeInstanceStatus', region: r.region, doing: 'reading status checks' }, () =>
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
