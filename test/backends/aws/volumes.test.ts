// The EBS half of a rebuild against a mocked EC2: volumes made by client
// token and found again by tag, snapshots started, followed, found and
// removed. Requests are checked exactly: they are what AWS is asked to do.

import {
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type CreateVolumeCommandInput,
  type Snapshot as Ec2Snapshot,
  type Volume as Ec2Volume,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../../src/backends/aws/index.js';
import { awsConfig, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
let b: AwsBackends;
let clock: ReturnType<typeof virtualClock>;
beforeEach(async () => {
  account = mockAwsAccount();
  clock = virtualClock();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
});

/** An error as the SDK throws it for an EC2 error code. */
function ec2Error(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId: `req-${name}` } });
}
const throttled = () => ec2Error('RequestLimitExceeded', 'Request limit exceeded.');

const TAGS = { 'nightshift:rebuild': 'r1', 'nightshift:cluster': 'orders' };

function vol(id: string, State: Ec2Volume['State'], extra: Partial<Ec2Volume> = {}): Ec2Volume {
  return {
    VolumeId: id,
    AvailabilityZone: 'us-east-1a',
    Size: 200,
    State,
    Attachments: [],
    Tags: Object.entries(TAGS).map(([Key, Value]) => ({ Key, Value })),
    ...extra,
  };
}

function snap(id: string, State: Ec2Snapshot['State'], Progress: string, extra: Partial<Ec2Snapshot> = {}): Ec2Snapshot {
  return { SnapshotId: id, VolumeId: 'vol-src', State, Progress, ...extra };
}

describe('volumes.create', () => {
  /** EC2's side of a client token: one volume per token, a second ask with other parameters refused. */
  function tokenedEc2(opts: { loseFirstAnswer?: boolean } = {}) {
    const byToken = new Map<string, { id: string; input: string }>();
    let made = 0;
    let calls = 0;
    account.ec2.on(CreateVolumeCommand).callsFake((input: CreateVolumeCommandInput) => {
      calls += 1;
      const key = JSON.stringify({ ...input, ClientToken: undefined });
      const known = input.ClientToken ? byToken.get(input.ClientToken) : undefined;
      if (known && known.input !== key) {
        throw ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or the parameters differ.');
      }
      const id = known?.id ?? `vol-0${++made}`;
      if (input.ClientToken) byToken.set(input.ClientToken, { id, input: key });
      // The volume is made, but the answer never reaches nightshift (a dropped connection).
      if (opts.loseFirstAnswer && calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      return { VolumeId: id };
    });
    account.ec2.on(DescribeVolumesCommand).callsFake((input: { VolumeIds: string[] }) => ({ Volumes: [vol(input.VolumeIds[0]!, 'available')] }));
    return { made: () => made };
  }

  it('sends the client token and the tags, and a retry after a lost answer gets the same volume', async () => {
    const ec2 = tokenedEc2({ loseFirstAnswer: true });
    const spec = { az: 'us-east-1a', sizeGiB: 200, snapshotId: 'snap-1', tags: TAGS, clientToken: 'nightshift-r1-restore' };

    await expect(b.volumes!.create(spec)).rejects.toMatchObject({ kind: 'network' });
    const v = await b.volumes!.create(spec);

    expect(v).toMatchObject({ id: 'vol-01', state: 'available', tags: TAGS });
    expect(ec2.made()).toBe(1);
    const inputs = account.ec2.commandCalls(CreateVolumeCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]).toEqual({
      AvailabilityZone: 'us-east-1a',
      Size: 200,
      VolumeType: 'gp3',
      SnapshotId: 'snap-1',
      TagSpecifications: [
        {
          ResourceType: 'volume',
          Tags: [
            { Key: 'nightshift:rebuild', Value: 'r1' },
            { Key: 'nightshift:cluster', Value: 'orders' },
            { Key: 'nightshift:managed', Value: 'true' },
          ],
        },
      ],
      ClientToken: 'nightshift-r1-restore',
    });
    expect(inputs[0]).toEqual(inputs[1]);
  });

  it('refuses a token reused with other parameters, saying where the first volume is', async () => {
    tokenedEc2();
    await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 200, tags: TAGS, clientToken: 'tok-1' });

    const err = await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 300, tags: TAGS, clientToken: 'tok-1' }).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'IdempotentParameterMismatch', kind: 'conflict' });
    expect((err as Error).message).toBe(
      'creating a 300 GiB volume in us-east-1a: EC2 already made a volume for client token tok-1 with other parameters (size, AZ, snapshot or tags differ), so it made none: find that volume by its tags (nightshift:rebuild=r1, nightshift:cluster=orders) and reuse or delete it, or start a new run',
    );
  });

  it('refuses a client token EC2 would refuse before sending anything', async () => {
    await expect(b.volumes!.create({ az: 'us-east-1a', sizeGiB: 200, clientToken: 'x'.repeat(65) })).rejects.toThrow(
      'is not 1 to 64 printable ASCII characters, as EC2 requires: derive a shorter one from the run id',
    );
    await expect(b.volumes!.create({ az: 'us-east-1a', sizeGiB: 200, clientToken: 'run-é' })).rejects.toThrow('printable ASCII');
    expect(account.ec2.commandCalls(CreateVolumeCommand)).toHaveLength(0);
  });

  it('returns a volume the token already made and an earlier attempt attached, instead of waiting for available', async () => {
    account.ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-7' });
    account.ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [vol('vol-7', 'in-use', { Attachments: [{ InstanceId: 'i-new', Device: '/dev/sdg', State: 'attached' }] })],
    });

    const v = await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 200, clientToken: 'tok-1' });

    expect(v).toMatchObject({ id: 'vol-7', state: 'in-use', attachedTo: { instanceId: 'i-new', device: '/dev/sdg' } });
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(1);
  });

  it('rides out throttling of the create, then waits through creating', async () => {
    account.ec2.on(CreateVolumeCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ VolumeId: 'vol-3' });
    account.ec2
      .on(DescribeVolumesCommand)
      .rejectsOnce(ec2Error('InvalidVolume.NotFound', "The volume 'vol-3' does not exist."))
      .resolvesOnce({ Volumes: [vol('vol-3', 'creating')] })
      .resolves({ Volumes: [vol('vol-3', 'available')] });

    const v = await b.volumes!.create({ az: 'us-east-1a', sizeGiB: 200, clientToken: 'tok-3' });

    expect(v.id).toBe('vol-3');
    expect(account.ec2.commandCalls(CreateVolumeCommand)).toHaveLength(3);
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(3);
  });
});

describe('volumes.find', () => {
  it('asks for every tag and the live states, page by page, leaving out a volume being deleted', async () => {
    account.ec2
      .on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [vol('vol-2', 'in-use'), vol('vol-9', 'deleting')], NextToken: 'p2' })
      .resolvesOnce({ Volumes: [vol('vol-1', 'available')] });

    const found = await b.volumes!.find(TAGS);

    expect(found.map((v) => [v.id, v.state])).toEqual([
      ['vol-1', 'available'],
      ['vol-2', 'in-use'],
    ]);
    const inputs = account.ec2.commandCalls(DescribeVolumesCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      {
        Filters: [
          { Name: 'tag:nightshift:rebuild', Values: ['r1'] },
          { Name: 'tag:nightshift:cluster', Values: ['orders'] },
          { Name: 'status', Values: ['creating', 'available', 'in-use', 'error'] },
        ],
        MaxResults: 500,
        NextToken: undefined,
      },
      expect.objectContaining({ NextToken: 'p2' }),
    ]);
  });

  it('refuses an empty tag filter, which would match every volume of the account', async () => {
    await expect(b.volumes!.find({})).rejects.toThrow('finding volumes needs at least one tag');
    expect(account.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(0);
  });
});

describe('volumes.waitSnapshot', () => {
  it('reports each new percent, polling every 15 s, until completed', async () => {
    account.ec2
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '')] })
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '12%')] })
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '12%')] })
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '80%')] })
      .resolves({ Snapshots: [snap('snap-9', 'completed', '100%', { Tags: [{ Key: 'nightshift:rebuild', Value: 'r1' }] })] });
    const seen: number[] = [];
    const t0 = clock.now();

    const done = await b.volumes!.waitSnapshot('snap-9', { onProgress: (p) => seen.push(p) });

    expect(done).toEqual({ id: 'snap-9', volumeId: 'vol-src', state: 'completed', progressPercent: 100, tags: { 'nightshift:rebuild': 'r1' } });
    expect(seen).toEqual([0, 12, 80, 100]);
    expect(clock.now() - t0).toBe(4 * 15_000);
    expect(account.ec2.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({ SnapshotIds: ['snap-9'] });
  });

  it('rejects a failed snapshot with the reason EC2 gives', async () => {
    account.ec2
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '30%')] })
      .resolves({ Snapshots: [snap('snap-9', 'error', '30%', { StateMessage: 'Internal error while copying blocks' })] });

    await expect(b.volumes!.waitSnapshot('snap-9')).rejects.toMatchObject({
      code: 'SnapshotFailed',
      message: 'snapshot snap-9 of vol-src failed: Internal error while copying blocks; delete it and take it again',
    });
  });

  it('rides out throttled reads and still completes', async () => {
    account.ec2
      .on(DescribeSnapshotsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ Snapshots: [snap('snap-9', 'completed', '100%')] });

    await expect(b.volumes!.waitSnapshot('snap-9')).resolves.toMatchObject({ state: 'completed' });
    expect(account.ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(3);
  });

  it('waits out a just-started snapshot EC2 does not show yet, but not one deleted under it', async () => {
    const notFound = ec2Error('InvalidSnapshot.NotFound', "The snapshot 'snap-9' does not exist.");
    account.ec2.on(DescribeSnapshotsCommand).rejectsOnce(notFound).resolves({ Snapshots: [snap('snap-9', 'completed', '100%')] });
    await expect(b.volumes!.waitSnapshot('snap-9')).resolves.toMatchObject({ state: 'completed' });

    account.ec2.on(DescribeSnapshotsCommand).rejects(notFound);
    const t0 = clock.now();
    await expect(b.volumes!.waitSnapshot('snap-9')).rejects.toMatchObject({
      kind: 'not-found',
      message: 'snapshot snap-9 no longer exists in us-east-1 (deleted while nightshift waited for it): take a new one',
    });
    expect(clock.now() - t0).toBeLessThanOrEqual(3 * 60_000);
  });

  it('is bounded by a long limit, and stops at once when aborted', async () => {
    account.ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap('snap-9', 'pending', '3%')] });
    const t0 = clock.now();
    await expect(b.volumes!.waitSnapshot('snap-9')).rejects.toMatchObject({ kind: 'timeout' });
    expect(clock.now() - t0).toBe(12 * 60 * 60_000);

    const controller = new AbortController();
    controller.abort();
    account.ec2.resetHistory();
    await expect(b.volumes!.waitSnapshot('snap-9', { signal: controller.signal })).rejects.toMatchObject({ kind: 'aborted' });
    expect(account.ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(0);
  });
});

describe('volumes.getSnapshot and findSnapshots', () => {
  it('reads one snapshot, or undefined when EC2 no longer knows it', async () => {
    account.ec2
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [snap('snap-9', 'pending', '45%', { StartTime: new Date('2026-03-01T00:00:00Z') })] })
      .rejects(ec2Error('InvalidSnapshot.NotFound', "The snapshot 'snap-9' does not exist."));

    expect(await b.volumes!.getSnapshot('snap-9')).toEqual({
      id: 'snap-9',
      volumeId: 'vol-src',
      state: 'pending',
      progressPercent: 45,
      tags: {},
      startTime: '2026-03-01T00:00:00.000Z',
    });
    expect(await b.volumes!.getSnapshot('snap-9')).toBeUndefined();
  });

  it('finds our own snapshots by tag, page by page, oldest first', async () => {
    const at = (iso: string) => ({ StartTime: new Date(iso), Tags: [{ Key: 'nightshift:cluster', Value: 'orders' }] });
    account.ec2
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [snap('snap-new', 'completed', '100%', at('2026-03-02T00:00:00Z'))], NextToken: 'p2' })
      .resolvesOnce({ Snapshots: [snap('snap-old', 'completed', '100%', at('2026-02-01T00:00:00Z')), snap('snap-now', 'pending', '5%', at('2026-03-03T00:00:00Z'))] });

    const found = await b.volumes!.findSnapshots({ 'nightshift:cluster': 'orders' });

    expect(found.map((s) => [s.id, s.state])).toEqual([
      ['snap-old', 'completed'],
      ['snap-new', 'completed'],
      ['snap-now', 'pending'],
    ]);
    const inputs = account.ec2.commandCalls(DescribeSnapshotsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { OwnerIds: ['self'], Filters: [{ Name: 'tag:nightshift:cluster', Values: ['orders'] }], MaxResults: 1000, NextToken: undefined },
      { OwnerIds: ['self'], Filters: [{ Name: 'tag:nightshift:cluster', Values: ['orders'] }], MaxResults: 1000, NextToken: 'p2' },
    ]);
  });
});

describe('volumes.removeSnapshot and remove', () => {
  it('deletes a snapshot, is done when it is gone already, and keeps one an image uses', async () => {
    account.ec2
      .on(DeleteSnapshotCommand)
      .resolvesOnce({})
      .rejectsOnce(ec2Error('InvalidSnapshot.NotFound', "The snapshot 'snap-9' does not exist."))
      .rejects(ec2Error('InvalidSnapshot.InUse', 'The snapshot snap-9 is currently in use by ami-0abc1234'));

    await b.volumes!.removeSnapshot('snap-9');
    await b.volumes!.removeSnapshot('snap-9');
    const err = await b.volumes!.removeSnapshot('snap-9').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'InvalidSnapshot.InUse', kind: 'conflict' });
    expect((err as Error).message).toBe(
      'deleting snapshot snap-9: it is still in use (The snapshot snap-9 is currently in use by ami-0abc1234), so it was kept: deregister the image that uses it, or keep the snapshot',
    );
    expect(account.ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input)).toEqual([
      { SnapshotId: 'snap-9' },
      { SnapshotId: 'snap-9' },
      { SnapshotId: 'snap-9' },
    ]);
  });

  it('keeps a volume still attached, naming the instance and device', async () => {
    account.ec2.on(DeleteVolumeCommand).rejects(ec2Error('VolumeInUse', 'Volume vol-2 is currently attached to i-0a0000000000000a1'));
    account.ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [vol('vol-2', 'in-use', { Attachments: [{ InstanceId: 'i-0a0000000000000a1', Device: '/dev/sdf', State: 'attached' }] })],
    });

    const err = await b.volumes!.remove('vol-2').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'VolumeInUse', kind: 'conflict' });
    expect((err as Error).message).toBe(
      "deleting volume vol-2: it is still attached to i-0a0000000000000a1 as /dev/sdf, so it was kept: unmount it on the node and detach it (the runbook's detach step), then retry",
    );
  });

  it('rides out a throttled delete', async () => {
    account.ec2.on(DeleteVolumeCommand).rejectsOnce(throttled()).resolves({});
    await b.volumes!.remove('vol-2');
    expect(account.ec2.commandCalls(DeleteVolumeCommand)).toHaveLength(2);
  });
});

describe('two regions', () => {
  it('finds snapshots in every region, and follows and removes each through its own region\'s client', async () => {
    const clients = createAwsClients({ regions: ['us-east-1', 'us-west-2'], credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
    const east = mockClient(clients.regional[0]!.ec2);
    const west = mockClient(clients.regional[1]!.ec2);
    east.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    west.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap('snap-w', 'completed', '100%')] });
    west.on(DeleteSnapshotCommand).resolves({});
    const two = await createAwsBackends(awsConfig({ aws: { regions: ['us-east-1', 'us-west-2'] } }), { shell: unreachableShell, clock, clients });

    // Never seen: which region to ask cannot be guessed.
    await expect(two.volumes!.getSnapshot('snap-w')).rejects.toThrow('snapshot snap-w has not been seen in any of us-east-1, us-west-2');
    expect((await two.volumes!.findSnapshots({ 'nightshift:cluster': 'orders' })).map((s) => s.id)).toEqual(['snap-w']);
    await expect(two.volumes!.waitSnapshot('snap-w')).resolves.toMatchObject({ state: 'completed' });
    await two.volumes!.removeSnapshot('snap-w');

    expect(east.commandCalls(DescribeSnapshotsCommand)).toHaveLength(1);
    expect(east.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(west.commandCalls(DeleteSnapshotCommand)).toHaveLength(1);
  });
});
