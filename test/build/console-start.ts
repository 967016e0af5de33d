// Starting a built console in a pseudo-terminal (script(1)) until its loader
// says the code cache is settled: shared by the code-cache and one-file tests.

import { spawn } from 'node:child_process';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** What the loader says once the console has started: the last thing startConsole waits for. */
const SETTLED = /code cache (written \([^)]*\)|not written[^\r\n]*|kept)/;

/** The loader's lines ("code cache used (...)"), without the frames around them. */
export const said = (out: string) => [...out.matchAll(/code cache [^\r\n\u001B]*/g)].map((m) => m[0]);

/** Starts `node <script> --sim` at 80x24, waits until it has started, quits it, and returns all it wrote. */
export function startConsole(script: string, opts: { env: NodeJS.ProcessEnv; cwd?: string; uid?: number }): Promise<string> {
  const command = `stty cols 80 rows 24; exec ${[process.execPath, script, '--sim'].map(quote).join(' ')}`;
  return new Promise<string>((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('REHEARSAL') || !SETTLED.test(out)) return;
      child.stdin.end('q');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
    child.on('error', reject);
    child.on('exit', (code) => (SETTLED.test(out) ? resolve(out) : reject(new Error(`exited (${code}) before it had started:\n${out}`))));
  });
}
