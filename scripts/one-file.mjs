// dist/nightshift.cjs: the console as one file, every dependency inside, for
// a machine with nothing but node on it (a bastion). bin/one-file.cjs is its
// entry; it carries dist/cli.cjs as it is (the same bytes, so the same
// first frame and the same start-up with V8's code cache), and the two
// dependencies dist/cli.cjs leaves outside, the AWS SDK and ssh2, each
// bundled on its own and kept as text that is compiled only when a target
// first requires it (the simulated fleet never does).
//
// Each text is gzipped, in base64. As plain text in string literals the file
// was 7.7 MB, and reading it and scanning its strings cost ~150 ms of CPU on
// every start (a third of a first frame) and kept all 7.7 MB in memory as
// the file's source; inflating dist/cli.cjs again costs ~15 ms, and the
// others are inflated only when needed.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { commonJsOptions } from './bundle.mjs';

/**
 * ssh2's optional native parts: `cpu-features` (to order its ciphers by what
 * the CPU accelerates) and its `sshcrypto.node` binding (ChaCha20-Poly1305
 * and AES-GCM in C). ssh2 requires each in a try/catch and works without
 * them, with Node's crypto (curve25519, ed25519, AES-GCM) and its own
 * WebAssembly Poly1305; a .node file could not be loaded from inside a
 * JavaScript file anyway. Each becomes a module that throws, as when they
 * are not installed.
 */
const withoutNativeAddOns = {
  name: 'without-native-add-ons',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$/ }, (args) => ({ path: args.path, namespace: 'native-add-on' }));
    b.onLoad({ filter: /.*/, namespace: 'native-add-on' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} (a native add-on) is not in dist/nightshift.cjs`)});`,
      loader: 'js',
    }));
  },
};

/** The packages of the AWS SDK and ssh2 that `cliSource` requires, by payload. */
export function requiredPackages(cliSource) {
  const ids = new Set([...cliSource.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]).filter((id) => !isBuiltin(id)));
  const aws = [...ids].filter((id) => id.startsWith('@aws-sdk/')).sort();
  const others = [...ids].filter((id) => !id.startsWith('@aws-sdk/') && id !== 'ssh2');
  // bin/one-file.cjs gives the console nothing else: a new external in
  // scripts/bundle.mjs needs a payload here, or the single file would fail
  // the first time a target reaches it.
  if (others.length > 0) throw new Error(`dist/cli.cjs requires ${others.join(', ')}, which dist/nightshift.cjs would not carry (scripts/one-file.mjs has payloads for the AWS SDK and ssh2 only)`);
  if (!ids.has('ssh2') || aws.length === 0) throw new Error('dist/cli.cjs no longer requires ssh2 and the AWS SDK by name; scripts/one-file.mjs looks for them');
  return { aws, ssh2: ['ssh2'] };
}

/** A CommonJS bundle of `contents` (a module that requires packages) with every package inside; only Node's built-ins stay outside. */
async function bundlePayload(name, contents) {
  const result = await build({
    stdin: { contents, resolveDir: process.cwd(), sourcefile: `${name}-payload.cjs`, loader: 'js' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: commonJsOptions.target,
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [withoutNativeAddOns],
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const outside = Object.values(result.metafile.inputs)
    .flatMap((input) => input.imports)
    .filter((i) => i.external && !isBuiltin(i.path))
    .map((i) => i.path);
  if (outside.length > 0) throw new Error(`the ${name} payload of dist/nightshift.cjs would require ${[...new Set(outside)].join(', ')} from outside the file`);
  return result.outputFiles[0].text;
}

/** See build.mjs: non-ASCII characters escaped, so that V8 holds the text as one byte a character. */
const asciiOnly = (code) => code.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);

/**
 * Writes `outfile` from `cliSource` (dist/cli.cjs as built): a `#!/usr/bin/env node`
 * line, bin/one-file.cjs, and the payloads. Returns the payloads' sizes.
 */
export async function buildOneFile({ cliSource, outfile, logLevel }) {
  const packages = requiredPackages(cliSource);
  const payloads = {
    ssh2: await bundlePayload('ssh2', "module.exports = require('ssh2');\n"),
    // One bundle for every client, which share most of their code: each package is evaluated on first use.
    aws: await bundlePayload(
      'aws',
      packages.aws.map((id) => `Object.defineProperty(exports, ${JSON.stringify(id)}, { enumerable: true, get: () => require(${JSON.stringify(id)}) });\n`).join(''),
    ),
  };
  const texts = Object.fromEntries(Object.entries(payloads).map(([name, code]) => [name, asciiOnly(code)]));
  const packed = (text) => JSON.stringify(gzipSync(Buffer.from(text, 'latin1'), { level: 9 }).toString('base64'));
  const virtual = {
    name: 'one-file-payloads',
    setup(b) {
      b.onResolve({ filter: /^nightshift:(cli|payloads)$/ }, (args) => ({ path: args.path, namespace: 'one-file' }));
      b.onLoad({ filter: /.*/, namespace: 'one-file' }, (args) => ({
        // A function returning each (gzipped, base64): V8 only skims a string inside a function it has not yet called.
        contents:
          args.path === 'nightshift:cli'
            ? `module.exports = () => ${packed(cliSource)};\n`
            : Object.entries(texts).map(([name, text]) => `exports[${JSON.stringify(name)}] = () => ${packed(text)};\n`).join(''),
        loader: 'js',
      }));
    },
  };
  await build({
    entryPoints: ['bin/one-file.cjs'],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: commonJsOptions.target,
    // bin/code-cache.js is an ES module that asks for import.meta.url.
    banner: { js: `#!/usr/bin/env node\n${commonJsOptions.banner.js}` },
    define: { 'import.meta.url': '__importMetaUrl' },
    plugins: [virtual],
    logLevel,
  });
  const code = readFileSync(outfile, 'utf8');
  if (/[^\0-\x7f]/u.test(code)) writeFileSync(outfile, asciiOnly(code));
  chmodSync(outfile, 0o755);
  return Object.fromEntries(Object.entries(texts).map(([name, text]) => [name, text.length]));
}
