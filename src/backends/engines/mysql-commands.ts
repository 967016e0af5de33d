// The statements the MySQL runbooks send, per flavour, as RUNBOOKS.md lists
// them. Builders only: the runbook step runs them with `mysqlCommand(client,
// sql)` through the Shell, shows them in its plan, and redacts `secrets`
// from the journal.

import type { MysqlFlavour } from '../../domain/types.js';

export interface Statement {
  sql: string;
  /** Strings inside `sql` that must never reach the journal or a log. */
  secrets: string[];
}

/** A SQL string literal: quotes and backslashes escaped. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function plain(sql: string): Statement {
  return { sql, secrets: [] };
}

/** Old master read-only (S3), or writable again (compensation, promotion). */
export function setReadOnly(flavour: MysqlFlavour, isReadOnly: boolean): Statement {
  if (flavour === 'mariadb') return plain(`SET GLOBAL read_only=${isReadOnly ? 1 : 0}`);
  // super_read_only=1 implies read_only=1; read_only=0 implies super_read_only=0. Order them so each step is valid.
  return plain(isReadOnly ? 'SET GLOBAL read_only=1; SET GLOBAL super_read_only=1' : 'SET GLOBAL super_read_only=0; SET GLOBAL read_only=0');
}

export function stopReplica(flavour: MysqlFlavour): Statement {
  return plain(flavour === 'mariadb' ? 'STOP SLAVE' : 'STOP REPLICA');
}

export function startReplica(flavour: MysqlFlavour): Statement {
  return plain(flavour === 'mariadb' ? 'START SLAVE' : 'START REPLICA');
}

/** Promotion (S5): stop and forget replication, then writable. */
export function promote(flavour: MysqlFlavour): Statement {
  const reset = flavour === 'mariadb' ? 'STOP SLAVE; RESET SLAVE ALL' : 'STOP REPLICA; RESET REPLICA ALL';
  return plain(`${reset}; ${setReadOnly(flavour, false).sql}`);
}

export interface SourceSpec {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Point a replica at a (new) source with GTID auto-positioning (S6/S7). */
export function changeSource(flavour: MysqlFlavour, source: SourceSpec): Statement {
  if (!Number.isInteger(source.port) || source.port < 1 || source.port > 65535) {
    throw new Error(`source port ${source.port} is not a port`);
  }
  const sql =
    flavour === 'mariadb'
      ? `CHANGE MASTER TO MASTER_HOST=${sqlString(source.host)}, MASTER_PORT=${source.port}, ` +
        `MASTER_USER=${sqlString(source.user)}, MASTER_PASSWORD=${sqlString(source.password)}, MASTER_USE_GTID=slave_pos`
      : `CHANGE REPLICATION SOURCE TO SOURCE_HOST=${sqlString(source.host)}, SOURCE_PORT=${source.port}, ` +
        `SOURCE_USER=${sqlString(source.user)}, SOURCE_PASSWORD=${sqlString(source.password)}, SOURCE_AUTO_POSITION=1`;
  return { sql, secrets: source.password ? [source.password] : [] };
}

/**
 * Wait until this server has executed `gtid` (S4, failover S3). Returns 0
 * when reached and -1 (MariaDB) or 1 (MySQL) on timeout, in a column `reached`.
 */
export function waitForGtid(flavour: MysqlFlavour, gtid: string, timeoutSeconds: number): Statement {
  const fn = flavour === 'mariadb' ? 'MASTER_GTID_WAIT' : 'WAIT_FOR_EXECUTED_GTID_SET';
  return plain(`SELECT ${fn}(${sqlString(gtid)}, ${Math.max(0, Math.ceil(timeoutSeconds))}) AS reached`);
}

/** What the master has written, in the form the wait functions take. */
export function masterPositionSql(flavour: MysqlFlavour): Statement {
  return plain(flavour === 'mariadb' ? 'SELECT @@gtid_binlog_pos AS gtid' : 'SELECT @@gtid_executed AS gtid');
}
