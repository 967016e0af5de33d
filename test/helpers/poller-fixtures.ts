// For poller tests that need real probe answers without the simulated fleet:
// a Shell whose nodes answer as MariaDB servers do over `mysql --batch`, and
// the poller's usual options.

import { formatBatch, MARKER_COLUMN } from '../../src/backends/engines/mysql-batch.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/backends/engines/index.js';
import type { ExecResult, Shell } from '../../src/backends/ports.js';
import { DEFAULT_THRESHOLDS } from '../../src/domain/health.js';
import type { Instance } from '../../src/domain/types.js';
import type { PollerOptions } from '../../src/store/poller.js';

/** What the console's poller runs with when the config says nothing. */
export const POLLER_DEFAULTS: PollerOptions = {
  refreshSeconds: 5,
  thresholds: DEFAULT_THRESHOLDS,
  roleTag: 'nightshift:role',
  repairTag: 'last-repaired',
  engine: DEFAULT_ENGINE_OPTIONS,
};

const section = (name: string) => formatBatch([MARKER_COLUMN], [[name]]);

/** A writable master, or a read-only replica of the node `sourceOf` names. `sourceOf(node)`: the master a replica replicates from, or undefined for a master. */
export function mariadbShell(sourceOf: (node: Instance) => Instance | undefined): Shell {
  return {
    async exec(node: Instance, command: string): Promise<ExecResult> {
      if (command.includes('@@version AS version')) {
        return { code: 0, signal: null, stderr: '', stdout: section('version') + formatBatch(['version'], [['10.11.6-MariaDB-log']]) };
      }
      const source = sourceOf(node);
      const isMaster = source === undefined;
      let stdout =
        section('vars') +
        formatBatch(['server_id', 'read_only', 'log_bin', 'log_replica_updates', 'gtid_executed'], [[isMaster ? '1' : '2', isMaster ? '0' : '1', '1', '1', '0-1-42']]) +
        section('binlog') +
        formatBatch(['File', 'Position', 'Binlog_Do_DB', 'Binlog_Ignore_DB'], [['mysql-bin.000003', '1234', '', '']]) +
        section('replica');
      if (source) {
        stdout += formatBatch(
          ['Master_Host', 'Master_Port', 'Slave_IO_Running', 'Slave_SQL_Running', 'Seconds_Behind_Master', 'Last_IO_Errno', 'Last_IO_Error', 'Last_SQL_Errno', 'Last_SQL_Error', 'Using_Gtid', 'Gtid_IO_Pos'],
          [[source.privateIp, '3306', 'Yes', 'Yes', '0', '0', '', '0', '', 'Slave_Pos', '0-1-42']],
        );
      }
      return { code: 0, signal: null, stdout, stderr: '' };
    },
    loginCommand: () => 'ssh db',
    close: async () => {},
  };
}
