// One node: every fact and every tag, scrollable and filterable.

import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { useFleet, useUi } from '../../store/context.js';
import { selectCluster, selectIsScopeShown } from '../../store/fleet.js';
import { shownName } from '../../ui/cluster-name.js';
import { selectFilter, selectSelection } from '../../store/ui.js';
import { fit } from '../../ui/format.js';
import { Line } from '../../ui/line.js';
import { TitleLine } from '../../ui/title-line.js';
import { useNow } from '../../ui/use-now.js';
import { useConsole } from '../console-context.js';
import { matchesFilter } from '../filter-line.js';
import { resolveIndex } from '../list-keys.js';
import { useListKeys } from '../use-list-keys.js';
import { nodeLines, type DetailLine } from './node-lines.js';

export interface NodeScreenProps {
  cluster: string;
  id: string;
  width: number;
  height: number;
  isActive: boolean;
  /** The tag that hints a node's role (config discovery.roleTag). */
  roleTag?: string;
}

export function NodeScreen({ cluster: key, id, width, height, isActive, roleTag = 'nightshift:role' }: NodeScreenProps) {
  const selectThis = useMemo(() => selectCluster(key), [key]);
  const cluster = useFleet(selectThis);
  const refreshSeconds = useFleet((s) => s.refreshSeconds);
  const filter = useUi(selectFilter);
  const selection = useUi(selectSelection);
  const { thresholds } = useConsole();
  const now = useNow();
  const node = cluster?.nodes.find((n) => n.instance.id === id);

  const all = useMemo(
    () => (node && cluster ? nodeLines(node, cluster, { now, refreshSeconds, thresholds, width, roleTag }) : []),
    [node, cluster, now, refreshSeconds, thresholds, width, roleTag],
  );
  const lines = useMemo(() => filterLines(all, filter), [all, filter]);
  const ids = useMemo(() => lines.map((l) => l.id), [lines]);
  const visible = Math.max(1, height - 1);
  const maxTop = Math.max(0, lines.length - visible);
  // The "selection" of a text view is its first visible line.
  const top = Math.min(resolveIndex(selection, ids), maxTop);

  useListKeys({ ids, pageSize: visible - 1, maxIndex: maxTop, isActive });

  const isScopeShown = useFleet(selectIsScopeShown);
  const clusterName = cluster ? shownName(cluster, isScopeShown) : key;
  const title = `Fleet › ${clusterName} › ${node?.instance.name || id}`;
  if (!node) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TitleLine title={title} width={width} />
        <Text color="yellow" wrap="wrap">
          {`▲ node ${id} is not in cluster ${clusterName} at the last refresh (terminated or moved). esc goes back.`}
        </Text>
      </Box>
    );
  }
  const shown = lines.slice(top, top + visible);
  const more = lines.length - top - shown.length;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine
        title={title}
        detail={node.instance.id}
        position={lines.length > visible ? `${top + 1}–${top + shown.length}/${lines.length}${more > 0 ? ' ↓' : ''}` : undefined}
        width={width}
      />
      {shown.length === 0 ? <Text>{`  no line matches "${filter}" (esc clears the filter)`}</Text> : null}
      {shown.map((l) => (
        <Line key={l.id} segments={[{ text: fit(l.text, width, 'left', false), isBold: l.isSection ?? false, colour: l.colour }]} width={width} />
      ))}
    </Box>
  );
}

/** Matching lines, each under its section heading so a tag still reads as a tag. */
function filterLines(all: readonly DetailLine[], filter: string): DetailLine[] {
  if (!filter) return [...all];
  const out: DetailLine[] = [];
  let lastSection = '';
  for (const l of all) {
    if (l.isSection || !matchesFilter(l.text.toLowerCase(), filter)) continue;
    if (l.section !== lastSection) {
      const head = all.find((h) => h.isSection && h.section === l.section);
      if (head) out.push(head);
      lastSection = l.section;
    }
    out.push(l);
  }
  return out;
}
