// Questions the backends ask the operator mid-flight (an encrypted key's
// passphrase). The state is plain data for the screen; the answer goes back
// through a resolver kept beside the store, never in it, and is never stored.

import { createStore, type StoreApi } from 'zustand/vanilla';

export interface PassphraseRequest {
  id: number;
  keyPath: string;
}

export interface PromptsState {
  passphrase: PassphraseRequest | null;
  actions: {
    /** Resolves with the passphrase, or undefined when the operator declines. */
    askPassphrase(keyPath: string): Promise<string | undefined>;
    answerPassphrase(id: number, value: string | undefined): void;
  };
}

export type PromptsStore = StoreApi<PromptsState>;

export function createPromptsStore(): PromptsStore {
  const waiting = new Map<number, (value: string | undefined) => void>();
  const queue: PassphraseRequest[] = [];
  let nextId = 1;
  return createStore<PromptsState>()((set, get) => ({
    passphrase: null,
    actions: {
      askPassphrase(keyPath) {
        const request = { id: nextId++, keyPath };
        return new Promise((resolve) => {
          waiting.set(request.id, resolve);
          if (get().passphrase) queue.push(request);
          else set({ passphrase: request });
        });
      },
      answerPassphrase(id, value) {
        waiting.get(id)?.(value);
        waiting.delete(id);
        set({ passphrase: queue.shift() ?? null });
      },
    },
  }));
}
