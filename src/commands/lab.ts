// `nightshift lab up | status | down`: real servers on loopback (OpenSSH sshd
// and three MariaDB servers with GTID replication) to open the console on.

import type { Command } from 'commander';
import { CommandFailed } from '../errors.js';
import { resolve } from 'node:path';
import { defaultLabDir, LAB_REPL_USER, labStatus, runningLabDirs, startLab, stopLab } from '../lab/lab.js';
import type { CommandContext, RegisterCommand } from './types.js';

interface LabFlags {
  dir?: string;
  ipPrefix?: string;
}

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  const lab = program
    .command('lab')
    .description('a lab of real servers on loopback: sshd + 3 MariaDB (1 master, 2 replicas, GTID)');
  const dirOption = ['--dir <dir>', 'where the lab lives (default ./.lab, or $NIGHTSHIFT_LAB_DIR)'] as const;

  lab
    .command('up')
    .description('start (or restart from scratch) the lab and write its inventory and config (replication credentials, fence and service commands)')
    .option(...dirOption)
    .option('--ip-prefix <a.b.c>', 'loopback /24 for the nodes (.11, .12, .13)', '127.0.0')
    .action(async (opts: LabFlags) => {
      const dir = opts.dir ?? defaultLabDir();
      if (!/^127\.\d{1,3}\.\d{1,3}$/.test(opts.ipPrefix ?? '127.0.0')) {
        throw new CommandFailed(`--ip-prefix must be three octets of 127/8 (loopback only), not "${opts.ipPrefix}"`);
      }
      ctx.io.stdout.write(`starting the lab in ${dir} ...\n`);
      const started = Date.now();
      const l = await startLab({ dir, detached: true, ...(opts.ipPrefix ? { ipPrefix: opts.ipPrefix } : {}) });
      const s = l.state;
      ctx.io.stdout.write(
        [
          `lab up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          `  sshd      ${s.nodes.map((n) => `${n.ip}:${s.sshPort}`).join(', ')} (pid ${s.sshdPid}, user ${s.user})`,
          ...s.nodes.map((n) => `  ${n.name} ${n.role.padEnd(7)} mariadb ${n.ip}:${n.mysqlPort} (pid ${n.pid})`),
          `  inventory ${s.files.inventory} (each host's service and fence: ${s.dir}/mN/service)`,
          `  config    ${s.files.config} (replication user ${LAB_REPL_USER}, password in ${s.files.replPassword}; heartbeat table)`,
          '',
          'open the console on it (the config beside the inventory is read with it):',
          `  nightshift --inventory ${s.files.inventory}`,
          'a shell on a node:',
          `  ssh -F ${s.files.sshConfig} ${s.nodes[0]!.ip}`,
          'stop it:',
          '  nightshift lab down' + (opts.dir ? ` --dir ${opts.dir}` : ''),
          '',
        ].join('\n'),
      );
    });

  lab
    .command('status')
    .description('show whether the lab processes are up')
    .option(...dirOption)
    .option('--json', 'print JSON')
    .action(async (opts: LabFlags & { json?: boolean }) => {
      const status = await labStatus(opts.dir ?? defaultLabDir());
      if (opts.json) {
        ctx.io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } else if (!status.state) {
        ctx.io.stdout.write(`no lab in ${status.dir} (start one with: nightshift lab up)\n`);
      } else {
        const s = status.state;
        ctx.io.stdout.write(
          [
            `lab in ${s.dir}, started ${s.startedAt}`,
            `  sshd ${status.sshd.toUpperCase().padEnd(4)} port ${s.sshPort}`,
            ...status.nodes.map((n) => `  ${n.name}   ${n.process.toUpperCase().padEnd(4)} ${n.role} (pid ${n.pid})`),
            `  inventory ${s.files.inventory}`,
            '',
          ].join('\n'),
        );
      }
      const allUp = status.state !== undefined && status.sshd === 'up' && status.nodes.every((n) => n.process === 'up' || n.role === 'spare');
      if (!allUp && status.state) throw new CommandFailed('the lab is not fully up (nightshift lab up restarts it)');
    });

  lab
    .command('down')
    .description('stop the lab processes (the directory stays for a look at the logs)')
    .option(...dirOption)
    .action(async (opts: LabFlags) => {
      const dir = opts.dir ?? defaultLabDir();
      const stopped = await stopLab(dir);
      if (stopped) {
        ctx.io.stdout.write(`lab in ${dir} stopped\n`);
        return;
      }
      // Not told where, and nothing here: a lab started elsewhere (--dir) must not be left running unsaid.
      const elsewhere = opts.dir === undefined ? runningLabDirs().filter((d) => resolve(d) !== resolve(dir)) : [];
      if (elsewhere.length > 0) {
        throw new CommandFailed(`no running lab in ${dir}, but ${elsewhere.length === 1 ? 'one runs' : 'labs run'} in ${elsewhere.join(', ')}: ${elsewhere.map((d) => `nightshift lab down --dir ${d}`).join('; ')}`);
      }
      ctx.io.stdout.write(`no running lab in ${dir}\n`);
    });
};
