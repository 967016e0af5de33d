// In one CommonJS bundle esbuild wraps the body of every module that is
// reached through a dynamic import (the console, the sim and all they import)
// in a function that runs it on first use (`__esm`, `__commonJS`). V8 then
// scans each of these bodies twice on a start without the code cache: once
// quickly as an inner function while compiling the file, and again in full
// when the function first runs. A function in parentheses is compiled at once
// instead (V8's heuristic for functions that are about to be called), so
// each body is parsed once, as in an ES module. Measured: 1,337M -> 1,302M
// instructions to the first frame without the cache.
//
// Works on esbuild's printed layout:
//   var init_x = __esm({          var init_x = __esm({
//     "src/x.ts"() {       ->       "src/x.ts": (function () {
//       ...                             ...
//     }                               })
//   });                           });
//
// A layout it does not recognise (an esbuild upgrade) fails the build
// rather than leave some bodies lazy without a word (patch-check.mjs).

import { createRequire } from 'node:module';
import { patchError } from './patch-check.mjs';

/** The esbuild whose printed layout this was written for. */
export const ESBUILD_VERSION = '0.28.2';

const WRAPPER = /^var (?:init|require)_[\w$]+ = __(?:esm|commonJS)\(\{$/gm;
const OPENING = /^(var (?:init|require)_[\w$]+ = __(?:esm|commonJS)\(\{)\n {2}("[^"\n]*")\(([\w$, ]*)\) \{$/gm;

/**
 * The bundle with each module body wrapped for eager compilation, and how
 * many were wrapped of how many found. Throws when it finds no wrapper at all
 * (a bundle with dynamic imports has some) or cannot wrap one it found.
 */
export function eagerModuleBodies(code, target = 'the bundle') {
  const found = code.match(WRAPPER)?.length ?? 0;
  let wrapped = 0;
  let out = '';
  let last = 0;
  for (const m of code.matchAll(OPENING)) {
    // The body ends at the first line that is exactly "  }" followed by "});": its own lines are indented further.
    const end = code.indexOf('\n  }\n});', m.index + m[0].length);
    if (end === -1) break;
    out += code.slice(last, m.index) + `${m[1]}\n  ${m[2]}: (function (${m[3]}) {` + code.slice(m.index + m[0].length, end) + '\n  })\n});';
    last = end + '\n  }\n});'.length;
    wrapped++;
  }
  if (found === 0 || wrapped !== found) {
    const why =
      found === 0
        ? `it looks for esbuild's module wrappers (${WRAPPER}), and found none`
        : `it made ${wrapped} of the ${found} module bodies it found eager; each must open as ${OPENING} and end at a line "  }" followed by "});"`;
    throw patchError('scripts/eager-bodies.mjs', target, why, `the output of esbuild ${ESBUILD_VERSION} (installed: esbuild ${installedEsbuild()})`);
  }
  return { code: out + code.slice(last), wrapped, found };
}

function installedEsbuild() {
  try {
    return createRequire(import.meta.url)('esbuild').version;
  } catch {
    return 'unknown';
  }
}
