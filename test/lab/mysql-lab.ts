// What the switchover and failover lab tests share: the real CLI in a child
// process against the lab's inventory, the cluster as `ls --json` reports it,
// and the run's journal.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseJournal } from '../../src/actions/engine/journal.js';
import type { useTestLab } from '../helpers/lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'nightshift.js');

interface LsNode {
  name: string;
  mysql?: { readOnly: boolean; source: string | null; ioThread: string; sqlThread: string };
}

/** A master and the two replicas that follow it, as topology() words them. */
export const healthy = (master: string, a: string, b: string) => ({
  [master]: 'master read_only=false',
  [a]: `replica of ${master} io=Yes sql=Yes read_only=true`,
  [b]: `replica of ${master} io=Yes sql=Yes read_only=true`,
});

export function labCli(fx: ReturnType<typeof useTestLab>) {
  function cli(stateHome: string, args: string[], inventory = fx.lab.state.files.inventory) {
    const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
    return spawnSync(process.execPath, [bin, '--inventory', inventory, ...args], { cwd: root, env, encoding: 'utf8', timeout: 180_000 });
  }

  /** Each node as `ls --json` reports it; a node whose MySQL does not answer reads "down". */
  function topology(stateHome: string): Record<string, string> {
    const ls = cli(stateHome, ['ls', '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const nodes = (JSON.parse(ls.stdout) as { clusters: Array<{ nodes: LsNode[] }> }).clusters[0]!.nodes;
    return Object.fromEntries(
      nodes.map((n) => [
        n.name,
        !n.mysql ? 'down' : n.mysql.source === null ? `master read_only=${n.mysql.readOnly}` : `replica of ${n.mysql.source} io=${n.mysql.ioThread} sql=${n.mysql.sqlThread} read_only=${n.mysql.readOnly}`,
      ]),
    );
  }

  /** The newest run's journal records. */
  function journalRecords(stateHome: string) {
    const dir = join(stateHome, 'nightshift', 'runs');
    const file = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().at(-1)!;
    return parseJournal(join(dir, file), readFileSync(join(dir, file), 'utf8')).records;
  }

  return { cli, topology, journalRecords };
}
