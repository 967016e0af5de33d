// One cluster, live: its findings on top, then a row per node.

import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { writerText } from '../../domain/cluster-view.js';
import type { ClusterView, Finding, NodeView } from '../../domain/types.js';
import { useFleet, useUi, useUiStore } from '../../store/context.js';
import { selectCluster, selectIsScopeShown, selectScopes } from '../../store/fleet.js';
import { isScopeStale, scopeOf } from '../../ui/scopes.js';
import { shownName } from '../../ui/cluster-name.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import { fit, formatLag, plural, wrapUnder } from '../../ui/format.js';
import { healthColour, healthText, HEALTH_STYLE } from '../../ui/status-glyphs.js';
import { compareLevel } from '../../domain/health.js';
import { capLines, detailLines, TextLines, type TextLine } from '../../ui/detail-line.js';
import { Line } from '../../ui/line.js';
import { placeColumns, Table } from '../../ui/table.js';
import { TitleLine } from '../../ui/title-line.js';
import { useClockValue, useNow } from '../../ui/use-now.js';
import { useConsole, type ScreenThresholds } from '../console-context.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { RUNBOOKS_KEY } from '../screen-keys.js';
import { levelLines, runbookHint } from '../finding-lines.js';
import { useListKeys } from '../use-list-keys.js';
import { freshness, isReplicaNode, latestValue, repairAge, threadsText } from './node-facts.js';
import type { Column } from '../../ui/columns.js';
import { cpuText, nodeColumns, nodeHaystack } from './node-columns.js';

export interface ClusterScreenProps {
  /** clusterKey: `orders` in two regions is two clusters, each with its own screen. */
  clusterKey: string;
  width: number;
  height: number;
  isActive: boolean;
}

const rowKey = (n: NodeView) => n.instance.id;
/**
 * Findings always get this many lines; more when the node table leaves rows
 * empty, so a long finding (split brain says what to do by hand) wraps
 * instead of losing its end at 80 columns.
 */
const MIN_FINDING_LINES = 4;
/** Rows of the node table kept however long the selected node's detail runs. */
const MIN_TABLE_ROWS = 3;

export function ClusterScreen({ clusterKey: key, width, height, isActive }: ClusterScreenProps) {
  const selectThis = useMemo(() => selectCluster(key), [key]);
  const cluster = useFleet(selectThis);
  const isScopeShown = useFleet(selectIsScopeShown);
  // `orders · eu-west-1` when several regions are in view; the key until the cluster is known.
  const name = cluster ? shownName(cluster, isScopeShown) : key;
  const refreshSeconds = useFleet((s) => s.refreshSeconds);
  const filter = useUi(selectFilter);
  const selection = useUi(selectSelection);
  const ui = useUiStore();
  const { thresholds, onRunbook } = useConsole();
  // Its region's discovery stale (failed, throttled, late): the members listed are as last seen there.
  const scopes = useFleet(selectScopes);
  const staleAfterMs = thresholds.staleAfterRefreshes * refreshSeconds * 1000;
  const isRegionStale = useClockValue((at) => {
    const scope = cluster ? scopeOf(cluster, scopes) : undefined;
    return scope !== undefined && isScopeStale(scope, at, staleAfterMs);
  });
  const staleLine =
    isRegionStale && cluster?.region !== undefined
      ? `${cluster.region} is stale: its discovery failed or is late, so these members are as last seen there`
      : undefined;
  const now = useNow();

  const nodes = cluster?.nodes;
  const rows = useMemo(
    () => (nodes && filter ? nodes.filter((n) => matchesFilter(nodeHaystack(n), filter)) : (nodes ?? [])),
    [nodes, filter],
  );
  const ids = useMemo(() => rows.map(rowKey), [rows]);
  const selected = resolveIndex(selection, ids);

  const canStartRunbooks = onRunbook !== undefined;
  const matched = cluster ? (filter ? `${rows.length} of ${plural(cluster.nodes.length, 'node')} match` : plural(cluster.nodes.length, 'node')) : '';
  const position = rows.length > 0 ? `${selected + 1}/${rows.length}` : undefined;
  // The title keeps the verdict and the worst lag; an Auto Scaling group's name that would be cut there gets a line of its own.
  const fullTitle = cluster ? `Fleet › ${name} · ${cluster.engine} · ${matched} · ${clusterSummary(cluster, true)}` : '';
  const asgLine = cluster?.asg !== undefined && Array.from(fullTitle).length > width - (position?.length ?? 0) - 1 ? `asg ${cluster.asg}` : undefined;
  const staleText = useMemo(() => (staleLine !== undefined ? wrapUnder(staleLine, width, '▲ ').map((text) => ({ text, colour: 'yellow' })) : []), [staleLine, width]);
  const writerLines = (cluster?.writer ? 1 : 0) + (asgLine !== undefined ? 1 : 0) + staleText.length;
  const columns = useMemo(() => (cluster ? nodeColumns({ engine: cluster.engine, now, refreshSeconds, thresholds, widths: columnWidths(rows, now, refreshSeconds, thresholds) }) : []), [cluster, rows, now, refreshSeconds, thresholds]);
  const selectedNode = rows[selected];
  const selectedText = useMemo(
    () => (selectedNode ? detailLines(nodeDetailText(selectedNode, now, refreshSeconds, thresholds), width, healthColour(selectedNode.health.level)) : []),
    [selectedNode, now, refreshSeconds, thresholds, width],
  );
  // Height, top to bottom: title, writer, findings, the node table, the selected node in
  // full, then (in rows the table leaves empty) every other node whose health the table cut.
  const avail = height - 1 - writerLines;
  const tableNeed = 1 + Math.max(1, rows.length);
  const findingBudget = Math.max(MIN_FINDING_LINES, avail - tableNeed - selectedText.length);
  const findingText = useMemo(
    () => (cluster ? findingLayout(cluster, canStartRunbooks, width, findingBudget) : []),
    [cluster, canStartRunbooks, width, findingBudget],
  );
  const rest = Math.max(2, avail - findingText.length);
  const tableMin = 1 + Math.max(1, Math.min(rows.length, MIN_TABLE_ROWS));
  const detailText = capLines(selectedText, Math.max(2, rest - tableMin), (n) => `  … ${n} more lines: ⏎ opens the node, which shows it all`);
  const tableHeight = Math.max(2, rest - detailText.length);
  const othersRoom = rest - Math.min(tableHeight, tableNeed) - detailText.length;
  const othersText = useMemo(
    () => (othersRoom > 0 ? cutHealthLines(rows, selected, columns, width, othersRoom) : []),
    [rows, selected, columns, width, othersRoom],
  );

  const extra = useMemo(
    () => (canStartRunbooks ? { [RUNBOOKS_KEY]: () => ui.getState().actions.push({ kind: 'runbooks', cluster: key }) } : undefined),
    [canStartRunbooks, ui, key],
  );

  useListKeys({
    ids,
    pageSize: tableHeight - 2,
    isActive,
    onOpen: (id) => ui.getState().actions.push({ kind: 'node', cluster: key, id }),
    extra,
  });

  if (!cluster) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TitleLine title={`Fleet › ${name}`} width={width} />
        <Text color="yellow" wrap="wrap">
          {`▲ cluster ${name} is not in the last refresh (renamed, or its instances are gone). esc goes back.`}
        </Text>
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine
        title={`Fleet › ${name}`}
        detail={`${cluster.engine} · ${matched} · ${clusterSummary(cluster, asgLine === undefined)}`}
        position={position}
        width={width}
      />
      {cluster.writer ? <WriterLine text={writerText(cluster.writer)} width={width} /> : null}
      {asgLine !== undefined ? <TextLines lines={[{ text: asgLine }]} width={width} /> : null}
      <TextLines lines={staleText} width={width} />
      <TextLines lines={findingText} width={width} />
      <Table
        rows={rows}
        columns={columns}
        rowKey={rowKey}
        selectedIndex={selected}
        height={tableHeight}
        width={width}
        emptyText={cluster.nodes.length === 0 ? 'this cluster has no nodes' : `no node matches "${filter}" (esc clears the filter)`}
      />
      <TextLines lines={detailText} width={width} />
      <TextLines lines={othersText} width={width} />
    </Box>
  );
}

/** Widest texts among the rows: the columns fit their content. */
function columnWidths(rows: readonly NodeView[], now: number, refreshSeconds: number, thresholds: ScreenThresholds) {
  const widths = { name: 0, fresh: 0, threads: 0, lag: 0 };
  for (const n of rows) {
    widths.lag = Math.max(widths.lag, formatLag(n.lagSeconds, isReplicaNode(n)).length);
    widths.name = Math.max(widths.name, (n.instance.name || n.instance.id).length);
    widths.fresh = Math.max(widths.fresh, freshness(n, now, refreshSeconds, thresholds).text.length);
    widths.threads = Math.max(widths.threads, threadsText(n).length);
  }
  return widths;
}

/**
 * Every node but the selected one whose health the table's column cut
 * ("✓ OK replicating, l…"), whole, one after another: each reason is on screen
 * in full without moving the cursor to it. When they do not all fit, the last
 * line says how many are left.
 */
function cutHealthLines(rows: readonly NodeView[], selected: number, columns: readonly Column<NodeView>[], width: number, max: number): TextLine[] {
  const health = placeColumns(columns, width).find((p) => p.column.id === 'health');
  const cut = rows.filter((n, i) => i !== selected && (!health || Array.from(health.column.text(n)).length > health.width));
  const lines = cut.flatMap((n) => levelLines(n.health.level, n.health.reason, width, '', `  ${n.instance.name || n.instance.id} · `));
  return capLines(lines, max, (n) => `  … ${n} more lines of node health: ↑↓ shows each node in full`);
}

/** The selected node in full: name, id, state, health and reason, staleness with the probe error, CPU, repair. */
function nodeDetailText(node: NodeView, now: number, refreshSeconds: number, thresholds: ScreenThresholds): string {
  // Most telling first: read in this order however it wraps.
  const parts = [node.instance.name || node.instance.id, healthText(node.health.level, node.health.reason)];
  const fresh = freshness(node, now, refreshSeconds, thresholds);
  if (fresh.isStale) parts.push(`${fresh.text}${node.probeError ? `: ${node.probeError}` : ''}`);
  if (node.instance.state !== 'running') parts.push(node.instance.state);
  if (node.engine === 'cassandra') parts.push(`repaired ${repairAge(node, thresholds.gcGraceSeconds).text}`);
  if (latestValue(node.metrics?.cpu) !== undefined) parts.push(`cpu ${cpuText(node).trim()}%`);
  parts.push(node.instance.id);
  return parts.join(' · ');
}

function clusterSummary(cluster: ClusterView, withAsg: boolean): string {
  const lag = cluster.engine === 'mysql' ? ` · worst lag ${formatLag(cluster.worstLagSeconds, true)}` : '';
  return `${healthText(cluster.health.level)}${lag}${withAsg && cluster.asg ? ` · asg ${cluster.asg}` : ''}`;
}

/** Where applications send their writes; red when that is no node. */
function WriterLine({ text, width }: { text: { text: string; bad: boolean }; width: number }) {
  return <Line segments={[{ text: fit(text.text, width, 'left', false), ...(text.bad ? { colour: healthColour('CRIT') } : {}) }]} width={width} />;
}

/**
 * The cluster's findings, each with the runbook that answers it: `R: failover`
 * where the console can start runbooks, `run failover` where it cannot.
 * Each wraps within `budget` lines (continuations indented under the
 * message); when they do not all fit, the later ones take one line each,
 * cut before their runbook key is, and what is left is counted. With no
 * finding, a cluster that is not OK says which of its nodes make it so,
 * never "no findings" under a CRIT title.
 */
function findingLayout(cluster: ClusterView, canStartRunbooks: boolean, width: number, budget: number): TextLine[] {
  const { findings } = cluster;
  if (findings.length === 0) {
    if (cluster.health.level === 'OK') return [{ text: '✓ no cluster findings' }];
    return levelLines(cluster.health.level, `no cluster-wide finding; ${nodeVerdicts(cluster)}`, width).slice(0, budget);
  }
  const out: TextLine[] = [];
  // The title says CRIT, the findings only WARN: the nodes that make it CRIT come first.
  const worst = findings.reduce((w, f) => (compareLevel(f.level, w) > 0 ? f.level : w), findings[0]!.level);
  if (compareLevel(cluster.health.level, worst) > 0) {
    out.push(...levelLines(cluster.health.level, nodeVerdicts(cluster), width).slice(0, Math.max(1, budget - findings.length)));
  }
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i]!;
    const colour = healthColour(f.level);
    const head = `${HEALTH_STYLE[f.level].glyph} ${f.level} `;
    const key = runbookHint(f.suggests, canStartRunbooks);
    const left = findings.length - i - 1;
    // A line kept for "… N more" whenever findings remain after this one.
    const room = budget - out.length - (left > 0 ? 1 : 0);
    if (room <= 0) {
      out.push({ text: `  … ${findings.length - i} more findings (node screens list theirs)` });
      break;
    }
    // Later findings need a line each before this one takes more than one.
    const wrapped = levelLines(f.level, f.message, width, key);
    if (wrapped.length <= Math.max(1, room - left)) {
      out.push(...wrapped);
    } else {
      const tail = key ? `  ${key}` : '';
      const cut = Math.max(1, width - head.length - tail.length);
      out.push({ text: `${head}${fit(f.message, cut, 'left', false)}${tail}`, colour });
    }
  }
  return out.map((l) => ({ ...l, text: fit(l.text, width, 'left', false) }));
}

/** The nodes that make the cluster's verdict when no finding does: "1 node CRIT: web-03 EC2 status checks failing". */
function nodeVerdicts(cluster: ClusterView): string {
  const bad = cluster.nodes.filter((n) => n.health.level === cluster.health.level);
  if (bad.length === 0) return cluster.health.reasons.join('; ');
  const first = bad[0]!;
  const more = bad.length > 1 ? ` (+${bad.length - 1} more)` : '';
  return `${bad.length} node${bad.length === 1 ? '' : 's'} ${cluster.health.level}: ${first.instance.name || first.instance.id} ${first.health.reason}${more}`;
}
