#!/usr/bin/env node
// Runs the built CLI from dist/: dist/cli.cjs in a checkout (with V8's code
// cache, see code-cache.js; the AWS SDK and ssh2 come from node_modules), or
// dist/nightshift.cjs, the single file with every dependency inside, which
// is all an installed package carries (`npm pack`). Falls back to the
// TypeScript sources through tsx when no build is there (a fresh checkout
// after `npm ci`).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { prepareEnvironment } from './environment.js';

prepareEnvironment();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli.cjs');
const oneFile = join(root, 'dist', 'nightshift.cjs');
if (existsSync(built)) {
  const { loadBundle } = await import('./code-cache.js');
  const { main } = loadBundle(built);
  await main(process.argv.slice(2));
} else if (existsSync(oneFile)) {
  await createRequire(import.meta.url)(oneFile).run(process.argv.slice(2));
} else {
  await import('tsx/esm');
  const { main } = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
  await main(process.argv.slice(2));
}
