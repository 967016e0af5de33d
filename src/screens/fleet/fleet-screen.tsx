// Every cluster on one screen, worst first: the first thing an engineer sees
// when paged.

import { formatLag, plural } from '../../ui/format.js';
import { Box } from 'ink';
import { useMemo } from 'react';
import type { ClusterView } from '../../domain/types.js';
import { useFleet, useUi } from '../../store/context.js';
import { selectClusters, selectFleetFindings } from '../../store/fleet.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import { capLines, TextLines } from '../../ui/detail-line.js';
import { Table } from '../../ui/table.js';
import { TitleLine } from '../../ui/title-line.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { useListKeys } from '../use-list-keys.js';
import { useUiStore } from '../../store/context.js';
import { useConsole } from '../console-context.js';
import { RUNBOOKS_KEY } from '../screen-keys.js';
import { clusterHaystack, fleetColumns, STALE_MARK, type ScopeCells } from './fleet-columns.js';
import { clusterKey } from '../../domain/scope.js';
import type { ScopeStatus } from '../../backends/ports.js';
import { selectIsScopeShown, selectScopes } from '../../store/fleet.js';
import { shownName } from '../../ui/cluster-name.js';
import type { TextLine } from '../../ui/detail-line.js';
import { accountName, hasSeveralAccounts, isScopeStale, scopeOf } from '../../ui/scopes.js';
import { useClockValue } from '../../ui/use-now.js';
import { levelLines } from '../finding-lines.js';
import { clusterDetail, spanningLines } from './fleet-detail.js';

export interface FleetScreenProps {
  width: number;
  height: number;
  isActive: boolean;
}

// By key: `orders` in two regions is two rows.
const rowKey = (c: ClusterView) => clusterKey(c);
/** Rows of the list kept on screen however long the selected cluster's reasons run. */
const MIN_TABLE_ROWS = 5;

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
  const canStartRunbooks = useConsole().onRunbook !== undefined;
  const current = ids[selected];
  const spanning = useFleet(selectFleetFindings);
  const isScopeShown = useFleet(selectIsScopeShown);
  const scopes = useFleet(selectScopes);
  const { thresholds } = useConsole();
  const refreshSeconds = useFleet((s) => s.refreshSeconds);
  const staleAfterMs = thresholds.staleAfterRefreshes * refreshSeconds * 1000;
  // Which scopes are stale, as one string: the rows redraw when that changes, not every second.
  const staleIds = useClockValue((now) => scopes.filter((sc) => isScopeStale(sc, now, staleAfterMs)).map(scopeId).join(' '));

  // Height: the title, the findings that span clusters, the table, and the selected
  // cluster's reasons in full under it. The reasons use the rows a short list leaves
  // empty; a long list gives them rows down to MIN_TABLE_ROWS of its own. Two lines at least,
  // on the smallest terminal too: the first reason, and where to read the rest.
  const spanningText = useMemo(() => {
    const lines = [...scopeErrorLines(scopes, width), ...spanningLines(spanning, width, canStartRunbooks)];
    return capLines(lines, Math.max(2, Math.floor((height - 1) / 3)), (n) => `  … ${n} more lines of fleet-wide findings (nightshift ls lists them)`);
  }, [scopes, spanning, width, canStartRunbooks, height]);
  const selectedCluster = rows[selected];
  const room = Math.max(2, height - 1 - spanningText.length);
  const tableMin = 1 + Math.max(1, Math.min(rows.length, MIN_TABLE_ROWS));
  const detailText = useMemo(() => {
    if (!selectedCluster) return [];
    const lines = clusterDetail(selectedCluster, width, canStartRunbooks, shownName(selectedCluster, isScopeShown));
    return capLines(lines, Math.max(2, room - tableMin), (n) => `  … ${n} more lines: ⏎ opens ${shownName(selectedCluster, isScopeShown)}, which lists them all`);
  }, [selectedCluster, isScopeShown, width, canStartRunbooks, room, tableMin]);
  const tableHeight = Math.max(2, room - detailText.length);

  useListKeys({
    ids,
    pageSize: tableHeight - 2,
    isActive,
    onOpen: (key) => ui.getState().actions.push({ kind: 'cluster', key }),
    ...(canStartRunbooks && current !== undefined
      ? { extra: { [RUNBOOKS_KEY]: () => ui.getState().actions.push({ kind: 'runbooks', cluster: current }) } }
      : {}),
  });

  const nodeCount = useMemo(() => clusters.reduce((n, c) => n + c.nodes.length, 0), [clusters]);
  // Keyed on the name width, not the clusters: the columns (and so every row) stay the same across refreshes.
  const nameWidth = useMemo(() => clusters.reduce((w, c) => Math.max(w, c.name.length), 0), [clusters]);
  const lagWidth = useMemo(() => clusters.reduce((w, c) => Math.max(w, formatLag(c.worstLagSeconds, false).length), 0), [clusters]);
  const scopeCells = useScopeCells(clusters, scopes, isScopeShown, staleIds);
  const columns = useMemo(() => fleetColumns(nameWidth, lagWidth, scopeCells), [nameWidth, lagWidth, scopeCells]);
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
      <TextLines lines={spanningText} width={width} />
      <Table
        rows={rows}
        columns={columns}
        rowKey={rowKey}
        selectedIndex={selected}
        height={tableHeight}
        width={width}
        emptyText={clusters.length === 0 ? 'no clusters discovered yet' : `no cluster matches "${filter}" (esc clears the filter)`}
      />
      <TextLines lines={detailText} width={width} />
    </Box>
  );
}

/** A scope as one word: `account/region`. */
function scopeId(scope: Pick<ScopeStatus, 'region' | 'account' | 'profile'>): string {
  return `${scope.account ?? scope.profile ?? ''}/${scope.region}`;
}

/**
 * The REGION (and ACCOUNT) cells when several regions or accounts are in view;
 * undefined otherwise, and the table is as it was before regions. Made again
 * only when the clusters' scopes or the set of stale scopes change, so the
 * columns (and every row) stay the same objects across refreshes.
 */
function useScopeCells(clusters: readonly ClusterView[], scopes: readonly ScopeStatus[], isScopeShown: boolean, staleIds: string): ScopeCells | undefined {
  const regionWidth = useMemo(() => clusters.reduce((w, c) => Math.max(w, (c.region ?? '').length), 0), [clusters]);
  const hasAccounts = useMemo(() => new Set(clusters.map((c) => c.account).filter((a) => a !== undefined)).size > 1, [clusters]);
  const several = hasAccounts || hasSeveralAccounts(scopes);
  return useMemo(() => {
    if (!isScopeShown) return undefined;
    const stale = new Set(staleIds.split(' ').filter(Boolean));
    const isStale = (c: ClusterView) => {
      const sc = scopeOf(c, scopes);
      return sc !== undefined && stale.has(scopeId(sc));
    };
    // The profile names an account as its engineer knows it; the id until a scope says which profile it is.
    const accountOf = (c: ClusterView) => {
      const sc = scopeOf(c, scopes);
      return (sc ? accountName(sc) : undefined) ?? c.account ?? '';
    };
    return {
      region: (c) => `${c.region ?? ''}${isStale(c) ? STALE_MARK : ''}`,
      regionWidth: regionWidth + (stale.size > 0 ? STALE_MARK.length : 0),
      ...(several ? { account: accountOf, accountWidth: clusters.reduce((w, c) => Math.max(w, Array.from(accountOf(c)).length), 0) } : {}),
    };
    // Not on `clusters` itself: the cells read each row as it is drawn, and only the widths depend on the list.
  }, [isScopeShown, staleIds, scopes, regionWidth, several, several ? clusters : undefined]);
}

/** A line per account and region whose discovery failed: where, why (AWS's words, cleaned), and that its rows are its last good picture. */
function scopeErrorLines(scopes: readonly ScopeStatus[], width: number): TextLine[] {
  const several = hasSeveralAccounts(scopes);
  return scopes
    .filter((sc) => sc.error !== undefined)
    .flatMap((sc) => {
      const who = [sc.profile, sc.account].filter(Boolean);
      const where = who.length > 0 && (several || sc.account !== undefined) ? `${sc.region} (${who.join(', ')})` : sc.region;
      const kept = sc.at === undefined ? 'no rows from it yet' : 'its rows are from its last good answer';
      return levelLines('WARN', `${where}: discovery failed: ${sc.error!.replace(/\.$/, '')}; ${kept}`, width);
    });
}
