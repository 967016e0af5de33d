// The build rewrites a few files of Ink, of the packages Ink draws text
// with, and of esbuild's output (ink-caches.mjs, narrow-text.mjs,
// styled-chars.mjs, eager-bodies.mjs). Each patch looks for the exact code it
// replaces. When an upgrade changes that code the patch must not quietly
// step aside: the console would build and run, and bring back what the patch
// was there for (Ink's unbounded caches in a console left open all night, a
// slower start). So a patch that does not find its code fails the build,
// naming itself, the file, and what it looked for.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The Ink the patches were written for; package.json pins it exactly (test/build/patch-check.test.ts holds the two together). */
export const INK_VERSION = '6.8.0';

/** The Ink in node_modules, for the message; "unknown" when it cannot be read. */
export function installedInk() {
  try {
    const entry = createRequire(import.meta.url).resolve('ink');
    return JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The error a patch throws when `target` is not what it was written for; `why`
 * says what it looked for. `writtenFor` names the code it was written against.
 */
export function patchError(patch, target, why, writtenFor = `Ink ${INK_VERSION} and the packages that version installs (installed: Ink ${installedInk()})`) {
  return new Error(
    `build: patch ${patch} does not apply to ${target}: ${why}. It was written for ${writtenFor}; ` +
      'after an upgrade, re-check the patches against the new code as the README says (Development, "Upgrading Ink or esbuild"), ' +
      'or go back to the locked versions with `npm ci`',
  );
}

/** Throws patchError unless `source` holds every one of `snippets`. */
export function lookFor(patch, target, source, snippets) {
  const missing = snippets.filter((s) => !source.includes(s));
  if (missing.length > 0) throw patchError(patch, target, `it looks for ${missing.map((s) => JSON.stringify(s)).join(' and ')}, which is not there`);
}
