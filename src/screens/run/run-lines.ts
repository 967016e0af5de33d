// The run screen's words, pure: one line per step, the progress and ETA, the
// window of output that fits, and the keys that apply right now.

import { scopeOfParams } from '../../actions/engine/cluster-params.js';
import { formatDuration } from '../../actions/engine/timing.js';
import { clusterLabel, type ScopedName } from '../../domain/scope.js';
import type { RunView, StepView } from '../../store/runs.js';
import type { KeyHint } from '../../ui/key-hints.js';
import { wrapUnder } from '../../ui/format.js';
import { STEP_GLYPH } from '../../ui/status-glyphs.js';

/**
 * The cluster a run works on, whole: its name with the region and account
 * its params name (a run view that carries them itself wins). The run
 * screen names it `orders · eu-west-1`, and the form it offers next is that
 * cluster's, not another region's `orders`.
 */
export function runScope(run: RunView): ScopedName {
  const own = run as RunView & { region?: string; account?: string };
  const scope = scopeOfParams(run.params);
  const region = own.region ?? scope.region;
  const account = own.account ?? scope.account;
  return { name: run.cluster, ...(region !== undefined ? { region } : {}), ...(account !== undefined ? { account } : {}) };
}

export function isRunActive(run: RunView): boolean {
  return run.status === 'running';
}

export function progressText(step: StepView, speed: number | undefined): string {
  const p = step.progress;
  if (!p || step.status !== 'running') return '';
  const pct = p.percent ?? (p.done !== undefined && p.total ? (100 * p.done) / p.total : undefined);
  const parts: string[] = [];
  if (p.message) parts.push(p.message);
  if (pct !== undefined) parts.push(`${Math.round(pct)} %`);
  if (p.etaMs !== undefined) {
    const real = p.etaRealMs ?? p.etaMs;
    parts.push(`ETA ${formatDuration(real)}${speed !== undefined && speed !== 1 ? ` (fleet ${formatDuration(p.etaMs)})` : ''}`);
  }
  return parts.join(' · ');
}

export function durationText(step: StepView, speed: number | undefined): string {
  if (step.realMs === undefined) return '';
  return speed !== undefined && speed !== 1 ? `${formatDuration(step.realMs)} (fleet ${formatDuration(step.virtualMs ?? 0)})` : formatDuration(step.realMs);
}

export function stepLine(step: StepView, index: number, speed: number | undefined): string {
  const gate = step.kind === 'checkpoint' ? ' [checkpoint]' : step.danger === 'read' ? '' : ` [${step.danger}]`;
  const node = step.node ? ` · ${step.node.name}` : '';
  const extra = step.status === 'running' ? progressText(step, speed) : durationText(step, speed);
  const why = step.unavailable ? ` · unavailable: ${step.unavailable}` : step.via === 'is-done' ? ' · found done on resume' : '';
  return `${STEP_GLYPH[step.status]} ${index + 1}. ${step.title}${node}${gate}${extra ? `  ${extra}` : ''}${why}`;
}

/**
 * The step the run is on: the one whose question waits (a gate names its
 * step), else the one running. Undefined between steps and once it is over.
 */
export function activeStep(run: RunView): number | undefined {
  const gateStep = run.gate?.request.stepId;
  if (gateStep !== undefined) {
    const at = run.steps.findIndex((s) => s.id === gateStep);
    if (at >= 0) return at;
  }
  const running = run.steps.findIndex((s) => s.status === 'running');
  return running >= 0 ? running : undefined;
}

/** A step the operator moved to by hand, and the step the run was on then. */
export interface StepChoice {
  index: number;
  activeAt: number | undefined;
}

/**
 * The operator's choice while it still holds: the cursor stays where they put
 * it until the run moves on to another step, then it follows the run again.
 */
export function heldChoice(run: RunView, choice: StepChoice | undefined): number | undefined {
  if (!choice || choice.index < 0 || choice.index >= run.steps.length) return undefined;
  return choice.activeAt === activeStep(run) ? choice.index : undefined;
}

/** The step the detail pane follows: the one chosen, else the active one, else the failed one, else the first pending. */
export function focusStep(run: RunView, chosen: number | undefined): number {
  if (chosen !== undefined && chosen >= 0 && chosen < run.steps.length) return chosen;
  const active = activeStep(run);
  if (active !== undefined) return active;
  const failed = run.steps.map((s) => s.status).lastIndexOf('failed');
  if (failed >= 0) return failed;
  const pending = run.steps.findIndex((s) => s.status === 'pending');
  return pending >= 0 ? pending : Math.max(0, run.steps.length - 1);
}

/**
 * The last `height` screen lines of a step's output at `width` (its gutter
 * included): a line longer than the screen continues on the next rows, cut
 * by characters so that a table's columns keep their spacing.
 */
export function outputWindow(step: StepView | undefined, height: number, width = Infinity): string[] {
  if (!step || height <= 0) return [];
  const lines = step.output.map((l) => (l.stream === 'stderr' ? `! ${l.text}` : l.text));
  const dropped = step.outputDropped > 0 ? [`… ${step.outputDropped} earlier lines (the journal keeps more: nightshift show)`] : [];
  const all = [...dropped, ...lines];
  const room = Math.max(10, width - OUTPUT_GUTTER.length);
  const out: string[] = [];
  // From the end: only the lines that will show are split.
  for (let i = all.length - 1; i >= 0 && out.length < height; i--) {
    const chars = Array.from(all[i]!.replace(/\t/g, '  ').replace(/[\r\n]+/g, ' '));
    const pieces: string[] = [];
    for (let at = 0; at < chars.length || pieces.length === 0; at += room) pieces.push(`${OUTPUT_GUTTER}${chars.slice(at, at + room).join('')}`);
    out.unshift(...pieces.slice(Math.max(0, pieces.length - (height - out.length))));
  }
  return out;
}

const OUTPUT_GUTTER = '│ ';

/**
 * The step in focus, whole, for the rows under the step list: its progress
 * and ETA while it runs (the list's line cuts them at 80 columns), why it is
 * unavailable, and every command it runs, each wrapped under its `$`.
 */
export function stepDetail(step: StepView, speed: number | undefined, width: number): string[] {
  const lines: string[] = [];
  const progress = step.status === 'running' ? progressText(step, speed) : '';
  if (progress) lines.push(...wrapUnder(progress, width, `${STEP_GLYPH.running} `, 2));
  if (step.unavailable) lines.push(...wrapUnder(step.unavailable, width, 'unavailable: ', 2));
  for (const d of step.describe) lines.push(...wrapUnder(d, width, '$ ', 2));
  return lines;
}

/** The key that opens the next runbook's form once a run is over. */
export const NEXT_KEY = 'n';

/**
 * The runbook a finished run calls for: a failover that left the cluster
 * below its target redundancy (its last step's count) offers rebuild.
 */
export function nextRunbook(run: RunView): { runbook: string; why: string } | undefined {
  if (run.status !== 'succeeded' || run.runbook !== 'failover') return undefined;
  const facts = run.steps.find((s) => s.id === 'redundancy')?.facts ?? {};
  const have = facts['replicas'];
  const want = facts['targetReplicas'];
  if (typeof have !== 'number' || typeof want !== 'number' || have >= want) return undefined;
  return { runbook: 'rebuild', why: `${clusterLabel(runScope(run))} has ${have} replica${have === 1 ? '' : 's'} of ${want}` };
}

export function runHints(run: RunView, opts: { isPlanned: boolean; isOffered?: boolean; hasGate: boolean }): KeyHint[] {
  if (opts.hasGate) return [];
  const hints: KeyHint[] = [{ keys: '↑/↓ j/k', short: '↑↓', label: 'step: move the cursor (it follows the run again once the run moves on)', footerLabel: 'step', isFooter: true }];
  const quit: KeyHint = { keys: 'q', label: 'quit nightshift', footerLabel: 'quit', isFooter: true };
  const help: KeyHint = { keys: '?', label: 'help', isFooter: true };
  if (opts.isPlanned && !run.blocked) hints.push({ keys: '⏎', label: 'start the run', footerLabel: 'start', isFooter: true });
  if (opts.isOffered) {
    hints.push({ keys: '⏎', label: 'resume the run from its journal', footerLabel: 'resume', isFooter: true });
    hints.push({ keys: 'esc', label: 'back (the run stays interrupted; nightshift resume later)', footerLabel: 'back', isFooter: true });
    return [...hints, quit, help];
  }
  if (isRunActive(run)) {
    // The run screen stays up while its run runs: q asks to abort rather than leaving the run behind.
    hints.push({ keys: 'x', label: 'abort the run: asks first, and says what its undo does and what runs on the nodes', footerLabel: 'abort', isFooter: true });
    hints.push({ keys: 'q', label: 'as x: nightshift does not quit under a running run; once it has ended, q quits', footerLabel: 'abort', isFooter: false });
    hints.push({ keys: 'esc', label: 'back, once the run has ended' });
    return [...hints, help];
  }
  hints.push({ keys: 'esc', label: opts.isPlanned ? 'back (the plan is dropped; nothing ran)' : 'back', footerLabel: 'back', isFooter: true });
  const next = opts.isPlanned ? undefined : nextRunbook(run);
  if (next) hints.push({ keys: NEXT_KEY, label: `${next.runbook} next (${next.why}): opens its form`, footerLabel: `${next.runbook} next`, isFooter: true });
  return [...hints, quit, help];
}
