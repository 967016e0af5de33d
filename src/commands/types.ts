// How a subcommand plugs into the CLI. Each file in src/commands/ exports a
// `register` of this type and is listed once in src/commands/index.ts.

import type { Command } from 'commander';
import type { Backends } from '../backends/ports.js';
import type { Config } from '../config/schema.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stdin is a TTY (prompts may be asked). */
  isInteractive: boolean;
}

export interface CommandContext {
  io: Io;
  /** Loads and validates the config from the global flags (throws ConfigError). */
  loadConfig(): Promise<Config>;
  /** Builds the backend set for the configured target (sim, AWS, inventory), honouring --read-only. */
  openBackends(config: Config): Promise<Backends>;
}

export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
