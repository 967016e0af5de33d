import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfirmPrompt, initialConfirm, reduceConfirm } from '../../src/ui/confirm-prompt.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk, renderInk } from '../helpers/render.js';

afterEach(cleanupInk);

describe('ConfirmPrompt', () => {
  it('starts on No: a bare enter cancels', async () => {
    const onConfirm = vi.fn();
    const onCancel = vi.fn();
    const r = await renderInk(<ConfirmPrompt message="Stop replication on db-orders-2?" onConfirm={onConfirm} onCancel={onCancel} />);
    expect(await r.waitForText('› No')).toContain('Stop replication on db-orders-2?');
    await r.press(keys.enter);
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it('confirms with y, or with enter after moving to Yes', async () => {
    const onConfirm = vi.fn();
    const r = await renderInk(<ConfirmPrompt message="Go?" onConfirm={onConfirm} onCancel={() => {}} />);
    await r.press('y');
    expect(onConfirm).toHaveBeenCalledTimes(1);
    await r.press(keys.right);
    await r.waitForText('› Yes');
    await r.press(keys.enter);
    expect(onConfirm).toHaveBeenCalledTimes(2);
  });

  it('the typed variant confirms only on the exact name; esc cancels', async () => {
    const onConfirm = vi.fn();
    const onCancel = vi.fn();
    const r = await renderInk(
      <ConfirmPrompt message="Terminate db-orders-2" confirmName="db-orders-2" onConfirm={onConfirm} onCancel={onCancel} />,
    );
    await r.waitForText('Type  db-orders-2  to confirm');
    await r.press('y', keys.enter);
    await r.waitForText('"y" is not "db-orders-2"; nothing was done');
    expect(onConfirm).not.toHaveBeenCalled();
    await r.press(keys.backspace);
    for (const ch of 'db-orders-2') await r.press(ch);
    await r.waitForText('› db-orders-2');
    await r.press(keys.enter);
    expect(onConfirm).toHaveBeenCalledTimes(1);
    await r.press(keys.escape);
    expect(onCancel).toHaveBeenCalledTimes(1);
  });

  it('takes keys that arrive in one read one at a time, as if typed slowly', async () => {
    // Over ssh a quick typist's name and Enter often come in one read.
    const onConfirm = vi.fn();
    const onCancel = vi.fn();
    const r = await renderInk(
      <ConfirmPrompt message="Terminate db-orders-2" confirmName="db-orders-2" onConfirm={onConfirm} onCancel={onCancel} />,
    );
    await r.waitForText('Type  db-orders-2  to confirm');
    await r.press('db-orders-1\r');
    await r.waitForText('"db-orders-1" is not "db-orders-2"; nothing was done');
    expect(onConfirm).not.toHaveBeenCalled();
    await r.press('\u007f2\r');
    expect(onConfirm).toHaveBeenCalledTimes(1);
    expect(onCancel).not.toHaveBeenCalled();

    // y/N: "n" and whatever followed it in the same read: one answer, the first.
    const yes = vi.fn();
    const no = vi.fn();
    const g = await renderInk(<ConfirmPrompt message="Go?" onConfirm={yes} onCancel={no} />);
    await g.waitForText('› No');
    await g.press('ny\r');
    expect(no).toHaveBeenCalledTimes(1);
    expect(yes).not.toHaveBeenCalled();
  });

  it('reducer: typing clears a mismatch', () => {
    const s = reduceConfirm(reduceConfirm(initialConfirm, { type: 'mismatch' }), { type: 'type', text: 'a' });
    expect(s).toEqual({ focus: 'no', typed: 'a', isMismatch: false });
  });
});
