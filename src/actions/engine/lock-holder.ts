// Is the run that holds a cluster lock still alive? Only a journal on this
// machine can tell, and only for a process on this host: anything else is
// said in words, so the operator decides with the facts in front of them.

import { currentHost, isProcessAlive } from './ids.js';
import { journalPath, readJournal } from './journal.js';
import { foldRun, type RunView } from './run-view.js';

export interface HolderAssessment {
  isLive: boolean;
  detail: string;
}

export function assessHolder(
  stateDir: string,
  runId: string,
  opts: { host?: string; isProcessAlive?: (pid: number) => boolean } = {},
): HolderAssessment {
  let view: RunView | undefined;
  try {
    view = foldRun(readJournal(journalPath(stateDir, runId)).records);
  } catch {
    return { isLive: false, detail: `run ${runId} has no journal here; nightshift cannot tell whether it still runs elsewhere` };
  }
  if (!view) return { isLive: false, detail: `run ${runId}'s journal is empty` };
  if (view.status === 'paused') return { isLive: false, detail: `run ${runId} is paused; resume it with: nightshift resume ${runId}` };
  if (view.status !== 'running' && view.status !== 'planned') {
    return { isLive: false, detail: `run ${runId} finished (${view.status}) without releasing the lock` };
  }
  const alive = opts.isProcessAlive ?? isProcessAlive;
  if (view.host === (opts.host ?? currentHost()) && view.pid !== undefined) {
    return alive(view.pid)
      ? { isLive: true, detail: `it is still running (pid ${view.pid} on this host)` }
      : { isLive: false, detail: `its process (pid ${view.pid} on this host) is gone: the lock is stale; resume it with: nightshift resume ${runId}` };
  }
  return { isLive: false, detail: `run ${runId} ran on ${view.host ?? 'another host'}; nightshift cannot tell from here whether it still runs` };
}
