// How the console is bundled (scripts/build.mjs), shared with bench/run-all.ts
// so that the benches measure the code as the console runs it.
import { readFileSync } from 'node:fs';
import { boundMeasureText, boundWrapText, shareOutputCaches } from './ink-caches.mjs';

/**
 * yoga-layout's Emscripten loader fetches its inlined wasm (a data: URL) with
 * the global fetch when there is one, which makes Node load undici (~50 ms of
 * CPU before the first frame). Without fetch it decodes the same base64
 * itself, as it does on runtimes that have none.
 */
const yogaWithoutFetch = {
  name: 'yoga-without-fetch',
  setup(b) {
    b.onLoad({ filter: /[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const uses = source.split('typeof fetch').length - 1;
      // A yoga-layout upgrade that changes its loader: build as it is, and say so.
      if (uses !== 2) console.warn(`build: yoga-layout's loader changed (typeof fetch x${uses}); it may load undici at start-up again`);
      return { contents: source.replaceAll('typeof fetch', '"undefined"'), loader: 'js' };
    });
  },
};

/** Bounds Ink's two text caches and keeps its output caches from frame to frame (see ink-caches.mjs). */
const inkCachesBounded = {
  name: 'ink-caches-bounded',
  setup(b) {
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]((measure|wrap)-text|output)\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const patch = /measure-text\.js$/.test(args.path) ? boundMeasureText : /wrap-text\.js$/.test(args.path) ? boundWrapText : shareOutputCaches;
      const bounded = patch(source);
      // An Ink upgrade that changed these files: build as it is, and say so.
      if (bounded === undefined) console.warn(`build: ${args.path} changed; its cache may grow without bound again`);
      return { contents: bounded ?? source, loader: 'js' };
    });
  },
};

/** esbuild options for a bundle of the console: every dependency inside but the AWS SDK and ssh2. */
export const bundleOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [
    '@aws-sdk/*',
    'ssh2',
    // Ink imports it only when DEV=true (React DevTools); it is not a dependency.
    'react-devtools-core',
  ],
  // The bundled CommonJS packages (React, yaml, commander, ...) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // bin/nightshift.js runs with NODE_ENV=production; fixing it here drops
  // React's development build from the bundle rather than shipping both.
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [yogaWithoutFetch, inkCachesBounded],
  jsx: 'automatic',
};
