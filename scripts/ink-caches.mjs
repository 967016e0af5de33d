// Ink 6 keeps two module-level caches with no eviction, keyed by every text
// it ever measured or wrapped (ink#986, fixed only in Ink 7, which needs a
// newer Node than our machines run). A console left open all night draws new
// texts every second (ages, lags, sparklines), so they grow without end. The
// build bounds both: past MAX_ENTRIES they start again empty, which costs a
// few re-measurements and nothing else. Pure text transforms, so a test can
// check they still apply to the Ink that is installed.

export const MAX_ENTRIES = 20_000;

const MEASURE_SET = 'cache.set(text, dimensions);';
const WRAP_DECLARE = 'const cache = {};';
const WRAP_SET = 'cache[cacheKey] = wrappedText;';

/** ink/build/measure-text.js with its Map bounded; undefined when the code is not what it was. */
export function boundMeasureText(source) {
  if (!source.includes(MEASURE_SET)) return undefined;
  return source.replace(MEASURE_SET, `if (cache.size >= ${MAX_ENTRIES}) cache.clear();\n    ${MEASURE_SET}`);
}

/** ink/build/wrap-text.js with its object cache bounded; undefined when the code is not what it was. */
export function boundWrapText(source) {
  if (!source.includes(WRAP_DECLARE) || !source.includes(WRAP_SET)) return undefined;
  return source
    .replace(WRAP_DECLARE, 'let cache = {};\nlet cacheEntries = 0;')
    .replace(WRAP_SET, `if (++cacheEntries > ${MAX_ENTRIES}) {\n        cache = {};\n        cacheEntries = 1;\n    }\n    ${WRAP_SET}`);
}
