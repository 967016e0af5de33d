// The simulated world's cross-process section lock (`StateFile.exclusive`).
// A nightshift killed with SIGKILL inside a section leaves the lock file
// behind; the next process must take it over at once when its owner is dead,
// and still wait for an owner that lives.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StateFile } from '../../../src/backends/sim/state-file.js';
import { tempStateDir } from './sim-helpers.js';

const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A pid that was a process a moment ago and is none now. */
function deadPid(): number {
  const res = spawnSync(process.execPath, ['-e', '0']);
  expect(res.status).toBe(0);
  return res.pid!;
}

/** A child process that lives until it is killed. */
async function liveChild() {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, kill: async () => (child.kill('SIGKILL'), await exited) };
}

function world(waitMs: number) {
  const path = join(tempStateDir(), 'sim', 'healthy-1.json');
  return { file: new StateFile(path, 25, waitMs), lock: `${path}.lock` };
}

describe('the simulated world section lock', () => {
  it('takes over at once a lock whose process is dead (SIGKILL inside a section)', () => {
    const { file, lock } = world(60_000);
    file.write({} as never); // the directory exists, as it does once a world was saved
    const pid = deadPid();
    writeFileSync(lock, `${pid} ${hostname()}\n`);
    const t0 = performance.now();
    expect(file.exclusive(() => readFileSync(lock, 'utf8'))).toBe(`${process.pid} ${hostname()}\n`);
    // Not after waiting out a staleness age: the file was seconds old at most.
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(existsSync(lock)).toBe(false);
  });

  it('reads a lock file of the older format (pid only) as written on this host', () => {
    const { file, lock } = world(60_000);
    file.write({} as never);
    writeFileSync(lock, `${deadPid()}\n`);
    expect(file.exclusive(() => 'ran')).toBe('ran');
  });

  it('waits for a live owner, and takes the lock at once when that owner dies', async () => {
    const { file, lock } = world(300);
    file.write({} as never);
    const owner = await liveChild();
    writeFileSync(lock, `${owner.pid} ${hostname()}\n`);
    let ran = false;
    expect(() => file.exclusive(() => (ran = true))).toThrow(`stayed locked by pid ${owner.pid} on ${hostname()}`);
    expect(ran).toBe(false);
    expect(readFileSync(lock, 'utf8')).toBe(`${owner.pid} ${hostname()}\n`);

    await owner.kill();
    expect(file.exclusive(() => 'ran')).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('does not judge a process on another host: its lock is waited for', () => {
    const { file, lock } = world(300);
    file.write({} as never);
    writeFileSync(lock, `${deadPid()} elsewhere.example\n`);
    expect(() => file.exclusive(() => 'ran')).toThrow('on elsewhere.example');
    expect(existsSync(lock)).toBe(true);
  });

  it('keeps two processes out of each other, with a dead lock to take over at the start', { timeout: 60_000 }, async () => {
    const dir = tempStateDir();
    const path = join(dir, 'sim', 'healthy-1.json');
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    new StateFile(path).write({} as never);
    writeFileSync(`${path}.lock`, `${deadPid()} ${hostname()}\n`);
    const child = fileURLToPath(new URL('./child-count.ts', import.meta.url));
    const rounds = 200;
    const runs = [0, 1].map(
      () =>
        new Promise<number | null>((resolve, reject) => {
          const c = spawn(process.execPath, ['--import', 'tsx', child, path, counter, String(rounds)], { stdio: ['ignore', 'ignore', 'inherit'] });
          children.push(c);
          c.once('error', reject).once('exit', (code) => resolve(code));
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0]);
    // Read-increment-write inside the section: a lost update means two were inside at once.
    expect(readFileSync(counter, 'utf8')).toBe(String(2 * rounds));
  });
});
