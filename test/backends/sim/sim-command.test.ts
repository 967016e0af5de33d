// `nightshift sim scenarios` and `nightshift sim reset`, through commander.

import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { statePathOf } from '../../../src/backends/sim/index.js';
import { register } from '../../../src/commands/sim.js';
import type { Config } from '../../../src/config/schema.js';
import { openSim, tempStateDir } from './sim-helpers.js';

function harness(stateDir: string) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const program = new Command().exitOverride();
  register(program, {
    io: { stdout: out, stderr: new PassThrough(), isInteractive: false },
    loadConfig: async () => ({ stateDir, sim: { scenario: 'healthy', seed: 1, speed: 1 } }) as unknown as Config,
    openBackends: async () => {
      throw new Error('not needed');
    },
  });
  return { program, output: () => text };
}

describe('nightshift sim', () => {
  it('lists the scenarios with a line each', async () => {
    const h = harness(tempStateDir());
    await h.program.parseAsync(['node', 'nightshift', 'sim', 'scenarios']);
    expect(h.output()).toMatch(/^healthy +every node up/m);
    expect(h.output()).toMatch(/^split-brain +/m);
    expect(h.output()).toMatch(/^regions-split +two regions, .* \(--regions 2\)$/m);
    expect(h.output()).toMatch(/^healthy +.*[^)]$/m);
  });

  it('resets the configured world, or the one named by flags', async () => {
    const stateDir = tempStateDir();
    const a = await openSim({ stateDir, seed: 3, scenario: 'master-down' });
    await a.close();
    const path = statePathOf(stateDir, 'master-down', 3, null);
    expect(existsSync(path)).toBe(true);
    const h = harness(stateDir);
    await h.program.parseAsync(['node', 'nightshift', 'sim', 'reset', '--scenario', 'master-down', '--seed', '3']);
    expect(existsSync(path)).toBe(false);
    expect(h.output()).toContain('reset the simulated world master-down, seed 3');
    await expect(h.program.parseAsync(['node', 'nightshift', 'sim', 'reset', '--scenario', 'bogus'])).rejects.toThrow(/unknown scenario/);
  });
});
