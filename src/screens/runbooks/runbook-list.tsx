// The runbooks for one cluster's engine, each with whether it applies now
// and why (or why not), in words. ⏎ opens a runbook's form; nothing is
// planned or run from this list.

import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { catalogFor, noRunbookText, type CatalogEntry, type Offer } from '../../actions/runbooks/catalog.js';
import { useClock, useFleet, useUi, useUiStore } from '../../store/context.js';
import { selectCluster, selectIsScopeShown } from '../../store/fleet.js';
import { shownName } from '../../ui/cluster-name.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import type { Column } from '../../ui/columns.js';
import { fit, wrap } from '../../ui/format.js';
import { OFFER_GLYPH } from '../../ui/status-glyphs.js';
import { Table } from '../../ui/table.js';
import { TitleLine } from '../../ui/title-line.js';
import { useConsole } from '../console-context.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { useListKeys } from '../use-list-keys.js';

export interface RunbookListProps {
  /** The cluster's key (clusterKey). */
  cluster: string;
  width: number;
  height: number;
  isActive: boolean;
}

interface Row {
  entry: CatalogEntry;
  offer: Offer;
}

const COLUMNS: Column<Row>[] = [
  {
    id: 'runbook',
    header: 'RUNBOOK',
    width: 14,
    priority: 1,
    text: (r) => `${r.offer.applies ? OFFER_GLYPH.applies : OFFER_GLYPH.notNow} ${r.entry.name}`,
    isBold: (r) => r.offer.applies,
  },
  { id: 'why', header: 'NOW', width: 30, grow: 1, priority: 1, text: (r) => r.offer.reason, colour: (r) => (r.offer.applies ? 'yellow' : undefined) },
];

const rowKey = (r: Row) => r.entry.name;

export function RunbookList({ cluster: key, width, height, isActive }: RunbookListProps) {
  const selectThis = useMemo(() => selectCluster(key), [key]);
  const cluster = useFleet(selectThis);
  const isScopeShown = useFleet(selectIsScopeShown);
  // The region in the title when several are in view: the runbook works on this one `orders`, not the other.
  const name = cluster ? shownName(cluster, isScopeShown) : key;
  const filter = useUi(selectFilter);
  const selection = useUi(selectSelection);
  const ui = useUiStore();
  const clock = useClock();
  const { thresholds, availableRunbooks } = useConsole();

  const all = useMemo<Row[]>(() => {
    if (!cluster) return [];
    const ctx = { now: clock(), gcGraceSeconds: thresholds.gcGraceSeconds };
    return catalogFor(cluster, availableRunbooks).map((entry) => ({ entry, offer: entry.offer(cluster, ctx) }));
  }, [cluster, clock, thresholds.gcGraceSeconds, availableRunbooks]);
  const rows = useMemo(
    () => (filter ? all.filter((r) => matchesFilter(`${r.entry.name} ${r.entry.title} ${r.offer.reason}`.toLowerCase(), filter)) : all),
    [all, filter],
  );
  const ids = useMemo(() => rows.map(rowKey), [rows]);
  const selected = resolveIndex(selection, ids);
  const tableHeight = Math.max(2, Math.min(height - 3, rows.length + 1));

  useListKeys({
    ids,
    pageSize: tableHeight - 1,
    isActive,
    onOpen: (runbook) => ui.getState().actions.push({ kind: 'runbook-form', cluster: key, runbook }),
  });

  if (!cluster) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TitleLine title={`Fleet › ${name} › runbooks`} width={width} />
        <Text color="yellow" wrap="wrap">
          {`▲ cluster ${name} is not in the last refresh (renamed, or its instances are gone). esc goes back.`}
        </Text>
      </Box>
    );
  }

  const title = `Fleet › ${name} › runbooks`;
  if (all.length === 0) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TitleLine title={title} detail={cluster.engine} width={width} />
        {wrap(`${OFFER_GLYPH.notNow} ${noRunbookText(cluster.engine, availableRunbooks)}.`, Math.max(10, width - 2)).map((l, i) => (
          <Text key={i} wrap="truncate">{`${i > 0 ? '  ' : ''}${l}`}</Text>
        ))}
        <Text wrap="truncate">esc goes back.</Text>
      </Box>
    );
  }

  const applying = all.filter((r) => r.offer.applies).length;
  const current = rows[selected];
  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine
        title={title}
        detail={`${cluster.engine} · ${applying > 0 ? `${OFFER_GLYPH.applies} ${applying} ${applying > 1 ? 'apply' : 'applies'} now` : `${OFFER_GLYPH.notNow} none applies now`}`}
        position={rows.length > 0 ? `${selected + 1}/${rows.length}` : undefined}
        width={width}
      />
      <Table
        rows={rows}
        columns={COLUMNS}
        rowKey={rowKey}
        selectedIndex={selected}
        height={tableHeight}
        width={width}
        emptyText={`no runbook matches "${filter}" (esc clears the filter)`}
      />
      {current ? <About row={current} width={width} height={Math.max(0, height - 1 - tableHeight)} /> : null}
    </Box>
  );
}

/** The chosen runbook in full, wrapped: the reason the table cut, what it does, what ⏎ does. */
function About({ row, width, height }: { row: Row; width: number; height: number }) {
  const room = Math.max(10, width - 2);
  const lines = [
    `» ${row.entry.name}: ${row.entry.title}`,
    ...wrap(row.offer.reason, room).map((l) => `  ${l}`),
    ...wrap(row.entry.summary, room).map((l) => `  ${l}`),
    '  ⏎ opens its form; nothing is planned or run from here.',
  ];
  return (
    <Box flexDirection="column">
      {lines.slice(0, height).map((l, i) => (
        <Text key={i} wrap="truncate">
          {fit(l, width, 'left', false)}
        </Text>
      ))}
    </Box>
  );
}
