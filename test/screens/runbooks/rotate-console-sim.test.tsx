// rotate from the console on the simulated fleet's stale-asg scenario, at
// ×1000 on the real clock, wired as src/console.tsx wires it: the drift
// finding offers rotate in the picker, the plan names each instance with a
// checkpoint between, one question at the start; a replacement that never
// joins stops the run at a failure gate that offers a pause, and `p` keeps
// the group's processes suspended and the lock for `resume`.

import { describe, expect, it } from 'vitest';
import { ROTATION_SUSPENDS } from '../../../src/backends/ports.js';
import { keys } from '../../helpers/keys.js';
import { openSimConsole } from './sim-console.js';

const openConsole = () => openSimConsole({ scenario: 'stale-asg', seed: 7, speed: 1000 });

const row = (frame: string, text: string) => frame.split('\n').find((l) => l.includes(text)) ?? '';

describe('rotate from the console (stale-asg)', () => {
  it('offers rotate for the stale ring, plans it, and pauses at a replacement that never joins, keeping the group suspended', { timeout: 60_000 }, async () => {
    const { app, ui, runner, backends: b } = await openConsole();
    const w = b.world.view();
    const g = Object.values(w.asgs).find((a) => w.clusters[a.cluster]?.engine === 'cassandra')!;
    await app.waitForText(' cluster');
    await app.press('/', ...g.cluster, keys.enter, keys.enter);
    await app.waitForText(`Fleet › ${g.cluster} ·`);
    await app.press('R');
    let frame = await app.waitForText(`Fleet › ${g.cluster} › runbooks`);
    expect(row(frame, '● rotate')).toMatch(/\d of \d instances on/);
    while (!row(app.lastFrame(), 'rotate').startsWith('›')) await app.press(keys.down);
    await app.press(keys.enter);
    await app.waitForText('stale ones, oldest first');
    await app.press(keys.enter);
    frame = await app.waitForText('plan: ⏎ to start');
    expect(frame).toContain('1. suspend the processes that fight a rotation [caution]');
    expect(frame).toMatch(/nodetool drain · \S+/);
    expect(frame).toMatch(/\[checkpoint\]/);

    b.world.inject({ kind: 'replacement-unhealthy', group: g.name });
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    // 60 fleet minutes of waiting for the ring at ×1000: a few real seconds.
    frame = await app.waitForText('p pause (resume later)', { timeout: 30_000 });
    expect(frame).toMatch(/✗ step failed: \S+'s replacement UN everywhere/);
    expect(frame).toContain('r retry · p pause (resume later) · a abort');
    await app.press('p');
    const top = ui.getState().stack.at(-1)!;
    const runId = top.kind === 'run' ? top.runId : '';
    expect((await runner.get(runId)!.done)?.status).toBe('paused');
    await app.waitForText('paused');
    expect(b.world.view().asgs[g.name]!.suspended).toEqual(expect.arrayContaining([...ROTATION_SUSPENDS]));
    expect((await b.lock.holder({ name: g.cluster }))?.runId).toBe(runId);
  });
});
