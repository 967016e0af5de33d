// A simulated MySQL 8 / MariaDB server answering what `mysql --batch -e`
// sends: the probes' SELECTs and SHOWs, and what the switchover, failover and
// rebuild runbooks change (read_only, replica threads, CHANGE MASTER / SOURCE,
// GTID waits). Each flavour answers with its own column names, variables and
// errors, so a runbook that would fail on one flavour fails here too.

import type { MysqlFlavour } from '../../domain/types.js';
import { escapeBatchValue } from '../engines/mysql-batch.js';
import { isoSeconds } from './fleet.js';
import {
  GtidSyntaxError,
  mariadbBinlogState,
  mariadbGtidPos,
  mariadbPosReached,
  mysqlGtidSet,
  mysqlSetContains,
  mysqlSubtract,
  parseMariadbGtidPos,
  parseMysqlGtidSet,
} from './gtid.js';
import {
  affected,
  binlogTransactions,
  executed,
  materialize,
  recordWrite,
  replicaProgress,
  seqAt,
  sourceAt,
  sourceOf,
  sqlApplying,
  updateWriters,
  type Knowledge,
} from './replication.js';
import { nearText, optionList, selectItem, splitStatements, splitTopLevel, stringLiteral } from './sql-text.js';
import type { ExecContext } from './exec-context.js';
import type { MysqlNode, ReplicaConfig, TableWrite, WorldState } from './state.js';
import type { SimWorld } from './world.js';

export class SqlError extends Error {
  constructor(
    readonly code: number,
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SqlRunOptions {
  ctx: ExecContext;
  skipColumnNames?: boolean;
  /** The client's --force: go on past a failed statement, report each, exit 1 at the end. */
  force?: boolean;
  /** This client's connection (CONNECTION_ID()); given on the first statement. */
  connectionId?: number;
}

/** Connection ids handed out by the simulated servers, as a server counts its connections. */
let lastConnectionId = 1000;

export interface SqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Session {
  sqlLogBin: boolean;
}

type Value = string | null;

const MAX_BINLOG = 1_073_741_824;
const SPECIAL = /[\\\t\n\0]/;

/**
 * Byte for byte what formatBatch (engines/mysql-batch.ts) prints, without a
 * regex pass over every clean value: thousands of probes a tick go through here.
 */
export function formatBatch(columns: string[], rows: Array<Array<string | null>>): string {
  if (rows.length === 0) return '';
  let out = columns.join('\t');
  for (const row of rows) out += `\n${formatRow(row)}`;
  return `${out}\n`;
}

/** A result of one row under a header line made once (the probes' result sets, thousands a refresh). */
function oneRow(header: string, row: Value[]): string {
  return `${header}\n${formatRow(row)}\n`;
}

/** One row's line, without its newline. */
function formatRow(row: Array<string | null>): string {
  const cells = new Array<string>(row.length);
  for (let i = 0; i < row.length; i++) cells[i] = cell(row[i] as Value);
  return cells.join('\t');
}

/** A value as --batch prints it. Empty cells, half of SHOW REPLICA STATUS, skip the scan. */
function cell(v: Value): string {
  if (v === null) return 'NULL';
  if (v.length === 0 || !SPECIAL.test(v)) return v;
  // The values that need escaping are MySQL GTID sets (",\n" between servers), and the probe
  // prints a node's set twice in a row (gtid_executed, then SHOW MASTER STATUS) as one and the
  // same string object: the last escape is kept (comparing a string with itself is instant).
  if (v !== lastEscape.raw) lastEscape = { raw: v, escaped: escapeBatchValue(v) };
  return lastEscape.escaped;
}

let lastEscape = { raw: '', escaped: '' };

const CACHE_LIMIT = 256;
const scripts = new Map<string, Prepared[]>();
const selectLists = new Map<string, CompiledSelect>();

function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= CACHE_LIMIT) map.clear();
    map.set(key, (v = make()));
  }
  return v;
}

/**
 * Not async: a probe's statements all answer at once. Only a statement that
 * waits (SLEEP, a GTID wait) makes the rest of the script wait for it.
 */
export function runSql(world: SimWorld, id: string, script: string, opts: SqlRunOptions): SqlResult | Promise<SqlResult> {
  const node = world.view().mysql[id];
  if (!node || !world.mysqlUp(id)) {
    const local = node?.flavour === 'mysql' ? "Can't connect to local MySQL server through socket '/var/run/mysqld/mysqld.sock' (2)" : "Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)";
    return { code: 1, stdout: '', stderr: `ERROR 2002 (HY000): ${local}\n` };
  }
  let statements = scripts.get(script);
  if (statements === undefined) {
    if (scripts.size >= CACHE_LIMIT) scripts.clear();
    scripts.set(script, (statements = prepare(script)));
  }
  opts.connectionId ??= ++lastConnectionId;
  return runStatements(world, id, statements, 0, '', { sqlLogBin: true }, opts);
}

/** Runs statements[from..] after `stdout` was printed; the client stops at the first error. */
function runStatements(world: SimWorld, id: string, statements: Prepared[], from: number, stdout: string, session: Session, opts: SqlRunOptions, stderr = ''): SqlResult | Promise<SqlResult> {
  for (let i = from; i < statements.length; i++) {
    const st = statements[i]!;
    let answer: string | Promise<string>;
    try {
      answer = statement(world, id, st, session, opts);
    } catch (err) {
      const f = failed(err, st, stdout);
      if (!opts.force) return { ...f, stderr: stderr + f.stderr };
      stderr += f.stderr;
      continue;
    }
    if (typeof answer !== 'string') {
      const before = stdout;
      return answer.then(
        (out) => runStatements(world, id, statements, i + 1, before + printed(out, opts), session, opts, stderr),
        (err: unknown) => {
          const f = failed(err, st, before);
          if (!opts.force) return { ...f, stderr: stderr + f.stderr };
          return runStatements(world, id, statements, i + 1, before, session, opts, stderr + f.stderr);
        },
      );
    }
    stdout += printed(answer, opts);
  }
  return { code: stderr ? 1 : 0, stdout, stderr };
}

function printed(out: string, opts: SqlRunOptions): string {
  if (!out) return '';
  return opts.skipColumnNames ? out.slice(out.indexOf('\n') + 1) : out;
}

/** A statement's SqlError ends the script as the client reports it; anything else is a bug, thrown on. */
function failed(err: unknown, st: Prepared, stdout: string): SqlResult {
  if (err instanceof SqlError) {
    return { code: 1, stdout, stderr: `ERROR ${err.code} (${err.sqlState}) at line ${st.line}: ${err.message}\n` };
  }
  throw err;
}

function flavourOf(world: SimWorld, id: string): MysqlNode {
  return world.view().mysql[id]!;
}

function syntaxError(node: MysqlNode, text: string): SqlError {
  const product = node.flavour === 'mariadb' ? 'MariaDB' : 'MySQL';
  return new SqlError(1064, '42000', `You have an error in your SQL syntax; check the manual that corresponds to your ${product} server version for the right syntax to use near '${nearText(text)}' at line 1`);
}

const mysql84ByVersion = new Map<string, boolean>();

function isMysql84(node: MysqlNode): boolean {
  if (node.flavour !== 'mysql') return false;
  let is = mysql84ByVersion.get(node.version);
  if (is === undefined) {
    const m = /^(\d+)\.(\d+)/.exec(node.version);
    is = !!m && (Number(m[1]) > 8 || (Number(m[1]) === 8 && Number(m[2]) >= 4));
    mysql84ByVersion.set(node.version, is);
  }
  return is;
}

interface Prepared {
  text: string;
  line: number;
  /** Whitespace collapsed. */
  sql: string;
  upper: string;
  selectList?: string;
  /** What the SELECT list comes to, worked out on first use (the same script runs thousands of times a refresh). */
  select?: SelectPlan;
}

function prepare(script: string): Prepared[] {
  return splitStatements(script).map((st) => {
    const sql = st.text.replace(/\s+/g, ' ').trim();
    const p: Prepared = { text: st.text, line: st.line, sql, upper: sql.toUpperCase() };
    const m = /^SELECT\s(.+)$/is.exec(st.text.trim());
    if (m) p.selectList = m[1]!;
    return p;
  });
}

function statement(world: SimWorld, id: string, st: Prepared, session: Session, opts: SqlRunOptions): string | Promise<string> {
  const node = flavourOf(world, id);
  const sql = st.sql;
  let m: RegExpExecArray | null;

  if (st.selectList !== undefined) {
    const plan = (st.select ??= planSelect(st.selectList));
    if (plan.missingTable !== undefined) return fromTable(world, id, plan.missingTable, st, opts);
    return select(world, id, plan, opts);
  }

  // The probes' statements first, by plain comparison: they run thousands of times a tick.
  switch (st.upper) {
    case 'SHOW MASTER STATUS':
      if (isMysql84(node)) throw syntaxError(node, 'MASTER STATUS');
      return showMasterStatus(world, id);
    case 'SHOW BINARY LOG STATUS':
      if (node.flavour === 'mariadb') throw syntaxError(node, 'BINARY LOG STATUS');
      return showMasterStatus(world, id);
    case 'SHOW BINLOG STATUS':
      if (node.flavour === 'mysql') throw syntaxError(node, 'BINLOG STATUS');
      return showMasterStatus(world, id);
    case 'SHOW SLAVE STATUS':
      if (isMysql84(node)) throw syntaxError(node, 'SLAVE STATUS');
      return showReplicaStatus(world, id, node.flavour === 'mysql');
    case 'SHOW REPLICA STATUS':
      return showReplicaStatus(world, id, false);
  }
  if ((m = /^SHOW (?:GLOBAL |SESSION )?VARIABLES(?: LIKE (.+))?$/i.exec(sql))) {
    const pattern = m[1] === undefined ? '%' : stringLiteral(m[1]);
    if (pattern === undefined) throw syntaxError(node, m[1]!);
    const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 'i');
    const rows = VARIABLE_NAMES.filter((n) => re.test(n))
      .map((n) => [n, variable(world, id, n, 'show')] as [string, Value | undefined])
      .filter((r): r is [string, Value] => r[1] !== undefined);
    return formatBatch(['Variable_name', 'Value'], rows);
  }
  if ((m = /^SET (.+)$/is.exec(sql))) return set(world, id, m[1]!, session);
  if ((m = /^(STOP|START) (SLAVE|REPLICA)(?: (IO_THREAD|SQL_THREAD)(?: ?, ?(IO_THREAD|SQL_THREAD))?)?$/i.exec(sql))) {
    if (m[2]!.toUpperCase() === 'SLAVE' && isMysql84(node)) throw syntaxError(node, sql.slice(m[1]!.length + 1));
    const threads = new Set([m[3], m[4]].filter(Boolean).map((s) => s!.toUpperCase()));
    const io = threads.size === 0 || threads.has('IO_THREAD');
    const sqlThread = threads.size === 0 || threads.has('SQL_THREAD');
    return m[1]!.toUpperCase() === 'STOP' ? stopReplica(world, id, io, sqlThread) : startReplica(world, id, io, sqlThread);
  }
  if ((m = /^RESET (SLAVE|REPLICA)( ALL)?$/i.exec(sql))) {
    if (m[1]!.toUpperCase() === 'SLAVE' && isMysql84(node)) throw syntaxError(node, sql.slice(6));
    return resetReplica(world, id, !!m[2]);
  }
  if (/^(RESET MASTER|RESET BINARY LOGS AND GTIDS)$/i.test(sql)) {
    if (/MASTER/i.test(sql) && isMysql84(node)) throw syntaxError(node, 'MASTER');
    if (/BINARY/i.test(sql) && node.flavour === 'mariadb') throw syntaxError(node, 'BINARY LOGS AND GTIDS');
    return resetMaster(world, id);
  }
  if ((m = /^CHANGE (MASTER|REPLICATION SOURCE) TO (.+)$/is.exec(sql))) {
    const word = m[1]!.toUpperCase();
    if (word === 'MASTER' && isMysql84(node)) throw syntaxError(node, sql.slice(7));
    if (word !== 'MASTER' && node.flavour === 'mariadb') throw syntaxError(node, sql.slice(7));
    return changeSource(world, id, m[2]!);
  }
  if (/^FLUSH /i.test(sql)) return '';
  if ((m = /^KILL (?:(CONNECTION|QUERY) )?(\S+)$/i.exec(sql))) return kill(world, id, m[2]!, (m[1] ?? 'CONNECTION').toUpperCase() === 'QUERY', opts);
  if ((m = /^CREATE TABLE (IF NOT EXISTS )?([`\w$.]+)\s*\(/i.exec(sql))) return createTable(world, id, m[2]!, !!m[1], session);
  if ((m = /^(?:REPLACE|INSERT) INTO ([`\w$.]+)\s*\(\s*`?server_id`?\s*,\s*`?ts`?\s*\) VALUES \((.*)\)$/i.exec(sql))) return writeHeartbeatRow(world, id, m[1]!, m[2]!, session);
  if (/^(INSERT|REPLACE|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE) /i.test(sql)) {
    write(world, id, session);
    return '';
  }
  throw syntaxError(node, sql);
}

// ---------------------------------------------------------------- SELECT

interface CompiledSelect {
  columns: string[];
  /** The columns' header line. */
  header: string;
  exprs: Expr[];
  /** The whole answer, when every item is a constant (the probes' section markers). */
  constant?: string;
  /** Some item calls a function, which may wait. */
  hasCall: boolean;
}

function compileSelect(list: string): CompiledSelect {
  const items = splitTopLevel(list).map(selectItem);
  const exprs = items.map((i) => cached(exprsByText, i.expr, () => compileExpr(i.expr.trim())));
  const columns = items.map((i) => i.column);
  const compiled: CompiledSelect = { columns, header: columns.join('\t'), exprs, hasCall: exprs.some((e) => e.kind === 'call') };
  if (exprs.every((e) => e.kind === 'value')) {
    compiled.constant = formatBatch(
      columns,
      [exprs.map((e) => (e as { value: Value }).value)],
    );
  }
  return compiled;
}

interface SelectPlan {
  /** FROM names a table other than dual: this server has none. */
  missingTable?: string;
  compiled?: CompiledSelect;
}

function planSelect(list: string): SelectPlan {
  if (/\sFROM\s/i.test(list)) {
    const table = /\sFROM\s+([`\w.]+)/i.exec(list)?.[1]?.replace(/`/g, '') ?? '?';
    if (!/^dual$/i.test(table)) return { missingTable: table };
    list = list.replace(/\sFROM\s+dual\s*$/i, '');
  }
  return { compiled: cached(selectLists, list, () => compileSelect(list)) };
}

function select(world: SimWorld, id: string, plan: SelectPlan, opts: SqlRunOptions): string | Promise<string> {
  const node = flavourOf(world, id);
  const table = plan.missingTable;
  if (table !== undefined) throw new SqlError(1146, '42S02', `Table '${table.includes('.') ? table : `mysql.${table}`}' doesn't exist`);
  const compiled = plan.compiled!;
  if (compiled.constant !== undefined) return compiled.constant;
  if (!compiled.hasCall) {
    const cells = new Array<string>(compiled.exprs.length);
    for (let i = 0; i < cells.length; i++) cells[i] = cell(evaluateNow(world, id, compiled.exprs[i]!, node));
    return `${compiled.header}\n${cells.join('\t')}\n`;
  }
  return (async () => {
    const row: Value[] = [];
    for (const e of compiled.exprs) row.push(await evaluate(world, id, e, opts, node));
    return oneRow(compiled.header, row);
  })();
}

type Expr =
  | { kind: 'value'; value: Value }
  | { kind: 'now' }
  | { kind: 'var'; name: string; written: string }
  | { kind: 'call'; fn: string; written: string; args: string[] }
  | { kind: 'column'; name: string }
  | { kind: 'syntax'; text: string };

const exprsByText = new Map<string, Expr>();

/** Classifies an expression once; the probes send the same few thousands of times a tick. */
function compileExpr(e: string): Expr {
  const lit = stringLiteral(e);
  if (lit !== undefined) return { kind: 'value', value: lit };
  if (/^-?\d+(\.\d+)?$/.test(e)) return { kind: 'value', value: e };
  if (/^NULL$/i.test(e)) return { kind: 'value', value: null };
  if (/^TRUE$/i.test(e)) return { kind: 'value', value: '1' };
  if (/^FALSE$/i.test(e)) return { kind: 'value', value: '0' };
  if (/^(CURRENT_TIMESTAMP|NOW\(\)|UTC_TIMESTAMP\(\d?\)|SYSDATE\(\))$/i.test(e)) return { kind: 'now' };
  let m = /^@@(?:(global|session|local)\.)?([A-Za-z_][A-Za-z0-9_]*)$/i.exec(e);
  if (m) return { kind: 'var', name: canonicalVariable(m[2]!.toLowerCase()), written: m[2]! };
  m = /^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$/s.exec(e);
  if (m) return { kind: 'call', fn: m[1]!.toUpperCase(), written: m[1]!, args: m[2]!.trim() === '' ? [] : splitTopLevel(m[2]!) };
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)) return { kind: 'column', name: e };
  return { kind: 'syntax', text: e };
}

async function evaluate(world: SimWorld, id: string, expr: string | Expr, opts: SqlRunOptions, node: MysqlNode): Promise<Value> {
  const c = typeof expr === 'string' ? cached(exprsByText, expr, () => compileExpr(expr.trim())) : expr;
  if (c.kind !== 'call') return evaluateNow(world, id, c, node);
  const args: Value[] = [];
  for (const a of c.args) args.push(await evaluate(world, id, a, opts, node));
  return callFunction(world, id, c.fn, c.written, args, opts, node);
}

/** Everything but a function call, which may wait. */
function evaluateNow(world: SimWorld, id: string, c: Expr, node: MysqlNode): Value {
  switch (c.kind) {
    case 'value':
      return c.value;
    case 'now':
      return sqlTime(world.now());
    case 'var': {
      const v = variable(world, id, c.name, 'select');
      if (v === undefined) throw new SqlError(1193, 'HY000', `Unknown system variable '${c.written}'`);
      return v;
    }
    case 'call':
      throw new Error(`${c.written}() can wait: evaluate it asynchronously`);
    case 'column':
      throw new SqlError(1054, '42S22', `Unknown column '${c.name}' in 'field list'`);
    case 'syntax':
      throw syntaxError(node, c.text);
  }
}

async function callFunction(world: SimWorld, id: string, fn: string, written: string, args: Value[], opts: SqlRunOptions, node: MysqlNode): Promise<Value> {
  const missing = () => new SqlError(1305, '42000', `FUNCTION ${written.toLowerCase()} does not exist`);
  switch (fn) {
    case 'VERSION':
      return node.version;
    case 'CONNECTION_ID':
      return String(opts.connectionId ?? 0);
    case 'SLEEP':
      await opts.ctx.sleepUntil(world.now() + Number(args[0] ?? 0) * 1000);
      return '0';
    case 'MASTER_GTID_WAIT': {
      if (node.flavour !== 'mariadb') throw missing();
      const want = args[0] ?? '';
      try {
        parseMariadbGtidPos(want);
      } catch {
        throw new SqlError(1941, 'HY000', `Could not parse GTID list`);
      }
      const ok = await waitUntil(world, args[1], opts, (t) => mariadbPosReached(currentPos(world, id, t), want));
      return ok ? '0' : '-1';
    }
    case 'WAIT_FOR_EXECUTED_GTID_SET': {
      if (node.flavour !== 'mysql') throw missing();
      const want = args[0] ?? '';
      mysqlSet(want);
      const ok = await waitUntil(world, args[1], opts, (t) => mysqlSetContains(gtidExecuted(world, id, t), want));
      return ok ? '0' : '1';
    }
    case 'GTID_SUBSET':
      if (node.flavour !== 'mysql') throw missing();
      return mysqlSetContains(mysqlSet(args[1] ?? ''), mysqlSet(args[0] ?? '')) ? '1' : '0';
    case 'GTID_SUBTRACT':
      if (node.flavour !== 'mysql') throw missing();
      return mysqlSubtract(mysqlSet(args[0] ?? ''), mysqlSet(args[1] ?? ''));
    default:
      throw missing();
  }
}

function mysqlSet(text: string): string {
  try {
    parseMysqlGtidSet(text);
    return text;
  } catch (err) {
    if (err instanceof GtidSyntaxError) throw new SqlError(1772, 'HY000', `Malformed GTID set specification '${text}'.`);
    throw err;
  }
}

/**
 * Waits in virtual time until `reached(t)` holds or the timeout (seconds)
 * passes. It predicts when from the current state, then re-checks, so a
 * topology change during the wait is taken into account.
 */
async function waitUntil(world: SimWorld, timeoutArg: Value | undefined, opts: SqlRunOptions, reached: (t: number) => boolean): Promise<boolean> {
  const start = world.now();
  const timeout = timeoutArg === undefined || timeoutArg === null ? Infinity : Number(timeoutArg);
  const deadline = timeout < 0 ? Infinity : start + timeout * 1000;
  for (;;) {
    world.view();
    const now = world.now();
    if (reached(now)) return true;
    if (now >= deadline) return false;
    const horizon = Math.min(deadline, now + 3_600_000);
    let lo = now;
    let hi = horizon;
    if (!reached(hi)) lo = hi;
    else
      while (hi - lo > 100) {
        const mid = Math.floor((lo + hi) / 2);
        if (reached(mid)) hi = mid;
        else lo = mid;
      }
    const wake = Math.min(hi, deadline, now + 30_000);
    await opts.ctx.sleepUntil(Math.max(wake, now + 1));
  }
}

function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

// ---------------------------------------------------------------- variables

const VARIABLE_NAMES = [
  'binlog_format',
  'datadir',
  'enforce_gtid_consistency',
  'gtid_binlog_pos',
  'gtid_binlog_state',
  'gtid_current_pos',
  'gtid_domain_id',
  'gtid_executed',
  'gtid_mode',
  'gtid_purged',
  'gtid_slave_pos',
  'gtid_strict_mode',
  'hostname',
  'log_bin',
  'log_replica_updates',
  'log_slave_updates',
  'max_binlog_size',
  'port',
  'read_only',
  'server_id',
  'server_uuid',
  'super_read_only',
  'version',
  'version_comment',
];

const variableNames = new Map(VARIABLE_NAMES.map((n) => [n, n]));

/**
 * The name as VARIABLE_NAMES spells it, that very string: variable()'s switch
 * and sets then match it by identity instead of comparing characters, for
 * every variable of every probe.
 */
function canonicalVariable(name: string): string {
  return variableNames.get(name) ?? name;
}

const MYSQL_ONLY = new Set(['enforce_gtid_consistency', 'gtid_executed', 'gtid_mode', 'gtid_purged', 'log_replica_updates', 'server_uuid', 'super_read_only']);
const MARIADB_ONLY = new Set(['gtid_binlog_pos', 'gtid_binlog_state', 'gtid_current_pos', 'gtid_domain_id', 'gtid_slave_pos', 'gtid_strict_mode']);

/** A variable's value as SELECT @@x (0/1) or SHOW VARIABLES (ON/OFF) prints it; undefined when the flavour has no such variable. */
function variable(world: SimWorld, id: string, name: string, as: 'select' | 'show'): Value | undefined {
  const w = world.view();
  const node = w.mysql[id]!;
  if (node.flavour === 'mysql' ? MARIADB_ONLY.has(name) : MYSQL_ONLY.has(name)) return undefined;
  const bool = as === 'select' ? selectBool : showBool;
  const t = world.now();
  switch (name) {
    case 'version':
      return node.version;
    case 'version_comment':
      return node.flavour === 'mariadb' ? 'mariadb.org binary distribution' : 'MySQL Community Server - GPL';
    case 'server_id':
      return String(node.serverId);
    case 'server_uuid':
      return node.serverUuid;
    case 'hostname':
      return w.instances[id]!.name;
    case 'port':
      return String(node.port);
    case 'datadir':
      return '/var/lib/mysql/';
    case 'read_only':
      return bool(node.readOnly);
    case 'super_read_only':
      return bool(node.superReadOnly);
    case 'log_bin':
      return bool(node.logBin);
    case 'log_slave_updates':
    case 'log_replica_updates':
      return bool(node.logReplicaUpdates);
    case 'binlog_format':
      return 'ROW';
    case 'max_binlog_size':
      return String(MAX_BINLOG);
    case 'gtid_mode':
    case 'enforce_gtid_consistency':
      return 'ON';
    case 'gtid_executed':
      return gtidExecuted(world, id, t);
    case 'gtid_purged':
      return '';
    case 'gtid_current_pos':
      return currentPos(world, id, t);
    case 'gtid_binlog_pos':
      return node.logBin ? mariadbGtidPos(w.segments, executed(world.env, id, t), (s) => s.node === id || node.logReplicaUpdates) : '';
    case 'gtid_binlog_state':
      return node.logBin ? mariadbBinlogState(w.segments, executed(world.env, id, t), (s) => s.node === id || node.logReplicaUpdates) : '';
    case 'gtid_slave_pos':
      return mariadbGtidPos(w.segments, executed(world.env, id, t), (s) => s.node !== id);
    case 'gtid_domain_id':
      return '0';
    case 'gtid_strict_mode':
      return bool(true);
    default:
      return undefined;
  }
}

function selectBool(b: boolean): string {
  return b ? '1' : '0';
}

function showBool(b: boolean): string {
  return b ? 'ON' : 'OFF';
}

function gtidExecuted(world: SimWorld, id: string, t: number): string {
  return mysqlGtidSet(world.view().segments, executed(world.env, id, t));
}

function currentPos(world: SimWorld, id: string, t: number): string {
  return mariadbGtidPos(world.view().segments, executed(world.env, id, t));
}

const READ_ONLY_VARIABLES = new Set(['version', 'version_comment', 'server_uuid', 'hostname', 'port', 'datadir', 'log_bin', 'log_slave_updates', 'log_replica_updates', 'gtid_executed', 'gtid_current_pos', 'gtid_binlog_pos', 'gtid_binlog_state']);

function set(world: SimWorld, id: string, assignments: string, session: Session): string {
  const node = flavourOf(world, id);
  for (const part of splitTopLevel(assignments)) {
    const m = /^(?:(GLOBAL|SESSION|LOCAL|PERSIST)\s+|@@(?:(GLOBAL|SESSION|LOCAL)\.)?)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|:=)\s*(.+)$/is.exec(part);
    if (!m) throw syntaxError(node, part);
    const scope = (m[1] ?? m[2] ?? 'SESSION').toUpperCase();
    const name = m[3]!.toLowerCase();
    const raw = m[4]!.trim();
    const value = stringLiteral(raw) ?? raw;
    if (name === 'sql_log_bin') {
      session.sqlLogBin = parseBool(value, name);
      continue;
    }
    if (scope === 'SESSION' || scope === 'LOCAL') {
      if (['wait_timeout', 'net_read_timeout', 'net_write_timeout', 'lock_wait_timeout', 'sql_mode', 'time_zone', 'names'].includes(name)) continue;
    }
    const known = variable(world, id, name, 'select');
    if (known === undefined && !['sql_slave_skip_counter', 'gtid_slave_pos', 'gtid_purged', 'gtid_strict_mode', 'sync_binlog'].includes(name)) {
      throw new SqlError(1193, 'HY000', `Unknown system variable '${m[3]}'`);
    }
    if (node.flavour === 'mysql' && (name === 'gtid_slave_pos' || name === 'gtid_strict_mode')) throw new SqlError(1193, 'HY000', `Unknown system variable '${m[3]}'`);
    if (READ_ONLY_VARIABLES.has(name)) throw new SqlError(1238, 'HY000', `Variable '${name}' is a read only variable`);
    if ((scope === 'SESSION' || scope === 'LOCAL') && ['read_only', 'super_read_only', 'gtid_slave_pos', 'gtid_purged'].includes(name)) {
      throw new SqlError(1229, 'HY000', `Variable '${name}' is a GLOBAL variable and should be set with SET GLOBAL`);
    }
    setGlobal(world, id, name, value);
  }
  return '';
}

function parseBool(v: string, name: string): boolean {
  const s = v.toUpperCase();
  if (s === '1' || s === 'ON' || s === 'TRUE') return true;
  if (s === '0' || s === 'OFF' || s === 'FALSE') return false;
  throw new SqlError(1231, '42000', `Variable '${name}' can't be set to the value of '${v}'`);
}

function setGlobal(world: SimWorld, id: string, name: string, value: string): void {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    const cluster = w.instances[id]!.cluster;
    switch (name) {
      case 'read_only':
        node.readOnly = parseBool(value, name);
        if (!node.readOnly) node.superReadOnly = false;
        updateWriters(world.env, cluster, t);
        return;
      case 'super_read_only':
        node.superReadOnly = parseBool(value, name);
        if (node.superReadOnly) node.readOnly = true;
        updateWriters(world.env, cluster, t);
        return;
      case 'gtid_slave_pos': {
        if (node.replica && (node.replica.io || node.replica.sql)) throw runningReplica(node);
        const want = safeParse(() => parseMariadbGtidPos(value), 1941, `Could not parse GTID list`);
        materialize(world.env, affected(world.env, cluster), t);
        setKnowledgeMariadb(world, id, want, t, writersOf(value));
        world.forget();
        return;
      }
      case 'gtid_purged': {
        const want = safeParse(() => parseMysqlGtidSet(value.replace(/^\+/, '')), 1772, `Malformed GTID set specification '${value}'.`);
        materialize(world.env, affected(world.env, cluster), t);
        if (!value.startsWith('+') && Object.keys(node.base).length > 0) {
          throw new SqlError(3546, 'HY000', '@@GLOBAL.GTID_PURGED cannot be changed: the new value must be a superset of the old value');
        }
        setKnowledgeMysql(world, id, want, t);
        world.forget();
        return;
      }
      default:
        return;
    }
  });
}

function safeParse<T>(fn: () => T, code: number, message: string): T {
  try {
    return fn();
  } catch {
    throw new SqlError(code, 'HY000', message);
  }
}

/** The server id of each domain's GTID in a position (`0-102-4839065` -> 0: 102). */
function writersOf(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(part);
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

/**
 * A restored node's GTID position (rebuild S9): in each domain it has the
 * GTID named, and what the server that wrote that GTID had of the domain's
 * history. After a failover that is not all the old master wrote: its last
 * transactions never reached the new master, and a position on the new
 * master's GTIDs does not claim them.
 */
function setKnowledgeMariadb(world: SimWorld, id: string, want: Map<number, number>, t: number, writers: Map<number, number> = new Map()): void {
  const w = world.view();
  const node = w.mysql[id]!;
  const cluster = w.instances[id]!.cluster;
  const k: Record<string, number> = {};
  for (const sid of node.ownSegments) k[sid] = node.base[sid] ?? seqAt(w.segments[sid]!, t);
  // The segment that wrote each domain's GTID, and what its writer has of the rest.
  const tops = new Map<number, { seg: string; knows: Record<string, number> }>();
  for (const seg of Object.values(w.segments)) {
    const target = want.get(seg.domain);
    if (seg.cluster !== cluster || seg.node === id || target === undefined || writers.get(seg.domain) !== seg.serverId) continue;
    if (target > seg.startSeq && target <= seqAt(seg, t) && !tops.has(seg.domain)) tops.set(seg.domain, { seg: seg.id, knows: executed(world.env, seg.node, t) });
  }
  for (const seg of Object.values(w.segments)) {
    if (seg.cluster !== cluster || seg.node === id) continue;
    const target = want.get(seg.domain);
    if (target === undefined || target <= seg.startSeq) continue;
    const top = tops.get(seg.domain);
    const upTo = !top || top.seg === seg.id ? seqAt(seg, t) : Math.min(seqAt(seg, t), top.knows[seg.id] ?? seg.startSeq);
    if (upTo > seg.startSeq) k[seg.id] = Math.min(target, upTo);
  }
  node.base = k;
  node.baseAt = t;
}

function setKnowledgeMysql(world: SimWorld, id: string, want: Map<string, number>, t: number): void {
  const w = world.view();
  const node = w.mysql[id]!;
  const k: Record<string, number> = { ...node.base };
  for (const seg of Object.values(w.segments)) {
    if (!seg.uuid) continue;
    const target = want.get(seg.uuid);
    if (target === undefined || target <= seg.startSeq) continue;
    k[seg.id] = Math.max(k[seg.id] ?? 0, Math.min(target, seqAt(seg, t)));
  }
  node.base = k;
  node.baseAt = t;
}

// ---------------------------------------------------------------- replication control

function runningReplica(node: MysqlNode): SqlError {
  return node.flavour === 'mariadb'
    ? new SqlError(1198, 'HY000', "This operation cannot be performed as you have a running slave ''; run STOP SLAVE '' first")
    : new SqlError(3081, 'HY000', "This operation cannot be performed with running replication threads; run STOP REPLICA FOR CHANNEL '' first");
}

function stopReplica(world: SimWorld, id: string, io: boolean, sql: boolean): string {
  world.mutate((w, t) => {
    const r = w.mysql[id]!.replica;
    if (!r) return;
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    if (io && r.io) {
      r.io = false;
      r.ioStoppedAt = t;
    }
    if (sql) r.sql = false;
  });
  return '';
}

function startReplica(world: SimWorld, id: string, io: boolean, sql: boolean): string {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    const r = node.replica;
    if (!r || !r.sourceHost) {
      throw node.flavour === 'mariadb'
        ? new SqlError(1200, 'HY000', 'Misconfigured slave: MASTER_HOST was not set; Fix in config file or with CHANGE MASTER TO')
        : new SqlError(13117, 'HY000', 'The server is not configured as replica; fix in config file or with CHANGE REPLICATION SOURCE TO');
    }
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    const wasApplying = sqlApplying(world.env, id);
    if (io && (!r.io || r.ioError)) {
      r.io = true;
      delete r.ioError;
      delete r.ioStoppedAt;
      const refused = gtidRefusal(world, id, t);
      if (refused) {
        r.ioError = { code: 1236, message: refused, at: t };
        r.ioStoppedAt = t;
      }
    }
    if (sql && (!r.sql || r.sqlError)) {
      r.sql = true;
      delete r.sqlError;
    }
    if (!wasApplying || io) world.startApplying(id, t);
  });
  return '';
}

/**
 * MariaDB refuses a replica whose GTID position is not in the new master's
 * binlog (errant transactions, or a master that never had them): error 1236.
 * MySQL's auto-position sends what is missing and keeps errant GTIDs errant.
 */
function gtidRefusal(world: SimWorld, id: string, t: number): string | undefined {
  const w = world.view();
  const node = w.mysql[id]!;
  const r = node.replica!;
  if (node.flavour !== 'mariadb' || r.gtidMode === 'no') return undefined;
  const src = sourceOf(world.env, id);
  if (src === undefined || !world.mysqlUp(src)) return undefined;
  const mine = executed(world.env, id, t);
  const theirs = executed(world.env, src, t);
  for (const sid in mine) {
    const seg = w.segments[sid]!;
    if (r.gtidMode === 'slave_pos' && seg.node === id) continue;
    if (mine[sid]! > seg.startSeq && mine[sid]! > (theirs[sid] ?? seg.startSeq)) {
      const gtid = `${seg.domain}-${seg.serverId}-${mine[sid]}`;
      return `Got fatal error 1236 from master when reading data from binary log: 'Error: connecting slave requested to start from GTID ${gtid}, which is not in the master's binlog'`;
    }
  }
  return undefined;
}

function resetReplica(world: SimWorld, id: string, all: boolean): string {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    const r = node.replica;
    if (!r) return;
    if (r.io || r.sql) throw runningReplica(node);
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    if (all) delete node.replica;
    else {
      delete r.catchup;
      delete r.ioError;
      delete r.sqlError;
    }
    updateWriters(world.env, w.instances[id]!.cluster, t);
  });
  return '';
}

function resetMaster(world: SimWorld, id: string): string {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    if (node.replica && (node.replica.io || node.replica.sql) && node.flavour === 'mysql') throw runningReplica(node);
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    // The binary logs go, and with them (on MySQL) gtid_executed.
    node.base = {};
    node.baseAt = t;
    for (const sid of node.ownSegments) {
      const seg = w.segments[sid]!;
      if (seg.endT === null) seg.endT = Math.max(seg.startT, t);
    }
    node.ownSegments = [];
    node.binlogBase = 0;
    world.forget();
    updateWriters(world.env, w.instances[id]!.cluster, t);
  });
  return '';
}

function changeSource(world: SimWorld, id: string, optionsText: string): string {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    const opts = optionList(optionsText);
    if (!opts) throw syntaxError(node, optionsText);
    const pfx = [...opts.keys()].some((k) => k.startsWith('SOURCE_')) ? 'SOURCE_' : 'MASTER_';
    const allowed = node.flavour === 'mariadb' ? MARIADB_CHANGE : pfx === 'SOURCE_' ? MYSQL_SOURCE_CHANGE : MYSQL_MASTER_CHANGE;
    for (const k of opts.keys()) if (!allowed.has(k)) throw syntaxError(node, `${k} = ${opts.get(k)}`);
    const r = node.replica;
    if (r && r.io && !r.ioError) {
      throw node.flavour === 'mariadb'
        ? runningReplica(node)
        : new SqlError(1198, 'HY000', "This operation cannot be performed with a running replica io thread; run STOP REPLICA IO_THREAD FOR CHANNEL '' first.");
    }
    materialize(world.env, affected(world.env, w.instances[id]!.cluster), t);
    const next: ReplicaConfig = r ?? {
      sourceHost: '',
      sourcePort: 3306,
      user: 'repl',
      gtidMode: node.flavour === 'mariadb' ? 'slave_pos' : 'no',
      io: false,
      sql: false,
      connectedAt: t,
    };
    const host = opts.get(`${pfx}HOST`);
    if (host !== undefined && host !== next.sourceHost) {
      next.sourceHost = host;
      next.connectedAt = t;
      next.ioStoppedAt = t;
      delete next.catchup;
    }
    const port = opts.get(`${pfx}PORT`);
    if (port !== undefined) next.sourcePort = Number(port);
    const user = opts.get(`${pfx}USER`);
    if (user !== undefined) next.user = user;
    const useGtid = opts.get('MASTER_USE_GTID');
    if (useGtid !== undefined) {
      const v = useGtid.toLowerCase();
      if (v !== 'no' && v !== 'slave_pos' && v !== 'current_pos') throw syntaxError(node, useGtid);
      next.gtidMode = v;
    }
    const auto = opts.get(`${pfx}AUTO_POSITION`);
    if (auto !== undefined) next.gtidMode = auto === '1' ? 'auto' : 'no';
    if (opts.has(`${pfx}LOG_FILE`) || opts.has(`${pfx}LOG_POS`)) {
      if (next.gtidMode === 'auto') {
        throw new SqlError(1776, 'HY000', 'Parameters SOURCE_LOG_FILE, SOURCE_LOG_POS, RELAY_LOG_FILE and RELAY_LOG_POS cannot be set when SOURCE_AUTO_POSITION is active.');
      }
      if (node.flavour === 'mariadb' && useGtid === undefined) next.gtidMode = 'no';
    }
    node.replica = next;
  });
  return '';
}

const MARIADB_CHANGE = new Set(['MASTER_HOST', 'MASTER_PORT', 'MASTER_USER', 'MASTER_PASSWORD', 'MASTER_USE_GTID', 'MASTER_LOG_FILE', 'MASTER_LOG_POS', 'MASTER_CONNECT_RETRY', 'MASTER_SSL', 'MASTER_HEARTBEAT_PERIOD', 'MASTER_DELAY']);
const MYSQL_SOURCE_CHANGE = new Set(['SOURCE_HOST', 'SOURCE_PORT', 'SOURCE_USER', 'SOURCE_PASSWORD', 'SOURCE_AUTO_POSITION', 'SOURCE_LOG_FILE', 'SOURCE_LOG_POS', 'SOURCE_CONNECT_RETRY', 'SOURCE_SSL', 'GET_SOURCE_PUBLIC_KEY', 'SOURCE_HEARTBEAT_PERIOD', 'SOURCE_DELAY']);
const MYSQL_MASTER_CHANGE = new Set(['MASTER_HOST', 'MASTER_PORT', 'MASTER_USER', 'MASTER_PASSWORD', 'MASTER_AUTO_POSITION', 'MASTER_LOG_FILE', 'MASTER_LOG_POS', 'MASTER_CONNECT_RETRY', 'MASTER_SSL', 'GET_MASTER_PUBLIC_KEY', 'MASTER_HEARTBEAT_PERIOD', 'MASTER_DELAY']);

// ---------------------------------------------------------------- writes

function write(world: SimWorld, id: string, session: Session, then?: (w: WorldState, gtid: { segment: string; seq: number } | undefined) => void): void {
  world.mutate((w, t) => {
    const node = w.mysql[id]!;
    // The console connects as an administrator: read_only does not stop it, super_read_only does.
    if (node.flavour === 'mysql' && node.superReadOnly) {
      throw new SqlError(1290, 'HY000', 'The MySQL server is running with the --super-read-only option so it cannot execute this statement');
    }
    const gtid = session.sqlLogBin && node.logBin ? recordWrite(world.env, id, t) : undefined;
    then?.(w, gtid);
  });
}

// ---------------------------------------------------------------- the runbooks' tables (heartbeat)

/** Table writes kept per world; the oldest rows go first (a CREATE stays: the table exists). */
const TABLE_WRITES_KEPT = 500;

function tableName(node: MysqlNode, raw: string): string {
  const name = raw.replace(/`/g, '').toLowerCase();
  if (!name.includes('.')) throw new SqlError(1046, '3D000', 'No database selected');
  return name;
}

/** The writes to `table` this node has executed, oldest first. */
function visibleWrites(world: SimWorld, id: string, table: string): TableWrite[] {
  const w = world.view();
  const cluster = w.instances[id]!.cluster;
  const writes = (w.tableWrites ?? []).filter((x) => x.cluster === cluster && x.table === table);
  if (writes.length === 0) return writes;
  const k = executed(world.env, id, world.now());
  return writes.filter((x) => (k[x.segment] ?? -1) >= x.seq);
}

function keep(w: WorldState, entry: TableWrite): void {
  const list = (w.tableWrites ??= []);
  list.push(entry);
  if (list.length > TABLE_WRITES_KEPT) {
    const oldestRow = list.findIndex((x) => x.row !== undefined);
    if (oldestRow !== -1) list.splice(oldestRow, 1);
  }
}

function createTable(world: SimWorld, id: string, raw: string, ifNotExists: boolean, session: Session): string {
  const node = flavourOf(world, id);
  const table = tableName(node, raw);
  const exists = visibleWrites(world, id, table).some((x) => x.row === undefined);
  if (exists && !ifNotExists) throw new SqlError(1050, '42S01', `Table '${table.split('.')[1]}' already exists`);
  // CREATE TABLE IF NOT EXISTS is written to the binlog even when the table exists: one more transaction.
  write(world, id, session, (w, gtid) => {
    if (!exists && gtid) keep(w, { cluster: w.instances[id]!.cluster, table, segment: gtid.segment, seq: gtid.seq });
  });
  return '';
}

/** REPLACE INTO <table> (server_id, ts) VALUES (N, 'ts'): the heartbeat's row, keyed by the writer's server_id. */
function writeHeartbeatRow(world: SimWorld, id: string, raw: string, valuesText: string, session: Session): string {
  const node = flavourOf(world, id);
  const table = tableName(node, raw);
  const values = splitTopLevel(valuesText).map((v) => v.trim());
  const serverId = values[0] !== undefined && /^\d+$/.test(values[0]) ? Number(values[0]) : undefined;
  const ts = values[1] === undefined ? undefined : stringLiteral(values[1]);
  if (values.length !== 2 || serverId === undefined || ts === undefined) throw syntaxError(node, valuesText);
  if (!visibleWrites(world, id, table).some((x) => x.row === undefined)) throw new SqlError(1146, '42S02', `Table '${table}' doesn't exist`);
  write(world, id, session, (w, gtid) => {
    if (gtid) keep(w, { cluster: w.instances[id]!.cluster, table, segment: gtid.segment, seq: gtid.seq, row: { serverId, ts } });
  });
  return '';
}

/** SELECT <columns> FROM <table> [WHERE server_id = N]: the runbooks' tables and the process list; any other table is missing. */
function fromTable(world: SimWorld, id: string, rawTable: string, st: Prepared, opts: SqlRunOptions): string {
  const node = flavourOf(world, id);
  const table = rawTable.toLowerCase();
  const m = /^SELECT (.+?) FROM [`\w$.]+(?: WHERE `?(\w+)`? ?= ?(\d+))?$/is.exec(st.sql);
  const isProcesslist = table === 'information_schema.processlist';
  const created = isProcesslist ? [] : visibleWrites(world, id, table);
  if (!isProcesslist && !created.some((x) => x.row === undefined)) {
    throw new SqlError(1146, '42S02', `Table '${table.includes('.') ? table : `mysql.${table}`}' doesn't exist`);
  }
  if (!m) throw syntaxError(node, st.sql);
  const items = splitTopLevel(m[1]!).map(selectItem);
  let rows: Array<Record<string, Value>>;
  if (isProcesslist) rows = processlist(world, id, opts);
  else {
    const byServer = new Map<number, string>();
    for (const x of created) if (x.row) byServer.set(x.row.serverId, x.row.ts);
    rows = [...byServer].map(([serverId, ts]) => ({ server_id: String(serverId), ts }));
  }
  if (m[2] !== undefined) rows = rows.filter((r) => r[m[2]!.toLowerCase()] === m[3]);
  const out = rows.map((r) =>
    items.map((i) => {
      const v = r[i.expr.replace(/`/g, '').toLowerCase()];
      if (v === undefined) throw new SqlError(1054, '42S22', `Unknown column '${i.expr}' in 'field list'`);
      return v;
    }),
  );
  return formatBatch(items.map((i) => i.column), out);
}

/** The server's connections: its own threads, replication's, three application sessions, and this client. */
function processlist(world: SimWorld, id: string, opts: SqlRunOptions): Array<Record<string, Value>> {
  const w = world.view();
  const node = w.mysql[id]!;
  const isMaria = node.flavour === 'mariadb';
  const row = (pid: number, user: string, host: string, command: string) => ({ id: String(pid), user, host, db: null, command, time: '0', state: '', info: null });
  const rows = [row(5, 'event_scheduler', 'localhost', 'Daemon')];
  const r = node.replica;
  if (r?.io) rows.push(row(11, 'system user', '', isMaria ? 'Slave_IO' : 'Connect'));
  if (r?.sql) rows.push(row(12, 'system user', '', isMaria ? 'Slave_SQL' : 'Query'));
  let pid = 20;
  for (const other of world.membersOf(w.instances[id]!.cluster)) {
    const rr = w.mysql[other]?.replica;
    if (other !== id && rr?.io && world.nodeByHost(rr.sourceHost) === id) rows.push(row(pid++, rr.user, `${w.instances[other]!.privateIp}:41234`, isMaria ? 'Binlog Dump' : 'Binlog Dump GTID'));
  }
  const killed = new Set(node.killedConnections ?? []);
  for (const app of APP_CONNECTIONS) if (!killed.has(app)) rows.push(row(app, 'app', '10.0.9.17:52110', 'Sleep'));
  rows.push(row(opts.connectionId ?? 0, 'root', 'localhost', 'Query'));
  return rows;
}

const APP_CONNECTIONS = [101, 102, 103];

function kill(world: SimWorld, id: string, raw: string, queryOnly: boolean, opts: SqlRunOptions): string {
  const node = flavourOf(world, id);
  if (!/^\d+$/.test(raw)) throw syntaxError(node, raw);
  const pid = Number(raw);
  if (!processlist(world, id, opts).some((r) => r.id === raw)) throw new SqlError(1094, 'HY000', `Unknown thread id: ${pid}`);
  if (pid === opts.connectionId) throw new SqlError(1317, '70100', 'Query execution was interrupted');
  if (queryOnly || !APP_CONNECTIONS.includes(pid)) return '';
  world.mutate((w) => {
    const n = w.mysql[id]!;
    (n.killedConnections ??= []).push(pid);
  });
  return '';
}

// ---------------------------------------------------------------- SHOW ... STATUS

function coordinates(world: SimWorld, id: string, k: Knowledge): { file: string; position: number } {
  const node = world.view().mysql[id]!;
  const bytes = node.binlogBase + binlogTransactions(world.env, id, k) * node.eventBytes;
  const index = 1 + Math.floor(bytes / MAX_BINLOG);
  return { file: binlogName(node.binlogPrefix, index), position: 4 + (bytes % MAX_BINLOG) };
}

const binlogNames = new Map<string, string[]>();

/** `binlog.000042`: a handful of names printed thousands of times a refresh, so each is made once. */
function binlogName(prefix: string, index: number): string {
  let names = binlogNames.get(prefix);
  if (!names) binlogNames.set(prefix, (names = []));
  return (names[index] ??= `${prefix}.${String(index).padStart(6, '0')}`);
}

function showMasterStatus(world: SimWorld, id: string): string {
  const node = world.view().mysql[id]!;
  if (!node.logBin) return '';
  const t = world.now();
  const k = executed(world.env, id, t);
  const { file, position } = coordinates(world, id, k);
  if (node.flavour === 'mariadb') return oneRow(MARIADB_MASTER_STATUS, [file, String(position), '', '']);
  return `${MYSQL_MASTER_STATUS}\n${file}\t${position}\t\t\t${gtidSetCell(world.view().segments, k)}\n`;
}

const gtidSetCells = new WeakMap<Knowledge, string>();

/**
 * A MySQL GTID set as its --batch cell (the ",\n" between servers escaped),
 * kept per knowledge object as gtid.ts keeps the text: a node's set is also
 * its replicas' Retrieved_Gtid_Set.
 */
function gtidSetCell(segments: WorldState['segments'], k: Knowledge): string {
  let text = gtidSetCells.get(k);
  if (text === undefined) gtidSetCells.set(k, (text = cell(mysqlGtidSet(segments, k))));
  return text;
}

const MARIADB_MASTER_STATUS = ['File', 'Position', 'Binlog_Do_DB', 'Binlog_Ignore_DB'].join('\t');
const MYSQL_MASTER_STATUS = ['File', 'Position', 'Binlog_Do_DB', 'Binlog_Ignore_DB', 'Executed_Gtid_Set'].join('\t');

function mysqlTimestamp(ms: number): string {
  // 241121 23:50:01, as Last_IO_Error_Timestamp prints it.
  const iso = isoSeconds(ms);
  return `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)} ${iso.slice(11, 19)}`;
}

function showReplicaStatus(world: SimWorld, id: string, oldNames: boolean): string {
  const w = world.view();
  const node = w.mysql[id]!;
  const r = node.replica;
  if (!r) return '';
  const t = world.now();
  const env = world.env;
  const { source: src, io, applying: sqlRunning, relayEnd, applyPoint, lag } = replicaProgress(env, id, r, t);
  const srcNode = src ? w.mysql[src] : undefined;
  const ioPoint = relayEnd ?? t;
  const tau = applyPoint ?? node.baseAt;
  const retrieved = src ? sourceAt(env, src, Math.min(ioPoint, t)) : {};
  const applied = src ? sourceAt(env, src, Math.min(tau, t)) : {};
  const readCoords = src ? coordinates(world, src, retrieved) : { file: '', position: 4 };
  const execCoords = src ? coordinates(world, src, applied) : { file: '', position: 4 };
  const mine = executed(env, id, t);
  const isMaria = node.flavour === 'mariadb';
  const who = isMaria || oldNames ? 'master' : 'source';

  let ioError = r.ioError;
  if (!ioError && io === 'Connecting') {
    const down = src === undefined ? undefined : w.mysql[src]?.downSince;
    const hung = src !== undefined && !world.hostUp(src);
    const errno = hung ? 110 : 111;
    ioError = {
      code: 2003,
      at: down ?? r.connectedAt,
      message: isMaria
        ? `error reconnecting to master '${r.user}@${r.sourceHost}:${r.sourcePort}' - retry-time: 60  maximum-retries: 100000  message: Can't connect to server on '${r.sourceHost}' (${errno} "${hung ? 'Connection timed out' : 'Connection refused'}")`
        : `Error reconnecting to source '${r.user}@${r.sourceHost}:${r.sourcePort}'. This was attempt ${1 + Math.floor((t - (down ?? t)) / 60_000)}/86400, with a delay of 60 seconds between attempts. Message: Can't connect to MySQL server on '${r.sourceHost}:${r.sourcePort}' (${errno})`,
    };
  }
  const sqlError = r.sqlError;
  const ioState = io === 'Yes' ? THREAD_STATES[who].waiting : io === 'Connecting' ? THREAD_STATES[who].reconnecting : '';
  const sqlState = !sqlRunning ? '' : lag && lag > 0 ? 'Reading event from the relay log' : THREAD_STATES[who].readAll;
  // The name escaped alone: it is the only free text in the file name, and a short flat string scans fastest.
  const relayFile = `${cell(w.instances[id]!.name)}-relay-bin.${String(2 + (Math.floor(r.connectedAt / 3_600_000) % 50)).padStart(6, '0')}`;
  const relayPos = 4 + (execCoords.position % 500_000_000);

  // The cells as printed, in the order of replicaStatusColumns(isMaria, oldNames). Most are
  // numbers and fixed words; only free text (names, addresses, error messages, GTID sets) goes
  // through cell() for the client's escaping. Runs of cells that never change are joined once
  // (see FIXED): two thousand replicas a refresh, and join costs by the element. A test checks
  // that every row has as many cells as the header has columns.
  const common = [
    ioState,
    cell(r.sourceHost),
    cell(r.user),
    String(r.sourcePort),
    '60',
    readCoords.file,
    String(readCoords.position),
    relayFile,
    String(relayPos),
    execCoords.file,
    io,
    sqlRunning ? 'Yes' : 'No',
    isMaria ? FIXED.mariadbFilters : FIXED.mysqlFilters,
    String(sqlError?.code ?? 0),
    cell(sqlError?.message ?? ''),
    '0',
    String(execCoords.position),
    String(relayPos + 1_024),
    FIXED.untilAndSsl,
    lag === null ? 'NULL' : String(lag),
    'No',
    String(ioError?.code ?? 0),
    cell(ioError?.message ?? ''),
    String(sqlError?.code ?? 0),
    cell(sqlError?.message ?? ''),
    '',
    String(srcNode?.serverId ?? 0),
  ].join('\t');
  let flavoured: string;
  if (isMaria) {
    const transactions = binlogTransactions(env, id, mine);
    flavoured = [
      FIXED.mariadbCrl,
      r.gtidMode === 'slave_pos' ? 'Slave_Pos' : r.gtidMode === 'current_pos' ? 'Current_Pos' : 'No',
      mariadbGtidPos(w.segments, retrieved),
      FIXED.mariadbDomainsToDelay,
      sqlState,
      String(Math.floor(transactions / 5000)),
      '0',
      String(transactions),
    ].join('\t');
  } else {
    flavoured = [
      srcNode?.serverUuid ?? '',
      FIXED.mysqlInfoToDelay,
      sqlState,
      FIXED.mysqlRetryAndBind,
      ioError ? mysqlTimestamp(ioError.at) : '',
      sqlError ? mysqlTimestamp(sqlError.at) : '',
      FIXED.mysqlCrl,
      gtidSetCell(w.segments, retrieved),
      gtidSetCell(w.segments, mine),
      r.gtidMode === 'auto' ? '1' : '0',
      FIXED.mysqlRewriteToNamespace,
    ].join('\t');
  }
  return `${replicaStatusHeader(isMaria, oldNames)}\n${common}\t${flavoured}\n`;
}

/** The threads' states as each naming prints them (master: MariaDB, and MySQL asked the old way). */
const THREAD_STATES = {
  master: {
    waiting: 'Waiting for master to send event',
    reconnecting: 'Reconnecting after a failed master event read',
    readAll: 'Slave has read all relay log; waiting for more updates',
  },
  source: {
    waiting: 'Waiting for source to send event',
    reconnecting: 'Reconnecting after a failed source event read',
    readAll: 'Replica has read all relay log; waiting for more updates',
  },
};

/** Runs of SHOW REPLICA STATUS cells that are the same for every replica, by the columns they cover. */
const FIXED = {
  /** (MariaDB: Replicate_Rewrite_DB,) Replicate_Do_DB .. Replicate_Wild_Ignore_Table */
  mariadbFilters: ['', '', '', '', '', '', ''].join('\t'),
  mysqlFilters: ['', '', '', '', '', ''].join('\t'),
  /** Until_Condition, Until_Log_File, Until_Log_Pos, *_SSL_Allowed, *_SSL_CA_File, *_SSL_CA_Path, *_SSL_Cert, *_SSL_Cipher, *_SSL_Key */
  untilAndSsl: ['None', '', '0', 'No', '', '', '', '', ''].join('\t'),
  /** Master_SSL_Crl, Master_SSL_Crlpath */
  mariadbCrl: ['', ''].join('\t'),
  /** Replicate_Do_Domain_Ids, Replicate_Ignore_Domain_Ids, Parallel_Mode, SQL_Delay, SQL_Remaining_Delay */
  mariadbDomainsToDelay: ['', '', 'optimistic', '0', 'NULL'].join('\t'),
  /** *_Info_File, SQL_Delay, SQL_Remaining_Delay */
  mysqlInfoToDelay: ['mysql.slave_master_info', '0', 'NULL'].join('\t'),
  /** *_Retry_Count, *_Bind */
  mysqlRetryAndBind: ['86400', ''].join('\t'),
  /** *_SSL_Crl, *_SSL_Crlpath */
  mysqlCrl: ['', ''].join('\t'),
  /** Replicate_Rewrite_DB, Channel_Name, *_TLS_Version, *_public_key_path, Get_*_public_key, Network_Namespace */
  mysqlRewriteToNamespace: ['', '', '', '', '0', ''].join('\t'),
};

const replicaHeaders: string[] = [];

/** The header line of SHOW REPLICA STATUS: the same every time for a flavour and naming, so it is made once. */
function replicaStatusHeader(isMaria: boolean, oldNames: boolean): string {
  const slot = (isMaria ? 2 : 0) + (oldNames ? 1 : 0);
  return (replicaHeaders[slot] ??= replicaStatusColumns(isMaria, oldNames).join('\t'));
}

/** SHOW SLAVE STATUS (MariaDB, or MySQL before 8.4 asked the old way) or SHOW REPLICA STATUS columns. */
function replicaStatusColumns(isMaria: boolean, oldNames: boolean): string[] {
  const who = isMaria || oldNames ? 'master' : 'source';
  const W = cap(who);
  const thread = isMaria || oldNames ? 'Slave' : 'Replica';
  const names = [
    `${thread}_IO_State`,
    `${W}_Host`,
    `${W}_User`,
    `${W}_Port`,
    'Connect_Retry',
    `${W}_Log_File`,
    `Read_${W}_Log_Pos`,
    'Relay_Log_File',
    'Relay_Log_Pos',
    `Relay_${W}_Log_File`,
    `${thread}_IO_Running`,
    `${thread}_SQL_Running`,
  ];
  if (isMaria) names.push('Replicate_Rewrite_DB');
  names.push(
    'Replicate_Do_DB',
    'Replicate_Ignore_DB',
    'Replicate_Do_Table',
    'Replicate_Ignore_Table',
    'Replicate_Wild_Do_Table',
    'Replicate_Wild_Ignore_Table',
    'Last_Errno',
    'Last_Error',
    'Skip_Counter',
    `Exec_${W}_Log_Pos`,
    'Relay_Log_Space',
    'Until_Condition',
    'Until_Log_File',
    'Until_Log_Pos',
    `${W}_SSL_Allowed`,
    `${W}_SSL_CA_File`,
    `${W}_SSL_CA_Path`,
    `${W}_SSL_Cert`,
    `${W}_SSL_Cipher`,
    `${W}_SSL_Key`,
    `Seconds_Behind_${W}`,
    `${W}_SSL_Verify_Server_Cert`,
    'Last_IO_Errno',
    'Last_IO_Error',
    'Last_SQL_Errno',
    'Last_SQL_Error',
    'Replicate_Ignore_Server_Ids',
    `${W}_Server_Id`,
  );
  if (isMaria) {
    names.push(
      `${W}_SSL_Crl`,
      `${W}_SSL_Crlpath`,
      'Using_Gtid',
      'Gtid_IO_Pos',
      'Replicate_Do_Domain_Ids',
      'Replicate_Ignore_Domain_Ids',
      'Parallel_Mode',
      'SQL_Delay',
      'SQL_Remaining_Delay',
      'Slave_SQL_Running_State',
      'Slave_DDL_Groups',
      'Slave_Non_Transactional_Groups',
      'Slave_Transactional_Groups',
    );
  } else {
    names.push(
      `${W}_UUID`,
      `${W}_Info_File`,
      'SQL_Delay',
      'SQL_Remaining_Delay',
      `${oldNames ? 'Slave' : 'Replica'}_SQL_Running_State`,
      `${W}_Retry_Count`,
      `${W}_Bind`,
      'Last_IO_Error_Timestamp',
      'Last_SQL_Error_Timestamp',
      `${W}_SSL_Crl`,
      `${W}_SSL_Crlpath`,
      'Retrieved_Gtid_Set',
      'Executed_Gtid_Set',
      'Auto_Position',
      'Replicate_Rewrite_DB',
      'Channel_Name',
      `${W}_TLS_Version`,
      `${W}_public_key_path`,
      `Get_${W}_public_key`,
      'Network_Namespace',
    );
  }
  return names;
}

function cap(word: string, override?: string): string {
  return override ?? word[0]!.toUpperCase() + word.slice(1);
}
