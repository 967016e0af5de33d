// Fencing on AWS (failover): stop the old master, or isolate it in a security
// group that lets nothing in, and tell whether it is fenced, against
// aws-sdk-client-mock with EC2's answers (states, interfaces, errors).

import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsError, createAwsBackends, type AwsBackends } from '../../../src/backends/aws/index.js';
import { isFenced, type Compute } from '../../../src/backends/ports.js';
import { awsConfig, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';
import { awsServiceError, DB_SG, FENCE_SG, mockNetwork, VPC, type MockNetwork } from './network-mock.js';

const MASTER = FLEET[0]!.id;

let account: MockedAccount;
let net: MockNetwork;
let b: AwsBackends;
let compute: Compute;
let clock: ReturnType<typeof virtualClock>;
beforeEach(async () => {
  account = mockAwsAccount();
  net = mockNetwork(account);
  clock = virtualClock();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
  compute = b.compute!;
  await b.accountId();
  account.resetHistory();
});

const throttled = () => awsServiceError('RequestLimitExceeded', 'Request limit exceeded.', 'req-throttled');
const denied = () => awsServiceError('UnauthorizedOperation', 'You are not authorized to perform this operation. Encoded authorization failure message: AbC');

/** StopInstances moves the instance to stopping, and `polls` DescribeInstances later it is stopped. */
function stopsAfter(polls: number) {
  account.ec2.on(StopInstancesCommand).callsFake(stopping(polls));
}

function stopping(polls: number) {
  return () => {
    net.states.set(MASTER, 'stopping');
    let seen = 0;
    account.ec2.on(DescribeInstancesCommand).callsFake(() => {
      seen++;
      if (seen >= polls) net.states.set(MASTER, 'stopped');
      return describeNow();
    });
    return { StoppingInstances: [{ InstanceId: MASTER, CurrentState: { Name: 'stopping' }, PreviousState: { Name: 'running' } }] };
  };
}

function describeNow() {
  const state = net.states.get(MASTER) ?? 'running';
  return { Reservations: [{ Instances: [{ InstanceId: MASTER, State: { Name: state as never }, VpcId: VPC }] }] };
}

describe('Compute.stop (fence by stopping)', () => {
  it('stops a running instance and waits through stopping until stopped', async () => {
    stopsAfter(2);
    const before = clock.now();

    await compute.stop(MASTER);

    expect(account.ec2.commandCalls(StopInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: [MASTER] }]);
    // One look before (running), then the waiter: stopping, then stopped one poll later.
    const describes = account.ec2.commandCalls(DescribeInstancesCommand);
    expect(describes).toHaveLength(3);
    // Asking by id: never MaxResults with InstanceIds (EC2 refuses the pair).
    for (const c of describes) expect(c.args[0].input).toEqual({ InstanceIds: [MASTER] });
    expect(clock.now() - before).toBe(5_000);
    expect(net.states.get(MASTER)).toBe('stopped');
  });

  it('asks EC2 for a forced stop when told to (a hung host never finishes a clean shutdown)', async () => {
    stopsAfter(1);
    await compute.stop(MASTER, { force: true });
    expect(account.ec2.commandCalls(StopInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [MASTER], Force: true });
  });

  it.each([['stopped'], ['terminated'], ['gone']])('an instance already %s is fenced: nothing is sent, nothing awaited', async (state) => {
    net.states.set(MASTER, state);
    const before = clock.now();
    await compute.stop(MASTER);
    expect(account.ec2.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(account.ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
    expect(clock.now()).toBe(before);
  });

  it('waits for an instance already stopping without asking again, unless forcing', async () => {
    net.states.set(MASTER, 'stopping');
    account.ec2.on(DescribeInstancesCommand).callsFake(() => {
      const out = describeNow();
      net.states.set(MASTER, 'stopped');
      return out;
    });
    await compute.stop(MASTER);
    expect(account.ec2.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(net.states.get(MASTER)).toBe('stopped');

    net.states.set(MASTER, 'stopping');
    account.ec2.on(StopInstancesCommand).resolves({});
    await compute.stop(MASTER, { force: true });
    expect(account.ec2.commandCalls(StopInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [MASTER], Force: true });
  });

  it('rides out throttling of StopInstances (after the SDK gave up) with a backoff on the clock', async () => {
    account.ec2.on(StopInstancesCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).callsFake(stopping(1));
    const before = clock.now();

    await compute.stop(MASTER);

    expect(account.ec2.commandCalls(StopInstancesCommand)).toHaveLength(3);
    expect(net.states.get(MASTER)).toBe('stopped');
    // 2 s then 4 s of backoff, then one waiter poll that already sees it stopped.
    expect(clock.now() - before).toBe(6_000);
  });

  it('gives up on a StopInstances throttled for minutes, saying it was not carried out', async () => {
    account.ec2.on(StopInstancesCommand).rejects(throttled());
    const err = await compute.stop(MASTER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ kind: 'throttled', code: 'RequestLimitExceeded', action: 'ec2:StopInstances' });
    expect((err as Error).message).toMatch(
      /^AWS kept throttling ec2:StopInstances in us-east-1 \(RequestLimitExceeded\) while stopping i-0a0000000000000a1, for \d+ s: the call was not carried out; retry the step/,
    );
    expect(net.states.get(MASTER)).toBeUndefined();
  });

  it('keeps waiting when a look at the stopping instance is throttled', async () => {
    account.ec2.on(StopInstancesCommand).callsFake(() => {
      net.states.set(MASTER, 'stopping');
      account.ec2
        .on(DescribeInstancesCommand)
        .rejectsOnce(throttled())
        .callsFake(() => {
          net.states.set(MASTER, 'stopped');
          return describeNow();
        });
      return {};
    });
    await compute.stop(MASTER);
    expect(net.states.get(MASTER)).toBe('stopped');
  });

  it('access denied names what it was doing (the instance), the action, and where the policy comes from', async () => {
    account.ec2.on(StopInstancesCommand).rejects(denied());
    const err = await compute.stop(MASTER).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'denied', action: 'ec2:StopInstances', code: 'UnauthorizedOperation' });
    expect((err as Error).message).toBe(
      `stopping ${MASTER}: not allowed to call ec2:StopInstances in us-east-1 (UnauthorizedOperation): grant it to this role, or, if it has nightshift's policy, check the resource carries the tag its conditions ask for (the cluster tag on an instance or group, nightshift:managed on a volume or snapshot) — \`nightshift iam-policy\` prints the policy nightshift needs`,
    );
  });
});

describe('Compute.isolate (fence by security group)', () => {
  it('puts the one interface in the isolation group alone, checking the group first, and reads it back', async () => {
    const result = await compute.isolate(MASTER, FENCE_SG);

    expect(result).toEqual({ changed: true, before: [{ interfaceId: 'eni-00a', groups: [DB_SG] }] });
    expect(account.ec2.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input).toEqual({ GroupIds: [FENCE_SG] });
    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input)).toEqual([
      { NetworkInterfaceId: 'eni-00a', Groups: [FENCE_SG] },
    ]);
    // Never ModifyInstanceAttribute: it could also rewrite user data, and it refuses instances with several interfaces.
    expect(account.ec2.commandCalls(ModifyInstanceAttributeCommand)).toHaveLength(0);
    expect(net.interfaces.get(MASTER)).toEqual([{ id: 'eni-00a', groups: [FENCE_SG] }]);
    expect(await compute.fenceState(MASTER, { securityGroupId: FENCE_SG })).toMatchObject({ state: 'fenced', instanceState: 'running' });
  });

  it('isolates every interface of an instance with several, primary first, skipping one already isolated', async () => {
    net.interfaces.set(MASTER, [
      { id: 'eni-primary', groups: [DB_SG, 'sg-0ssh'] },
      { id: 'eni-second', groups: [FENCE_SG] },
      { id: 'eni-third', groups: ['sg-0repl'] },
    ]);

    const result = await compute.isolate(MASTER, FENCE_SG);

    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input.NetworkInterfaceId)).toEqual([
      'eni-primary',
      'eni-third',
    ]);
    expect(result.before).toEqual([
      { interfaceId: 'eni-primary', groups: [DB_SG, 'sg-0ssh'] },
      { interfaceId: 'eni-second', groups: [FENCE_SG] },
      { interfaceId: 'eni-third', groups: ['sg-0repl'] },
    ]);
    expect([...net.interfaces.get(MASTER)!.map((e) => e.groups)]).toEqual([[FENCE_SG], [FENCE_SG], [FENCE_SG]]);
  });

  it('is done already when every interface is in the isolation group alone: nothing changed', async () => {
    net.interfaces.set(MASTER, [{ id: 'eni-00a', groups: [FENCE_SG] }]);
    expect(await compute.isolate(MASTER, FENCE_SG)).toEqual({ changed: false, before: [{ interfaceId: 'eni-00a', groups: [FENCE_SG] }] });
    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });

  it('does not take "already in the group alone" for a fence when the group lets traffic in (a slip in the config)', async () => {
    // The instance is in its own database group alone, and the config names that group as the fence.
    await expect(compute.isolate(MASTER, DB_SG)).rejects.toThrow(/the isolation group sg-0db lets traffic in \(tcp 3306 from sg-0app\)/);
    expect(await compute.fenceState(MASTER, { securityGroupId: DB_SG })).toMatchObject({
      state: 'open',
      detail: expect.stringMatching(/is running, in sg-0db alone, but the isolation group sg-0db lets traffic in/),
    });
  });

  it('does not count an interface in the isolation group and another group as isolated', async () => {
    net.interfaces.set(MASTER, [{ id: 'eni-00a', groups: [FENCE_SG, DB_SG] }]);
    expect(await compute.fenceState(MASTER, { securityGroupId: FENCE_SG })).toMatchObject({ state: 'open' });
    expect((await compute.isolate(MASTER, FENCE_SG)).changed).toBe(true);
    expect(net.interfaces.get(MASTER)).toEqual([{ id: 'eni-00a', groups: [FENCE_SG] }]);
  });

  it('refuses an isolation group that lets traffic in, naming its rules, and changes nothing', async () => {
    net.groups.set('sg-0leaky', { vpc: VPC, inbound: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: 'sg-0app' }] }, { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] });
    const err = await compute.isolate(MASTER, 'sg-0leaky').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect((err as Error).message).toBe(
      `the isolation group sg-0leaky lets traffic in (tcp 3306 from sg-0app; all traffic from 10.0.0.0/8), so ${MASTER} would not be fenced: remove its inbound rules, or set clusters.<name>.fence.securityGroup to a group that has none`,
    );
    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });

  it('refuses a group of another VPC, and a group that does not exist, with the setting to fix', async () => {
    net.groups.set('sg-0elsewhere', { vpc: 'vpc-0other', inbound: [] });
    await expect(compute.isolate(MASTER, 'sg-0elsewhere')).rejects.toThrow(
      `the isolation group sg-0elsewhere is in vpc-0other but ${MASTER} is in ${VPC}, and an instance can only take groups of its own VPC: set clusters.<name>.fence.securityGroup to a group of ${VPC} that allows nothing in`,
    );
    await expect(compute.isolate(MASTER, 'sg-0nope')).rejects.toMatchObject({
      kind: 'not-found',
      message: `the isolation group sg-0nope does not exist in us-east-1: set clusters.<name>.fence.securityGroup to a group of ${VPC} that allows nothing in`,
    });
    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });

  it('access denied names the instance, the interface and the action', async () => {
    account.ec2.on(ModifyNetworkInterfaceAttributeCommand).rejects(denied());
    await expect(compute.isolate(MASTER, FENCE_SG)).rejects.toMatchObject({
      kind: 'denied',
      action: 'ec2:ModifyNetworkInterfaceAttribute',
      message: `isolating ${MASTER}: interface eni-00a into ${FENCE_SG} alone: not allowed to call ec2:ModifyNetworkInterfaceAttribute in us-east-1 (UnauthorizedOperation): grant it to this role, or, if it has nightshift's policy, check the resource carries the tag its conditions ask for (the cluster tag on an instance or group, nightshift:managed on a volume or snapshot) — \`nightshift iam-policy\` prints the policy nightshift needs`,
    });
  });

  it('fails, saying what EC2 still shows, when the change never reads back', async () => {
    account.ec2.on(ModifyNetworkInterfaceAttributeCommand).resolves({}); // accepted, but nothing changes
    const err = await compute.isolate(MASTER, FENCE_SG).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', code: 'IsolationNotVisible' });
    expect((err as Error).message).toMatch(new RegExp(`^isolated ${MASTER} but EC2 still shows eni-00a in ${DB_SG} after 60 s: check`));
  });

  it('leaves a terminated instance alone: it has no interface left and can never come back', async () => {
    net.states.set(MASTER, 'terminated');
    expect(await compute.isolate(MASTER, FENCE_SG)).toEqual({ changed: false, before: [] });
    expect(account.ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });
});

describe('Compute.fenceState', () => {
  it.each([
    ['stopped', 'fenced'],
    ['terminated', 'fenced'],
    ['gone', 'fenced'],
    ['stopping', 'fencing'],
    ['shutting-down', 'fencing'],
    ['running', 'open'],
    ['pending', 'open'],
  ])('an instance %s is %s', async (instanceState, state) => {
    net.states.set(MASTER, instanceState);
    const got = await compute.fenceState(MASTER, { securityGroupId: FENCE_SG });
    expect(got).toMatchObject({ state, instanceState });
    expect(await isFenced(compute, MASTER, { securityGroupId: FENCE_SG })).toBe(state === 'fenced');
  });

  it('counts isolation only for the group asked about', async () => {
    net.interfaces.set(MASTER, [{ id: 'eni-00a', groups: [FENCE_SG] }]);
    expect(await compute.fenceState(MASTER, { securityGroupId: FENCE_SG })).toEqual({
      state: 'fenced',
      instanceState: 'running',
      groups: [{ interfaceId: 'eni-00a', groups: [FENCE_SG] }],
      detail: `${MASTER} is running, isolated in ${FENCE_SG} (eni-00a)`,
    });
    expect(await compute.fenceState(MASTER)).toMatchObject({ state: 'open', detail: `${MASTER} is running, eni-00a in ${FENCE_SG}` });
    expect(await compute.fenceState(MASTER, { securityGroupId: 'sg-0other' })).toMatchObject({ state: 'open' });
  });
});

describe('the fenced tag', () => {
  it('is set on a stopped instance with CreateTags, throttling ridden out', async () => {
    net.states.set(MASTER, 'stopped');
    account.ec2.on(CreateTagsCommand).rejectsOnce(throttled()).resolves({});
    await b.inventory.setTags(MASTER, { 'nightshift:fenced': 'run-7' });
    const calls = account.ec2.commandCalls(CreateTagsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input).toEqual({ Resources: [MASTER], Tags: [{ Key: 'nightshift:fenced', Value: 'run-7' }] });
  });
});
