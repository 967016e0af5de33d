// Every cluster on one screen, worst first: the first thing an engineer sees
// when paged.

import { plural } from '../../ui/format.js';
import { Box } from 'ink';
import { useMemo } from 'react';
import type { ClusterView } from '../../domain/types.js';
import { useFleet, useUi } from '../../store/context.js';
import { selectClusters } from '../../store/fleet.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import { DetailLine } from '../../ui/detail-line.js';
import { healthColour, healthText } from '../../ui/status-glyphs.js';
import { Table } from '../../ui/table.js';
import { TitleLine } from '../../ui/title-line.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { useListKeys } from '../use-list-keys.js';
import { useUiStore } from '../../store/context.js';
import { useConsole } from '../console-context.js';
import { RUNBOOKS_KEY } from '../screen-keys.js';
import { clusterHaystack, fleetColumns } from './fleet-columns.js';

export interface FleetScreenProps {
  width: number;
  height: number;
  isActive: boolean;
}

const rowKey = (c: ClusterView) => c.name;

export function FleetScreen({ width, height, isActive }: FleetScreenProps) {
  const clusters = useFleet(selectClusters);
  const filter = useUi(selectFilter);
  const selection = useUi(selectSelection);
  const ui = useUiStore();

  // Haystacks only while a filter is typed, each made once per cluster view: a refresh of
  // 500 clusters with no filter then costs nothing here.
  const haystacks = useMemo(() => new WeakMap<ClusterView, string>(), []);
  const rows = useMemo(() => {
    if (!filter) return clusters;
    const haystackOf = (c: ClusterView) => {
      let h = haystacks.get(c);
      if (h === undefined) haystacks.set(c, (h = clusterHaystack(c)));
      return h;
    };
    return clusters.filter((c) => matchesFilter(haystackOf(c), filter));
  }, [haystacks, clusters, filter]);
  const ids = useMemo(() => rows.map(rowKey), [rows]);
  const selected = resolveIndex(selection, ids);
  const tableHeight = Math.max(2, height - 2);
  const canStartRunbooks = useConsole().onRunbook !== undefined;
  const current = ids[selected];

  useListKeys({
    ids,
    pageSize: tableHeight - 2,
    isActive,
    onOpen: (name) => ui.getState().actions.push({ kind: 'cluster', name }),
    ...(canStartRunbooks && current !== undefined
      ? { extra: { [RUNBOOKS_KEY]: () => ui.getState().actions.push({ kind: 'runbooks', cluster: current }) } }
      : {}),
  });

  const nodeCount = useMemo(() => clusters.reduce((n, c) => n + c.nodes.length, 0), [clusters]);
  // Keyed on the name width, not the clusters: the columns (and so every row) stay the same across refreshes.
  const nameWidth = useMemo(() => clusters.reduce((w, c) => Math.max(w, c.name.length), 0), [clusters]);
  const columns = useMemo(() => fleetColumns(nameWidth), [nameWidth]);
  const counted = filter
    ? `${rows.length} of ${plural(clusters.length, 'cluster')} match`
    : `${plural(clusters.length, 'cluster')} · ${plural(nodeCount, 'node')}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine
        title="Fleet"
        detail={counted}
        position={rows.length > 0 ? `${selected + 1}/${rows.length}` : undefined}
        width={width}
      />
      <Table
        rows={rows}
        columns={columns}
        rowKey={rowKey}
        selectedIndex={selected}
        height={tableHeight}
        width={width}
        emptyText={clusters.length === 0 ? 'no clusters discovered yet' : `no cluster matches "${filter}" (esc clears the filter)`}
      />
      {rows[selected] ? (
        <DetailLine text={clusterDetailText(rows[selected])} colour={healthColour(rows[selected].health.level)} width={width} />
      ) : null}
    </Box>
  );
}

/** The selected cluster in full: every reason, not just the first. */
function clusterDetailText(c: ClusterView): string {
  const reasons = c.health.reasons.length > 0 ? c.health.reasons.join('; ') : 'no problems found';
  return `${c.name}: ${healthText(c.health.level, reasons)}`;
}
