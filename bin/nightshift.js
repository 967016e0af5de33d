#!/usr/bin/env node
// Runs the built CLI from dist/; falls back to the TypeScript sources through
// tsx when no build is there (a fresh checkout after `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

// React's development build is several times slower per frame; a console on
// a 5,000-node fleet needs the production one.
process.env.NODE_ENV ??= 'production';

// V8 sizes the heap for the machine (up to 4 GB on one with 16 GB or more)
// and lets it grow lazily: a console refreshing 5,000 nodes every 5 s keeps
// ~75 MB alive but sat at 250 MB and climbing. A smaller growing factor (a
// soft limit, read at every collection; not a cap that could end in an
// out-of-memory crash on a bigger fleet) keeps it near 180 MB for a few
// percent more CPU. NODE_OPTIONS or a flag on the command line still wins.
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=20');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli.js');
if (existsSync(built)) {
  const { main } = await import(pathToFileURL(built).href);
  await main(process.argv.slice(2));
} else {
  await import('tsx/esm');
  const { main } = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
  await main(process.argv.slice(2));
}
