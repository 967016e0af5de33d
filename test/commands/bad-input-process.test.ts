// Bad input at the edges, as a user meets it: bin/nightshift.js as a process,
// its exit code (2: usage or configuration) and the one line it prints,
// naming the file, line, key or value and the next thing to type.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_SIM_NODES } from '../../src/config/schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.NIGHTSHIFT_BIN ?? join(root, 'bin', 'nightshift.js');
const SIM = ['--sim', '--scenario', 'healthy', '--seed', '7'];
// Long enough for a loaded machine's start; a loop (the old /proc/x) would take all of it.
const PROMPT_MS = 20_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

function nightshift(args: string[], opts: { cwd?: string; uid?: number; gid?: number } = {}): Result {
  const state = mkdtempSync(join(tmpdir(), 'ns-bad-input-'));
  chmodSync(state, 0o777);
  const started = performance.now();
  const res = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? state,
    env: { ...process.env, XDG_STATE_HOME: state, XDG_CONFIG_HOME: join(state, 'config'), NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' },
    encoding: 'utf8',
    timeout: PROMPT_MS,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  return {
    code: res.status,
    stdout: res.stdout,
    stderr: res.stderr,
    ms: performance.now() - started,
    timedOut: (res.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
  };
}

function configFile(text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'ns-bad-config-'));
  const f = join(d, 'nightshift.yaml');
  writeFileSync(f, text);
  return f;
}

function expectUsage(r: Result, stderr: string | RegExp): void {
  expect(r.timedOut, 'it must answer at once, not loop').toBe(false);
  expect(r.stdout).toBe('');
  if (typeof stderr === 'string') expect(r.stderr).toBe(`nightshift: ${stderr}\n`);
  else expect(r.stderr).toMatch(stderr);
  expect(r.code, r.stderr).toBe(2);
}

describe('bad input at the edges: exit 2 and one line (process)', () => {
  it('--state-dir /proc/x: why, at once', () => {
    expectUsage(
      nightshift(['ls', ...SIM, '--state-dir', '/proc/x']),
      'cannot use --state-dir /proc/x: cannot create /proc/x: /proc takes no new files or directories (ENOENT; a special file system such as /proc?); name a directory you can write with --state-dir DIR',
    );
    // The console and a run stop the same way, before anything else.
    expectUsage(nightshift(['run', 'repair', '--cluster', 'x', ...SIM, '--state-dir', '/proc/x/y']), /^nightshift: cannot use --state-dir \/proc\/x\/y: cannot create \/proc\/x: /);
  });

  it('--state-dir under a file, or a directory nightshift cannot write', () => {
    const d = mkdtempSync(join(tmpdir(), 'ns-bad-state-'));
    const file = join(d, 'plain');
    writeFileSync(file, 'x');
    expectUsage(
      nightshift(['ls', ...SIM, '--state-dir', join(file, 'state')]),
      `cannot use --state-dir ${join(file, 'state')}: ${file} is a file, not a directory; name a directory you can write with --state-dir DIR`,
    );
    // Read-only to whoever runs it: as root nightshift runs as nobody, since root may write anywhere.
    const asRoot = process.getuid?.() === 0;
    const ro = join(d, 'ro');
    mkdirSync(ro);
    chmodSync(d, 0o755);
    chmodSync(ro, 0o555);
    const as = asRoot ? { uid: 65534, gid: 65534 } : {};
    expectUsage(
      nightshift(['ls', ...SIM, '--state-dir', ro], as),
      `cannot use --state-dir ${ro}: cannot write in it: permission denied (EACCES); name a directory you can write with --state-dir DIR`,
    );
    // A state dir still to be made, in a directory nightshift cannot write.
    expectUsage(
      nightshift(['ls', ...SIM, '--state-dir', join(ro, 'state')], as),
      `cannot use --state-dir ${join(ro, 'state')}: cannot create ${join(ro, 'state')}: permission denied (EACCES); name a directory you can write with --state-dir DIR`,
    );
  });

  it('--config naming a directory', () => {
    const d = mkdtempSync(join(tmpdir(), 'ns-bad-dir-'));
    expectUsage(
      nightshift(['ls', ...SIM, '--config', d]),
      `config file ${d} (from --config) is a directory, not a file; name the file in it, e.g. --config ${join(d, 'nightshift.yaml')}`,
    );
  });

  it('a YAML alias bomb in the config: the file and line, at once', () => {
    const rows = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [i, c] of [...'bcdefghi'].entries()) rows.push(`${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`);
    const f = configFile(`${rows.join('\n')}\n`);
    expectUsage(nightshift(['ls', ...SIM, '--config', f]), new RegExp(`^nightshift: ${f}:\\d+: [a-i][.\\d]*: too many aliases to expand .*\\n$`));
  });

  it('sim.scenario: nope in the config: file:line, the key and the scenarios', () => {
    const f = configFile('refreshSeconds: 5\nsim:\n  scenario: nope\n');
    expectUsage(
      nightshift(['ls', '--config', f]),
      new RegExp(`^nightshift: ${f}:3: sim\\.scenario: unknown scenario "nope"; one of: healthy, master-down, [a-z, -]+ \\(nightshift sim scenarios describes each\\)\\n$`),
    );
  });

  it('--scenario nope: exit 2 for every command', () => {
    const line = /^nightshift: --scenario nope: unknown scenario "nope"; one of: healthy, /;
    expectUsage(nightshift(['ls', '--scenario', 'nope']), line);
    expectUsage(nightshift(['--scenario', 'nope', 'sim', 'reset']), line);
    expectUsage(nightshift(['sim', 'reset', '--scenario', 'nope']), /unknown scenario "nope"; one of: healthy, /);
    expectUsage(nightshift(['run', 'repair', '--cluster', 'x', '--scenario', 'nope', '--dry-run']), line);
    expectUsage(nightshift(['runs', '--scenario', 'nope']), line);
  });

  it('--nodes 10000000: the limit, before any memory is spent', () => {
    const r = nightshift(['ls', '--sim', '--nodes', '10000000']);
    expectUsage(
      r,
      `--nodes takes a whole number from 1 to ${MAX_SIM_NODES} (the largest simulated fleet nightshift generates; see the README), not "10000000"`,
    );
  });

  it('--seed beyond 2^53 or not whole: the value and the range', () => {
    expectUsage(nightshift(['ls', '--sim', '--seed', '9007199254740993']), '--seed takes a whole number from -9007199254740991 to 9007199254740991, not "9007199254740993"');
    expectUsage(nightshift(['ls', '--sim', '--seed', '2.5']), '--seed takes a whole number from -9007199254740991 to 9007199254740991, not "2.5"');
  });

  it('lagWarnSeconds above lagCritSeconds: file, line and both keys', () => {
    const f = configFile('thresholds:\n  lagCritSeconds: 60\n  lagWarnSeconds: 90\n');
    expectUsage(
      nightshift(['ls', ...SIM, '--config', f]),
      `${f}:3: thresholds.lagWarnSeconds: 90 is above lagCritSeconds (60): a lag would turn critical without a warning first; make lagWarnSeconds the smaller (thresholds.lagCritSeconds is on line 2)`,
    );
  });

  it('--override naming no check: the checks the runbook has', () => {
    expectUsage(
      nightshift(['run', 'rebuild', '--cluster', 'x', ...SIM, '--override', 'sorce', '--confirm', 'x']),
      '--override sorce: rebuild has no check "sorce"; the checks of rebuild that --override takes: source (with --confirm CLUSTER)',
    );
    expectUsage(
      nightshift(['run', 'rebuild', '--cluster', 'x', ...SIM, '--override', 'via']),
      '--override via: the check "via" of rebuild cannot be overridden; the checks of rebuild that --override takes: source (with --confirm CLUSTER)',
    );
    expectUsage(
      nightshift(['run', 'repair', '--cluster', 'x', ...SIM, '--override', 'all-up']),
      /^nightshift: --override all-up: the check "all-up" of repair cannot be overridden; no check of repair can be overridden \(its checks: cassandra-ring, all-up\)\n$/,
    );
  });
});
