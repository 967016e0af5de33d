// One runbook run: the plan with every step's commands, the live step list,
// the output of the step in focus, and the questions the engine asks (gates,
// checkpoints, failures). Reads the run store; answers through the controller.

import { formatDuration } from '../../actions/engine/timing.js';
import { Box, Text, type Key } from 'ink';
import { useCallback, useState } from 'react';
import { useStore } from 'zustand';
import type { RemoteJob, RunController } from '../../actions/console-runner.js';
import type { GateRequestView } from '../../actions/engine/records.js';
import { targetLine } from '../../actions/headless/reporter.js';
import type { RunsStore, RunView } from '../../store/runs.js';
import { ConfirmPrompt } from '../../ui/confirm-prompt.js';
import type { KeyHint } from '../../ui/key-hints.js';
import { useConsole } from '../console-context.js';
import { KeysPage } from '../help/help-overlay.js';
import { useQuitGuard } from './quit-guard.js';
import { fit, wrap, wrapUnder } from '../../ui/format.js';
import { STOP, useKeys } from '../../ui/keys.js';
import { CHECK_GLYPH, checkGlyph } from '../../ui/status-glyphs.js';
import { activeStep, focusStep, heldChoice, NEXT_KEY, nextRunbook, outputWindow, runHints, runScope, stepDetail, stepLine, type StepChoice } from './run-lines.js';
import { clusterKey, clusterLabel } from '../../domain/scope.js';

/** Output rows kept under the step's detail however many commands it lists. */
const MIN_OUTPUT_ROWS = 3;

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
  /** Open the form of the runbook a finished run calls for (a failover that left too few replicas: rebuild). `cluster`: its key (clusterKey). */
  onNext?(cluster: string, runbook: string): void;
  /** Quit nightshift (q once the run is not running); the console's onQuit when not given. */
  onQuit?(): void;
}

export function RunScreen({ runId, runs, controller, width, height, isActive, onBack, onNext, onQuit }: RunScreenProps) {
  const consoleCallbacks = useConsole();
  const quit = onQuit ?? consoleCallbacks.onQuit;
  const run = useStore(runs, (s) => s.runs[runId]);
  const [choice, setChoice] = useState<StepChoice | undefined>(undefined);
  const [isAbortAsked, setAbortAsked] = useState(false);
  const [isHelpOpen, setHelpOpen] = useState(false);

  const gate = run?.gate;
  const isTypedOrConfirm = gate !== undefined && gate.request.kind !== 'checkpoint' && gate.request.kind !== 'failure';
  const isPlanned = run?.status === 'planned';
  // A run from a journal that this console offers to resume: nothing runs until ⏎.
  const isOffered = !controller.isStarted && (run?.status === 'running' || run?.status === 'paused');
  const isRunning = run?.status === 'running' && !isOffered;
  const chosen = run ? heldChoice(run, choice) : undefined;

  // Ctrl-C (the console's key) on a live run asks first, as q does; otherwise it quits.
  useQuitGuard(() => {
    if (!isRunning) return false;
    setHelpOpen(false);
    setAbortAsked(true);
    return true;
  }, isActive);

  const handleKeys = useCallback(
    (input: string, key: Key): typeof STOP | void => {
      // No Ctrl key answers anything here: Ctrl-C arrives as "c" with ctrl, and c continues at a checkpoint.
      if (key.ctrl) return;
      if (isHelpOpen) {
        if (key.escape || input === '?' || input === 'q') setHelpOpen(false);
        return STOP;
      }
      if (input === '?') {
        setHelpOpen(true);
        return STOP;
      }
      if (input === 'q') {
        if (isRunning) setAbortAsked(true);
        else quit();
        return STOP;
      }
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
      if (key.upArrow || input === 'k') return setChoice({ index: Math.max(0, at - 1), activeAt: activeStep(run) });
      if (key.downArrow || input === 'j') return setChoice({ index: Math.min(count - 1, at + 1), activeAt: activeStep(run) });
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
        onNext!(clusterKey(runScope(run)), next.runbook);
        return STOP;
      }
      if (key.escape && !isRunning) {
        if (isPlanned) controller.abort('the operator left the plan');
        onBack();
        return STOP;
      }
    },
    [run, gate, chosen, controller, isPlanned, isOffered, isRunning, onBack, onNext, quit, isHelpOpen],
  );
  useKeys(handleKeys, { isActive: isActive && !isTypedOrConfirm && !isAbortAsked });

  if (!run) return <Text>{`run ${runId}: nothing known yet`}</Text>;

  const hints = runHints(run, { isPlanned, isOffered, hasGate: gate !== undefined || isAbortAsked }).filter((h) => onNext !== undefined || h.keys !== NEXT_KEY);
  if (isHelpOpen) return <RunHelp title={`run ${run.id}: ${run.title || run.runbook} on ${clusterLabel(runScope(run))}`} hints={runHelpHints(hints, isRunning)} width={width} height={height} />;

  const jobs = isAbortAsked || (!isRunning && !isPlanned) ? (controller.remoteJobs?.() ?? []) : [];
  // The question keeps the step list, the step's line and its own answer line on screen.
  const abortDetails = isAbortAsked ? abortLines(run, jobs, width).slice(0, Math.max(2, height - 11)) : [];
  const left = isAbortAsked || gate || isRunning || isPlanned ? [] : leftLines(jobs, width);

  const focus = focusStep(run, chosen);
  const step = run.steps[focus];
  // Why the run is blocked or how it ended, wrapped here so its height is known: a preflight
  // reason naming every down node of a ring runs to many lines, and must not push the screen over.
  const outcome = gate || isAbortAsked ? [] : [...left, ...outcomeLines(run, isRunning, width, Math.max(2, Math.floor(height / 4)))];
  const promptLines = isAbortAsked ? abortDetails.length + 2 : gate ? promptHeight(gate.request, width) : outcome.length;
  // The status word (CRITICAL, UNDOING) comes before the target: a second line rather than a cut.
  const titleLines = wrapUnder(`${run.title || run.runbook} on ${clusterLabel(runScope(run))} · ${statusWord(run, isOffered)}${run.target ? ` · ${targetLine(run.target)}` : ''}`, width, '', 2).slice(0, 2);
  const base = titleLines.length + 1 + promptLines + 1;
  // The step in focus in full (progress, ETA, every command), wrapped; it leaves the step
  // list a few rows and the output at least MIN_OUTPUT_ROWS.
  // A confirmation on this step lists its commands itself: not twice.
  const isAsked = gate !== undefined && gate.request.stepId === step?.id && (gate.request.kind === 'caution' || gate.request.kind === 'destructive');
  const detailAll = step ? stepDetail(isAsked ? { ...step, describe: [] } : step, run.speed, width) : [];
  const detailMax = Math.max(1, height - base - Math.min(run.steps.length, 3) - MIN_OUTPUT_ROWS);
  const detail =
    detailAll.length <= detailMax
      ? detailAll
      : [...detailAll.slice(0, detailMax - 1), fit(`  … ${detailAll.length - detailMax + 1} more lines (nightshift show ${run.id})`, width, 'left', false)];
  // Before the start the plan is what there is to read: the steps get the room the preflight lines leave.
  // Once running, a third of the screen, and the output of the step gets the rest.
  const fixedRows = base + detail.length;
  const planRoom = isPlanned || isOffered ? height - fixedRows - (run.preflight.length > 0 ? run.preflight.length + 1 : 0) : 0;
  const stepRows = Math.min(run.steps.length, Math.max(3, Math.floor(height / 3), planRoom));
  const first = Math.min(Math.max(0, focus - stepRows + 1), Math.max(0, run.steps.length - stepRows));
  const outputRows = Math.max(0, height - stepRows - fixedRows);
  const hidden = run.steps.length - stepRows;

  return (
    <Box flexDirection="column" width={width} height={height}>
      {titleLines.map((l, i) => (
        <Text key={`t${i}`} bold wrap="truncate">
          {fit(l, width, 'left', false)}
        </Text>
      ))}
      {run.steps.slice(first, first + stepRows).map((s, i) => (
        <Text key={s.id} wrap="truncate" inverse={first + i === focus && chosen !== undefined} color={colorOf(s.status)}>
          {fit(`${first + i === focus ? '›' : ' '}${stepLine(s, first + i, run.speed)}`, width, 'left', false)}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {fit(step === undefined ? '─ no steps planned ' : `─ ${focus + 1}. ${step.title}${step.node ? ` · ${step.node.name}` : ''}${hidden > 0 ? ` ─ steps ${first + 1}-${first + stepRows} of ${run.steps.length}, ↑↓ for the rest` : ''} `, width, 'left', false)}
      </Text>
      {detail.map((d, i) => (
        <Text key={`d${i}`} wrap="truncate">
          {fit(d, width, 'left', false)}
        </Text>
      ))}
      <Box flexDirection="column" height={outputRows} overflowY="hidden">
        {isPlanned && (step === undefined || step.output.length === 0)
          ? preflightLines(run, outputRows, width)
          : outputWindow(step, outputRows, width).map((l, i) => (
              <Text key={`o${i}`} wrap="truncate" dimColor>
                {fit(l, width, 'left', false)}
              </Text>
            ))}
      </Box>
      {isAbortAsked ? (
        <Box flexDirection="column">
          {abortDetails.map((l, i) => (
            <Text key={`a${i}`} wrap="truncate">
              {l}
            </Text>
          ))}
          <ConfirmPrompt
            message={fit(`Abort run ${run.id}?`, width, 'left', false)}
            onConfirm={() => {
              setAbortAsked(false);
              controller.abort();
            }}
            onCancel={() => setAbortAsked(false)}
            isActive={isActive}
          />
        </Box>
      ) : gate ? (
        <GatePrompt key={gate.gateId} request={gate.request} isActive={isActive} onAnswer={(reply) => controller.answer(gate.gateId, reply)} width={width} />      ) : (
        outcome.map((l, i) => (
          <Text key={`r${i}`} color={run.status === 'succeeded' && !run.blocked ? 'green' : 'red'} wrap="truncate">
            {l}
          </Text>
        ))
      )}
      <Text wrap="truncate">
        {fit(
          hints
            .filter((h) => h.isFooter)
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

/**
 * What an abort would do, asked before it does it: the undo that runs (in the
 * engine's order, last step first), the jobs on nodes and how to look at them.
 */
function abortLines(run: RunView, jobs: RemoteJob[], width: number): string[] {
  const undo = undoSteps(run).map((i) => `${i + 1}. ${run.steps[i]!.title}${run.steps[i]!.node ? ` · ${run.steps[i]!.node!.name}` : ''}`);
  const lines = [
    undo.length > 0 ? `Its undo runs: ${undo.join('; ')}.` : 'No step done so far has an undo: what was done stays as it is.',
    ...jobs
      .filter((j) => j.state === 'open')
      .flatMap((j) => [`On the node: ${j.what} (job ${j.job}) is cancelled; if the cancel fails it keeps running.`, ...(j.check ? [`  check with: ${j.check}`] : [])]),
    `The lock on ${clusterLabel(runScope(run))} is released. y aborts (this screen then shows how it ended) · n returns to the run.`,
  ];
  return lines.flatMap((l) => wrap(l, Math.max(10, width)));
}

/** Steps whose undo an abort now would run: started, with an undo not yet done, last first. */
function undoSteps(run: RunView): number[] {
  const undone = new Set(run.compensations.filter((c) => c.status === 'ok').map((c) => c.stepId));
  const out: number[] = [];
  run.steps.forEach((s, i) => {
    if (s.compensation !== undefined && !undone.has(s.id) && (s.status === 'ok' || s.status === 'failed' || s.status === 'running')) out.push(i);
  });
  return out.reverse();
}

/** Once a run is over: each job it started on a node that may still run there, and how to look at it and stop it. */
function leftLines(jobs: RemoteJob[], width: number): string[] {
  const lines = jobs.flatMap((j) =>
    j.state === 'open'
      ? [`${CHECK_GLYPH.failed} may still run on ${j.node}: ${j.what} (job ${j.job})`, ...(j.check ? [`  check: ${j.check}`] : []), ...(j.stop ? [`  stop:  ${j.stop}`] : [])]
      : j.state === 'cancelled'
        ? [`${CHECK_GLYPH.ok} ${j.what}: its job was cancelled, it no longer runs`]
        : [],
  );
  return lines.flatMap((l) => wrap(l, Math.max(10, width)));
}

/** The run screen's keys in full, for its help: the footer's and the ones it has no room for. */
function runHelpHints(hints: KeyHint[], isRunning: boolean): KeyHint[] {
  return [
    ...hints.filter((h) => h.keys !== '?'),
    { keys: 'ctrl-c', label: isRunning ? 'as q: asks before it aborts the run' : 'quit nightshift' },
    { keys: '?', label: 'this help (esc, ? or q closes it)' },
  ];
}

function RunHelp({ title, hints, width, height }: { title: string; hints: KeyHint[]; width: number; height: number }) {
  const notes = [
    'The cursor follows the step the run is on (running, or asking); moved by hand it stays until the run moves on.',
    'Gates take their own keys: y/N, a typed name, c/p/s at a checkpoint, r/s/p/a after a failure.',
  ];
  return <KeysPage title={title} hints={hints} notes={notes} width={width} height={height} />;
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
    ...run.preflight.flatMap((c) => wrapUnder(`${c.title}: ${c.detail}`, width, `  ${checkGlyph(c.status)} `)),
  ];
  // Cut, it says so: a check that passed is still one to read before ⏎.
  const shown = lines.length <= rows ? lines : [...lines.slice(0, Math.max(0, rows - 1)), `  … ${lines.length - rows + 1} more preflight lines (↑↓ to a step gives them fewer rows)`];
  return shown.map((l, i) => (
    <Text key={`p${i}`} wrap="truncate">
      {fit(l, width, 'left', false)}
    </Text>
  ));
}

/** A gate's own lines: a critical section's single question lists every step it covers. */
const GATE_DETAIL_LINES = 8;

/** The gate's details wrapped to the width, at most GATE_DETAIL_LINES, the last saying how many more. */
function gateDetailLines(req: GateRequestView, width: number): string[] {
  const lines = req.details.flatMap((d) => wrapUnder(d, width, '  ', 4));
  if (lines.length <= GATE_DETAIL_LINES) return lines;
  return [...lines.slice(0, GATE_DETAIL_LINES - 1), `  … ${lines.length - GATE_DETAIL_LINES + 1} more lines`];
}

/** The shell command offered after a failure, whole: it is there to be typed. */
function loginLines(req: GateRequestView, width: number): string[] {
  return req.loginCommand ? wrapUnder(req.loginCommand, width, '  shell on the node: ', 4) : [];
}

function promptHeight(req: GateRequestView, width: number): number {
  return 2 + gateDetailLines(req, width).length + (req.expected ? 2 : 0) + loginLines(req, width).length;
}

interface GatePromptProps {
  request: GateRequestView;
  isActive: boolean;
  width: number;
  onAnswer(reply: { approved: boolean; typed?: string }): void;
}

/** The engine's question. Confirmations default to No; typed ones need the exact name. */
function GatePrompt({ request, isActive, width, onAnswer }: GatePromptProps) {
  const details = gateDetailLines(request, width).map((d, i) => (
    <Text key={i} wrap="truncate">
      {fit(d, width, 'left', false)}
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
        {loginLines(request, width).map((l, i) => (
          <Text key={`l${i}`} wrap="truncate">
            {fit(l, width, 'left', false)}
          </Text>
        ))}
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
