// The key binding of a runbook form. Like the list screens' binding, the
// handler is made once and reads the latest fields through a ref and the
// form through the ui store, so a refresh never re-subscribes the listener.

import type { Key } from 'ink';
import { useCallback, useRef } from 'react';
import type { Field } from '../../actions/runbooks/catalog.js';
import { useUiStore } from '../../store/context.js';
import { EMPTY_FORM } from '../../store/ui.js';
import { STOP, useKeys } from '../../ui/keys.js';
import { useConsole } from '../console-context.js';
import { focusedField, formKeyIntent, reduceForm } from './form-state.js';

export interface FormKeysOptions {
  /** The ui store key of the form's screen. */
  screen: string;
  fields: readonly Field[];
  /** Rows moved by PgUp/PgDn. */
  pageSize: number;
  isActive: boolean;
  onSubmit(): void;
}

export function useFormKeys(options: FormKeysOptions): void {
  const ui = useUiStore();
  const { onQuit } = useConsole();
  const latest = useRef({ ...options, onQuit });
  latest.current = { ...options, onQuit };

  const handleInput = useCallback(
    (input: string, key: Key): typeof STOP | void => {
      const { screen, fields, pageSize, onSubmit, onQuit: quit } = latest.current;
      const { actions, forms } = ui.getState();
      const form = forms[screen] ?? EMPTY_FORM;
      const isTyping = focusedField(fields, form)?.kind === 'text';
      const intent = formKeyIntent(input, key, isTyping);
      if (!intent) return;
      switch (intent.type) {
        case 'back':
          actions.pop();
          return STOP;
        case 'submit':
          onSubmit();
          return STOP;
        case 'help':
          actions.toggleHelp();
          return STOP;
        case 'quit':
          quit();
          return STOP;
        case 'page':
          actions.setForm(screen, reduceForm(fields, form, { type: 'move', delta: intent.direction * Math.max(1, pageSize) }));
          return;
        default:
          actions.setForm(screen, reduceForm(fields, form, intent));
          return;
      }
    },
    [ui],
  );
  useKeys(handleInput, { isActive: options.isActive });
}
