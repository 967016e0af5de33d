// The runbook engine's public face: what commands, the console and runbooks use.

export type * from './types.js';
export type * from './records.js';
export { defineRunbook } from './types.js';
export { createHeadlessGate, createPromptGate, typedMatches, type Gate, type PromptGate, type PromptReply } from './gate.js';
export { Journal, readJournal, parseJournal, journalPath, runsDir } from './journal.js';
export { createRedactor, REDACTED, type Redactor } from './redact.js';
export { prepareRun, executeRun, resumeRun, type EngineDeps, type PreparedRun, type RunOutcome } from './runner.js';
export { listRuns, loadRun, listResumableRuns, type ResumableRun, type LoadedRun } from './history.js';
export { engineDeps } from './deps.js';
export { StepFailed, TransientError, StepTimeoutError, RunAborted, formatDuration } from './timing.js';
