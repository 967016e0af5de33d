// The console on a simulated fleet, wired as src/console.tsx wires it: the
// real poller, console runner, planRunbooks and run screen, at 80x24. The
// picker and rotate tests drive it with keys.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createElement } from 'react';
import { afterEach } from 'vitest';
import { createConsoleRunner, type ConsoleRunner } from '../../../src/actions/console-runner.js';
import { App } from '../../../src/app.js';
import { createSimBackends, type SimBackends } from '../../../src/backends/sim/index.js';
import { loadConfig } from '../../../src/config/load.js';
import { planRunbooks } from '../../../src/console.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { RunScreen } from '../../../src/screens/run/run-screen.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { createRunsStore } from '../../../src/store/runs.js';
import { createUiStore } from '../../../src/store/ui.js';
import { cleanupInk, renderInk } from '../../helpers/render.js';

const opened: SimBackends[] = [];

afterEach(async () => {
  cleanupInk();
  for (const b of opened.splice(0)) await b.close();
});

/** `speed` runs the sim's clock on the real one (×1000: fleet minutes in real milliseconds). */
export async function openSimConsole(opts: { scenario: string; seed: number; speed: number }) {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-console-'));
  const config = loadConfig({ scenario: opts.scenario, stateDir }, { env: {}, cwd: stateDir });
  const backends = await createSimBackends({ ...opts, stateDir });
  opened.push(backends);
  const fleet = createFleetStore({ target: backends.target, refreshSeconds: config.refreshSeconds });
  await new Poller(backends, fleet, pollerOptions(config, backends)).refreshNow();
  const ui = createUiStore();
  const runs = createRunsStore();
  const runner: ConsoleRunner = createConsoleRunner({ config, backends, runs });
  const app = await renderInk(
    <App
      fleet={fleet}
      ui={ui}
      runs={runs}
      onRefresh={() => {}}
      onQuit={() => {}}
      onRunbook={planRunbooks(() => runner, ui)}
      renderRunScreen={(runId, slot) => {
        const controller = runner.get(runId);
        return controller ? createElement(RunScreen, { runId, runs, controller, ...slot, onBack: () => ui.getState().actions.pop() }) : null;
      }}
      thresholds={config.thresholds}
    />,
    { columns: 80, rows: 24 },
  );
  return { app, ui, runner, backends, fleet };
}
