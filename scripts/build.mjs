// Bundles src/cli.ts into dist/cli.js. Dependencies stay external so the
// AWS SDK and ssh2 are only loaded (by dynamic import) when a target needs them.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const quiet = process.argv.includes('--quiet');
const started = performance.now();
// Chunk names carry content hashes: without this, old chunks pile up in dist/.
rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  jsx: 'automatic',
  logLevel: quiet ? 'error' : 'info',
});
if (!quiet) console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`);
