// ShellJobs' scripts run by this machine's own sh (HOME in a temp dir), so
// each test is fast; test/lab/jobs.test.ts runs them over the real sshd.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobError, ShellJobs } from '../../../src/backends/jobs/shell-jobs.js';
import type { Backends, JobOffsets, JobPoll } from '../../../src/backends/ports.js';
import { withReadOnly } from '../../../src/backends/read-only.js';
import type { Instance } from '../../../src/domain/types.js';
import { ReadOnlyError } from '../../../src/errors.js';
import { LocalShell } from '../../helpers/jobs.js';

const node: Instance = {
  id: 'i-local',
  name: 'db-local',
  privateIp: '127.0.0.1',
  az: 'lab',
  type: 'static',
  state: 'running',
  launchTime: '2026-11-21T00:00:00Z',
  statusChecks: 'ok',
  tags: {},
};

const homes: string[] = [];
const started: Array<{ jobs: ShellJobs; id: string }> = [];

afterEach(async () => {
  // Nothing a test started may outlive it.
  for (const { jobs, id } of started.splice(0)) await jobs.cancel(node, id).catch(() => undefined);
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function setup(opts: ConstructorParameters<typeof ShellJobs>[1] = {}) {
  const home = mkdtempSync(join(tmpdir(), 'ns-jobs-'));
  homes.push(home);
  const shell = new LocalShell(home);
  const jobs = new ShellJobs(shell, opts);
  const dir = (id: string) => join(home, '.nightshift', 'jobs', id);
  const start = async (id: string, command: string) => {
    started.push({ jobs, id });
    return jobs.start(node, { id, command });
  };
  return { home, shell, jobs, dir, start };
}

/** Polls until the job is no longer running, gathering everything it wrote (as a resumed follower would). */
async function follow(jobs: ShellJobs, id: string, from: JobOffsets = { stdout: 0, stderr: 0 }) {
  let offsets = from;
  let stdout = '';
  let stderr = '';
  let last: JobPoll | undefined;
  await vi.waitFor(
    async () => {
      last = await jobs.poll(node, id, offsets);
      stdout += last.stdout;
      stderr += last.stderr;
      offsets = last.offsets;
      expect(last.state).not.toBe('running');
    },
    { timeout: 15_000, interval: 50 },
  );
  return { last: last!, stdout, stderr, offsets };
}

/** Live (not zombie) processes of a process group, from /proc: an exited orphan may linger as a zombie until init reaps it. */
function processGroupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , pgrp] = stat.replace(/^.*\) /s, '').split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

describe('ShellJobs on a POSIX sh', () => {
  it('runs a job detached, reads its output and its exit code', async () => {
    const { jobs, start, dir } = setup();
    expect(await start('run-1/work.1', 'echo one; echo warn >&2; echo two; exit 3')).toEqual({ started: true });
    const { last, stdout, stderr, offsets } = await follow(jobs, 'run-1/work.1');
    expect(last.state).toBe('exited');
    expect(last.state === 'exited' && last.code).toBe(3);
    expect(stdout).toBe('one\ntwo\n');
    expect(stderr).toBe('warn\n');
    expect(offsets).toEqual({ stdout: 8, stderr: 5 });
    // Files on the node say the same to an engineer who looks.
    expect(readFileSync(join(dir('run-1/work.1'), 'exit'), 'utf8')).toBe('3\n');
    // The job's process was its own session leader: not in ours.
    const [pid] = readFileSync(join(dir('run-1/work.1'), 'pid'), 'utf8').split(' ');
    expect(Number(pid)).toBeGreaterThan(0);
  });

  it('is running while the command runs, and output comes in whole lines only', async () => {
    const { jobs, start } = setup();
    const gate = join(homes[0]!, 'go');
    await start('r/s.1', `printf 'first\\npart'; while [ ! -f ${gate} ]; do sleep 0.05; done; printf 'ial\\nlast'`);
    let p: JobPoll | undefined;
    await vi.waitFor(async () => {
      p = await jobs.poll(node, 'r/s.1', { stdout: 0, stderr: 0 });
      expect(p.stdout).toBe('first\n');
    });
    expect(p!.state).toBe('running');
    expect(p!.state === 'running' && p!.pid).toBeGreaterThan(1);
    // Half a line is not handed over: a poll after a restart would start in its middle.
    expect(p!.offsets.stdout).toBe(6);
    writeFileSync(gate, '');
    const rest = await follow(jobs, 'r/s.1', p!.offsets);
    // The last line of an ended job is whole even without its newline.
    expect(rest.stdout).toBe('partial\nlast');
  });

  it('starts a job only once for one id, however often start is called', async () => {
    const { jobs, start, home } = setup();
    const marker = join(home, 'starts');
    const command = `echo started >> ${marker}; sleep 0.3`;
    const answers = await Promise.all([start('r/once.1', command), start('r/once.1', command), start('r/once.1', command)]);
    expect(answers.filter((a) => a.started)).toHaveLength(1);
    await follow(jobs, 'r/once.1');
    expect(await start('r/once.1', command)).toEqual({ started: false });
    expect(readFileSync(marker, 'utf8')).toBe('started\n');
  });

  it('keeps quotes, $ and backslashes of the command as written', async () => {
    const { jobs, start } = setup();
    const command = `printf '%s\\n' "it's \\$HOME" 'a "b" $c' \`echo back\` "tab\\there"`;
    const direct = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
    await start('r/quote.1', command);
    const { stdout } = await follow(jobs, 'r/quote.1');
    expect(stdout).toBe(direct);
    expect(stdout).toContain(`it's $HOME\na "b" $c\nback\n`);
  });

  it('refuses an id that could leave the jobs directory or needs quoting, before running anything', async () => {
    const { jobs, shell } = setup();
    for (const id of ['../x', 'r/../../x', 'r/s 1', 'r/$(id)', '/abs', 'r//s', '', 'r/.hidden', 'a/b/c/d/e']) {
      await expect(jobs.start(node, { id, command: 'true' }), id).rejects.toThrow(JobError);
      await expect(jobs.poll(node, id, { stdout: 0, stderr: 0 }), id).rejects.toThrow(/is not valid/);
    }
    expect(shell.commands).toEqual([]);
  });

  it('says absent for a job that was never started', async () => {
    const { jobs } = setup();
    const p = await jobs.poll(node, 'r/never.1', { stdout: 0, stderr: 0 });
    expect(p).toEqual({ state: 'absent', stdout: '', stderr: '', offsets: { stdout: 0, stderr: 0 } });
  });

  it('cancel stops the whole process group with TERM; the exit status says so', async () => {
    const { jobs, start, dir } = setup();
    // A child of the command (the sleep) belongs to the job's group too.
    await start('r/cancel.1', 'echo up; sleep 30; echo never');
    await vi.waitFor(async () => expect((await jobs.poll(node, 'r/cancel.1', { stdout: 0, stderr: 0 })).stdout).toBe('up\n'));
    const pgid = Number(readFileSync(join(dir('r/cancel.1'), 'pid'), 'utf8').split(' ')[0]);
    expect(processGroupAlive(pgid)).toBe(true);
    await jobs.cancel(node, 'r/cancel.1');
    expect(processGroupAlive(pgid)).toBe(false);
    const p = await jobs.poll(node, 'r/cancel.1', { stdout: 0, stderr: 0 });
    expect(p).toMatchObject({ state: 'exited', code: 143, signal: 'SIGTERM', stdout: 'up\n' });
    // Cancelling what has ended is a no-op, as is cancelling what never was.
    await jobs.cancel(node, 'r/cancel.1');
    await jobs.cancel(node, 'r/none.1');
  });

  it('cancel sends KILL when TERM is ignored, after the grace', async () => {
    const { jobs, start, dir } = setup({ cancelGraceMs: 300 });
    await start('r/stubborn.1', `trap '' TERM; echo up; while :; do sleep 0.05; done`);
    await vi.waitFor(async () => expect((await jobs.poll(node, 'r/stubborn.1', { stdout: 0, stderr: 0 })).stdout).toBe('up\n'));
    const pgid = Number(readFileSync(join(dir('r/stubborn.1'), 'pid'), 'utf8').split(' ')[0]);
    await jobs.cancel(node, 'r/stubborn.1');
    expect(processGroupAlive(pgid)).toBe(false);
    expect(await jobs.poll(node, 'r/stubborn.1', { stdout: 0, stderr: 0 })).toMatchObject({ state: 'exited', code: 137, signal: 'SIGKILL' });
  });

  it('a job whose process was killed (no exit status) is lost, and says why', async () => {
    const { jobs, start, dir } = setup();
    await start('r/oom.1', 'echo up; sleep 30');
    await vi.waitFor(async () => expect((await jobs.poll(node, 'r/oom.1', { stdout: 0, stderr: 0 })).stdout).toBe('up\n'));
    const pgid = Number(readFileSync(join(dir('r/oom.1'), 'pid'), 'utf8').split(' ')[0]);
    process.kill(-pgid, 'SIGKILL');
    await vi.waitFor(() => expect(processGroupAlive(pgid)).toBe(false));
    const p = await jobs.poll(node, 'r/oom.1', { stdout: 0, stderr: 0 });
    expect(p.state).toBe('lost');
    expect(p.state === 'lost' && p.why).toBe(`job r/oom.1's process (pid ${pgid}) on db-local is gone without an exit status: it was killed (the OOM killer, or by hand)`);
    // What it wrote before is still there to read.
    expect(p.stdout).toBe('up\n');
  });

  it('a reused pid does not make a dead job look alive (start time), nor does another boot', async () => {
    const { jobs, start, dir } = setup();
    await start('r/dead.1', 'true');
    await follow(jobs, 'r/dead.1');
    // Another job, alive: a session leader like any job's wrapper.
    await start('r/live.1', 'sleep 30');
    await vi.waitFor(async () => expect((await jobs.poll(node, 'r/live.1', { stdout: 0, stderr: 0 })).state).toBe('running'));
    const d = dir('r/dead.1');
    rmSync(join(d, 'exit'));
    const [, deadStart, bootId] = readFileSync(join(d, 'pid'), 'utf8').trim().split(' ');
    const [livePid, liveStart] = readFileSync(join(dir('r/live.1'), 'pid'), 'utf8').trim().split(' ');
    // The dead job's pid now belongs to a live process, started at another time.
    writeFileSync(join(d, 'pid'), `${livePid} ${deadStart} ${bootId}\n`);
    expect(deadStart).not.toBe(liveStart);
    expect((await jobs.poll(node, 'r/dead.1', { stdout: 0, stderr: 0 })).state).toBe('lost');
    // Cancel leaves a process that is not the job's alone.
    await jobs.cancel(node, 'r/dead.1');
    expect((await jobs.poll(node, 'r/live.1', { stdout: 0, stderr: 0 })).state).toBe('running');
    // The very process, with its true start time, but recorded on another boot: the host rebooted.
    writeFileSync(join(d, 'pid'), `${livePid} ${liveStart} 00000000-0000-0000-0000-000000000000\n`);
    const rebooted = await jobs.poll(node, 'r/dead.1', { stdout: 0, stderr: 0 });
    expect(rebooted.state === 'lost' && rebooted.why).toBe(`db-local rebooted since job r/dead.1 started (pid ${livePid}); it left no exit status`);
    // And on this boot the same record reads as running: the check can say yes.
    writeFileSync(join(d, 'pid'), `${livePid} ${liveStart} ${bootId}\n`);
    expect(await jobs.poll(node, 'r/dead.1', { stdout: 0, stderr: 0 })).toMatchObject({ state: 'running', pid: Number(livePid) });
    // Ended again, so the clean-up's cancel leaves it alone.
    writeFileSync(join(d, 'exit'), '0\n');
  });

  it('this test runner, alive but leading no session of its own, never passes for a job', async () => {
    const { jobs, start, dir } = setup();
    await start('r/runner.1', 'true');
    await follow(jobs, 'r/runner.1');
    const d = dir('r/runner.1');
    rmSync(join(d, 'exit'));
    const ours = readFileSync(`/proc/${process.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19];
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(d, 'pid'), `${process.pid} ${ours} ${bootId}\n`);
    expect((await jobs.poll(node, 'r/runner.1', { stdout: 0, stderr: 0 })).state).toBe('lost');
    // So cancel sends nothing to the runner's group (the test would not be here to check otherwise).
    await jobs.cancel(node, 'r/runner.1');
    expect(existsSync(join(d, 'exit'))).toBe(false);
    // Ended again, so the clean-up's cancel leaves it alone.
    writeFileSync(join(d, 'exit'), '0\n');
  });

  it('hands over at most pollBytes per stream per poll, never splitting a character', async () => {
    const { jobs, start } = setup({ pollBytes: 10 });
    // "é" is two bytes: ten bytes of "aaaaaaaaaé..." end inside it.
    await start('r/long.1', `printf 'aaaaaaaaa\\303\\251bbbb\\nshort\\n'`);
    await follow(jobs, 'r/long.1');
    const parts: string[] = [];
    let offsets: JobOffsets = { stdout: 0, stderr: 0 };
    for (let i = 0; i < 10; i++) {
      const p = await jobs.poll(node, 'r/long.1', offsets);
      if (p.stdout === '') break;
      parts.push(p.stdout);
      offsets = p.offsets;
    }
    expect(parts).toEqual(['aaaaaaaaa', 'ébbbb\n', 'short\n']);
    expect(offsets.stdout).toBe(Buffer.byteLength('aaaaaaaaaébbbb\nshort\n'));
  });

  it('a job dir left by an interrupted start is lost, and start does not start it again', async () => {
    const { jobs, dir, shell } = setup();
    execFileSync('mkdir', ['-p', dir('r/half.1')]);
    expect(await jobs.start(node, { id: 'r/half.1', command: 'echo hi' })).toEqual({ started: false });
    const p = await jobs.poll(node, 'r/half.1', { stdout: 0, stderr: 0 });
    expect(p.state === 'lost' && p.why).toBe('job r/half.1 on db-local never recorded its pid: its start was interrupted');
    expect(existsSync(join(dir('r/half.1'), 'out'))).toBe(false);
    expect(shell.commands).toHaveLength(2);
  });

  it('under --read-only, start and cancel are refused before any command; poll still reads', async () => {
    const { jobs, shell } = setup();
    const backends = { jobs, shell, target: { kind: 'inventory', file: 'x' } } as unknown as Backends;
    const ro = withReadOnly(backends);
    await expect(ro.jobs.start(node, { id: 'r/ro.1', command: 'true' })).rejects.toThrow(ReadOnlyError);
    await expect(ro.jobs.cancel(node, 'r/ro.1')).rejects.toThrow(/jobs\.cancel/);
    expect(shell.commands).toEqual([]);
    expect((await ro.jobs.poll(node, 'r/ro.1', { stdout: 0, stderr: 0 })).state).toBe('absent');
  });
});
