// The interactive console: first frame at once (the header knows the target
// from the config alone), then open the backends and start polling.

import { render } from 'ink';
import { createElement } from 'react';
import { openBackends, targetOf } from './backends/index.js';
import type { Backends } from './backends/ports.js';
import type { Config } from './config/schema.js';
import type { Io } from './commands/types.js';
import { pollerOptions } from './poller-options.js';
import { createFleetStore } from './store/fleet.js';
import { Poller } from './store/poller.js';
import { App } from './app.js';

export async function runConsole(config: Config, io: Io): Promise<void> {
  const fleet = createFleetStore({ target: targetOf(config), refreshSeconds: config.refreshSeconds });
  let poller: Poller | undefined;
  let backends: Backends | undefined;
  let quit!: () => void;
  const done = new Promise<void>((resolve) => (quit = resolve));

  const app = render(
    createElement(App, {
      fleet,
      onRefresh: () => void poller?.refreshNow(),
      onQuit: () => quit(),
    }),
    { stdout: io.stdout as NodeJS.WriteStream, stderr: io.stderr as NodeJS.WriteStream, exitOnCtrlC: true },
  );
  app.waitUntilExit().then(() => quit());

  try {
    backends = await openBackends(config);
    fleet.getState().actions.setTarget(backends.target);
    poller = new Poller(backends, fleet, pollerOptions(config));
    poller.start();
  } catch (err) {
    fleet.getState().actions.setError(err instanceof Error ? err.message : String(err));
  }

  await done;
  poller?.stop();
  app.unmount();
  await backends?.close();
}
