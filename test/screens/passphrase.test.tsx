import { afterEach, describe, expect, it } from 'vitest';
import { createPromptsStore } from '../../src/store/prompts.js';
import { sampleFleet } from '../helpers/fleet-fixtures.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk } from '../helpers/render.js';
import { renderApp } from './render-app.js';

afterEach(cleanupInk);

describe('SSH key passphrase prompt', () => {
  it('asks over the current screen, masks what is typed, and hands the passphrase back', async () => {
    const prompts = createPromptsStore();
    const app = await renderApp(sampleFleet(), { props: { prompts } });
    await app.waitForText('Fleet');
    const answer = prompts.getState().actions.askPassphrase('/home/oncall/.ssh/id_ed25519');
    await app.waitForText('SSH key /home/oncall/.ssh/id_ed25519 is encrypted');
    await app.press(...'hunter2');
    const frame = await app.waitForText('*******');
    expect(frame).not.toContain('hunter2');
    // Keys go to the prompt, not to the screen below: q typed here is not a quit.
    expect(app.onQuit).not.toHaveBeenCalled();
    await app.press(keys.enter);
    await expect(answer).resolves.toBe('hunter2');
    await app.waitForText('Fleet ·');
    expect(app.lastFrame()).not.toContain('is encrypted');
  });

  it('lets the operator skip the key with Esc', async () => {
    const prompts = createPromptsStore();
    const app = await renderApp(sampleFleet(), { props: { prompts } });
    await app.waitForText('Fleet');
    const answer = prompts.getState().actions.askPassphrase('/k1');
    const second = prompts.getState().actions.askPassphrase('/k2');
    await app.waitForText('SSH key /k1 is encrypted');
    await app.press(keys.escape);
    await expect(answer).resolves.toBeUndefined();
    await app.waitForText('SSH key /k2 is encrypted');
    await app.press('x');
    await app.waitForText('› *'); // Enter reads the value of the last drawn state, as a person would
    await app.press(keys.enter);
    await expect(second).resolves.toBe('x');
    expect(app.onQuit).not.toHaveBeenCalled();
  });
});
