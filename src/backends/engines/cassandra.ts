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

// UN  127.0.0.1  1.2 GiB  256  33.3%  8d5ed9f4-7764-4dbd-bad8-43fddce94b7c  rack1
const PEER_LINE =
  /^([UD][NLJM])\s+(\S+)\s+(\?|[\d.]+\s*\S+)\s+(\d+)\s+(\?|[\d.]+%)\s+([0-9a-f-]{36})\s+(\S+)\s*$/;

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
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '') return;
    const dc = /^Datacenter:\s*(\S+)/.exec(line);
    if (dc) {
      datacenter = dc[1]!;
      return;
    }
    if (/^(=+|Status=|\|\/|--\s+Address)/.test(line)) return;
    const m = PEER_LINE.exec(line);
    if (!m) throw new NodetoolParseError(`line ${i + 1} of nodetool status does not parse: "${line}"`, i + 1);
    peers.push({
      status: m[1] as CassandraStatus,
      address: m[2]!,
      load: m[3]!,
      tokens: Number(m[4]),
      owns: m[5]!,
      hostId: m[6]!,
      rack: m[7]!,
      datacenter,
    });
  });
  if (peers.length === 0) throw new NodetoolParseError('nodetool status listed no nodes', 0);
  return peers;
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
  const self = ring.find((p) => p.address === node.privateIp);
  if (!self) {
    throw new ProbeError(`${node.name}: its address ${node.privateIp} is not in its own nodetool status`, node.name);
  }
  return { status: self.status, ring };
}

/** The line nodetool prints when a repair command finished. */
export const REPAIR_FINISHED = /Repair command #\d+ finished/;
