// AWS failures as one typed error with a sentence an on-call engineer can act
// on. Matched by `error.name` only, so this file never imports the SDK and the
// simulated-fleet path can name AwsError without loading it.

export type AwsErrorKind =
  /** Throttled even after the SDK's retries: show the data as stale and try on the next refresh. */
  | 'throttled'
  /** Credentials missing, expired or rejected: nothing works until the operator logs in again. */
  | 'credentials'
  /** The principal lacks an IAM permission. */
  | 'denied'
  /** Route 53 refused a change batch (the compare in compare-and-swap failed, or the record exists). */
  | 'conflict'
  | 'not-found'
  | 'timeout'
  | 'aborted'
  | 'other';

export interface AwsCallContext {
  /** "ec2:DescribeInstances": the IAM action, also how an engineer searches for it. */
  action: string;
  region?: string;
  profile?: string;
  /** What was being done, for the sentence: "reading instances", "swapping db-writer.example.com". */
  doing?: string;
}

export class AwsError extends Error {
  override name = 'AwsError';

  constructor(
    /** The service's error name (`RequestLimitExceeded`, `InvalidChangeBatch`...). */
    readonly code: string,
    readonly kind: AwsErrorKind,
    /** The sentence shown to the operator: what failed and what to do next. */
    readonly sentence: string,
    readonly action: string,
    readonly requestId?: string,
    readonly region?: string,
    options?: { cause?: unknown },
  ) {
    super(sentence, options);
  }

  /** True when the next refresh may well succeed: the poller keeps the last values and marks them stale. */
  get isTransient(): boolean {
    return this.kind === 'throttled' || this.kind === 'timeout' || this.kind === 'other';
  }
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);
const BAD_CREDENTIALS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'IncompleteSignature',
]);
const DENIED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

function loginHint(profile: string | undefined): string {
  return profile ? `run \`aws sso login --profile ${profile}\`` : 'run `aws sso login` (or refresh the credentials in your environment)';
}

function credentialsWho(profile: string | undefined): string {
  return profile ? `AWS credentials for profile ${profile}` : 'AWS credentials';
}

function where(ctx: AwsCallContext): string {
  return ctx.region ? ` in ${ctx.region}` : '';
}

/** Turns whatever a `client.send` threw into an AwsError; an AwsError passes through unchanged. */
export function toAwsError(err: unknown, ctx: AwsCallContext): AwsError {
  if (err instanceof AwsError) return err;
  const e = (err ?? {}) as { name?: unknown; message?: unknown; Code?: unknown; $metadata?: { requestId?: string } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const requestId = e.$metadata?.requestId;
  const doing = ctx.doing ?? ctx.action;
  const make = (kind: AwsErrorKind, sentence: string) =>
    new AwsError(name, kind, sentence, ctx.action, requestId, ctx.region, { cause: err });

  if (name === 'AbortError') {
    return make('aborted', `${doing}${where(ctx)} was cancelled`);
  }
  if (THROTTLING.has(name)) {
    return make(
      'throttled',
      `AWS is throttling ${ctx.action}${where(ctx)} (${name}) even after retries: the values shown are stale and will refresh when the rate drops`,
    );
  }
  const isProviderError = name === 'CredentialsProviderError' || name === 'TokenProviderError';
  if (EXPIRED.has(name) || (isProviderError && /expired/i.test(message))) {
    return make('credentials', `${credentialsWho(ctx.profile)} have expired: ${loginHint(ctx.profile)}`);
  }
  if (isProviderError) {
    return make(
      'credentials',
      `no usable ${credentialsWho(ctx.profile)} (${message.split('\n')[0]}): ${loginHint(ctx.profile)}, or set AWS_PROFILE / AWS_ACCESS_KEY_ID`,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return make('credentials', `AWS rejected the ${credentialsWho(ctx.profile)} (${name}): ${loginHint(ctx.profile)} and try again`);
  }
  if (DENIED.has(name)) {
    return make(
      'denied',
      `not allowed to call ${ctx.action}${where(ctx)} (${name}): grant it to this role — \`nightshift iam-policy\` prints the policy nightshift needs`,
    );
  }
  if (name === 'InvalidChangeBatch') {
    return make(
      'conflict',
      /already exists/i.test(message)
        ? `${doing}: the record already exists, so nothing was changed`
        : `${doing}: the record changed since nightshift read it (someone else edited it), so nothing was changed; read it again and check before retrying`,
    );
  }
  if (/NotFound$|^NoSuch/.test(name)) {
    return make('not-found', `${doing}${where(ctx)}: not found (${name}: ${message})`);
  }
  return make('other', `${doing}${where(ctx)} failed: ${name}: ${message}`);
}

/** Runs one SDK call and converts its failure at the boundary. */
export async function awsCall<T>(ctx: AwsCallContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAwsError(err, ctx);
  }
}
