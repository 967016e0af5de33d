// What a simulated command gets from the shell: the caller's abort signal,
// virtual-time sleeps bounded by the command's timeout, and output streams.

export interface ExecContext {
  signal?: AbortSignal;
  /** Sleeps in virtual time until `t`; rejects on abort, or with a TimeoutError when the command's limit comes first. */
  sleepUntil(t: number): Promise<void>;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** What the caller wrote to the command's standard input (closed after it). */
  stdin?: string;
}

export class CommandTimeoutError extends Error {
  override name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
}
