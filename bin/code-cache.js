// Loads the bundle (dist/cli.cjs) through vm.Script with V8's code cache: the
// bytecode of every function the console had compiled by the end of its
// start-up, saved by the first console after a build and handed back to V8
// by every later start, which then neither parses nor compiles them again.
// ES modules have no such cache on Node 20, hence a CommonJS bundle.
//
// The cache sits beside the bundle (a build removes dist/, and its cache with
// it), or under $XDG_CACHE_HOME/nightshift when dist/ is not writable (a
// global install run by another user). Anything wrong with it (missing,
// unreadable, made for another bundle, node or flags, corrupted) means a
// start without it, never a failure: the console then writes a new one.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';

// node:crypto only when there is a cache to check or to write: loading it costs ~10M instructions.
const sha256 = (data) => createRequire(import.meta.url)('node:crypto').createHash('sha256').update(data).digest();
// File layout: SHA-256 of the key, SHA-256 of the data, then V8's data.
const HEADER = 64;

/**
 * Runs the CommonJS bundle at `file` and returns its exports. The cache is
 * saved when the bundle's onConsoleStarted hooks run: start-up is done, and
 * no V8 flag has been changed yet (V8 stamps the data with its flags and
 * rejects it on every start with other flags).
 */
export function loadBundle(file) {
  return runBundle(readFileSync(file), { file, places: [`${file}.cache`, userCachePath(file)], require: createRequire(file) });
}

/** Where the cache for the bundle at `file` goes when not beside it: $XDG_CACHE_HOME/nightshift, named after the bundle's path. */
export function userCachePath(file) {
  const xdgCache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdgCache, 'nightshift', `${file.replace(/[^\w.]+/g, '-')}.cache`);
}

/**
 * Runs `source` (a CommonJS bundle, as a Buffer or a string) as the module
 * `file`, with the code cache read from the first of `places` that has a good
 * one, and written to the first that takes it; `require` is the module's.
 * `filename` names the code in stack traces (default `file`).
 */
export function runBundle(source, { file, filename = file, places, require }) {
  // Without a cache file (the first start after a build) nothing is hashed: ~25M instructions.
  let key;
  const keyOf = () => (key ??= cacheKey(source));
  let found;
  for (const path of places) {
    found = readCache(path, keyOf);
    if (found) break;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source.toString('utf8')}\n})`, {
    filename,
    cachedData: found?.data,
  });
  const state = !found ? 'none' : script.cachedDataRejected ? 'rejected by V8' : 'used';
  debug(`${state}${found ? ` (${found.path})` : ''}`);

  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, file, dirname(file));
  // The hook holds the source until it has run, and is dropped then: a console keeps no copy.
  module.exports.onConsoleStarted(() => {
    if (state === 'used') return debug('kept');
    const data = script.createCachedData();
    const bytes = Buffer.concat([keyOf(), sha256(data), data]);
    for (const path of places) if (writeAtomically(path, bytes)) return debug(`written (${path})`);
    debug(places.length > 1 ? 'not written: neither place is writable' : 'not written: its place is not writable');
  });
  return module.exports;
}

function cacheKey(source) {
  // V8 checks its version, flags and CPU features itself (cachedDataVersionTag)
  // and rejects what does not match; keying on them saves handing it data it would throw away.
  return sha256([sha256(source).toString('hex'), process.version, process.arch, cachedDataVersionTag()].join('\n'));
}

/** The cache at `path` if it is there, whole and made for this key; else undefined. */
function readCache(path, keyOf) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  const data = bytes.subarray(HEADER);
  // V8 on Node 20 does not check its cache's own checksum: a flipped byte could crash it.
  const problem =
    bytes.length >= HEADER && !keyOf().equals(bytes.subarray(0, 32))
      ? 'made for another bundle, node or flags'
      : data.length === 0 || !sha256(data).equals(bytes.subarray(32, HEADER))
        ? 'corrupted'
        : undefined;
  if (!problem) return { path, data };
  debug(`ignored (${path}: ${problem})`);
  return undefined;
}

/** Writes through a temporary file and a rename, so that no start reads half a cache; false if it cannot. */
function writeAtomically(path, bytes) {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(temporary, bytes, { mode: 0o644 });
    renameSync(temporary, path);
    return true;
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // nothing was written there
    }
    return false;
  }
}

function debug(message) {
  if (process.env.NIGHTSHIFT_DEBUG) process.stderr.write(`nightshift: code cache ${message}\n`);
}
