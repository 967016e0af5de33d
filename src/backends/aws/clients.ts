// One SDK client per service and region, built once and shared by every
// adapter, so credentials are resolved once and retries share one budget.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { STSClient } from '@aws-sdk/client-sts';
import pkg from '../../../package.json' with { type: 'json' };

export interface RegionClients {
  region: string;
  /**
   * The profile whose credentials these clients use, when one was named. With
   * several profiles a scope is (profile, region): the same region appears
   * once per profile, each set with its own credentials.
   */
  profile?: string;
  ec2: EC2Client;
  cloudwatch: CloudWatchClient;
  autoscaling: AutoScalingClient;
}

/** One profile's clients (one account): several profiles are several of these. */
export interface AwsClients {
  /** The profile they were built for; undefined for the default chain. */
  profile?: string;
  /** One set per region, in the configured order. */
  regional: RegionClients[];
  /** Route 53 is global. */
  route53: Route53Client;
  sts: STSClient;
}

export interface AwsClientOptions {
  regions: string[];
  profile?: string;
  /** Attempts per call, first one included (SDK standard mode; 3 by default). */
  maxAttempts?: number;
  /** Tests and odd setups only; the default chain (env, profile, SSO, instance role) otherwise. */
  credentials?: EC2ClientConfig['credentials'];
  requestHandler?: EC2ClientConfig['requestHandler'];
}

/** A TCP connection to an AWS endpoint takes milliseconds; past this the route is broken. */
const CONNECT_TIMEOUT_MS = 5_000;
/** No byte for this long on an open request: give up, and let the retry or the next refresh try again. */
const SOCKET_TIMEOUT_MS = 30_000;

export const USER_AGENT: [string, string] = ['nightshift', pkg.version];

function sharedConfig(opts: AwsClientOptions, region: string) {
  return {
    region,
    // `profile` on the client makes the default chain read that profile (SSO included)
    // without touching process.env, so two targets could coexist in one process.
    ...(opts.profile ? { profile: opts.profile } : {}),
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? 3,
    customUserAgent: [USER_AGENT],
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    // The SDK waits on the OS for a connection (minutes on a blackholed route) and
    // 15 minutes on a silent socket: the console would say "loading…" all that time.
    requestHandler: opts.requestHandler ?? { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
  } satisfies EC2ClientConfig;
}

export function createAwsClients(opts: AwsClientOptions): AwsClients {
  const [first] = opts.regions;
  if (!first) throw new Error('createAwsClients needs at least one region');
  return {
    ...(opts.profile ? { profile: opts.profile } : {}),
    regional: opts.regions.map((region) => ({
      region,
      ...(opts.profile ? { profile: opts.profile } : {}),
      ec2: new EC2Client(sharedConfig(opts, region)),
      cloudwatch: new CloudWatchClient(sharedConfig(opts, region)),
      autoscaling: new AutoScalingClient(sharedConfig(opts, region)),
    })),
    // Route 53's control plane lives in us-east-1 whatever the fleet's region.
    route53: new Route53Client(sharedConfig(opts, 'us-east-1')),
    sts: new STSClient(sharedConfig(opts, first)),
  };
}

/** The region the default chain would use (AWS_REGION, the profile's `region`), or undefined. */
export async function defaultRegion(profile: string | undefined): Promise<string | undefined> {
  const probe = new EC2Client(profile ? { profile } : {});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const r of clients.regional) {
    r.ec2.destroy();
    r.cloudwatch.destroy();
    r.autoscaling.destroy();
  }
  clients.route53.destroy();
  clients.sts.destroy();
}
