// `nightshift iam-policy [--feature view|repair|...] [--account ID]`: the
// least-privilege IAM policy for what the operator means to do, derived from
// the table of AWS actions each port method calls and scoped by the config
// (cluster tag, groups, writer records, fence groups, instance roles).
// Never loads the AWS SDK.

import type { Command } from 'commander';
import { FEATURE_NAMES, MANAGED_POLICY_MAX_CHARS, policyFor, policySize, scopeOf, type Feature } from '../backends/aws/iam-actions.js';
import { UsageError } from '../errors.js';
import type { RegisterCommand } from './types.js';

export const register: RegisterCommand = (program: Command, ctx) => {
  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy JSON for the chosen features (default: the read-only view)')
    .option(
      '--feature <name...>',
      `${FEATURE_NAMES.join(' | ')} | all; repeat or list several (runbooks include what the view needs)`,
    )
    .option('--account <id>', 'the 12-digit AWS account id to put in the ARNs (default *: any account the key is used in)')
    .action(async (opts: { feature?: string[]; account?: string }) => {
      const features = parseFeatures(opts.feature ?? ['view']);
      const account = parseAccount(opts.account);
      const config = await ctx.loadConfig();
      const { policy, notes } = policyFor(features, scopeOf(config, account));
      ctx.io.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
      for (const note of notes) ctx.io.stderr.write(`note: ${note}\n`);
      const size = policySize(policy);
      if (size > MANAGED_POLICY_MAX_CHARS) {
        ctx.io.stderr.write(
          `note: this policy is ${size} characters without whitespace, over IAM's ${MANAGED_POLICY_MAX_CHARS} for a managed policy: print one per --feature, or give aws.regions fewer regions\n`,
        );
      }
    });
};

export function parseFeatures(raw: string[]): Feature[] {
  const names = raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...FEATURE_NAMES];
  const unknown = names.filter((n) => !(FEATURE_NAMES as string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown feature ${unknown.join(', ')}: choose from ${FEATURE_NAMES.join(', ')}, all`);
  }
  return [...new Set(names)] as Feature[];
}

export function parseAccount(raw: string | undefined): string {
  if (raw === undefined || raw === '*') return '*';
  const id = raw.trim();
  if (!/^\d{12}$/.test(id)) {
    throw new UsageError(
      `--account ${raw}: an AWS account id is 12 digits, e.g. --account 123456789012 (\`aws sts get-caller-identity --query Account\` prints yours), or leave it out for *`,
    );
  }
  return id;
}
