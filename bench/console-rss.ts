// Resident memory and CPU of the real console process on a large simulated
// fleet: `node bin/nightshift.js --sim --nodes 5000`, in a pseudo-terminal of
// 80x24 (through script(1), so Ink draws as it does for a person), left to
// refresh at its default interval. Samples VmRSS from /proc every half second.
// Prints figures; asserts nothing. Linux only (reads /proc).
// Run: node scripts/build.mjs && npx tsx bench/console-rss.ts [--nodes=5000] [--seconds=45]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const NODES = flag('nodes', 5000);
const SECONDS = flag('seconds', Number(process.env.BENCH_CONSOLE_SECONDS ?? 45));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, ms. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks; 100 Hz on Linux
  } catch {
    return undefined;
  }
}

/** The `node` process among the descendants of `root` (script -> sh -> node, or node itself). */
function findNode(root: number): number | undefined {
  const parentOf = new Map<number, number>();
  const commOf = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      commOf.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) if (p === root) return true;
    return false;
  };
  for (const [pid, comm] of commOf) if (comm === 'node' && isDescendant(pid)) return pid;
  return undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchConsoleRss(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-bench-console-'));
  // BENCH_NODE_FLAGS: V8/Node flags to try (e.g. --max-semi-space-size=4), printed with the figures.
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const consoleArgs = [...nodeFlags, 'bin/nightshift.js', '--sim', '--nodes', String(NODES), '--state-dir', stateDir];
  const { CI: _ci, ...rest } = process.env;
  const env: NodeJS.ProcessEnv = { ...rest, NODE_ENV: 'production', COLUMNS: '80', LINES: '24', TERM: process.env.TERM ?? 'xterm-256color' };
  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const child = hasScript
    ? spawn('script', ['-qfec', `stty cols 80 rows 24; exec ${[process.execPath, ...consoleArgs].map(quote).join(' ')}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, consoleArgs, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let bytes = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (out.length < 100_000) out += chunk.toString();
  });
  child.stderr.on('data', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const started = performance.now();
  let firstFrameMs = NaN;
  while (performance.now() - started < 20_000) {
    if (out.includes('REHEARSAL')) {
      firstFrameMs = performance.now() - started;
      break;
    }
    await sleep(20);
  }
  const pid = findNode(child.pid!) ?? (hasScript ? undefined : child.pid);
  if (pid === undefined) {
    console.log(`console rss: could not find the console's node process (output so far: ${JSON.stringify(out.slice(0, 200))})`);
    child.kill('SIGKILL');
    return;
  }
  const rss: Array<{ t: number; kb: number }> = [];
  const cpu0 = cpuMs(pid) ?? 0;
  const t0 = performance.now();
  // Steady state: after the world is generated and the first (cold) refresh is done.
  const steadyFrom = Math.min(10, SECONDS / 3);
  let cpuSteady: { ms: number; at: number } | undefined;
  while (performance.now() - t0 < SECONDS * 1000) {
    const kb = statusKb(pid, 'VmRSS');
    if (kb === undefined) break;
    const t = (performance.now() - t0) / 1000;
    rss.push({ t, kb });
    if (!cpuSteady && t >= steadyFrom) cpuSteady = { ms: cpuMs(pid) ?? 0, at: performance.now() };
    await sleep(500);
  }
  const hwm = statusKb(pid, 'VmHWM') ?? NaN;
  const cpu1 = cpuMs(pid) ?? cpu0;
  const wallS = (performance.now() - t0) / 1000;
  const steadyS = cpuSteady ? (performance.now() - cpuSteady.at) / 1000 : NaN;
  const steadyMs = cpuSteady ? cpu1 - cpuSteady.ms : NaN;
  child.stdin.write('q');
  const code = await Promise.race([exited, sleep(5000).then(() => 'timeout' as const)]);
  if (code === 'timeout') child.kill('SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });

  const mbOf = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const lastThird = rss.filter((s) => s.t >= (SECONDS * 2) / 3).map((s) => s.kb);
  const at = (sec: number) => rss.find((s) => s.t >= sec)?.kb;
  console.log(`real console${nodeFlags.length ? ` (node ${nodeFlags.join(' ')})` : ''}, --sim --nodes ${NODES}, ${hasScript ? 'pty 80x24 via script(1)' : 'piped stdout (no script(1) here)'}, refresh every 5 s, ${SECONDS} s:`);
  console.log(`  first frame after ${firstFrameMs.toFixed(0)} ms; ${(bytes / 1024).toFixed(0)} KiB drawn`);
  const marks = [...new Set([5, 15, 30, 60, 90, 120].filter((s) => s < SECONDS - 1).concat(Math.floor(SECONDS - 1)))];
  console.log(`  VmRSS: ${marks.map((s) => `${s} s ${at(s) !== undefined ? mbOf(at(s)!) : '–'}`).join(', ')}`);
  console.log(`         median of the last third ${mbOf(median(lastThird))}; peak (VmHWM) ${mbOf(hwm)}`);
  console.log(
    `  cpu: ${(((cpu1 - cpu0) / 1000 / wallS) * 100).toFixed(1)}% of one core over ${wallS.toFixed(0)} s; after the first ${steadyFrom.toFixed(0)} s ` +
      `${((steadyMs / 1000 / steadyS) * 100).toFixed(1)}% (${(steadyMs / (steadyS / 5)).toFixed(0)} ms per 5 s refresh interval, the 1 s clock redraws included)`,
  );
}

// Run directly (also through a symlinked path, as run-all's bundles may be).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await benchConsoleRss();
