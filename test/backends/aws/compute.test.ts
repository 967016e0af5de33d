// The EC2 half of a rebuild against a mocked EC2: a launch by client token
// that returns pending at once, instances found by tag, the wait through
// the status checks, and termination. Fencing is in fence.test.ts.

import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance as Ec2Instance,
  type InstanceStatus,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../../src/backends/aws/index.js';
import { SPARE_TAG } from '../../../src/domain/types.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
let b: AwsBackends;
let clock: ReturnType<typeof virtualClock>;
beforeEach(async () => {
  account = mockAwsAccount();
  clock = virtualClock();
  b = await createAwsBackends(awsConfig({ clusters: { orders: { subnets: ['subnet-a', 'subnet-b'] } } }), { shell: unreachableShell, clock });
});

function ec2Error(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId: `req-${name}` } });
}
const throttled = () => ec2Error('RequestLimitExceeded', 'Request limit exceeded.');

const NEW = { ...FLEET[1]!, id: 'i-0new0000000000001', name: 'orders-rebuild-1', ip: '127.0.1.9', role: undefined };
const REBUILD_TAGS = { 'nightshift:cluster': 'orders', [SPARE_TAG]: 'true', 'nightshift:rebuild': 'r1', Name: 'orders-rebuild-1' };

function launched(state: string, extra: Partial<Ec2Instance> = {}): Ec2Instance {
  return {
    ...ec2Instance(NEW),
    Tags: Object.entries(REBUILD_TAGS).map(([Key, Value]) => ({ Key, Value })),
    State: { Name: state as never },
    ...extra,
  };
}

function status(instance: string, system: string, inst: string): InstanceStatus {
  return { InstanceId: NEW.id, SystemStatus: { Status: system as never }, InstanceStatus: { Status: inst as never }, InstanceState: { Name: instance as never } };
}

describe('compute.launch', () => {
  /** EC2's side of a client token: one instance per token, a second ask with other parameters refused. */
  function tokenedEc2(opts: { loseFirstAnswer?: boolean } = {}) {
    const byToken = new Map<string, string>();
    let made = 0;
    let calls = 0;
    account.ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      calls += 1;
      const key = JSON.stringify({ ...input, ClientToken: undefined });
      const known = input.ClientToken ? byToken.get(input.ClientToken) : undefined;
      if (known !== undefined && known !== key) throw ec2Error('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
      if (known === undefined) made += 1;
      if (input.ClientToken) byToken.set(input.ClientToken, key);
      if (opts.loseFirstAnswer && calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      // A retry answers with the instance the first call launched, in the state it is in by now.
      return { Instances: [launched(calls === 1 ? 'pending' : 'running')] };
    });
    return { made: () => made };
  }

  it('sends the client token, the given subnet and the tags, returns pending, and a retry after a lost answer gets the same instance', async () => {
    const ec2 = tokenedEc2({ loseFirstAnswer: true });
    const spec = { launchTemplate: 'lt-0abc', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-z', clientToken: 'nightshift-r1-launch' };

    await expect(b.compute!.launch(spec)).rejects.toMatchObject({ kind: 'network' });
    const inst = await b.compute!.launch(spec);

    expect(ec2.made()).toBe(1);
    expect(inst).toMatchObject({ id: NEW.id, name: 'orders-rebuild-1', privateIp: '127.0.1.9', tags: REBUILD_TAGS });
    const inputs = account.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toEqual(inputs[1]);
    expect(inputs[1]).toEqual({
      LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '$Default' },
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-z',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(REBUILD_TAGS).map(([Key, Value]) => ({ Key, Value })) },
        { ResourceType: 'volume', Tags: Object.entries(REBUILD_TAGS).map(([Key, Value]) => ({ Key, Value })) },
      ],
      ClientToken: 'nightshift-r1-launch',
    });
    // A subnet given is used as is: no lookup of the cluster's subnets.
    expect(account.ec2.commandCalls(DescribeSubnetsCommand)).toHaveLength(0);
  });

  it('returns pending at once, with the tags asked for when the answer leaves them out', async () => {
    account.ec2.on(RunInstancesCommand).resolves({ Instances: [launched('pending', { Tags: undefined })] });

    const inst = await b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-b' });

    expect(inst).toMatchObject({ id: NEW.id, state: 'pending', statusChecks: 'unknown', tags: REBUILD_TAGS, name: 'orders-rebuild-1' });
    expect(account.ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('places the instance by AZ when the cluster has no subnets configured', async () => {
    account.ec2.on(RunInstancesCommand).resolves({ Instances: [launched('pending')] });

    await b.compute!.launch({ launchTemplate: 'events-db', az: 'us-east-1c', tags: { 'nightshift:cluster': 'events' } });

    const input = account.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input.Placement).toEqual({ AvailabilityZone: 'us-east-1c' });
    expect(input.SubnetId).toBeUndefined();
    expect(input.ClientToken).toBeUndefined();
  });

  it('refuses a token reused with other parameters, saying how to find the first instance', async () => {
    tokenedEc2();
    await b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-b', clientToken: 'tok' });

    const err = await b.compute!
      .launch({ launchTemplate: 'orders-db', az: 'us-east-1a', tags: REBUILD_TAGS, subnetId: 'subnet-a', clientToken: 'tok' })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'IdempotentParameterMismatch', kind: 'conflict' });
    expect((err as Error).message).toBe(
      'launching from orders-db in us-east-1a: EC2 already launched for client token tok with other parameters (template, AZ, subnet or tags differ), so it launched nothing: find that instance by its tags (nightshift:cluster=orders, nightshift:spare=true, nightshift:rebuild=r1, Name=orders-rebuild-1) and reuse or terminate it, or start a new run',
    );
  });

  it('refuses a launch without the cluster tag, which the IAM policy requires on the instance and its volumes, before sending anything', async () => {
    const { 'nightshift:cluster': _cluster, ...untagged } = REBUILD_TAGS;
    await expect(b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: untagged, subnetId: 'subnet-b' })).rejects.toThrow(
      "launching from orders-db in us-east-1b: the launch's tags (nightshift:spare, nightshift:rebuild, Name) lack the cluster tag nightshift:cluster (discovery.clusterTag), which the new instance and its volumes must carry",
    );
    expect(account.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('tags the instance and its volumes with the configured cluster tag', async () => {
    b = await createAwsBackends(awsConfig({ discovery: { clusterTag: 'db-cluster' }, clusters: { orders: { subnets: ['subnet-b'] } } }), { shell: unreachableShell, clock });
    account.ec2.on(RunInstancesCommand).resolves({ Instances: [launched('pending')] });
    await expect(b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-b' })).rejects.toThrow('lack the cluster tag db-cluster');
    await b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: { 'db-cluster': 'orders' }, subnetId: 'subnet-b' });
    expect(account.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: [{ Key: 'db-cluster', Value: 'orders' }] },
      { ResourceType: 'volume', Tags: [{ Key: 'db-cluster', Value: 'orders' }] },
    ]);
  });

  it('refuses a client token EC2 would refuse before sending anything', async () => {
    const spec = { launchTemplate: 'orders-db', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-b', clientToken: 'r'.repeat(65) };
    await expect(b.compute!.launch(spec)).rejects.toThrow(`launching from orders-db in us-east-1b: client token "${'r'.repeat(65)}" is not 1 to 64`);
    expect(account.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    // 64 is allowed.
    account.ec2.on(RunInstancesCommand).resolves({ Instances: [launched('pending')] });
    await b.compute!.launch({ ...spec, clientToken: 'r'.repeat(64) });
    expect(account.ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });

  it('rides out throttling: one instance', async () => {
    account.ec2.on(RunInstancesCommand).rejectsOnce(throttled()).resolves({ Instances: [launched('pending')] });
    const inst = await b.compute!.launch({ launchTemplate: 'orders-db', az: 'us-east-1b', tags: REBUILD_TAGS, subnetId: 'subnet-b', clientToken: 'tok' });
    expect(inst.id).toBe(NEW.id);
    expect(account.ec2.commandCalls(RunInstancesCommand)).toHaveLength(2);
  });
});

describe('compute.find', () => {
  it('asks for every tag and every state but terminated and shutting-down, page by page, mapped as the inventory maps', async () => {
    const stopped = { ...NEW, id: 'i-0new0000000000002', name: 'orders-rebuild-2', ip: '127.0.1.10' };
    account.ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [launched('running')] }], NextToken: 'p2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ ...ec2Instance(stopped), State: { Name: 'stopped' } }] }] });
    account.ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [status('running', 'ok', 'initializing')] });

    const found = await b.compute!.find({ 'nightshift:rebuild': 'r1' });

    expect(found.map((i) => [i.id, i.state, i.statusChecks])).toEqual([
      [NEW.id, 'running', 'initializing'],
      [stopped.id, 'stopped', 'unknown'],
    ]);
    expect(found[0]).toMatchObject({ name: 'orders-rebuild-1', privateIp: '127.0.1.9', az: NEW.az, tags: REBUILD_TAGS });
    const inputs = account.ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      {
        Filters: [
          { Name: 'tag:nightshift:rebuild', Values: ['r1'] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
        MaxResults: 1000,
        NextToken: undefined,
      },
      expect.objectContaining({ NextToken: 'p2' }),
    ]);
    // Status checks only for what runs, by id.
    expect(account.ec2.commandCalls(DescribeInstanceStatusCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([[NEW.id]]);
  });

  it('refuses an empty tag filter', async () => {
    await expect(b.compute!.find({})).rejects.toThrow('finding instances needs at least one tag');
  });
});

describe('compute.waitReady', () => {
  it('reports pending, running with its checks, and returns once both checks are ok', async () => {
    account.ec2
      .on(DescribeInstancesCommand)
      .rejectsOnce(ec2Error('InvalidInstanceID.NotFound', `The instance ID '${NEW.id}' does not exist`))
      .resolvesOnce({ Reservations: [{ Instances: [launched('pending')] }] })
      .resolves({ Reservations: [{ Instances: [launched('running')] }] });
    account.ec2
      .on(DescribeInstanceStatusCommand)
      .resolvesOnce({ InstanceStatuses: [] })
      .resolvesOnce({ InstanceStatuses: [status('running', 'initializing', 'initializing')] })
      .rejectsOnce(throttled())
      .resolves({ InstanceStatuses: [status('running', 'ok', 'ok')] });
    const seen: string[] = [];

    const inst = await b.compute!.waitReady(NEW.id, { onProgress: (s) => seen.push(s) });

    expect(inst).toMatchObject({ id: NEW.id, state: 'running', statusChecks: 'ok', privateIp: '127.0.1.9' });
    expect(seen).toEqual(['pending', 'running, status checks initializing', 'running, status checks ok']);
    expect(account.ec2.commandCalls(DescribeInstanceStatusCommand)[0]!.args[0].input).toEqual({ InstanceIds: [NEW.id], NextToken: undefined });
  });

  it('rejects an instance that stopped or terminated instead of running, with EC2\'s reason', async () => {
    account.ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [launched('terminated', { StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' } })] }],
    });

    await expect(b.compute!.waitReady(NEW.id)).rejects.toMatchObject({
      code: 'InstanceNotRunning',
      message: `${NEW.id} is terminated (Server.InsufficientInstanceCapacity: Insufficient capacity.) and will not become ready: terminate it and launch another (check the launch template and the account's limits first)`,
    });
  });

  it('waits through a brief impaired check, and gives up on one that stays impaired', async () => {
    account.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [launched('running')] }] });
    account.ec2
      .on(DescribeInstanceStatusCommand)
      .resolvesOnce({ InstanceStatuses: [status('running', 'ok', 'impaired')] })
      .resolves({ InstanceStatuses: [status('running', 'ok', 'ok')] });
    await expect(b.compute!.waitReady(NEW.id)).resolves.toMatchObject({ statusChecks: 'ok' });

    account.ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [status('running', 'ok', 'impaired')] });
    const t0 = clock.now();
    await expect(b.compute!.waitReady(NEW.id)).rejects.toMatchObject({ code: 'InstanceImpaired' });
    expect(clock.now() - t0).toBe(5 * 60_000);
  });

  it('is bounded, and stops at once when aborted', async () => {
    account.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [launched('pending')] }] });
    await expect(b.compute!.waitReady(NEW.id)).rejects.toMatchObject({ kind: 'timeout' });

    const controller = new AbortController();
    controller.abort();
    await expect(b.compute!.waitReady(NEW.id, { signal: controller.signal })).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('compute.terminate', () => {
  it('terminates by id, rides out throttling, and is done when the instance is gone', async () => {
    account.ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(throttled())
      .resolvesOnce({ TerminatingInstances: [{ InstanceId: NEW.id, CurrentState: { Name: 'shutting-down' } }] })
      .rejects(ec2Error('InvalidInstanceID.NotFound', `The instance ID '${NEW.id}' does not exist`));

    await b.compute!.terminate(NEW.id);
    await b.compute!.terminate(NEW.id);

    expect(account.ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: [NEW.id] },
      { InstanceIds: [NEW.id] },
      { InstanceIds: [NEW.id] },
    ]);
  });

  it('passes on any other refusal', async () => {
    account.ec2.on(TerminateInstancesCommand).rejects(ec2Error('OperationNotPermitted', 'The instance may not be terminated. Modify its disableApiTermination instance attribute and try again.'));
    await expect(b.compute!.terminate(NEW.id)).rejects.toMatchObject({ code: 'OperationNotPermitted' });
  });
});

describe('two regions', () => {
  it('finds in every region, and follows and terminates each instance through its own region\'s client', async () => {
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    // One mock per client instance (mocking an instance lifts the class-level mock, so both are mocked here).
    const east = mockClient(clients.regional[0]!.ec2);
    const west = mockClient(clients.regional[1]!.ec2);
    east.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    west.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [launched('running', { Placement: { AvailabilityZone: 'us-west-2a' } })] }] });
    west.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [status('running', 'ok', 'ok')] });
    west.on(TerminateInstancesCommand).resolves({});
    const two = await createAwsBackends(awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } }), { shell: unreachableShell, clock, clients });

    const found = await two.compute!.find({ 'nightshift:rebuild': 'r1' });
    expect(found.map((i) => [i.id, i.az])).toEqual([[NEW.id, 'us-west-2a']]);
    await expect(two.compute!.waitReady(NEW.id)).resolves.toMatchObject({ statusChecks: 'ok' });
    await two.compute!.terminate(NEW.id);

    expect(east.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
    expect(east.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(west.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });
});
