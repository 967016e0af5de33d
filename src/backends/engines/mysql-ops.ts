// The MySQL operations a switchover and a failover make, one short exec of
// the host's own MySQL client each, in the words of the server's flavour and
// version: MariaDB says SLAVE and MASTER; MySQL 8.4 removed those statements
// and says REPLICA and SOURCE (which 8.0 learnt in 8.0.22 and 8.0.23). Every
// call has a time limit and fails with a MysqlOpError naming the node and the
// operation. Values are validated and quoted before they reach SQL; a
// password travels on the client's stdin, never on its command line.

import { formatGtidSet, GtidParseError, parseGtidSet } from '../../domain/gtid.js';
import type { Instance, MysqlFacts, MysqlFlavour } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { BatchParseError, markerSelect, scanSections } from './mysql-batch.js';
import { mysqlCommand } from './mysql.js';

/** A SQL string literal: quotes and backslashes escaped (the server's NO_BACKSLASH_ESCAPES is assumed off). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The node, how its client runs, and what server answers there (from the probe's facts). */
export interface MysqlTarget {
  node: Instance;
  /** `clientsOf(ctx, node).mysqlClient`, e.g. `sudo mysql`. */
  client: string;
  server: Pick<MysqlFacts, 'flavour' | 'version'>;
}

export interface OpOptions {
  signal?: AbortSignal;
  /** Limit of the exec; each operation has its own default. */
  timeoutMs?: number;
}

/** What the statements failed with, when the server (or the client) said why. */
export interface MysqlErrorInfo {
  /** ERROR 1227 (42000): 1227. */
  code: number;
  sqlState: string;
}

export class MysqlOpError extends Error {
  override name = 'MysqlOpError';
  constructor(
    message: string,
    readonly node: string,
    /** The operation in words: "set read_only=ON". */
    readonly op: string,
    readonly mysql?: MysqlErrorInfo,
    /** The client could not reach the server, or ssh the host: nothing ran, another try may work. */
    readonly transient = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------- words

/** The statements' words for this server: MariaDB and MySQL before 8.0.22 say SLAVE, later MySQL REPLICA. */
export interface ReplicationWords {
  replica: 'SLAVE' | 'REPLICA';
  changeSource: 'CHANGE MASTER TO' | 'CHANGE REPLICATION SOURCE TO';
  /** Option prefix of the CHANGE statement. */
  option: 'MASTER_' | 'SOURCE_';
  showStatus: 'SHOW SLAVE STATUS' | 'SHOW REPLICA STATUS';
}

export function replicationWords(server: MysqlTarget['server']): ReplicationWords {
  if (server.flavour === 'mariadb') return { replica: 'SLAVE', changeSource: 'CHANGE MASTER TO', option: 'MASTER_', showStatus: 'SHOW SLAVE STATUS' };
  const replica = versionAtLeast(server.version, 8, 0, 22);
  const source = versionAtLeast(server.version, 8, 0, 23);
  return {
    replica: replica ? 'REPLICA' : 'SLAVE',
    changeSource: source ? 'CHANGE REPLICATION SOURCE TO' : 'CHANGE MASTER TO',
    option: source ? 'SOURCE_' : 'MASTER_',
    showStatus: replica ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
  };
}

function versionAtLeast(version: string, major: number, minor: number, patch: number): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return true; // an unknown form is a new server: the new words
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const want = [major, minor, patch];
  for (let i = 0; i < 3; i++) if (v[i] !== want[i]) return v[i]! > want[i]!;
  return true;
}

// ---------------------------------------------------------------- running SQL

const DEFAULT_TIMEOUT_MS = 15_000;
/**
 * Client errors that mean the server was not reached: nothing ran. Not 2006
 * or 2013 (gone away, lost during the query): a statement may have run.
 */
const UNREACHED = new Set([2002, 2003, 2005]);

interface Run {
  /** SQL to run; its result sets are split by marker SELECTs. */
  sql: string;
  op: string;
  /** Sent on stdin instead of the command line (it holds a secret). */
  viaStdin?: boolean;
  readOnly?: boolean;
  /** Never in an error message: the server quotes a statement back ("near '…'"), password and all. */
  secrets?: string[];
}

/** Runs SQL on the target; resolves with stdout, or rejects with a MysqlOpError. */
async function runSql(shell: Shell, t: MysqlTarget, run: Run, opts: OpOptions, defaultTimeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const { node, client } = t;
  const command = run.viaStdin ? `${client} --batch` : mysqlCommand(client, run.sql);
  let res;
  try {
    res = await shell.exec(node, command, {
      timeoutMs: opts.timeoutMs ?? defaultTimeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(run.readOnly ? { readOnly: true } : {}),
      ...(run.viaStdin ? { stdin: `${run.sql};\n` } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const why = redact((err as Error).message, run.secrets);
    const code = (err as { code?: unknown }).code;
    // A timeout or a dropped channel leaves a mutating statement's outcome unknown: not transient, the step's isDone decides.
    const transient = typeof code === 'string' && /^(connect|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH)$/.test(code);
    throw new MysqlOpError(`${node.name}: ${run.op} failed: ${why}`, node.name, run.op, undefined, transient, { cause: err });
  }
  if (res.code === 0) return res.stdout;
  const line = res.stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  const m = /^ERROR (\d+) \(([0-9A-Z]{5})\)/.exec(line);
  const info = m ? { code: Number(m[1]), sqlState: m[2]! } : undefined;
  const why = redact(line, run.secrets) || `exit code ${res.code ?? res.signal}`;
  throw new MysqlOpError(`${node.name}: ${run.op} failed: ${why}${hint(info, t)}`, node.name, run.op, info, info !== undefined && UNREACHED.has(info.code));
}

function redact(text: string, secrets: string[] | undefined): string {
  let out = text;
  for (const secret of secrets ?? []) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}

/** The next thing to type, for the refusals an operator can act on. */
function hint(info: MysqlErrorInfo | undefined, t: MysqlTarget): string {
  if (!info) return '';
  if (info.code === 1227 || info.code === 1045) return `; the client "${t.client}" needs SUPER (or CONNECTION_ADMIN, REPLICATION_SLAVE_ADMIN): set the host's mysqlClient to one that has it`;
  if (info.code === 1064) return `; the server (${t.server.version}) does not know this statement: check the version the probe reported`;
  if (UNREACHED.has(info.code)) return `; is mysqld running? try: ${t.client} -e 'SELECT 1' on ${t.node.name}`;
  return '';
}

/** The one section's rows of a marker-separated answer. */
function sectionRows(t: MysqlTarget, op: string, out: string, name: string): Array<{ get(column: string): string | null | undefined }> {
  try {
    const section = scanSections(out).get(name);
    if (!section) throw new Error(`no ${name} section in the answer`);
    return [...section.rows];
  } catch (err) {
    const where = err instanceof BatchParseError ? ` (output line ${err.line})` : '';
    throw new MysqlOpError(`${t.node.name}: ${op}: the answer does not parse${where}: ${(err as Error).message}`, t.node.name, op);
  }
}

function flag(t: MysqlTarget, op: string, value: string | null | undefined, column: string): boolean {
  // MariaDB 11.x made read_only an enum whose NO_LOCK forms are read-only too.
  if (value === '1' || value === 'ON' || value === 'NO_LOCK' || value === 'NO_LOCK_NO_ADMIN') return true;
  if (value === '0' || value === 'OFF') return false;
  throw new MysqlOpError(`${t.node.name}: ${op}: ${column} is "${value}", not 0/1`, t.node.name, op);
}

// ---------------------------------------------------------------- read_only

export interface ReadOnlyState {
  readOnly: boolean;
  /** MySQL only. */
  superReadOnly?: boolean;
}

function readOnlySelect(flavour: MysqlFlavour): string {
  return `${markerSelect('ro')}; SELECT @@global.read_only AS read_only${flavour === 'mysql' ? ', @@global.super_read_only AS super_read_only' : ''}`;
}

function parseReadOnly(t: MysqlTarget, op: string, out: string): ReadOnlyState {
  const row = sectionRows(t, op, out, 'ro')[0];
  if (!row) throw new MysqlOpError(`${t.node.name}: ${op}: no read_only row in the answer`, t.node.name, op);
  const state: ReadOnlyState = { readOnly: flag(t, op, row.get('read_only'), 'read_only') };
  if (t.server.flavour === 'mysql') state.superReadOnly = flag(t, op, row.get('super_read_only'), 'super_read_only');
  return state;
}

/**
 * The statements of setReadOnly. On MySQL super_read_only too, so an
 * administrator's session cannot write either; off clears super_read_only
 * first (read_only=0 would do it too, but each statement then says what it
 * does). A read_only=1 waits for running transactions to end: its lock wait
 * is bounded by the operation's limit, so a long transaction fails the step
 * instead of holding writes off past the window.
 */
export function readOnlySql(t: MysqlTarget, isOn: boolean, timeoutMs = DEFAULT_TIMEOUT_MS): string {
  const lockWait = `SET SESSION lock_wait_timeout=${Math.max(1, Math.floor(timeoutMs / 1000) - 2)}`;
  if (t.server.flavour === 'mariadb') return `${lockWait}; SET GLOBAL read_only=${isOn ? 1 : 0}`;
  return isOn
    ? `${lockWait}; SET GLOBAL read_only=1; SET GLOBAL super_read_only=1`
    : `${lockWait}; SET GLOBAL super_read_only=0; SET GLOBAL read_only=0`;
}

/** Makes the server read-only (on) or writable (off); resolves with the state it then reports. */
export async function setReadOnly(shell: Shell, t: MysqlTarget, isOn: boolean, opts: OpOptions = {}): Promise<ReadOnlyState> {
  const op = `set read_only=${isOn ? 'ON' : 'OFF'}`;
  const sql = opSql(t, { kind: 'set-read-only', isOn }, opts.timeoutMs);
  const state = parseReadOnly(t, op, await runSql(shell, t, { sql, op }, opts));
  const isHeld = isOn ? state.readOnly && state.superReadOnly !== false : !state.readOnly && !state.superReadOnly;
  if (!isHeld) throw new MysqlOpError(`${t.node.name}: ${op}: the server still reports ${describeReadOnly(state)}`, t.node.name, op);
  return state;
}

export async function readOnlyState(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<ReadOnlyState> {
  const op = 'read read_only';
  return parseReadOnly(t, op, await runSql(shell, t, { sql: readOnlySelect(t.server.flavour), op, readOnly: true }, opts));
}

export function describeReadOnly(s: ReadOnlyState): string {
  return `read_only=${s.readOnly ? 'ON' : 'OFF'}${s.superReadOnly === undefined ? '' : ` super_read_only=${s.superReadOnly ? 'ON' : 'OFF'}`}`;
}

// ---------------------------------------------------------------- replication threads

export function stopIoThreadSql(t: MysqlTarget): string {
  return `STOP ${replicationWords(t.server).replica} IO_THREAD`;
}
export function stopReplicaSql(t: MysqlTarget): string {
  return `STOP ${replicationWords(t.server).replica}`;
}
export function startReplicaSql(t: MysqlTarget): string {
  return `START ${replicationWords(t.server).replica}`;
}
/** Stops first: both flavours refuse to reset a running replica. */
export function resetReplicaAllSql(t: MysqlTarget): string {
  const w = replicationWords(t.server).replica;
  return `STOP ${w}; RESET ${w} ALL`;
}
/** Promotion: forget replication, then writable. */
export function promoteSql(t: MysqlTarget, timeoutMs?: number): string {
  return `${resetReplicaAllSql(t)}; ${readOnlySql(t, false, timeoutMs)}`;
}

/** Stops the IO thread only (failover: no more relay log, the SQL thread applies what is there). */
export async function stopIoThread(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<void> {
  await runSql(shell, t, { sql: opSql(t, { kind: 'stop-io-thread' }), op: 'stop the IO thread' }, opts);
}

export async function stopReplica(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<void> {
  await runSql(shell, t, { sql: opSql(t, { kind: 'stop-replica' }), op: 'stop replication' }, opts);
}

export async function startReplica(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<void> {
  await runSql(shell, t, { sql: opSql(t, { kind: 'start-replica' }), op: 'start replication' }, opts);
}

export async function resetReplicaAll(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<void> {
  await runSql(shell, t, { sql: opSql(t, { kind: 'reset-replica-all' }), op: 'reset replication' }, opts);
}

/** Stop and forget replication, then writable; resolves with the read-only state the server then reports. */
export async function promote(shell: Shell, t: MysqlTarget, opts: OpOptions = {}): Promise<ReadOnlyState> {
  const op = 'promote';
  const sql = opSql(t, { kind: 'promote' }, opts.timeoutMs);
  const state = parseReadOnly(t, op, await runSql(shell, t, { sql, op }, opts));
  if (state.readOnly || state.superReadOnly) throw new MysqlOpError(`${t.node.name}: ${op}: the server still reports ${describeReadOnly(state)}`, t.node.name, op);
  return state;
}

// ---------------------------------------------------------------- plans

/** The operations whose whole SQL is known before they run (repoint: describeRepoint). */
export type MysqlOp =
  | { kind: 'set-read-only'; isOn: boolean }
  | { kind: 'stop-io-thread' }
  | { kind: 'stop-replica' }
  | { kind: 'start-replica' }
  | { kind: 'reset-replica-all' }
  | { kind: 'promote' }
  | { kind: 'wait-for-gtid'; gtid: string; timeoutSeconds: number };

/** The SQL an operation sends, read-backs included: what runs is what the plan shows. */
export function opSql(t: MysqlTarget, op: MysqlOp, timeoutMs?: number): string {
  switch (op.kind) {
    case 'set-read-only':
      return `${readOnlySql(t, op.isOn, timeoutMs)}; ${readOnlySelect(t.server.flavour)}`;
    case 'stop-io-thread':
      return stopIoThreadSql(t);
    case 'stop-replica':
      return stopReplicaSql(t);
    case 'start-replica':
      return startReplicaSql(t);
    case 'reset-replica-all':
      return resetReplicaAllSql(t);
    case 'promote':
      return `${promoteSql(t, timeoutMs)}; ${readOnlySelect(t.server.flavour)}`;
    case 'wait-for-gtid':
      return waitForGtidSql(t, op.gtid, op.timeoutSeconds);
  }
}

/** A step's plan line: the node and the exact command the operation runs there (pass the step's timeoutMs, if any). */
export function describeOp(t: MysqlTarget, op: MysqlOp, timeoutMs?: number): string {
  return `${t.node.name}: ${mysqlCommand(t.client, opSql(t, op, timeoutMs))}`;
}

// ---------------------------------------------------------------- GTID wait

export type GtidWaitOutcome = { reached: true; waitedMs: number } | { reached: false; timedOutAfterSeconds: number };

/**
 * The position in the form the flavour's wait takes, validated: a MariaDB
 * domain-server-seq list or a MySQL GTID set. Anything else throws, so no
 * text reaches the SQL unchecked.
 */
export function gtidForWait(t: MysqlTarget, gtid: string): string {
  try {
    return formatGtidSet(parseGtidSet(t.server.flavour, gtid));
  } catch (err) {
    if (err instanceof GtidParseError) {
      throw new MysqlOpError(`${t.node.name}: wait for GTID: "${gtid}" is not a ${t.server.flavour === 'mariadb' ? 'MariaDB GTID position' : 'MySQL GTID set'}: ${err.message}`, t.node.name, 'wait for GTID');
    }
    throw err;
  }
}

export function waitForGtidSql(t: MysqlTarget, gtid: string, timeoutSeconds: number): string {
  const fn = t.server.flavour === 'mariadb' ? 'MASTER_GTID_WAIT' : 'WAIT_FOR_EXECUTED_GTID_SET';
  const seconds = Math.max(0, Math.ceil(timeoutSeconds));
  return `${markerSelect('wait')}; SELECT ${fn}(${sqlString(gtidForWait(t, gtid))}, ${seconds}) AS reached`;
}

/**
 * Waits until the server has executed `gtid` (MariaDB: MASTER_GTID_WAIT on a
 * position; MySQL: WAIT_FOR_EXECUTED_GTID_SET on a set), up to
 * `timeoutSeconds` on the server. A timeout is an outcome, not an error.
 */
export async function waitForGtid(
  shell: Shell,
  t: MysqlTarget,
  gtid: string,
  timeoutSeconds: number,
  /** `clock`: the fleet's (the simulated one is virtual), for waitedMs. */
  opts: OpOptions & { clock?: { now(): number } } = {},
): Promise<GtidWaitOutcome> {
  const op = `wait for GTID ${gtid}`;
  const sql = opSql(t, { kind: 'wait-for-gtid', gtid, timeoutSeconds });
  const now = opts.clock ? () => opts.clock!.now() : Date.now;
  const started = now();
  // The exec outlives the server's own wait, so the server's answer, not the channel, says "timed out".
  const out = await runSql(shell, t, { sql, op, readOnly: true }, opts, Math.ceil(timeoutSeconds) * 1000 + DEFAULT_TIMEOUT_MS);
  const value = sectionRows(t, op, out, 'wait')[0]?.get('reached');
  if (value === '0') return { reached: true, waitedMs: now() - started };
  // MariaDB answers -1 on timeout, MySQL 1.
  if (value === '-1' || value === '1') return { reached: false, timedOutAfterSeconds: Math.max(0, Math.ceil(timeoutSeconds)) };
  throw new MysqlOpError(`${t.node.name}: ${op}: the server answered ${value === null ? 'NULL' : `"${value}"`} (is GTID replication on?)`, t.node.name, op);
}

// ---------------------------------------------------------------- repoint

export interface RepointSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  /** MariaDB only: sets gtid_strict_mode before replication starts (undefined: left as it is). */
  gtidStrictMode?: boolean;
  /**
   * MariaDB only: the node was the master. Its own writes are in its binlog,
   * not in gtid_slave_pos, so that position is set from gtid_binlog_pos first;
   * otherwise the new master would send them back to it.
   */
  wasMaster?: boolean;
  /** Replicate over TLS (`SOURCE_SSL=1` / `MASTER_SSL=1`); the server must have a certificate. */
  tls?: boolean;
  /**
   * MySQL only: fetch the source's RSA key for the password exchange
   * (`GET_SOURCE_PUBLIC_KEY=1`). MySQL 8's default caching_sha2_password
   * refuses a replica that never connected before (an old master) over a
   * plain connection unless it has this or `tls`.
   */
  getSourcePublicKey?: boolean;
  /**
   * A node restored from a backup: replication starts where the backup
   * stood. With a GTID position, MariaDB sets gtid_slave_pos to it; MySQL
   * empties its own binlog and GTID history and sets gtid_purged to it
   * (RESET MASTER, 8.4: RESET BINARY LOGS AND GTIDS), then auto-positions.
   * Without one, the master's binlog file and position.
   */
  startAt?: { gtid?: string; file?: string; pos?: number };
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$|^[0-9a-fA-F:]+$/;
const USER = /^[^'\\\n\0]{1,80}$/;

function checkSpec(t: MysqlTarget, spec: RepointSpec): void {
  const op = 'repoint';
  const bad = (what: string) => new MysqlOpError(`${t.node.name}: ${op}: ${what}`, t.node.name, op);
  if (!HOST.test(spec.host)) throw bad(`source host "${spec.host}" is not a host name or address`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) throw bad(`source port ${spec.port} is not a port`);
  if (!USER.test(spec.user)) throw bad(`replication user "${spec.user}" is empty or holds a quote, backslash or newline`);
  const at = spec.startAt;
  if (at) {
    if (at.gtid !== undefined) gtidForWait(t, at.gtid);
    else if (at.file === undefined || !/^[\w.-]{1,255}$/.test(at.file) || !Number.isInteger(at.pos) || (at.pos ?? -1) < 4) {
      throw bad(`start position ${at.file ?? '(no file)'}:${at.pos ?? '(no position)'} is not a binlog file and position`);
    }
  }
  if (spec.password === '' || /[\n\0]/.test(spec.password)) throw bad('the replication password is empty or holds a newline');
}

/** The statements, with the password in place (sent on stdin only) or as `[redacted]` (for the plan). */
function repointStatements(t: MysqlTarget, spec: RepointSpec, password: string, binlogPos?: string): string[] {
  const w = replicationWords(t.server);
  const o = w.option;
  const statements = [`STOP ${w.replica}`];
  const isMaria = t.server.flavour === 'mariadb';
  if (isMaria && spec.gtidStrictMode !== undefined) statements.push(`SET GLOBAL gtid_strict_mode=${spec.gtidStrictMode ? 1 : 0}`);
  if (isMaria && spec.wasMaster) statements.push(`SET GLOBAL gtid_slave_pos=${binlogPos === undefined ? '@@gtid_binlog_pos' : sqlString(binlogPos)}`);
  let position = isMaria ? 'MASTER_USE_GTID=slave_pos' : `${o}AUTO_POSITION=1`;
  const at = spec.startAt;
  if (at?.gtid !== undefined) {
    const gtid = sqlString(gtidForWait(t, at.gtid));
    if (isMaria) statements.push(`SET GLOBAL gtid_slave_pos=${gtid}`);
    else statements.push(versionAtLeast(t.server.version, 8, 4, 0) ? 'RESET BINARY LOGS AND GTIDS' : 'RESET MASTER', `SET GLOBAL gtid_purged=${gtid}`);
  } else if (at) {
    position = `${o}LOG_FILE=${sqlString(at.file!)}, ${o}LOG_POS=${at.pos!}, ${isMaria ? 'MASTER_USE_GTID=no' : `${o}AUTO_POSITION=0`}`;
  }
  let extra = spec.tls === undefined ? '' : `, ${o}SSL=${spec.tls ? 1 : 0}`;
  if (!isMaria && spec.getSourcePublicKey !== undefined) extra += `, GET_${o}PUBLIC_KEY=${spec.getSourcePublicKey ? 1 : 0}`;
  statements.push(
    `${w.changeSource} ${o}HOST=${sqlString(spec.host)}, ${o}PORT=${spec.port}, ${o}USER=${sqlString(spec.user)}, ${o}PASSWORD=${password}, ${position}${extra}`,
    `START ${w.replica}`,
  );
  return statements;
}

/** The plan line of repoint: the statements it sends, the password shown as [redacted]. */
export function describeRepoint(t: MysqlTarget, spec: RepointSpec): string {
  checkSpec(t, spec);
  // Quoted as the real one is: unquoted, a redactor's `NAME=value` rule would take the comma after it too.
  return `${t.node.name}: ${t.client} --batch < (${repointStatements(t, spec, "'[redacted]'").join('; ')})`;
}

/**
 * Points the node at a new source with GTID auto-positioning and starts
 * replication. The statements go on the client's stdin: the password must
 * not be on a command line, where `ps` on the node would show it.
 */
export async function repoint(shell: Shell, t: MysqlTarget, spec: RepointSpec, opts: OpOptions = {}): Promise<void> {
  checkSpec(t, spec);
  let binlogPos: string | undefined;
  if (t.server.flavour === 'mariadb' && spec.wasMaster) {
    const op = 'read gtid_binlog_pos';
    const out = await runSql(shell, t, { sql: `${markerSelect('pos')}; SELECT @@gtid_binlog_pos AS pos`, op, readOnly: true }, opts);
    binlogPos = gtidForWait(t, sectionRows(t, op, out, 'pos')[0]?.get('pos') ?? '');
  }
  const sql = repointStatements(t, spec, sqlString(spec.password), binlogPos).join(';\n');
  // Quoted too, as the server would echo it back in an error.
  const secrets = [spec.password, sqlString(spec.password).slice(1, -1)];
  await runSql(shell, t, { sql, op: `repoint to ${spec.host}:${spec.port}`, viaStdin: true, secrets }, opts);
}

// ---------------------------------------------------------------- client connections

export interface Connection {
  id: number;
  user: string;
  host: string;
  command: string;
}

/** Users and commands that are the server's own or replication's: never killed. */
const SYSTEM_USERS = new Set(['system user', 'event_scheduler', 'unauthenticated user']);
const SYSTEM_COMMANDS = new Set(['Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Connect']);

export async function listClientConnections(shell: Shell, t: MysqlTarget, keepUsers: readonly string[] = [], opts: OpOptions = {}): Promise<Connection[]> {
  const op = 'list client connections';
  const sql = `${markerSelect('self')}; SELECT CONNECTION_ID() AS id; ${markerSelect('list')}; SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command FROM information_schema.PROCESSLIST`;
  const out = await runSql(shell, t, { sql, op, readOnly: true }, opts);
  const self = sectionRows(t, op, out, 'self')[0]?.get('id');
  const keep = new Set(keepUsers);
  return sectionRows(t, op, out, 'list')
    .map((r) => ({ id: Number(r.get('id')), user: r.get('user') ?? '', host: r.get('host') ?? '', command: r.get('command') ?? '' }))
    .filter((c) => Number.isSafeInteger(c.id) && String(c.id) !== self && !SYSTEM_USERS.has(c.user) && !SYSTEM_COMMANDS.has(c.command) && !keep.has(c.user));
}

/**
 * Kills the connections of non-system users (optional in a switchover: the
 * application's sessions on the old master would otherwise hold on to it),
 * keeping `keepUsers` and replication's own. Resolves with how many it
 * killed; one that ended on its own between the list and the kill is not counted.
 */
export async function killClientConnections(shell: Shell, t: MysqlTarget, keepUsers: readonly string[] = [], opts: OpOptions = {}): Promise<{ killed: number; gone: number }> {
  const conns = await listClientConnections(shell, t, keepUsers, opts);
  if (conns.length === 0) return { killed: 0, gone: 0 };
  const op = `kill ${conns.length} client connection${conns.length === 1 ? '' : 's'}`;
  // One statement a line, so the client's "at line N" names the connection; --force goes on past one that is gone.
  const sql = conns.map((c) => `KILL CONNECTION ${c.id}`).join(';\n');
  const res = await shell.exec(t.node, mysqlCommand(`${t.client} --force`, sql), { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) }).catch((err: unknown) => {
    if (opts.signal?.aborted) throw err;
    throw new MysqlOpError(`${t.node.name}: ${op} failed: ${(err as Error).message}`, t.node.name, op, undefined, false, { cause: err });
  });
  const errors = res.stderr.split('\n').filter((l) => /^ERROR \d+/.test(l));
  const other = errors.filter((l) => !/^ERROR 1094 /.test(l));
  if (other.length > 0) {
    const m = /^ERROR (\d+) \(([0-9A-Z]{5})\)/.exec(other[0]!)!;
    const info = { code: Number(m[1]), sqlState: m[2]! };
    throw new MysqlOpError(`${t.node.name}: ${op} failed: ${other[0]}${hint(info, t)}`, t.node.name, op, info);
  }
  return { killed: conns.length - errors.length, gone: errors.length };
}

// ---------------------------------------------------------------- heartbeat

/** Created if missing when `engines.heartbeatTable` names none. */
export const DEFAULT_HEARTBEAT_TABLE = 'nightshift.heartbeat';

export interface Heartbeat {
  table: string;
  /** The writer's server_id: the row's key. */
  serverId: number;
  /** What was written in `ts`, as pt-heartbeat writes it (UTC, microseconds). */
  ts: string;
}

function quotedTable(t: MysqlTarget, table: string): string {
  if (!/^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$/.test(table)) {
    throw new MysqlOpError(`${t.node.name}: heartbeat: "${table}" is not schema.table`, t.node.name, 'heartbeat');
  }
  return table
    .split('.')
    .map((p) => `\`${p}\``)
    .join('.');
}

/** `2026-12-05T06:46:08.123000`: pt-heartbeat's `ts` form, which sorts as text. */
export function heartbeatTs(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

/**
 * The statements of writeHeartbeat. The default table is created if missing;
 * a configured one must have pt-heartbeat's `server_id` (its key) and `ts`.
 */
export function heartbeatWriteSql(t: MysqlTarget, table: string, serverId: number, ts: string): string {
  const q = quotedTable(t, table);
  const create =
    table === DEFAULT_HEARTBEAT_TABLE
      ? `CREATE DATABASE IF NOT EXISTS \`nightshift\`; CREATE TABLE IF NOT EXISTS ${q} (server_id INT UNSIGNED NOT NULL PRIMARY KEY, ts VARCHAR(26) NOT NULL); `
      : '';
  return `${create}REPLACE INTO ${q} (server_id, ts) VALUES (${serverId}, ${sqlString(ts)})`;
}

/**
 * Writes a heartbeat row on the (new) master: a transaction like any other,
 * that each replica must then show (readHeartbeat) for the switch to count as done.
 */
export async function writeHeartbeat(shell: Shell, t: MysqlTarget, table: string, at: number, opts: OpOptions = {}): Promise<Heartbeat> {
  const op = `write a heartbeat to ${table}`;
  const idOut = await runSql(shell, t, { sql: `${markerSelect('id')}; SELECT @@server_id AS server_id`, op, readOnly: true }, opts);
  const serverId = Number(sectionRows(t, op, idOut, 'id')[0]?.get('server_id'));
  if (!Number.isSafeInteger(serverId) || serverId < 0) throw new MysqlOpError(`${t.node.name}: ${op}: @@server_id is not a number`, t.node.name, op);
  const ts = heartbeatTs(at);
  await runSql(shell, t, { sql: heartbeatWriteSql(t, table, serverId, ts), op }, opts);
  return { table, serverId, ts };
}

export type HeartbeatSeen = { arrived: true; ts: string } | { arrived: false; ts: string | null };

/** Whether this node shows `beat` (or a later row of the same writer): read-only, one exec; a replica still without the table reads as not arrived. */
export async function readHeartbeat(shell: Shell, t: MysqlTarget, beat: Heartbeat, opts: OpOptions = {}): Promise<HeartbeatSeen> {
  const op = `read the heartbeat from ${beat.table}`;
  const sql = `${markerSelect('hb')}; SELECT ts FROM ${quotedTable(t, beat.table)} WHERE server_id = ${Math.trunc(beat.serverId)}`;
  let out: string;
  try {
    out = await runSql(shell, t, { sql, op, readOnly: true }, opts);
  } catch (err) {
    // The CREATE TABLE has not reached this replica yet: nothing arrived.
    if (err instanceof MysqlOpError && (err.mysql?.code === 1146 || err.mysql?.code === 1049)) return { arrived: false, ts: null };
    throw err;
  }
  const ts = sectionRows(t, op, out, 'hb')[0]?.get('ts') ?? null;
  return ts !== null && ts >= beat.ts ? { arrived: true, ts } : { arrived: false, ts };
}

// ---------------------------------------------------------------- convenience

/** The target for a node whose facts the probe gave. */
export function mysqlTarget(node: Instance, client: string, facts: Pick<MysqlFacts, 'flavour' | 'version'>): MysqlTarget {
  return { node, client, server: { flavour: facts.flavour, version: facts.version } };
}
