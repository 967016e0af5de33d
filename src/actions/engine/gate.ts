// Gates: where a human (or a flag) says yes. The engine asks; the TUI and the
// headless reporter each implement the asking. The engine, not the gate,
// checks a typed name against the expected one, so no gate can wave a
// destructive step through by mistake.

import type { GateRequestView } from './records.js';

export type ConfirmKind = 'caution' | 'destructive' | 'override' | 'break-lock';

export interface ConfirmRequest extends GateRequestView {
  kind: ConfirmKind;
}

export interface ConfirmReply {
  approved: boolean;
  /** What was typed, for typed confirmations (the engine compares it). */
  typed?: string;
  /** Who said it: 'operator', '--yes', '--confirm'... journaled. */
  via: string;
  /** Headless: the flag that would have said yes. */
  missing?: string;
}

export type CheckpointChoice = 'continue' | 'pause' | 'stop';
/** `pause` is offered only by a step that says waiting longer may still end well (a replacement still booting). */
export type FailureChoice = 'retry' | 'skip' | 'pause' | 'abort';

export interface Gate {
  confirm(request: ConfirmRequest, signal: AbortSignal): Promise<ConfirmReply>;
  checkpoint(request: GateRequestView, signal: AbortSignal): Promise<{ choice: CheckpointChoice; via: string; missing?: string }>;
  /** A step failed after its retries: retry, skip (only if offered), or abort. */
  failure(request: GateRequestView & { choices: FailureChoice[] }, signal: AbortSignal): Promise<{ choice: FailureChoice; via: string }>;
}

/** True only for an exact match: no trimming of inner text, no case folding. */
export function typedMatches(typed: string | undefined, expected: string): boolean {
  return typed !== undefined && typed.trim() === expected;
}

export interface HeadlessGateOptions {
  /** --yes: caution gates and checkpoints pass. */
  yes?: boolean;
  /** --confirm NAME (repeatable): typed confirmations pass when a value matches exactly. */
  confirm?: string[];
  /** --override CHECK (repeatable): preflight checks the operator overrides (with --confirm CLUSTER). */
  overrides?: string[];
  /** --break-lock: break a stale lock (with --confirm CLUSTER). */
  breakLock?: boolean;
}

/** Flags instead of prompts. A missing flag is a No that says which flag. */
export function createHeadlessGate(opts: HeadlessGateOptions): Gate {
  const confirms = opts.confirm ?? [];
  const typedFor = (expected: string): string | undefined => confirms.find((c) => c === expected) ?? confirms[0];
  return {
    async confirm(req) {
      switch (req.kind) {
        case 'caution':
          return opts.yes ? { approved: true, via: '--yes' } : { approved: false, via: 'headless', missing: '--yes' };
        case 'destructive': {
          const expected = req.expected!;
          if (confirms.length === 0) return { approved: false, via: 'headless', missing: `--confirm ${expected}` };
          const typed = typedFor(expected);
          return { approved: typed === expected, typed, via: '--confirm', ...(typed === expected ? {} : { missing: `--confirm ${expected}` }) };
        }
        case 'override': {
          const expected = req.expected!;
          const checkId = req.stepId ?? '';
          if (!opts.overrides?.includes(checkId)) {
            return { approved: false, via: 'headless', missing: `--override ${checkId} --confirm ${expected}` };
          }
          const typed = typedFor(expected);
          return { approved: typed === expected, typed, via: '--override --confirm', ...(typed === expected ? {} : { missing: `--confirm ${expected}` }) };
        }
        case 'break-lock': {
          const expected = req.expected!;
          if (!opts.breakLock) return { approved: false, via: 'headless', missing: `--break-lock --confirm ${expected}` };
          const typed = typedFor(expected);
          return { approved: typed === expected, typed, via: '--break-lock --confirm', ...(typed === expected ? {} : { missing: `--confirm ${expected}` }) };
        }
      }
    },
    async checkpoint() {
      return opts.yes ? { choice: 'continue', via: '--yes' } : { choice: 'pause', via: 'headless', missing: '--yes' };
    },
    async failure(req) {
      // Nobody to ask: the retry policy has had its go. A step that offers a pause
      // (waiting longer may still end well) keeps the run, for `resume`, rather than abort it.
      return { choice: req.choices.includes('pause') ? 'pause' : 'abort', via: 'headless' };
    },
  };
}

/**
 * A gate answered from outside (the TUI): each question waits until
 * `answer` is called with its id. The engine puts the question in the run
 * store (plain data); the screen reads it there and answers here.
 */
export interface PromptGate extends Gate {
  answer(gateId: string, reply: PromptReply): void;
  /** The questions waiting, for a screen that mounts late. */
  pending(): Array<{ gateId: string; request: GateRequestView }>;
}

export type PromptReply =
  | { approved: boolean; typed?: string }
  | { choice: CheckpointChoice }
  | { choice: FailureChoice };

export function createPromptGate(onAsk: (gateId: string, request: GateRequestView) => void, onClear: (gateId: string) => void): PromptGate {
  let next = 1;
  const waiting = new Map<string, { request: GateRequestView; resolve: (r: PromptReply) => void }>();

  const ask = (request: GateRequestView, signal: AbortSignal): Promise<PromptReply> =>
    new Promise((resolve, reject) => {
      const gateId = `g${next++}`;
      const onAbort = () => {
        waiting.delete(gateId);
        onClear(gateId);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.set(gateId, {
        request,
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          waiting.delete(gateId);
          onClear(gateId);
          resolve(r);
        },
      });
      onAsk(gateId, request);
    });

  return {
    async confirm(req, signal) {
      const r = (await ask(req, signal)) as { approved?: boolean; typed?: string };
      return { approved: r.approved === true, ...(r.typed !== undefined ? { typed: r.typed } : {}), via: 'operator' };
    },
    async checkpoint(req, signal) {
      const r = (await ask(req, signal)) as { choice?: CheckpointChoice };
      return { choice: r.choice ?? 'pause', via: 'operator' };
    },
    async failure(req, signal) {
      const r = (await ask(req, signal)) as { choice?: FailureChoice };
      const choice = r.choice && req.choices.includes(r.choice) ? r.choice : 'abort';
      return { choice, via: 'operator' };
    },
    answer(gateId, reply) {
      waiting.get(gateId)?.resolve(reply);
    },
    pending() {
      return [...waiting].map(([gateId, w]) => ({ gateId, request: w.request }));
    },
  };
}
