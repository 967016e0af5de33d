// What the console is showing: which screen, where the cursor is, the filter,
// the help overlay. Plain data and a pure reducer, so tests drive it without
// React and every console (and every test) gets its own store.

import { createStore, type StoreApi } from 'zustand/vanilla';

/**
 * A screen on the stack. A cluster is named by its key (clusterKey in
 * domain/scope.ts: `account/region/name`, the bare name where there is no
 * scope), never its name alone: `orders` in two regions is two clusters, and
 * each opens its own screen.
 */
export type ScreenRef =
  | { kind: 'fleet' }
  | { kind: 'cluster'; key: string }
  /** `cluster`: the cluster's key. */
  | { kind: 'node'; cluster: string; id: string }
  /** The runbooks for a cluster's engine, each with whether it applies now. `cluster`: its key. */
  | { kind: 'runbooks'; cluster: string }
  /** One runbook's parameters for a cluster (by key); submitting plans the run. */
  | { kind: 'runbook-form'; cluster: string; runbook: string }
  | { kind: 'run'; runId: string };

/** Where the cursor is on one screen. The id lets the cursor follow its row when a refresh re-sorts the list. */
export interface Selection {
  index: number;
  id?: string;
}

/** A runbook form's answers and where it stands. The fields themselves come from the catalog, fresh each draw. */
export interface FormData {
  /** The key of the field the cursor is on; absent: the first field. */
  focus?: string;
  /** Answers given so far, by field key; a field not here has its default. */
  values: Record<string, string | boolean>;
  /** 'planning' while preflight and plan run (the run screen comes next); 'failed' when they could not. */
  status: 'editing' | 'planning' | 'failed';
  /** Why planning failed, in words. */
  message?: string;
}

export const EMPTY_FORM: FormData = { values: {}, status: 'editing' };

export interface UiData {
  /** Never empty: the fleet screen is always at the bottom. */
  stack: ScreenRef[];
  /** Per screen key (see screenKey). */
  selection: Record<string, Selection>;
  /** Per screen key; '' or absent means no filter. */
  filter: Record<string, string>;
  /** True while the filter line has the keyboard. */
  isFilterActive: boolean;
  isHelpOpen: boolean;
  /** Runbook forms, per screen key. */
  forms: Record<string, FormData>;
}

export type UiAction =
  | { type: 'push'; screen: ScreenRef }
  | { type: 'pop' }
  | { type: 'select'; index: number; id?: string }
  | { type: 'startFilter' }
  | { type: 'setFilter'; text: string }
  | { type: 'keepFilter' }
  | { type: 'clearFilter' }
  | { type: 'toggleHelp' }
  | { type: 'closeHelp' }
  /** By screen key, not the current screen: a plan that fails arrives after the operator may have moved on. */
  | { type: 'setForm'; screen: string; form: FormData };

export function screenKey(screen: ScreenRef): string {
  switch (screen.kind) {
    case 'fleet':
      return 'fleet';
    case 'cluster':
      return `cluster:${screen.key}`;
    case 'node':
      return `node:${screen.cluster}:${screen.id}`;
    case 'runbooks':
      return `runbooks:${screen.cluster}`;
    case 'runbook-form':
      return `runbook-form:${screen.cluster}:${screen.runbook}`;
    case 'run':
      return `run:${screen.runId}`;
  }
}

export function initialUi(): UiData {
  return { stack: [{ kind: 'fleet' }], selection: {}, filter: {}, isFilterActive: false, isHelpOpen: false, forms: {} };
}

export function currentScreen(data: Pick<UiData, 'stack'>): ScreenRef {
  return data.stack[data.stack.length - 1] ?? { kind: 'fleet' };
}

export function reduceUi(state: UiData, action: UiAction): UiData {
  const key = screenKey(currentScreen(state));
  switch (action.type) {
    case 'push': {
      const next = screenKey(action.screen);
      // A screen opened afresh starts at the top, without a filter from a previous visit.
      const { [next]: _sel, ...selection } = state.selection;
      const { [next]: _flt, ...filter } = state.filter;
      const { [next]: _form, ...forms } = state.forms;
      return {
        ...state,
        stack: [...state.stack, action.screen],
        selection,
        filter,
        forms,
        isFilterActive: false,
        isHelpOpen: false,
      };
    }
    case 'pop':
      if (state.stack.length <= 1) return state;
      return { ...state, stack: state.stack.slice(0, -1), isFilterActive: false, isHelpOpen: false };
    case 'select': {
      const index = Math.max(0, Math.trunc(action.index));
      const prev = state.selection[key];
      if (prev && prev.index === index && prev.id === action.id) return state;
      return { ...state, selection: { ...state.selection, [key]: { index, id: action.id } } };
    }
    case 'startFilter':
      return { ...state, isFilterActive: true, isHelpOpen: false };
    case 'setFilter': {
      // A new filter puts the cursor on the first match.
      const { [key]: _sel, ...selection } = state.selection;
      return { ...state, filter: { ...state.filter, [key]: action.text }, selection };
    }
    case 'keepFilter':
      return { ...state, isFilterActive: false };
    case 'clearFilter': {
      const { [key]: _flt, ...filter } = state.filter;
      return { ...state, filter, isFilterActive: false };
    }
    case 'toggleHelp':
      return { ...state, isHelpOpen: !state.isHelpOpen, isFilterActive: false };
    case 'closeHelp':
      return state.isHelpOpen ? { ...state, isHelpOpen: false } : state;
    case 'setForm':
      return state.forms[action.screen] === action.form ? state : { ...state, forms: { ...state.forms, [action.screen]: action.form } };
  }
}

export interface UiState extends UiData {
  actions: {
    dispatch(action: UiAction): void;
    push(screen: ScreenRef): void;
    pop(): void;
    select(index: number, id?: string): void;
    startFilter(): void;
    setFilter(text: string): void;
    keepFilter(): void;
    clearFilter(): void;
    toggleHelp(): void;
    closeHelp(): void;
    setForm(screen: string, form: FormData): void;
  };
}

export type UiStore = StoreApi<UiState>;

export function createUiStore(init?: Partial<UiData>): UiStore {
  return createStore<UiState>()((set) => {
    const dispatch = (action: UiAction) =>
      set((s) => {
        const next = reduceUi(s, action);
        return next === s ? s : { ...next, actions: s.actions };
      });
    return {
      ...initialUi(),
      ...init,
      actions: {
        dispatch,
        push: (screen) => dispatch({ type: 'push', screen }),
        pop: () => dispatch({ type: 'pop' }),
        select: (index, id) => dispatch({ type: 'select', index, id }),
        startFilter: () => dispatch({ type: 'startFilter' }),
        setFilter: (text) => dispatch({ type: 'setFilter', text }),
        keepFilter: () => dispatch({ type: 'keepFilter' }),
        clearFilter: () => dispatch({ type: 'clearFilter' }),
        toggleHelp: () => dispatch({ type: 'toggleHelp' }),
        closeHelp: () => dispatch({ type: 'closeHelp' }),
        setForm: (screen, form) => dispatch({ type: 'setForm', screen, form }),
      },
    };
  });
}

// Selectors: plain functions.
export const selectScreen = (s: UiState) => currentScreen(s);
export const selectDepth = (s: UiState) => s.stack.length;
export const selectUiActions = (s: UiState) => s.actions;
export const selectIsHelpOpen = (s: UiState) => s.isHelpOpen;
export const selectIsFilterActive = (s: UiState) => s.isFilterActive;
export const selectFilter = (s: UiState) => s.filter[screenKey(currentScreen(s))] ?? '';
export const selectSelection = (s: UiState): Selection | undefined => s.selection[screenKey(currentScreen(s))];
/** The form of the current screen as it stands (an untouched form is EMPTY_FORM). */
export const selectForm = (s: UiState): FormData => s.forms[screenKey(currentScreen(s))] ?? EMPTY_FORM;
