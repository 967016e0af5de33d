// Cassandra through nodetool, run on the node over the Shell port.

import type { CassandraFacts, CassandraPeer, CassandraStatus, Instance } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { ProbeError } from './mysql.js';

export interface CassandraProbeOptions {
  /** How nodetool is invoked on the node, e.g. `nodetool` or `sudo -u cassandra nodetool`. */
  nodetool: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const STATUS_SUBCOMMAND = 'status';
export const REPAIR_SUBCOMMAND = 'repair -pr';

export function nodetoolCommand(nodetool: string, subcommand: string): string {
  return `${nodetool} ${subcommand}`;
}

// One peer line, whichever version printed it (3.x format strings, 4.1+ tables):
//   vnodes:          UN  10.0.1.11  1.21 GiB  256  33.3%  <host id>  rack1
//   a token a node:  UN  10.0.1.11  1.21 GiB  33.3%  <host id>  -9223372036854775808  rack1
// Status ?N is a node gossip knows neither up nor down; Load and Owns are "?"
// when unknown (Owns on every line when the keyspaces replicate differently,
// with a Note after the table); the host id is "null" before gossip has one; the address is an IPv4 or IPv6
// address, with :port under --print-port, or a host name under --resolve-ip;
// decimals follow the JVM's locale. This is the line a refresh parses
// thousands of times, so it is one regex.
const LOAD = String.raw`\?|-?[\d.,]+(?: ?(?:bytes|[KMGTPE]i?B))?`;
const OWNS = String.raw`\?|[\d.,]+%`;
const HOST_ID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|null|\?`;
const PEER_LINE = new RegExp(
  String.raw`^([UD?][NLJM])\s+(\S+)\s+(${LOAD})\s+(?:(\d+)\s+(${OWNS})\s+(${HOST_ID})|(${OWNS})\s+(${HOST_ID})\s+(\S+))\s+(\S+)\s*$`,
);
/** The lines around the peers: headings, the legend, the column titles, blank lines. */
const FRAME_LINE = /^(?:\s*$|=+\s*$|Status=Up\/Down|\|\/ State=|--\s+Address\s)/;
const DATACENTER = /^Datacenter: (.*\S)\s*$/;
/** nodetool's own notes after the table, e.g. "Note: Non-system keyspaces don't have the same replication settings, ...". */
const NOTE = /^Note: /;

export class NodetoolParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'NodetoolParseError';
  }
}

/** Parses `nodetool status`; throws naming the line that does not parse. */
export function parseNodetoolStatus(output: string): CassandraPeer[] {
  const peers: CassandraPeer[] = [];
  let datacenter = '';
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = PEER_LINE.exec(line);
    if (m) {
      const isVnodes = m[4] !== undefined;
      peers.push({
        status: m[1] as CassandraStatus,
        address: m[2]!,
        load: m[3]!,
        // A node with one token prints the token itself where vnodes print a count.
        tokens: isVnodes ? Number(m[4]) : 1,
        owns: isVnodes ? m[5]! : m[7]!,
        hostId: isVnodes ? m[6]! : m[8]!,
        rack: m[10]!,
        datacenter,
      });
      continue;
    }
    if (FRAME_LINE.test(line) || NOTE.test(line)) continue;
    const dc = DATACENTER.exec(line);
    if (dc) {
      datacenter = dc[1]!;
      continue;
    }
    const shown = line.length > 160 ? `${line.slice(0, 157)}...` : line;
    throw new NodetoolParseError(`line ${i + 1} of nodetool status does not parse: "${shown.trimEnd()}"`, i + 1);
  }
  if (peers.length === 0) throw new NodetoolParseError('nodetool status listed no nodes', 0);
  return peers;
}

/**
 * Whether a peer line's address is this node: its private IP however it is
 * written (IPv6 in full or shortened, with :port under --print-port), or, under
 * --resolve-ip, its host name (its inventory name or ssh host, or EC2's
 * ip-10-0-1-11.* name, which spells the address).
 */
export function isPeerOf(address: string, node: Pick<Instance, 'privateIp' | 'name'> & { ssh?: { host: string } }): boolean {
  if (address === node.privateIp) return true;
  const bare = withoutPort(address).toLowerCase();
  const ip = canonicalIp(bare);
  if (ip !== undefined) return ip === canonicalIp(node.privateIp.toLowerCase());
  const ec2 = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\.|$)/.exec(bare);
  if (ec2 && ec2.slice(1, 5).join('.') === node.privateIp) return true;
  const names = [node.name, node.ssh?.host].filter((n): n is string => !!n).map((n) => n.toLowerCase());
  return names.includes(bare) || names.includes(bare.split('.')[0]!);
}

function withoutPort(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return v6[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  return v4 ? v4[1]! : address;
}

/** An IP address in one spelling (IPv6: eight groups, no leading zeros), or undefined for a name. */
function canonicalIp(address: string): string | undefined {
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return address;
  if (!address.includes(':') || !/^[0-9a-f:.]+$/.test(address)) return undefined;
  let text = address;
  // An IPv4 tail (::ffff:10.0.0.1) as two groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1, 5).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...rest];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

/**
 * The members of a ring print the same `nodetool status` (gossip agrees), so a
 * refresh that probes every member would parse one text ring-size times: a
 * 5,000-node fleet in rings of 14 parses some 28,000 peer lines a tick instead
 * of 2,000. This keeps the rings parsed from the texts seen last, shared and
 * frozen, so the members that agree also share one list (and a screen can tell
 * "unchanged" by identity).
 */
export class RingParses {
  private readonly parsed = new Map<string, readonly CassandraPeer[]>();

  constructor(private readonly kept = 512) {}

  parse(output: string): readonly CassandraPeer[] {
    let ring = this.parsed.get(output);
    if (ring === undefined) {
      ring = Object.freeze(parseNodetoolStatus(output).map((p) => Object.freeze(p)));
      // The fleet's rings as they print now; texts from earlier refreshes go all at once.
      if (this.parsed.size >= this.kept) this.parsed.clear();
      this.parsed.set(output, ring);
    }
    return ring;
  }
}

const oneOff = { parse: (output: string): readonly CassandraPeer[] => parseNodetoolStatus(output) };

export async function probeCassandra(
  shell: Shell,
  node: Instance,
  opts: CassandraProbeOptions,
  rings: Pick<RingParses, 'parse'> = oneOff,
): Promise<CassandraFacts> {
  const res = await shell.exec(node, nodetoolCommand(opts.nodetool, STATUS_SUBCOMMAND), {
    timeoutMs: opts.timeoutMs ?? 15_000,
    signal: opts.signal,
    readOnly: true,
  });
  if (res.code !== 0) {
    const why = res.stderr.trim().split('\n')[0] || `exit code ${res.code ?? res.signal}`;
    throw new ProbeError(`${node.name}: nodetool status failed: ${why}`, node.name);
  }
  let ring: readonly CassandraPeer[];
  try {
    ring = rings.parse(res.stdout);
  } catch (err) {
    throw new ProbeError(`${node.name}: ${(err as Error).message}`, node.name);
  }
  const self = ring.find((p) => isPeerOf(p.address, node));
  if (!self) {
    throw new ProbeError(`${node.name}: its address ${node.privateIp} is not in its own nodetool status`, node.name);
  }
  return { status: self.status, ring };
}

/** The line nodetool prints when a repair command finished. */
export const REPAIR_FINISHED = /Repair command #\d+ finished/;
