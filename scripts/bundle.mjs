// How the console is bundled (scripts/build.mjs), shared with bench/run-all.ts
// so that the benches measure the code as the console runs it.
import { readFileSync } from 'node:fs';
import { boundMeasureText, boundWrapText, shareOutputCaches } from './ink-caches.mjs';
import { patchAnsiTokenize, patchSliceAnsi, patchStringWidth } from './narrow-text.mjs';
import { skipUnchangedStyles } from './styled-chars.mjs';

/**
 * yoga-layout's Emscripten loader fetches its inlined wasm (a data: URL) with
 * the global fetch when there is one, which makes Node load undici (~50 ms of
 * CPU before the first frame). Without fetch it decodes the same base64
 * itself, as it does on runtimes that have none: with atob and a loop over
 * 70 KB (~6 ms), which the build hands to Buffer, native and just as exact.
 *
 * A CommonJS bundle (dist/cli.cjs, see commonJsOptions) cannot wait for
 * yoga's `await loadYoga()` at the top of its module: there the loader
 * compiles the 70 KB of wasm synchronously (Node allows it at any size) and
 * yoga's index hands the ready module to its wrapper at once.
 */
const YOGA_DECODE = 'var b=xa(a.slice(37)),c=new Uint8Array(b.length);for(a=0;a<b.length;++a)c[a]=b.charCodeAt(a);var d=c';
const YOGA_INSTANTIATE =
  'function c(e){return ya().then(function(f){return WebAssembly.instantiate(f,d)}).then(function(f){return f}).then(e,function(f){v("failed to asynchronously prepare wasm: "+f);x(f)})}';
const YOGA_INSTANTIATE_SYNC = 'function c(e){e({instance:new WebAssembly.Instance(new WebAssembly.Module(wa()),d)});return Promise.resolve()}';
const YOGA_INDEX_AWAIT = 'const Yoga = wrapAssembly(await loadYoga());';
const YOGA_INDEX_SYNC =
  'const yogaModule = {};\nloadYoga(yogaModule);\n' +
  "if (!yogaModule.calledRun) throw new Error('yoga-layout did not load synchronously');\nconst Yoga = wrapAssembly(yogaModule);";
const yogaLoader = {
  name: 'yoga-loader',
  setup(b) {
    const isCommonJs = b.initialOptions.format === 'cjs';
    b.onLoad({ filter: /[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const uses = source.split('typeof fetch').length - 1;
      // A yoga-layout upgrade that changes its loader: build as it is, and say so.
      if (uses !== 2) console.warn(`build: yoga-layout's loader changed (typeof fetch x${uses}); it may load undici at start-up again`);
      if (!source.includes(YOGA_DECODE)) console.warn("build: yoga-layout's loader changed; it decodes its wasm with atob again");
      let contents = source.replaceAll('typeof fetch', '"undefined"').replace(YOGA_DECODE, 'var d=new Uint8Array(Buffer.from(a.slice(37),"base64"))');
      if (isCommonJs) {
        // No quiet fallback here: the bundle would throw at start-up (yoga's index checks), so the build fails instead.
        if (!contents.includes(YOGA_INSTANTIATE)) throw new Error("yoga-layout's loader changed; it can no longer be made synchronous for dist/cli.cjs");
        contents = contents.replace(YOGA_INSTANTIATE, YOGA_INSTANTIATE_SYNC);
      }
      return { contents, loader: 'js' };
    });
    if (!isCommonJs) return;
    b.onLoad({ filter: /[\\/]yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(YOGA_INDEX_AWAIT)) throw new Error(`${args.path} changed; it can no longer be loaded synchronously for dist/cli.cjs`);
      return { contents: source.replace(YOGA_INDEX_AWAIT, YOGA_INDEX_SYNC), loader: 'js' };
    });
  },
};

/**
 * Ink's reconciler awaits its React DevTools module at the top when DEV=true,
 * which a CommonJS bundle cannot do. The bundled console goes without
 * DevTools and says so; they work from the sources (`npx tsx src/cli.ts`).
 */
const INK_DEVTOOLS = /if \(isDev\(\)\) \{\n\s*try \{\n\s*await import\('\.\/devtools\.js'\);[\s\S]*?\n\}\n/;
const INK_PACKAGE_JSON = /isDev\(\)\n\s*\? await loadPackageJson\(\)\n\s*: /;
const inkWithoutDevtools = {
  name: 'ink-without-devtools',
  setup(b) {
    if (b.initialOptions.format !== 'cjs') return;
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]reconciler\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!INK_DEVTOOLS.test(source) || !INK_PACKAGE_JSON.test(source)) throw new Error(`${args.path} changed; its top-level awaits can no longer be taken out for dist/cli.cjs`);
      const warning = "if (isDev()) console.warn('DEV=true: React DevTools are not in the bundled console; run it from the sources (npx tsx src/cli.ts) for them');\n";
      return { contents: source.replace(INK_DEVTOOLS, warning).replace(INK_PACKAGE_JSON, ''), loader: 'js' };
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

/** Measures narrow texts without Intl.Segmenter or the emoji regex (see narrow-text.mjs). */
const narrowTextFastPath = {
  name: 'narrow-text-fast-path',
  setup(b) {
    const patches = [
      [/[\\/]string-width[\\/]index\.js$/, patchStringWidth],
      [/[\\/]@alcalzone[\\/]ansi-tokenize[\\/]build[\\/]tokenize\.js$/, patchAnsiTokenize],
      [/[\\/]slice-ansi[\\/]tokenize-ansi\.js$/, patchSliceAnsi],
    ];
    for (const [filter, patch] of patches) {
      b.onLoad({ filter }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const patched = patch(source);
        // An upgrade that changed the file: build as it is, and say so.
        if (patched === undefined) console.warn(`build: ${args.path} changed; the first frame may load ICU and the emoji regex again`);
        return { contents: patched ?? source, loader: 'js' };
      });
    }
  },
};

/** Skips the escape-code diff between characters of one style (see styled-chars.mjs). */
const styledCharsFastPath = {
  name: 'styled-chars-fast-path',
  setup(b) {
    b.onLoad({ filter: /[\\/]@alcalzone[\\/]ansi-tokenize[\\/]build[\\/]styledChars\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const patched = skipUnchangedStyles(source);
      // An upgrade that changed the file: build as it is, and say so.
      if (patched === undefined) console.warn(`build: ${args.path} changed; frames may take longer to write again`);
      return { contents: patched ?? source, loader: 'js' };
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
  plugins: [yogaLoader, inkCachesBounded, narrowTextFastPath, styledCharsFastPath],
  jsx: 'automatic',
};

/**
 * The same bundle as one CommonJS file, which bin/nightshift.js compiles
 * through vm.Script with V8's code cache (ES modules have no cache to hand
 * to V8 on Node 20). import.meta.url becomes the file's URL, taken from
 * __filename; the dynamic imports of the AWS SDK and ssh2 become require()
 * calls that still run only when they are reached.
 */
export const commonJsOptions = {
  ...bundleOptions,
  format: 'cjs',
  supported: { 'dynamic-import': false },
  banner: { js: "var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...bundleOptions.define, 'import.meta.url': '__importMetaUrl' },
  plugins: [...bundleOptions.plugins, inkWithoutDevtools],
};
