// The headless face of a run: plain lines as it goes (cron mails them), or
// one JSON object per line (`--json`). No colour: a glyph carries the status.
// Records are cleaned for the terminal here, where they become lines: a
// node's output must not drive the terminal that reads them.

import { clusterLabel } from '../../domain/scope.js';
import { scopeOfParams } from '../engine/cluster-params.js';
import { targetLine } from '../../domain/target.js';
import type { PlanStep, CheckResult, RunRecord } from '../engine/records.js';
import { formatDuration } from '../engine/timing.js';
import type { Target } from '../../domain/types.js';
import { reduceRun, type RunView } from '../engine/run-view.js';
import { cleanDeep, jsonForTerminal } from '../../domain/terminal-text.js';
import { checkGlyph, STEP_GLYPH } from '../../ui/status-glyphs.js';

export interface Reporter {
  (record: RunRecord): void;
  /** The run as the reporter has seen it so far. */
  view(): RunView | undefined;
  /** Starts from a run read from its journal (resume), so step numbers and names are known. */
  seed(view: RunView): void;
}

export { targetLine };

export function planLines(plan: PlanStep[], preflight: CheckResult[]): string[] {
  const lines: string[] = [];
  if (preflight.length > 0) {
    lines.push('preflight');
    for (const c of preflight) {
      lines.push(`  ${checkGlyph(c.status)} ${c.title}: ${c.status === 'overridden' ? `OVERRIDDEN: ${c.detail}` : c.detail}`);
    }
  }
  if (plan.length > 0) {
    lines.push('plan');
    plan.forEach((s, i) => {
      const gate = s.danger === 'read' ? '' : `  [${s.danger}]`;
      const kind = s.kind === 'checkpoint' ? '  [checkpoint]' : '';
      lines.push(`  ${i + 1}. ${s.title}${s.node ? ` · ${s.node.name}` : ''}${gate}${kind}${s.unavailable ? `  UNAVAILABLE: ${s.unavailable}` : ''}`);
      for (const d of s.describe) lines.push(`       ${d}`);
      if (s.compensation && s.compensation.length > 0) {
        lines.push('       undo if this or a later step fails:');
        for (const d of s.compensation) lines.push(`         ${d}`);
      }
    });
  }
  return lines;
}

export function createReporter(out: NodeJS.WritableStream, opts: { json?: boolean } = {}): Reporter {
  let view: RunView | undefined;
  const deciles = new Map<string, number>();
  // A reader that goes away (`| head`) must not kill the run half-way: the journal still records it.
  let isClosed = false;
  out.on?.('error', () => {
    isClosed = true;
  });
  const write = (line: string) => {
    if (!isClosed) out.write(`${line}\n`);
  };

  const stepLabel = (id: string): string => {
    const steps = view?.steps ?? [];
    const i = steps.findIndex((s) => s.id === id);
    const s = steps[i];
    return s ? `[${i + 1}/${steps.length}] ${s.title}${s.node ? ` · ${s.node.name}` : ''}` : id;
  };

  const durations = (realMs: number, virtualMs: number): string => {
    const speed = view?.speed ?? 1;
    return speed !== 1 ? `${formatDuration(realMs)} (fleet time ${formatDuration(virtualMs)})` : formatDuration(realMs);
  };

  const human = (r: RunRecord): void => {
    switch (r.type) {
      case 'planned':
        write(`${r.title} on ${clusterLabel({ name: r.cluster, ...scopeOfParams(r) })}`);
        for (const l of planLines(r.plan, r.preflight)) write(l);
        if (r.blocked) write(`BLOCKED: ${r.blocked}`);
        return;
      case 'run-started':
        write(`run ${r.runId} started by ${r.who} · ${targetLine(r.target)}`);
        return;
      case 'run-resumed':
        write(`run ${r.runId} resumed by ${r.who}${r.fromStep ? ` at ${stepLabel(r.fromStep)}` : ''}${r.tornRecord ? ' (the last journal record had been cut short)' : ''}`);
        return;
      case 'override':
        write(`! preflight "${r.checkId}" OVERRIDDEN (${r.via}): ${r.reason}`);
        return;
      case 'gate':
        write(`  gate ${r.kind}${r.stepId ? ` ${r.stepId}` : ''}: ${r.decision} (${r.via})${r.detail ? ` · ${r.detail}` : ''}`);
        return;
      case 'lock':
        write(
          `  lock ${clusterLabel({ name: r.cluster, ...scopeOfParams(r) })}: ${r.action}${r.holder ? ` · run ${r.holder.runId} (${r.holder.owner}, since ${r.holder.startedAt})` : ''}${r.detail ? ` · ${r.detail}` : ''}`,
        );
        return;
      case 'step-started':
        write(`${STEP_GLYPH.running} ${stepLabel(r.stepId)}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`);
        for (const d of r.describe) write(`    $ ${d}`);
        return;
      case 'step-output-live':
        for (const line of r.text.replace(/\n$/, '').split('\n')) write(`    │ ${line}`);
        return;
      case 'step-progress': {
        const pct = r.percent ?? (r.done !== undefined && r.total ? (100 * r.done) / r.total : undefined);
        const decile = pct !== undefined ? Math.floor(pct / 10) : -1;
        if (deciles.get(r.stepId) === decile) return;
        deciles.set(r.stepId, decile);
        const eta = r.etaMs !== undefined ? ` · ETA ${formatDuration(r.etaRealMs ?? r.etaMs)}${view?.speed && view.speed !== 1 ? ` (fleet ${formatDuration(r.etaMs)})` : ''}` : '';
        write(`    … ${pct !== undefined ? `${Math.round(pct)} %` : ''}${r.message ? ` ${r.message}` : ''}${eta}`);
        return;
      }
      case 'step-retry':
        write(`    ↻ attempt ${r.attempt} failed (${r.error}); again in ${formatDuration(r.delayMs)}`);
        return;
      case 'step-finished': {
        const glyph = STEP_GLYPH[r.status];
        const how = r.via === 'is-done' ? ' (already done: found on resume)' : r.via === 'unavailable' ? ` (unavailable: ${r.detail})` : '';
        write(`${glyph} ${stepLabel(r.stepId)} ${r.status} in ${durations(r.realMs, r.virtualMs)}${how}${r.error ? ` · ${r.error}` : ''}`);
        return;
      }
      case 'section':
        write(
          r.action === 'opened'
            ? `  ▶ critical section "${r.name}" opened: budget ${formatDuration(r.budgetMs)}; any way out before it closes runs the undo`
            : r.action === 'closed'
              ? `  ■ critical section "${r.name}" closed`
              : `  ✗ critical section "${r.name}" ran over its budget of ${formatDuration(r.budgetMs)}`,
        );
        return;
      case 'undo':
        write(r.action === 'started' ? `  ↶ undoing from step ${r.fromStep}: ${r.reason}` : `  ↶ undo ${r.ok ? 'finished' : 'FINISHED WITH FAILURES'}`);
        return;
      case 'compensation':
        write(`  ↶ undo ${r.stepId}: ${r.status}${r.via === 'is-done' ? ' (found already undone)' : ''}${r.error ? ` · ${r.error}` : ''}`);
        for (const d of r.describe ?? []) write(`    $ ${d}`);
        return;
      case 'run-finished':
        write(`run ${r.runId} ${r.status} in ${durations(r.realMs, r.virtualMs)}${r.reason ? `: ${r.reason}` : ''}`);
        return;
      case 'gate-pending':
      case 'gate-cleared':
      case 'step-output':
      case 'step-fact':
        return;
    }
  };

  const reporter = ((raw: RunRecord) => {
    const record = cleanDeep(raw);
    view = reduceRun(view?.id === record.runId ? view : undefined, record);
    if (opts.json) {
      // The record as it came, for a program; escaped so that no byte of it is a control to a terminal.
      if (!isClosed) out.write(`${jsonForTerminal(raw)}\n`);
      return;
    }
    human(record);
  }) as Reporter;
  reporter.view = () => view;
  reporter.seed = (v) => {
    view = cleanDeep(v);
  };
  return reporter;
}
