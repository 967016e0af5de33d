// What the fleet screen spells out in full, wrapped to the width: the
// selected cluster's every reason (under the table) and the findings that span
// clusters (at the top). The table's HEALTH and FINDINGS columns show only the
// start of the first.

import { compareLevel } from '../../domain/health.js';
import type { FleetFinding } from '../../domain/findings.js';
import type { ClusterView, HealthLevel } from '../../domain/types.js';
import type { TextLine } from '../../ui/detail-line.js';
import { HEALTH_STYLE, healthColour } from '../../ui/status-glyphs.js';
import { levelLines, runbookHint } from '../finding-lines.js';
import { wrapUnder } from '../../ui/format.js';

interface Reason {
  level: HealthLevel;
  text: string;
  suggests?: string | undefined;
}

/**
 * The cluster's reasons as the domain wrote them (its findings, then the
 * nodes that are not OK), each with its own level and runbook, worst first.
 */
function reasonsOf(c: ClusterView): Reason[] {
  const out = c.health.reasons.map((text): Reason => {
    const finding = c.findings.find((f) => f.message === text);
    if (finding) return { level: finding.level, text, suggests: finding.suggests };
    const node = c.nodes.find((n) => text.startsWith(`${n.instance.name}: `));
    return { level: node && node.health.level !== 'OK' ? node.health.level : c.health.level, text };
  });
  // Stable: the domain's order holds within a level.
  return out.sort((a, b) => compareLevel(b.level, a.level));
}

/**
 * "» billing-db: ✗ CRIT billing-db-02: lag 730 s > 300 s", then each further
 * reason on lines of its own ("  ▲ WARN redundancy below target…  R: rebuild"),
 * every one wrapped whole.
 */
export function clusterDetail(c: ClusterView, width: number, canStartRunbooks: boolean, name = c.name): TextLine[] {
  const reasons = reasonsOf(c);
  const [first, ...rest] = reasons.length > 0 ? reasons : [{ level: c.health.level, text: 'no problems found' }];
  const head = `» ${name}: ${HEALTH_STYLE[c.health.level].glyph} ${c.health.level} `;
  const lines: TextLine[] = wrapUnder(first!.text, width, head, 4, runbookHint(first!.suggests, canStartRunbooks)).map((text) => ({
    text,
    colour: healthColour(c.health.level),
  }));
  for (const r of rest) lines.push(...levelLines(r.level, r.text, width, runbookHint(r.suggests, canStartRunbooks), '  '));
  return lines;
}

/** One finding that spans clusters (an AZ gone dark, a region throttling), wrapped in its level's colour. */
export function spanningLines(findings: readonly FleetFinding[], width: number, canStartRunbooks: boolean): TextLine[] {
  return findings.flatMap((f) => levelLines(f.level, f.message, width, runbookHint(f.suggests, canStartRunbooks)));
}
