// The ui store without React: navigation, selection and filter per screen.
import { describe, expect, it } from 'vitest';
import { createUiStore, EMPTY_FORM, screenKey, selectFilter, selectForm, selectScreen, selectSelection } from '../../src/store/ui.js';

describe('ui store', () => {
  it('pushes and pops screens, never below the fleet', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    actions.push({ kind: 'cluster', key: 'db-orders' });
    actions.push({ kind: 'node', cluster: 'db-orders', id: 'i-1' });
    expect(selectScreen(ui.getState())).toEqual({ kind: 'node', cluster: 'db-orders', id: 'i-1' });
    actions.pop();
    actions.pop();
    actions.pop();
    expect(ui.getState().stack).toEqual([{ kind: 'fleet' }]);
  });

  it('keeps selection and filter per screen, and a re-opened screen starts afresh', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    actions.setFilter('db');
    actions.select(3, 'db-c');
    actions.push({ kind: 'cluster', key: 'db-c' });
    expect(selectSelection(ui.getState())).toBeUndefined();
    expect(selectFilter(ui.getState())).toBe('');
    actions.select(2, 'i-2');
    actions.pop();
    expect(selectSelection(ui.getState())).toEqual({ index: 3, id: 'db-c' });
    expect(selectFilter(ui.getState())).toBe('db');
    actions.push({ kind: 'cluster', key: 'db-c' });
    expect(selectSelection(ui.getState())).toBeUndefined();
  });

  it('a new filter puts the cursor back on the first match; esc (clearFilter) drops it', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    actions.select(5, 'x');
    actions.startFilter();
    actions.setFilter('ca');
    expect(ui.getState().isFilterActive).toBe(true);
    expect(selectSelection(ui.getState())).toBeUndefined();
    actions.clearFilter();
    expect(ui.getState().isFilterActive).toBe(false);
    expect(selectFilter(ui.getState())).toBe('');
  });

  it('help and filter do not stay open across screens', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    actions.toggleHelp();
    expect(ui.getState().isHelpOpen).toBe(true);
    actions.push({ kind: 'cluster', key: 'a' });
    expect(ui.getState().isHelpOpen).toBe(false);
  });

  it('keeps a runbook form\'s answers under the run screen, and a form opened afresh starts empty', () => {
    const ui = createUiStore();
    const { actions } = ui.getState();
    const form = { kind: 'runbook-form', cluster: 'ring', runbook: 'repair' } as const;
    actions.push({ kind: 'runbooks', cluster: 'ring' });
    actions.push(form);
    expect(selectForm(ui.getState())).toBe(EMPTY_FORM);
    actions.setForm(screenKey(form), { values: { node: 'node:cass-2' }, status: 'planning' });
    actions.push({ kind: 'run', runId: 'r1' });
    actions.pop();
    expect(selectForm(ui.getState())).toEqual({ values: { node: 'node:cass-2' }, status: 'planning' });
    // A plan that fails late still lands on its own form, whatever is on screen.
    actions.pop();
    actions.setForm(screenKey(form), { values: {}, status: 'failed', message: 'no' });
    expect(ui.getState().forms[screenKey(form)]?.status).toBe('failed');
    actions.push(form);
    expect(selectForm(ui.getState())).toBe(EMPTY_FORM);
  });
});
