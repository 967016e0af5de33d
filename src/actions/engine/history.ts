// Runs on disk: the history (`nightshift runs`), one run (`show`), and the
// runs a console should offer to resume when it starts.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../../errors.js';
import { foldRun, type RunView } from './run-view.js';
import { currentHost, isProcessAlive, isValidRunId } from './ids.js';
import { journalPath, listJournals, readJournal, type JournalRead } from './journal.js';

export interface LoadedRun {
  view: RunView;
  journal: JournalRead;
  /** The run's process is alive on this host: it is running, not interrupted. */
  isLive: boolean;
}

export interface HistoryOptions {
  host?: string;
  isProcessAlive?: (pid: number) => boolean;
}

function liveness(view: RunView, opts: HistoryOptions): boolean {
  if (view.status !== 'running' || view.pid === undefined) return false;
  if (view.host !== (opts.host ?? currentHost())) return false;
  return (opts.isProcessAlive ?? isProcessAlive)(view.pid);
}

function load(path: string, opts: HistoryOptions): LoadedRun | undefined {
  let journal: JournalRead;
  try {
    journal = readJournal(path);
  } catch {
    return undefined;
  }
  const view = foldRun(journal.records);
  // A journal cut before its first record (killed during creation) has no story to tell.
  if (!view || !view.runbook) return undefined;
  return { view, journal, isLive: liveness(view, opts) };
}

/** Every run with a journal, newest first. */
export function listRuns(stateDir: string, opts: HistoryOptions = {}): LoadedRun[] {
  return listJournals(stateDir)
    .map((p) => load(p, opts))
    .filter((r): r is LoadedRun => r !== undefined);
}

/** One run by id, or by a prefix that names exactly one run. */
export function loadRun(stateDir: string, idOrPrefix: string, opts: HistoryOptions = {}): LoadedRun {
  if (!isValidRunId(idOrPrefix)) throw new UsageError(`"${idOrPrefix}" is not a run id (see \`nightshift runs\`)`);
  const exact = journalPath(stateDir, idOrPrefix);
  if (existsSync(exact)) {
    const run = load(exact, opts);
    if (!run) throw new UsageError(`run ${idOrPrefix}: its journal holds no run-started record`);
    return run;
  }
  const matches = listJournals(stateDir).filter((p) => basename(p, '.jsonl').startsWith(idOrPrefix));
  if (matches.length === 0) throw new UsageError(`no run ${idOrPrefix} in ${stateDir} (see \`nightshift runs\`)`);
  if (matches.length > 1) {
    throw new UsageError(`"${idOrPrefix}" names ${matches.length} runs: ${matches.map((p) => basename(p, '.jsonl')).join(', ')}`);
  }
  const run = load(matches[0]!, opts);
  if (!run) throw new UsageError(`run ${idOrPrefix}: its journal holds no run-started record`);
  return run;
}

export interface ResumableRun {
  runId: string;
  runbook: string;
  cluster: string;
  /** The cluster's region and account, where the run named them. */
  region?: string;
  account?: string;
  who?: string;
  startedAt?: string;
  /** interrupted: started and never finished (the session died); paused: the operator paused it. */
  why: 'interrupted' | 'paused';
  /** The step it stopped at. */
  atStep?: string;
  /** The journal's last line was cut short. */
  isTorn: boolean;
}

/** What the console offers to resume at start: interrupted or paused runs not running anywhere we can see. */
export function listResumableRuns(stateDir: string, opts: HistoryOptions = {}): ResumableRun[] {
  return listRuns(stateDir, opts)
    .filter((r) => !r.isLive && (r.view.status === 'running' || r.view.status === 'paused'))
    .map(({ view, journal }) => {
      const at = view.steps.find((s) => s.status !== 'ok' && s.status !== 'skipped');
      return {
        runId: view.id,
        runbook: view.runbook,
        cluster: view.cluster,
        ...(view.region !== undefined ? { region: view.region } : {}),
        ...(view.account !== undefined ? { account: view.account } : {}),
        ...(view.who ? { who: view.who } : {}),
        ...(view.startedAtReal ? { startedAt: view.startedAtReal } : {}),
        why: view.status === 'paused' ? ('paused' as const) : ('interrupted' as const),
        ...(at ? { atStep: at.title } : {}),
        isTorn: journal.torn !== undefined,
      };
    });
}
