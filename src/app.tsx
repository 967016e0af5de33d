// The console: header (LIVE or REHEARSAL, freshness), the current screen, the
// filter line and the key hints. A thin shell: screens read the stores, and
// everything that changes the world goes out through the callbacks.

import { Box, Text, useInput } from 'ink';
import { useMemo, useRef, useState, type ReactNode } from 'react';
import { findCluster, selectIsScopeShown, type FleetStore } from './store/fleet.js';
import { shownName } from './ui/cluster-name.js';
import type { RunsStore } from './store/runs.js';
import type { PromptsStore } from './store/prompts.js';
import { PassphrasePrompt } from './screens/passphrase/passphrase-prompt.js';
import { useStore } from 'zustand';
import { StoresProvider, useFleet, useFleetShallow, useUi, useUiStore } from './store/context.js';
import {
  createUiStore,
  screenKey,
  selectFilter,
  selectIsFilterActive,
  selectIsHelpOpen,
  selectScreen,
  type ScreenRef,
  type UiStore,
} from './store/ui.js';
import { ClusterScreen } from './screens/cluster/cluster-screen.js';
import {
  ConsoleContext,
  DEFAULT_THRESHOLDS,
  useConsole as useConsoleCallbacks,
  type ConsoleCallbacks,
  type ScreenThresholds,
} from './screens/console-context.js';
import { FilterLine } from './screens/filter-line.js';
import { FleetScreen } from './screens/fleet/fleet-screen.js';
import { HelpOverlay } from './screens/help/help-overlay.js';
import { NodeScreen } from './screens/node/node-screen.js';
import { QuitGuardContext, type QuitGuard, type QuitGuards } from './screens/run/quit-guard.js';
import { RunbookForm } from './screens/runbooks/runbook-form.js';
import { RunbookList } from './screens/runbooks/runbook-list.js';
import { hintsFor } from './screens/screen-keys.js';
import { CATALOG } from './actions/runbooks/catalog.js';
import { ErrorBoundary } from './ui/error-boundary.js';
import { Header } from './ui/header.js';
import { KeyHints, type KeyHint } from './ui/key-hints.js';
import { createTicker, TickerContext, useNow } from './ui/use-now.js';
import { useTerminalSize } from './ui/use-terminal-size.js';

/**
 * Ink's frame-rate cap (its default is 30). A big fleet refreshed in slices
 * draws a frame every 250 ms; a key pressed just after one waited for the
 * rest of a 33 ms throttle window, which put key -> frame at ~50 ms p95. At
 * 60 the wait is at most 17 ms. Frames are drawn only when something
 * changed, so this costs nothing while nothing does.
 */
export const MAX_FPS = 60;

export interface RunScreenSlot {
  width: number;
  height: number;
  /** False while help is open; the run screen should not listen to keys then. */
  isActive: boolean;
}

export interface AppProps {
  fleet: FleetStore;
  /** Pass one to drive or inspect navigation from outside (tests, the CLI pushing a run screen); made fresh otherwise. */
  ui?: UiStore;
  /** Runbook runs, for the run screen (useRuns); optional until runs can be started from the console. */
  runs?: RunsStore;
  onRefresh: () => void;
  onQuit: () => void;
  /**
   * Plan a runbook on a cluster with the parameters from its form, and show the
   * plan (the runbooks key appears only when this is set). Settles once the plan
   * is on screen; a rejection's message is shown on the form.
   */
  onRunbook?: ConsoleCallbacks['onRunbook'];
  /** Runbooks that onRunbook can start. Default: every runbook in the catalog. */
  availableRunbooks?: readonly string[];
  /** Draws a run (after the CLI pushes `{ kind: 'run', runId }`); it owns its keys and its footer. */
  renderRunScreen?: (runId: string, slot: RunScreenSlot) => ReactNode;
  thresholds?: Partial<ScreenThresholds>;
  /** The tag that hints a node's role, for drift shown on the node screen. */
  roleTag?: string;
  /** Wall clock for ages; tests pass a fixed one. */
  clock?: () => number;
  /** Questions from the backends (an SSH key's passphrase); drawn over the current screen. */
  prompts?: PromptsStore;
  /** --read-only: said on the top line of every screen. */
  isReadOnly?: boolean;
}

const ALL_RUNBOOKS = CATALOG.map((e) => e.name);

export function App({
  fleet,
  ui: givenUi,
  runs,
  onRefresh,
  onQuit,
  onRunbook,
  availableRunbooks,
  renderRunScreen,
  thresholds,
  roleTag,
  clock,
  prompts,
  isReadOnly = false,
}: AppProps) {
  const [ownUi] = useState(createUiStore);
  const [ticker] = useState(() => createTicker());
  const ui = givenUi ?? ownUi;
  const gc = thresholds?.gcGraceSeconds;
  const staleAfter = thresholds?.staleAfterRefreshes;
  const callbacks = useMemo<ConsoleCallbacks>(
    () => ({
      onRefresh,
      onQuit,
      onRunbook,
      availableRunbooks: availableRunbooks ?? ALL_RUNBOOKS,
      thresholds: {
        gcGraceSeconds: gc ?? DEFAULT_THRESHOLDS.gcGraceSeconds,
        staleAfterRefreshes: staleAfter ?? DEFAULT_THRESHOLDS.staleAfterRefreshes,
      },
    }),
    [onRefresh, onQuit, onRunbook, availableRunbooks, gc, staleAfter],
  );
  return (
    <StoresProvider fleet={fleet} ui={ui} runs={runs} clock={clock}>
      <ConsoleContext.Provider value={callbacks}>
        <TickerContext.Provider value={ticker}>
          <Console renderRunScreen={renderRunScreen} roleTag={roleTag} onQuit={onQuit} prompts={prompts} isReadOnly={isReadOnly} />
        </TickerContext.Provider>
      </ConsoleContext.Provider>
    </StoresProvider>
  );
}

interface ConsoleProps {
  renderRunScreen: AppProps['renderRunScreen'];
  roleTag: string | undefined;
  onQuit: () => void;
  prompts: PromptsStore | undefined;
  isReadOnly: boolean;
}

const NO_PROMPTS: PromptsStore = {
  getState: () => ({ passphrase: null, actions: { askPassphrase: async () => undefined, answerPassphrase: () => {} } }),
  getInitialState: () => NO_PROMPTS.getState(),
  setState: () => {},
  subscribe: () => () => {},
};

function Console({ renderRunScreen, roleTag, onQuit, prompts, isReadOnly }: ConsoleProps) {
  const promptStore = prompts ?? NO_PROMPTS;
  const passphrase = useStore(promptStore, (s) => s.passphrase);
  const { columns, rows } = useTerminalSize();
  const ui = useUiStore();
  const screen = useUi(selectScreen);
  const isHelpOpen = useUi(selectIsHelpOpen);
  const isFilterActive = useUi(selectIsFilterActive);
  const filter = useUi(selectFilter);
  const hasError = useFleet((s) => s.error !== null);
  const hints = useScreenHints(screen);
  const title = useScreenTitle(screen);
  // Ctrl-C quits from anywhere (Ink's own exitOnCtrlC is off), unless a screen's guard takes it: a live run asks first.
  const quitGuard = useRef<QuitGuard | undefined>(undefined);
  const quitGuards = useMemo<QuitGuards>(() => ({ set: (guard) => void (quitGuard.current = guard) }), []);
  useInput((input, key) => {
    if (!key.ctrl || input !== 'c') return;
    if (quitGuard.current?.()) return;
    onQuit();
  });

  const isRun = screen.kind === 'run';
  const hasFilterLine = !isRun && (isFilterActive || filter !== '');
  const headerHeight = hasError ? 2 : 1;
  const footerHeight = isRun ? 0 : 1;
  const bodyHeight = Math.max(3, rows - headerHeight - footerHeight - (hasFilterLine ? 1 : 0));
  const isBodyActive = !isHelpOpen && !isFilterActive && passphrase === null;

  let body: ReactNode;
  if (passphrase) {
    body = (
      <PassphrasePrompt
        key={passphrase.id}
        request={passphrase}
        width={columns}
        onAnswer={(id, value) => promptStore.getState().actions.answerPassphrase(id, value)}
      />
    );
  } else if (isHelpOpen) {
    body = <HelpOverlay title={title} hints={hints} width={columns} height={bodyHeight} isActive />;
  } else {
    switch (screen.kind) {
      case 'fleet':
        body = <FleetScreen width={columns} height={bodyHeight} isActive={isBodyActive} />;
        break;
      case 'cluster':
        body = <ClusterScreen clusterKey={screen.key} width={columns} height={bodyHeight} isActive={isBodyActive} />;
        break;
      case 'node':
        body = (
          <NodeScreen
            cluster={screen.cluster}
            id={screen.id}
            width={columns}
            height={bodyHeight}
            isActive={isBodyActive}
            roleTag={roleTag}
          />
        );
        break;
      case 'runbooks':
        body = <RunbookList cluster={screen.cluster} width={columns} height={bodyHeight} isActive={isBodyActive} />;
        break;
      case 'runbook-form':
        body = <RunbookForm cluster={screen.cluster} runbook={screen.runbook} width={columns} height={bodyHeight} isActive={isBodyActive} />;
        break;
      case 'run':
        body = renderRunScreen ? (
          renderRunScreen(screen.runId, { width: columns, height: bodyHeight, isActive: isBodyActive })
        ) : (
          <Text color="red">{`✗ no run screen is wired for run ${screen.runId}`}</Text>
        );
        break;
    }
  }

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <HeaderContainer width={columns} isReadOnly={isReadOnly} />
      {/* Clipped vertically only: every line below is already cut to the width (wrap="truncate"),
          and horizontal clipping makes Ink measure and re-slice every line of every frame. */}
      <Box height={bodyHeight} flexDirection="column" overflowY="hidden">
        <ErrorBoundary
          resetKey={`${screenKey(screen)}${isHelpOpen ? ':help' : ''}`}
          onBack={() => ui.getState().actions.pop()}
          onQuit={onQuit}
          isActive={isBodyActive}
        >
          <QuitGuardContext.Provider value={quitGuards}>{body}</QuitGuardContext.Provider>
        </ErrorBoundary>
      </Box>
      {hasFilterLine ? <FilterLine width={columns} isActive={!isHelpOpen} /> : null}
      {isRun ? null : <KeyHints hints={isHelpOpen ? HELP_OPEN_HINTS : hints} width={columns} isHelpPinned={!isHelpOpen} />}
    </Box>
  );
}

const HELP_OPEN_HINTS: KeyHint[] = [{ keys: 'esc', label: 'close help (? and q too)', isFooter: true }];

function useScreenHints(screen: ScreenRef) {
  const canStartRunbooks = useConsoleCallbacks().onRunbook !== undefined;
  return useMemo(() => hintsFor(screen, { canStartRunbooks }), [screen, canStartRunbooks]);
}

/**
 * The screen's title for the help overlay, a cluster named as the screens name
 * it (`orders · eu-west-1` when several regions are in view). A string from the
 * store: the console redraws when it changes, not on every refresh.
 */
function useScreenTitle(screen: ScreenRef): string {
  return useFleet((s) =>
    screenTitle(screen, (key) => {
      const c = findCluster(s.clusters, key);
      return c ? shownName(c, selectIsScopeShown(s)) : key;
    }),
  );
}

function screenTitle(screen: ScreenRef, labelOf: (key: string) => string): string {
  switch (screen.kind) {
    case 'fleet':
      return 'fleet';
    case 'cluster':
      return `cluster ${labelOf(screen.key)}`;
    case 'node':
      return `node ${screen.id} of ${labelOf(screen.cluster)}`;
    case 'runbooks':
      return `runbooks for ${labelOf(screen.cluster)}`;
    case 'runbook-form':
      return `${screen.runbook} on ${labelOf(screen.cluster)}`;
    case 'run':
      return `run ${screen.runId}`;
  }
}

function HeaderContainer({ width, isReadOnly }: { width: number; isReadOnly: boolean }) {
  const info = useFleetShallow((s) => ({
    target: s.target,
    refreshedAt: s.refreshedAt,
    isRolling: s.isRolling,
    isRefreshing: s.isRefreshing,
    progress: s.progress,
    hasWholeFleet: s.hasWholeFleet,
    error: s.error,
    refreshSeconds: s.refreshSeconds,
    scopes: s.scopes,
  }));
  const { thresholds } = useConsoleCallbacks();
  const now = useNow();
  return <Header {...info} staleAfterRefreshes={thresholds.staleAfterRefreshes} now={now} width={width} isReadOnly={isReadOnly} />;
}
