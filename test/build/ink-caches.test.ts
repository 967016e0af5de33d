// The build bounds Ink 6's two unbounded text caches (scripts/ink-caches.mjs).
// These fail when an Ink upgrade changes the code the patch expects, and when
// the bundle that `npm start` runs does not carry the patch.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { boundMeasureText, boundWrapText, MAX_ENTRIES } from '../../scripts/ink-caches.mjs';

const inkBuild = dirname(createRequire(import.meta.url).resolve('ink'));

describe("Ink's text caches", () => {
  it('the patch applies to the Ink that is installed', () => {
    const measure = boundMeasureText(readFileSync(join(inkBuild, 'measure-text.js'), 'utf8'));
    const wrap = boundWrapText(readFileSync(join(inkBuild, 'wrap-text.js'), 'utf8'));
    expect(measure).toContain(`if (cache.size >= ${MAX_ENTRIES}) cache.clear();`);
    expect(wrap).toContain(`if (++cacheEntries > ${MAX_ENTRIES}) {`);
    expect(wrap).toContain('let cache = {};');
  });

  it('says so, rather than guessing, when the code is not what it expects', () => {
    expect(boundMeasureText('const cache = new LRU();')).toBeUndefined();
    expect(boundWrapText('const cache = new LRU();')).toBeUndefined();
  });

  it('the bundle in dist/ carries both bounds', () => {
    const bundle = readdirSync('dist')
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join('dist', f), 'utf8'))
      .join('\n');
    expect(bundle).toMatch(/if \(cache\.size >= (20000|2e4)\) cache\.clear\(\);/);
    expect(bundle).toMatch(/if \(\+\+cacheEntries > (20000|2e4)\)/);
  });
});
