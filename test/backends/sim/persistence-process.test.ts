// A second process (a headless run) changes the simulated world while this
// one (the console) has it open; this one sees it without restarting.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { openSim, tempStateDir } from './sim-helpers.js';

const run = promisify(execFile);

describe('simulated world shared between processes', () => {
  it('shows a tag written by another process', async () => {
    const stateDir = tempStateDir();
    const b = await openSim({ stateDir });
    const node = b.world.instances().find((i) => i.tags['nightshift:engine'] === 'cassandra')!;
    const child = fileURLToPath(new URL('./child-set-tag.ts', import.meta.url));
    await run(process.execPath, ['--import', 'tsx', child, stateDir, node.id, '2026-11-20T02:00:00Z'], { cwd: process.cwd() });
    await vi.waitFor(async () => {
      const seen = (await b.inventory.discover()).instances.find((i) => i.id === node.id)!;
      expect(seen.tags['last-repaired']).toBe('2026-11-20T02:00:00Z');
    });
    // And our own next write keeps theirs (re-read, then write).
    await b.inventory.setTags(node.id, { note: 'console' });
    const both = b.world.instances().find((i) => i.id === node.id)!.tags;
    expect(both).toMatchObject({ 'last-repaired': '2026-11-20T02:00:00Z', note: 'console' });
  }, 30_000);
});
