// Each account and region's freshness, as the header and the fleet screen say
// it: a region whose API fails or throttles is stale alone, and says so on its
// own rows and in the header, while the other regions' rows stay fresh.

import type { ScopeStatus } from '../backends/ports.js';
import type { ClusterScope } from '../domain/scope.js';
import { formatAge } from './format.js';

export interface ScopeFreshness {
  scope: ScopeStatus;
  /** `eu-west-1`, or `prod eu-west-1` when several accounts are in view (the profile reads better than 12 digits). */
  label: string;
  isStale: boolean;
  /** `us-east-1 3 s`, `eu-west-1 stale 2 m`, `eu-west-1 stale (no answer yet)`. */
  text: string;
}

/** The account as a person named it: the profile, else the account id. */
export function accountName(scope: Pick<ScopeStatus, 'account' | 'profile'>): string | undefined {
  return scope.profile ?? scope.account;
}

/**
 * Stale: its last try failed or was throttled, it never answered, or its
 * last answer is older than `staleAfterMs` (the same rule as the header's).
 */
export function isScopeStale(scope: ScopeStatus, now: number, staleAfterMs: number): boolean {
  return scope.error !== undefined || scope.throttled === true || scope.at === undefined || now - scope.at > staleAfterMs;
}

export function scopeFreshness(scope: ScopeStatus, now: number, staleAfterMs: number, hasAccounts: boolean): ScopeFreshness {
  const who = hasAccounts ? accountName(scope) : undefined;
  const label = who !== undefined ? `${who} ${scope.region}` : scope.region;
  const isStale = isScopeStale(scope, now, staleAfterMs);
  const age = scope.at === undefined ? '(no answer yet)' : formatAge(scope.at, now);
  return { scope, label, isStale, text: isStale ? `${label} stale ${age}` : `${label} ${age}` };
}

/** Whether the scopes span several accounts (then each is named with its account). */
export function hasSeveralAccounts(scopes: readonly ScopeStatus[]): boolean {
  return new Set(scopes.map((s) => s.account ?? s.profile).filter((a) => a !== undefined)).size > 1;
}

/** The scope a cluster was discovered in: same region, and same account when the cluster names one. */
export function scopeOf(cluster: ClusterScope, scopes: readonly ScopeStatus[]): ScopeStatus | undefined {
  if (cluster.region === undefined) return undefined;
  return scopes.find((s) => s.region === cluster.region && (cluster.account === undefined || s.account === cluster.account));
}

/**
 * The scopes in words, most said first: every one with its age; then the
 * stale ones with a count of the fresh rest (`eu-west-1 stale 2 m · +3
 * fresh`); then counts alone. The header takes the first that fits.
 */
export function scopesTexts(fresh: readonly ScopeFreshness[]): string[] {
  const all = fresh.map((f) => f.text).join(' · ');
  const stale = fresh.filter((f) => f.isStale);
  const rest = fresh.length - stale.length;
  const staleFirst = [...stale.map((f) => f.text), ...(rest > 0 ? [`+${rest} fresh`] : [])].join(' · ');
  const counts = stale.length > 0 ? `${stale.length} of ${fresh.length} regions stale` : `${fresh.length} regions fresh`;
  return stale.length > 0 ? [all, staleFirst, counts] : [all, counts];
}
