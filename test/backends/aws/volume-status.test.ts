// EBS volume status checks on AWS: DescribeVolumeStatus filtered server-side
// to the volumes that are not ok, read beside discovery (never ahead of it,
// at most once a minute, a failed read keeping the last answer a while),
// mapped to instances by their attachments and named by their devices.

import { DescribeInstancesCommand, DescribeVolumeStatusCommand, type DescribeVolumeStatusCommandOutput, type VolumeStatusItem } from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsBackends, type AwsBackends } from '../../../src/backends/aws/index.js';
import type { AwsInventory } from '../../../src/backends/aws/inventory.js';
import { toVolumeHealth } from '../../../src/backends/aws/volume-status.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { awsConfig, ec2Instance, FLEET, mockAwsAccount, unreachableShell, virtualClock, type MockedAccount } from '../../helpers/aws-fleet.js';

const DB3 = FLEET.find((n) => n.name === 'orders-db-3')!;
const CASS2 = FLEET.find((n) => n.name === 'events-cass-2')!;
const DATA_VOLUME = 'vol-0d0000000000000a3';

let account: MockedAccount;
let clock: ReturnType<typeof virtualClock>;
let b: AwsBackends;
let inventory: AwsInventory;

/** As EC2 reports a volume whose I/O has stalled. */
function stalled(volumeId: string, instanceId: string, over: Partial<VolumeStatusItem> = {}): VolumeStatusItem {
  return {
    VolumeId: volumeId,
    AvailabilityZone: 'us-east-1c',
    VolumeStatus: {
      Status: 'impaired',
      Details: [
        { Name: 'io-enabled', Status: 'passed' },
        { Name: 'io-performance', Status: 'severely-degraded' },
      ],
    },
    Events: [{ EventType: 'io-performance:severely-degraded', Description: 'I/O performance stalled', EventId: 'evol-1', NotBefore: new Date('2026-03-01T00:48:00Z') }],
    AttachmentStatuses: [{ InstanceId: instanceId, IoPerformance: 'stalled' }],
    Actions: [],
    ...over,
  };
}

const statusCalls = () => account.ec2.commandCalls(DescribeVolumeStatusCommand);

beforeEach(async () => {
  account = mockAwsAccount();
  // The instances name their volumes' devices, as EC2 does.
  account.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const wanted = input.InstanceIds ? FLEET.filter((n) => input.InstanceIds!.includes(n.id)) : FLEET;
    return {
      Reservations: [
        {
          Instances: wanted.map((n) => ({
            ...ec2Instance(n),
            BlockDeviceMappings: [
              { DeviceName: '/dev/xvda', Ebs: { VolumeId: `vol-0r${n.id.slice(4)}` } },
              { DeviceName: '/dev/sdf', Ebs: { VolumeId: `vol-0d${n.id.slice(4)}` } },
            ],
          })),
        },
      ],
    };
  });
  account.ec2.on(DescribeVolumeStatusCommand).resolves({ VolumeStatuses: [stalled(DATA_VOLUME, DB3.id)] });
  clock = virtualClock();
  b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
  inventory = b.inventory as AwsInventory;
});

const volumesOf = (found: Awaited<ReturnType<AwsBackends['inventory']['discover']>>) =>
  Object.fromEntries(found.instances.filter((i) => i.volumes).map((i) => [i.name, i.volumes]));

describe('EBS volume status on AWS', () => {
  it('is read beside discovery, filtered to the volumes that are not ok, and shows on the next discovery with its device', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    account.ec2.on(DescribeVolumeStatusCommand).callsFake(async () => {
      await gate;
      return { VolumeStatuses: [stalled(DATA_VOLUME, DB3.id)] };
    });

    const first = await b.inventory.discover();
    // Discovery is whole without it; the read has started and not answered.
    expect(first.instances).toHaveLength(6);
    expect(volumesOf(first)).toEqual({});
    expect(statusCalls()).toHaveLength(1);
    expect(statusCalls()[0]!.args[0].input).toEqual({
      Filters: [{ Name: 'volume-status.status', Values: ['impaired', 'warning', 'insufficient-data'] }],
      MaxResults: 1000,
    });

    release();
    await inventory.volumeStatus.settled();
    const second = await b.inventory.discover();
    expect(volumesOf(second)).toEqual({
      'orders-db-3': [
        {
          volumeId: DATA_VOLUME,
          device: '/dev/sdf',
          status: 'impaired',
          detail: 'I/O performance stalled, io-performance: severely-degraded',
          since: '2026-03-01T00:48:00.000Z',
        },
      ],
    });
    // One call per region, whatever the fleet's size.
    expect(statusCalls()).toHaveLength(1);
    expect(inventory.volumeStatus.problem).toBeUndefined();
  });

  it('follows every page, and a volume attached to two instances is both of theirs; volumes of instances not ours are dropped', async () => {
    const pages: Record<string, Partial<DescribeVolumeStatusCommandOutput>> = {
      first: { VolumeStatuses: [stalled(DATA_VOLUME, DB3.id), stalled('vol-0elsewhere', 'i-0ffffffffffffffff')], NextToken: 'page-2' },
      'page-2': {
        VolumeStatuses: [
          stalled('vol-0shared', CASS2.id, {
            VolumeStatus: { Status: 'warning', Details: [{ Name: 'io-performance', Status: 'degraded' }] },
            Events: [],
            AttachmentStatuses: [{ InstanceId: CASS2.id }, { InstanceId: DB3.id }],
          }),
        ],
      },
    };
    account.ec2.on(DescribeVolumeStatusCommand).callsFake((input: { NextToken?: string }) => pages[input.NextToken ?? 'first']);

    const found = await b.inventory.discover({ withGroups: true });

    expect(statusCalls().map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2']);
    expect(volumesOf(found)).toEqual({
      'orders-db-3': [
        expect.objectContaining({ volumeId: DATA_VOLUME, status: 'impaired' }),
        { volumeId: 'vol-0shared', status: 'warning', detail: 'io-performance: degraded' },
      ],
      'events-cass-2': [{ volumeId: 'vol-0shared', status: 'warning', detail: 'io-performance: degraded' }],
    });
  });

  it('a one-shot command (ls) waits for the read and gets it on its one discovery', async () => {
    const only = await b.inventory.discover({ withGroups: true });
    expect(volumesOf(only)['orders-db-3']).toHaveLength(1);
    expect(statusCalls()).toHaveLength(1);
  });

  it('reads again at most once a minute; a failed read never fails discovery and keeps the last answer for 5 minutes', async () => {
    await b.inventory.discover({ withGroups: true });
    clock.advance(30_000);
    expect(volumesOf(await b.inventory.discover())['orders-db-3']).toHaveLength(1);
    expect(statusCalls()).toHaveLength(1);

    account.ec2
      .on(DescribeVolumeStatusCommand)
      .rejects(Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403, requestId: 'req-vs' } }));
    clock.advance(31_000);
    const during = await b.inventory.discover({ withGroups: true });
    expect(statusCalls()).toHaveLength(2);
    expect(during.instances).toHaveLength(6);
    // The last good answer, a minute old.
    expect(volumesOf(during)['orders-db-3']).toHaveLength(1);
    expect(inventory.volumeStatus.problem).toMatch(/^EBS volume status not read in us-east-1, so no impaired volume is shown there: .*ec2:DescribeVolumeStatus/);

    // Past 5 minutes since the last good read: nothing is shown rather than an old answer.
    clock.advance(4 * 60_000 + 1);
    const later = await b.inventory.discover({ withGroups: true });
    expect(statusCalls()).toHaveLength(3);
    expect(volumesOf(later)).toEqual({});
  });

  it('turns an ok volume into nothing, and a long description into a bounded one', () => {
    expect(toVolumeHealth({ VolumeId: 'vol-1', VolumeStatus: { Status: 'ok', Details: [] } })).toBeUndefined();
    expect(toVolumeHealth({ VolumeStatus: { Status: 'impaired' } })).toBeUndefined();
    expect(toVolumeHealth({ VolumeId: 'vol-2', VolumeStatus: { Status: 'impaired', Details: [{ Name: 'io-enabled', Status: 'failed' }] } })).toEqual({
      volumeId: 'vol-2',
      status: 'impaired',
      detail: 'io-enabled: failed',
    });
    const long = toVolumeHealth({ VolumeId: 'vol-3', VolumeStatus: { Status: 'warning' }, Events: [{ Description: 'x'.repeat(5000) }] })!;
    expect(Array.from(long.detail)).toHaveLength(200);
    expect(long.detail.endsWith('…')).toBe(true);
  });

  it('a hostile event description reaches the store cleaned, in the finding that names the volume', async () => {
    account.ec2.on(DescribeVolumeStatusCommand).resolves({
      VolumeStatuses: [stalled(DATA_VOLUME, DB3.id, { Events: [{ Description: 'stalled\x1b]0;pwned\x07\x1b[2J now\r\nreboot it', NotBefore: new Date('2026-03-01T00:48:00Z') }] })],
    });
    const store = createFleetStore({ target: b.target, refreshSeconds: 5 });
    await new Poller(b, store, { ...pollerOptions(awsConfig()), withGroups: true }).refreshNow();

    const orders = store.getState().clusters.find((c) => c.name === 'orders')!;
    const finding = orders.findings.find((f) => f.kind === 'io-impaired')!;
    expect(finding.message).toBe(`orders-db-3: EBS ${DATA_VOLUME} on /dev/sdf impaired since 00:48 UTC (stalled now reboot it, io-performance: severely-degraded)`);
    expect(finding.level).toBe('CRIT');
    expect(orders.nodes.find((n) => n.instance.id === DB3.id)!.instance.volumes![0]!.detail).toBe('stalled now reboot it, io-performance: severely-degraded');
    const texts: string[] = [];
    JSON.stringify(store.getState(), (_k, v: unknown) => {
      if (typeof v === 'string') texts.push(v);
      return v;
    });
    expect(texts.filter((t) => /[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(t))).toEqual([]);
  });
});
