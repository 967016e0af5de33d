// Running dist/nightshift.cjs as it runs on a bastion: copied alone into an
// empty folder, with a bare environment, and watched by one-file-spy.cjs.
// Shared by test/build/one-file.test.ts and test/lab/one-file-lab.test.ts.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, expect } from 'vitest';

export const ONE_FILE = resolve('dist/nightshift.cjs');
export const SPY = resolve('test/build/one-file-spy.cjs');
export const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** Temporary directories made by a test file, removed after each of its tests. */
export function useTempDirs(): (prefix: string) => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** dist/nightshift.cjs alone in a new folder of the system's temporary directory, with no node_modules there or above. */
export function copyAlone(tempDir: (prefix: string) => string): { dir: string; file: string } {
  const dir = tempDir('ns-one-file-');
  const file = join(dir, 'nightshift.cjs');
  copyFileSync(ONE_FILE, file);
  expect(statSync(file).mode & 0o111, 'the build makes dist/nightshift.cjs executable').not.toBe(0);
  for (let d = dir; ; d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `${d}/node_modules would let the single file find packages outside itself`).toBe(false);
    if (dirname(d) === d) break;
  }
  return { dir, file };
}

/** An environment with nothing of the caller's but PATH (node's own directory first): no NODE_OPTIONS, NODE_PATH or config. */
export function bareEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
    NIGHTSHIFT_CONFIG: '',
    ...extra,
  };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` to its end (without blocking this process: a test's HTTP fake answers meanwhile). */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

export interface Spied {
  scripts: string[];
  resolved: string[];
  dlopen: string[];
  keyPairs: string[];
  verified: string[];
  ciphers: string[];
}

/** What one-file-spy.cjs printed, and stderr without it. */
export function spied(stderr: string): { seen: Spied; rest: string } {
  const line = stderr.split('\n').find((l) => l.startsWith('one-file-spy '));
  if (!line) throw new Error(`the spy printed nothing; stderr:\n${stderr}`);
  return { seen: JSON.parse(line.slice('one-file-spy '.length)) as Spied, rest: stderr.replace(`${line}\n`, '') };
}
