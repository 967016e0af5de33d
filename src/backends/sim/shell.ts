// The Shell port on the simulated fleet: it interprets the command lines the
// engines send (`<client> --batch -e '<sql>'`, `<nodetool> status`, ...) and
// the rebuild's file-system, disk and backup-tool commands (host-commands.ts,
// backup-tool.ts), and answers byte-compatibly with the real tools, so the
// real parsers run.
// An unreachable host rejects the way an ssh connection fails; a command the
// host does not have exits 127, as sh says.

import type { Instance } from '../../domain/types.js';
import type { ExecOptions, ExecResult, PipeEnd, PipeOptions, PipeResult, Shell } from '../ports.js';
import { abortError } from './clock.js';
import { CommandTimeoutError, type ExecContext } from './exec-context.js';
import { runSql } from './mysql-server.js';
import { runNodetool } from './nodetool.js';
import { hasTool, isBackupProgram, isToolProgram, runPipe, runToolInline, startMysqld, toolArgs, versionOf } from './backup-tool.js';
import { HOST_COMMANDS, runHostCommand } from './host-commands.js';
import { hostOf } from './host-files.js';
import { ShellSyntaxError, splitWords } from './posix-words.js';
import type { SimWorld } from './world.js';

/** How a failed connection to a simulated host reads: like ssh2's socket errors. */
export class SimSshError extends Error {
  override name = 'SshError';
  constructor(
    message: string,
    readonly code: 'ECONNREFUSED' | 'ETIMEDOUT' | 'EHOSTUNREACH',
    readonly host: string,
  ) {
    super(message);
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  streamed?: boolean;
}

export interface Parsed {
  program: string;
  args: string[];
  operator?: string;
  error?: string;
}

/** ssh's default connect timeout (config ssh.connectTimeoutSeconds): how long a host that is down keeps a command waiting. */
const CONNECT_TIMEOUT_MS = 10_000;
const WRAPPERS_WITH_ARG = new Set(['-u', '-g', '-C', '-h', '-p', '-U']);
/** The mysql client's options (besides -e and -h) that take the next word as their value. */
const CLIENT_OPTIONS_WITH_ARG = new Set(['-u', '--user', '-P', '--port', '-S', '--socket', '-D', '--database']);
const PARSE_CACHE_LIMIT = 512;

export interface SimShellOptions {
  /**
   * The limit of a command that names none: ssh's (config
   * ssh.commandTimeoutSeconds), so a long plain exec fails here where it
   * fails over ssh. 0 or less: none (jobs run through exec that way).
   */
  commandTimeoutMs?: number;
}

/** ssh's default command limit (config ssh.commandTimeoutSeconds). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export class SimShell implements Shell {
  private readonly parsed = new Map<string, Parsed>();
  private readonly commandTimeoutMs: number;

  constructor(
    private readonly world: SimWorld,
    opts: SimShellOptions = {},
  ) {
    this.commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  }

  /** The stream of a rebuild: a backup tool's --stream on one host into mbstream/xbstream on another (backup-tool.ts). */
  pipe(from: PipeEnd, to: PipeEnd, opts: PipeOptions = {}): Promise<PipeResult> {
    return runPipe(this.world, this, from, to, opts);
  }

  loginCommand(node: Instance): string {
    return `ssh ${node.privateIp}   # simulated host (rehearsal): nothing listens there`;
  }

  async close(): Promise<void> {}

  async exec(node: Instance, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const reached = this.reach(node, opts);
    const id = typeof reached === 'string' ? reached : await reached;
    const res = this.run(id, command, new CommandContext(this.world, node.name, command, opts, opts.timeoutMs ?? this.commandTimeoutMs));
    // Most commands answer at once: no await for them, thousands of probes a refresh.
    return res instanceof Promise ? res.then((r) => delivered(r, opts)) : delivered(res, opts);
  }

  /**
   * Connects to the node as ssh would: its instance id, or a rejection the
   * way an ssh connection fails (at once when refused; after the connect
   * timeout, or the command's if shorter, when the host says nothing).
   */
  reach(node: Instance, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): string | Promise<never> {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const world = this.world;
    world.view();
    const id = world.nodeByHost(node.id) ?? world.nodeByHost(node.privateIp);
    const host = node.privateIp;
    const ssh = id === undefined ? 'gone' : world.sshState(id);
    if (ssh === 'refused') throw new SimSshError(`connect ECONNREFUSED ${host}:22`, 'ECONNREFUSED', host);
    // An address no instance has any more: the connection fails at once, as the rehearsal has always had it.
    if (ssh === 'gone') throw new SimSshError(`connect ETIMEDOUT ${host}:22`, 'ETIMEDOUT', host);
    if (ssh !== 'ok') {
      // A host that is down (hung, its AZ lost) does not refuse: it says nothing, and ssh
      // waits out its connect timeout (or the command's, if shorter), here on the fleet's clock.
      const waitMs = Math.min(opts.timeoutMs ?? CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MS);
      return world.clock.sleep(waitMs, opts.signal).then(() => {
        throw new SimSshError(`connect ETIMEDOUT ${host}:22`, 'ETIMEDOUT', host);
      });
    }
    return id!;
  }

  private parse(command: string): Parsed {
    let p = this.parsed.get(command);
    if (p) return p;
    p = parseCommand(command);
    if (this.parsed.size >= PARSE_CACHE_LIMIT) this.parsed.clear();
    this.parsed.set(command, p);
    return p;
  }

  // Not async: most commands answer at once, and a probe goes through here thousands of times a tick.
  private run(id: string, command: string, ctx: ExecContext): RunResult | Promise<RunResult> {
    const p = this.parse(command);
    if (p.error) return { code: 2, stdout: '', stderr: `sh: 1: ${p.error}\n` };
    if (p.operator) return { code: 2, stdout: '', stderr: `sh: 1: the simulated host runs simple commands only, not "${p.operator}"\n` };
    const world = this.world;
    const w = world.view();
    switch (p.program) {
      case 'mysql':
      case 'mariadb':
        if (!w.mysql[id]) return notFound(p.program);
        return this.mysqlClient(id, p.args, ctx);
      case 'nodetool': {
        if (!w.cassandra[id]) return notFound(p.program);
        const res = runNodetool(world, id, p.args, ctx);
        // A repair has written its lines to the callbacks as they came; anything else answers in one go.
        if (!p.args.includes('repair')) return res;
        return Promise.resolve(res).then((r) => ({ ...r, streamed: true }));
      }
      case 'true':
        return { code: 0, stdout: '', stderr: '' };
      case 'false':
        return { code: 1, stdout: '', stderr: '' };
      case 'echo':
        return { code: 0, stdout: `${p.args.join(' ')}\n`, stderr: '' };
      case 'hostname':
        return { code: 0, stdout: `${w.instances[id]!.name}\n`, stderr: '' };
      case 'systemctl':
        return this.systemctl(id, p.args);
      default:
        if (HOST_COMMANDS.has(p.program)) return runHostCommand(world, id, p.program, p.args, ctx);
        if (isToolProgram(p.program)) return this.tool(id, p.program, p.args, command, ctx);
        return notFound(p.program);
    }
  }

  private mysqlClient(id: string, args: string[], ctx: ExecContext): RunResult | Promise<RunResult> {
    let script: string | undefined;
    let skipColumnNames = false;
    let force = false;
    let target = id;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-e' || a === '--execute') script = args[++i];
      else if (a.startsWith('--execute=')) script = a.slice('--execute='.length);
      else if (a.startsWith('-e') && !a.startsWith('--')) script = a.slice(2);
      else if (a === '-N' || a === '--skip-column-names') skipColumnNames = true;
      else if (a === '-f' || a === '--force') force = true;
      else if (a === '-h' || a === '--host' || a.startsWith('--host=') || (a.startsWith('-h') && a.length > 2)) {
        const host = a === '-h' || a === '--host' ? args[++i]! : a.startsWith('--host=') ? a.slice(7) : a.slice(2);
        if (!['localhost', '127.0.0.1', '::1'].includes(host)) {
          const other = this.world.nodeByHost(host);
          if (other === undefined || !this.world.mysqlUp(other)) {
            return { code: 1, stdout: '', stderr: `ERROR 2003 (HY000): Can't connect to MySQL server on '${host}:3306' (${other === undefined ? 110 : 111})\n` };
          }
          target = other;
        }
      } else if (CLIENT_OPTIONS_WITH_ARG.has(a)) i++;
    }
    // Without -e the client reads its statements from stdin, as the real one does. With none
    // given, the channel's stdin stays open and the client waits on it until the command's limit.
    if (script === undefined) {
      if (ctx.stdin === undefined) return ctx.sleepUntil(Infinity).then(() => ({ code: 0, stdout: '', stderr: '' }));
      script = ctx.stdin;
    }
    if (script.trim() === '') return { code: 0, stdout: '', stderr: '' };
    return runSql(this.world, target, script, { ctx, skipColumnNames, ...(force ? { force } : {}) });
  }

  /** A backup tool run over a channel: its version; the long runs belong in a job (SimJobs schedules them). */
  private tool(id: string, program: string, args: string[], command: string, ctx: ExecContext): RunResult | Promise<RunResult> {
    const w = this.world.view();
    if (!hasTool(w, id, program)) return notFound(program);
    if (args.some((a) => ['--version', '-v', '-V', '--help', '-?'].includes(a))) return versionOf(w, id, program, args);
    if (isBackupProgram(program) && toolArgs(args).mode) {
      if (toolArgs(args).stream) return { code: 1, stdout: '', stderr: `${program}: the stream goes to a terminal; run it as the sending end of a pipe\n` };
      return runToolInline(this.world, id, program, args, command, ctx);
    }
    return { code: 1, stdout: '', stderr: `${program}: reading the stream from a terminal; run it as the receiving end of a pipe\n` };
  }

  private systemctl(id: string, args: string[]) {
    const [verb, unit] = args;
    const w = this.world.view();
    const service = (unit ?? '').replace(/\.service$/, '');
    const kind = ['mysql', 'mysqld', 'mariadb'].includes(service) && w.mysql[id] ? 'stop-mysqld' : service === 'cassandra' && w.cassandra[id] ? 'stop-cassandra' : undefined;
    if (!kind) return { code: 5, stdout: '', stderr: `Failed to ${verb ?? 'run'} ${unit ?? ''}.service: Unit ${unit ?? ''}.service not found.\n` };
    const running = !this.world.hasFault(id, kind);
    switch (verb) {
      case 'is-active': {
        const failed = !running && kind === 'stop-mysqld' && !!w.hosts?.[id]?.failed;
        return { code: running ? 0 : 3, stdout: running ? 'active\n' : failed ? 'failed\n' : 'inactive\n', stderr: '' };
      }
      case 'stop':
        if (running) this.world.inject({ kind, node: id });
        return { code: 0, stdout: '', stderr: '' };
      case 'start':
      case 'restart': {
        if (running && verb === 'start') return { code: 0, stdout: '', stderr: '' };
        // A restart reads the datadir again, as a start does.
        if (running) this.world.inject({ kind, node: id });
        if (kind === 'stop-mysqld') {
          // mysqld starts on what its datadir holds now: a copy moved in, or nothing it can use.
          const refused = this.world.mutate((ws, t) => startMysqld(this.world, ws, id, t, service));
          if (refused) return refused;
        }
        this.world.clearFault(id, kind);
        return { code: 0, stdout: '', stderr: '' };
      }
      default:
        return { code: 1, stdout: '', stderr: `Unknown command verb ${verb ?? ''}.\n` };
    }
  }
}

function notFound(program: string): RunResult {
  return { code: 127, stdout: '', stderr: `sh: 1: ${program}: not found\n` };
}

/** Hands a command's answer over: output not streamed as it came goes to the callbacks now. */
function delivered(res: RunResult, opts: ExecOptions): ExecResult {
  if (!res.streamed) {
    if (res.stdout) opts.onStdout?.(res.stdout);
    if (res.stderr) opts.onStderr?.(res.stderr);
  }
  return { code: res.code, signal: null, stdout: res.stdout, stderr: res.stderr };
}

/** What a simulated command gets of its caller: sleeps bounded by the command's time limit, the signal, the streams. */
class CommandContext implements ExecContext {
  readonly signal: AbortSignal | undefined;
  readonly onStdout: ((chunk: string) => void) | undefined;
  readonly onStderr: ((chunk: string) => void) | undefined;
  readonly stdin: string | undefined;
  private readonly deadline: number;

  constructor(
    private readonly world: SimWorld,
    private readonly nodeName: string,
    private readonly command: string,
    opts: ExecOptions,
    /** The command's own limit, or the shell's default; 0 or less: none. */
    private readonly timeoutMs: number,
  ) {
    this.signal = opts.signal;
    this.onStdout = opts.onStdout;
    this.onStderr = opts.onStderr;
    this.stdin = opts.stdin;
    this.deadline = timeoutMs > 0 ? world.now() + timeoutMs : Infinity;
  }

  async sleepUntil(t: number): Promise<void> {
    const until = Math.min(t, this.deadline);
    await this.world.clock.sleepUntil(until, this.signal);
    // The world reads one instant per turn (a macrotask). A sleep whose end had
    // already passed resolves in a microtask, inside the same turn: a command
    // polling in a loop would then see the same instant for ever and spin with
    // the event loop blocked (timers, budgets and signals dead). End the turn.
    if (this.world.now() < until) await new Promise<void>((resolve) => setImmediate(resolve));
    if (t > this.deadline) throw new CommandTimeoutError(`${this.nodeName}: command timed out after ${this.timeoutMs} ms: ${summary(this.command)}`);
  }
}

/** Splits a command line into the program (past sudo, env, VAR=value, timeout, nice) and its arguments. */
export function parseCommand(command: string): Parsed {
  let words: string[];
  let operator: string | undefined;
  try {
    ({ words, operator } = splitWords(command));
  } catch (err) {
    if (err instanceof ShellSyntaxError) return { program: '', args: [], error: `Syntax error: ${err.message}` };
    throw err;
  }
  let i = 0;
  // Wrappers an operator's configured client may carry: sudo -u x, env, VAR=value, timeout N, nice.
  for (;;) {
    const w = words[i];
    if (w === undefined) break;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) || w === 'env' || w === 'nice' || w === 'ionice') i++;
    else if (w === 'sudo') {
      i++;
      while (words[i]?.startsWith('-')) i += WRAPPERS_WITH_ARG.has(words[i]!) ? 2 : 1;
    } else if (w === 'timeout') {
      i++;
      while (words[i]?.startsWith('-')) i++;
      i++;
    } else break;
  }
  const program = (words[i] ?? '').split('/').pop()!;
  const parsed: Parsed = { program, args: words.slice(i + 1) };
  if (operator) parsed.operator = operator;
  if (!program) parsed.error = 'Syntax error: empty command';
  return parsed;
}

function summary(command: string): string {
  return command.length > 60 ? `${command.slice(0, 57)}...` : command;
}
