// Bundles src/cli.ts into dist/cli.cjs, dependencies included: Node resolving
// and compiling Ink's hundred-odd small ESM files one by one was most of the
// start-up time. One CommonJS file, so that bin/nightshift.js can compile it
// with V8's code cache (see bin/code-cache.js). The AWS SDK and ssh2 stay
// external and are reached only by the dynamic imports in
// src/backends/index.ts, so the simulated fleet never loads them (nor an
// inventory or `ls` run the SDK).
//
// Then dist/nightshift.cjs: the same bundle with the AWS SDK and ssh2 inside
// as well, one file to copy to a machine with only node (see one-file.mjs).
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { commonJsOptions } from './bundle.mjs';
import { eagerModuleBodies } from './eager-bodies.mjs';
import { buildOneFile } from './one-file.mjs';

const quiet = process.argv.includes('--quiet');
const started = performance.now();

// A new build also drops the code cache made for the last one (dist/cli.cjs.cache).
rmSync('dist', { recursive: true, force: true });
await build({
  ...commonJsOptions,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.cjs',
  sourcemap: true,
  logLevel: quiet ? 'error' : 'info',
});
// esbuild escapes every non-ASCII character in code (its default charset) but
// copies comments as they are; one "—" in a comment makes V8 hold the whole
// 2 MB source as a two-byte string for as long as the console runs. Escaped
// inside a comment, a character is just text. (A // comment ends its line, so
// the source map's columns for code are unchanged.)
let bundle = readFileSync('dist/cli.cjs', 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
const eager = eagerModuleBodies(bundle);
// An esbuild upgrade that prints its wrappers otherwise: build as it is, and say so.
if (eager.wrapped !== eager.found) console.warn(`build: ${eager.wrapped} of ${eager.found} module bodies made eager; esbuild's output changed, a start without the code cache is slower again`);
// Wrapping adds characters on the wrappers' own lines only: the source map still points at the right lines.
bundle = eager.code;
writeFileSync('dist/cli.cjs', bundle);
const payloads = await buildOneFile({ cliSource: bundle, outfile: 'dist/nightshift.cjs', logLevel: quiet ? 'error' : 'warning' });
if (!quiet) {
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`dist/nightshift.cjs ${mb(statSync('dist/nightshift.cjs').size)}, gzipped inside it: dist/cli.cjs ${mb(bundle.length)}, the AWS SDK ${mb(payloads.aws)}, ssh2 ${mb(payloads.ssh2)}`);
}
if (!quiet) console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`);
