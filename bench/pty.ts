// Starting the console (or node) in a pseudo-terminal, as a person would,
// and timing until a marker shows on its output. Shared by the start-up
// benches; runs nothing itself.

import { spawn, spawnSync } from 'node:child_process';

export const HAS_SCRIPT = !process.env.BENCH_NO_PTY && spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Spawns node with `args` (in a pty where there is one) and resolves with the time until `marker` shows on stdout. */
export function timeUntil(args: string[], marker: string | RegExp | null, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = HAS_SCRIPT
      ? spawn('script', ['-qfec', `stty cols 80 rows 24; exec ${[process.execPath, ...args].map(quote).join(' ')}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(performance.now() - started);
      // q quits the console; the pty closing (SIGHUP) ends it otherwise.
      child.stdin.end('q');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (marker && (typeof marker === 'string' ? out.includes(marker) : marker.test(out))) finish();
    });
    child.on('exit', (code) => {
      if (!marker) finish();
      else if (!done) reject(new Error(`exited (${code}) before "${marker}":\n${out}`));
    });
  });
}

export function stats(xs: number[]): { median: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]! };
}
