// The engine's dependencies from what a command or the console already has.

import type { Backends } from '../../backends/ports.js';
import type { Config } from '../../config/schema.js';
import type { Gate } from './gate.js';
import type { RunRecord } from './records.js';
import type { EngineDeps } from './runner.js';

export function engineDeps(config: Config, backends: Backends, gate: Gate, onEvent?: (r: RunRecord) => void): EngineDeps {
  return {
    backends,
    config: {
      engines: config.engines,
      ssh: config.ssh,
      thresholds: config.thresholds,
      secrets: config.secrets,
      clusters: config.clusters,
      discovery: config.discovery,
      stateDir: config.stateDir,
    },
    gate,
    ...(onEvent ? { onEvent } : {}),
  };
}
