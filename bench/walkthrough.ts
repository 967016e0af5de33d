// The console in real tmux at 80x24, walked as a new user would on every
// simulated scenario, once with NO_COLOR=1 and once with colour: the fleet
// screen, then each troubled cluster (worst first), node by node. Exits 1
// listing every health reason or finding that a screen does not show whole
// (test/helpers/cut-check.ts says what whole means: wrapped is fine, `…` is
// not). test/screens/no-cut.test.tsx walks the same way in Ink, in-process.
//
//   npm run walkthrough                         every scenario, both passes
//   npm run walkthrough -- split-brain az-outage  some of them
//   npm run walkthrough -- --frames             also print every screen captured
//   npm run walkthrough -- --columns 600        as wide as that: what is still not whole, no wrapping fixes
//
// What must be whole comes from `nightshift ls --json` on the same state
// directory, read once before the console starts and once after the walk: the
// sim's clock runs between, so a screen is held to whichever of the two it
// agrees with best, and a number may stand for another (a lag moves on; a cut
// does not become whole by it).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../src/backends/sim/scenarios.js';
import { describeCut, findCuts, type CutText, type MustBeWhole } from '../test/helpers/cut-check.js';
import { clusterScreenTexts, fleetScreenTexts, walkFleetOfLs, walkTargets, type WalkCluster, type WalkFleet } from '../test/helpers/walk-texts.js';
import { clusterKey, regionsOf, type ScopedName } from '../src/domain/scope.js';
import { fleetRows, isRefreshed, nodeRows, type ShownRows } from './walk-rows.js';
import { shownName } from '../src/ui/cluster-name.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = 24;
/** Clusters opened per scenario, as in the Ink walk. */
const CLUSTERS_PER_SCENARIO = 3;
/** How often the pane is read while waiting for a picture: short, so a wait lasts no longer than the console takes. */
const POLL_MS = 50;
/** The first picture waits on the sim's first refresh (dead hosts included); a key's effect is one frame. */
const FIRST_PICTURE_MS = 30_000;
const KEY_MS = 5_000;

const args = process.argv.slice(2);
const showFrames = args.includes('--frames');
// Wider than 80 only to see what no width can fix (a text missing, or cut before the screen); the walk's verdict is at 80.
const columnsAt = args.findIndex((a) => a === '--columns');
const COLUMNS = columnsAt >= 0 ? Number(args[columnsAt + 1]) : 80;
if (!Number.isInteger(COLUMNS) || COLUMNS < 20) {
  console.error(`walkthrough: --columns takes a whole number of at least 20, got ${args[columnsAt + 1]}`);
  process.exit(2);
}
const named = args.filter((a, i) => !a.startsWith('--') && !(columnsAt >= 0 && i === columnsAt + 1));
const unknown = named.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`walkthrough: unknown scenario ${unknown.join(', ')}; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const scenarios = named.length > 0 ? named : SCENARIOS.map((s) => s.name);

if (spawnSync('tmux', ['-V']).status !== 0) {
  console.error('walkthrough: tmux is not installed (apt-get install tmux); it draws the console as a terminal would');
  process.exit(2);
}

// ---- the console, as a user starts it ------------------------------------

/** The built CLI when dist/ is newer than every source file; else the sources through tsx (slower to start, same screens). */
function consoleCommand(): { argv: string[]; how: string } {
  const built = join(root, 'dist', 'cli.cjs');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'))) {
    return { argv: [process.execPath, join(root, 'bin', 'nightshift.js')], how: 'dist/ (fresh)' };
  }
  const entry = `import(${JSON.stringify(join(root, 'src', 'cli.ts'))}).then((m) => m.main(process.argv.slice(1)))`;
  return { argv: [process.execPath, '--import', 'tsx', '-e', entry, '--'], how: 'src/ through tsx (dist/ missing or older than src/)' };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// ---- tmux, on a server of our own ------------------------------------------

// A socket of this run's own: the walk never sees, nor ends, anyone else's sessions.
const SOCKET = `nightshift-walk-${process.pid}`;
/** The environment tmux starts with: no colour setting inherited from the caller; each pass sets its own. */
const tmuxEnv: NodeJS.ProcessEnv = { ...process.env };
for (const k of ['NO_COLOR', 'FORCE_COLOR', 'TMUX', 'TMUX_PANE']) delete tmuxEnv[k];

function tmux(...a: string[]): string {
  return interruptible(() => execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...a], { env: tmuxEnv, encoding: 'utf8' }));
}

/**
 * Ctrl-C reaches the child we are waiting on (tmux, ls) before our own
 * handler can run: a child ended by it ends the walk, not just this step.
 */
function interruptible<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    const signal = (err as { signal?: string }).signal;
    if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') interrupted();
    throw err;
  }
}

/** Ends this run's tmux server (and the consoles in it) and exits as an interrupted command does. */
function interrupted(): never {
  endTmux();
  process.exit(130);
}

/** Ends this run's tmux server and removes its socket, which tmux leaves behind. */
function endTmux(): void {
  spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-server'], { env: tmuxEnv });
  // Where tmux puts a -L socket (its man page, -L); the server has often exited already with its last session.
  rmSync(join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
}

const capture = (session: string, withCodes = false) => tmux('capture-pane', '-p', ...(withCodes ? ['-e'] : []), '-t', session);

/** Polls the pane until `ok` holds; a picture that never comes is an error that shows the last one. */
async function paneWhere(session: string, what: string, ok: (frame: string) => boolean, timeoutMs = KEY_MS): Promise<string> {
  const started = performance.now();
  for (;;) {
    const frame = capture(session);
    if (ok(frame)) return frame;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`waited ${Math.round(timeoutMs / 1000)} s for ${what}; the pane shows:\n${frame}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Moves the cursor with j/k until the row keyed `key` is under it, counting
 * rows as the pane shows them (a refresh may have reordered the list since
 * `ls` read it); a row scrolled out of sight is sought in `ls`'s order.
 */
async function selectRow(
  session: string,
  order: readonly string[],
  key: string,
  onScreen: (f: string) => boolean,
  rowsOf: (f: string) => ShownRows,
): Promise<string> {
  if (!order.includes(key)) throw new Error(`${key} is not a row of this screen`);
  for (let attempt = 0; ; attempt++) {
    const frame = await paneWhere(session, 'the screen', onScreen);
    const { keys: shown, selected } = rowsOf(frame);
    const current = selected ?? '';
    if (current === key) return frame;
    if (attempt === order.length + 3) throw new Error(`${key} never came under the cursor; the pane shows:\n${frame}`);
    const [from, to] = shown.includes(key) && shown.includes(current) ? [shown.indexOf(current), shown.indexOf(key)] : [order.indexOf(current), order.indexOf(key)];
    const steps = Math.max(1, Math.abs(to - from));
    tmux('send-keys', '-t', session, ...Array<string>(steps).fill(to > from ? 'j' : 'k'));
    await paneWhere(session, `${key} under the cursor`, (f) => onScreen(f) && rowsOf(f).selected !== selected).catch(() => undefined);
  }
}

// ---- colour: the two passes must differ as they say -------------------------

/** SGR parameters that set a colour (bold and inverse may stay under NO_COLOR; 39/49 are the defaults). */
function hasColour(frameWithCodes: string): boolean {
  for (const m of frameWithCodes.matchAll(/\x1b\[([0-9;]*)m/g)) {
    const params = m[1]!.split(';').map(Number);
    if (params.some((p) => (p >= 30 && p <= 38) || (p >= 40 && p <= 48) || (p >= 90 && p <= 97) || (p >= 100 && p <= 107))) return true;
  }
  return false;
}

// ---- the walk --------------------------------------------------------------

interface Capture {
  screen: string;
  frame: string;
  texts: (truth: Truth) => MustBeWhole[];
}

/** A cluster as `ls --json` has it, known by its key: two regions may each have one of the same name. */
interface TruthCluster extends WalkCluster {
  key: string;
  /** As the screens name it: `orders-db · eu-west-1` with several regions in view, else the bare name. */
  label: string;
}

interface Truth extends WalkFleet {
  clusters: TruthCluster[];
}

const cmd = consoleCommand();

function lsJson(scenario: string, stateDir: string): Truth {
  const [bin, ...pre] = cmd.argv;
  const out = interruptible(() =>
    execFileSync(bin!, [...pre, '--sim', '--scenario', scenario, '--seed', '1', '--state-dir', stateDir, 'ls', '--json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...tmuxEnv, NODE_ENV: 'production' },
    }),
  );
  const fleet = walkFleetOfLs(out);
  // walkFleetOfLs keeps ls's order, so the scopes line up with its clusters.
  const scopes = (JSON.parse(out) as { clusters: Array<Partial<ScopedName>> }).clusters.map((c) => ({
    ...(c.region !== undefined ? { region: c.region } : {}),
    ...(c.account !== undefined ? { account: c.account } : {}),
  }));
  // The screens name the region (and account) only when more than one is in view (src/store/fleet.ts selectIsScopeShown).
  const isScopeShown = regionsOf(scopes).length > 1 || new Set(scopes.map((sc) => sc.account).filter((a) => a !== undefined)).size > 1;
  const clusters = fleet.clusters.map((c, i) => {
    const scoped = { ...scopes[i], name: c.name };
    return { ...c, key: clusterKey(scoped), label: shownName(scoped, isScopeShown) };
  });
  const twice = clusters.find((c, i) => clusters.findIndex((o) => o.key === c.key) !== i);
  if (twice) {
    throw new Error(
      `ls --json lists more than one cluster as ${twice.key}, with no region or account to tell them apart; the walk could not say which row is which (src/commands/ls.ts must give each cluster its region)`,
    );
  }
  return { ...fleet, clusters };
}

async function walk(scenario: string, pass: 'NO_COLOR=1' | 'colour'): Promise<{ captures: Capture[]; problems: string[]; cuts: string[] }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-walk-'));
  const session = `${scenario}-${pass === 'colour' ? 'colour' : 'nocolor'}`;
  const captures: Capture[] = [];
  const problems: string[] = [];
  const truths: Truth[] = [];
  try {
    const before = lsJson(scenario, stateDir);
    truths.push(before);
    const argv = [...cmd.argv, '--sim', '--scenario', scenario, '--seed', '1', '--state-dir', stateDir];
    // The pane stays after the console exits, so a console that dies is reported with its last words.
    tmux(
      'new-session', '-d', '-s', session, '-x', String(COLUMNS), '-y', String(ROWS), '-c', root,
      '-e', 'NODE_ENV=production',
      ...(pass === 'NO_COLOR=1' ? ['-e', 'NO_COLOR=1'] : []),
      argv.map(quote).join(' '),
      ';', 'set-option', '-w', '-t', session, 'remain-on-exit', 'on',
    );
    const count = before.clusters.length;
    const order = before.clusters.map((c) => c.key);
    // The whole picture: every cluster counted, the first refresh done, and each row drawn one ls knows by its key
    // (a REGION column missing, or a name cut, and no row is).
    const onFleet = (f: string) =>
      new RegExp(`Fleet · ${count} clusters?\\b`).test(f) && isRefreshed(f.split('\n')[0] ?? '') && fleetRows(f).keys.every((k) => order.includes(k));
    const firstFrame = await paneWhere(session, `the first whole picture (${count} clusters, refreshed, rows by ${before.clusters.some((c) => c.label !== c.name) ? 'region and name' : 'name'})`, (f) => onFleet(f) && fleetRows(f).keys.length > 0, FIRST_PICTURE_MS);
    const coloured = hasColour(capture(session, true));
    if (pass === 'NO_COLOR=1' && coloured) problems.push('NO_COLOR=1, yet the console sent colour codes');
    if (pass === 'colour' && !coloured) problems.push('the colour pass drew no colour: it would prove nothing NO_COLOR=1 does not');

    const first = before.clusters[0];
    if (!first) throw new Error('ls --json listed no cluster');
    captures.push({
      screen: `fleet screen (${first.label} selected)`,
      frame: fleetRows(firstFrame).selected === first.key ? firstFrame : await selectRow(session, order, first.key, onFleet, fleetRows),
      texts: (t) => fleetTexts(t, first.key),
    });
    // walkTargets picks among ls's clusters; these are the same ones, with their keys.
    const targets = walkTargets(before, CLUSTERS_PER_SCENARIO);
    for (const cluster of before.clusters.filter((c) => targets.includes(c))) {
      if (cluster !== first) {
        captures.push({
          screen: `fleet screen (${cluster.label} selected)`,
          frame: await selectRow(session, order, cluster.key, onFleet, fleetRows),
          texts: (t) => fleetTexts(t, cluster.key),
        });
      }
      tmux('send-keys', '-t', session, 'Enter');
      captures.push(...(await walkCluster(session, cluster)));
      tmux('send-keys', '-t', session, 'Escape');
      await paneWhere(session, 'the fleet screen again', onFleet);
    }
    truths.push(lsJson(scenario, stateDir));
  } catch (err) {
    // What was captured before the walk broke is still judged.
    problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-session', '-t', session], { env: tmuxEnv });
    rmSync(stateDir, { recursive: true, force: true });
  }
  const cuts = truths.length === 0 ? [] : captures.flatMap((c) => closest(c, truths).map((cut) => `${c.screen}: ${describeCut(cut)}`));
  return { captures, problems, cuts };
}

/** The cluster screen with each node in turn under the cursor; its title names it as the fleet does (`Fleet › orders-db · eu-west-1`). */
async function walkCluster(session: string, cluster: TruthCluster): Promise<Capture[]> {
  const onCluster = (f: string) => f.includes(`Fleet › ${cluster.label} `);
  await paneWhere(session, `the cluster screen of ${cluster.label}`, onCluster);
  const nodeNames = cluster.nodes.map((n) => n.name);
  const out: Capture[] = [];
  for (const node of cluster.nodes) {
    out.push({
      screen: `cluster screen ${cluster.label} (${node.name} selected)`,
      frame: await selectRow(session, nodeNames, node.name, onCluster, nodeRows(nodeNames)),
      texts: (t) => {
        const c = t.clusters.find((x) => x.key === cluster.key);
        const n = c?.nodes.find((x) => x.name === node.name);
        return c && n ? clusterScreenTexts(c, n) : [];
      },
    });
  }
  return out;
}

function fleetTexts(truth: Truth, key: string): MustBeWhole[] {
  const c = truth.clusters.find((x) => x.key === key);
  return c ? fleetScreenTexts(truth, c) : [];
}

/** The cuts of a capture against the snapshot it agrees with best: the screen was drawn between the two. */
function closest(c: Capture, truths: readonly Truth[]): CutText[] {
  const each = truths.map((t) => findCuts(c.frame, c.texts(t), { anyNumbers: true }));
  return each.reduce((best, cuts) => (cuts.length < best.length ? cuts : best));
}

// ---- main ------------------------------------------------------------------

console.log(`walkthrough: ${scenarios.length} scenario(s) at ${COLUMNS}x${ROWS} in tmux, NO_COLOR=1 and colour; console from ${cmd.how}`);
let screens = 0;
const failures: string[] = [];
// Interrupted, the walk still ends its own tmux server (and the console in it).
// npm runs it under `node --import tsx`, not the tsx command: that one relays
// Ctrl-C and then kills with SIGKILL a child busy in a synchronous call.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, interrupted);
try {
  for (const scenario of scenarios) {
    for (const pass of ['NO_COLOR=1', 'colour'] as const) {
      const started = performance.now();
      const { captures, problems, cuts } = await walk(scenario, pass);
      screens += captures.length;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`\n${scenario} · ${pass}: ${captures.length} screens, ${cuts.length} cut, ${problems.length} other problem(s), ${secs} s`);
      for (const c of captures) {
        console.log(`  ${c.screen}`);
        if (showFrames) console.log(c.frame.replace(/^/gm, '    │ '));
      }
      for (const line of [...cuts, ...problems]) {
        console.log(`  ✗ ${line.replace(/\n/g, '\n    ')}`);
        failures.push(`${scenario} · ${pass} · ${line.split('\n')[0]}`);
      }
    }
  }
} finally {
  endTmux();
}
console.log(`\n${screens} screens captured; ${failures.length === 0 ? 'nothing cut' : `${failures.length} cut or failed:`}`);
for (const f of failures) console.log(`  ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
