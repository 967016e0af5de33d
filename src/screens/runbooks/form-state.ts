// A runbook form, pure: the fields (from the catalog) laid out as rows, where
// the cursor is, and what a key does to the answers. The ui store keeps the
// answers (FormData); the fields are made afresh from the fleet on each draw,
// so a refresh that re-sorts the nodes moves no answer: answers are values,
// never row numbers.
//
// In a choice the answer follows the cursor, as in a radio list: ↓ onto "all
// overdue" is choosing it. Tab goes to the next field with every answer kept. ⏎ submits from anywhere, and submitting only
// plans: the run screen shows the plan, and nothing runs before ⏎ there.

import type { Key } from 'ink';
import { resolveValues, type ChoiceOption, type Field, type FieldValue } from '../../actions/runbooks/catalog.js';
import type { FormData } from '../../store/ui.js';

export type FormRow =
  | { kind: 'label'; field: string; text: string }
  | { kind: 'option'; field: string; option: ChoiceOption }
  | { kind: 'boolean'; field: string; label: string }
  | { kind: 'text'; field: string; label: string };

export function formRows(fields: readonly Field[]): FormRow[] {
  const rows: FormRow[] = [];
  for (const f of fields) {
    switch (f.kind) {
      case 'choice':
        rows.push({ kind: 'label', field: f.key, text: f.label });
        for (const option of f.options) rows.push({ kind: 'option', field: f.key, option });
        break;
      case 'boolean':
        rows.push({ kind: 'boolean', field: f.key, label: f.label });
        break;
      case 'text':
        rows.push({ kind: 'text', field: f.key, label: f.label });
        break;
    }
  }
  return rows;
}

/** The field with the cursor: the one named by `focus` when it still exists, else the first. */
export function focusedField(fields: readonly Field[], form: FormData): Field | undefined {
  return fields.find((f) => f.key === form.focus) ?? fields[0];
}

/** The row the cursor is on: a choice's chosen option, or the field's own row. */
export function cursorRow(fields: readonly Field[], form: FormData, rows: readonly FormRow[] = formRows(fields)): number {
  const field = focusedField(fields, form);
  if (!field) return 0;
  const value = resolveValues([field], form.values)[field.key];
  const at = rows.findIndex((r) => r.field === field.key && (r.kind !== 'option' ? r.kind !== 'label' : r.option.value === value));
  return Math.max(0, at);
}

function isFocusable(row: FormRow): boolean {
  return row.kind === 'option' ? row.option.disabled === undefined : row.kind !== 'label';
}

export type FormIntent =
  | { type: 'move'; delta: number }
  /** To the next (previous) field, its answer kept: past a choice without choosing on the way. */
  | { type: 'field'; delta: 1 | -1 }
  | { type: 'toggle' }
  | { type: 'type'; text: string }
  | { type: 'erase' };

export function reduceForm(fields: readonly Field[], form: FormData, intent: FormIntent): FormData {
  const field = focusedField(fields, form);
  if (!field) return form;
  switch (intent.type) {
    case 'move': {
      const rows = formRows(fields);
      const step = Math.sign(intent.delta);
      const from = cursorRow(fields, form, rows);
      let at = from;
      let target = from;
      // Steps over labels and disabled options; stops at the last focusable row in that direction.
      for (let left = Math.abs(intent.delta); left > 0; ) {
        at += step;
        if (at < 0 || at >= rows.length) break;
        if (isFocusable(rows[at]!)) {
          target = at;
          left--;
        }
      }
      if (target === from) return form;
      const row = rows[target]!;
      const values = row.kind === 'option' ? { ...form.values, [row.field]: row.option.value } : form.values;
      return { ...form, focus: row.field, values };
    }
    case 'field': {
      const at = fields.indexOf(field) + intent.delta;
      const next = fields[Math.min(fields.length - 1, Math.max(0, at))]!;
      return next === field ? form : { ...form, focus: next.key };
    }
    case 'toggle': {
      if (field.kind !== 'boolean') return form;
      const now = resolveValues([field], form.values)[field.key];
      return { ...form, values: { ...form.values, [field.key]: !now } };
    }
    case 'type':
    case 'erase': {
      if (field.kind !== 'text') return form;
      const now = String(resolveValues([field], form.values)[field.key] ?? '');
      const next = intent.type === 'type' ? now + intent.text : Array.from(now).slice(0, -1).join('');
      return { ...form, values: { ...form.values, [field.key]: next } };
    }
  }
}

export type FormKeyIntent = FormIntent | { type: 'page'; direction: 1 | -1 } | { type: 'submit' } | { type: 'back' } | { type: 'help' } | { type: 'quit' };

/**
 * What a key means on the form. While a text field has the cursor, letters
 * are text (j, k, q and ? included); arrows, ⏎ and Esc keep their meaning.
 */
export function formKeyIntent(input: string, key: Key, isTyping: boolean): FormKeyIntent | null {
  if (key.escape) return { type: 'back' };
  if (key.return) return { type: 'submit' };
  if (key.upArrow) return { type: 'move', delta: -1 };
  if (key.downArrow) return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'page', direction: -1 };
  if (key.pageDown) return { type: 'page', direction: 1 };
  if (key.tab) return { type: 'field', delta: key.shift ? -1 : 1 };
  if (key.ctrl || key.meta) return null;
  if (isTyping) {
    if (key.backspace || key.delete) return { type: 'erase' };
    return input ? { type: 'type', text: input } : null;
  }
  switch (input) {
    case 'k':
      return { type: 'move', delta: -1 };
    case 'j':
      return { type: 'move', delta: 1 };
    case ' ':
      return { type: 'toggle' };
    case '?':
      return { type: 'help' };
    case 'q':
      return { type: 'quit' };
    default:
      return null;
  }
}

/** The answers as submitted: every field, defaults filled in. */
export function formValues(fields: readonly Field[], form: FormData): Record<string, FieldValue> {
  return resolveValues(fields, form.values);
}
