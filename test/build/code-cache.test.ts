// bin/code-cache.js: the console saves V8's code cache for dist/cli.cjs once
// it has started, and every later start hands it back to V8. Each test runs
// real consoles (in a pseudo-terminal, through script(1)) on a copy of the
// install in a temporary directory, and reads what the loader says it did on
// stderr (NIGHTSHIFT_DEBUG) next to the files it left.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { said, startConsole as startConsoleOf } from './console-start.js';

let install: string;
let bundle: string;
let cache: string;
let xdgCache: string;
let state: string;

beforeEach(() => {
  install = mkdtempSync(join(tmpdir(), 'ns-code-cache-'));
  for (const path of ['bin', 'dist/cli.cjs', 'package.json']) cpSync(path, join(install, path), { recursive: true });
  bundle = join(install, 'dist', 'cli.cjs');
  cache = `${bundle}.cache`;
  xdgCache = join(install, 'xdg-cache');
  state = join(install, 'state');
  mkdirSync(xdgCache);
  mkdirSync(state);
});
afterEach(() => rmSync(install, { recursive: true, force: true }));

/** Starts the console of the copied install, waits until it has started, quits it, and returns all it wrote. */
function startConsole(options: { uid?: number } = {}): Promise<string> {
  const { CI: _ci, NODE_ENV: _nodeEnv, ...env } = process.env;
  return startConsoleOf(join(install, 'bin', 'nightshift.js'), {
    env: { ...env, NIGHTSHIFT_DEBUG: '1', NIGHTSHIFT_CONFIG: '', XDG_CACHE_HOME: xdgCache, XDG_STATE_HOME: state, HOME: install },
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
  });
}

describe('the code cache', { timeout: 60_000 }, () => {
  it('is written by the first console and used, not rewritten, by the next', async () => {
    expect(said(await startConsole())).toEqual(['code cache none', `code cache written (${cache})`]);
    const written = statSync(cache);
    expect(written.mode & 0o777).toBe(0o644);

    expect(said(await startConsole())).toEqual([`code cache used (${cache})`, 'code cache kept']);
    const after = statSync(cache);
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
  });

  it.each([
    ['a flipped byte', () => {
      const bytes = readFileSync(cache);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
      writeFileSync(cache, bytes);
    }],
    ['a truncated file', () => truncateSync(cache, Math.floor(statSync(cache).size / 2))],
    ['a header alone', () => truncateSync(cache, 64)],
    ['a few bytes', () => truncateSync(cache, 10)],
  ])('with %s is ignored and replaced, and the console starts', async (_, corrupt) => {
    await startConsole();
    corrupt();

    expect(said(await startConsole())).toEqual([`code cache ignored (${cache}: corrupted)`, 'code cache none', `code cache written (${cache})`]);
    expect(said(await startConsole())).toEqual([`code cache used (${cache})`, 'code cache kept']);
  });

  it('that V8 rejects is replaced', async () => {
    // Whole and keyed for this bundle, node and flags, but not V8's: as if V8 had changed what it accepts.
    const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();
    const key = sha256([sha256(readFileSync(bundle)).toString('hex'), process.version, process.arch, cachedDataVersionTag()].join('\n'));
    const data = Buffer.alloc(4096, 0x55);
    writeFileSync(cache, Buffer.concat([key, sha256(data), data]));

    expect(said(await startConsole())).toEqual([`code cache rejected by V8 (${cache})`, `code cache written (${cache})`]);
    expect(said(await startConsole())).toEqual([`code cache used (${cache})`, 'code cache kept']);
  });

  it('made for another bundle is not used', async () => {
    await startConsole();
    const before = readFileSync(cache);
    // Of the same length, a letter changed in a comment: V8 checks only the length, so only the hash of the source tells them apart.
    const source = readFileSync(bundle, 'utf8');
    writeFileSync(bundle, source.replace('// src/errors.ts', '// src/errorz.ts'));
    expect(readFileSync(bundle, 'utf8')).not.toBe(source);

    expect(said(await startConsole())).toEqual([
      `code cache ignored (${cache}: made for another bundle, node or flags)`,
      'code cache none',
      `code cache written (${cache})`,
    ]);
    expect(readFileSync(cache).subarray(0, 32).equals(before.subarray(0, 32))).toBe(false);
  });

  it('goes to XDG_CACHE_HOME when dist/ is not writable', async () => {
    // As root the console runs as nobody, for whom dist/ is read-only; otherwise dist/ loses its write bit.
    const asRoot = process.getuid?.() === 0;
    const nobody = 65534;
    for (const dir of [install, join(install, 'bin'), join(install, 'dist')]) chmodSync(dir, 0o555);
    for (const dir of [xdgCache, state]) chmodSync(dir, 0o777);
    try {
      const first = said(await startConsole(asRoot ? { uid: nobody } : {}));
      const fallback = join(xdgCache, 'nightshift', `${bundle.replace(/[^\w.]+/g, '-')}.cache`);
      expect(first).toEqual(['code cache none', `code cache written (${fallback})`]);
      expect(existsSync(cache)).toBe(false);
      expect(said(await startConsole(asRoot ? { uid: nobody } : {}))).toEqual([`code cache used (${fallback})`, 'code cache kept']);
    } finally {
      for (const dir of [install, join(install, 'bin'), join(install, 'dist')]) chmodSync(dir, 0o755);
    }
  });

  it('is read but never written by a headless command', () => {
    const { CI: _ci, ...env } = process.env;
    const ls = () =>
      spawnSync(process.execPath, [join(install, 'bin', 'nightshift.js'), 'ls', '--sim'], {
        env: { ...env, NIGHTSHIFT_DEBUG: '1', NIGHTSHIFT_CONFIG: '', XDG_CACHE_HOME: xdgCache, XDG_STATE_HOME: state },
        encoding: 'utf8',
      });
    const cold = ls();
    expect(cold.status).toBe(0);
    expect(cold.stdout).toContain('simulated fleet');
    expect(said(cold.stderr)).toEqual(['code cache none']);
    expect(existsSync(cache)).toBe(false);
    expect(existsSync(join(xdgCache, 'nightshift'))).toBe(false);
  });

  it('made by a console is used by a headless command', async () => {
    await startConsole();
    const { CI: _ci, ...env } = process.env;
    const ls = spawnSync(process.execPath, [join(install, 'bin', 'nightshift.js'), 'ls', '--sim'], {
      env: { ...env, NIGHTSHIFT_DEBUG: '1', NIGHTSHIFT_CONFIG: '', XDG_CACHE_HOME: xdgCache, XDG_STATE_HOME: state },
      encoding: 'utf8',
    });
    expect(ls.status).toBe(0);
    expect(said(ls.stderr)).toEqual([`code cache used (${cache})`]);
  });
});
