// The fleet table: one row per cluster, worst first (the store sorts).

import type { ClusterView, Finding, HealthLevel } from '../../domain/types.js';
import type { Column } from '../../ui/columns.js';
import { formatLag } from '../../ui/format.js';
import { HEALTH_STYLE, healthColour, healthText } from '../../ui/status-glyphs.js';

const RANK: Record<HealthLevel, number> = { CRIT: 0, WARN: 1, UNKNOWN: 2, OK: 3 };

function worstFinding(findings: readonly Finding[]): Finding | undefined {
  let worst: Finding | undefined;
  for (const f of findings) if (!worst || RANK[f.level] < RANK[worst.level]) worst = f;
  return worst;
}

export function findingsText(findings: readonly Finding[]): string {
  const first = worstFinding(findings);
  if (!first) return '—';
  return `${HEALTH_STYLE[first.level].glyph}${findings.length} ${first.message}`;
}

/**
 * Where each row lives, when several regions (or accounts) are in view: the
 * region (`eu-west-1`, `eu-west-1 stale` while that region's discovery is
 * stale) and the account, each column as wide as its longest cell.
 */
export interface ScopeCells {
  region(c: ClusterView): string;
  regionWidth: number;
  /** Absent with one account in view. */
  account?: (c: ClusterView) => string;
  accountWidth?: number;
}

/** The fleet columns; the name and lag columns are as wide as their longest text (within bounds), so reasons get the rest. */
export function fleetColumns(nameWidth: number, lagWidth = 0, scope?: ScopeCells): Column<ClusterView>[] {
  // Essential once shown: without them two `orders` rows could not be told apart.
  const scopeColumns: Column<ClusterView>[] = scope
    ? [
        ...(scope.account ? [{ id: 'account', header: 'ACCOUNT', width: Math.min(14, Math.max(7, scope.accountWidth ?? 0)), priority: 1, text: scope.account }] : []),
        {
          id: 'region',
          header: 'REGION',
          width: Math.max(6, scope.regionWidth),
          priority: 1,
          text: scope.region,
          colour: (c) => (scope.region(c).endsWith(STALE_MARK) ? 'yellow' : undefined),
        },
      ]
    : [];
  return [
    { id: 'name', header: 'CLUSTER', width: Math.min(28, Math.max(8, nameWidth)), priority: 1, text: (c) => c.name, isBold: (c) => c.health.level === 'CRIT' },
    ...scopeColumns,
    { id: 'engine', header: 'ENGINE', width: 9, priority: 4, text: (c) => c.engine },
    { id: 'nodes', header: 'NODES', width: 5, align: 'right', priority: 3, text: (c) => String(c.nodes.length) },
    {
      id: 'health',
      header: 'HEALTH',
      width: 20,
      minWidth: 12,
      grow: 4,
      priority: 1,
      text: (c) => healthText(c.health.level, c.health.reasons[0]),
      colour: (c) => healthColour(c.health.level),
    },
    // null means no replica lag applies (domain: worstLagSeconds), so a dash, not "?".
    { id: 'lag', header: 'LAG', width: Math.max(6, lagWidth), align: 'right', priority: 2, text: (c) => formatLag(c.worstLagSeconds, false) },
    {
      id: 'findings',
      header: 'FINDINGS',
      width: 12,
      grow: 1,
      priority: 2,
      text: (c) => findingsText(c.findings),
      colour: (c) => {
        const f = worstFinding(c.findings);
        return f ? healthColour(f.level) : undefined;
      },
    },
  ];
}

/** After a region in its cell while that region's discovery is stale (its rows are its last good picture). */
export const STALE_MARK = ' stale';

/** What the filter matches on: name, region and account, engine, health level and reasons, AZs. */
export function clusterHaystack(c: ClusterView): string {
  const azs = new Set(c.nodes.map((n) => n.instance.az));
  return [c.name, c.region ?? '', c.account ?? '', c.engine, c.health.level, ...c.health.reasons, ...azs].join(' ').toLowerCase();
}
