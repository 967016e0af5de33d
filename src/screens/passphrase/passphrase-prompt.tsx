// Asks for an encrypted SSH key's passphrase, masked. Esc declines (the key
// is skipped; the agent or another key may still work).

import { PasswordInput } from '@inkjs/ui';
import { Box, Text, useInput } from 'ink';
import { useCallback } from 'react';
import type { PassphraseRequest } from '../../store/prompts.js';

export interface PassphrasePromptProps {
  request: PassphraseRequest;
  onAnswer: (id: number, value: string | undefined) => void;
  width: number;
}

export function PassphrasePrompt({ request, onAnswer, width }: PassphrasePromptProps) {
  const onEscape = useCallback(
    (_input: string, key: { escape: boolean }) => {
      if (key.escape) onAnswer(request.id, undefined);
    },
    [onAnswer, request.id],
  );
  useInput(onEscape);
  return (
    <Box flexDirection="column" width={width} borderStyle="single" paddingX={1}>
      <Text bold wrap="truncate">{`SSH key ${request.keyPath} is encrypted`}</Text>
      <Text wrap="truncate">Passphrase (kept in memory for this session only, never written):</Text>
      <Box>
        <Text>{'› '}</Text>
        <PasswordInput onSubmit={(value) => onAnswer(request.id, value)} />
      </Box>
      <Text dimColor wrap="truncate">⏎ unlock · esc skip this key</Text>
    </Box>
  );
}
