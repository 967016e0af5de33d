// The build patches how Ink measures and writes text (scripts/narrow-text.mjs,
// scripts/styled-chars.mjs, scripts/ink-caches.mjs), so the console that
// `npm start` runs draws with code no screen test runs: those render the
// sources, with Ink as published. This starts the bundled console and the
// sources side by side in a pseudo-terminal (script(1)), on the same
// simulated fleet and in colour, and compares their first frames byte for
// byte.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The footer's last key: the first frame has been written once it shows. */
const END_OF_FRAME = ' help';

/** Everything `args` (node's arguments) writes to an 80x24 terminal until its first frame is out. */
function firstFrame(args: string[]): Promise<string> {
  const state = mkdtempSync(join(tmpdir(), 'ns-frame-'));
  const { CI: _ci, NO_COLOR: _noColor, NODE_ENV: _nodeEnv, ...env } = process.env;
  return new Promise<string>((resolve, reject) => {
    const command = `stty cols 80 rows 24; exec ${[process.execPath, ...args].map(quote).join(' ')}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...env, XDG_STATE_HOME: state, NIGHTSHIFT_CONFIG: '', FORCE_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let frame: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (frame !== undefined) return;
      out += chunk.toString();
      const end = out.indexOf(END_OF_FRAME);
      if (end === -1) return;
      frame = out.slice(0, end + END_OF_FRAME.length);
      child.stdin.end('q');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
    // Settled when the console has exited: it writes its state until then, and a
    // directory removed under it comes back as ENOTEMPTY.
    child.on('exit', (code) => (frame !== undefined ? resolve(frame) : reject(new Error(`exited (${code}) before its first frame:\n${out}`))));
  }).finally(() => rmSync(state, { recursive: true, force: true }));
}

describe('the bundled console', () => {
  it('draws its first frame exactly as the sources do', { timeout: 60_000 }, async () => {
    expect(spawnSync('script', ['--version']).status, 'script(1) (util-linux) is needed to give the console a terminal').toBe(0);
    const sim = ['--sim', '--scenario', 'lagging-replica', '--seed', '3'];
    const bundled = await firstFrame(['bin/nightshift.js', ...sim]);
    const sources = await firstFrame([
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `process.env.NODE_ENV ??= 'production'; const { main } = await import('./src/cli.ts'); await main(${JSON.stringify(sim)});`,
    ]);
    expect(bundled).toContain('REHEARSAL');
    expect(bundled).toContain('\u001B['); // in colour: the escape codes are compared too
    expect(bundled).toBe(sources);
  });
});
