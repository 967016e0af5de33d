// The fleet as last seen: plain data, written by the poller, read by screens
// and by `ls`. A vanilla store made per console (and per test).

import { createStore, type StoreApi } from 'zustand/vanilla';
import { cleanForTerminal } from '../domain/terminal-text.js';
import { fleetFindings, type FleetFinding } from '../domain/findings.js';
import { clusterKey, regionsOf } from '../domain/scope.js';
import type { ScopeStatus } from '../backends/ports.js';
import type { ClusterView, Target } from '../domain/types.js';

/**
 * One account and region as the screens show it: ScopeStatus with `at` in
 * real time (epoch ms, as refreshedAt), so the header ages it against the
 * same clock as the rest; on the simulated fleet the fleet's clock may run
 * faster than real time.
 */
export type ScopeView = ScopeStatus;

export interface FleetState {
  target: Target;
  /** Sorted: worst health first, then by name. */
  clusters: ClusterView[];
  /** Epoch ms (real time) when the oldest data shown was probed; null before the first refresh. */
  refreshedAt: number | null;
  /** How long the last refresh (or rolling tick) took, ms. */
  refreshMs: number | null;
  /** A big fleet is refreshed a slice at a time, so the data shown is of different ages (see Poller). */
  isRolling: boolean;
  isRefreshing: boolean;
  /** While a refresh of the whole fleet is published a slice at a time: clusters done so far, of how many. */
  progress: { done: number; total: number } | null;
  /** False until the whole fleet has been seen once: before that, the clusters shown are the first few done. */
  hasWholeFleet: boolean;
  /** Why the last discovery failed, if it did (the clusters shown are the last good ones). */
  error: string | null;
  /** The refresh interval, so screens can tell how fresh a row is. */
  refreshSeconds: number;
  /** What the backends say of themselves and spans clusters (a region's API throttling), set by the poller. */
  apiFindings: FleetFinding[];
  /**
   * Each account and region's discovery as last tried, where the target has
   * several (Discovery.scopes); empty where it has none. A scope marked here
   * is stale alone: its rows keep their last views, the others are fresh.
   */
  scopes: ScopeView[];
  actions: {
    /** `progress`: part of a whole refresh, which goes on (the store stays refreshing). */
    setClusters(
      clusters: ClusterView[],
      refreshedAt: number,
      refreshMs: number,
      isRolling?: boolean,
      progress?: { done: number; total: number },
    ): void;
    setRefreshing(isRefreshing: boolean): void;
    setError(error: string | null): void;
    setTarget(target: Target): void;
    setApiFindings(findings: FleetFinding[]): void;
    setScopes(scopes: ScopeView[]): void;
  };
}

export type FleetStore = StoreApi<FleetState>;

export function createFleetStore(init: { target: Target; refreshSeconds: number }): FleetStore {
  return createStore<FleetState>()((set) => ({
    target: init.target,
    clusters: [],
    refreshedAt: null,
    refreshMs: null,
    isRolling: false,
    isRefreshing: false,
    progress: null,
    hasWholeFleet: false,
    error: null,
    refreshSeconds: init.refreshSeconds,
    apiFindings: [],
    scopes: [],
    actions: {
      setClusters: (clusters, refreshedAt, refreshMs, isRolling = false, progress) =>
        set((s) => ({
          clusters,
          refreshedAt,
          refreshMs,
          isRolling,
          isRefreshing: progress !== undefined,
          progress: progress ?? null,
          hasWholeFleet: s.hasWholeFleet || progress === undefined,
          error: null,
        })),
      setRefreshing: (isRefreshing) => set({ isRefreshing }),
      // Discovery errors quote AWS, which may quote what anyone wrote (a tag): shown, not obeyed.
      setError: (error) => set({ error: error === null ? null : cleanForTerminal(error), isRefreshing: false, progress: null }),
      setTarget: (target) => set({ target }),
      setApiFindings: (apiFindings) => set({ apiFindings }),
      // Errors quote AWS (and so anyone who wrote what it quotes): shown, not obeyed.
      setScopes: (scopes) =>
        set({ scopes: scopes.map((sc) => (sc.error === undefined ? sc : { ...sc, error: cleanForTerminal(sc.error, { multiline: false }) })) }),
    },
  }));
}

// Selectors: plain functions.

let spanningMemo: { clusters: ClusterView[]; api: FleetFinding[]; out: FleetFinding[] } | undefined;
/** Every finding that spans clusters, the API's first (they explain the rest): the same list `ls` prints. */
export function selectFleetFindings(s: FleetState): FleetFinding[] {
  if (spanningMemo?.clusters !== s.clusters || spanningMemo.api !== s.apiFindings) {
    spanningMemo = { clusters: s.clusters, api: s.apiFindings, out: [...s.apiFindings, ...fleetFindings(s.clusters)] };
  }
  return spanningMemo.out;
}
export const selectClusters = (s: FleetState) => s.clusters;
export const selectTarget = (s: FleetState) => s.target;

/** The clusters by key, made once per published list: a cluster screen looks its cluster up on every store update. */
const byKey = new WeakMap<readonly ClusterView[], Map<string, ClusterView>>();
/** The cluster with this key (clusterKey: account/region/name; the bare name where there is no scope). */
export const selectCluster = (key: string) => (s: FleetState) => findCluster(s.clusters, key);

/** The cluster with this key among `clusters`. */
export function findCluster(clusters: readonly ClusterView[], key: string): ClusterView | undefined {
  let map = byKey.get(clusters);
  if (!map) byKey.set(clusters, (map = new Map(clusters.map((c) => [clusterKey(c), c]))));
  return map.get(key);
}

const scopeShownMemo = new WeakMap<readonly ClusterView[], boolean>();
/**
 * Whether the screens name each cluster's region (and account): when more
 * than one region or account is in view. With one, they look as they did
 * before regions, though an AWS cluster carries its region all the same.
 */
export const selectIsScopeShown = (s: FleetState): boolean => {
  let shown = scopeShownMemo.get(s.clusters);
  if (shown === undefined) {
    const accounts = new Set(s.clusters.map((c) => c.account).filter((a) => a !== undefined));
    shown = regionsOf(s.clusters).length > 1 || accounts.size > 1;
    scopeShownMemo.set(s.clusters, shown);
  }
  return shown;
};
export const selectScopes = (s: FleetState) => s.scopes;
