import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, nodeHealth, roleOf, worse } from '../../src/domain/health.js';
import { instance, mysql, replica } from '../helpers/node-views.js';

describe('nodeHealth', () => {
  it('says a stopped instance is critical, whatever its last facts', () => {
    const h = nodeHealth({ instance: instance({ state: 'stopped' }), facts: mysql() });
    expect(h).toEqual({ level: 'CRIT', reason: 'instance stopped' });
  });

  it('grades lag against the warn and crit thresholds, with the numbers in the reason', () => {
    const t = { ...DEFAULT_THRESHOLDS, lagWarnSeconds: 60, lagCritSeconds: 300 };
    expect(nodeHealth({ instance: instance(), facts: replica('127.0.1.1', { lagSeconds: 10 }) }, t).level).toBe('OK');
    expect(nodeHealth({ instance: instance(), facts: replica('127.0.1.1', { lagSeconds: 61 }) }, t)).toEqual({
      level: 'WARN',
      reason: 'lag 61 s > 60 s',
    });
    expect(nodeHealth({ instance: instance(), facts: replica('127.0.1.1', { lagSeconds: 340 }) }, t)).toEqual({
      level: 'CRIT',
      reason: 'lag 340 s > 300 s',
    });
  });

  it('names the SQL error when the SQL thread stopped', () => {
    const facts = replica('127.0.1.1', {
      sqlThread: 'No',
      lagSeconds: null,
      lastSqlError: { code: 1062, message: "Duplicate entry '7' for key 'PRIMARY'" },
    });
    const h = nodeHealth({ instance: instance(), facts });
    expect(h.level).toBe('CRIT');
    expect(h.reason).toBe("SQL thread stopped: 1062 Duplicate entry '7' for key 'PRIMARY'");
  });

  it('says the IO thread is connecting when the source is gone', () => {
    const facts = replica('127.0.1.1', {
      ioThread: 'Connecting',
      lagSeconds: null,
      lastIoError: { code: 2003, message: "Can't connect to server on '127.0.1.1' (111)" },
    });
    expect(nodeHealth({ instance: instance(), facts }).reason).toMatch(/^IO thread connecting: 2003 Can't connect/);
  });

  it("keeps the source and MySQL's own words of a reconnect error, not its retry settings", () => {
    const facts = replica('127.0.1.1', {
      ioThread: 'Connecting',
      lagSeconds: null,
      lastIoError: {
        code: 2003,
        message: "error reconnecting to master 'repl@127.0.1.1:3306' - retry-time: 60  maximum-retries: 100000  message: Can't connect to server on '127.0.1.1' (110 \"Connection timed out\")",
      },
    });
    expect(nodeHealth({ instance: instance(), facts }).reason).toBe(
      'IO thread connecting: 2003 repl@127.0.1.1:3306: Can\'t connect to server on \'127.0.1.1\' (110 "Connection timed out")',
    );
  });

  it('cuts only an error too long to read at a glance', () => {
    const message = `Duplicate entry '${'x'.repeat(300)}' for key 'PRIMARY'`;
    const facts = replica('127.0.1.1', { sqlThread: 'No', lagSeconds: null, lastSqlError: { code: 1062, message } });
    const reason = nodeHealth({ instance: instance(), facts }).reason;
    expect(reason.length).toBeLessThan(200);
    expect(reason).toMatch(/^SQL thread stopped: 1062 Duplicate entry 'x+…$/);
  });

  it('marks a failed probe UNKNOWN with the probe error, not OK', () => {
    const h = nodeHealth({ instance: instance(), facts: mysql(), probeError: 'connect ECONNREFUSED 127.0.1.9:22' });
    expect(h).toEqual({ level: 'UNKNOWN', reason: 'probe failed: connect ECONNREFUSED 127.0.1.9:22' });
  });

  it('says a node that has not answered yet is UNKNOWN, and one silent since its last answer WARN, never OK', () => {
    expect(nodeHealth({ instance: instance(), waitingSeconds: 4 })).toEqual({ level: 'UNKNOWN', reason: 'no answer yet (asked 4 s ago)' });
    expect(nodeHealth({ instance: instance(), facts: mysql(), waitingSeconds: 4 })).toEqual({
      level: 'WARN',
      reason: 'no answer for 4 s (values from its last answer)',
    });
    // What it said last still counts when it is worse.
    const lagging = replica('127.0.1.1', { lagSeconds: 900 });
    expect(nodeHealth({ instance: instance(), facts: lagging, waitingSeconds: 4 }).level).toBe('CRIT');
  });

  it('leaves the node\'s own name out of a probe error shown beside it, but keeps its address', () => {
    const node = instance({ name: 'db-7' });
    expect(nodeHealth({ instance: node, probeError: 'db-7: timed out after 10000 ms (connecting to ops@127.0.1.7:22): "mysql --batch"' }).reason).toBe(
      'probe failed: timed out after 10000 ms (connecting to ops@127.0.1.7:22): "mysql --batch"',
    );
    expect(nodeHealth({ instance: node, probeError: 'db-7 (ops@127.0.1.7:22): not reachable' }).reason).toBe(
      'probe failed: db-7 (ops@127.0.1.7:22): not reachable',
    );
  });

  it('flags a Cassandra repair older than gc_grace and a node never repaired', () => {
    const facts = { kind: 'cassandra' as const, cassandra: { status: 'UN' as const, ring: [] } };
    expect(nodeHealth({ instance: instance(), facts, repairAgeSeconds: 12 * 86_400 }).reason).toBe(
      'repair overdue: 12 d > 10 d',
    );
    expect(nodeHealth({ instance: instance(), facts }).reason).toMatch(/never repaired/);
    expect(nodeHealth({ instance: instance(), facts, repairAgeSeconds: 86_400 }).level).toBe('OK');
    expect(nodeHealth({ instance: instance(), facts, badRepairTag: 'yesterday' }).reason).toContain('"yesterday"');
  });

  it('ranks CRIT over WARN over UNKNOWN over OK', () => {
    expect(worse('OK', 'UNKNOWN')).toBe('UNKNOWN');
    expect(worse('WARN', 'UNKNOWN')).toBe('WARN');
    expect(worse('CRIT', 'WARN')).toBe('CRIT');
  });

  it('takes the role from what the server says', () => {
    expect(roleOf(mysql({ readOnly: false }))).toBe('master');
    expect(roleOf(replica('127.0.1.1'))).toBe('replica');
    expect(roleOf(mysql({ readOnly: true }))).toBe('unknown');
  });
});
