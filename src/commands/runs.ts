// `nightshift runs [--json]`: the history of runs on this machine, newest first.

import type { Command } from 'commander';
import { listRuns, type LoadedRun } from '../actions/engine/history.js';
import { formatDuration } from '../actions/engine/timing.js';
import { cleanDeep, jsonForTerminal } from '../domain/terminal-text.js';
import { scopeText } from '../domain/scope.js';
import { fit } from '../ui/format.js';
import type { CommandContext, RegisterCommand } from './types.js';

export interface RunSummary {
  id: string;
  runbook: string;
  cluster: string;
  /** The cluster's region and account, where the run named them. */
  region?: string;
  account?: string;
  /** 'interrupted' for a run whose session died; 'running' only while its process lives. */
  status: string;
  startedAt: string | null;
  who: string | null;
  realMs: number | null;
  virtualMs: number | null;
  reason: string | null;
  journalTorn: boolean;
}

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('runs')
    .description('list past and interrupted runs (id, runbook, cluster, status, started, duration)')
    .option('--json', 'print a JSON array')
    .option('-n, --limit <n>', 'only the newest N runs')
    .action(async (flags: { json?: boolean; limit?: string }) => {
      await runsCommand(ctx, flags);
    });
};

export function summarize(run: LoadedRun): RunSummary {
  const v = run.view;
  const status = v.status === 'running' && !run.isLive ? 'interrupted' : v.status;
  const realMs = v.realMs ?? (v.lastT && v.startedAtReal ? Date.parse(v.lastT) - Date.parse(v.startedAtReal) : null);
  const virtualMs = v.virtualMs ?? (v.lastVt !== undefined && v.startedVt !== undefined ? v.lastVt - v.startedVt : null);
  return {
    id: v.id,
    runbook: v.runbook,
    cluster: v.cluster,
    ...(v.region !== undefined ? { region: v.region } : {}),
    ...(v.account !== undefined ? { account: v.account } : {}),
    status,
    startedAt: v.startedAtReal ?? null,
    who: v.who ?? null,
    realMs,
    virtualMs,
    reason: v.reason ?? null,
    journalTorn: run.journal.torn !== undefined,
  };
}

export async function runsCommand(ctx: CommandContext, flags: { json?: boolean; limit?: string }): Promise<RunSummary[]> {
  const config = await ctx.loadConfig();
  let runs = listRuns(config.stateDir).map(summarize);
  if (flags.limit !== undefined) runs = runs.slice(0, Math.max(0, Number(flags.limit) || 0));
  if (flags.json) {
    ctx.io.stdout.write(`${jsonForTerminal(runs, 2)}\n`);
    return runs;
  }
  if (runs.length === 0) {
    ctx.io.stdout.write(`no runs yet (journals live in ${config.stateDir}/runs)\n`);
    return runs;
  }
  // A reason may quote a node's output: cleaned for the terminal (the JSON above is escaped instead).
  const shown = runs.map((r) => cleanDeep(r));
  const idWidth = Math.max(...shown.map((r) => r.id.length), 3);
  // A region column only where a listed run has one: a single-region history reads as before.
  const scopes = shown.map((r) => scopeText(r));
  const scopeWidth = Math.max(...scopes.map((x) => x.length));
  const scopeHead = shown.some((r) => r.account) ? 'ACCOUNT REGION' : 'REGION';
  const scopeCol = (x: string) => (scopeWidth > 0 ? `${fit(x, Math.max(scopeWidth, scopeHead.length))}  ` : '');
  const header = `${fit('RUN', idWidth)}  ${fit('RUNBOOK', 10)}  ${fit('CLUSTER', 16)}  ${scopeCol(scopeHead)}${fit('STATUS', 11)}  ${fit('STARTED', 20)}  DURATION`;
  const lines = shown.map((r, i) => {
    const took = r.realMs === null ? '?' : r.virtualMs !== null && Math.abs(r.virtualMs - r.realMs) > 1000 ? `${formatDuration(r.realMs)} (fleet ${formatDuration(r.virtualMs)})` : formatDuration(r.realMs);
    const started = r.startedAt ? r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?';
    return `${fit(r.id, idWidth)}  ${fit(r.runbook, 10)}  ${fit(r.cluster, 16)}  ${scopeCol(scopes[i]!)}${fit(r.status, 11)}  ${fit(started, 20)}  ${took}`;
  });
  ctx.io.stdout.write([header, ...lines].join('\n') + '\n');
  return runs;
}
