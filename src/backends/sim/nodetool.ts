// A simulated `nodetool`: `status` prints the ring as the node sees it, in
// the real layout; `repair` takes virtual minutes and streams the progress
// lines nodetool prints, and fails the way it does when a member is down or a
// fault says so. The repair records itself in the world, never the tag: the
// runbook writes `last-repaired` through Inventory.setTags.

import { hash32, keyOf, Prng, smoothNoise } from './prng.js';
import type { ExecContext } from './exec-context.js';
import type { JobEvent, RepairRecord, WorldState } from './state.js';
import type { SimWorld } from './world.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CONNECT_REFUSED = "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused (Connection refused)'.\n";
const REPLICATION_FACTOR = 3;
export const CASSANDRA_VERSION = '4.1.7';

/** Not async: `status` answers at once, thousands of times a refresh; only repair and drain take time. */
export function runNodetool(world: SimWorld, id: string, args: string[], ctx: ExecContext): ToolResult | Promise<ToolResult> {
  // Global options come before the subcommand: -h host -p port -u user -pw password.
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += ['-h', '-p', '-u', '-pw', '-pwf', '--host', '--port', '--username', '--password'].includes(args[i]!) ? 2 : 1;
  const sub = args[i];
  const rest = args.slice(i + 1);
  if (sub === undefined) return { code: 1, stdout: '', stderr: 'usage: nodetool [(-h <host> | --host <host>)] <command> [<args>]\n' };
  if (!world.cassandraUp(id)) {
    // A drained node's JVM still answers JMX, and Cassandra ignores a second drain: a resumed runbook may drain again.
    if (sub === 'drain' && world.hostUp(id) && world.view().faults.some((f) => f.kind === 'stop-cassandra' && f.node === id && f.drained)) {
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 1, stdout: '', stderr: CONNECT_REFUSED };
  }
  switch (sub) {
    case 'status':
      return { code: 0, stdout: status(world, id), stderr: '' };
    case 'version':
      return { code: 0, stdout: `ReleaseVersion: ${CASSANDRA_VERSION}\n`, stderr: '' };
    case 'repair':
      return repair(world, id, rest, ctx);
    case 'drain':
      return drain(world, id, ctx);
    default:
      return { code: 1, stdout: '', stderr: `nodetool: Found unexpected parameters: [${[sub, ...rest].join(', ')}]\nSee 'nodetool help' or 'nodetool help <command>'.\n` };
  }
}

async function drain(world: SimWorld, id: string, ctx: ExecContext): Promise<ToolResult> {
  await ctx.sleepUntil(world.now() + 15_000);
  if (world.cassandraUp(id)) world.inject({ kind: 'stop-cassandra', node: id, drained: true });
  return { code: 0, stdout: '', stderr: '' };
}

/** Members of the node's ring with their status letters, as `nodetool status` would list them. */
export function ringStatus(world: SimWorld, id: string): Array<{ id: string; status: string }> {
  const w = world.view();
  const ring = w.rings[w.cassandra[id]!.ring]!;
  const t = world.now();
  return ring.members.map((m) => {
    const c = w.cassandra[m];
    const up = world.cassandraUp(m);
    const joining = !!c?.joiningUntil && c.joiningUntil > t;
    return { id: m, status: `${up ? 'U' : 'D'}${joining ? 'J' : 'N'}` };
  });
}

function status(world: SimWorld, id: string): string {
  const w = world.view();
  // The ring's state object is the key: no string to build and hash for each of its members.
  const key = w.rings[w.cassandra[id]!.ring]!;
  const hit = world.turnCache.get(key);
  if (typeof hit === 'string') return hit;
  const text = renderStatus(world, id);
  world.turnCache.set(key, text);
  return text;
}

const STATUS_HEADER = ['--', 'Address', 'Load', 'Tokens', 'Owns (effective)', 'Host ID', 'Rack'];
const STATUS_HEADER_NO_OWNS = ['--', 'Address', 'Load', 'Tokens', 'Owns', 'Host ID', 'Rack'];
export const REPLICATION_NOTE = "Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless";

/**
 * Cassandra computes effective ownership only when every user keyspace
 * replicates alike; otherwise Owns is "?" and a Note follows the table, as on
 * most production rings. The simulated keyspaces carry no replication
 * settings, so two user keyspaces on a ring are taken to differ.
 */
function keyspacesDiffer(keyspaces: readonly string[]): boolean {
  return keyspaces.filter((k) => !k.startsWith('system')).length > 1;
}

function renderStatus(world: SimWorld, id: string): string {
  const w = world.view();
  const ring = w.rings[w.cassandra[id]!.ring]!;
  const t = world.now();
  const members = ringStatus(world, id);
  const differ = keyspacesDiffer(ring.keyspaces);
  const header = differ ? STATUS_HEADER_NO_OWNS : STATUS_HEADER;
  const owns = differ ? '?' : `${Math.min(100, (REPLICATION_FACTOR / Math.max(1, members.length)) * 100).toFixed(1)}%`;
  const rows: string[][] = [];
  for (const { id: m, status: st } of members) {
    const inst = w.instances[m]!;
    const c = w.cassandra[m]!;
    const load = c.loadBytes * (1 + 0.01 * smoothNoise(w.seed, keyOf(m), t, 600_000));
    rows.push([st, inst.privateIp, formatSize(load), String(c.tokens), owns, c.hostId, inst.az]);
  }
  const widths = header.map((h) => h.length);
  for (const row of rows) for (let k = 0; k < row.length; k++) widths[k] = Math.max(widths[k]!, row[k]!.length);
  const title = `Datacenter: ${ring.datacenter}`;
  let text = `${title}\n${'='.repeat(title.length)}\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n${statusLine(header, widths)}\n`;
  for (const row of rows) text += `${statusLine(row, widths)}\n`;
  // nodetool ends the table with a blank line, then its notes.
  return differ ? `${text}\n${REPLICATION_NOTE}\n` : text;
}

/** A table line: every cell but the last padded to its column's width, two spaces between. */
function statusLine(cells: string[], widths: number[]): string {
  const last = cells.length - 1;
  let line = '';
  for (let k = 0; k < last; k++) line += `${cells[k]!.padEnd(widths[k]!)}  `;
  return (line + cells[last]!).trimEnd();
}

/** Cassandra's FileUtils.stringifyFileSize: two decimals and binary units. */
export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} bytes` : `${v.toFixed(2)} ${units[u]}`;
}

// ---------------------------------------------------------------- repair

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `[${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}]`;
}

/** Commons-lang formatDurationWords, as nodetool prints "finished in 5 minutes 12 seconds". */
export function durationWords(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: Array<[number, string]> = [];
  for (const [size, name] of [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ] as const) {
    parts.push([Math.floor(s / size), name]);
    s %= size;
  }
  let first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0 seconds';
  let last = parts.length - 1;
  while (last > first && parts[last]![0] === 0) last--;
  const out: string[] = [];
  for (; first <= last; first++) {
    const [n, name] = parts[first]!;
    out.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return out.join(' ');
}

function uuidFrom(prng: Prng): string {
  // Cassandra's repair and session ids are time-based (version 1) UUIDs.
  const h = prng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-1${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function token(prng: Prng): bigint {
  const hi = BigInt(Math.floor(prng.next() * 2 ** 31)) * (prng.next() < 0.5 ? -1n : 1n);
  return hi * 4_294_967_296n + BigInt(Math.floor(prng.next() * 2 ** 32));
}

/** What starting `nodetool repair` comes to: an answer at once (a bad keyspace), or a schedule of output. */
export type RepairStart = { result: ToolResult } | { events: JobEvent[]; recordId: string };

/**
 * Inside world.mutate: checks the arguments, records the repair as running
 * and fixes its whole output schedule at `start`, on absolute virtual times,
 * so one big clock advance carries a repair straight through. The last event
 * ends it (exit 0); checks on the way may fail it (see repairFailure).
 */
export function startRepair(ws: WorldState, id: string, args: string[], start: number, by: string): RepairStart {
  const node = ws.cassandra[id]!;
  const ring = ws.rings[node.ring]!;
  const primaryRange = args.includes('-pr') || args.includes('--partitioner-range');
  const full = args.includes('-full') || args.includes('--full');
  const sequential = args.includes('-seq') || args.includes('--sequential');
  const named = args.filter((a, k) => !a.startsWith('-') && !['-j', '--job-threads', '-dc', '-hosts'].includes(args[k - 1] ?? ''));
  const keyspaces = named.length > 0 ? named : ring.keyspaces;
  for (const ks of keyspaces) {
    if (!ring.keyspaces.includes(ks)) {
      return { result: { code: 2, stdout: '', stderr: `error: Keyspace [${ks}] does not exist.\n-- StackTrace --\njava.lang.AssertionError: Keyspace [${ks}] does not exist.\n` } };
    }
  }

  const firstCommand = node.repairCommands + 1;
  node.repairCommands += keyspaces.length;
  const rec: RepairRecord = { id: `r${++ws.counters.repair}`, node: id, command: firstCommand, startedAt: start, outcome: 'running', by };
  ws.repairs.push(rec);
  if (ws.repairs.length > 500) ws.repairs.splice(0, ws.repairs.length - 500);

  const prng = new Prng(hash32(ws.seed, keyOf(id), firstCommand));
  const maxLoad = 420 * 1_073_741_824;
  const totalMs = Math.round((3 + 9 * Math.min(1, node.loadBytes / maxLoad)) * 60_000 * (0.85 + 0.3 * prng.next()));
  const events: JobEvent[] = [];
  const line = (at: number, text: string, check?: JobEvent['check']): JobEvent => ({ at, stdout: `${stamp(at)} ${text}\n`, ...(check ? { check } : {}) });
  let t = start;
  const main = keyspaces.filter((k) => !k.startsWith('system'));
  keyspaces.forEach((ks, k) => {
    const command = firstCommand + k;
    const share = ks.startsWith('system') ? 1_000 + prng.int(0, 3_000) : Math.round(totalMs / Math.max(1, main.length));
    const ranges = primaryRange ? node.tokens : node.tokens * REPLICATION_FACTOR;
    const options = `parallelism: ${sequential ? 'sequential' : 'parallel'}, primary range: ${primaryRange}, incremental: ${!full}, job threads: 1, ColumnFamilies: [], dataCenters: [], hosts: [], previewKind: NONE, # of ranges: ${ranges}, pull repair: false, force repair: false, optimise streams: false, ignore unreplicated keyspaces: false, repairPaxos: true, paxosOnly: false`;
    const commandStart = t;
    events.push(line(t, `Starting repair command #${command} (${uuidFrom(prng)}), repairing keyspace ${ks} with repair options (${options})`, { command, faultable: false, keyspace: ks }));
    for (let r = 1; r <= ranges; r++) {
      t = commandStart + Math.round((share * r) / ranges);
      const a = token(prng);
      const b = a + BigInt(prng.int(1, 2 ** 30)) * 4096n;
      // An injected failure strikes part-way through the data keyspace, as a failed stream would.
      events.push(line(t, `Repair session ${uuidFrom(prng)} for range [(${a},${b}]] finished (progress: ${Math.round((r / ranges) * 100)}%)`, { command, faultable: !ks.startsWith('system') && r / ranges >= 0.4, keyspace: ks }));
    }
    t += prng.int(20, 400);
    events.push(line(t, 'Repair completed successfully'));
    events.push(line(t + prng.int(1, 30), `Repair command #${command} finished in ${durationWords(t - commandStart)}`));
    t += 50;
  });
  const last = events.at(-1);
  if (last) last.end = { code: 0 };
  else events.push({ at: start, end: { code: 0 } });
  return { events, recordId: rec.id };
}

/** How nodetool ends when a check fails at `at`: its two lines, then the error and exit 2. */
export function repairFailedEvents(at: number, command: number, failure: string): JobEvent[] {
  const msg = `Repair command #${command} failed with error ${failure}`;
  const why = `Repair job has failed with the error message: ${stamp(at)} ${msg}. Check the logs on the repair participants for further details`;
  return [
    { at, stdout: `${stamp(at)} ${msg}\n` },
    {
      at: at + 3,
      stdout: `${stamp(at + 3)} Repair command #${command} finished with error\n`,
      stderr: `error: ${why}\n-- StackTrace --\njava.lang.RuntimeException: ${why}\n\tat org.apache.cassandra.tools.RepairRunner.progress(RepairRunner.java:137)\n\tat org.apache.cassandra.utils.progress.jmx.JMXNotificationProgressListener.handleNotification(JMXNotificationProgressListener.java:77)\n`,
      end: { code: 2 },
    },
  ];
}

/** Cassandra on the repairing node went away under nodetool: its JMX connection closes and it gives up. */
export function jmxClosedEvent(at: number, keyspace: string): JobEvent {
  const why = `${stamp(at)} JMX connection closed. You should check server log for repair status of keyspace ${keyspace}(Subsequent keyspaces are not going to be repaired).`;
  return { at, stderr: `error: ${why}\n-- StackTrace --\njava.io.IOException: ${why}\n\tat org.apache.cassandra.tools.RepairRunner.handleConnectionClosed(RepairRunner.java:99)\n`, end: { code: 2 } };
}

/** `nodetool repair` run over a channel: the schedule streamed on the command's clock, cut by its limit or abort. */
async function repair(world: SimWorld, id: string, args: string[], ctx: ExecContext): Promise<ToolResult> {
  const start = world.now();
  const begun = world.mutate((ws) => startRepair(ws, id, args, start, `${process.pid}`));
  if ('result' in begun) return begun.result;
  const events = begun.events;
  let stdout = '';
  let stderr = '';
  try {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      await ctx.sleepUntil(ev.at);
      // Most checks pass: look first, and take the world's section only to use up a fault.
      if (ev.check && repairFailure(world, world.view(), id, ev.check.faultable, false)) {
        const failure = world.mutate((ws) => repairFailure(world, ws, id, ev.check!.faultable, true));
        if (failure) events.splice(i, events.length - i, ...repairFailedEvents(ev.at, ev.check.command, failure));
      }
      const now = events[i]!;
      if (now !== ev) await ctx.sleepUntil(now.at);
      if (now.stdout) {
        stdout += now.stdout;
        ctx.onStdout?.(now.stdout);
      }
      if (now.stderr) {
        stderr += now.stderr;
        ctx.onStderr?.(now.stderr);
      }
      if (now.end) {
        finish(world, begun.recordId, now.end.code === 0 ? 'ok' : 'failed', now.at, now.end.code === 0 ? undefined : failureOf(stderr));
        return { code: now.end.code ?? 1, stdout, stderr };
      }
    }
  } catch (err) {
    finish(world, begun.recordId, 'aborted', world.now(), (err as Error).message);
    throw err;
  }
  return { code: 0, stdout, stderr };
}

/** The failure nodetool reported, for the world's repair record. */
function failureOf(stderr: string): string | undefined {
  return /failed with error (.*?)\. Check the logs/.exec(stderr)?.[1] ?? (/JMX connection closed/.test(stderr) ? 'JMX connection closed' : undefined);
}

/**
 * Why the repair fails now, if it does: a ring member down, or an injected
 * fault (a one-shot, used up here in `w`; the caller saves the world).
 */
export function repairFailure(world: SimWorld, w: WorldState, id: string, faultable: boolean, consume: boolean): string | undefined {
  const ring = w.rings[w.cassandra[id]!.ring]!;
  const down = ring.members.find((m) => !world.cassandraUp(m));
  if (down) return `Endpoint not alive: /${w.instances[down]!.privateIp}:7000`;
  if (!faultable) return undefined;
  const k = w.faults.findIndex((f) => f.kind === 'repair-fails' && (f.node === undefined || f.node === id));
  const fault = w.faults[k];
  if (!fault || fault.kind !== 'repair-fails') return undefined;
  const message = fault.message ?? `Got negative replies from endpoints [/${w.instances[id]!.privateIp}:7000]`;
  if (!consume) return message;
  if (fault.times !== undefined && fault.times > 1) fault.times--;
  else w.faults.splice(k, 1);
  world.bump();
  return message;
}

/** Records the outcome at the virtual time it happened (a big clock jump may deliver it later). */
function finish(world: SimWorld, recordId: string, outcome: 'ok' | 'failed' | 'aborted', at: number, message?: string): void {
  world.mutate((ws) => finishRecord(ws, recordId, outcome, at, message));
}

export function finishRecord(ws: WorldState, recordId: string, outcome: 'ok' | 'failed' | 'aborted', at: number, message?: string): void {
  const rec = ws.repairs.find((r) => r.id === recordId);
  if (!rec || rec.outcome !== 'running') return;
  rec.outcome = outcome;
  rec.finishedAt = at;
  if (message !== undefined) rec.message = message;
}
