// A command context over the in-test Cassandra ring (test/actions/helpers.ts):
// what the headless commands' tests run against, with their output captured.

import { PassThrough } from 'node:stream';
import type { Backends } from '../../src/backends/ports.js';
import type { CommandContext } from '../../src/commands/types.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { makeBackends, MemoryLock, tempStateDir, TestClock, TestRing } from '../actions/helpers.js';

export function commandEnv(opts: { tags?: Array<string | undefined>; lock?: MemoryLock } = {}) {
  const clock = new TestClock();
  const ring = new TestRing(clock, { tags: opts.tags ?? ['2026-11-10T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-08T00:00:00Z'] });
  const lock = opts.lock ?? new MemoryLock();
  const stateDir = tempStateDir();
  const config: Config = { ...configSchema.parse({ secrets: [] }), target: 'sim', stateDir };
  const backends: Backends = makeBackends(clock, { inventory: ring.inventory(), shell: ring.shell(), lock });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const ctx: CommandContext = {
    io: { stdout: out, stderr: out, isInteractive: false },
    loadConfig: async () => config,
    openBackends: async () => backends,
  };
  return { clock, ring, lock, stateDir, ctx, output: () => text, reset: () => (text = '') };
}

