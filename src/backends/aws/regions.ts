// Which region's clients serve a given instance, volume or group. With one
// region that is trivial; with several, the router learns from discovery
// (and from what nightshift creates) rather than guessing from names alone.

import type { RegionClients } from './clients.js';
import { AwsError } from './errors.js';

/** `us-east-1a` -> `us-east-1`; also Local Zones (`us-west-2-lax-1a`) and Wavelength zones. */
export function regionOfAz(az: string): string | undefined {
  return /^([a-z]{2}(?:-[a-z]+)+-\d+)/.exec(az)?.[1];
}

export class RegionRouter {
  private readonly byName = new Map<string, RegionClients>();
  private readonly instances = new Map<string, string>();
  private readonly volumes = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private readonly snapshots = new Map<string, string>();

  constructor(readonly all: RegionClients[]) {
    for (const r of all) this.byName.set(r.region, r);
  }

  get names(): string[] {
    return this.all.map((r) => r.region);
  }

  region(name: string): RegionClients {
    const r = this.byName.get(name);
    if (!r) throw new AwsError('UnknownRegion', 'not-found', `region ${name} is not one nightshift is looking at (${this.names.join(', ')}): add it to aws.regions`, 'none');
    return r;
  }

  rememberInstance(id: string, region: string): void {
    this.instances.set(id, region);
  }
  rememberVolume(id: string, region: string): void {
    this.volumes.set(id, region);
  }
  rememberSnapshot(id: string, region: string): void {
    this.snapshots.set(id, region);
  }
  rememberGroup(name: string, region: string): void {
    this.groups.set(name, region);
  }

  forAz(az: string): RegionClients {
    const name = regionOfAz(az);
    if (name && this.byName.has(name)) return this.region(name);
    return this.only(`availability zone ${az}`);
  }

  forInstance(id: string): RegionClients {
    const name = this.instances.get(id);
    return name ? this.region(name) : this.only(`instance ${id}`);
  }

  forVolume(id: string): RegionClients {
    const name = this.volumes.get(id);
    return name ? this.region(name) : this.only(`volume ${id}`);
  }

  forSnapshot(id: string): RegionClients {
    const name = this.snapshots.get(id);
    return name ? this.region(name) : this.only(`snapshot ${id}`);
  }

  /** Undefined when several regions are in view and the group has not been seen yet. */
  forGroup(name: string): RegionClients | undefined {
    const region = this.groups.get(name);
    if (region) return this.region(region);
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
