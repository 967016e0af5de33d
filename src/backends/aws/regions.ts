// Which clients serve a given instance, volume or group. A scope is one
// profile (account) in one region; with one scope that is trivial; with
// several, the router learns from discovery (and from what nightshift
// creates) rather than guessing from names alone. Instance, volume and
// snapshot ids are unique across accounts; group names are not, so groups are
// remembered per scope.

import type { RegionClients } from './clients.js';
import { AwsError } from './errors.js';

/** `us-east-1a` -> `us-east-1`; also Local Zones (`us-west-2-lax-1a`) and Wavelength zones. */
export function regionOfAz(az: string): string | undefined {
  return /^([a-z]{2}(?:-[a-z]+)+-\d+)/.exec(az)?.[1];
}

/** A scope in words for a sentence: `us-east-1`, or `us-east-1 (profile prod)` when several profiles are in view. */
export function scopeWords(r: Pick<RegionClients, 'region' | 'profile'>, severalProfiles: boolean): string {
  return severalProfiles && r.profile ? `${r.region} (profile ${r.profile})` : r.region;
}

export class RegionRouter {
  private readonly instances = new Map<string, RegionClients>();
  private readonly volumes = new Map<string, RegionClients>();
  /** Group name -> the scopes it was seen in (the same name may live in two accounts). */
  private readonly groups = new Map<string, Set<RegionClients>>();
  private readonly snapshots = new Map<string, RegionClients>();
  /** Cluster name -> the scopes it was discovered in: which account a new node or volume of it belongs to. */
  private readonly clusters = new Map<string, Set<RegionClients>>();
  /** Scope -> its account id, once STS has said (several profiles only). */
  private readonly accounts = new Map<string, string>();

  /** Every scope: each profile's regions, profiles in the configured order. */
  constructor(readonly all: RegionClients[]) {}

  /** The regions in view, each once, in the configured order. */
  get names(): string[] {
    return [...new Set(this.all.map((r) => r.region))];
  }

  /** The profiles in view, each once (empty for the default chain alone). */
  get profiles(): string[] {
    return [...new Set(this.all.flatMap((r) => (r.profile ? [r.profile] : [])))];
  }

  /** More than one profile: scopes are told apart by account as well as region. */
  get severalProfiles(): boolean {
    return this.profiles.length > 1;
  }

  setAccount(profile: string, account: string): void {
    this.accounts.set(profile, account);
  }

  /** The account id of a scope, when several profiles are in view and STS has answered. */
  accountOf(r: RegionClients): string | undefined {
    return r.profile ? this.accounts.get(r.profile) : undefined;
  }

  rememberInstance(id: string, r: RegionClients): void {
    this.instances.set(id, r);
  }
  rememberVolume(id: string, r: RegionClients): void {
    this.volumes.set(id, r);
  }
  rememberSnapshot(id: string, r: RegionClients): void {
    this.snapshots.set(id, r);
  }
  rememberGroup(name: string, r: RegionClients): void {
    const seen = this.groups.get(name) ?? new Set();
    seen.add(r);
    this.groups.set(name, seen);
  }

  rememberCluster(name: string, r: RegionClients): void {
    const seen = this.clusters.get(name) ?? new Set();
    seen.add(r);
    this.clusters.set(name, seen);
  }

  /**
   * The scope to create something in: the AZ's region, and where several
   * profiles share that region, the one the cluster (its cluster tag) was
   * discovered in.
   */
  forAz(az: string, cluster?: string): RegionClients {
    const name = regionOfAz(az);
    const here = this.all.filter((r) => r.region === name);
    if (here.length === 1) return here[0]!;
    if (here.length === 0) return this.only(`availability zone ${az}`);
    const owners = here.filter((r) => cluster !== undefined && this.clusters.get(cluster)?.has(r));
    if (owners.length === 1) return owners[0]!;
    throw new AwsError(
      'AmbiguousRegion',
      'not-found',
      `${az} is in view under several profiles (${here.map((r) => r.profile).join(', ')}) and ${
        cluster === undefined ? 'nothing names the cluster' : owners.length === 0 ? `cluster ${cluster} was seen in none of them` : `cluster ${cluster} is in each`
      }: cannot tell which account to create it in; refresh the fleet view, or open one profile's view (--profile)`,
      'none',
    );
  }

  forInstance(id: string): RegionClients {
    return this.instances.get(id) ?? this.only(`instance ${id}`);
  }

  forVolume(id: string): RegionClients {
    return this.volumes.get(id) ?? this.only(`volume ${id}`);
  }

  /** The scope a snapshot was seen in, if it was. */
  knownSnapshot(id: string): RegionClients | undefined {
    return this.snapshots.get(id);
  }

  forSnapshot(id: string): RegionClients {
    return this.snapshots.get(id) ?? this.only(`snapshot ${id}`);
  }

  /**
   * The scope a group lives in: `within` when it was seen there; else the one
   * scope it was seen in. Undefined when several scopes are in view and the
   * group has not been seen yet; refused when the name was seen in several
   * scopes and none was said.
   */
  forGroup(name: string, within?: RegionClients): RegionClients | undefined {
    const seen = this.groups.get(name);
    if (within) return seen?.has(within) || this.all.length === 1 ? within : undefined;
    if (seen && seen.size === 1) return [...seen][0];
    if (seen && seen.size > 1) {
      throw new AwsError(
        'AmbiguousGroup',
        'not-found',
        `group ${name} exists in ${[...seen].map((r) => scopeWords(r, this.severalProfiles)).join(' and ')}: one name, several groups, and a group is named by its name alone; act on it from a view of one of them (--region, --profile)`,
        'none',
      );
    }
    return this.all.length === 1 ? this.all[0] : undefined;
  }

  private only(what: string): RegionClients {
    if (this.all.length === 1 && this.all[0]) return this.all[0];
    throw new AwsError(
      'UnknownRegion',
      'not-found',
      `${what} has not been seen in any of ${this.names.join(', ')}: refresh the fleet view first`,
      'none',
    );
  }
}
