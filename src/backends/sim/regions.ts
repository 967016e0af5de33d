// The regions a simulated fleet models, and those in view. Apart from the
// rest of the sim, so the config can check `--regions` and `--region`
// without loading the simulated fleet at every start.

/**
 * The regions a fleet of several spreads over, in this order (`--regions N`
 * takes the first N). A one-region world names none: its instances and
 * clusters carry no region, as before regions existed.
 */
export const SIM_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'] as const;
export const MAX_SIM_REGIONS = SIM_REGIONS.length;

/** The regions of a world of `count` regions; empty for one (a world without regions). */
export function simRegions(count: number): string[] {
  return count > 1 ? SIM_REGIONS.slice(0, count) : [];
}

/**
 * The regions in view (`--region` on a fleet of several): discovery lists
 * them alone and the ports act in them alone, as a console given one
 * region's APIs would. Route 53 is global, so DNS is not narrowed; nor is
 * ssh, which reaches any address.
 */
export class RegionView {
  /** Empty: every region the world models. */
  constructor(readonly regions: readonly string[] = []) {}

  /** True for a region in view, and for what has no region (a one-region world). */
  has(region: string | undefined): boolean {
    return region === undefined || this.regions.length === 0 || this.regions.includes(region);
  }
}
