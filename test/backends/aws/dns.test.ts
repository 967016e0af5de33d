import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsError, createAwsBackends } from '../../../src/backends/aws/index.js';
import type { Dns } from '../../../src/backends/ports.js';
import { awsConfig, mockAwsAccount, unreachableShell, virtualClock, WRITER_NAME, WRITER_ZONE, type MockedAccount } from '../../helpers/aws-fleet.js';

let account: MockedAccount;
let dns: Dns;
let clock: ReturnType<typeof virtualClock>;
beforeEach(async () => {
  account = mockAwsAccount();
  clock = virtualClock();
  const b = await createAwsBackends(awsConfig(), { shell: unreachableShell, clock });
  dns = b.dns!;
});

describe('AWS DNS (Route 53)', () => {
  it('reads a record starting the listing at its name and type, normalising the name', async () => {
    const rec = await dns.getRecord(`/hostedzone/${WRITER_ZONE}`, `${WRITER_NAME}.`, 'A');
    expect(rec).toEqual({ zoneId: WRITER_ZONE, name: WRITER_NAME, type: 'A', ttl: 30, values: ['127.0.1.1'] });
    expect(account.route53.commandCalls(ListResourceRecordSetsCommand)[0]!.args[0].input).toMatchObject({
      HostedZoneId: WRITER_ZONE,
      StartRecordType: 'A',
      MaxItems: 1,
    });
    // The listing starts there but goes on to the next name: a different name is "absent", not that record.
    expect(await dns.getRecord(WRITER_ZONE, 'nope.db.internal', 'A')).toBeUndefined();
  });

  it('swaps with one DELETE-exact + CREATE batch and waits for INSYNC, reporting progress', async () => {
    account.route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const current = (await dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A'))!;
    const progress: string[] = [];

    const out = await dns.swapRecord(current, { ...current, values: ['127.0.1.2'] }, { onProgress: (s) => progress.push(s) });

    const batch = account.route53.commandCalls(ChangeResourceRecordSetsCommand);
    expect(batch).toHaveLength(1);
    expect(batch[0]!.args[0].input.ChangeBatch?.Changes).toEqual([
      { Action: 'DELETE', ResourceRecordSet: { Name: WRITER_NAME, Type: 'A', TTL: 30, ResourceRecords: [{ Value: '127.0.1.1' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: WRITER_NAME, Type: 'A', TTL: 30, ResourceRecords: [{ Value: '127.0.1.2' }] } },
    ]);
    expect(account.route53.commandCalls(GetChangeCommand).map((c) => c.args[0].input.Id)).toEqual(['C1', 'C1']);
    expect(out).toEqual({ changeId: 'C1', insyncAfterMs: 6_000 });
    expect(progress).toEqual(['PENDING', 'PENDING after 3 s', 'INSYNC after 6 s']);
    expect(account.records.get(`${WRITER_NAME}|A`)?.values).toEqual(['127.0.1.2']);
  });

  it('fails cleanly, with a sentence and nothing changed, when the record changed since it was read', async () => {
    const current = (await dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A'))!;
    account.records.set(`${WRITER_NAME}|A`, { ttl: 30, values: ['127.0.1.3'] }); // someone else switched it

    const err = await dns.swapRecord(current, { ...current, values: ['127.0.1.2'] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ code: 'InvalidChangeBatch', kind: 'conflict', requestId: 'req-r53' });
    expect((err as AwsError).message).toBe(
      'the record orders-writer.db.internal A changed under us: now 127.0.1.3 (TTL 30 s), expected 127.0.1.1 (TTL 30 s); nothing was changed — find out who moved it before running the step again',
    );
    expect(account.route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(account.route53.commandCalls(GetChangeCommand)).toHaveLength(0);
    expect(account.records.get(`${WRITER_NAME}|A`)?.values).toEqual(['127.0.1.3']);
  });

  it('says the record is gone when it was deleted meanwhile, and when it already holds the new value', async () => {
    const current = (await dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A'))!;
    account.records.delete(`${WRITER_NAME}|A`);
    await expect(dns.swapRecord(current, { ...current, values: ['127.0.1.2'] })).rejects.toThrow(
      /changed under us: now absent, expected 127\.0\.1\.1 \(TTL 30 s\)/,
    );
    account.records.set(`${WRITER_NAME}|A`, { ttl: 30, values: ['127.0.1.2'] });
    await expect(dns.swapRecord(current, { ...current, values: ['127.0.1.2'] })).rejects.toThrow(
      /changed under us: now 127\.0\.1\.2 \(TTL 30 s\), which is already the new value, expected 127\.0\.1\.1/,
    );
  });

  it('rides out a throttled change batch (after the SDK gave up): the swap is sent again and lands once', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400, requestId: 'req-t' } });
    const current = (await dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A'))!;
    let attempts = 0;
    const records = account.records;
    account.route53.on(ChangeResourceRecordSetsCommand).callsFake(() => {
      attempts++;
      if (attempts === 1) throw throttled;
      records.set(`${WRITER_NAME}|A`, { ttl: 30, values: ['127.0.1.2'] });
      return { ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } };
    });
    const before = clock.now();

    const out = await dns.swapRecord(current, { ...current, values: ['127.0.1.2'] });

    expect(attempts).toBe(2);
    expect(out.changeId).toBe('C9');
    // 2 s of backoff, then one INSYNC poll 3 s after the change was accepted.
    expect(clock.now() - before).toBe(5_000);
    expect(account.records.get(`${WRITER_NAME}|A`)?.values).toEqual(['127.0.1.2']);
  });

  it('refuses an alias record instead of swapping it as plain values', async () => {
    account.route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: `${WRITER_NAME}.`, Type: 'A', AliasTarget: { DNSName: 'lb.example.com.', HostedZoneId: 'Z2', EvaluateTargetHealth: false } },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });
    await expect(dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A')).rejects.toThrow(/alias to lb\.example\.com.*simple records/);
  });

  it('gives up on INSYNC after its bound, saying what to check', async () => {
    account.route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    const current = (await dns.getRecord(WRITER_ZONE, WRITER_NAME, 'A'))!;
    await expect(dns.swapRecord(current, { ...current, values: ['127.0.1.2'] })).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/gave up waiting for Route 53 change C1 to be INSYNC after 600 s/),
    });
  });
});
