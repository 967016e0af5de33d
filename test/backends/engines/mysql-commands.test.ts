import { describe, expect, it } from 'vitest';
import { changeSource, promote, setReadOnly, sqlString, stopReplica, waitForGtid } from '../../../src/backends/engines/mysql-commands.js';

describe('runbook statements per flavour (RUNBOOKS.md)', () => {
  it('read-only: super_read_only on MySQL 8 only, in a valid order both ways', () => {
    expect(setReadOnly('mysql', true).sql).toBe('SET GLOBAL read_only=1; SET GLOBAL super_read_only=1');
    expect(setReadOnly('mysql', false).sql).toBe('SET GLOBAL super_read_only=0; SET GLOBAL read_only=0');
    expect(setReadOnly('mariadb', true).sql).toBe('SET GLOBAL read_only=1');
  });

  it('stop and promote use each flavour’s words', () => {
    expect(stopReplica('mysql').sql).toBe('STOP REPLICA');
    expect(stopReplica('mariadb').sql).toBe('STOP SLAVE');
    expect(promote('mariadb').sql).toBe('STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0');
    expect(promote('mysql').sql).toBe('STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only=0; SET GLOBAL read_only=0');
  });

  it('change source with GTID auto-position, quoting values and marking the password secret', () => {
    const src = { host: "db-'a'", port: 3306, user: 'repl', password: 's3cr\\et' };
    const maria = changeSource('mariadb', src);
    expect(maria.sql).toBe(
      "CHANGE MASTER TO MASTER_HOST='db-''a''', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='s3cr\\\\et', MASTER_USE_GTID=slave_pos",
    );
    expect(maria.secrets).toEqual(['s3cr\\et']);
    expect(changeSource('mysql', src).sql).toMatch(/^CHANGE REPLICATION SOURCE TO SOURCE_HOST=.*SOURCE_AUTO_POSITION=1$/);
    expect(() => changeSource('mysql', { ...src, port: 0 })).toThrow(/not a port/);
  });

  it('waits with the flavour’s GTID wait function', () => {
    expect(waitForGtid('mariadb', '0-1-42', 30).sql).toBe("SELECT MASTER_GTID_WAIT('0-1-42', 30) AS reached");
    expect(waitForGtid('mysql', 'uuid:1-5', 2.5).sql).toBe("SELECT WAIT_FOR_EXECUTED_GTID_SET('uuid:1-5', 3) AS reached");
    expect(sqlString("it's")).toBe("'it''s'");
  });
});
