// Bundles src/cli.ts into dist/, dependencies included: Node resolving and
// compiling Ink's hundred-odd small ESM files one by one was most of the
// start-up time. The AWS SDK and ssh2 stay external and are reached only by
// the dynamic imports in src/backends/index.ts, so the simulated fleet never
// loads them (nor an inventory or `ls` run the SDK).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleOptions } from './bundle.mjs';

const quiet = process.argv.includes('--quiet');
const started = performance.now();

// Chunk names carry content hashes: without this, old chunks pile up in dist/.
rmSync('dist', { recursive: true, force: true });
await build({
  ...bundleOptions,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  splitting: true,
  sourcemap: true,
  logLevel: quiet ? 'error' : 'info',
});
if (!quiet) console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`);
