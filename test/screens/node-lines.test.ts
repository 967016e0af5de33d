// The node screen's replication lines: whom a replica follows, by name, and
// why its lag is unknown, in words that match its threads.

import { describe, expect, it } from 'vitest';
import { gtidGap, nodeLines, unknownLagWhy } from '../../src/screens/node/node-lines.js';
import { cluster, mysqlNode } from '../helpers/fleet-fixtures.js';

const ctx = { now: Date.parse('2026-11-21T01:00:00Z'), refreshSeconds: 10, thresholds: { lagWarnSeconds: 60, lagCritSeconds: 300, gcGraceSeconds: 864_000, staleAfterRefreshes: 3 }, width: 200, roleTag: 'nightshift:role' } as Parameters<typeof nodeLines>[2];
const line = (lines: ReturnType<typeof nodeLines>, key: string) => lines.find((l) => l.text.trimStart().startsWith(key))?.text ?? '';

describe('node screen, replication', () => {
  it("names the cluster's node a replica follows, with the address the server reports", () => {
    const master = mysqlNode('db', { id: 'i-1', name: 'db-1', role: 'master' });
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', sourceHost: master.instance.privateIp });
    const lines = nodeLines(replica, cluster('db', 'mysql', [master, replica]), ctx);
    expect(line(lines, 'replica of')).toMatch(new RegExp(`replica of +db-1 \\(${master.instance.privateIp.replace(/\./g, '\\.')}:3306\\)`));
  });

  it('says when the source is no node of the cluster', () => {
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', sourceHost: '127.0.9.9' });
    expect(line(nodeLines(replica, cluster('db', 'mysql', [replica]), ctx), 'replica of')).toMatch(/replica of +127\.0\.9\.9:3306 \(no node of this cluster\)/);
  });

  it('says which thread leaves the lag unknown', () => {
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', ioThread: 'No', sqlThread: 'Yes', lagSeconds: null });
    expect(line(nodeLines(replica, cluster('db', 'mysql', [replica]), ctx), 'lag')).toContain('unknown (the IO thread is not running: the server cannot tell how far behind it is)');
    expect(unknownLagWhy('No', 'No')).toBe('neither thread is running');
    expect(unknownLagWhy('Yes', 'No')).toBe('the SQL thread is not running');
    expect(unknownLagWhy('Connecting', 'Yes')).toContain('the IO thread is connecting');
  });

  it('counts the transactions a replica lacks against the writable master', () => {
    const master = mysqlNode('db', { id: 'i-1', name: 'db-1', role: 'master' });
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2' });
    const set = (n: typeof master, text: string) => {
      if (n.facts?.kind === 'mysql') n.facts.mysql.gtidExecuted = text;
    };
    set(master, '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4512');
    set(replica, '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4500');
    const nodes = [master, replica];
    expect(gtidGap(replica, nodes)).toBe('12 transactions behind db-1');
    expect(line(nodeLines(replica, cluster('db', 'mysql', nodes), ctx), 'gtid gap')).toMatch(/gtid gap +12 transactions behind db-1/);
    set(replica, '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4511');
    expect(gtidGap(replica, nodes)).toBe('1 transaction behind db-1');
    // No writable master answering: no gap to compute.
    expect(gtidGap(replica, [replica])).toBeUndefined();
    expect(gtidGap(master, nodes)).toBeUndefined();
  });

  it('a role tag disagrees only with a server that has answered', () => {
    const silent = mysqlNode('db', { id: 'i-3', name: 'db-3', tags: { 'nightshift:role': 'master' } });
    delete silent.facts;
    const text = line(nodeLines(silent, cluster('db', 'mysql', [silent]), ctx), 'role (tag hint)');
    expect(text).toContain('master  (the server has not answered yet)');
    expect(text).not.toContain('disagrees');
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', tags: { 'nightshift:role': 'master' } });
    expect(line(nodeLines(replica, cluster('db', 'mysql', [replica]), ctx), 'role (tag hint)')).toContain('▲ disagrees with the server');
  });
});

describe('node screen, EBS volumes and I/O findings', () => {
  const at80 = { ...ctx, width: 80 };
  const volume = {
    volumeId: 'vol-0123456789abcdef0',
    device: '/dev/xvda',
    status: 'impaired' as const,
    detail: 'I/O performance stalled, io-performance: severely-degraded',
    since: '2026-11-21T00:48:00.000Z',
  };
  const finding = {
    kind: 'io-impaired' as const,
    level: 'CRIT' as const,
    message: 'db-2: EBS vol-0123456789abcdef0 on /dev/xvda impaired since 00:48 UTC (I/O performance stalled, io-performance: severely-degraded); I/O wait 97% for 12 m',
    nodes: ['i-2'],
    suggests: 'rebuild',
  };
  /** The lines from `first` until the next line with a key of its own, joined as they read. */
  const whole = (lines: ReturnType<typeof nodeLines>, first: number, indent: number) => {
    const parts = [lines[first]!.text.slice(indent)];
    for (let k = first + 1; k < lines.length && lines[k]!.text.startsWith(' '.repeat(indent)); k++) parts.push(lines[k]!.text.slice(indent));
    return parts;
  };

  it('lists each volume that is not ok, in full, wrapped at 80 columns, red when impaired', () => {
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2' });
    replica.instance.volumes = [volume, { volumeId: 'vol-0aaa', status: 'warning', detail: 'io-performance: degraded' }];
    const lines = nodeLines(replica, cluster('db', 'mysql', [replica]), at80);
    for (const l of lines) expect(Array.from(l.text).length).toBeLessThanOrEqual(80);
    const first = lines.findIndex((l) => l.text.trimStart().startsWith('EBS volume'));
    expect(lines[first]!.section).toBe('Instance');
    expect(lines[first]!.colour).toBe('red');
    const text = whole(lines, first, 22);
    expect(text.length).toBeGreaterThan(1);
    expect(text.join(' ')).toBe('vol-0123456789abcdef0 on /dev/xvda: impaired since 2026-11-21 00:48 UTC (12 m ago) — I/O performance stalled, io-performance: severely-degraded');
    const second = lines.findIndex((l, k) => k > first && l.text.trimStart().startsWith('EBS volume'));
    expect(lines[second]!.text).toBe('  EBS volume          vol-0aaa: warning — io-performance: degraded');
    expect(lines[second]!.colour).toBe('yellow');
    // A node with no such volume has no such line.
    const well = mysqlNode('db', { id: 'i-3', name: 'db-3' });
    expect(nodeLines(well, cluster('db', 'mysql', [well]), at80).some((l) => l.text.includes('EBS volume'))).toBe(false);
  });

  it("wraps the node's findings rather than cutting them at 80 columns", () => {
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', level: 'CRIT', reason: 'lag 720 s > 300 s' });
    const lines = nodeLines(replica, cluster('db', 'mysql', [replica], { findings: [finding] }), at80);
    for (const l of lines) expect(Array.from(l.text).length).toBeLessThanOrEqual(80);
    const first = lines.findIndex((l) => l.id === 'finding:0:0');
    expect(lines[first]!.text.startsWith('  ✗ CRIT db-2: EBS vol-0123456789abcdef0')).toBe(true);
    const parts = whole(lines, first + 1, 9);
    expect([lines[first]!.text.slice(9), ...parts].join(' ')).toBe(finding.message);
  });
});
