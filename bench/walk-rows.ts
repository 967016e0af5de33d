// What the walkthrough reads off a tmux pane (bench/walkthrough.ts): which
// rows a list shows and which is under the cursor, each by its key, and
// whether the header says the first refresh is in. Pure, so its tests can
// feed it frames as the console draws them.

import { clusterKey } from '../src/domain/scope.js';

/** The first word of the row under the cursor (`›`): a node's name. */
export function selectedName(frame: string): string | undefined {
  const row = frame.split('\n').find((l) => l.startsWith('›'));
  return row?.slice(1).trim().split(/\s+/)[0];
}

/** The rows of a list as the pane shows them: the first word of each line that is one of `names`. */
export function rowNames(frame: string, names: readonly string[]): string[] {
  return frame
    .split('\n')
    .map((l) => l.replace(/^›/, '').trim().split(/\s+/)[0] ?? '')
    .filter((w) => names.includes(w));
}

/** The rows of a list as the pane shows them, each by its key, in order; and the key of the one under the cursor. */
export interface ShownRows {
  keys: string[];
  selected: string | undefined;
}

/**
 * A cluster screen's node rows, a node's name its key (names do not repeat
 * inside a cluster): the table's, above the selected node's `»` line; the
 * lines under it that start with a node's name are not rows.
 */
export const nodeRows =
  (names: readonly string[]) =>
  (frame: string): ShownRows => {
    const lines = frame.split('\n');
    const end = lines.findIndex((l) => l.startsWith('»'));
    return { keys: rowNames(lines.slice(0, end < 0 ? undefined : end).join('\n'), names), selected: selectedName(frame) };
  };

/**
 * The fleet table's rows as drawn, each by its cluster's key: the name, and
 * the region under the REGION column when there is one (two regions may each
 * have an `orders-db`, so the name alone picks the wrong row). The table runs
 * from its header line to the first blank or `»` line. The sim has no
 * accounts, so an ACCOUNT column (which names profiles, not the ids in the
 * key) is not read.
 */
export function fleetRows(frame: string): ShownRows {
  const lines = frame.split('\n');
  const head = lines.findIndex((l) => l.startsWith('  CLUSTER '));
  if (head < 0) return { keys: [], selected: undefined };
  const regionAt = lines[head]!.indexOf(' REGION ') + 1;
  const keys: string[] = [];
  let selected: string | undefined;
  for (const line of lines.slice(head + 1)) {
    if (!/^[› ] \S/.test(line)) break;
    const name = line.slice(2).split(' ')[0]!;
    const region = regionAt > 0 ? line.slice(regionAt).split(' ')[0] : undefined;
    const key = clusterKey({ name, ...(region ? { region } : {}) });
    keys.push(key);
    if (line.startsWith('›')) selected = key;
  }
  return { keys, selected };
}

/**
 * The header's refresh words once the first refresh is in: `refreshed 4 s ago`,
 * or the short `4 s ago` beside each region's freshness, `data ≤ 5 s old` on a
 * big fleet (src/ui/header.tsx refreshText); not `loading…` nor a failed refresh.
 */
export function isRefreshed(header: string): boolean {
  return !/loading|refresh failed/.test(header) && /\b(ago|old)\b/.test(header);
}
