// Mounts the whole console on a fixture fleet with spies for its callbacks.
import { vi } from 'vitest';
import { App, type AppProps } from '../../src/app.js';
import type { ClusterView, Target } from '../../src/domain/types.js';
import { createUiStore } from '../../src/store/ui.js';
import { fleetStoreWith, NOW, SIM_TARGET } from '../helpers/fleet-fixtures.js';
import { renderInk } from '../helpers/render.js';

export async function renderApp(
  clusters: ClusterView[],
  opts: { target?: Target; columns?: number; rows?: number; props?: Partial<AppProps> } = {},
) {
  const fleet = fleetStoreWith(clusters, opts.target ?? SIM_TARGET);
  const ui = createUiStore();
  const onRefresh = vi.fn();
  const onQuit = vi.fn();
  const r = await renderInk(
    <App fleet={fleet} ui={ui} onRefresh={onRefresh} onQuit={onQuit} clock={() => NOW} {...opts.props} />,
    { columns: opts.columns ?? 80, rows: opts.rows ?? 24 },
  );
  return { ...r, fleet, ui, onRefresh, onQuit };
}
