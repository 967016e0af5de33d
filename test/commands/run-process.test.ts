// The whole promise, as a real process on the simulated fleet: a headless
// repair is killed with SIGKILL in the middle of `nodetool repair -pr`,
// `nightshift resume` finishes it, and exactly one node ends up with exactly
// one new last-repaired tag, with the journal telling the whole story.
// Needs the CLI wiring (src/cli.ts + src/commands/index.ts) and the simulated
// fleet (src/backends/sim); uses bin/nightshift.js as a user would.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { parseJournal } from '../../src/actions/engine/journal.js';
import type { RunRecord } from '../../src/actions/engine/records.js';
import { statePathOf } from '../../src/backends/sim/state-file.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// NIGHTSHIFT_BIN: another launcher to test (a build, or a wrapper while the CLI is being wired).
const bin = process.env.NIGHTSHIFT_BIN ?? join(root, 'bin', 'nightshift.js');
// Fast enough that the test is short, slow enough that the repair spans real seconds to kill it in.
const SIM = ['--sim', '--scenario', 'healthy', '--seed', '7', '--speed', '40'];

function cli(stateHome: string, args: string[]) {
  const res = spawnSync(process.execPath, [bin, ...SIM, ...args], {
    cwd: root,
    env: { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

interface LsNode {
  id: string;
  name: string;
  tags: Record<string, string>;
}

function cassandraRing(stateHome: string): { name: string; nodes: LsNode[] } {
  const ls = cli(stateHome, ['ls', '--json']);
  expect(ls.code, ls.stderr).toBe(0);
  const fleet = JSON.parse(ls.stdout) as { clusters: Array<{ name: string; engine: string; nodes: LsNode[] }> };
  const ring = fleet.clusters.find((c) => c.engine === 'cassandra');
  if (!ring) throw new Error('the healthy scenario has no Cassandra ring');
  return { name: ring.name, nodes: ring.nodes };
}

function simWorld(stateHome: string): { repairs?: unknown[] } {
  const path = statePathOf(join(stateHome, 'nightshift'), 'healthy', 7, null);
  if (!existsSync(path)) throw new Error(`no simulated world at ${path}`);
  return JSON.parse(readFileSync(path, 'utf8')) as { repairs?: unknown[] };
}

/**
 * The journal of one run, by its id: a state dir holds several (the refused
 * second run writes its own), and which one readdir lists first is the file
 * system's choice.
 */
function journalOf(stateHome: string, runId: string): { path: string; records: RunRecord[]; text: string } | undefined {
  const path = join(stateHome, 'nightshift', 'runs', `${runId}.jsonl`);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  return { path, text, records: parseJournal(path, text).records };
}

/** The id the run printed as it started ("run 20261121-233601-repair-3f9a started by …"). */
function startedRunId(output: string): string | undefined {
  return /^run (\S+) started by /m.exec(output)?.[1];
}

describe('headless repair, killed mid-repair and resumed (process test, simulated fleet)', () => {
  it('repairs and tags exactly one node exactly once, and the journal tells the story', { timeout: 180_000 }, async () => {
    const stateHome = mkdtempSync(join(tmpdir(), 'nightshift-proc-'));
    const before = cassandraRing(stateHome);

    const child = spawn(process.execPath, [bin, ...SIM, 'run', 'repair', '--cluster', before.name, '--yes'], {
      cwd: root,
      env: { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    // Wait until the repair step has started and printed its first output, then kill.
    // A CLI that exits first (not wired, a crash) fails at once with what it said.
    const exitedEarly = exited.then((code) => {
      throw new Error(`nightshift exited (${code}) before the repair step started:\n${out}`);
    });
    let runId = '';
    await Promise.race([exitedEarly, vi.waitFor(
      () => {
        runId = startedRunId(out) ?? '';
        expect(runId, out).not.toBe('');
        const j = journalOf(stateHome, runId);
        expect(j?.records.some((r) => r.type === 'step-started' && r.stepId === 'repair'), out).toBe(true);
        expect(j?.records.some((r) => r.type === 'step-output' && r.stepId === 'repair')).toBe(true);
      },
      { timeout: 60_000, interval: 20 },
    )]);
    exitedEarly.catch(() => {});
    child.kill('SIGKILL');
    await exited;

    const killed = journalOf(stateHome, runId)!;
    expect(killed.records[0]).toMatchObject({ type: 'run-started', runId });
    // Killed in the middle: the repair had not finished, nothing was tagged.
    expect(killed.records.some((r) => r.type === 'step-finished' && r.stepId === 'repair')).toBe(false);
    expect(killed.records.some((r) => r.type === 'run-finished')).toBe(false);
    expect(cassandraRing(stateHome).nodes.map((n) => n.tags['last-repaired'])).toEqual(before.nodes.map((n) => n.tags['last-repaired']));

    // The run is listed as interrupted, and the lock still names it.
    const runs = cli(stateHome, ['runs', '--json']);
    expect(JSON.parse(runs.stdout)).toMatchObject([{ id: runId, status: 'interrupted' }]);
    const second = cli(stateHome, ['run', 'repair', '--cluster', before.name, '--yes']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`locked by run ${runId}`);

    const resumed = cli(stateHome, ['resume', '--yes']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} resumed`);

    // Exactly one node has a new tag; the others are as they were.
    const after = cassandraRing(stateHome);
    const changed = after.nodes.filter((n, i) => n.tags['last-repaired'] !== before.nodes[i]!.tags['last-repaired']);
    expect(changed).toHaveLength(1);
    expect(changed[0]!.tags['last-repaired']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

    // The journal: started, repair attempt 1 (interrupted), resumed, repair attempt 2 ok, one tag, finished.
    const story = journalOf(stateHome, runId)!;
    const kinds = story.records.map((r) => (r.type === 'step-started' || r.type === 'step-finished' ? `${r.type}:${r.stepId}` : r.type));
    const seq = kinds.filter((k) => /^(run-|step-started|step-finished)/.test(k));
    expect(seq).toEqual([
      'run-started',
      'step-started:pick',
      'step-finished:pick',
      'step-started:repair',
      'run-resumed',
      'step-started:repair',
      'step-finished:repair',
      'step-started:tag',
      'step-finished:tag',
      'run-finished',
    ]);
    expect(story.records.filter((r) => r.type === 'step-started' && r.stepId === 'tag')).toHaveLength(1);
    const tagged = story.records.find((r) => r.type === 'step-finished' && r.stepId === 'tag');
    expect(tagged).toMatchObject({ status: 'ok', via: 'run' });
    expect(story.records.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded' });
    const chosen = story.records.find((r) => r.type === 'run-started');
    expect(JSON.stringify(chosen)).toContain(changed[0]!.id);

    // The world saw two repair commands (the killed one never finished) and one that completed.
    const repairsRun = (simWorld(stateHome).repairs ?? []) as Array<{ outcome: string }>;
    expect(repairsRun.filter((r) => r.outcome === 'ok')).toHaveLength(1);

    const show = cli(stateHome, ['show', runId, '--markdown']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('| 2 | nodetool repair -pr |');
    expect(show.stdout).toMatch(/#1 interrupted/);
    expect(show.stdout).toContain('resumed by');
  });

  it('--dry-run changes nothing in the world and writes no journal', { timeout: 60_000 }, () => {
    const stateHome = mkdtempSync(join(tmpdir(), 'nightshift-proc-'));
    const before = cassandraRing(stateHome);
    const dry = cli(stateHome, ['run', 'repair', '--cluster', before.name, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('nodetool repair -pr');
    expect(dry.stdout).toContain('dry run: nothing was changed');
    const tagsOf = (nodes: LsNode[]) => nodes.map((n) => ({ id: n.id, tags: n.tags }));
    expect(tagsOf(cassandraRing(stateHome).nodes)).toEqual(tagsOf(before.nodes));
    // The world remembers every nodetool repair it ran: none.
    expect(simWorld(stateHome).repairs ?? []).toEqual([]);
    const runs = join(stateHome, 'nightshift', 'runs');
    expect(existsSync(runs) ? readdirSync(runs).filter((f) => f.endsWith('.jsonl')) : []).toEqual([]);
  });
});
