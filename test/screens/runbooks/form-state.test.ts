// The runbook form's reducer and key mapping, without React.
import { describe, expect, it } from 'vitest';
import type { Field } from '../../../src/actions/runbooks/catalog.js';
import { cursorRow, formKeyIntent, formRows, formValues, reduceForm } from '../../../src/screens/runbooks/form-state.js';
import { EMPTY_FORM, type FormData } from '../../../src/store/ui.js';
import { NO_KEY } from '../../../src/ui/keys.js';

const FIELDS: Field[] = [
  {
    key: 'node',
    label: 'which node',
    kind: 'choice',
    default: 'auto',
    options: [
      { value: 'auto', label: 'least recently repaired' },
      { value: 'all', label: 'all overdue', disabled: 'none is overdue' },
      { value: 'node:a', label: 'a' },
      { value: 'node:b', label: 'b' },
    ],
  },
  { key: 'fast', label: 'skip the checkpoints', kind: 'boolean', default: false },
  { key: 'note', label: 'note', kind: 'text', default: '' },
];

const run = (form: FormData, ...intents: Parameters<typeof reduceForm>[2][]) => intents.reduce((f, i) => reduceForm(FIELDS, f, i), form);

describe('runbook form', () => {
  it('starts on the first field, at its default', () => {
    expect(formValues(FIELDS, EMPTY_FORM)).toEqual({ node: 'auto', fast: false, note: '' });
    expect(formRows(FIELDS)[cursorRow(FIELDS, EMPTY_FORM)]).toMatchObject({ kind: 'option', option: { value: 'auto' } });
  });

  it('in a choice, the answer follows the cursor and steps over a disabled answer', () => {
    const f = run(EMPTY_FORM, { type: 'move', delta: 1 });
    expect(formValues(FIELDS, f).node).toBe('node:a');
    expect(formValues(FIELDS, run(f, { type: 'move', delta: -1 })).node).toBe('auto');
  });

  it('moves on to the next field past the last answer, keeping the choice made', () => {
    const down = { type: 'move', delta: 1 } as const;
    const f = run(EMPTY_FORM, down, down, down);
    expect(f.focus).toBe('fast');
    expect(formValues(FIELDS, f).node).toBe('node:b');
    // A page that jumps past the choice leaves its answer as it was: the cursor never stopped on another.
    expect(formValues(FIELDS, run(EMPTY_FORM, { type: 'move', delta: 3 }))).toMatchObject({ node: 'auto' });
    const toggled = run(f, { type: 'toggle' });
    expect(formValues(FIELDS, toggled).fast).toBe(true);
    // Back up into the choice: the cursor lands on the last answer, which becomes the answer.
    expect(formValues(FIELDS, run(toggled, { type: 'move', delta: -1 }))).toEqual({ node: 'node:b', fast: true, note: '' });
  });

  it('stops at either end instead of wrapping', () => {
    expect(run(EMPTY_FORM, { type: 'move', delta: -5 })).toBe(EMPTY_FORM);
    const end = run(EMPTY_FORM, { type: 'move', delta: 50 });
    expect(end.focus).toBe('note');
    expect(run(end, { type: 'move', delta: 1 })).toBe(end);
  });

  it('types into a text answer and erases from it; toggling there does nothing', () => {
    const atNote = run(EMPTY_FORM, { type: 'move', delta: 4 });
    const typed = run(atNote, { type: 'type', text: 'h' }, { type: 'type', text: 'é' }, { type: 'type', text: 'x' }, { type: 'erase' }, { type: 'toggle' });
    expect(formValues(FIELDS, typed).note).toBe('hé');
  });

  it('keeps an answer a refresh took away as the default, not as a wrong row', () => {
    const gone: FormData = { focus: 'node', values: { node: 'node:zz' }, status: 'editing' };
    expect(formValues(FIELDS, gone).node).toBe('auto');
    expect(formRows(FIELDS)[cursorRow(FIELDS, gone)]).toMatchObject({ option: { value: 'auto' } });
  });
});

describe('form keys', () => {
  const key = (over: Partial<typeof NO_KEY>) => ({ ...NO_KEY, ...over });

  it('⏎ submits and Esc goes back, typing or not', () => {
    for (const typing of [false, true]) {
      expect(formKeyIntent('', key({ return: true }), typing)).toEqual({ type: 'submit' });
      expect(formKeyIntent('', key({ escape: true }), typing)).toEqual({ type: 'back' });
      expect(formKeyIntent('', key({ downArrow: true }), typing)).toEqual({ type: 'move', delta: 1 });
    }
  });

  it('j, k, q, ? and space are keys on a choice and letters in a text answer', () => {
    expect(formKeyIntent('j', NO_KEY, false)).toEqual({ type: 'move', delta: 1 });
    expect(formKeyIntent('q', NO_KEY, false)).toEqual({ type: 'quit' });
    expect(formKeyIntent('?', NO_KEY, false)).toEqual({ type: 'help' });
    expect(formKeyIntent(' ', NO_KEY, false)).toEqual({ type: 'toggle' });
    expect(formKeyIntent('j', NO_KEY, true)).toEqual({ type: 'type', text: 'j' });
    expect(formKeyIntent('q', NO_KEY, true)).toEqual({ type: 'type', text: 'q' });
    expect(formKeyIntent('', key({ delete: true }), true)).toEqual({ type: 'erase' });
    // R, the key that opened the list, means nothing here.
    expect(formKeyIntent('R', key({ shift: true }), false)).toBeNull();
  });
});
