// The runbook form at 80 columns on the simulated fleet (ebs-stuck): an
// option whose label or detail the row cuts is spelled out whole under the
// rows while the cursor is on it.

import { describe, expect, it } from 'vitest';
import { keys } from '../../helpers/keys.js';
import { openSimConsole } from './sim-console.js';

const words = (frame: string) => frame.split('\n').map((l) => l.trim()).join(' ').replace(/\s+/g, ' ');

describe('the runbook form at 80 columns', () => {
  it('shows the cursor\'s option whole under the rows when its line is cut', async () => {
    const { app } = await openSimConsole({ scenario: 'ebs-stuck', seed: 1, speed: 1 });
    await app.waitForText(' cluster');
    await app.press('/', ...'billing', keys.enter, keys.enter);
    await app.waitForText('Fleet › billing-db ·');
    await app.press('R');
    await app.waitForText('Fleet › billing-db › runbooks');
    await app.press('/', ...'rebuild', keys.enter, keys.enter);
    let frame = await app.waitForText('Fleet › billing-db › rebuild');
    // The row cuts the label ("least lagging healthy rep…"); the » line has it all.
    expect(frame).toContain('least lagging healthy rep…');
    expect(frame).toContain('» least lagging healthy replica: now billing-db-03');
    // Down to the copy's default: its detail, cut in the row, whole below.
    for (let i = 0; i < 6 && !app.lastFrame().includes('› ● default'); i++) await app.press(keys.down);
    frame = await app.waitForText('› ● default');
    expect(frame.split('\n').find((l) => l.startsWith('› ● default'))).toMatch(/…$/);
    expect(words(frame)).toMatch(/» default: EBS snapshot where the target has EBS, else stream[^…]*$/m);
    for (const l of frame.split('\n')) expect(Array.from(l).length).toBeLessThanOrEqual(80);
  });
});
