// The writer record resolved to a node, in one line, and whom a node replicates from.

import { describe, expect, it } from 'vitest';
import { replicationSource, resolveWriter, writerText } from '../../src/domain/cluster-view.js';
import type { NodeView } from '../../src/domain/types.js';
import { mysqlNode } from '../helpers/fleet-fixtures.js';

const ref = { zoneId: 'Z1', name: 'db.example.internal', type: 'A' as const };

describe('resolveWriter', () => {
  const nodes = [mysqlNode('db', { id: 'i-1', name: 'db-1', role: 'master' }), mysqlNode('db', { id: 'i-2', name: 'db-2', role: 'replica' })];
  const ip = (i: number) => nodes[i]!.instance.privateIp;

  it('an A record by private address', () => {
    expect(resolveWriter({ ref, values: [ip(1)] }, nodes)).toMatchObject({ node: 'db-2', nodeId: 'i-2' });
  });

  it('a record that splits writes between two nodes points at no one writer', () => {
    expect(resolveWriter({ ref, values: [ip(0), ip(1)] }, nodes).node).toBeNull();
  });

  it('a CNAME by the node name, whole or as first label, with or without the final dot', () => {
    const cname = { ...ref, type: 'CNAME' as const };
    expect(resolveWriter({ ref: cname, values: ['DB-1.'] }, nodes).node).toBe('db-1');
    expect(resolveWriter({ ref: cname, values: ['db-1.eu.internal.'] }, nodes).node).toBe('db-1');
    expect(resolveWriter({ ref: cname, values: ['db-10.eu.internal.'] }, nodes).node).toBeNull();
  });
});

describe('writerText', () => {
  const w = { ...ref, values: ['10.0.0.9'], node: null };
  it('the node it points at, or the values and "(no node)", bad (red) then', () => {
    expect(writerText({ ...w, node: 'db-1' })).toEqual({ text: 'writer db.example.internal → db-1', bad: false });
    expect(writerText(w)).toEqual({ text: 'writer db.example.internal → 10.0.0.9 (no node)', bad: true });
    expect(writerText({ ...w, values: [], missing: true })).toEqual({ text: 'writer db.example.internal → (no such A record in Z1)', bad: true });
  });

  it('what it cannot know, it says, and does not call bad', () => {
    expect(writerText({ ...w, values: [], error: 'no Route 53 on a static inventory' })).toEqual({
      text: 'writer db.example.internal: not read (no Route 53 on a static inventory)',
      bad: false,
    });
    expect(writerText({ ...w, error: 'reading failed: Throttling' }).bad).toBe(false);
  });
});

describe('replicationSource', () => {
  it('the source node by name, or host:port outside the cluster, or nothing for a master', () => {
    const master = mysqlNode('db', { id: 'i-1', name: 'db-1', role: 'master' });
    const replica = mysqlNode('db', { id: 'i-2', name: 'db-2', role: 'replica' });
    const withSource = (n: NodeView, host: string): NodeView => {
      const f = n.facts as Extract<NodeView['facts'], { kind: 'mysql' }>;
      return { ...n, facts: { kind: 'mysql', mysql: { ...f.mysql, replica: { ...f.mysql.replica!, sourceHost: host, sourcePort: 3306 } } } };
    };
    const nodes = [master, replica];
    expect(replicationSource(master, nodes)).toBeUndefined();
    expect(replicationSource(withSource(replica, master.instance.privateIp), nodes)).toBe('db-1');
    expect(replicationSource(withSource(replica, '10.9.9.9'), nodes)).toBe('10.9.9.9:3306');
  });
});
