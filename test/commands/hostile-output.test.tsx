// A node we repair must not drive the operator's terminal. On the simulated
// fleet (a product feature), one Cassandra node's Name tag and the output of
// its repair carry a window-title change (OSC), a screen clear (CSI) and an
// 8-bit CSI: headless `run`, `show`, `runs`, `ls` and the console's frames
// show the text around them, and none of the sequences.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleRunner } from '../../src/actions/console-runner.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createSimBackends, type SimBackends } from '../../src/backends/sim/index.js';
import { RunScreen } from '../../src/screens/run/run-screen.js';
import { createRunsStore } from '../../src/store/runs.js';
import { keys } from '../helpers/keys.js';
import { cleanupInk, renderInk } from '../helpers/render.js';
import { cassandraRing, cli, FAST, journals, prepareWorld, SCENARIO, workspace } from './cli-helpers.js';

const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J';
const CSI8 = '\x9b31m';
const HOSTILE_NAME = `cass-${TITLE}evil${CLEAR}-node${CSI8}`;
const SHOWN_NAME = 'cass-evil-node';
const HOSTILE_ERROR = `disk ${TITLE}full on ${CLEAR}replica${CSI8} 10.0.0.9`;
const SHOWN_ERROR = 'disk full on replica 10.0.0.9';

/** Anything a terminal acts on: ESC, C1, and C0 but newline. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

function expectInert(text: string): void {
  for (const seq of [TITLE, CLEAR, CSI8, '\x1b', '\x9b']) expect(text).not.toContain(seq);
  expect(text).not.toMatch(CONTROL);
}

/** A world whose chosen node is named by a hostile tag and whose repair fails with a hostile message. */
async function hostileWorld(dir: string): Promise<{ ring: string; node: string }> {
  let found = { ring: '', node: '' };
  await prepareWorld(dir, async (b) => {
    const { name, members } = await cassandraRing(b);
    const node = members[1]!;
    await b.inventory.setTags(node.id, { Name: HOSTILE_NAME });
    b.world.inject({ kind: 'repair-fails', node: node.id, message: HOSTILE_ERROR });
    found = { ring: name, node: node.id };
  });
  return found;
}

describe('hostile text from nodes, headless', () => {
  it('run: the plan, the streamed output and the final error line show the text, not the sequences', async () => {
    const { dir, flags } = workspace();
    const { ring, node } = await hostileWorld(dir);
    const res = await cli([...SCENARIO, ...FAST, ...flags, 'run', 'repair', '--cluster', ring, '--node', node, '--yes']);
    expect(res.code).toBe(1);
    expectInert(res.stdout);
    expectInert(res.stderr);
    expect(res.stdout).toContain(`2. nodetool repair -pr · ${SHOWN_NAME}  [caution]`);
    expect(res.stdout).toContain(`│ `);
    expect(res.stdout).toContain(`failed with error ${SHOWN_ERROR}`);
    expect(res.stderr).toMatch(/^nightshift: run \S+ failed: /);
    expect(res.stderr).toContain(SHOWN_ERROR);

    // The journal keeps the text as it came, escaped by JSON: inert, and exact for a postmortem.
    const [journal] = journals(dir);
    expect(journal!.text).toContain('\\u001b]0;pwned\\u0007');
    expect(journal!.text).not.toContain('\x1b');

    // show and runs read that journal and clean what they print; --json escapes C1 as well.
    const runId = /run (\S+) failed/.exec(res.stderr)![1]!;
    for (const args of [['show', runId], ['show', runId, '--markdown'], ['runs']]) {
      const shown = await cli([...SCENARIO, ...flags, ...args]);
      expect(shown.code, shown.stderr).toBe(0);
      expectInert(shown.stdout);
    }
    expect((await cli([...SCENARIO, ...flags, 'show', runId])).stdout).toContain(SHOWN_ERROR);
    const json = await cli([...SCENARIO, ...flags, 'show', runId, '--json']);
    expectInert(json.stdout);
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain(JSON.stringify(HOSTILE_ERROR).slice(1, -1));
  });

  it('run --json: one escaped record a line, the values exactly as they came', async () => {
    const { dir, flags } = workspace();
    const { ring, node } = await hostileWorld(dir);
    const res = await cli([...SCENARIO, ...FAST, ...flags, 'run', 'repair', '--cluster', ring, '--node', node, '--yes', '--json']);
    expectInert(res.stdout);
    const records = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; text?: string });
    expect(records.some((r) => r.type === 'step-output-live' && r.text?.includes(HOSTILE_ERROR))).toBe(true);
  });

  it('ls: the node shows under its name without the sequences, in text and JSON', async () => {
    const { dir, flags } = workspace();
    await hostileWorld(dir);
    const text = await cli([...SCENARIO, ...flags, 'ls']);
    expect(text.code, text.stderr).toBe(0);
    expectInert(text.stdout);
    expect(text.stdout).toContain(SHOWN_NAME);
    const json = await cli([...SCENARIO, ...flags, 'ls', '--json']);
    expectInert(json.stdout);
    const fleet = JSON.parse(json.stdout) as { clusters: Array<{ nodes: Array<{ name: string; tags: Record<string, string> }> }> };
    const nodes = fleet.clusters.flatMap((c) => c.nodes);
    expect(nodes.map((n) => n.name)).toContain(SHOWN_NAME);
    expect(nodes.find((n) => n.name === SHOWN_NAME)!.tags.Name).toBe(SHOWN_NAME);
  });
});

describe('hostile text from nodes, in the console', () => {
  const opened: SimBackends[] = [];
  afterEach(async () => {
    cleanupInk();
    for (const b of opened.splice(0)) await b.close();
  });

  it('the run screen shows the plan and the failure without the sequences', async () => {
    const { dir } = workspace();
    const { ring, node } = await hostileWorld(dir);
    const frozen = Date.parse('2026-11-21T01:00:00Z');
    const backends = await createSimBackends({ scenario: 'healthy', seed: 7, speed: 1, stateDir: dir, realNow: () => frozen });
    opened.push(backends);
    const config: Config = { ...configSchema.parse({}), target: 'sim', stateDir: dir };
    const runs = createRunsStore();
    const runner = createConsoleRunner({ config, backends, runs, engine: { who: 'alice@bastion' } });
    const controller = await runner.plan('repair', { cluster: ring, node });
    const app = await renderInk(
      <RunScreen runId={controller.runId} runs={runs} controller={controller} width={110} height={30} isActive onBack={() => {}} />,
      { columns: 110, rows: 30 },
    );
    const plan = await app.waitForText('plan: ⏎ to start');
    expect(plan).toContain(`nodetool repair -pr · ${SHOWN_NAME}`);
    await app.press(keys.enter);
    await app.waitForText('[y/N]');
    await app.press('y');
    // The repair runs on the fleet's clock: move it until the failure is on screen.
    for (let i = 0; i < 2_000 && !app.lastFrame().includes('r retry · a abort'); i++) {
      await new Promise((r) => setImmediate(r));
      (backends.clock as unknown as { advance(ms: number): void }).advance(30_000);
    }
    const failed = await app.waitForText('r retry · a abort');
    expect(failed).toContain(SHOWN_ERROR);
    expect(failed).toContain(SHOWN_NAME);
    await app.press('a');
    expect((await controller.done)?.status).toBe('failed');
    for (const frame of app.stdout.frames) for (const seq of [TITLE, CLEAR, CSI8]) expect(frame).not.toContain(seq);
    // What the screen read came through the store, cleaned; the journal on disk kept the original.
    expect(readFileSync(journals(dir)[0]!.file, 'utf8')).toContain('\\u001b[2Jreplica');
  });
});
