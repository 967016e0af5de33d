// Test doubles for the Jobs port: jobs held in this process over any Shell
// (for engine tests whose shell is a stub), and a Shell that runs commands
// with the local `sh` (to test ShellJobs' scripts fast, without sshd; the lab
// tests run the same scripts over the real sshd).

import { spawn } from 'node:child_process';
import type { Instance } from '../../src/domain/types.js';
import type { ExecOptions, ExecResult, JobOffsets, JobPoll, Jobs, JobSpec, Shell } from '../../src/backends/ports.js';

interface MemoryJob {
  command: string;
  stdout: string;
  stderr: string;
  end?: { code: number | null; signal?: string };
  error?: string;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Jobs that run `shell.exec` in the background of this process, with no time
 * limit, and keep their output in memory. They do not survive the process (a
 * test double, not a model of a node); `started` counts every start.
 */
export class MemoryJobs implements Jobs {
  readonly jobs = new Map<string, MemoryJob>();
  readonly started: Array<{ node: string; id: string; command: string }> = [];

  constructor(private readonly shell: Shell) {}

  async start(node: Instance, spec: JobSpec): Promise<{ started: boolean }> {
    const key = `${node.id}|${spec.id}`;
    if (this.jobs.has(key)) return { started: false };
    this.started.push({ node: node.name, id: spec.id, command: spec.command });
    const abort = new AbortController();
    const job: MemoryJob = { command: spec.command, stdout: '', stderr: '', abort, done: Promise.resolve() };
    job.done = this.shell
      .exec(node, spec.command, {
        signal: abort.signal,
        timeoutMs: 0,
        onStdout: (c) => (job.stdout += c),
        onStderr: (c) => (job.stderr += c),
      })
      .then(
        (r) => {
          job.end = { code: r.code, ...(r.signal ? { signal: r.signal } : {}) };
        },
        (err: unknown) => {
          job.end = abort.signal.aborted ? { code: 143, signal: 'SIGTERM' } : { code: null };
          job.error = (err as Error).message;
        },
      );
    this.jobs.set(key, job);
    return { started: true };
  }

  async poll(node: Instance, id: string, from: JobOffsets): Promise<JobPoll> {
    const job = this.jobs.get(`${node.id}|${id}`);
    const none = { stdout: '', stderr: '', offsets: { ...from } };
    if (!job) return { state: 'absent', ...none };
    const out = Buffer.from(job.stdout).subarray(from.stdout);
    const err = Buffer.from(job.stderr).subarray(from.stderr);
    const output = {
      stdout: out.toString(),
      stderr: err.toString(),
      offsets: { stdout: from.stdout + out.length, stderr: from.stderr + err.length },
    };
    if (!job.end) return { state: 'running', pid: 4242, ...output };
    return { state: 'exited', code: job.end.code, ...(job.end.signal ? { signal: job.end.signal } : {}), ...output };
  }

  async cancel(node: Instance, id: string): Promise<void> {
    const job = this.jobs.get(`${node.id}|${id}`);
    if (!job || job.end) return;
    job.abort.abort(new Error('cancelled'));
    await job.done;
  }
}

/** Runs each command with the local `sh`, HOME set to `home`: the node is this machine. */
export class LocalShell implements Shell {
  readonly commands: string[] = [];

  constructor(private readonly home: string) {}

  exec(_node: Instance, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    return new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', command], {
        env: { ...process.env, HOME: this.home },
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: opts.signal,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  loginCommand(): string {
    return 'sh';
  }

  async close(): Promise<void> {}
}
