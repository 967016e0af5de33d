// Every key of every screen, in one place: the footer, the help overlay and
// the README all read from here, so they cannot disagree with each other.

import type { ClusterView, EngineKind } from '../domain/types.js';
import type { KeyHint } from '../ui/key-hints.js';
import type { ScreenRef } from '../store/ui.js';

export interface RunbookKey {
  runbook: string;
  key: string;
  label: string;
  engines: readonly EngineKind[];
  /** Only for clusters backed by an Auto Scaling Group. */
  needsAsg?: boolean;
}

/** Upper-case letters: a runbook is never one slip of a lower-case navigation key away. */
export const RUNBOOK_KEYS: readonly RunbookKey[] = [
  { runbook: 'repair', key: 'R', label: 'repair', engines: ['cassandra'] },
  { runbook: 'switchover', key: 'S', label: 'switchover', engines: ['mysql'] },
  { runbook: 'failover', key: 'F', label: 'failover', engines: ['mysql'] },
  { runbook: 'rebuild', key: 'B', label: 'rebuild', engines: ['mysql'] },
  { runbook: 'rotate', key: 'O', label: 'rotate ASG', engines: ['mysql', 'cassandra', 'generic'], needsAsg: true },
];

export function runbookKeysFor(
  cluster: Pick<ClusterView, 'engine' | 'asg'> | undefined,
  available: readonly string[],
  hasHandler: boolean,
): RunbookKey[] {
  if (!cluster || !hasHandler) return [];
  return RUNBOOK_KEYS.filter(
    (r) => available.includes(r.runbook) && r.engines.includes(cluster.engine) && (!r.needsAsg || cluster.asg !== undefined),
  );
}

const MOVE: KeyHint = { keys: '↑/↓ j/k', short: '↑↓', label: 'move', isFooter: true };
const PAGE: KeyHint = { keys: 'PgUp/PgDn', label: 'page up / down' };
const ENDS: KeyHint = { keys: 'g / G', label: 'first / last row' };
const FILTER: KeyHint = { keys: '/', label: 'filter (⏎ keeps it, esc clears)', footerLabel: 'filter', isFooter: true };
const REFRESH: KeyHint = { keys: 'r', label: 'refresh now', footerLabel: 'refresh', isFooter: true };
const HELP: KeyHint = { keys: '?', label: 'this help (esc, ? or q closes it)', footerLabel: 'help', isFooter: true };
const QUIT: KeyHint = { keys: 'q', label: 'quit nightshift', footerLabel: 'quit', isFooter: true };
const BACK: KeyHint = { keys: 'esc', label: 'clear the filter, else back', footerLabel: 'back', isFooter: true };

export function hintsFor(screen: ScreenRef, runbooks: readonly RunbookKey[] = []): KeyHint[] {
  switch (screen.kind) {
    case 'fleet':
      return [
        MOVE,
        { keys: '⏎', label: 'open the cluster', footerLabel: 'open', isFooter: true },
        FILTER,
        { keys: 'esc', label: 'clear the filter' },
        PAGE,
        ENDS,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'cluster':
      return [
        MOVE,
        { keys: '⏎', label: 'open the node: all facts and tags', footerLabel: 'node', isFooter: true },
        BACK,
        ...runbooks.map((r) => ({ keys: r.key, label: `start the ${r.runbook} runbook on this cluster`, footerLabel: r.label, isFooter: true })),
        FILTER,
        PAGE,
        ENDS,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'node':
      return [
        { keys: '↑/↓ j/k', short: '↑↓', label: 'scroll', isFooter: true },
        BACK,
        PAGE,
        ENDS,
        FILTER,
        REFRESH,
        QUIT,
        HELP,
      ];
    case 'run':
      return [];
  }
}
