// argv -> command. With no subcommand it opens the console; every subcommand
// is headless. Errors end as one clear line on stderr and an exit code:
// 0 ok, 1 failure, 2 usage or configuration.

import { Command, CommanderError } from 'commander';
import { openBackends } from './backends/index.js';
import { COMMANDS } from './commands/index.js';
import type { CommandContext, Io } from './commands/types.js';
import { loadConfig, type GlobalFlags } from './config/load.js';
import { createRedactor } from './domain/redact.js';
import { cleanForTerminal } from './domain/terminal-text.js';
import { exitCodeOf, UsageError } from './errors.js';
import { applyNoColour } from './ui/colour.js';
// Bundled into dist/: the single file (dist/nightshift.cjs) travels without package.json.
import pkg from '../package.json' with { type: 'json' };

export { onConsoleStarted } from './started.js';

export function version(): string {
  return pkg.version;
}

export function buildProgram(io: Io): Command {
  const program = new Command('nightshift')
    .description('Operations console for MySQL and Cassandra clusters on AWS: live health, lag and guided runbooks')
    .version(version(), '-V, --version')
    .option('-c, --config <file>', 'config file (else $NIGHTSHIFT_CONFIG, ./nightshift.yaml, $XDG_CONFIG_HOME/nightshift/config.yaml)')
    .option('--sim', 'look at the built-in simulated fleet (the default when no AWS target is configured)')
    .option('--scenario <name>', 'simulated fleet scenario: healthy, master-down, lagging-replica, repair-overdue, split-brain, ...')
    .option('--seed <n>', 'simulated fleet seed (same seed, same fleet)')
    .option('--speed <x>', 'simulated clock speed, e.g. 60 for a minute per second')
    .option('--nodes <n>', 'generate a simulated fleet of about N nodes')
    .option('--regions <n>', 'spread the simulated fleet over N regions (1-4); --region then narrows the view to some')
    .option('--profile <name>', 'AWS profile (credentials from the SDK default chain); repeat for several accounts in one view', (v: string, prev?: string[]) => [...(prev ?? []), v])
    // One value a flag, repeated or comma-separated: a variadic option would take the command after it
    // (`--region us-east-1 ls`) as one more region.
    .option('--region <region>', 'AWS region(s), or the simulated fleet\'s with --regions; repeat or comma-separate for several', (v: string, prev?: string[]) => [...(prev ?? []), v])
    .option('--inventory <file>', 'static inventory file of hosts with ssh endpoints (no cloud API)')
    .option('--refresh <seconds>', 'refresh interval (default 5)')
    .option('--read-only', 'refuse every change at the backend layer; a runbook stops at its plan')
    .option('--state-dir <dir>', 'journals, locks and the simulated world (default $XDG_STATE_HOME/nightshift)')
    .option('--no-color', 'draw without colour (as NO_COLOR=1 or TERM=dumb do)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .showHelpAfterError('(run nightshift --help for every command and flag)');

  const ctx: CommandContext = {
    io,
    loadConfig: async () => {
      // The state dir is made and tried here, so a place nightshift cannot write is exit 2 before anything runs.
      const config = await loadConfig(program.opts<GlobalFlags>(), { prepareStateDir: true });
      // Before any SDK client is made: the SDK checks the Node version when it makes its first. Only
      // on the process's own stderr, where the SDK writes: a caller with streams of its own (a test)
      // is left as it was.
      if (config.target === 'aws' && io.stderr === process.stderr) sdkNotice.awsTarget(process.env);
      return config;
    },
    openBackends: (config) => openBackends(config),
  };
  for (const register of COMMANDS) register(program, ctx);

  program.action(async () => {
    if (!io.isInteractive) {
      throw new UsageError(
        'the console needs a terminal, and stdin is not one; for scripts and cron use `nightshift ls --json` or `nightshift run RUNBOOK --cluster NAME --yes`',
      );
    }
    // Before Ink (and its chalk) is loaded: chalk reads FORCE_COLOR once, then.
    applyNoColour(process.env, program.opts<GlobalFlags>());
    const { runConsole } = await import('./console.js');
    await runConsole(await ctx.loadConfig(), io);
  });
  return program;
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    code = handleError(err, io);
  }
  // After the command, so after the console has given the terminal back and after the last line of `ls --json`.
  sdkNotice.writeOnce(io);
  process.exitCode = code;
  return code;
}

/** The AWS SDK's releases after the first week of January 2027 need this Node (its NodeVersionSupportWarning). */
export const SDK_NEEDS_NODE = 22;
/** The SDK's documented switch for that warning. */
const SDK_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** Our one line for the SDK's Node version warning, for this Node; undefined when the SDK has nothing to say. */
export function sdkNodeLine(version: string = process.version): string | undefined {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major < SDK_NEEDS_NODE)) return undefined;
  return `nightshift: the AWS SDK will need Node ${SDK_NEEDS_NODE} after January 2027; this is Node ${version.replace(/^v/, '')}\n`;
}

/**
 * On Node 20 the SDK warns through process.emitWarning, nine lines on stderr
 * the moment it makes its first client: over the console's screen (stderr is
 * the same terminal), and in the middle of what a script reads from `ls`. We
 * turn it off with its own switch and say the same in one line at exit: once
 * a process, for an AWS target only, and not at all when the operator set
 * the switch himself.
 */
const sdkNotice = {
  ours: false,
  due: false,
  written: false,
  awsTarget(env: NodeJS.ProcessEnv): void {
    if (env[SDK_WARNING_SWITCH] === undefined) {
      env[SDK_WARNING_SWITCH] = 'true';
      this.ours = true;
    }
    this.due = this.ours;
  },
  writeOnce(io: Io): void {
    const line = this.due && !this.written ? sdkNodeLine() : undefined;
    this.due = false;
    if (!line) return;
    this.written = true;
    io.stderr.write(line);
  },
};

function handleError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // --help and --version end here with exit code 0; usage errors were already printed.
    return err.exitCode === 0 ? 0 : 2;
  }
  // The last line often quotes a node or AWS (a step's error, a probe's): it
  // must not drive the terminal, nor show a password the command carried.
  const message = cleanForTerminal(createRedactor().text(err instanceof Error ? err.message : String(err)));
  io.stderr.write(`nightshift: ${message}\n`);
  if (process.env.NIGHTSHIFT_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return exitCodeOf(err);
}

function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, isInteractive: Boolean(process.stdin.isTTY) };
}
