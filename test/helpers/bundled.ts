// A package module as the build would bundle it, for the tests of the build's
// patches to dependencies (test/build/): bundled with its own dependencies by
// esbuild, as published or with patches applied, and evaluated in this
// process, so a test can run the original and the patched side by side.

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** A pure text transform of a module's source, undefined when it does not apply. */
export type Patch = (source: string) => string | undefined;

/** The export `name` of `file` (`*` for all of them), bundled with its dependencies as published, or with `patches` (file -> patch) applied. */
export async function loadBundled<T>(file: string, name = 'default', patches: Record<string, Patch> = {}): Promise<T> {
  const patched: Plugin = {
    name: 'patched',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        const patch = patches[args.path];
        if (!patch) return undefined;
        const contents = patch(readFileSync(args.path, 'utf8'));
        if (contents === undefined) throw new Error(`the patch does not apply to ${args.path}`);
        return { contents, loader: 'js' };
      });
    },
  };
  const out = await build({
    stdin: {
      contents: name === '*' ? `export * as subject from ${JSON.stringify(file)};` : `export { ${name} as subject } from ${JSON.stringify(file)};`,
      resolveDir: dirname(file),
    },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    write: false,
    plugins: [patched],
    logLevel: 'error',
  });
  const module = { exports: {} as { subject: T } };
  new Function('module', 'exports', out.outputFiles[0]!.text)(module, module.exports);
  return module.exports.subject;
}
