// The build bounds Ink 6's two unbounded text caches (scripts/ink-caches.mjs).
// These fail when an Ink upgrade changes the code the patch expects, and when
// the bundle that `npm start` runs does not carry the patch.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { boundMeasureText, boundWrapText, MAX_ENTRIES, OUTPUT_MAX_ENTRIES, shareOutputCaches } from '../../scripts/ink-caches.mjs';

const inkBuild = dirname(createRequire(import.meta.url).resolve('ink'));

describe("Ink's text caches", () => {
  it('the patch applies to the Ink that is installed', () => {
    const measure = boundMeasureText(readFileSync(join(inkBuild, 'measure-text.js'), 'utf8'));
    const wrap = boundWrapText(readFileSync(join(inkBuild, 'wrap-text.js'), 'utf8'));
    expect(measure).toContain(`if (cache.size >= ${MAX_ENTRIES}) cache.clear();`);
    expect(wrap).toContain(`if (++cacheEntries > ${MAX_ENTRIES}) {`);
    expect(wrap).toContain('let cache = {};');
  });

  it('fails, naming itself, the file and what it looked for, when the code is not what it expects', () => {
    expect(() => boundMeasureText('const cache = new LRU();')).toThrow(
      'build: patch scripts/ink-caches.mjs does not apply to ink/build/measure-text.js: it looks for "cache.set(text, dimensions);", which is not there. It was written for Ink 6.8.0',
    );
    // Only what is missing is named: the declaration is there, the bounded set is not.
    expect(() => boundWrapText('const cache = {};')).toThrow(/wrap-text\.js: it looks for "cache\[cacheKey\] = wrappedText;", which/);
    expect(() => shareOutputCaches('class Output { caches = new OutputCaches(); }')).toThrow(
      /ink-caches\.mjs does not apply to ink\/build\/output\.js: it looks for "this\.styledChars\.set\(line, cached\);" and /,
    );
  });

  it('the output pass keeps one bounded set of caches for every frame', async () => {
    const source = readFileSync(join(inkBuild, 'output.js'), 'utf8');
    const shared = shareOutputCaches(source);
    expect(shared).toBeDefined();
    expect(shared).not.toContain('caches = new OutputCaches();');
    expect(shared.match(new RegExp(`\\.size >= ${OUTPUT_MAX_ENTRIES}\\) this\\.\\w+\\.clear\\(\\);`, 'g'))).toHaveLength(3);
    // Loaded as a module (Ink's dependencies are hoisted, so they resolve from the project), it
    // draws the same frames as the original, and a second frame shares the first one's caches.
    const dir = join('node_modules', '.cache', 'nightshift-test');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `output-${process.pid}.js`);
    writeFileSync(file, shared!);
    const patched = (await import(pathToFileURL(file).href)).default;
    rmSync(file);
    const original = (await import(pathToFileURL(join(inkBuild, 'output.js')).href)).default;
    const frame = (Output: new (o: { width: number; height: number }) => OutputLike) => {
      const out = new Output({ width: 20, height: 2 });
      out.write(0, 0, '\u001b[31m✗ CRIT\u001b[39m db-1', { transformers: [] });
      out.write(2, 1, 'lag 12 s', { transformers: [] });
      return out;
    };
    const first = frame(patched);
    expect(first.get()).toEqual(frame(original).get());
    const second = frame(patched);
    expect(second.caches).toBe(first.caches);
    expect(second.get()).toEqual(first.get());
  });

  it('the bundle in dist/ carries both bounds', () => {
    const bundle = readdirSync('dist')
      .filter((f) => /\.c?js$/.test(f))
      .map((f) => readFileSync(join('dist', f), 'utf8'))
      .join('\n');
    expect(bundle).toMatch(/if \(cache\.size >= (20000|2e4)\) cache\.clear\(\);/);
    expect(bundle).toMatch(/if \(\+\+cacheEntries > (20000|2e4)\)/);
    expect(bundle).toContain('caches = sharedOutputCaches;');
  });
});

interface OutputLike {
  caches: unknown;
  write(x: number, y: number, text: string, options: { transformers: unknown[] }): void;
  get(): { output: string; height: number };
}
