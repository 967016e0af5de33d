// A run's story from its journal, fit for a postmortem: what was planned,
// who said yes to what, each step's attempts with real and fleet durations,
// interruptions and resumes, and the total against the target recovery time.

import { clusterLabel } from '../../domain/scope.js';
import { runCluster } from '../engine/cluster-params.js';
import type { RunRecord } from '../engine/records.js';
import { formatDuration } from '../engine/timing.js';
import type { RunView } from '../engine/run-view.js';
import { targetLine } from './reporter.js';
import { cleanDeep } from '../../domain/terminal-text.js';
import { stepGlyph } from '../../ui/status-glyphs.js';

export interface Attempt {
  attempt: number;
  startedAt: string;
  startedVt: number;
  status: 'ok' | 'failed' | 'skipped' | 'interrupted' | 'running';
  realMs?: number;
  virtualMs?: number;
  via?: string;
  error?: string;
}

export interface StepTimeline {
  index: number;
  id: string;
  title: string;
  node?: string;
  danger: string;
  status: string;
  describe: string[];
  attempts: Attempt[];
  realMs: number;
  virtualMs: number;
  outputTail: string[];
  journalDroppedBytes: number;
}

export interface Timeline {
  view: RunView;
  steps: StepTimeline[];
  events: Array<{ t: string; text: string }>;
  /** Fleet-clock ms from start to finish (or to the last record). */
  totalVirtualMs: number;
  totalRealMs: number;
  target?: { seconds: number; met: boolean; ratio: number };
  isLive: boolean;
}

/** The timeline of a journal, cleaned for a terminal: the journal keeps node output as it came. */
export function buildTimeline(rawView: RunView, rawRecords: readonly RunRecord[], isLive = false): Timeline {
  const view = cleanDeep(rawView);
  const records = cleanDeep(rawRecords);
  const steps: StepTimeline[] = view.steps.map((s, index) => ({
    index: index + 1,
    id: s.id,
    title: s.title,
    ...(s.node ? { node: s.node.name } : {}),
    // "read" means no gate, not that nothing changes: a tag write says so.
    danger: s.danger === 'read' && s.mutates ? 'changes, no gate' : s.danger,
    status: s.status,
    describe: s.describe,
    attempts: [],
    realMs: 0,
    virtualMs: 0,
    outputTail: s.output.slice(-20).map((l) => (l.stream === 'stderr' ? `! ${l.text}` : l.text)),
    journalDroppedBytes: s.journalDroppedBytes,
  }));
  const byId = new Map(steps.map((s) => [s.id, s]));
  const events: Timeline['events'] = [];
  const at = (r: RunRecord) => r.t;
  let previousT: string | undefined;
  /** An attempt cut by the interruption lasted until the last record written before it. */
  const closeInterrupted = (a: Attempt | undefined, until: string | undefined) => {
    if (!a || a.status !== 'running') return;
    a.status = 'interrupted';
    if (until) a.realMs = Math.max(0, Date.parse(until) - Date.parse(a.startedAt));
  };
  for (const r of records) {
    switch (r.type) {
      case 'step-started': {
        const s = byId.get(r.stepId);
        const open = s?.attempts.at(-1);
        // A start with the previous attempt still open: the session died during it.
        if (open && open.status === 'running') open.status = 'interrupted';
        s?.attempts.push({ attempt: r.attempt, startedAt: r.t, startedVt: r.vt, status: 'running' });
        break;
      }
      case 'step-finished': {
        const s = byId.get(r.stepId);
        if (!s) break;
        const open = s.attempts.at(-1);
        if (open && open.status === 'running') {
          Object.assign(open, { status: r.status, realMs: r.realMs, virtualMs: r.virtualMs, via: r.via, ...(r.error ? { error: r.error } : {}) });
        } else {
          s.attempts.push({
            attempt: open?.attempt ?? 0,
            startedAt: r.t,
            startedVt: r.vt,
            status: r.status,
            realMs: r.realMs,
            virtualMs: r.virtualMs,
            via: r.via,
            ...(r.error ? { error: r.error } : {}),
          });
        }
        s.realMs += r.realMs;
        s.virtualMs += r.virtualMs;
        break;
      }
      case 'run-resumed': {
        for (const s of steps) closeInterrupted(s.attempts.at(-1), previousT);
        events.push({ t: at(r), text: `resumed by ${r.who} on ${r.host}${r.fromStep ? ` at step ${byId.get(r.fromStep)?.index ?? r.fromStep}` : ''}${r.tornRecord ? ' (last record had been cut short)' : ''}` });
        break;
      }
      case 'run-started':
        events.push({ t: at(r), text: `started by ${r.who} on ${r.host} (pid ${r.pid})` });
        break;
      case 'override':
        events.push({ t: at(r), text: `preflight "${r.checkId}" OVERRIDDEN by ${r.via}: ${r.reason}` });
        break;
      case 'gate':
        events.push({
          t: at(r),
          text: `gate ${r.kind}${r.stepId ? ` (step ${byId.get(r.stepId)?.index ?? r.stepId})` : ''}: ${r.decision} by ${r.via}${r.detail ? ` · ${r.detail}` : ''}`,
        });
        break;
      case 'lock':
        events.push({ t: at(r), text: `lock ${r.action}${r.holder && r.action !== 'acquired' && r.action !== 'held' ? ` (held by run ${r.holder.runId}, ${r.holder.owner}, since ${r.holder.startedAt})` : ''}${r.detail ? ` · ${r.detail}` : ''}` });
        break;
      case 'step-retry':
        events.push({ t: at(r), text: `step ${byId.get(r.stepId)?.index ?? r.stepId} attempt ${r.attempt} failed, retried after ${formatDuration(r.delayMs)}: ${r.error}` });
        break;
      case 'compensation':
        events.push({ t: at(r), text: `undo of step ${byId.get(r.stepId)?.index ?? r.stepId}: ${r.status}${r.via === 'is-done' ? ' (found already undone)' : ''}${r.error ? ` · ${r.error}` : ''}` });
        break;
      case 'section':
        events.push({ t: at(r), text: `critical section "${r.name}" ${r.action === 'overrun' ? `ran over its budget of ${formatDuration(r.budgetMs)}` : r.action}${r.action === 'opened' ? ` (budget ${formatDuration(r.budgetMs)})` : ''}` });
        break;
      case 'undo':
        events.push({ t: at(r), text: r.action === 'started' ? `undo started from step ${byId.get(r.fromStep)?.index ?? r.fromStep}: ${r.reason}` : `undo finished${r.ok ? '' : ' WITH FAILURES'}` });
        break;
      case 'run-finished':
        events.push({ t: at(r), text: `finished: ${r.status}${r.reason ? ` · ${r.reason}` : ''}` });
        break;
      default:
        break;
    }
    previousT = r.t;
  }
  if (!isLive && view.status === 'running') {
    for (const s of steps) closeInterrupted(s.attempts.at(-1), previousT);
  }
  const totalVirtualMs = view.virtualMs ?? (view.lastVt !== undefined && view.startedVt !== undefined ? view.lastVt - view.startedVt : 0);
  const totalRealMs = view.realMs ?? (view.lastT && view.startedAtReal ? Date.parse(view.lastT) - Date.parse(view.startedAtReal) : 0);
  const timeline: Timeline = { view, steps, events, totalVirtualMs, totalRealMs, isLive };
  if (view.targetSeconds !== undefined) {
    const ratio = totalVirtualMs / (view.targetSeconds * 1000);
    timeline.target = { seconds: view.targetSeconds, met: view.status === 'succeeded' && ratio <= 1, ratio };
  }
  return timeline;
}

function statusWord(view: RunView, isLive: boolean): string {
  if (view.status === 'running') return isLive ? 'running' : 'interrupted (resume with `nightshift resume ' + view.id + '`)';
  return view.status;
}

function dur(realMs: number, virtualMs: number, speed: number | undefined): string {
  return speed !== undefined && speed !== 1 ? `${formatDuration(realMs)} real · ${formatDuration(virtualMs)} fleet` : formatDuration(realMs);
}

function targetText(t: Timeline): string | undefined {
  if (!t.target) return undefined;
  const goal = formatDuration(t.target.seconds * 1000);
  const took = formatDuration(t.totalVirtualMs);
  if (t.view.status !== 'succeeded') return `${goal}; not met: the run ${t.view.status} after ${took}`;
  return t.target.met
    ? `${goal}; met: ${took} (${Math.round(t.target.ratio * 100)} % of it)`
    : `${goal}; MISSED by ${formatDuration(t.totalVirtualMs - t.target.seconds * 1000)} (took ${took})`;
}

function attemptText(a: Attempt): string {
  const how = a.via === 'is-done' ? ' (found done on resume)' : a.via === 'operator' && a.status === 'skipped' ? ' (skipped by the operator)' : '';
  return `#${a.attempt} ${a.status}${a.realMs !== undefined ? ` ${formatDuration(a.realMs)}` : ''}${how}${a.error ? `: ${a.error}` : ''}`;
}

function time(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?';
}

/** Markdown for a postmortem document. */
export function timelineMarkdown(t: Timeline): string {
  const v = t.view;
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out: string[] = [];
  out.push(`# ${v.title || v.runbook} on ${clusterLabel(runCluster(v))}: run ${v.id}`, '');
  out.push(`- **Status:** ${statusWord(v, t.isLive)}${v.reason ? ` — ${v.reason}` : ''}`);
  if (v.target) out.push(`- **Target:** ${targetLine(v.target)}`);
  out.push(`- **Started:** ${time(v.startedAtReal)} by ${v.who ?? '?'} on ${v.host ?? '?'}${v.speed && v.speed !== 1 ? ` (fleet clock ${time(v.startedAt)})` : ''}`);
  out.push(`- **Duration:** ${dur(t.totalRealMs, t.totalVirtualMs, v.speed)}${v.finishedAt ? '' : ' so far'}`);
  const target = targetText(t);
  if (target) out.push(`- **Target recovery time:** ${target}`);
  if (v.resumes.length > 0) out.push(`- **Resumed:** ${v.resumes.length} time${v.resumes.length > 1 ? 's' : ''}`);
  if (v.params !== undefined) out.push(`- **Parameters:** \`${JSON.stringify(v.params)}\``);
  out.push('');
  if (v.preflight.length > 0) {
    out.push('## Preflight', '', '| check | result | detail |', '|---|---|---|');
    for (const c of v.preflight) out.push(`| ${cell(c.title)} | ${c.status} | ${cell(c.detail)} |`);
    out.push('');
  }
  out.push('## Steps', '', '| # | step | node | status | duration | fleet time | attempts |', '|---|---|---|---|---|---|---|');
  for (const s of t.steps) {
    out.push(
      `| ${s.index} | ${cell(s.title)} | ${s.node ?? ''} | ${stepGlyph(s.status)} ${s.status} | ${formatDuration(s.realMs)} | ${formatDuration(s.virtualMs)} | ${cell(s.attempts.map(attemptText).join('; '))} |`,
    );
  }
  out.push('', '## Timeline', '');
  for (const e of t.events) out.push(`- ${time(e.t)} — ${e.text}`);
  out.push('', '## Commands', '');
  for (const s of t.steps) {
    out.push(`### ${s.index}. ${s.title}${s.node ? ` · ${s.node}` : ''} [${s.danger}]`, '', '```', ...s.describe, '```', '');
    if (s.outputTail.length > 0) {
      out.push(`Output (last ${s.outputTail.length} lines${s.journalDroppedBytes > 0 ? `; ${s.journalDroppedBytes} bytes were left out of the journal` : ''}):`, '', '```', ...s.outputTail, '```', '');
    }
  }
  return out.join('\n');
}

/** Plain text for the terminal. */
export function timelineText(t: Timeline): string {
  const v = t.view;
  const out: string[] = [];
  out.push(`run ${v.id} · ${v.title || v.runbook} on ${clusterLabel(runCluster(v))} · ${statusWord(v, t.isLive)}`);
  if (v.reason) out.push(`  ${v.reason}`);
  if (v.target) out.push(`  ${targetLine(v.target)}`);
  out.push(`  started ${time(v.startedAtReal)} by ${v.who ?? '?'} · took ${dur(t.totalRealMs, t.totalVirtualMs, v.speed)}`);
  const target = targetText(t);
  if (target) out.push(`  target recovery time ${target}`);
  out.push('steps');
  for (const s of t.steps) {
    out.push(`  ${stepGlyph(s.status)} ${s.index}. ${s.title}${s.node ? ` · ${s.node}` : ''}  ${dur(s.realMs, s.virtualMs, v.speed)}`);
    for (const a of s.attempts) out.push(`      ${attemptText(a)}`);
  }
  out.push('timeline');
  for (const e of t.events) out.push(`  ${time(e.t)}  ${e.text}`);
  return out.join('\n') + '\n';
}
