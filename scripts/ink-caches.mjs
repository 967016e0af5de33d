// Ink 6 keeps two module-level caches with no eviction, keyed by every text
// it ever measured or wrapped (ink#986, fixed only in Ink 7, which needs a
// newer Node than our machines run). A console left open all night draws new
// texts every second (ages, lags, sparklines), so they grow without end. The
// build bounds both: past MAX_ENTRIES they start again empty, which costs a
// few re-measurements and nothing else.
//
// Its output pass has the opposite problem: it caches each text's styled
// characters and widths for one frame only (a new Output per frame), so every
// frame tokenizes every text on screen again, though from one frame to the
// next almost all of them are the same. The build makes those caches last
// across frames, bounded the same way.
//
// Pure text transforms, so a test can check they still apply to the Ink that
// is installed. One that no longer applies fails the build (patch-check.mjs),
// naming `file` when the caller gives it (the path the bundler loaded).

import { lookFor } from './patch-check.mjs';

const PATCH = 'scripts/ink-caches.mjs';

export const MAX_ENTRIES = 20_000;

const MEASURE_SET = 'cache.set(text, dimensions);';
const WRAP_DECLARE = 'const cache = {};';
const WRAP_SET = 'cache[cacheKey] = wrappedText;';

/** ink/build/measure-text.js with its Map bounded; throws when the code is not what it was. */
export function boundMeasureText(source, file = 'ink/build/measure-text.js') {
  lookFor(PATCH, file, source, [MEASURE_SET]);
  return source.replace(MEASURE_SET, `if (cache.size >= ${MAX_ENTRIES}) cache.clear();\n    ${MEASURE_SET}`);
}

/** ink/build/wrap-text.js with its object cache bounded; throws when the code is not what it was. */
export function boundWrapText(source, file = 'ink/build/wrap-text.js') {
  lookFor(PATCH, file, source, [WRAP_DECLARE, WRAP_SET]);
  return source
    .replace(WRAP_DECLARE, 'let cache = {};\nlet cacheEntries = 0;')
    .replace(WRAP_SET, `if (++cacheEntries > ${MAX_ENTRIES}) {\n        cache = {};\n        cacheEntries = 1;\n    }\n    ${WRAP_SET}`);
}

/** A frame writes a few hundred texts; a styled text is an array of objects, a few KB for a long one. */
export const OUTPUT_MAX_ENTRIES = 2_000;
const OUTPUT_CACHES = 'caches = new OutputCaches();';
const OUTPUT_CLASS = 'export default class Output {';
const OUTPUT_SETS = ['this.styledChars.set(line, cached);', 'this.widths.set(text, cached);', 'this.blockWidths.set(text, cached);'];

/**
 * ink/build/output.js with one set of caches for every frame, each bounded;
 * throws when the code is not what it was. Sharing is safe: the cached
 * styled characters are only read (placed in the frame's grid, then turned
 * into a string).
 */
export function shareOutputCaches(source, file = 'ink/build/output.js') {
  lookFor(PATCH, file, source, [OUTPUT_CACHES, ...OUTPUT_SETS, OUTPUT_CLASS]);
  let out = source.replace(OUTPUT_CACHES, 'caches = sharedOutputCaches;');
  for (const set of OUTPUT_SETS) {
    const map = set.slice(0, set.indexOf('.set('));
    out = out.replace(set, `if (${map}.size >= ${OUTPUT_MAX_ENTRIES}) ${map}.clear();\n            ${set}`);
  }
  return out.replace(OUTPUT_CLASS, `const sharedOutputCaches = new OutputCaches();\n${OUTPUT_CLASS}`);
}
