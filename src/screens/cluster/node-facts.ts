// Judgements about one node that the cluster and node screens both show:
// freshness, repair age, CPU history. Pure; `now` is passed in.

import type { MetricPoint, NodeView, ThreadState } from '../../domain/types.js';
import { formatAge, formatSeconds } from '../../ui/format.js';
import type { ScreenThresholds } from '../console-context.js';

export interface Freshness {
  isStale: boolean;
  /** "3 s" or "stale 42 s". */
  text: string;
}

/** Stale when the last probe failed, or when no probe has succeeded for a few refresh intervals. */
export function freshness(node: NodeView, now: number, refreshSeconds: number, thresholds: ScreenThresholds): Freshness {
  // updatedAt 0 (or absent) means no probe has ever succeeded: an age since 1970 helps nobody.
  if (!(node.updatedAt > 0)) return { isStale: true, text: '▲ no data' };
  const ageMs = now - node.updatedAt;
  const isStale = node.stale || ageMs > thresholds.staleAfterRefreshes * refreshSeconds * 1000;
  const age = formatAge(node.updatedAt, now);
  return { isStale, text: isStale ? `▲ stale ${age}` : age };
}

export interface RepairAge {
  isOverdue: boolean;
  /** "12 d ago", "never", "? (bad tag)". */
  text: string;
  ageSeconds: number | null;
}

/** The age comes from the poller, measured on the fleet's clock (virtual on the sim), not the wall clock. */
export function repairAge(node: NodeView, gcGraceSeconds: number): RepairAge {
  if (!node.lastRepaired) return { isOverdue: true, text: 'never', ageSeconds: null };
  if (node.repairAgeSeconds === undefined) return { isOverdue: true, text: `? bad tag "${node.lastRepaired}"`, ageSeconds: null };
  const ageSeconds = node.repairAgeSeconds;
  return { isOverdue: ageSeconds > gcGraceSeconds, text: `${formatSeconds(ageSeconds)} ago`, ageSeconds };
}

/**
 * The last `windowMs` of a series in `buckets` slots, the highest value per
 * slot (a spike must not average away). The right edge is the newest point,
 * not the wall clock, so a simulated clock that runs fast still draws.
 */
export function bucketize(points: readonly MetricPoint[], buckets: number, windowMs = 30 * 60_000): number[] {
  if (buckets <= 0 || points.length === 0) return [];
  let end = -Infinity;
  for (const p of points) if (p.t > end) end = p.t;
  const start = end - windowMs;
  const slot = windowMs / buckets;
  const out: number[] = new Array<number>(buckets).fill(Number.NaN);
  for (const p of points) {
    if (p.t <= start) continue;
    const i = Math.min(buckets - 1, Math.floor((p.t - start) / slot));
    const prev = out[i] ?? Number.NaN;
    out[i] = Number.isNaN(prev) ? p.v : Math.max(prev, p.v);
  }
  // Drop empty slots at the left (a node younger than the window), keep gaps inside.
  const first = out.findIndex((v) => !Number.isNaN(v));
  return first < 0 ? [] : out.slice(first);
}

export function latestValue(points: readonly MetricPoint[] | undefined): number | undefined {
  if (!points || points.length === 0) return undefined;
  let latest = points[0];
  for (const p of points) if (latest && p.t > latest.t) latest = p;
  return latest?.v;
}

const THREAD: Record<ThreadState, string> = { Yes: 'Yes', No: 'No', Connecting: 'Conn' };

/** "Yes/Yes", "No/Yes", "Conn/Yes" as IO/SQL; a dash for a node that is not a replica. */
export function threadsText(node: NodeView): string {
  if (node.facts?.kind !== 'mysql') return '—';
  const r = node.facts.mysql.replica;
  if (!r) return '—';
  return `${THREAD[r.ioThread]}/${THREAD[r.sqlThread]}`;
}

export function isReplicaNode(node: NodeView): boolean {
  return node.facts?.kind === 'mysql' && node.facts.mysql.replica !== undefined;
}
