// One cluster, live: its findings on top, then a row per node.

import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { writerText } from '../../domain/cluster-view.js';
import type { ClusterView, Finding, NodeView } from '../../domain/types.js';
import { useFleet, useUi, useUiStore } from '../../store/context.js';
import { selectCluster } from '../../store/fleet.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import { fit, formatLag, plural } from '../../ui/format.js';
import { healthColour, healthText, HEALTH_STYLE } from '../../ui/status-glyphs.js';
import { DetailLine } from '../../ui/detail-line.js';
import { Line } from '../../ui/line.js';
import { Table } from '../../ui/table.js';
import { TitleLine } from '../../ui/title-line.js';
import { useNow } from '../../ui/use-now.js';
import { useConsole, type ScreenThresholds } from '../console-context.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { RUNBOOKS_KEY } from '../screen-keys.js';
import { useListKeys } from '../use-list-keys.js';
import { freshness, latestValue, repairAge, threadsText } from './node-facts.js';
import { cpuText, nodeColumns, nodeHaystack } from './node-columns.js';

export interface ClusterScreenProps {
  name: string;
  width: number;
  height: number;
  isActive: boolean;
}

const rowKey = (n: NodeView) => n.instance.id;
/** Findings get at most this many lines, so the node table always has room. */
const MAX_FINDING_LINES = 4;

export function ClusterScreen({ name, width, height, isActive }: ClusterScreenProps) {
  const selectThis = useMemo(() => selectCluster(name), [name]);
  const cluster = useFleet(selectThis);
  const refreshSeconds = useFleet((s) => s.refreshSeconds);
  const filter = useUi(selectFilter);
  const selection = useUi(selectSelection);
  const ui = useUiStore();
  const { thresholds, onRunbook } = useConsole();
  const now = useNow();

  const nodes = cluster?.nodes;
  const rows = useMemo(
    () => (nodes && filter ? nodes.filter((n) => matchesFilter(nodeHaystack(n), filter)) : (nodes ?? [])),
    [nodes, filter],
  );
  const ids = useMemo(() => rows.map(rowKey), [rows]);
  const selected = resolveIndex(selection, ids);

  const findings = cluster?.findings ?? [];
  const findingLines = findings.length === 0 ? 1 : Math.min(findings.length, MAX_FINDING_LINES);
  const writerLines = cluster?.writer ? 1 : 0;
  const tableHeight = Math.max(2, height - 2 - findingLines - writerLines);

  const canStartRunbooks = onRunbook !== undefined;
  const extra = useMemo(
    () => (canStartRunbooks ? { [RUNBOOKS_KEY]: () => ui.getState().actions.push({ kind: 'runbooks', cluster: name }) } : undefined),
    [canStartRunbooks, ui, name],
  );

  useListKeys({
    ids,
    pageSize: tableHeight - 2,
    isActive,
    onOpen: (id) => ui.getState().actions.push({ kind: 'node', cluster: name, id }),
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

  const widths = { name: 0, fresh: 0, threads: 0 };
  for (const n of rows) {
    widths.name = Math.max(widths.name, (n.instance.name || n.instance.id).length);
    widths.fresh = Math.max(widths.fresh, freshness(n, now, refreshSeconds, thresholds).text.length);
    widths.threads = Math.max(widths.threads, threadsText(n).length);
  }
  const columns = nodeColumns({ engine: cluster.engine, now, refreshSeconds, thresholds, widths });
  const matched = filter ? `${rows.length} of ${plural(cluster.nodes.length, 'node')} match` : plural(cluster.nodes.length, 'node');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine
        title={`Fleet › ${cluster.name}`}
        detail={`${cluster.engine} · ${matched} · ${clusterSummary(cluster)}`}
        position={rows.length > 0 ? `${selected + 1}/${rows.length}` : undefined}
        width={width}
      />
      {cluster.writer ? <WriterLine text={writerText(cluster.writer)} width={width} /> : null}
      <Findings findings={findings} width={width} />
      <Table
        rows={rows}
        columns={columns}
        rowKey={rowKey}
        selectedIndex={selected}
        height={tableHeight}
        width={width}
        emptyText={cluster.nodes.length === 0 ? 'this cluster has no nodes' : `no node matches "${filter}" (esc clears the filter)`}
      />
      {rows[selected] ? (
        <DetailLine
          text={nodeDetailText(rows[selected], now, refreshSeconds, thresholds)}
          colour={healthColour(rows[selected].health.level)}
          width={width}
        />
      ) : null}
    </Box>
  );
}

/** The selected node in full: name, id, state, health and reason, staleness with the probe error, CPU, repair. */
function nodeDetailText(node: NodeView, now: number, refreshSeconds: number, thresholds: ScreenThresholds): string {
  // Most telling first: at 80 columns the end of the line is what gets cut.
  const parts = [node.instance.name || node.instance.id, healthText(node.health.level, node.health.reason)];
  const fresh = freshness(node, now, refreshSeconds, thresholds);
  if (fresh.isStale) parts.push(`${fresh.text}${node.probeError ? `: ${node.probeError}` : ''}`);
  if (node.instance.state !== 'running') parts.push(node.instance.state);
  if (node.engine === 'cassandra') parts.push(`repaired ${repairAge(node, thresholds.gcGraceSeconds).text}`);
  if (latestValue(node.metrics?.cpu) !== undefined) parts.push(`cpu ${cpuText(node).trim()}%`);
  parts.push(node.instance.id);
  return parts.join(' · ');
}

function clusterSummary(cluster: ClusterView): string {
  const lag = cluster.engine === 'mysql' ? ` · worst lag ${formatLag(cluster.worstLagSeconds, true)}` : '';
  return `${healthText(cluster.health.level)}${lag}${cluster.asg ? ` · asg ${cluster.asg}` : ''}`;
}

/** Where applications send their writes; red when that is no node. */
function WriterLine({ text, width }: { text: { text: string; bad: boolean }; width: number }) {
  return <Line segments={[{ text: fit(text.text, width, 'left', false), ...(text.bad ? { colour: healthColour('CRIT') } : {}) }]} width={width} />;
}

function Findings({ findings, width }: { findings: readonly Finding[]; width: number }) {
  if (findings.length === 0) {
    return <Line segments={[{ text: fit('✓ no cluster findings', width, 'left', false) }]} width={width} />;
  }
  const overflow = findings.length > MAX_FINDING_LINES;
  const shown = overflow ? findings.slice(0, MAX_FINDING_LINES - 1) : findings;
  return (
    <Box flexDirection="column">
      {shown.map((f, i) => (
        <Line
          key={i}
          segments={[{ text: fit(`${HEALTH_STYLE[f.level].glyph} ${f.level} ${f.message}`, width, 'left', false), colour: healthColour(f.level) }]}
          width={width}
        />
      ))}
      {overflow ? (
        <Line segments={[{ text: fit(`  … ${findings.length - shown.length} more findings (node screens list theirs)`, width, 'left', false) }]} width={width} />
      ) : null}
    </Box>
  );
}
