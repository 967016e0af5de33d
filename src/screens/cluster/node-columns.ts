// The cluster table: one row per node. Columns depend on the engine (lag and
// threads for MySQL, ring status and repair age for Cassandra).

import type { EngineKind, MetricPoint, NodeView } from '../../domain/types.js';
import type { Column } from '../../ui/columns.js';
import { formatLag } from '../../ui/format.js';
import { healthColour, healthText } from '../../ui/status-glyphs.js';
import { sparkline } from '../../ui/sparkline.js';
import type { ScreenThresholds } from '../console-context.js';
import { bucketize, freshness, isReplicaNode, latestValue, repairAge, threadsText } from './node-facts.js';

export interface NodeColumnContext {
  engine: EngineKind;
  now: number;
  refreshSeconds: number;
  thresholds: ScreenThresholds;
  /** Widest texts among the rows: columns fit their content instead of reserving the worst case. */
  widths: { name: number; fresh: number; threads: number; lag?: number };
}

const SPARK = 6;

const cpuTexts = new WeakMap<readonly MetricPoint[], string>();

/** The sparkline and latest CPU; drawn once per series, not on every frame (the store keeps a series while it is unchanged). */
export function cpuText(node: NodeView): string {
  const points = node.metrics?.cpu;
  if (!points) return '—';
  let text = cpuTexts.get(points);
  if (text === undefined) {
    const latest = latestValue(points);
    text = latest === undefined ? '—' : `${sparkline(bucketize(points, SPARK), SPARK)} ${Math.round(latest)}`.padStart(SPARK + 4);
    cpuTexts.set(points, text);
  }
  return text;
}

export function nodeColumns(ctx: NodeColumnContext): Column<NodeView>[] {
  const { engine, now, refreshSeconds, thresholds } = ctx;
  const cols: Column<NodeView>[] = [
    { id: 'name', header: 'NODE', width: Math.min(26, Math.max(6, ctx.widths.name)), priority: 1, text: (n) => n.instance.name || n.instance.id },
    { id: 'id', header: 'INSTANCE', width: 19, priority: 7, text: (n) => n.instance.id },
  ];
  if (engine === 'mysql') {
    cols.push({ id: 'role', header: 'ROLE', width: 7, priority: 1, text: (n) => n.role, isBold: (n) => n.role === 'master' });
  } else if (engine === 'cassandra') {
    cols.push({
      id: 'ring',
      header: 'RING',
      width: 4,
      priority: 1,
      text: (n) => (n.facts?.kind === 'cassandra' ? n.facts.cassandra.status : '?'),
      colour: (n) => (n.facts?.kind === 'cassandra' && n.facts.cassandra.status !== 'UN' ? 'red' : undefined),
    });
  } else {
    cols.push({ id: 'role', header: 'ROLE', width: 7, priority: 5, text: (n) => n.role });
  }
  cols.push(
    { id: 'az', header: 'AZ', width: 10, priority: 2, text: (n) => n.instance.az },
    {
      id: 'state',
      header: 'STATE',
      width: 7,
      priority: 4,
      text: (n) => n.instance.state,
      colour: (n) => (n.instance.state === 'running' ? undefined : 'red'),
    },
    { id: 'cpu', header: 'CPU 30m %', width: SPARK + 4, align: 'right', priority: 3, text: cpuText },
  );
  if (engine === 'mysql') {
    cols.push(
      { id: 'lag', header: 'LAG', width: Math.max(6, ctx.widths.lag ?? 0), align: 'right', priority: 1, text: (n) => formatLag(n.lagSeconds, isReplicaNode(n)) },
      { id: 'threads', header: 'IO/SQL', width: Math.max(6, ctx.widths.threads), priority: 1, text: threadsText },
    );
  }
  if (engine === 'cassandra') {
    cols.push({
      id: 'repair',
      header: 'REPAIRED',
      width: 10,
      priority: 1,
      text: (n) => {
        const r = repairAge(n, thresholds.gcGraceSeconds);
        return r.isOverdue ? `✗ ${r.text}` : r.text;
      },
      colour: (n) => (repairAge(n, thresholds.gcGraceSeconds).isOverdue ? 'red' : undefined),
    });
  }
  cols.push(
    {
      id: 'health',
      header: 'HEALTH',
      // The reason is what the engineer acts on: at 80 columns it wins over the CPU sparkline,
      // which the detail line under the table and the node screen still show.
      width: 18,
      minWidth: 10,
      grow: 3,
      priority: 1,
      text: (n) => healthText(n.health.level, n.health.reason),
      colour: (n) => healthColour(n.health.level),
    },
    {
      id: 'fresh',
      header: 'AGE',
      // Capped, so an odd age can never push the AZ or the lag off an 80-column screen.
      width: Math.min(12, Math.max(3, ctx.widths.fresh)),
      align: 'right',
      priority: 1,
      text: (n) => freshness(n, now, refreshSeconds, thresholds).text,
      colour: (n) => (freshness(n, now, refreshSeconds, thresholds).isStale ? 'yellow' : undefined),
    },
  );
  return cols;
}

export function nodeHaystack(n: NodeView): string {
  return [n.instance.name, n.instance.id, n.instance.az, n.role, n.instance.state, n.health.level, n.health.reason]
    .join(' ')
    .toLowerCase();
}
