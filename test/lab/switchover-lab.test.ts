// `nightshift run switchover` on the lab, as an engineer runs it: the real
// CLI in a child process, over the real sshd, against three real MariaDB
// servers with GTID replication, with nothing but the inventory and the
// config `lab up` wrote beside it. m2 becomes the master and m1 and m3 follow
// it; then the switch back leaves the lab as it was found. The write outage
// (old master read-only → new master writable) is read from the journal.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { parseJournal } from '../../src/actions/engine/journal.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'nightshift.js');

interface LsNode {
  name: string;
  mysql?: { readOnly: boolean; source: string | null; ioThread: string; sqlThread: string };
}

describeLab('switchover over real ssh on the lab', () => {
  const fx = useTestLab();

  function cli(stateHome: string, args: string[]) {
    const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' };
    return spawnSync(process.execPath, [bin, '--inventory', fx.lab.state.files.inventory, ...args], { cwd: root, env, encoding: 'utf8', timeout: 180_000 });
  }

  function topology(stateHome: string): Record<string, string> {
    const ls = cli(stateHome, ['ls', '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const nodes = (JSON.parse(ls.stdout) as { clusters: Array<{ nodes: LsNode[] }> }).clusters[0]!.nodes;
    return Object.fromEntries(
      nodes.map((n) => [n.name, n.mysql!.source === null ? `master read_only=${n.mysql!.readOnly}` : `replica of ${n.mysql!.source} io=${n.mysql!.ioThread} sql=${n.mysql!.sqlThread} read_only=${n.mysql!.readOnly}`]),
    );
  }

  /** Fleet ms from the readonly step's start to the promote step's finish, from the run's journal. */
  function writeOutageMs(stateHome: string): number {
    const dir = join(stateHome, 'nightshift', 'runs');
    const file = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().at(-1)!;
    const { records } = parseJournal(join(dir, file), readFileSync(join(dir, file), 'utf8'));
    const at = (type: string, stepId: string) => {
      const r = records.find((x) => x.type === type && 'stepId' in x && x.stepId === stepId) as { vt: number } | undefined;
      expect(r, `${type} ${stepId}`).toBeDefined();
      return r!.vt;
    };
    return at('step-finished', 'promote') - at('step-started', 'readonly');
  }

  it('moves the writes to m2 and back, with m1 and m3 following, and says how long writes stopped', { timeout: 300_000 }, () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-switchover-'));
    const healthy = (master: string, a: string, b: string) => ({
      [master]: 'master read_only=false',
      [a]: `replica of ${master} io=Yes sql=Yes read_only=true`,
      [b]: `replica of ${master} io=Yes sql=Yes read_only=true`,
    });
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));

    let t0 = Date.now();
    const there = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm2', '--yes', '--confirm', 'm1']);
    expect(there.status, there.stdout + there.stderr).toBe(0);
    const total = Date.now() - t0;
    const outage = writeOutageMs(home);
    expect(topology(home)).toEqual(healthy('m2', 'm1', 'm3'));
    // The lab configures no writer record: the DNS step says so and changes nothing.
    expect(there.stdout).toContain('no writer record configured');
    expect(there.stdout).not.toContain(readFileSync(fx.lab.state.files.replPassword, 'utf8').trim());

    t0 = Date.now();
    const back = cli(home, ['run', 'switchover', '--cluster', 'lab', '--candidate', 'm1', '--yes', '--confirm', 'm2']);
    expect(back.status, back.stdout + back.stderr).toBe(0);
    const totalBack = Date.now() - t0;
    const outageBack = writeOutageMs(home);
    expect(topology(home)).toEqual(healthy('m1', 'm2', 'm3'));

    console.log(`switchover on the lab: write outage m1→m2 ${outage} ms, m2→m1 ${outageBack} ms; whole command (process start to exit) ${total} ms, ${totalBack} ms`);
    expect(outage).toBeLessThan(30_000);
  });
});
