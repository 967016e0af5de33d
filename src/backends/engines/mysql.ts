// MySQL 8 and MariaDB probes, run through the Shell port with the node's own
// client (`mysql`, or `sudo mysql`, as configured). One exec per probe: the
// statements are sent together with marker SELECTs between them.

import type { Instance, MysqlFacts, MysqlFlavour, ReplicaStatus, ThreadState } from '../../domain/types.js';
import type { Shell } from '../ports.js';
import { BatchParseError, markerSelect, parseSections, scanSections } from './mysql-batch.js';
import { shellQuote } from './shell-quote.js';

export interface MysqlProbeOptions {
  /** How the client is invoked on the node, e.g. `sudo mysql` or `mysql --defaults-file=/etc/ns.cnf`. */
  client: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * `schema.table` of a pt-heartbeat style table (a `ts` column with the
   * master's UTC time): on replicas, lag is read from it instead of
   * Seconds_Behind_*, which is NULL whenever the SQL thread is stopped.
   */
  heartbeatTable?: string;
}

export class ProbeError extends Error {
  constructor(
    message: string,
    readonly node: string,
    /** 1-based line of the command's output that did not parse, when that is what failed. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** Wraps a parse failure so the message names the node and the output line. */
function parseFailure(node: Instance, err: unknown): ProbeError {
  if (err instanceof BatchParseError) {
    return new ProbeError(`${node.name}: mysql output line ${err.line} does not parse: ${err.message}`, node.name, err.line);
  }
  return new ProbeError(`${node.name}: ${(err as Error).message}`, node.name);
}

const commands = new Map<string, Map<string, string>>();

/** The exact command line that runs `sql` on a node. */
export function mysqlCommand(client: string, sql: string): string {
  // Thousands of probes a tick send the same few statements: quote each once.
  let byClient = commands.get(sql);
  if (byClient === undefined) {
    if (commands.size >= 64) commands.clear();
    commands.set(sql, (byClient = new Map()));
  }
  let command = byClient.get(client);
  if (command === undefined) {
    if (byClient.size >= 64) byClient.clear();
    byClient.set(client, (command = `${client} --batch -e ${shellQuote(sql)}`));
  }
  return command;
}

export const FLAVOUR_SQL = `${markerSelect('version')}; SELECT @@version AS version`;

const probes = new Map<string, string>();

/** The statements of one probe, by flavour and version: one string per pair, built once. */
export function probeSql(flavour: MysqlFlavour, version: string): string {
  const key = `${flavour} ${version}`;
  let sql = probes.get(key);
  if (sql === undefined) {
    if (probes.size >= 64) probes.clear();
    probes.set(key, (sql = buildProbeSql(flavour, version)));
  }
  return sql;
}

function buildProbeSql(flavour: MysqlFlavour, version: string): string {
  if (flavour === 'mariadb') {
    return [
      markerSelect('vars'),
      'SELECT @@server_id AS server_id, @@read_only AS read_only, @@log_bin AS log_bin, ' +
        '@@log_slave_updates AS log_replica_updates, @@gtid_current_pos AS gtid_executed, @@gtid_binlog_state AS gtid_binlog_state',
      markerSelect('binlog'),
      'SHOW MASTER STATUS',
      markerSelect('replica'),
      'SHOW SLAVE STATUS',
    ].join('; ');
  }
  const binlogStatus = versionAtLeast(version, 8, 2) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
  return [
    markerSelect('vars'),
    'SELECT @@server_id AS server_id, @@read_only AS read_only, @@super_read_only AS super_read_only, ' +
      '@@log_bin AS log_bin, @@log_replica_updates AS log_replica_updates, @@gtid_executed AS gtid_executed',
    markerSelect('binlog'),
    binlogStatus,
    markerSelect('replica'),
    'SHOW REPLICA STATUS',
  ].join('; ');
}

/**
 * Heartbeat lag in seconds (0.1 s resolution): now minus the newest `ts` the
 * master wrote. Only sent when `engines.heartbeatTable` is configured.
 */
export function heartbeatSql(table: string): string {
  if (!/^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?$/.test(table)) throw new Error(`heartbeat table "${table}" is not schema.table`);
  const quoted = table
    .split('.')
    .map((p) => `\`${p}\``)
    .join('.');
  return [markerSelect('heartbeat'), `SELECT TIMESTAMPDIFF(MICROSECOND, MAX(ts), UTC_TIMESTAMP(6)) AS lag_us FROM ${quoted}`].join('; ');
}

export function parseHeartbeat(output: string, table: string): number | null {
  const row = parseSections(output).get('heartbeat')?.[0];
  if (!row) throw new Error(`no heartbeat section in the output for ${table}`);
  const raw = row.lag_us;
  if (raw === null || raw === undefined) return null; // empty table: nothing written yet
  if (!/^-?\d+$/.test(raw)) throw new Error(`heartbeat lag "${raw}" from ${table} is not a whole number of microseconds`);
  // A little clock skew between master and replica must not show as negative lag.
  return Math.max(0, Math.round(Number(raw) / 100_000) / 10);
}

export function flavourOf(version: string): MysqlFlavour {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/**
 * Probes MySQL/MariaDB nodes. Remembers each node's flavour and version after
 * the first probe, so later probes are a single exec.
 */
/** What the first probe of a node learnt, and the probe it gets from then on. */
interface Server {
  version: string;
  flavour: MysqlFlavour;
  sql: string;
}

export class MysqlProber {
  private readonly servers = new Map<string, Server>();

  constructor(private readonly shell: Shell) {}

  async probe(node: Instance, opts: MysqlProbeOptions): Promise<MysqlFacts> {
    let server = this.servers.get(node.id);
    if (server === undefined) {
      const out = await this.run(node, FLAVOUR_SQL, opts);
      let version: string | null | undefined;
      try {
        version = parseSections(out).get('version')?.[0]?.version;
      } catch (err) {
        throw parseFailure(node, err);
      }
      if (!version) throw new ProbeError(`${node.name}: SELECT @@version returned nothing`, node.name);
      const flavour = flavourOf(version);
      server = { version, flavour, sql: probeSql(flavour, version) };
      this.servers.set(node.id, server);
    }
    const { version, flavour } = server;
    const out = await this.run(node, server.sql, opts);
    let facts: MysqlFacts;
    try {
      facts = parseProbe(flavour, version, out);
    } catch (err) {
      throw parseFailure(node, err);
    }
    if (opts.heartbeatTable && facts.replica) {
      const hb = await this.run(node, heartbeatSql(opts.heartbeatTable), opts);
      try {
        facts.replica.lagSeconds = parseHeartbeat(hb, opts.heartbeatTable);
      } catch (err) {
        throw parseFailure(node, err);
      }
    }
    return facts;
  }

  private async run(node: Instance, sql: string, opts: MysqlProbeOptions): Promise<string> {
    const res = await this.shell.exec(node, mysqlCommand(opts.client, sql), {
      timeoutMs: opts.timeoutMs ?? 10_000,
      signal: opts.signal,
      readOnly: true,
    });
    if (res.code !== 0) {
      // The server or the client said no: forget the version, the node may have been replaced.
      this.servers.delete(node.id);
      const why = firstLine(res.stderr) || `exit code ${res.code ?? res.signal}`;
      throw new ProbeError(`${node.name}: mysql probe failed: ${why}`, node.name);
    }
    return res.stdout;
  }
}

/** Turns the probe's batch output into facts; throws naming the field that did not parse. */
export function parseProbe(flavour: MysqlFlavour, version: string, output: string): MysqlFacts {
  const sections = scanSections(output);
  const vars = sections.get('vars')?.rows[0];
  if (!vars) throw new Error('no server variables in the probe output');
  const binlogRow = sections.get('binlog')?.rows[0];
  const replicaRow = sections.get('replica')?.rows[0];
  const facts: MysqlFacts = {
    flavour,
    version,
    serverId: int(vars, 'server_id'),
    readOnly: bool(vars, 'read_only'),
    logBin: bool(vars, 'log_bin'),
    logReplicaUpdates: bool(vars, 'log_replica_updates'),
    gtidExecuted: own(oneLine(vars.get('gtid_executed') ?? '')),
  };
  if (flavour === 'mysql') facts.superReadOnly = bool(vars, 'super_read_only');
  const state = vars.get('gtid_binlog_state');
  if (flavour === 'mariadb' && state !== undefined && state !== null) facts.gtidBinlogState = own(oneLine(state));
  if (binlogRow) facts.binlog = { file: own(str(binlogRow, 'File')), position: int(binlogRow, 'Position') };
  if (replicaRow) facts.replica = parseReplica(flavour, replicaRow);
  return facts;
}

/** A row's cells by column name: undefined when the column is absent, null for NULL. */
interface Cells {
  get(column: string): string | null | undefined;
}

function parseReplica(flavour: MysqlFlavour, row: Cells): ReplicaStatus {
  const k = flavour === 'mariadb' ? MARIADB_COLUMNS : MYSQL_COLUMNS;
  const io = thread(row, k.io);
  const sql = thread(row, k.sql);
  const lagRaw = row.get(k.lag);
  const status: ReplicaStatus = {
    sourceHost: own(str(row, k.host)),
    sourcePort: int(row, k.port),
    ioThread: io,
    sqlThread: sql,
    lagSeconds: lagRaw === null || lagRaw === undefined || lagRaw === '' ? null : intValue(lagRaw, k.lag),
    usingGtid: flavour === 'mariadb' ? (row.get('Using_Gtid') ?? 'No') !== 'No' : row.get('Auto_Position') === '1',
  };
  const ioErr = errorOf(row, 'Last_IO_Errno', 'Last_IO_Error');
  if (ioErr) status.lastIoError = ioErr;
  const sqlErr = errorOf(row, 'Last_SQL_Errno', 'Last_SQL_Error');
  if (sqlErr) status.lastSqlError = sqlErr;
  const retrieved = row.get(flavour === 'mariadb' ? 'Gtid_IO_Pos' : 'Retrieved_Gtid_Set');
  if (retrieved) status.gtidRetrieved = own(oneLine(retrieved));
  return status;
}

/**
 * A copy of a cell that does not keep the probe's whole output alive: V8 cuts
 * a substring of 13 characters or more as a view into its parent string, and
 * facts outlive the output they were parsed from by a refresh or two (kept by
 * the store and by the screens), thousands of nodes over.
 */
function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** GTID sets wrap over lines in some clients' output; the set itself has no newline. */
function oneLine(s: string): string {
  return s.includes('\n') ? s.replace(/\n/g, '') : s;
}

const MARIADB_COLUMNS = {
  host: 'Master_Host',
  port: 'Master_Port',
  io: 'Slave_IO_Running',
  sql: 'Slave_SQL_Running',
  lag: 'Seconds_Behind_Master',
};
const MYSQL_COLUMNS = {
  host: 'Source_Host',
  port: 'Source_Port',
  io: 'Replica_IO_Running',
  sql: 'Replica_SQL_Running',
  lag: 'Seconds_Behind_Source',
};

function errorOf(row: Cells, codeKey: string, messageKey: string): { code: number; message: string } | undefined {
  const code = Number(row.get(codeKey) ?? 0);
  if (!code) return undefined;
  return { code, message: own(row.get(messageKey) ?? '') };
}

function str(row: Cells, key: string): string {
  const v = row.get(key);
  if (v === undefined || v === null) throw new Error(`column ${key} missing or NULL`);
  return v;
}

function int(row: Cells, key: string): number {
  return intValue(str(row, key), key);
}

function intValue(raw: string, key: string): number {
  if (!/^-?\d+$/.test(raw)) throw new Error(`column ${key}: "${raw}" is not a whole number`);
  return Number(raw);
}

function bool(row: Cells, key: string): boolean {
  const v = str(row, key);
  if (v === '1' || v === 'ON') return true;
  if (v === '0' || v === 'OFF') return false;
  throw new Error(`column ${key}: "${v}" is not 0/1/ON/OFF`);
}

function thread(row: Cells, key: string): ThreadState {
  const v = str(row, key);
  if (v === 'Yes' || v === 'No' || v === 'Connecting') return v;
  // MariaDB reports `Preparing` for an IO thread that is setting up its connection.
  if (v === 'Preparing') return 'Connecting';
  throw new Error(`column ${key}: "${v}" is not Yes/No/Connecting`);
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}
