// The moment the console has started: its first frame is out and its backends
// are open. bin/nightshift.js saves V8's code cache then (see
// bin/code-cache.js): by then V8 has compiled what start-up needs, and no V8
// flag has been changed yet (heap-growth.ts changes one right after).
// Headless commands never get here, so they never write the cache.

const hooks: Array<() => void> = [];

export function onConsoleStarted(hook: () => void): void {
  hooks.push(hook);
}

export function consoleStarted(): void {
  for (const hook of hooks.splice(0)) {
    try {
      hook();
    } catch {
      // A cache that cannot be made is a slower next start, not a failure of this one.
    }
  }
}
