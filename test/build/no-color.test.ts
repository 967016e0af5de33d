// NO_COLOR=1 gives a console without colour, bold or inverse video, and the
// screen still says everything: glyphs and words, the cursor as ›. So do
// --no-color and TERM=dumb, and NO_COLOR wins over a FORCE_COLOR the
// environment carries. Started from bin/ in a pseudo-terminal (script(1)), as
// an engineer starts it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The fleet table is drawn once a row of the ring shows; everything written until then is checked. */
const DRAWN = 'timeline-ring';

function framesUntilDrawn(extraEnv: Record<string, string>, extraArgs = ''): Promise<string> {
  const state = mkdtempSync(join(tmpdir(), 'ns-nocolor-'));
  const { CI: _ci, NO_COLOR: _noColor, FORCE_COLOR: _force, ...env } = process.env;
  return new Promise<string>((resolve, reject) => {
    const command = `stty cols 80 rows 24; exec '${process.execPath}' bin/nightshift.js --sim --scenario repair-overdue${extraArgs}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      // A terminal that shows colour unless a case says otherwise: the runner's own TERM may be dumb.
      env: { ...env, TERM: 'xterm-256color', XDG_STATE_HOME: state, NIGHTSHIFT_CONFIG: '', ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let drawn: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (drawn !== undefined) return;
      out += chunk.toString();
      if (!out.includes(DRAWN) || !out.includes(' help')) return;
      drawn = out;
      child.stdin.end('q');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
    // Settled when the console has exited: the state dir is removed only then (ENOTEMPTY otherwise).
    child.on('exit', (code) => (drawn !== undefined ? resolve(drawn) : reject(new Error(`exited (${code}) before its first frame:\n${out}`))));
  }).finally(() => rmSync(state, { recursive: true, force: true }));
}

/** SGR sequences: colour, bold, inverse (not cursor movement or screen modes). */
const STYLE = /\u001B\[[0-9;]*m/g;
/** A foreground colour: the 16 colours, bright ones, 256 or true colour. */
const COLOUR = /\u001B\[(?:3[0-7]|9[0-7]|38;)[0-9;]*m/;

describe('NO_COLOR', () => {
  it('draws no colour, bold or inverse, and the frame still carries glyphs, words and the cursor', { timeout: 60_000 }, async () => {
    const plain = await framesUntilDrawn({ NO_COLOR: '1' });
    expect(plain).toContain('REHEARSAL');
    expect(plain).toContain('› ');
    expect(plain).toMatch(/▲ WARN/);
    expect(plain.match(STYLE) ?? []).toEqual([]);
    // The same terminal without NO_COLOR is in colour, so the zero above means something.
    const coloured = await framesUntilDrawn({});
    expect(coloured).toMatch(COLOUR);
  });

  it('wins over a FORCE_COLOR the environment carries', { timeout: 60_000 }, async () => {
    const plain = await framesUntilDrawn({ NO_COLOR: '1', FORCE_COLOR: '1' });
    expect(plain).toMatch(/▲ WARN/);
    expect(plain.match(STYLE) ?? []).toEqual([]);
  });

  it('set but empty asks for nothing: the console is in colour', { timeout: 60_000 }, async () => {
    expect(await framesUntilDrawn({ NO_COLOR: '' })).toMatch(COLOUR);
  });
});

describe('--no-color and TERM=dumb', () => {
  it('--no-color draws without colour', { timeout: 60_000 }, async () => {
    const plain = await framesUntilDrawn({}, ' --no-color');
    expect(plain).toMatch(/▲ WARN/);
    expect(plain.match(STYLE) ?? []).toEqual([]);
  });

  it('TERM=dumb draws without colour, even when FORCE_COLOR is set', { timeout: 60_000 }, async () => {
    const plain = await framesUntilDrawn({ TERM: 'dumb', FORCE_COLOR: '1' });
    expect(plain).toMatch(/▲ WARN/);
    expect(plain.match(STYLE) ?? []).toEqual([]);
  });
});
