// Jobs detached from the SSH channel, on the lab's real sshd: a job outlives
// the per-command limit, a dropped connection and the shell that started it,
// and runs once per id. The nodetool stand-in (test/helpers/fake-nodetool.sh)
// plays a repair that takes real time.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { parseNodetoolStatus } from '../../src/backends/engines/cassandra.js';
import { createInventoryBackends } from '../../src/backends/inventory/index.js';
import { JobError, ShellJobs } from '../../src/backends/jobs/shell-jobs.js';
import type { Backends, JobOffsets, JobPoll, Jobs } from '../../src/backends/ports.js';
import { createSshShell, SshError, type SshShell } from '../../src/backends/ssh/index.js';
import type { Instance } from '../../src/domain/types.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

const FAKE_NODETOOL = resolve('test/helpers/fake-nodetool.sh');

describeLab('jobs on the lab sshd', () => {
  const fx = useTestLab();
  const shells: SshShell[] = [];
  let opened: Backends | undefined;
  afterAll(async () => {
    await opened?.close();
    for (const s of shells) await s.close();
  });

  /** The product's backends for the lab inventory: jobs over the ssh shell, as `--inventory` wires them. */
  const backends = async () => (opened ??= await createInventoryBackends(fx.config, { shell: createSshShell(fx.config) }));

  function freshShell(): SshShell {
    const s = createSshShell(fx.config);
    shells.push(s);
    return s;
  }

  function jobDir(id: string): string {
    return join(fx.lab.state.dir, 'home', '.nightshift', 'jobs', id);
  }

  /** Polls until the job has ended, collecting its output; `every` real ms between polls. */
  async function follow(jobs: Jobs, node: Instance, id: string, from: JobOffsets, timeout: number, every = 1_000) {
    let offsets = from;
    let stdout = '';
    let last: JobPoll | undefined;
    let polls = 0;
    let pollMs = 0;
    await vi.waitFor(
      async () => {
        const t0 = performance.now();
        last = await jobs.poll(node, id, offsets);
        pollMs += performance.now() - t0;
        polls++;
        stdout += last.stdout;
        offsets = last.offsets;
        expect(last.state).not.toBe('running');
      },
      { timeout, interval: every },
    );
    return { last: last!, stdout, offsets, polls, meanPollMs: pollMs / polls };
  }

  function groupAlive(pgid: number): boolean {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const [state, , pgrp] = readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
        if (Number(pgrp) === pgid && state !== 'Z') return true;
      } catch {
        /* gone meanwhile */
      }
    }
    return false;
  }

  it('the nodetool stand-in prints a ring the real parser reads, on the lab addresses', async () => {
    const r = await fx.shell.exec(fx.instance('m2'), `${FAKE_NODETOOL} status`);
    expect(r.code).toBe(0);
    const ring = parseNodetoolStatus(r.stdout);
    expect(ring.map((p) => [p.status, p.address])).toEqual(['m1', 'm2', 'm3'].map((m) => ['UN', fx.lab.node(m).ip]));
  });

  it('a repair that outlives the 30 s command limit finishes as a job; its exit code and all its output are read', async () => {
    const { jobs } = await backends();
    const node = fx.instance('m1');
    const log = join(fx.dir, 'long-repairs.log');
    const id = 'lab-run-1/repair.1';
    // Beyond ssh.commandTimeoutSeconds: a plain exec of this is cut at 30 s.
    expect(fx.config.ssh.commandTimeoutSeconds).toBe(30);
    const started = Date.now();
    expect(await jobs.start(node, { id, command: `FAKE_NODETOOL_LOG=${log} FAKE_NODETOOL_REPAIR_SECONDS=40 ${FAKE_NODETOOL} repair -pr` })).toEqual({ started: true });
    const { last, stdout, polls, meanPollMs } = await follow(jobs, node, id, { stdout: 0, stderr: 0 }, 70_000, 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40_000);
    expect(last).toMatchObject({ state: 'exited', code: 0 });
    expect(stdout).toMatch(/Starting repair command #1 \(/);
    expect(stdout).toMatch(/Repair command #1 finished in 40 seconds\n$/);
    expect(stdout.match(/progress: \d+%/g)).toEqual(['progress: 20%', 'progress: 40%', 'progress: 60%', 'progress: 80%', 'progress: 100%']);
    expect(stdout).toBe(readFileSync(join(jobDir(id), 'out'), 'utf8'));
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    console.log(`[jobs lab] ${polls} polls over ssh, mean ${meanPollMs.toFixed(0)} ms each`);
  });

  it('survives its connection dropping; a new shell re-attaches and reads the rest with nothing repeated', async () => {
    const node = fx.instance('m2');
    const first = freshShell();
    const id = 'lab-run-2/repair.1';
    const log = join(fx.dir, 'dropped-repairs.log');
    const jobsA = new ShellJobs(first);
    await jobsA.start(node, { id, command: `FAKE_NODETOOL_LOG=${log} FAKE_NODETOOL_REPAIR_SECONDS=5 ${FAKE_NODETOOL} repair -pr` });
    let seen: JobPoll | undefined;
    await vi.waitFor(
      async () => {
        seen = await jobsA.poll(node, id, { stdout: 0, stderr: 0 });
        expect(seen.stdout).toMatch(/progress: 20%/);
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(seen!.state).toBe('running');
    // Kill this connection's sshd session from inside it: the connection drops under the job.
    await first.exec(node, 'kill -KILL $PPID').catch(() => undefined);
    await first.close();

    const second = new ShellJobs(freshShell());
    const rest = await follow(second, node, id, seen!.offsets, 20_000, 300);
    expect(rest.last).toMatchObject({ state: 'exited', code: 0 });
    const whole = seen!.stdout + rest.stdout;
    expect(whole).toBe(readFileSync(join(jobDir(id), 'out'), 'utf8'));
    const lines = whole.trimEnd().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toHaveLength(8);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('starts once for one id, from two shells at once and again later', async () => {
    const node = fx.instance('m3');
    const marker = join(fx.dir, 'once-marker');
    const id = 'lab-run-3/step.1';
    const command = `echo start >> ${marker}; sleep 1`;
    const [a, b] = [new ShellJobs(freshShell()), new ShellJobs(freshShell())];
    const answers = await Promise.all([a.start(node, { id, command }), b.start(node, { id, command }), a.start(node, { id, command })]);
    expect(answers.map((x) => x.started).sort()).toEqual([false, false, true]);
    await follow(a, node, id, { stdout: 0, stderr: 0 }, 10_000, 200);
    expect(await b.start(node, { id, command })).toEqual({ started: false });
    expect(readFileSync(marker, 'utf8')).toBe('start\n');
  });

  it('cancel stops the job and every process of its group', async () => {
    const { jobs } = await backends();
    const node = fx.instance('m1');
    const id = 'lab-run-4/repair.1';
    await jobs.start(node, { id, command: `FAKE_NODETOOL_REPAIR_SECONDS=300 ${FAKE_NODETOOL} repair -pr` });
    await vi.waitFor(async () => expect((await jobs.poll(node, id, { stdout: 0, stderr: 0 })).stdout).toMatch(/Starting repair/), { timeout: 10_000 });
    const pgid = Number(readFileSync(join(jobDir(id), 'pid'), 'utf8').split(' ')[0]);
    expect(groupAlive(pgid)).toBe(true);
    await jobs.cancel(node, id);
    expect(groupAlive(pgid)).toBe(false);
    const p = await jobs.poll(node, id, { stdout: 0, stderr: 0 });
    expect(p).toMatchObject({ state: 'exited', code: 143, signal: 'SIGTERM' });
    expect(p.stdout).not.toMatch(/finished in/);
  });

  it('a command with quotes and $ runs as written', async () => {
    const { jobs } = await backends();
    const node = fx.instance('m2');
    const id = 'lab-run-5/quote.1';
    await jobs.start(node, { id, command: `printf '%s|%s\\n' "it's \\$HOME" 'say "hi" $USER'; echo "$SSH_CONNECTION" | cut -d' ' -f3` });
    const { last, stdout } = await follow(jobs, node, id, { stdout: 0, stderr: 0 }, 10_000, 200);
    expect(last).toMatchObject({ state: 'exited', code: 0 });
    // The job keeps the environment of the login that started it.
    expect(stdout).toBe(`it's $HOME|say "hi" $USER\n${fx.lab.node('m2').ip}\n`);
  });

  it('refuses a bad id before anything reaches the node', async () => {
    const { jobs } = await backends();
    const node = fx.instance('m3');
    const canary = join(fx.dir, 'canary');
    writeFileSync(canary, '');
    for (const id of ['../../canary', 'run/$(touch x)', 'run/a b', '']) {
      const err = await jobs.start(node, { id, command: `rm ${canary}` }).catch((e: unknown) => e);
      expect(err, id).toBeInstanceOf(JobError);
      expect((err as Error).message).toMatch(/is not valid/);
    }
    expect(readFileSync(canary, 'utf8')).toBe('');
  });

  it('a poll of an unreachable node fails like any ssh command, and the job is untouched', async () => {
    const { jobs } = await backends();
    const down: Instance = { ...fx.instance('m1'), name: 'db-down', ssh: { host: '127.0.0.1', port: 1, user: fx.lab.state.user } };
    const err = await jobs.poll(down, 'lab-run-1/repair.1', { stdout: 0, stderr: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('connect');
  });
});
