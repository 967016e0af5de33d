// Node health: a level and the reason in words. Pure: everything it needs is
// passed in, including the fleet's notion of "now" (virtual on the sim).

import type { EngineFacts, Health, HealthLevel, Instance, MysqlFacts, NodeMetrics, Role } from './types.js';
import { lagText } from './lag-text.js';

export interface Thresholds {
  lagWarnSeconds: number;
  lagCritSeconds: number;
  cpuWarnPercent: number;
  gcGraceSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  lagWarnSeconds: 30,
  lagCritSeconds: 300,
  cpuWarnPercent: 85,
  gcGraceSeconds: 864_000,
};

const RANK: Record<HealthLevel, number> = { OK: 0, UNKNOWN: 1, WARN: 2, CRIT: 3 };

/** CRIT > WARN > UNKNOWN > OK: an unknown is worse than a known good, better than a known bad. */
export function worse(a: HealthLevel, b: HealthLevel): HealthLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

export function compareLevel(a: HealthLevel, b: HealthLevel): number {
  return RANK[a] - RANK[b];
}

export function roleOf(facts: EngineFacts | undefined): Role {
  if (!facts) return 'unknown';
  switch (facts.kind) {
    case 'mysql':
      if (facts.mysql.replica) return 'replica';
      return facts.mysql.readOnly ? 'unknown' : 'master';
    case 'cassandra':
      return 'cassandra';
    case 'generic':
      return 'member';
  }
}

export function lagOf(facts: EngineFacts | undefined): number | null {
  return facts?.kind === 'mysql' ? (facts.mysql.replica?.lagSeconds ?? null) : null;
}

export interface NodeHealthInput {
  instance: Instance;
  facts?: EngineFacts;
  metrics?: NodeMetrics;
  /** Why the last probe failed; the facts are then the last good ones. */
  probeError?: string;
  /** Seconds since the last repair (Cassandra); undefined when never repaired. */
  repairAgeSeconds?: number;
  /** A last-repaired tag whose value is not a time. */
  badRepairTag?: string;
  /** The node's probe was sent this many seconds ago and has not answered yet (facts, if any, are from before). */
  waitingSeconds?: number;
}

export function nodeHealth(input: NodeHealthInput, t: Thresholds = DEFAULT_THRESHOLDS): Health {
  const { instance, facts, probeError } = input;
  if (instance.state !== 'running') return { level: 'CRIT', reason: `instance ${instance.state}` };
  if (instance.statusChecks === 'impaired') return { level: 'CRIT', reason: 'EC2 status checks failing' };
  if (probeError) return { level: 'UNKNOWN', reason: `probe failed: ${withoutName(probeError, instance.name)}` };
  const waiting = input.waitingSeconds;
  if (waiting !== undefined && !facts) return { level: 'UNKNOWN', reason: `no answer yet (asked ${waiting} s ago)` };

  const found: Health[] = [];
  if (waiting !== undefined) found.push({ level: 'WARN', reason: `no answer for ${waiting} s (values from its last answer)` });
  if (facts?.kind === 'mysql') found.push(...mysqlHealth(facts.mysql, t));
  if (facts?.kind === 'cassandra') {
    if (facts.cassandra.status !== 'UN') found.push({ level: 'CRIT', reason: `ring status ${facts.cassandra.status}` });
    const down = facts.cassandra.ring.filter((p) => p.status.startsWith('D'));
    if (down.length > 0 && facts.cassandra.status === 'UN') {
      found.push({ level: 'WARN', reason: `sees ${down.length} peer${down.length > 1 ? 's' : ''} down` });
    }
    if (input.badRepairTag !== undefined) {
      found.push({ level: 'WARN', reason: `last-repaired tag "${input.badRepairTag}" is not an ISO-8601 time` });
    } else {
      found.push(...repairHealth(input.repairAgeSeconds, t));
    }
  }
  const cpu = lastValue(input.metrics?.cpu);
  if (cpu !== undefined && cpu > t.cpuWarnPercent) {
    found.push({ level: 'WARN', reason: `cpu ${Math.round(cpu)}% > ${t.cpuWarnPercent}%` });
  }
  if (!facts && instance.statusChecks !== 'ok' && instance.statusChecks !== 'unknown') {
    found.push({ level: 'WARN', reason: `status checks ${instance.statusChecks}` });
  }
  const worst = found.reduce<Health | undefined>((w, h) => (!w || compareLevel(h.level, w.level) > 0 ? h : w), undefined);
  if (worst) return worst;
  return { level: 'OK', reason: okReason(facts) };
}

/**
 * A probe's error without the node's name in front ("db-7: timed out ..."):
 * the reason is shown beside the name already, and at 80 columns the cause
 * is what must fit. "db-7 (ops@host:22): ..." keeps its address.
 */
function withoutName(error: string, name: string): string {
  return error.startsWith(`${name}: `) ? error.slice(name.length + 2) : error;
}

function mysqlHealth(m: MysqlFacts, t: Thresholds): Health[] {
  const out: Health[] = [];
  const r = m.replica;
  if (!r) {
    if (m.readOnly) out.push({ level: 'WARN', reason: 'read-only and not replicating' });
    return out;
  }
  if (r.sqlThread !== 'Yes') {
    const err = r.lastSqlError ? `: ${r.lastSqlError.code} ${shorten(r.lastSqlError.message)}` : '';
    out.push({ level: 'CRIT', reason: `SQL thread stopped${err}` });
  }
  if (r.ioThread !== 'Yes') {
    const state = r.ioThread === 'Connecting' ? 'connecting' : 'stopped';
    const err = r.lastIoError ? `: ${r.lastIoError.code} ${shorten(r.lastIoError.message)}` : '';
    out.push({ level: 'CRIT', reason: `IO thread ${state}${err}` });
  }
  if (r.lagSeconds !== null) {
    if (r.lagSeconds > t.lagCritSeconds) out.push({ level: 'CRIT', reason: `lag ${lagText(r.lagSeconds)} > ${lagText(t.lagCritSeconds)}` });
    else if (r.lagSeconds > t.lagWarnSeconds) out.push({ level: 'WARN', reason: `lag ${lagText(r.lagSeconds)} > ${lagText(t.lagWarnSeconds)}` });
  } else if (r.sqlThread === 'Yes' && r.ioThread === 'Yes') {
    out.push({ level: 'UNKNOWN', reason: 'lag not reported' });
  }
  if (!m.readOnly) out.push({ level: 'WARN', reason: 'replica is writable (read_only=0)' });
  return out;
}

function repairHealth(ageSeconds: number | undefined, t: Thresholds): Health[] {
  if (ageSeconds === undefined) return [{ level: 'WARN', reason: 'never repaired (no last-repaired tag)' }];
  if (ageSeconds > t.gcGraceSeconds) {
    return [{ level: 'WARN', reason: `repair overdue: ${days(ageSeconds)} d > ${days(t.gcGraceSeconds)} d` }];
  }
  return [];
}

function okReason(facts: EngineFacts | undefined): string {
  if (!facts) return 'running';
  switch (facts.kind) {
    case 'mysql': {
      const r = facts.mysql.replica;
      if (r) return `replicating, lag ${r.lagSeconds === null ? '?' : lagText(r.lagSeconds)}`;
      return facts.mysql.readOnly ? 'read-only' : 'writable master';
    }
    case 'cassandra':
      return `UN, ring of ${facts.cassandra.ring.length}`;
    case 'generic':
      return 'running, checks ok';
  }
}

function lastValue(points: { v: number }[] | undefined): number | undefined {
  return points && points.length > 0 ? points[points.length - 1]!.v : undefined;
}

function days(seconds: number): number {
  return Math.floor(seconds / 86_400);
}

/**
 * A thread's error as a reason: MySQL wraps a connect failure in its retry
 * settings (`error reconnecting to master 'repl@db-1:3306' - retry-time: 60
 * maximum-retries: 86400 message: Can't connect … (111 "Connection
 * refused")`); the reason keeps the source and what MySQL said, which is why
 * the replica cannot connect. Screens wrap reasons, so only an error too long
 * to read at a glance is cut (the node screen shows it whole).
 */
function shorten(s: string): string {
  let one = s.replace(/\s+/g, ' ').trim();
  const wrapped = /^error (?:re)?connecting to (?:master|source) '([^']*)'.*? message: (.*)$/i.exec(one);
  if (wrapped) one = `${wrapped[1]}: ${wrapped[2]}`;
  return one.length > REASON_ERROR_CHARS ? `${one.slice(0, REASON_ERROR_CHARS - 1)}…` : one;
}

/** About two lines at 80 columns. */
const REASON_ERROR_CHARS = 160;
