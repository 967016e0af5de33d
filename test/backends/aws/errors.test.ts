import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsError, createAwsBackends } from '../../../src/backends/aws/index.js';
import { toAwsError } from '../../../src/backends/aws/errors.js';
import { awsConfig, mockAwsAccount, unreachableShell, type MockedAccount } from '../../helpers/aws-fleet.js';

function serviceError(name: string, message: string, requestId = 'req-123'): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId } });
}

let account: MockedAccount;
beforeEach(() => {
  account = mockAwsAccount();
});

describe('AWS errors become sentences', () => {
  it('expired credentials say which profile and the login command', async () => {
    account.ec2.on(DescribeInstancesCommand).rejects(serviceError('ExpiredToken', 'The security token included in the request is expired'));
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });

    const err = await b.inventory.discover().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AwsError);
    expect((err as AwsError).message).toBe('AWS credentials for profile prod have expired: run `aws sso login --profile prod`');
    expect(err).toMatchObject({ code: 'ExpiredToken', kind: 'credentials', requestId: 'req-123', action: 'ec2:DescribeInstances' });
  });

  it.each([
    ['ExpiredTokenException', 'The security token included in the request is expired'],
    ['CredentialsProviderError', 'The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login'],
    ['TokenProviderError', 'Token is expired. To refresh this SSO session run aws sso login'],
  ])('%s is the same sentence', (name, message) => {
    expect(toAwsError(serviceError(name, message), { action: 'ec2:DescribeInstances', profile: 'prod' }).message).toBe(
      'AWS credentials for profile prod have expired: run `aws sso login --profile prod`',
    );
  });

  it('missing credentials say how to provide them', () => {
    const err = toAwsError(serviceError('CredentialsProviderError', 'Could not load credentials from any providers'), {
      action: 'ec2:DescribeInstances',
    });
    expect(err.kind).toBe('credentials');
    expect(err.message).toMatch(/^no usable AWS credentials \(Could not load credentials from any providers\): run `aws sso login`/);
  });

  it('a missing permission names the IAM action and the way to get the policy', async () => {
    account.ec2.on(DescribeInstancesCommand).rejects(serviceError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const b = await createAwsBackends(awsConfig(), { shell: unreachableShell });
    await expect(b.inventory.discover()).rejects.toThrow(
      'listing instances: not allowed to call ec2:DescribeInstances in us-east-1 (UnauthorizedOperation): grant it to this role — `nightshift iam-policy` prints the policy nightshift needs',
    );
  });

  it('an unexpected error keeps its name and message', () => {
    const err = toAwsError(serviceError('InternalError', 'boom'), { action: 'ec2:CreateVolume', region: 'us-east-1', doing: 'creating a volume' });
    expect(err).toMatchObject({ kind: 'other', message: 'creating a volume in us-east-1 failed: InternalError: boom' });
  });
});
