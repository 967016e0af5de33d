// One runbook run: the plan with every step's commands, the live step list,
// the output of the step in focus, and the questions the engine asks (gates,
// checkpoints, failures). Reads the run store; answers through the controller.

import { formatDuration } from '../../actions/engine/timing.js';
import { Box, Text, type Key } from 'ink';
import { useCallback, useState } from 'react';
import { useStore } from 'zustand';
import type { RunController } from '../../actions/console-runner.js';
import type { GateRequestView } from '../../actions/engine/records.js';
import { targetLine } from '../../actions/headless/reporter.js';
import type { RunsStore, RunView } from '../../store/runs.js';
import { ConfirmPrompt } from '../../ui/confirm-prompt.js';
import { fit, wrap } from '../../ui/format.js';
import { STOP, useKeys } from '../../ui/keys.js';
import { CHECK_GLYPH, checkGlyph } from '../../ui/status-glyphs.js';
import { focusStep, NEXT_KEY, nextRunbook, outputWindow, runHints, stepLine } from './run-lines.js';

export interface RunScreenProps {
  runId: string;
  runs: RunsStore;
  controller: RunController;
  width: number;
  height: number;
  /** Only the screen on top listens to keys. */
  isActive: boolean;
  /** Leave the screen (offered when the run is not running). */
  onBack(): void;
  /** Open the form of the runbook a finished run calls for (a failover that left too few replicas: rebuild). */
  onNext?(cluster: string, runbook: string): void;
}

export function RunScreen({ runId, runs, controller, width, height, isActive, onBack, onNext }: RunScreenProps) {
  const run = useStore(runs, (s) => s.runs[runId]);
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [isAbortAsked, setAbortAsked] = useState(false);

  const gate = run?.gate;
  const isTypedOrConfirm = gate !== undefined && gate.request.kind !== 'checkpoint' && gate.request.kind !== 'failure';
  const isPlanned = run?.status === 'planned';
  // A run from a journal that this console offers to resume: nothing runs until ⏎.
  const isOffered = !controller.isStarted && (run?.status === 'running' || run?.status === 'paused');
  const isRunning = run?.status === 'running' && !isOffered;

  const handleKeys = useCallback(
    (input: string, key: Key): typeof STOP | void => {
      if (!run) {
        if (!key.escape) return;
        onBack();
        return STOP;
      }
      // A gate is answered by one key; what came with it in the same read is not an answer to the next.
      if (gate && gate.request.kind === 'checkpoint') {
        const choice = input === 'c' ? 'continue' : input === 'p' ? 'pause' : input === 's' ? 'stop' : undefined;
        if (choice === undefined) return;
        controller.answer(gate.gateId, { choice });
        return STOP;
      }
      if (gate && gate.request.kind === 'failure') {
        const choices = gate.request.choices ?? [];
        const choice =
          input === 'r' && choices.includes('retry')
            ? 'retry'
            : input === 's' && choices.includes('skip')
              ? 'skip'
              : input === 'p' && choices.includes('pause')
                ? 'pause'
                : input === 'a'
                  ? 'abort'
                  : undefined;
        if (choice === undefined) return;
        controller.answer(gate.gateId, { choice });
        return STOP;
      }
      const count = run.steps.length;
      const at = focusStep(run, chosen);
      if (key.upArrow || input === 'k') return setChosen(Math.max(0, at - 1));
      if (key.downArrow || input === 'j') return setChosen(Math.min(count - 1, at + 1));
      if ((isPlanned || isOffered) && key.return && !run.blocked) {
        controller.start();
        return STOP;
      }
      if (isRunning && input === 'x') {
        setAbortAsked(true);
        return STOP;
      }
      const next = onNext && !isRunning && !isPlanned ? nextRunbook(run) : undefined;
      if (next && input === NEXT_KEY) {
        onNext!(run.cluster, next.runbook);
        return STOP;
      }
      if (key.escape && !isRunning) {
        if (isPlanned) controller.abort('the operator left the plan');
        onBack();
        return STOP;
      }
    },
    [run, gate, chosen, controller, isPlanned, isOffered, isRunning, onBack, onNext],
  );
  useKeys(handleKeys, { isActive: isActive && !isTypedOrConfirm && !isAbortAsked });

  if (!run) return <Text>{`run ${runId}: nothing known yet`}</Text>;

  const focus = focusStep(run, chosen);
  const step = run.steps[focus];
  // Why the run is blocked or how it ended, wrapped here so its height is known: a preflight
  // reason naming every down node of a ring runs to many lines, and must not push the screen over.
  const outcome = gate || isAbortAsked ? [] : outcomeLines(run, isRunning, width, Math.max(2, Math.floor(height / 4)));
  const promptLines = gate ? promptHeight(gate.request) : isAbortAsked ? 3 : outcome.length;
  const describeRows = Math.min(step?.describe.length ?? 0, 3);
  // Before the start the plan is what there is to read: the steps get the room the preflight lines leave.
  // Once running, a third of the screen, and the output of the step gets the rest.
  const fixedRows = 1 + 1 + describeRows + promptLines + 1;
  const planRoom = isPlanned || isOffered ? height - fixedRows - (run.preflight.length > 0 ? run.preflight.length + 1 : 0) : 0;
  const stepRows = Math.min(run.steps.length, Math.max(3, Math.floor(height / 3), planRoom));
  const first = Math.min(Math.max(0, focus - stepRows + 1), Math.max(0, run.steps.length - stepRows));
  const outputRows = Math.max(0, height - stepRows - fixedRows);
  const hidden = run.steps.length - stepRows;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        {fit(`${run.title || run.runbook} on ${run.cluster} · ${statusWord(run, isOffered)}${run.target ? ` · ${targetLine(run.target)}` : ''}`, width, 'left', false)}
      </Text>
      {run.steps.slice(first, first + stepRows).map((s, i) => (
        <Text key={s.id} wrap="truncate" inverse={first + i === focus && chosen !== undefined} color={colorOf(s.status)}>
          {fit(`${first + i === focus ? '›' : ' '}${stepLine(s, first + i, run.speed)}`, width, 'left', false)}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {fit(step === undefined ? '─ no steps planned ' : `─ ${focus + 1}. ${step.title}${step.node ? ` · ${step.node.name}` : ''}${hidden > 0 ? ` ─ steps ${first + 1}-${first + stepRows} of ${run.steps.length}, ↑↓ for the rest` : ''} `, width, 'left', false)}
      </Text>
      {(step?.describe ?? []).slice(0, describeRows).map((d, i) => (
        <Text key={`d${i}`} wrap="truncate">
          {fit(`$ ${d}`, width, 'left', false)}
        </Text>
      ))}
      <Box flexDirection="column" height={outputRows} overflowY="hidden">
        {isPlanned && (step === undefined || step.output.length === 0)
          ? preflightLines(run, outputRows, width)
          : outputWindow(step, outputRows).map((l, i) => (
              <Text key={`o${i}`} wrap="truncate" dimColor>
                {fit(`│ ${l}`, width, 'left', false)}
              </Text>
            ))}
      </Box>
      {gate ? (
        <GatePrompt key={gate.gateId} request={gate.request} isActive={isActive} onAnswer={(reply) => controller.answer(gate.gateId, reply)} width={width} />
      ) : isAbortAsked ? (
        <ConfirmPrompt
          message={`Abort run ${run.id}? Steps with an undo roll back; the lock is released.`}
          onConfirm={() => {
            setAbortAsked(false);
            controller.abort();
          }}
          onCancel={() => setAbortAsked(false)}
          isActive={isActive}
        />
      ) : (
        outcome.map((l, i) => (
          <Text key={`r${i}`} color={run.status === 'succeeded' && !run.blocked ? 'green' : 'red'} wrap="truncate">
            {l}
          </Text>
        ))
      )}
      <Text wrap="truncate">
        {fit(
          runHints(run, { isPlanned, isOffered, hasGate: gate !== undefined || isAbortAsked })
            .filter((h) => onNext !== undefined || h.keys !== NEXT_KEY)
            .map((h) => `${h.short ?? h.keys} ${h.footerLabel ?? h.label}`)
            .join('  '),
          width,
          'left',
          false,
        )}
      </Text>
    </Box>
  );
}

/** The blocked reason or the run's end, wrapped to the width, at most `max` lines. */
function outcomeLines(run: RunView, isRunning: boolean, width: number, max: number): string[] {
  const text = run.blocked ? `${CHECK_GLYPH.failed} blocked: ${run.blocked}` : run.reason && !isRunning ? `${run.status}: ${run.reason}` : '';
  if (!text) return [];
  const lines = wrap(text, Math.max(10, width));
  if (lines.length <= max) return lines;
  // A blocked plan never started, so it has no journal to point to.
  const more = run.blocked ? `… ${lines.length - max + 1} more lines` : `… (nightshift show ${run.id} has all of it)`;
  return [...lines.slice(0, max - 1), fit(more, width, 'left', false)];
}

function statusWord(run: RunView, isOffered: boolean): string {
  if (isOffered) return `${run.status === 'paused' ? 'paused' : 'interrupted'}: ⏎ to resume`;
  if (run.status === 'planned') return run.blocked ? 'BLOCKED' : 'plan: ⏎ to start';
  // Leaving by the undo, or inside a critical section: the two moments an operator must not miss.
  if (run.undo && !run.undo.finished && run.status === 'running') return `UNDOING: ${run.undo.reason}`;
  const section = run.section?.state === 'open' ? ` · CRITICAL: ${run.section.name}, budget ${formatDuration(run.section.budgetMs)}` : '';
  if (run.gate) return `waiting for you${section}`;
  return `${run.status}${section}`;
}

function colorOf(status: string): string | undefined {
  return status === 'ok' ? 'green' : status === 'failed' ? 'red' : status === 'running' ? 'yellow' : undefined;
}

function preflightLines(run: RunView, rows: number, width: number) {
  const lines = [
    ...(run.preflight.length > 0 ? ['preflight:'] : []),
    ...run.preflight.map((c) => `  ${checkGlyph(c.status)} ${c.title}: ${c.detail}`),
  ];
  return lines.slice(0, rows).map((l, i) => (
    <Text key={`p${i}`} wrap="truncate">
      {fit(l, width, 'left', false)}
    </Text>
  ));
}

/** A gate's own lines: a critical section's single question lists every step it covers. */
const GATE_DETAIL_LINES = 6;

function promptHeight(req: GateRequestView): number {
  return 2 + Math.min(req.details.length, GATE_DETAIL_LINES) + (req.expected ? 2 : 0) + (req.loginCommand ? 1 : 0);
}

interface GatePromptProps {
  request: GateRequestView;
  isActive: boolean;
  width: number;
  onAnswer(reply: { approved: boolean; typed?: string }): void;
}

/** The engine's question. Confirmations default to No; typed ones need the exact name. */
function GatePrompt({ request, isActive, width, onAnswer }: GatePromptProps) {
  const details = request.details.slice(0, GATE_DETAIL_LINES).map((d, i) => (
    <Text key={i} wrap="truncate">
      {fit(`  ${d}`, width, 'left', false)}
    </Text>
  ));
  if (request.kind === 'checkpoint') {
    return (
      <Box flexDirection="column">
        <Text bold wrap="truncate">{`◆ checkpoint: ${request.title}`}</Text>
        {details}
        <Text>c continue · p pause (resume later) · s stop here</Text>
      </Box>
    );
  }
  if (request.kind === 'failure') {
    const choices = request.choices ?? [];
    return (
      <Box flexDirection="column">
        <Text bold color="red" wrap="truncate">{`✗ ${request.title}`}</Text>
        {details}
        {request.loginCommand ? <Text wrap="truncate">{fit(`  shell on the node: ${request.loginCommand}`, width, 'left', false)}</Text> : null}
        <Text>{['r retry', ...(choices.includes('skip') ? ['s skip'] : []), ...(choices.includes('pause') ? ['p pause (resume later)'] : []), 'a abort'].join(' · ')}</Text>
      </Box>
    );
  }
  const expected = request.expected;
  return (
    <Box flexDirection="column">
      {details}
      <ConfirmPrompt
        message={`${request.kind === 'caution' ? '⚠' : '⛔'} ${request.title}: ${request.question}`}
        {...(expected !== undefined ? { confirmName: expected } : {})}
        onConfirm={() => onAnswer({ approved: true, ...(expected !== undefined ? { typed: expected } : {}) })}
        onCancel={() => onAnswer({ approved: false })}
        isActive={isActive}
      />
    </Box>
  );
}
