// SSH failures, typed by what the engineer has to do about them. A non-zero
// exit code of a remote command is never an SshError: it is a result.

export type SshErrorCode =
  /** The server's host key is in no known_hosts file: refused, never accepted silently. */
  | 'host-key-unknown'
  /** known_hosts has a different key of the same type for this host: refused. */
  | 'host-key-changed'
  /** The key is marked @revoked in known_hosts. */
  | 'host-key-revoked'
  /** Every offered key (agent, identity files) was rejected. */
  | 'auth'
  /** TCP connect failed or the handshake broke off (refused, unreachable, reset). */
  | 'connect'
  /** Connecting or the command took longer than allowed; the channel was closed. */
  | 'timeout'
  /** The caller's AbortSignal fired; the channel was closed. */
  | 'aborted'
  /** The connection dropped while a command ran: it may or may not have completed. */
  | 'disconnected'
  /** The server refused a channel (exec, or a forward through a jump host). */
  | 'channel'
  /** ~/.ssh/config, a key file or a jump spec could not be used. */
  | 'config'
  /** --read-only and the command was not declared read-only. */
  | 'read-only';

export class SshError extends Error {
  override name = 'SshError';
  constructor(
    readonly code: SshErrorCode,
    /** `user@host:port` of the hop that failed. */
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Read by the engine's retry policy (isTransientDefault): the network, not the configuration. */
  get transient(): boolean {
    return isTransientSshError(this);
  }
}

/** Codes worth a reconnect attempt: the network, not the configuration. */
export function isTransientSshError(err: unknown): boolean {
  return err instanceof SshError && (err.code === 'connect' || err.code === 'timeout' || err.code === 'disconnected');
}
