// Runs the built CLI as bin/nightshift.js does, then saves V8's code cache for
// the bundle where bin/code-cache.js looks for it under $XDG_CACHE_HOME, in
// its format. The product saves one only when the console starts; the kill
// harness starts hundreds of headless processes, and with the bytecode of a
// whole run handed back to V8 each of them skips most of its compiling.
// The harness checks that the real launcher then says "code cache used".
//
// Usage: node code-cache-writer.mjs <bundle> <nightshift arguments…>

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';

process.env.NODE_ENV ??= 'production';
if (process.env.NO_COLOR) process.env.FORCE_COLOR ??= '0';

const [file, ...argv] = process.argv.slice(2);
const sha256 = (data) => createHash('sha256').update(data).digest();
const source = readFileSync(file);
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source.toString('utf8')}\n})`, { filename: file });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
try {
  await module.exports.main(argv);
} finally {
  // As bin/code-cache.js names and keys it: SHA-256 of the key, SHA-256 of the data, the data.
  const key = sha256([sha256(source).toString('hex'), process.version, process.arch, cachedDataVersionTag()].join('\n'));
  const data = script.createCachedData();
  const path = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nightshift', `${file.replace(/[^\w.]+/g, '-')}.cache`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, Buffer.concat([key, sha256(data), data]));
  renameSync(`${path}.tmp`, path);
}
