// `engines.nodetool: nodetool -u cassandra -pw S3cret` on the simulated fleet:
// the password reaches nodetool, and nothing else: not the plan (dry run or
// run), not the journal, not `show --markdown`, not the console's plan or its
// gate prompt.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleRunner } from '../../src/actions/console-runner.js';
import { createSimBackends, type SimBackends } from '../../src/backends/sim/index.js';
import { loadConfig } from '../../src/config/load.js';
import { RunScreen } from '../../src/screens/run/run-screen.js';
import { createRunsStore } from '../../src/store/runs.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk, renderInk } from '../helpers/render.js';
import { cassandraRing, cli, FAST, journals, prepareWorld, SCENARIO, workspace } from './cli-helpers.js';

const CONFIG = 'engines:\n  nodetool: "nodetool -u cassandra -pw S3cret"\n';

async function ringOf(dir: string): Promise<string> {
  let ring = '';
  await prepareWorld(dir, async (b) => {
    ring = (await cassandraRing(b)).name;
  });
  return ring;
}

describe('a password in engines.nodetool, headless', () => {
  it('run --dry-run prints the plan with the password redacted', async () => {
    const { dir, flags } = workspace(CONFIG);
    const ring = await ringOf(dir);
    const res = await cli([...SCENARIO, ...flags, 'run', 'repair', '--cluster', ring, '--dry-run']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('nodetool -u cassandra -pw [redacted] repair -pr');
    expect(res.stdout + res.stderr).not.toContain('S3cret');
  });

  it('run --yes repairs with it, and neither the lines, the journal nor show --markdown hold it', async () => {
    const { dir, flags } = workspace(CONFIG);
    const ring = await ringOf(dir);
    const res = await cli([...SCENARIO, ...FAST, ...flags, 'run', 'repair', '--cluster', ring, '--yes']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/run \S+ succeeded/);
    expect(res.stdout).toContain('$ on ');
    expect(res.stdout).toContain('-pw [redacted] repair -pr');
    expect(res.stdout + res.stderr).not.toContain('S3cret');
    const [journal] = journals(dir);
    expect(journal!.text).toContain('-pw [redacted]');
    expect(journal!.text).not.toContain('S3cret');
    const runId = /run (\S+) succeeded/.exec(res.stdout)![1]!;
    const show = await cli([...SCENARIO, ...flags, 'show', runId, '--markdown']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('-pw [redacted]');
    expect(show.stdout).not.toContain('S3cret');
  });
});

describe('a password in engines.nodetool, in the console', () => {
  const opened: SimBackends[] = [];
  afterEach(async () => {
    cleanupInk();
    for (const b of opened.splice(0)) await b.close();
  });

  it('the plan screen and the gate prompt show the command with the password redacted', async () => {
    const { dir, flags } = workspace(CONFIG);
    const ring = await ringOf(dir);
    const config = loadConfig({ config: flags[1]!, stateDir: dir, sim: true, scenario: 'healthy', seed: '7' });
    const frozen = Date.parse('2026-11-21T01:00:00Z');
    const backends = await createSimBackends({ scenario: 'healthy', seed: 7, speed: 1, stateDir: dir, realNow: () => frozen });
    opened.push(backends);
    const runs = createRunsStore();
    const runner = createConsoleRunner({ config, backends, runs, engine: { who: 'alice@bastion' } });
    const controller = await runner.plan('repair', { cluster: ring });
    const app = await renderInk(
      <RunScreen runId={controller.runId} runs={runs} controller={controller} width={120} height={30} isActive onBack={() => {}} />,
      { columns: 120, rows: 30 },
    );
    await app.waitForText('plan: ⏎ to start');
    await app.press(keys.down);
    await app.waitForText('-pw [redacted] repair -pr');
    await app.press(keys.enter);
    const gate = await app.waitForText('[y/N]');
    expect(gate).toContain('-pw [redacted]');
    for (const frame of app.stdout.frames) expect(frame).not.toContain('S3cret');
    expect(JSON.stringify(runs.getState())).not.toContain('S3cret');
    await app.press(keys.enter);
    expect((await controller.done)?.status).toBe('stopped');
    expect(readFileSync(journals(dir)[0]!.file, 'utf8')).not.toContain('S3cret');
  });
});
