#!/usr/bin/env node
// Runs the built CLI from dist/ (with V8's code cache, see code-cache.js);
// falls back to the TypeScript sources through tsx when no build is there (a
// fresh checkout after `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// React's development build is several times slower per frame; a console on
// a 5,000-node fleet needs the production one.
process.env.NODE_ENV ??= 'production';
// NO_COLOR (no-color.org) asks for no colour; Ink's chalk reads only
// FORCE_COLOR, when it loads. An explicit FORCE_COLOR still wins.
if (process.env.NO_COLOR) process.env.FORCE_COLOR ??= '0';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli.cjs');
if (existsSync(built)) {
  const { loadBundle } = await import('./code-cache.js');
  const { main } = loadBundle(built);
  await main(process.argv.slice(2));
} else {
  await import('tsx/esm');
  const { main } = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
  await main(process.argv.slice(2));
}
