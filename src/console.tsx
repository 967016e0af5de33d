// The interactive console: first frame at once (the header knows the target
// from the config alone), then open the backends, start polling, and offer
// to resume a run that a dropped session left behind.

import { render } from 'ink';
import { createElement, type ReactNode } from 'react';
import { createConsoleRunner, type ConsoleRunner } from './actions/console-runner.js';
import { loadRun } from './actions/engine/history.js';
import { openBackends, targetOf } from './backends/index.js';
import type { Backends } from './backends/ports.js';
import type { Config } from './config/schema.js';
import type { Io } from './commands/types.js';
import type { ScopedName } from './domain/scope.js';
import { sameTarget } from './domain/target.js';
import { pollerOptions } from './poller-options.js';
import { RunScreen } from './screens/run/run-screen.js';
import { createFleetStore } from './store/fleet.js';
import { Poller } from './store/poller.js';
import { createRunsStore } from './store/runs.js';
import { createUiStore, currentScreen, screenKey, type UiStore } from './store/ui.js';
import { createPromptsStore } from './store/prompts.js';
import { App, MAX_FPS, type RunScreenSlot } from './app.js';
import { diffingStdout } from './ui/diffing-stdout.js';
import { limitHeapGrowth } from './heap-growth.js';
import { consoleStarted } from './started.js';

const ALT_SCREEN_ON = '\u001B[?1049h';
const ALT_SCREEN_OFF = '\u001B[?1049l';

export async function runConsole(config: Config, io: Io): Promise<void> {
  const fleet = createFleetStore({ target: targetOf(config), refreshSeconds: config.refreshSeconds });
  const ui = createUiStore();
  const runs = createRunsStore();
  const prompts = createPromptsStore();
  let poller: Poller | undefined;
  let backends: Backends | undefined;
  let runner: ConsoleRunner | undefined;
  let quit!: () => void;
  const done = new Promise<void>((resolve) => (quit = resolve));

  const onRunbook = planRunbooks(() => runner, ui);
  const renderRunScreen = (runId: string, slot: RunScreenSlot): ReactNode => {
    const controller = runner?.get(runId);
    if (!controller) return null;
    return createElement(RunScreen, {
      runId,
      runs,
      controller,
      width: slot.width,
      height: slot.height,
      isActive: slot.isActive,
      onBack: () => ui.getState().actions.pop(),
      onNext: (cluster, runbook) => ui.getState().actions.push({ kind: 'runbook-form', cluster, runbook }),
    });
  };

  const stdout = io.stdout as NodeJS.WriteStream;
  // The alternate screen keeps the shell's scrollback clean and leaves no
  // half-drawn frame behind on quit, as less and k9s do.
  const useAltScreen = Boolean(stdout.isTTY);
  if (useAltScreen) stdout.write(ALT_SCREEN_ON);
  const app = render(
    createElement(App, {
      fleet,
      ui,
      runs,
      onRefresh: () => void poller?.refreshNow(),
      onQuit: () => quit(),
      onRunbook,
      renderRunScreen,
      thresholds: config.thresholds,
      roleTag: config.discovery.roleTag,
      prompts,
      isReadOnly: config.readOnly,
    }),
    // Through diffingStdout, a frame that changed in two rows sends those two rows, not the screen.
    // Ctrl-C is the App's: it quits, except on a live run, which asks first (screens/run/quit-guard.ts).
    { stdout: useAltScreen ? diffingStdout(stdout) : stdout, stderr: io.stderr as NodeJS.WriteStream, exitOnCtrlC: false, maxFps: MAX_FPS },
  );
  app.waitUntilExit().then(() => quit());

  try {
    // The first frame is already out: Ink writes it inside render() (the leading
    // edge of its throttle; stdout writes are synchronous on Linux), and
    // bench/startup-aws.ts checks it arrives before the first AWS request. This
    // yield lets React's scheduled effects run first (stdin in raw mode, the
    // resize listener), because importing the AWS SDK next blocks the event
    // loop for half a second or more.
    await new Promise((resolve) => setImmediate(resolve));
    backends = await openBackends(config, { askPassphrase: (keyPath) => prompts.getState().actions.askPassphrase(keyPath) });
    fleet.getState().actions.setTarget(backends.target);
    const opened = backends;
    void opened.targetSettled?.().then(() => fleet.getState().actions.setTarget({ ...opened.target }));
    poller = new Poller(backends, fleet, pollerOptions(config, backends));
    poller.start();
    runner = createConsoleRunner({ config, backends, runs });
    await offerResume(runner, config, backends, ui);
  } catch (err) {
    fleet.getState().actions.setError(messageOf(err));
  }
  // Only now: the first frame is out and the backends' modules are loaded;
  // the code cache first, as it must be made before the flag changes (see started.ts, heap-growth.ts).
  consoleStarted();
  limitHeapGrowth();

  await done;
  poller?.stop();
  await runner?.abortAll('nightshift is quitting');
  app.unmount();
  if (useAltScreen) stdout.write(ALT_SCREEN_OFF);
  await backends?.close();
}

/**
 * The console's onRunbook: preflight and plan with the form's parameters, then
 * the run screen over the form that asked. A plan that is ready only after the
 * operator left that form (Esc while preflight probed the ring) is dropped, not
 * pushed over whatever they are reading now. A failure rejects, and the form
 * shows it.
 */
export function planRunbooks(getRunner: () => ConsoleRunner | undefined, ui: UiStore) {
  return async (runbook: string, cluster: ScopedName, params: Record<string, unknown>): Promise<void> => {
    const runner = getRunner();
    if (!runner) throw new Error('the backends are still opening (see the header); try again in a moment');
    const asked = screenKey(currentScreen(ui.getState()));
    // The row chosen names its region and account: the runner never has to guess which `orders` was meant.
    const controller = await runner.plan(runbook, { ...params, ...scopedParams(cluster) });
    if (screenKey(currentScreen(ui.getState())) !== asked) {
      controller.abort('the operator left the form before the plan was ready');
      return;
    }
    ui.getState().actions.push({ kind: 'run', runId: controller.runId });
  };
}

/**
 * A run this fleet's journal says was interrupted (the session died) or
 * paused is loaded, not started: its screen shows where it stopped and the
 * operator presses ⏎ to continue it, or Esc to leave it for later.
 */
async function offerResume(runner: ConsoleRunner, config: Config, backends: Backends, ui: UiStore): Promise<void> {
  const candidates = runner.resumable().filter((r) => {
    try {
      const target = loadRun(config.stateDir, r.runId).view.target;
      return target !== undefined && sameTarget(target, backends.target);
    } catch {
      return false;
    }
  });
  const newest = candidates[0];
  if (!newest) return;
  const controller = await runner.resume(newest.runId, { start: false });
  ui.getState().actions.push({ kind: 'run', runId: controller.runId });
}

/** The run params that name one cluster: `cluster`, with `region` and `account` where it has them (CLUSTER_PARAMS). */
export function scopedParams(cluster: ScopedName): { cluster: string; region?: string; account?: string } {
  return {
    cluster: cluster.name,
    ...(cluster.region !== undefined ? { region: cluster.region } : {}),
    ...(cluster.account !== undefined ? { account: cluster.account } : {}),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

