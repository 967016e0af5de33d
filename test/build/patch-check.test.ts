// The build's patches of Ink, of the packages Ink draws text with and of
// esbuild's output fail the build when they do not apply (scripts/patch-check.mjs):
// an upgrade must not quietly bring back Ink's unbounded caches or a slow start.
// These feed each patched file, as the build finds it in node_modules, code
// the patch was not written for, and check that the build stops and says
// which patch, which file and what it looked for; and that the Ink they were
// written for is the one package.json pins and npm installed.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: build scripts in plain JavaScript, without types
import { bundleOptions, commonJsOptions } from '../../scripts/bundle.mjs';
// @ts-expect-error: build scripts in plain JavaScript, without types
import { eagerModuleBodies, ESBUILD_VERSION } from '../../scripts/eager-bodies.mjs';
// @ts-expect-error: build scripts in plain JavaScript, without types
import { INK_VERSION } from '../../scripts/patch-check.mjs';

const require = createRequire(import.meta.url);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A folder with `files` (path -> text) in it and an entry that imports each. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-patch-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'entry.js'), Object.keys(files).map((path) => `import ${JSON.stringify(`./${path}`)};`).join('\n'));
  return dir;
}

/** The build's bundle of `dir`/entry.js, with the build's plugins: what it fails with, or undefined. */
async function buildFails(dir: string): Promise<string | undefined> {
  try {
    await build({ ...bundleOptions, entryPoints: [join(dir, 'entry.js')], write: false, logLevel: 'silent', banner: {} });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("the build's patches", () => {
  it('were written for the Ink that package.json pins exactly, and that npm installed', () => {
    // Bundled, so a devDependency: the packed tarball installs nothing (see the README's npm pack).
    const pkg = readJson('package.json') as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies.ink).toBe(INK_VERSION);
    const lock = readJson('package-lock.json') as { packages: Record<string, { version?: string; devDependencies?: Record<string, string> }> };
    expect(lock.packages['']!.devDependencies!.ink).toBe(INK_VERSION);
    expect(lock.packages['node_modules/ink']!.version).toBe(INK_VERSION);
    expect(readJson(join(dirname(require.resolve('ink')), '..', 'package.json')).version).toBe(INK_VERSION);
    expect((require('esbuild') as { version: string }).version).toBe(ESBUILD_VERSION);
  });

  // Each file the build patches, where it finds it, with code the patch does not know: the patch, the
  // file as the patch names it, and the first thing it looks for there.
  const cases: Array<[string, string, string, string]> = [
    ['node_modules/ink/build/measure-text.js', 'ink-caches', 'ink/build/measure-text.js', 'cache.set(text, dimensions);'],
    ['node_modules/ink/build/wrap-text.js', 'ink-caches', 'ink/build/wrap-text.js', 'const cache = {};'],
    ['node_modules/ink/build/output.js', 'ink-caches', 'ink/build/output.js', 'caches = new OutputCaches();'],
    ['node_modules/string-width/index.js', 'narrow-text', "string-width's index.js", 'const segmenter = new Intl.Segmenter();'],
    ['node_modules/wrap-ansi/node_modules/string-width/index.js', 'narrow-text', "string-width's index.js", 'const segmenter = new Intl.Segmenter();'],
    [
      'node_modules/@alcalzone/ansi-tokenize/build/tokenize.js',
      'narrow-text',
      "@alcalzone/ansi-tokenize's build/tokenize.js",
      'const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });',
    ],
    ['node_modules/slice-ansi/tokenize-ansi.js', 'narrow-text', "slice-ansi's tokenize-ansi.js", "const GRAPHEME_SEGMENTER = new Intl.Segmenter(undefined, {granularity: 'grapheme'});"],
    [
      'node_modules/@alcalzone/ansi-tokenize/build/styledChars.js',
      'styled-chars',
      "@alcalzone/ansi-tokenize's build/styledChars.js",
      '        else {\n            ret += ansiCodesToString(diffAnsiCodes(chars[i - 1].styles, char.styles));\n        }',
    ],
  ];
  it.each(cases)('fail the build when %s is not what they were written for', async (file, patch, named, lookedFor) => {
    const message = await buildFails(project({ [file]: 'export const changed = true;\n' }));
    expect(message).toContain(`[plugin: `);
    expect(message).toContain(`build: patch scripts/${patch}.mjs does not apply to ${named}: it looks for ${JSON.stringify(lookedFor)}`);
    expect(message).toContain(`It was written for Ink ${INK_VERSION}`);
  });

  it('name the file they were given, so that two copies of one package are told apart', async () => {
    const file = '/srv/app/node_modules/wrap-ansi/node_modules/string-width/index.js';
    // @ts-expect-error: a build script in plain JavaScript, without types
    const { patchStringWidth } = await import('../../scripts/narrow-text.mjs');
    expect(() => patchStringWidth('export default () => 1;', file)).toThrow(`does not apply to ${file}: it looks for`);
  });

  it('build the same files as they are installed (the control for the cases above)', async () => {
    // Without their own imports: the patches are under test here, not the packages' dependencies.
    const installed = (file: string) => readFileSync(file, 'utf8').replace(/^import .*$/gm, '');
    const inkBuild = dirname(require.resolve('ink'));
    const files = {
      'node_modules/ink/build/measure-text.js': installed(join(inkBuild, 'measure-text.js')),
      'node_modules/ink/build/wrap-text.js': installed(join(inkBuild, 'wrap-text.js')),
      'node_modules/string-width/index.js': installed(require.resolve('string-width')),
    };
    expect(Object.values(files).every((text) => !/^import /m.test(text))).toBe(true);
    expect(await buildFails(project(files))).toBeUndefined();
  });
});

describe('eager module bodies (scripts/eager-bodies.mjs)', () => {
  /** A CommonJS bundle as the build makes one: two modules reached by dynamic imports, each body wrapped by esbuild. */
  async function smallBundle(): Promise<string> {
    const dir = project({
      'a.js': 'export const a = () => "a";\n',
      'b.js': 'const { a } = require("./a.js");\nmodule.exports = { b: () => a() + "b" };\n',
    });
    writeFileSync(join(dir, 'entry.js'), 'module.exports = async () => { const { b } = await import("./b.js"); const { a } = await import("./a.js"); return b() + a(); };\n');
    const out = await build({
      ...commonJsOptions,
      plugins: [],
      banner: {},
      define: {},
      entryPoints: [join(dir, 'entry.js')],
      write: false,
      logLevel: 'silent',
    });
    return out.outputFiles![0]!.text;
  }
  const run = (code: string) => {
    const module = { exports: {} as () => Promise<string> };
    new Function('module', 'exports', 'require', code)(module, module.exports, require);
    return module.exports();
  };

  it('wraps every body it finds, and the bundle runs as before', async () => {
    const code = await smallBundle();
    const eager = eagerModuleBodies(code);
    expect(eager.found).toBe(2);
    expect(eager.wrapped).toBe(2);
    expect(eager.code.match(/^ {2}"[^"]+": \(function \([\w$, ]*\) \{$/gm)).toHaveLength(2);
    expect(await run(eager.code)).toBe(await run(code));
    expect(await run(code)).toBe('aba');
  });

  it('fails the build when esbuild prints a wrapper it does not know, naming what it looked for', async () => {
    const code = await smallBundle();
    // One body printed as a property with a function value rather than a method.
    const changed = code.replace(/^( {2}"[^"]*")\(([\w$, ]*)\) \{$/m, '$1: function($2) {');
    expect(changed).not.toBe(code);
    expect(() => eagerModuleBodies(changed, 'dist/cli.cjs')).toThrow(
      /^build: patch scripts\/eager-bodies\.mjs does not apply to dist\/cli\.cjs: it made 1 of the 2 module bodies it found eager; each must open as \/.*It was written for the output of esbuild 0\.28\.2/s,
    );
  });

  it('fails the build when it finds no wrapper at all', () => {
    expect(() => eagerModuleBodies('"use strict";\nvar init_a = __esm2({\n});\n', 'dist/cli.cjs')).toThrow(
      /does not apply to dist\/cli\.cjs: it looks for esbuild's module wrappers \(\/\^var \(\?:init\|require\)_.*\), and found none/,
    );
  });
});
