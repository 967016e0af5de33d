import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPeerOf, NodetoolParseError, parseNodetoolStatus, probeCassandra, RingParses } from '../../../src/backends/engines/cassandra.js';
import type { Shell } from '../../../src/backends/ports.js';
import type { Instance } from '../../../src/domain/types.js';

// The layout of Cassandra 4.x `nodetool status`, two datacenters.
const STATUS = `Datacenter: eu-west
===================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack
UN  10.0.1.11   1.21 GiB    16      33.3%             8d5ed9f4-7764-4dbd-bad8-43fddce94b7c  eu-west-1a
DN  10.0.1.12   ?           16      33.3%             1f3c2a77-52c1-4c8e-9d0a-0b3f0f1b9a10  eu-west-1b

Datacenter: us-east
===================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack
UJ  10.1.1.11   512.4 KiB   16      ?                 2c0b8f4e-1e54-4a5b-8a0e-55e2f0c3c2d1  us-east-1a
`;

/** A fixture as nodetool printed it: the first line says where its shape comes from. */
function fixture(name: string): string {
  const text = readFileSync(join(import.meta.dirname, 'fixtures', 'nodetool-status', name), 'utf8');
  expect(text.startsWith('# ')).toBe(true);
  return text.slice(text.indexOf('\n') + 1);
}

type Row = [status: string, address: string, load: string, tokens: number, owns: string, datacenter: string, rack: string];
const rows = (output: string): Row[] => parseNodetoolStatus(output).map((p) => [p.status, p.address, p.load, p.tokens, p.owns, p.datacenter, p.rack]);

describe('nodetool status as real versions print it', () => {
  it('3.11: vnodes, two datacenters, effective ownership', () => {
    expect(rows(fixture('3.11-vnodes-two-dc.txt'))).toEqual([
      ['UN', '10.0.1.11', '1.21 GiB', 256, '33.4%', 'eu-west', 'eu-west-1a'],
      ['UN', '10.0.1.12', '1.19 GiB', 256, '33.3%', 'eu-west', 'eu-west-1b'],
      ['UN', '10.0.1.13', '987.5 MiB', 256, '33.3%', 'eu-west', 'eu-west-1c'],
      ['UN', '10.1.1.11', '1.2 GiB', 256, '50.1%', 'us-east', 'us-east-1a'],
      ['UN', '10.1.1.12', '1.18 GiB', 256, '49.9%', 'us-east', 'us-east-1b'],
    ]);
  });

  it('3.11: keyspaces that differ: Owns ?, a down node with Load ?, and the trailing Note', () => {
    expect(rows(fixture('3.11-note-owns-unknown.txt'))).toEqual([
      ['UN', '192.168.12.101', '626.53 MiB', 256, '?', 'dc1', 'rack1'],
      ['DN', '192.168.12.102', '?', 256, '?', 'dc1', 'rack1'],
      ['UN', '192.168.12.103', '624.25 MiB', 256, '?', 'dc1', 'rack1'],
    ]);
  });

  it('3.11: one token a node, printed in place of the count', () => {
    expect(rows(fixture('3.11-single-token.txt'))).toEqual([
      ['UN', '10.0.3.11', '4.5 GiB', 1, '33.3%', 'datacenter1', 'rack1'],
      ['UN', '10.0.3.12', '4.49 GiB', 1, '33.3%', 'datacenter1', 'rack1'],
      ['UL', '10.0.3.13', '4.52 GiB', 1, '33.3%', 'datacenter1', 'rack1'],
    ]);
  });

  it('2.x/3.0: KB and MB, bytes, and a node gossip does not know (?N, host id null)', () => {
    const ring = parseNodetoolStatus(fixture('3.0-legacy-units.txt'));
    expect(ring.map((p) => [p.status, p.load, p.hostId])).toEqual([
      ['UN', '24.38 KB', '8d5ed9f4-7764-4dbd-bad8-43fddce94b7c'],
      ['UN', '195.48 MB', '1f3c2a77-52c1-4c8e-9d0a-0b3f0f1b9a10'],
      ['UN', '612 bytes', '2c0b8f4e-1e54-4a5b-8a0e-55e2f0c3c2d1'],
      ['?N', '?', 'null'],
    ]);
  });

  it('4.0: IPv6 addresses and every state: joining, leaving, moving, down', () => {
    expect(rows(fixture('4.0-states-ipv6.txt')).map((r) => [r[0], r[1], r[2]])).toEqual([
      ['UN', '2a05:d018:223:f00:b111:3a2:aa5f:2295', '2.31 GiB'],
      ['UJ', '2a05:d018:223:f00:1c55:d40e:5a7d:ffb7', '14.2 MiB'],
      ['UL', '2a05:d018:223:f00:0:0:0:a1', '2.29 GiB'],
      ['UM', '2a05:d018:223:f00:ff85:be21:de55:ffbf', '2.3 GiB'],
      ['DN', '2a05:d018:223:f00:9129:adc0:f67a:79b6', '?'],
    ]);
  });

  it('4.0 with --print-port: host:port, IPv6 in brackets', () => {
    expect(rows(fixture('4.0-print-port.txt')).map((r) => [r[1], r[3], r[4], r[6]])).toEqual([
      ['10.0.4.11:7000', 16, '66.7%', 'rack1'],
      ['10.0.4.12:7000', 16, '66.6%', 'rack2'],
      ['[2600:1f18:4a3:6d00:0:0:0:a3]:7000', 16, '66.7%', 'rack3'],
    ]);
  });

  it('4.1 with --resolve-ip: host names, TiB, a joining node of a few bytes', () => {
    expect(rows(fixture('4.1-resolve-ip.txt'))).toEqual([
      ['UN', 'ip-10-0-5-11.ec2.internal', '1.02 TiB', 16, '33.3%', 'us-east-1', 'us-east-1a'],
      ['UN', 'ip-10-0-5-12.ec2.internal', '1.01 TiB', 16, '33.4%', 'us-east-1', 'us-east-1b'],
      ['UN', 'ip-10-0-5-13.ec2.internal', '1019.63 GiB', 16, '33.3%', 'us-east-1', 'us-east-1c'],
      ['UJ', 'ip-10-0-5-14.ec2.internal', '312 bytes', 16, '?', 'us-east-1', 'us-east-1a'],
    ]);
  });

  it('5.0: one shared table over two datacenters, padded cells, a blank line between, the Note', () => {
    const ring = rows(fixture('5.0-two-dc-note.txt'));
    expect(ring.map((r) => `${r[0]} ${r[1]} ${r[5]}/${r[6]}`)).toEqual([
      'UN 10.20.0.11 dc-east/rack-a',
      'UN 10.20.0.12 dc-east/rack-b',
      'DN 10.20.0.13 dc-east/rack-c',
      'UN 10.30.0.11 dc-west/rack-a',
      'UM 10.30.0.12 dc-west/rack-b',
      'UN 10.30.0.13 dc-west/rack-c',
    ]);
    expect(ring.every((r) => r[4] === '?' && r[3] === 16)).toBe(true);
  });

  it('a JVM in a locale with decimal commas, and Windows line ends', () => {
    const text = fixture('3.11-vnodes-two-dc.txt').replace('1.21 GiB', '1,21 GiB').replace('33.4%', '33,4%').replace(/\n/g, '\r\n');
    expect(rows(text)[0]).toEqual(['UN', '10.0.1.11', '1,21 GiB', 256, '33,4%', 'eu-west', 'eu-west-1a']);
  });

  it.each([
    ['a line nodetool never prints', 'error: JMX connection closed', 'error: JMX connection closed'],
    ['a status that does not exist', 'XN  10.0.1.12  1.19 GiB  256  33.3%  1f3c2a77-52c1-4c8e-9d0a-0b3f0f1b9a10  rack1', 'XN  10.0.1.12'],
    ['a column too many', 'UN  10.0.1.12  1.19 GiB  256  33.3%  1f3c2a77-52c1-4c8e-9d0a-0b3f0f1b9a10  rack1  extra', 'rack1  extra'],
    ['a load without a number', 'UN  10.0.1.12  many GiB  256  33.3%  1f3c2a77-52c1-4c8e-9d0a-0b3f0f1b9a10  rack1', 'many GiB'],
  ])('still refuses %s, naming its line and text', (_what, bad, shown) => {
    const lines = fixture('3.11-note-owns-unknown.txt').split('\n');
    lines.splice(7, 0, bad);
    const err = (() => {
      try {
        parseNodetoolStatus(lines.join('\n'));
      } catch (e) {
        return e as NodetoolParseError;
      }
      throw new Error('parsed');
    })();
    expect(err).toBeInstanceOf(NodetoolParseError);
    expect(err.line).toBe(8);
    expect(err.message).toMatch(/^line 8 of nodetool status does not parse: "/);
    expect(err.message).toContain(shown);
  });

  it('finds the node itself however its address is written', () => {
    const node = { name: 'cass-1', privateIp: '2a05:d018:223:f00::a1', ssh: { host: 'cass-1.db.example.com' } };
    expect(isPeerOf('2a05:d018:223:f00:0:0:0:a1', node)).toBe(true);
    expect(isPeerOf('[2a05:d018:223:f00:0:0:0:A1]:7000', node)).toBe(true);
    expect(isPeerOf('2a05:d018:223:f00:0:0:0:a2', node)).toBe(false);
    expect(isPeerOf('cass-1.db.example.com', node)).toBe(true);
    expect(isPeerOf('cass-2.db.example.com', node)).toBe(false);
    const v4 = { name: 'cass-5', privateIp: '10.0.5.11' };
    expect(isPeerOf('10.0.5.11:7000', v4)).toBe(true);
    expect(isPeerOf('10.0.5.111', v4)).toBe(false);
    expect(isPeerOf('ip-10-0-5-11.ec2.internal', v4)).toBe(true);
    expect(isPeerOf('ip-10-0-5-12.ec2.internal', v4)).toBe(false);
    expect(isPeerOf('::ffff:10.0.5.11', { name: 'x', privateIp: '::ffff:a00:50b' })).toBe(true);
  });

  it('probes a --resolve-ip ring and finds itself by its EC2 host name', async () => {
    const shell: Shell = {
      exec: async () => ({ code: 0, signal: null, stdout: fixture('4.1-resolve-ip.txt'), stderr: '' }),
      loginCommand: () => 'ssh',
      close: async () => undefined,
    };
    const node = { id: 'i-4', name: 'cass-4', privateIp: '10.0.5.14', tags: {} } as unknown as Instance;
    expect((await probeCassandra(shell, node, { nodetool: 'nodetool -r' })).status).toBe('UJ');
  });
});

describe('nodetool status', () => {
  it('parses every peer with its datacenter', () => {
    const ring = parseNodetoolStatus(STATUS);
    expect(ring.map((p) => [p.status, p.address, p.load, p.owns, p.datacenter, p.rack])).toEqual([
      ['UN', '10.0.1.11', '1.21 GiB', '33.3%', 'eu-west', 'eu-west-1a'],
      ['DN', '10.0.1.12', '?', '33.3%', 'eu-west', 'eu-west-1b'],
      ['UJ', '10.1.1.11', '512.4 KiB', '?', 'us-east', 'us-east-1a'],
    ]);
  });

  it('names the line that does not parse', () => {
    const broken = STATUS.replace('DN  10.0.1.12', 'XX  10.0.1.12');
    expect(() => parseNodetoolStatus(broken)).toThrow(NodetoolParseError);
    expect(() => parseNodetoolStatus(broken)).toThrow(/line 7 of nodetool status/);
  });

  it('probes over the shell and finds the node itself in the ring, else says so', async () => {
    const shell: Shell = {
      exec: async () => ({ code: 0, signal: null, stdout: STATUS, stderr: '' }),
      loginCommand: () => 'ssh',
      close: async () => undefined,
    };
    const node = { id: 'c2', name: 'cass-2', privateIp: '10.0.1.12', tags: {} } as unknown as Instance;
    expect((await probeCassandra(shell, node, { nodetool: 'nodetool' })).status).toBe('DN');
    await expect(probeCassandra(shell, { ...node, privateIp: '10.9.9.9' }, { nodetool: 'nodetool' })).rejects.toThrow(
      /cass-2: its address 10.9.9.9 is not in its own nodetool status/,
    );
  });

  it("parses a text the ring's members share once, and a changed text again", async () => {
    const outputs = new Map([['c1', STATUS], ['c2', STATUS]]);
    const shell: Shell = {
      exec: async (n) => ({ code: 0, signal: null, stdout: outputs.get(n.id)!, stderr: '' }),
      loginCommand: () => 'ssh',
      close: async () => undefined,
    };
    const rings = new RingParses();
    const c1 = { id: 'c1', name: 'cass-1', privateIp: '10.0.1.11', tags: {} } as unknown as Instance;
    const c2 = { id: 'c2', name: 'cass-2', privateIp: '10.0.1.12', tags: {} } as unknown as Instance;
    const a = await probeCassandra(shell, c1, { nodetool: 'nodetool' }, rings);
    const b = await probeCassandra(shell, c2, { nodetool: 'nodetool' }, rings);
    expect(b.ring).toBe(a.ring);
    expect([a.status, b.status]).toEqual(['UN', 'DN']);
    // Shared, so nobody may change it in place.
    expect(Object.isFrozen(a.ring) && Object.isFrozen(a.ring[0])).toBe(true);

    // c2 comes back: its text changes, and so does what it says.
    outputs.set('c2', STATUS.replace('DN  10.0.1.12', 'UN  10.0.1.12'));
    const again = await probeCassandra(shell, c2, { nodetool: 'nodetool' }, rings);
    expect(again.status).toBe('UN');
    expect(again.ring).not.toBe(a.ring);

    // A text that does not parse still fails naming its line, every time it is seen.
    outputs.set('c1', STATUS.replace('DN  10.0.1.12', 'XX  10.0.1.12'));
    for (let i = 0; i < 2; i++) {
      await expect(probeCassandra(shell, c1, { nodetool: 'nodetool' }, rings)).rejects.toThrow(/cass-1: line 7 of nodetool status/);
    }
  });
});
