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

/** The fleet columns; the name and lag columns are as wide as their longest text (within bounds), so reasons get the rest. */
export function fleetColumns(nameWidth: number, lagWidth = 0): Column<ClusterView>[] {
  return [
    { id: 'name', header: 'CLUSTER', width: Math.min(28, Math.max(8, nameWidth)), priority: 1, text: (c) => c.name, isBold: (c) => c.health.level === 'CRIT' },
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

/** What the filter matches on: name, engine, health level and reasons, AZs. */
export function clusterHaystack(c: ClusterView): string {
  const azs = new Set(c.nodes.map((n) => n.instance.az));
  return [c.name, c.engine, c.health.level, ...c.health.reasons, ...azs].join(' ').toLowerCase();
}
