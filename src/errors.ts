// Typed errors at the edges. The CLI turns each into one clear line and an
// exit code: 2 for usage and configuration, 1 for everything else.

export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode = 2;
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly key: string | undefined,
    readonly problem: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${key ? `${key}: ` : ''}${problem}`);
  }
}

/** A command that ran and failed (a run that did not succeed, a probe that failed). */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  readonly exitCode = 1;
}

/** Raised by any mutating backend method under --read-only, before a request is made. */
export class ReadOnlyError extends Error {
  override name = 'ReadOnlyError';
  constructor(readonly operation: string) {
    super(`refused: ${operation} would change the world, and nightshift is running with --read-only`);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') return err.exitCode;
  return 1;
}
