// AWS failures as one typed error with a sentence an on-call engineer can act
// on. Matched by `error.name` only, so this file never imports the SDK and the
// simulated-fleet path can name AwsError without loading it.

export type AwsErrorKind =
  /** Throttled even after the SDK's retries: show the data as stale and try on the next refresh. */
  | 'throttled'
  /** Credentials missing, expired or rejected: nothing works until the operator logs in again. */
  | 'credentials'
  /** The endpoint could not be reached (refused, no DNS, no route, connect timeout): the next refresh may get through. */
  | 'network'
  /** The principal lacks an IAM permission. */
  | 'denied'
  /**
   * The world is not as the call assumed, and asking again will not change it:
   * Route 53 refused a change batch (the compare in compare-and-swap failed, or
   * the record exists); a client token reused with other parameters; a volume
   * still attached, a snapshot still used by an image.
   */
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
  /**
   * Asked only after a credentials failure: the shared files searched when
   * the profile is in neither of them (a typo, a host without ~/.aws/config),
   * undefined when it is there or nobody can tell.
   */
  missingProfile?: () => { config: string; credentials: string } | undefined;
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
    return this.kind === 'throttled' || this.kind === 'timeout' || this.kind === 'network' || this.kind === 'other';
  }
}

/**
 * The names AWS services give a throttled call (EC2 RequestLimitExceeded,
 * CloudWatch Throttling, Route 53 PriorRequestNotComplete...): one list for
 * the sentence here, the per-region throttle record, and the runbook
 * engine's "worth another attempt".
 */
export const THROTTLING_NAMES: ReadonlySet<string> = new Set([
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
/** nightshift's policy allows a change only on what carries its tags: a denial may be a missing tag, not a missing grant. */
const TAG_HINT = ", or, if it has nightshift's policy, check the resource carries the tag its conditions ask for (the cluster tag on an instance or group, nightshift:managed on a volume or snapshot)";
const isRead = (action: string) => /^[a-z0-9-]+:(Describe|Get|List)/.test(action);
/** Node's codes for a request that never reached the service. */
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** Service names as an engineer says them, and the SDK's per-service endpoint variable, by IAM prefix. */
const SERVICES: Record<string, { name: string; endpointVar: string }> = {
  ec2: { name: 'EC2', endpointVar: 'AWS_ENDPOINT_URL_EC2' },
  sts: { name: 'STS', endpointVar: 'AWS_ENDPOINT_URL_STS' },
  cloudwatch: { name: 'CloudWatch', endpointVar: 'AWS_ENDPOINT_URL_CLOUDWATCH' },
  autoscaling: { name: 'Auto Scaling', endpointVar: 'AWS_ENDPOINT_URL_AUTO_SCALING' },
  route53: { name: 'Route 53', endpointVar: 'AWS_ENDPOINT_URL_ROUTE_53' },
};

function serviceOf(action: string): { name: string; endpointVar: string } {
  const prefix = action.split(':')[0] ?? action;
  return SERVICES[prefix] ?? { name: prefix, endpointVar: 'AWS_ENDPOINT_URL' };
}

/** An IAM action as an engineer says the call: "ec2:DescribeInstances" → "EC2 DescribeInstances". */
export function callName(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : `${serviceOf(action).name} ${action.slice(colon + 1)}`;
}

/**
 * What to check when a service cannot be reached. An endpoint override in the
 * environment is the likeliest cause when there is one, so it is named with
 * its value; otherwise the host's own way out (DNS, route, proxy).
 */
function reachHint(action: string, env: NodeJS.ProcessEnv): string {
  const { endpointVar } = serviceOf(action);
  for (const name of [endpointVar, 'AWS_ENDPOINT_URL']) {
    const value = env[name];
    if (value) return `check ${name}=${value}`;
  }
  return 'check DNS, routes and HTTPS_PROXY from this host';
}

function tildeHome(path: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME;
  return home && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

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
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { requestId?: string } };
  const systemCode = typeof e.code === 'string' && NETWORK.has(e.code) ? e.code : undefined;
  // A request that never got an answer has no service error name; Node's code says more than "Error".
  const name = systemCode ?? (typeof e.name === 'string' ? e.name : 'Error');
  const message = typeof e.message === 'string' ? e.message : String(err);
  const requestId = e.$metadata?.requestId;
  const doing = ctx.doing ?? ctx.action;
  const make = (kind: AwsErrorKind, sentence: string) =>
    new AwsError(name, kind, sentence, ctx.action, requestId, ctx.region, { cause: err });

  if (name === 'AbortError') {
    return make('aborted', `${doing}${where(ctx)} was cancelled`);
  }
  if (THROTTLING_NAMES.has(name)) {
    return make(
      'throttled',
      `AWS is throttling ${ctx.action}${where(ctx)} (${name}) even after retries: the values shown are stale and will refresh when the rate drops`,
    );
  }
  if (systemCode || name === 'TimeoutError') {
    // "connect ECONNREFUSED 127.0.0.1:9", "getaddrinfo ENOTFOUND ec2.us-east-1.amazonaws.com"
    const detail = message.replace(/^@smithy\/[\w-]+ - /, '').split('\n')[0];
    return make('network', `cannot reach ${serviceOf(ctx.action).name}${where(ctx)}: ${reachHint(ctx.action, process.env)} (${detail})`);
  }
  const isProviderError = name === 'CredentialsProviderError' || name === 'TokenProviderError';
  if (EXPIRED.has(name) || (isProviderError && /expired/i.test(message))) {
    return make('credentials', `${credentialsWho(ctx.profile)} have expired: ${loginHint(ctx.profile)}`);
  }
  if (isProviderError) {
    const firstLine = message.split('\n')[0];
    const searched = ctx.profile ? ctx.missingProfile?.() : undefined;
    if (ctx.profile && searched) {
      const files = `${tildeHome(searched.config, process.env)} and ${tildeHome(searched.credentials, process.env)}`;
      return make(
        'credentials',
        `no AWS profile named ${ctx.profile}: check --profile (or AWS_PROFILE), or add it with \`aws configure sso --profile ${ctx.profile}\` (looked in ${files})`,
      );
    }
    if (ctx.profile) {
      // With a profile named, the SDK ignores AWS_ACCESS_KEY_ID: logging in to the profile is the way.
      return make('credentials', `no AWS credentials for profile ${ctx.profile}: ${loginHint(ctx.profile)} (${firstLine})`);
    }
    return make('credentials', `no usable ${credentialsWho(ctx.profile)} (${firstLine}): ${loginHint(ctx.profile)}, or set AWS_PROFILE / AWS_ACCESS_KEY_ID`);
  }
  if (BAD_CREDENTIALS.has(name)) {
    return make('credentials', `AWS rejected the ${credentialsWho(ctx.profile)} (${name}): ${loginHint(ctx.profile)} and try again`);
  }
  if (DENIED.has(name)) {
    // What was being done names the resource ("stopping i-0a1…"): a policy may allow the action on some instances only.
    const what = ctx.doing ? `${ctx.doing}: ` : '';
    return make(
      'denied',
      `${what}not allowed to call ${ctx.action}${where(ctx)} (${name}): grant it to this role${isRead(ctx.action) ? '' : TAG_HINT} — \`nightshift iam-policy\` prints the policy nightshift needs`,
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
