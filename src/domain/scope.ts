// Where a cluster lives. A cluster is identified by its account, its region
// and its name: `orders` in us-east-1 and `orders` in eu-west-1 are two
// clusters, each with its own master, lock and runs. A part a target does not
// have is absent (a static inventory has neither; one AWS profile puts no
// account in the key, since there is only one).

import { compareNames } from './names.js';

export interface ClusterScope {
  /** The AWS account id, set only when several accounts are in one view. */
  account?: string;
  /** The region its instances are in; absent on a static inventory. */
  region?: string;
}

export interface ScopedName extends ClusterScope {
  name: string;
}

/**
 * The identity of a cluster inside one process: `account/region/name`, parts
 * it does not have left out. Not for the screen (see clusterLabel) and not for
 * files (journals record the parts; see lockKey for lock names).
 */
export function clusterKey(c: ScopedName): string {
  return [c.account, c.region, c.name].filter((part) => part !== undefined && part !== '').join('/');
}

/** The scope in words: `eu-west-1`, `123456789012 eu-west-1`, or '' when it has none. */
export function scopeText(s: ClusterScope): string {
  return [s.account, s.region].filter(Boolean).join(' ');
}

/** `orders · eu-west-1` (and the account when it is part of the identity); the bare name when it has no scope. */
export function clusterLabel(c: ScopedName): string {
  const scope = scopeText(c);
  return scope ? `${c.name} · ${scope}` : c.name;
}

/** A name safe in a file name for the cluster: `eu-west-1--orders`; the bare name when it has no scope (as before regions). */
export function lockKey(c: ScopedName): string {
  return [c.account, c.region, c.name].filter(Boolean).join('--');
}

/** Same account, region and name. */
export function sameCluster(a: ScopedName, b: ScopedName): boolean {
  return clusterKey(a) === clusterKey(b);
}

/** Natural order by name, then region, then account. */
export function compareScoped(a: ScopedName, b: ScopedName): number {
  return compareNames(a.name, b.name) || compareNames(a.region ?? '', b.region ?? '') || compareNames(a.account ?? '', b.account ?? '');
}

/** What a person asked for: a name, maybe narrowed by region and account (`--cluster orders --region eu-west-1`). */
export interface ClusterQuery {
  name: string;
  region?: string | undefined;
  account?: string | undefined;
}

export type Resolved<C> = { ok: true; cluster: C } | { ok: false; reason: string; candidates: C[] };

/**
 * The one cluster a query names, or why there is none: no such name (in that
 * region), or several (the candidates listed, each with the flag that picks it).
 */
export function resolveCluster<C extends ScopedName>(clusters: readonly C[], q: ClusterQuery): Resolved<C> {
  const named = clusters.filter((c) => c.name === q.name);
  const matches = named.filter((c) => (q.region === undefined || c.region === q.region) && (q.account === undefined || c.account === q.account));
  if (matches.length === 1) return { ok: true, cluster: matches[0]! };
  const narrowed = [q.region && `region ${q.region}`, q.account && `account ${q.account}`].filter(Boolean).join(', ');
  if (matches.length === 0) {
    if (named.length === 0) return { ok: false, reason: `no cluster named ${q.name}`, candidates: [] };
    return {
      ok: false,
      reason: `no cluster ${q.name} in ${narrowed}; it is in ${named.map((c) => scopeText(c) || 'no region').join(', ')}`,
      candidates: [...named].sort(compareScoped),
    };
  }
  const sorted = [...matches].sort(compareScoped);
  const how = sorted.map((c) => `${clusterLabel(c)} (${pickFlags(c, sorted)})`).join(', ');
  return { ok: false, reason: `${sorted.length} clusters are named ${q.name}: ${how}`, candidates: sorted };
}

/** The flags that pick `c` out of `among`: `--region eu-west-1`, and `--account …` when regions repeat. */
export function pickFlags(c: ScopedName, among: readonly ScopedName[]): string {
  const flags: string[] = [];
  if (c.region) flags.push(`--region ${c.region}`);
  const sameRegion = among.filter((o) => o.region === c.region);
  if (c.account && sameRegion.length > 1) flags.push(`--account ${c.account}`);
  return flags.join(' ');
}

/** The distinct regions among clusters, sorted; a region column appears when there are two or more. */
export function regionsOf(clusters: readonly ClusterScope[]): string[] {
  return [...new Set(clusters.map((c) => c.region).filter((r): r is string => r !== undefined))].sort();
}
