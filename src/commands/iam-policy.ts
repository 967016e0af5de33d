// `nightshift iam-policy [--feature view|repair|...]`: the least-privilege IAM
// policy for what the operator means to do, derived from the table of AWS
// actions each port method calls. Never loads the AWS SDK.

import type { Command } from 'commander';
import { FEATURE_NAMES, policyFor, type Feature } from '../backends/aws/iam-actions.js';
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
    .action(async (opts: { feature?: string[] }) => {
      const features = parseFeatures(opts.feature ?? ['view']);
      const config = await ctx.loadConfig();
      const zones = Object.values(config.clusters).flatMap((c) => (c.writerDns ? [c.writerDns.zoneId] : []));
      ctx.io.stdout.write(`${JSON.stringify(policyFor(features, zones), null, 2)}\n`);
      if (zones.length === 0) {
        ctx.io.stderr.write(
          'note: no clusters.<name>.writerDns configured, so Route 53 is left out; the DNS swap and the TXT-record lock need it\n',
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
