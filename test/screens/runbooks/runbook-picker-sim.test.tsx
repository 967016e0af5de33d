// The runbook picker on the simulated fleet's repair-overdue scenario (a
// product feature, not a mock), wired as src/console.tsx wires it: the real
// poller, console runner, planRunbooks and run screen, driven with keys from
// the fleet screen to the plan.

import { describe, expect, it } from 'vitest';
import { screenKey } from '../../../src/store/ui.js';
import { keys } from '../../helpers/keys.js';
import { openSimConsole } from './sim-console.js';

const RING = 'timeline-ring';
const openConsole = () => openSimConsole({ scenario: 'repair-overdue', seed: 1, speed: 1 });

/** Fleet → the ring → R → repair → its form. */
async function openRepairForm(app: Awaited<ReturnType<typeof openConsole>>['app']) {
  await app.waitForText(' cluster');
  await app.press('/', ...'ring', keys.enter, keys.enter);
  await app.waitForText(`Fleet › ${RING} ·`);
  await app.press('R');
  const list = await app.waitForText(`Fleet › ${RING} › runbooks`);
  await app.press(keys.enter);
  const form = await app.waitForText(`Fleet › ${RING} › repair`);
  return { list, form };
}

describe('the runbook picker on the simulated fleet (repair-overdue)', () => {
  it('lists repair with the overdue nodes, and plans the node chosen in the form', async () => {
    const { app, ui, runner } = await openConsole();
    const { list, form } = await openRepairForm(app);
    // The scenario's ring: repairs 21, 16, 13, 11, 5 and 2 days old, against 10 days of gc_grace.
    expect(list).toMatch(/● repair +4 nodes overdue, oldest 21 d \(gc_grace 10 d\)/);
    expect(form).toMatch(/› ● least recently repaired +now timeline-ring-01, repaired 21 d ago/);
    expect(form).toMatch(/○ timeline-ring-05 +repaired 5 d ago\n/);

    // least recently repaired → all overdue → -01 → -02 → -03
    await app.press('j', 'j', 'j', 'j');
    await app.waitForText('› ● timeline-ring-03');
    await app.press(keys.enter);
    const plan = await app.waitForText('plan: ⏎ to start');
    expect(plan).toContain('nodetool repair -pr · timeline-ring-03 [caution]');
    expect(plan).toContain('✓ every node UN in nodetool status: 6/6 nodes UN');
    const top = ui.getState().stack.at(-1)!;
    expect(top.kind).toBe('run');
    const runId = top.kind === 'run' ? top.runId : '';
    expect(runner.get(runId)?.isStarted).toBe(false);

    // Esc leaves the plan unstarted and returns to the form, answer kept; again to the list.
    await app.press(keys.escape);
    const back = await app.waitForText(`Fleet › ${RING} › repair`);
    expect(back).toContain('› ● timeline-ring-03');
    expect(back).toContain('⏎ plan: preflight');
    expect(await runner.get(runId)!.done).toBeUndefined();
    await app.press(keys.escape);
    await app.waitForText(`Fleet › ${RING} › runbooks`);
  });

  it('plans all overdue nodes, oldest first, one group of steps per node with a checkpoint between', async () => {
    const { app } = await openConsole();
    await openRepairForm(app);
    await app.press('j');
    await app.waitForText('› ● all overdue');
    await app.press(keys.enter);
    const plan = await app.waitForText('plan: ⏎ to start');
    const steps = plan.split('\n').filter((l) => /^[› ]○ \d+\. /.test(l)).map((l) => l.slice(2).trim());
    expect(steps).toEqual([
      '1. pick the overdue nodes',
      ...['01', '02', '03', '04'].flatMap((n, i) => [
        ...(i > 0 ? [`${3 * i + 1}. ${i} of 4 repaired; next: timeline-ring-${n} [checkpoint]`] : []),
        `${3 * i + 2}. nodetool repair -pr · timeline-ring-${n} [caution]`,
        `${3 * i + 3}. tag last-repaired · timeline-ring-${n}`,
      ]),
    ]);
  });

  it('a plan ready only after the operator left the form is dropped, not pushed over their screen', async () => {
    const { app, ui, runner } = await openConsole();
    await openRepairForm(app);
    const planned: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const plan = runner.plan.bind(runner);
    // The plan is made, then held until the operator has left the form.
    runner.plan = async (...args) => {
      const c = await plan(...args);
      await held;
      planned.push(c.runId);
      return c;
    };
    await app.press(keys.enter);
    await app.waitForText('◐ preflight and plan for repair on timeline-ring…');
    await app.press(keys.escape);
    await app.waitForText(`Fleet › ${RING} › runbooks`);
    release();
    await expect.poll(() => planned.length).toBe(1);
    // The form hears back once onRunbook has settled, whichever way it went.
    const form = screenKey({ kind: 'runbook-form', cluster: RING, runbook: 'repair' });
    await expect.poll(() => ui.getState().forms[form]?.status).toBe('editing');
    expect(ui.getState().stack.map((s) => s.kind)).toEqual(['fleet', 'cluster', 'runbooks']);
    expect(runner.get(planned[0]!)!.isStarted).toBe(false);
    expect(await runner.get(planned[0]!)!.done).toBeUndefined();
  });
});
