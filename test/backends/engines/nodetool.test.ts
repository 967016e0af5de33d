import { describe, expect, it } from 'vitest';
import { NodetoolParseError, parseNodetoolStatus, probeCassandra, RingParses } from '../../../src/backends/engines/cassandra.js';
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
