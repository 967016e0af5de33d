// The CLI in process (main()) on the simulated fleet, for tests that look at
// exactly what reaches the operator's terminal: stdout and stderr as bytes.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli.js';
import { createSimBackends, type SimBackends } from '../../src/backends/sim/index.js';

export const SCENARIO = ['--sim', '--scenario', 'healthy', '--seed', '7'];
// Fleet minutes go by in real milliseconds: a repair's sleeps are on the fleet's clock.
export const FAST = ['--speed', '100000'];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[]): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(args, { stdout, stderr, isInteractive: false });
  process.exitCode = 0;
  return { code, stdout: out, stderr: err };
}

/** A state directory with a config file in it (`--config` and `--state-dir` for cli()). */
export function workspace(configYaml = ''): { dir: string; flags: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-cli-'));
  const config = join(dir, 'nightshift.yaml');
  writeFileSync(config, configYaml);
  return { dir, flags: ['--config', config, '--state-dir', dir] };
}

/** Opens the world the CLI will find (same scenario, seed and state dir), lets `prepare` change it, and saves it. */
export async function prepareWorld(dir: string, prepare: (b: SimBackends) => Promise<void>): Promise<void> {
  const b = await createSimBackends({ scenario: 'healthy', seed: 7, speed: 1, stateDir: dir });
  try {
    await prepare(b);
  } finally {
    await b.close();
  }
}

/** The Cassandra ring of the world and its members. */
export async function cassandraRing(b: SimBackends) {
  const found = await b.inventory.discover();
  const ring = found.clusters.find((c) => c.engine === 'cassandra')!;
  const members = ring.instanceIds.map((id) => found.instances.find((i) => i.id === id)!);
  return { name: ring.name, members };
}

export function journals(dir: string): Array<{ file: string; text: string }> {
  const runs = join(dir, 'runs');
  return readdirSync(runs)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => ({ file: join(runs, f), text: readFileSync(join(runs, f), 'utf8') }));
}
