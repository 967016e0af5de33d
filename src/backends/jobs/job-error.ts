// A job command the node answered but could not carry out (a bad id, no
// setsid, an unreadable answer): definitive, unlike a dropped connection,
// which is worth another try.

export class JobError extends Error {
  override name = 'JobError';
  constructor(
    /** The node's name. */
    readonly node: string,
    readonly jobId: string,
    message: string,
  ) {
    super(message);
  }
}
