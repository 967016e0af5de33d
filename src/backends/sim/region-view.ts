// The regions in view on a simulated fleet of several (`--region` narrows
// it): discovery lists them alone and the ports act in them alone, as a
// console given one region's APIs would. Route 53 is global, so DNS is not
// narrowed; nor is ssh, which reaches any address.

export class RegionView {
  /** Empty: every region the world models. */
  constructor(readonly regions: readonly string[] = []) {}

  /** True for a region in view, and for what has no region (a one-region world). */
  has(region: string | undefined): boolean {
    return region === undefined || this.regions.length === 0 || this.regions.includes(region);
  }
}
