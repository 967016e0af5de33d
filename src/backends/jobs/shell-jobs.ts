// The Jobs port over any POSIX Shell (the ssh shell of AWS and static
// inventory targets). A job is a directory on the node,
// ~/.nightshift/jobs/<runId>/<step>.<attempt>/, holding:
//   out, err   the command's stdout and stderr, appended as it writes them
//   pid        "<pid> <start time> <boot id>" of the job's wrapper shell
//   exit       its exit status, written (tmp + mv) when it ends
// The command runs under `setsid`, stdin from /dev/null, so closing the SSH
// channel (or losing the connection, or nightshift) does not touch it.
//
// `mkdir` of the job directory is the "started" record: it fails when the
// directory exists, so a second start of one id starts nothing.
//
// Liveness: the wrapper's pid alone could be reused by another process after
// the job died, so `pid` also records the process's start time (field 22 of
// /proc/<pid>/stat, in ticks since boot) and the kernel's boot id; the job is
// running only while a process with that pid has that start time on that same
// boot. Chosen over a `flock` held by the wrapper because it needs no
// descriptor held open (a daemon the command forks would inherit a lock and
// keep the job "running" for ever) and because a changed boot id says in so
// many words that the host rebooted.
//
// Every start, poll and cancel is one short `exec` with its own small limit;
// the job itself has none.

import { shellQuote } from '../engines/shell-quote.js';
import type { CallOptions, JobOffsets, JobPoll, Jobs, JobSpec, Shell } from '../ports.js';
import { isValidJobId } from '../ports.js';
import type { Instance } from '../../domain/types.js';
import { JobError } from './job-error.js';
import { cutOutput } from './job-output.js';

export { JobError } from './job-error.js';

export interface ShellJobsOptions {
  /** Limit of the command that starts a job (it waits briefly for the job's pid). */
  startTimeoutMs?: number;
  /** Limit of one poll. */
  pollTimeoutMs?: number;
  /** How long a job has to stop after TERM before it gets KILL. */
  cancelGraceMs?: number;
  /** Bytes of each stream handed over per poll. */
  pollBytes?: number;
}

/** Where jobs live on the node: the login user's home, which every target has. */
const ROOT = '"$HOME/.nightshift/jobs"';
const MARK = 'nightshift-job:';

/** Runs inside `setsid`: records who it is, runs the command, records how it ended. */
const WRAPPER = [
  'd=$1',
  // A handler (not ''): the command must not inherit an ignored TERM. sh runs
  // it only once the command has ended, so the exit status is still written.
  'trap "s=TERM" TERM',
  'trap "s=INT" INT',
  'b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) || b=-',
  't=$(sed "s/.*) //" /proc/$$/stat 2>/dev/null | cut -d" " -f20) || t=-',
  '[ -n "$t" ] || t=-',
  'printf "%s %s %s\\n" "$$" "$t" "${b:--}" > "$d/pid.tmp" && mv -f "$d/pid.tmp" "$d/pid"',
  'cd || cd /',
  'sh -c "$2" </dev/null >>"$d/out" 2>>"$d/err"',
  'c=$?',
  'printf "%s\\n" "$c" > "$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"',
].join('\n');

/**
 * `alive PID STARTTIME BOOTID`: true while that very process runs: not a
 * zombie, not a reused pid, and still the leader of its own session (setsid
 * made it one), so its pid is the group id cancel signals.
 */
const ALIVE = [
  'alive() {',
  '  pid=$1; want=$2',
  '  if [ -r /proc/sys/kernel/random/boot_id ] && [ "$(cat /proc/sys/kernel/random/boot_id)" != "$3" ]; then return 1; fi',
  '  if [ "$want" = - ]; then kill -s 0 "$pid" 2>/dev/null; return; fi',
  '  st=$(sed "s/.*) //" "/proc/$pid/stat" 2>/dev/null) || return 1',
  '  [ -n "$st" ] || return 1',
  '  set -- $st',
  '  [ "$1" != Z ] && [ "$4" = "$pid" ] && [ "${20}" = "$want" ]',
  '}',
  'rebooted() { [ -r /proc/sys/kernel/random/boot_id ] && [ "$(cat /proc/sys/kernel/random/boot_id)" != "$1" ]; }',
].join('\n');

/** Sleeps a twentieth of a second where sleep takes fractions, else a second; counts twentieths in $i. */
const TICK = 'if sleep 0.05 2>/dev/null; then i=$((i+1)); else sleep 1; i=$((i+20)); fi';

export class ShellJobs implements Jobs {
  private readonly startTimeoutMs: number;
  private readonly pollTimeoutMs: number;
  private readonly cancelGraceMs: number;
  private readonly pollBytes: number;

  constructor(
    private readonly shell: Shell,
    opts: ShellJobsOptions = {},
  ) {
    this.startTimeoutMs = opts.startTimeoutMs ?? 20_000;
    this.pollTimeoutMs = opts.pollTimeoutMs ?? 15_000;
    this.cancelGraceMs = opts.cancelGraceMs ?? 10_000;
    this.pollBytes = opts.pollBytes ?? 64 * 1024;
  }

  async start(node: Instance, spec: JobSpec, opts: CallOptions = {}): Promise<{ started: boolean }> {
    checkId(node, spec.id);
    const script = [
      'umask 077',
      `d=${ROOT}/${spec.id}`,
      'mkdir -p "${d%/*}" || exit 90',
      'if ! mkdir "$d" 2>/dev/null; then',
      `  if [ -d "$d" ]; then echo ${MARK}exists; exit 0; fi`,
      '  mkdir "$d"; exit 91',
      'fi',
      // Nothing has run yet: without setsid the job could not outlive the channel, so start nothing.
      'if ! command -v setsid >/dev/null 2>&1; then echo "setsid: not found (it comes with util-linux)" >&2; rmdir "$d"; exit 92; fi',
      ': > "$d/out" && : > "$d/err" || exit 93',
      `setsid sh -c ${shellQuote(WRAPPER)} nightshift-job "$d" ${shellQuote(spec.command)} </dev/null >/dev/null 2>&1 &`,
      // Wait (briefly) for the wrapper's pid, so a poll right after start never finds a job without one.
      'i=0',
      `while [ ! -f "$d/pid" ] && [ ! -f "$d/exit" ] && [ $i -lt 200 ]; do ${TICK}; done`,
      `echo ${MARK}started`,
    ].join('\n');
    const res = await this.shell.exec(node, script, { timeoutMs: this.startTimeoutMs, ...signalOf(opts) });
    const said = marker(res.stdout);
    if (res.code === 0 && said === 'exists') return { started: false };
    if (res.code === 0 && said === 'started') return { started: true };
    throw new JobError(node.name, spec.id, `${node.name}: could not start job ${spec.id}: ${failure(res)}`);
  }

  async poll(node: Instance, id: string, from: JobOffsets, opts: CallOptions = {}): Promise<JobPoll> {
    checkId(node, id);
    const limit = this.pollBytes;
    const read = (file: string, offset: number) =>
      `tail -c +${offset + 1} "$d/${file}" 2>/dev/null | head -c ${limit} | od -An -v -tx1`;
    const script = [
      `d=${ROOT}/${id}`,
      `[ -d "$d" ] || { echo ${MARK}absent; exit 0; }`,
      ALIVE,
      'p=; t=; b=',
      'read p t b < "$d/pid" 2>/dev/null',
      // Liveness before the exit file: the wrapper writes the exit file before it ends, so a
      // wrapper seen gone means an exit file, if there is one, is already there to read.
      'if [ -n "$p" ] && alive "$p" "$t" "$b"; then a=1; else a=0; fi',
      `if [ -f "$d/exit" ]; then echo "${MARK}exited $(cat "$d/exit")"`,
      `elif [ $a = 1 ]; then echo "${MARK}running $p"`,
      `elif [ -z "$p" ]; then echo "${MARK}lost nopid"`,
      `elif rebooted "$b"; then echo "${MARK}lost rebooted $p"`,
      `else echo "${MARK}lost gone $p"; fi`,
      `echo ${MARK}stdout`,
      read('out', from.stdout),
      `echo ${MARK}stderr`,
      read('err', from.stderr),
      `echo ${MARK}end`,
    ].join('\n');
    const res = await this.shell.exec(node, script, { timeoutMs: this.pollTimeoutMs, readOnly: true, ...signalOf(opts) });
    const lines = res.stdout.split('\n');
    const head = lines[0] ?? '';
    if (res.code !== 0 || !head.startsWith(MARK)) {
      throw new JobError(node.name, id, `${node.name}: could not read job ${id}: ${failure(res)}`);
    }
    const [what, ...rest] = head.slice(MARK.length).split(' ');
    const none = { stdout: '', stderr: '', offsets: { ...from } };
    if (what === 'absent') return { state: 'absent', ...none };
    const sections = hexSections(lines.slice(1));
    if (!sections) throw new JobError(node.name, id, `${node.name}: job ${id}: the poll's answer was cut short: ${failure(res)}`);
    const isFinal = what !== 'running';
    const out = cutOutput(sections.stdout, limit, isFinal);
    const err = cutOutput(sections.stderr, limit, isFinal);
    const output = {
      stdout: out.text,
      stderr: err.text,
      offsets: { stdout: from.stdout + out.bytes, stderr: from.stderr + err.bytes },
    };
    switch (what) {
      case 'running':
        return { state: 'running', pid: Number(rest[0]), ...output };
      case 'exited': {
        const code = Number(rest[0]);
        if (!Number.isInteger(code)) return { state: 'exited', code: null, ...output };
        const signal = code > 128 && code < 128 + 65 ? signalName(code - 128) : undefined;
        return { state: 'exited', code, ...(signal ? { signal } : {}), ...output };
      }
      case 'lost':
        return { state: 'lost', why: lostWhy(node, id, rest), ...output };
      default:
        throw new JobError(node.name, id, `${node.name}: job ${id}: unexpected answer "${head}"`);
    }
  }

  async cancel(node: Instance, id: string, opts: CallOptions = {}): Promise<void> {
    checkId(node, id);
    const twentieths = Math.max(1, Math.ceil(this.cancelGraceMs / 50));
    const script = [
      `d=${ROOT}/${id}`,
      `[ -d "$d" ] || { echo ${MARK}absent; exit 0; }`,
      ALIVE,
      // A start cut short a moment ago (its caller aborted) may still be launching the job:
      // give its pid the time start itself gives it, rather than call it lost too early.
      'i=0',
      `while [ ! -f "$d/pid" ] && [ ! -f "$d/exit" ] && [ $i -lt 200 ]; do ${TICK}; done`,
      `[ -f "$d/exit" ] && { echo ${MARK}exited; exit 0; }`,
      'p=; t=; b=',
      'read p t b < "$d/pid" 2>/dev/null',
      // Signal the group only while its leader is the job's own wrapper: a group id is a pid, and
      // once the job is gone that number may belong to someone else.
      `{ [ -n "$p" ] && alive "$p" "$t" "$b"; } || { echo ${MARK}lost; exit 0; }`,
      'kill -s TERM -- "-$p" 2>/dev/null',
      'i=0',
      `while alive "$p" "$t" "$b" && [ $i -lt ${twentieths} ]; do ${TICK}; done`,
      'if alive "$p" "$t" "$b"; then',
      '  kill -s KILL -- "-$p" 2>/dev/null',
      '  i=0',
      `  while alive "$p" "$t" "$b" && [ $i -lt 100 ]; do ${TICK}; done`,
      'fi',
      `if alive "$p" "$t" "$b"; then echo "${MARK}still-running $p"; exit 3; fi`,
      // What of the group outlived its wrapper (ignored TERM, or was slower): the group id stays
      // reserved while any member lives, so this reaches only the job's own processes.
      'kill -s 0 -- "-$p" 2>/dev/null && kill -s KILL -- "-$p" 2>/dev/null',
      // KILL leaves the wrapper no chance to write the exit status: write it for it.
      '[ -f "$d/exit" ] || { printf "137\\n" > "$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"; }',
      `echo ${MARK}cancelled`,
    ].join('\n');
    const res = await this.shell.exec(node, script, { timeoutMs: this.cancelGraceMs + 25_000, ...signalOf(opts) });
    const said = marker(res.stdout);
    if (res.code === 0 && said !== undefined) return;
    if (said === 'still-running') {
      const pid = res.stdout.trim().split(' ').pop();
      throw new JobError(
        node.name,
        id,
        `${node.name}: job ${id} (pid ${pid}) is still running after TERM and KILL; check with: ${this.shell.loginCommand(node)} ps -o pid,stat,args -s ${pid}`,
      );
    }
    throw new JobError(node.name, id, `${node.name}: could not cancel job ${id}: ${failure(res)}`);
  }
}

function checkId(node: Instance, id: string): void {
  if (!isValidJobId(id)) {
    throw new JobError(node.name, id, `job id ${JSON.stringify(id)} is not valid: path segments of letters, digits, ".", "_" and "-", such as <runId>/<step>.<attempt>`);
  }
}

function signalOf(opts: CallOptions): CallOptions {
  return opts.signal ? { signal: opts.signal } : {};
}

function marker(stdout: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  return line?.slice(MARK.length).split(' ')[0];
}

function failure(res: { code: number | null; signal: string | null; stderr: string; stdout: string }): string {
  const said = (res.stderr.trim() || res.stdout.trim()).split('\n').slice(-3).join('; ');
  const how = res.code === null ? `ended by ${res.signal ?? 'an unknown signal'}` : `exit ${res.code}`;
  return said ? `${said} (${how})` : how;
}

/** The od dumps between the markers, as bytes; undefined when the answer was cut short. */
function hexSections(lines: string[]): { stdout: Uint8Array; stderr: Uint8Array } | undefined {
  const at = (name: string) => lines.indexOf(`${MARK}${name}`);
  const [o, e, end] = [at('stdout'), at('stderr'), at('end')];
  if (o < 0 || e < o || end < e) return undefined;
  return { stdout: fromHex(lines.slice(o + 1, e)), stderr: fromHex(lines.slice(e + 1, end)) };
}

function fromHex(lines: string[]): Uint8Array {
  const hex = lines.join(' ').split(/\s+/).filter(Boolean);
  const out = new Uint8Array(hex.length);
  hex.forEach((h, i) => (out[i] = parseInt(h, 16)));
  return out;
}

function lostWhy(node: Instance, id: string, rest: string[]): string {
  const [kind, pid] = rest;
  if (kind === 'rebooted') return `${node.name} rebooted since job ${id} started (pid ${pid}); it left no exit status`;
  if (kind === 'gone') return `job ${id}'s process (pid ${pid}) on ${node.name} is gone without an exit status: it was killed (the OOM killer, or by hand)`;
  return `job ${id} on ${node.name} never recorded its pid: its start was interrupted`;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };

function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}
