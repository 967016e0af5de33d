import { CreateTagsCommand, DeleteTagsCommand } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends } from '../../../src/backends/aws/index.js';
import { LOCK_TAG } from '../../../src/backends/aws/lock.js';
import type { Backends, LockOwner } from '../../../src/backends/ports.js';
import { awsConfig, FLEET, mockAwsAccount, unreachableShell, virtualClock, WRITER_NAME, type MockedAccount } from '../../helpers/aws-fleet.js';

const alice: LockOwner = { runId: 'run-a1', owner: 'alice@bastion', startedAt: '2026-03-01T01:00:00.000Z' };
const bob: LockOwner = { runId: 'run-b2', owner: 'bob@laptop', startedAt: '2026-03-01T01:05:00.000Z' };
const LOCK_RECORD = `_nightshift-lock.${WRITER_NAME}|TXT`;

let account: MockedAccount;
let b: Backends;
beforeEach(async () => {
  account = mockAwsAccount();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock: virtualClock() });
});

describe('AWS lock as a Route 53 TXT record (cluster with a hosted zone)', () => {
  it('creates the record only if absent: a second acquire is refused naming the holder', async () => {
    expect(await b.lock.acquire({ name: 'orders' }, alice)).toEqual({ acquired: true });
    expect(account.records.get(LOCK_RECORD)?.values).toEqual(['"run-a1|alice@bastion|2026-03-01T01:00:00.000Z"']);

    expect(await b.lock.acquire({ name: 'orders' }, bob)).toEqual({ acquired: false, heldBy: alice });
    expect(await b.lock.holder({ name: 'orders' })).toEqual(alice);
    const changes = account.route53.commandCalls(ChangeResourceRecordSetsCommand);
    expect(changes.map((c) => c.args[0].input.ChangeBatch?.Changes?.map((x) => x.Action))).toEqual([['CREATE'], ['CREATE']]);
  });

  it('releases only for the run that holds it', async () => {
    await b.lock.acquire({ name: 'orders' }, alice);
    await b.lock.release({ name: 'orders' }, bob.runId);
    expect(await b.lock.holder({ name: 'orders' })).toEqual(alice);
    await b.lock.release({ name: 'orders' }, alice.runId);
    expect(await b.lock.holder({ name: 'orders' })).toBeUndefined();
    expect(await b.lock.acquire({ name: 'orders' }, bob)).toEqual({ acquired: true });
  });

  it('breaks a stale lock by run id, and refuses when another run holds it now', async () => {
    await b.lock.acquire({ name: 'orders' }, alice);
    await expect(b.lock.breakLock({ name: 'orders' }, 'run-zz')).rejects.toThrow(/held by run run-a1 \(alice@bastion.*nothing was broken/);
    await b.lock.breakLock({ name: 'orders' }, alice.runId);
    expect(await b.lock.holder({ name: 'orders' })).toBeUndefined();
  });
});

describe('AWS lock as a tag lease (cluster without a hosted zone)', () => {
  const members = FLEET.filter((n) => n.cluster === 'events').map((n) => n.id);

  it('tags every member, reads back, and refuses a second run naming the holder', async () => {
    expect(await b.lock.acquire({ name: 'events' }, alice)).toEqual({ acquired: true });
    for (const id of members) expect(account.tags.get(id)?.[LOCK_TAG]).toBe('run-a1|alice@bastion|2026-03-01T01:00:00.000Z');
    expect(account.ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input.Resources).toEqual(members);

    expect(await b.lock.acquire({ name: 'events' }, bob)).toEqual({ acquired: false, heldBy: alice });
    expect(account.ec2.commandCalls(CreateTagsCommand)).toHaveLength(1);
  });

  it('backs off when the read-back shows another writer won the race, removing only its own tags', async () => {
    // Bob's tag lands on one member between Alice's write and her read-back.
    account.ec2.on(CreateTagsCommand).callsFake((input: { Resources: string[]; Tags: Array<{ Key: string; Value: string }> }) => {
      for (const id of input.Resources) account.tags.set(id, { ...account.tags.get(id), [LOCK_TAG]: input.Tags[0]!.Value });
      account.tags.set(members[1]!, { ...account.tags.get(members[1]!), [LOCK_TAG]: 'run-b2|bob@laptop|2026-03-01T01:05:00.000Z' });
      return {};
    });

    expect(await b.lock.acquire({ name: 'events' }, alice)).toEqual({ acquired: false, heldBy: bob });
    expect(account.ec2.commandCalls(DeleteTagsCommand).flatMap((c) => c.args[0].input.Tags)).toEqual([
      { Key: LOCK_TAG, Value: 'run-a1|alice@bastion|2026-03-01T01:00:00.000Z' },
      { Key: LOCK_TAG, Value: 'run-a1|alice@bastion|2026-03-01T01:00:00.000Z' },
    ]);
    expect(members.map((id) => account.tags.get(id)?.[LOCK_TAG])).toEqual([undefined, 'run-b2|bob@laptop|2026-03-01T01:05:00.000Z', undefined]);
  });

  it('releases its own lease', async () => {
    await b.lock.acquire({ name: 'events' }, alice);
    await b.lock.release({ name: 'events' }, alice.runId);
    expect(await b.lock.holder({ name: 'events' })).toBeUndefined();
  });
});
