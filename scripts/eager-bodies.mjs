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

const OPENING = /^(var (?:init|require)_[\w$]+ = __(?:esm|commonJS)\(\{)\n {2}("[^"\n]*")\(([\w$, ]*)\) \{$/gm;

/** The bundle with each module body wrapped for eager compilation, and how many were wrapped of how many found. */
export function eagerModuleBodies(code) {
  const found = code.match(/^var (?:init|require)_[\w$]+ = __(?:esm|commonJS)\(\{$/gm)?.length ?? 0;
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
  return { code: out + code.slice(last), wrapped, found };
}
