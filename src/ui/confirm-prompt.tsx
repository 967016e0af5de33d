// The gate before anything that changes the world. Focus starts on No, so a
// stray Enter cancels. The typed variant (destructive steps) confirms only
// when the exact name is typed: Enter alone can never destroy anything.

import { Box, Text, type Key } from 'ink';
import { useCallback, useReducer, useRef } from 'react';
import { STOP, useKeys } from './keys.js';

export interface ConfirmState {
  focus: 'no' | 'yes';
  typed: string;
  /** Set after Enter on a wrong name, so the prompt can say why nothing happened. */
  isMismatch: boolean;
}

export type ConfirmEvent =
  | { type: 'toggle' }
  | { type: 'type'; text: string }
  | { type: 'backspace' }
  | { type: 'mismatch' };

export const initialConfirm: ConfirmState = { focus: 'no', typed: '', isMismatch: false };

export function reduceConfirm(state: ConfirmState, event: ConfirmEvent): ConfirmState {
  switch (event.type) {
    case 'toggle':
      return { ...state, focus: state.focus === 'no' ? 'yes' : 'no' };
    case 'type':
      return { ...state, typed: state.typed + event.text, isMismatch: false };
    case 'backspace':
      return { ...state, typed: Array.from(state.typed).slice(0, -1).join(''), isMismatch: false };
    case 'mismatch':
      return { ...state, isMismatch: true };
  }
}

export interface ConfirmPromptProps {
  /** What will happen, in words: "Make db-orders-2 the master of db-orders". */
  message: string;
  onConfirm(): void;
  onCancel(): void;
  /** When set, the engineer must type exactly this (a cluster or node name) to confirm. */
  confirmName?: string;
  isActive?: boolean;
}

export function ConfirmPrompt({ message, onConfirm, onCancel, confirmName, isActive = true }: ConfirmPromptProps) {
  const [state, dispatch] = useReducer(reduceConfirm, initialConfirm);
  // The same state, updated at once: keys that arrive together ("db-orders\r") are handled one
  // after the other before React renders, and each must see what the one before it typed.
  const live = useRef(state);
  const send = useCallback((event: ConfirmEvent) => {
    live.current = reduceConfirm(live.current, event);
    dispatch(event);
  }, []);
  const isTyped = confirmName !== undefined;

  const handleInput = useCallback(
    (input: string, key: Key): typeof STOP | void => {
      if (key.escape) {
        onCancel();
        return STOP;
      }
      const now = live.current;
      if (isTyped) {
        if (key.return) {
          if (now.typed !== confirmName) return send({ type: 'mismatch' });
          onConfirm();
          return STOP;
        }
        if (key.backspace || key.delete) send({ type: 'backspace' });
        else if (input && !key.ctrl && !key.meta) send({ type: 'type', text: input });
        return;
      }
      if (input === 'y' || input === 'Y' || (key.return && now.focus === 'yes')) {
        onConfirm();
        return STOP;
      }
      if (input === 'n' || input === 'N' || key.return) {
        onCancel();
        return STOP;
      }
      if (key.leftArrow || key.rightArrow || key.tab) send({ type: 'toggle' });
    },
    [isTyped, confirmName, onConfirm, onCancel, send],
  );
  useKeys(handleInput, { isActive });

  if (isTyped) {
    return (
      <Box flexDirection="column">
        <Text bold wrap="wrap">
          {message}
        </Text>
        <Text wrap="wrap">
          {'Type '}
          <Text bold inverse>{` ${confirmName} `}</Text>
          {' to confirm, esc to cancel:'}
        </Text>
        <Text wrap="truncate">{`› ${state.typed}▏`}</Text>
        {state.isMismatch ? (
          <Text color="red" wrap="truncate">{`✗ "${state.typed}" is not "${confirmName}"; nothing was done`}</Text>
        ) : null}
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <Text bold wrap="wrap">
        {message}
      </Text>
      <Text>
        <Text inverse={state.focus === 'no'} bold={state.focus === 'no'}>
          {state.focus === 'no' ? '› No ' : '  No '}
        </Text>
        {'   '}
        <Text inverse={state.focus === 'yes'} bold={state.focus === 'yes'}>
          {state.focus === 'yes' ? '› Yes ' : '  Yes '}
        </Text>
        {'   y/N · ←→ choose · ⏎ answer · esc cancel'}
      </Text>
    </Box>
  );
}
