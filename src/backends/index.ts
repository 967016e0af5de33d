// Builds the backend set for the configured target. Each target's code is
// loaded on demand, so the simulated fleet never pays for the AWS SDK or ssh2.

import type { Config } from '../config/schema.js';
import type { Target } from '../domain/types.js';
import type { Backends } from './ports.js';
import { withReadOnly } from './read-only.js';
import { simRegions } from './sim/regions.js';
import { simRegionCount } from './sim/scenario-list.js';

export interface BackendDeps {
  /** Asks for an encrypted key's passphrase (the TUI provides one; headless has none). */
  askPassphrase?: (keyPath: string) => Promise<string | undefined>;
}

export async function openBackends(config: Config, deps: BackendDeps = {}): Promise<Backends> {
  const backends = await openTarget(config, deps);
  return config.readOnly ? withReadOnly(backends) : backends;
}

async function openTarget(config: Config, deps: BackendDeps): Promise<Backends> {
  switch (config.target) {
    case 'sim': {
      const { createSimBackends } = await import('./sim/index.js');
      return createSimBackends({
        scenario: config.sim.scenario,
        seed: config.sim.seed,
        speed: config.sim.speed,
        ...(config.sim.nodes !== undefined ? { nodes: config.sim.nodes } : {}),
        ...(config.sim.regions !== undefined ? { regions: config.sim.regions } : {}),
        ...(config.sim.region !== undefined ? { view: config.sim.region } : {}),
        stateDir: config.stateDir,
        // The same limit as over ssh, so a command too long for a channel fails in rehearsal too.
        commandTimeoutMs: config.ssh.commandTimeoutSeconds * 1000,
      });
    }
    case 'aws': {
      const [{ createSshShell }, { createAwsBackends }] = await Promise.all([
        import('./ssh/index.js'),
        import('./aws/index.js'),
      ]);
      return createAwsBackends(config, { shell: createSshShell(config, deps) });
    }
    case 'inventory': {
      const [{ createSshShell }, { createInventoryBackends }] = await Promise.all([
        import('./ssh/index.js'),
        import('./inventory/index.js'),
      ]);
      return createInventoryBackends(config, { shell: createSshShell(config, deps) });
    }
  }
}

/** What the header can say before the backends are open (the first frame). */
export function targetOf(config: Config): Target {
  switch (config.target) {
    case 'sim': {
      // The regions in view, as the simulated backends name them (when the fleet models several).
      const regions = simRegions(simRegionCount(config.sim.scenario, config.sim.regions)).filter((r) => !config.sim.region || config.sim.region.includes(r));
      return { kind: 'sim', scenario: config.sim.scenario, seed: config.sim.seed, speed: config.sim.speed, ...(regions.length > 0 ? { regions } : {}) };
    }
    case 'aws': {
      // As createAwsBackends reads them: aws.profiles (several accounts) over aws.profile.
      const profiles = [...new Set(config.aws.profiles)];
      if (profiles.length > 1) return { kind: 'aws', regions: config.aws.regions, accounts: profiles.map((profile) => ({ profile })) };
      const profile = profiles[0] ?? config.aws.profile;
      return { kind: 'aws', regions: config.aws.regions, ...(profile ? { profile } : {}) };
    }
    case 'inventory':
      return { kind: 'inventory', file: config.inventory! };
  }
}
