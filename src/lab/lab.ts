// The lab: real servers on loopback, for tests and for anyone who wants to
// open the console on something real. One OpenSSH sshd (its own config,
// host key, user key and known_hosts, high port) and three MariaDB servers
// with GTID replication (m1 master, m2 and m3 replicas), each with its own
// datadir and socket. A fourth host, m4, is a spare, as a rebuild finds one:
// reachable, MariaDB installed, its datadir empty and no server running, in
// the inventory with `spare: true` (not a member of the cluster), and a
// service script that starts a server on whatever a restore puts there.
//
// Each node has its own loopback address (127.0.0.11, .12, .13, .14 by default):
// mariadbd binds there, and the one sshd listens on each of them. A
// `Match LocalAddress` block sets MYSQL_UNIX_PORT per address, so plain
// `mysql` on "host" 127.0.0.12 talks to m2, exactly as on a real fleet
// where every host runs its own server: no per-node client command needed.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { shellQuote } from '../backends/engines/shell-quote.js';
import { findLabBinaries, type LabBinaries } from './binaries.js';

export const LAB_CLUSTER = 'lab';
export const LAB_REPL_USER = 'repl';
// A lab-only password on loopback; it is written to the replicas' master.info, like any replication setup.
const LAB_REPL_PASSWORD = 'lab-repl-only';
/** The heartbeat writer's account: no SUPER, so read_only stops it on every server but the writable master. */
const LAB_HEARTBEAT_USER = 'heartbeat';
const LAB_HEARTBEAT_PASSWORD = 'lab-heartbeat-only';
export const LAB_HEARTBEAT_TABLE = 'nightshift_lab.heartbeat';
/** The unit name the lab's service scripts answer to, as systemd's does on Debian. */
export const LAB_SERVICE_UNIT = 'mariadb';

export interface LabOptions {
  /** Where everything lives (default ./.lab). */
  dir: string;
  /** First three octets of the nodes' loopback addresses; nodes get .11, .12, .13 and the spare .14. */
  ipPrefix?: string;
  /** Servers outlive this process (`nightshift lab up`); otherwise they are this process's children. */
  detached?: boolean;
  /** Bounds every wait (server start, replication catching up). */
  timeoutMs?: number;
  /**
   * Run a heartbeat writer (pt-heartbeat --update, once a second, on whichever
   * server is writable), so lag read from the heartbeat table stays true.
   * Default: when detached (`lab up`); tests that count transactions go without.
   */
  heartbeat?: boolean;
}

export interface LabNodeState {
  name: string;
  /** `spare`: m4, no server until a rebuild restores one there. */
  role: 'master' | 'replica' | 'spare';
  /** Not a member of the cluster (whatever `role` a bench sets in memory). */
  spare?: boolean;
  ip: string;
  mysqlPort: number;
  serverId: number;
  socket: string;
  datadir: string;
  errorLog: string;
  /** mariadbd's own pid file: the truth once a service script has restarted it. */
  pidFile: string;
  /** This node's service manager (`<it> start|stop|is-active mariadb`), run over ssh. */
  service: string;
  /** The pid at `lab up`; see pidFile. */
  pid: number;
}

export interface LabState {
  version: 1;
  dir: string;
  cluster: string;
  /** The OS user the lab's sshd lets in (the user who started it). */
  user: string;
  /** That user's primary group (engines.datadirOwner is user:group). */
  group: string;
  sshPort: number;
  sshdPid: number;
  /** The heartbeat writer, 0 when the lab runs without one. */
  heartbeatPid: number;
  nodes: LabNodeState[];
  files: {
    inventory: string;
    sshConfig: string;
    knownHosts: string;
    identity: string;
    hostKey: string;
    sshdConfig: string;
    sshdLog: string;
    /** The nightshift config beside the inventory (replication credentials, heartbeat table). */
    config: string;
    /** The replication password, mode 0600. */
    replPassword: string;
  };
  startedAt: string;
}

const STATE_FILE = 'lab.json';

export function defaultLabDir(): string {
  return resolve(process.env.NIGHTSHIFT_LAB_DIR ?? '.lab');
}

/** Starts the lab from scratch in `dir` (stopping what a previous run left there). */
export async function startLab(opts: LabOptions): Promise<Lab> {
  const bins = findLabBinaries();
  const dir = resolve(opts.dir);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await stopLab(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'ssh'), { recursive: true });
  const prefix = opts.ipPrefix ?? '127.0.0';
  const ips = [11, 12, 13, 14].map((n) => `${prefix}.${n}`);
  const SPARES = 1;
  const user = safeUser();
  const isRoot = process.getuid?.() === 0;

  const [sshPort, mysqlPort] = await Promise.all([freePort(ips), freePort(ips)]);
  const nodes: LabNodeState[] = ips.map((ip, i) => {
    const name = `m${i + 1}`;
    const isSpare = i >= ips.length - SPARES;
    return {
      name,
      role: isSpare ? 'spare' : i === 0 ? 'master' : 'replica',
      ...(isSpare ? { spare: true } : {}),
      ip,
      mysqlPort,
      serverId: i + 1,
      socket: join(dir, name, 'mysqld.sock'),
      datadir: join(dir, name, 'data'),
      errorLog: join(dir, name, 'error.log'),
      pidFile: join(dir, name, 'mysqld.pid'),
      service: join(dir, name, 'service'),
      pid: 0,
    };
  });
  const files = await writeSshFiles(bins, dir, ips, sshPort, nodes, user);
  const state: LabState = {
    version: 1,
    dir,
    cluster: LAB_CLUSTER,
    user,
    group: primaryGroup(),
    sshPort,
    sshdPid: 0,
    heartbeatPid: 0,
    nodes,
    files,
    startedAt: new Date().toISOString(),
  };
  const lab = new Lab(state, bins);
  try {
    if (isRoot) mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation directory
    const sshd = startProcess(bins.sshd, ['-D', '-f', files.sshdConfig, '-E', files.sshdLog], files.sshdLog, opts.detached);
    state.sshdPid = sshd.pid!;
    // One bootstrap, copied: parallel bootstraps collide on their temporary files, and a copy is faster.
    const members = nodes.filter((n) => !n.spare);
    await installDatadir(bins, members[0]!, isRoot);
    for (const node of members.slice(1)) cpSync(members[0]!.datadir, node.datadir, { recursive: true });
    // The spare's datadir: there and empty, as on a fresh host whose restore has not run yet.
    for (const node of nodes.filter((n) => n.spare)) mkdirSync(node.datadir, { recursive: true });
    await Promise.all(
      members.map(async (node) => {
        const child = startProcess(bins.mariadbd, mariadbdArgs(node, isRoot), join(dir, node.name, 'stdout.log'), opts.detached);
        node.pid = child.pid!;
      }),
    );
    saveState(state);
    await Promise.all([
      waitForPort(ips[0]!, sshPort, timeoutMs, () => tail(files.sshdLog)),
      ...members.map((n) => lab.waitForServer(n, timeoutMs)),
    ]);
    await lab.setUpReplication(timeoutMs);
    for (const node of nodes) writeServiceScript(bins, node, isRoot);
    if (opts.heartbeat ?? opts.detached === true) {
      const script = writeHeartbeatScript(bins, dir, members);
      state.heartbeatPid = startProcess('/bin/sh', [script], join(dir, 'heartbeat.log'), opts.detached).pid!;
      saveState(state);
    }
    writeFileSync(files.replPassword, `${LAB_REPL_PASSWORD}\n`, { mode: 0o600 });
    chmodSync(files.replPassword, 0o600);
    await writeInventory(state);
    await writeConfig(state);
    return lab;
  } catch (err) {
    await lab.stop();
    throw err;
  }
}

/** The primary group's name, as `id -gn` prints it (its gid when /etc/group has no name for it). */
function primaryGroup(): string {
  const gid = process.getgid?.() ?? 0;
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === gid) return name;
    }
  } catch {
    /* no /etc/group: the number */
  }
  return String(gid);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/** A port free on every node address (sshd and the servers share it across addresses). */
async function freePort(ips: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.once('error', rej);
      srv.listen(0, ips[0], () => {
        const addr = srv.address();
        srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    const ok = await Promise.all(ips.slice(1).map((ip) => canListen(ip, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error(`no free port on ${ips.join(', ')}`);
}

function canListen(ip: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, ip, () => srv.close(() => res(true)));
  });
}

async function run(bin: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
    // A program that never reads its stdin (ssh-keygen) may exit before we finish writing.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

async function writeSshFiles(
  bins: LabBinaries,
  dir: string,
  ips: string[],
  port: number,
  nodes: LabNodeState[],
  user: string,
): Promise<LabState['files']> {
  const ssh = join(dir, 'ssh');
  const hostKey = join(ssh, 'ssh_host_ed25519_key');
  const identity = join(ssh, 'id_ed25519');
  for (const [file, comment] of [
    [hostKey, 'nightshift-lab-host'],
    [identity, 'nightshift-lab-user'],
  ] as const) {
    const r = await run(bins.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.trim()}`);
  }
  writeFileSync(join(ssh, 'authorized_keys'), readFileSync(`${identity}.pub`), { mode: 0o600 });
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const knownHosts = join(ssh, 'known_hosts');
  mkdirSync(join(dir, 'home'), { recursive: true });
  for (const n of nodes) {
    mkdirSync(join(dir, n.name), { recursive: true });
    writeFileSync(
      join(dir, n.name, 'my.cnf'),
      `# This node's client and mariadb-backup settings (sshd points MYSQL_HOME here).\n` +
        `[client]\nsocket=${n.socket}\n[mysqld]\nsocket=${n.socket}\ndatadir=${n.datadir}\n`,
    );
  }
  writeFileSync(knownHosts, `${ips.map((ip) => `[${ip}]:${port}`).join(',')} ${hostPub[0]} ${hostPub[1]}\n`);

  const sshdConfig = join(ssh, 'sshd_config');
  const sshdLog = join(ssh, 'sshd.log');
  writeFileSync(
    sshdConfig,
    [
      '# nightshift lab sshd: loopback only, keys only, its own files.',
      ...ips.map((ip) => `ListenAddress ${ip}:${port}`),
      `HostKey ${hostKey}`,
      `PidFile ${join(ssh, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(ssh, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The lab dir may sit in a group-writable checkout; the keys are the lab's own.
      'StrictModes no',
      'AllowTcpForwarding yes',
      // Probes and steps share one connection per host: allow more channels than the default 10.
      'MaxSessions 64',
      // The bench opens 50 connections at once; the default 10:30:100 would drop some.
      'MaxStartups 200',
      'LogLevel INFO',
      // Debian's /etc/mysql/my.cnf names the system socket and beats MYSQL_UNIX_PORT;
      // $MYSQL_HOME/my.cnf (MariaDB: $MARIADB_HOME) is read after it and wins.
      ...nodes.flatMap((n) => [
        `Match LocalAddress ${n.ip}`,
        // HOME too: bash run by sshd sources ~/.bashrc even for `bash -c`, and the
        // engineer's own rc files (pyenv, nvm...) have no place in a hermetic lab.
        `  SetEnv "HOME=${join(dir, 'home')}" "MYSQL_HOME=${join(dir, n.name)}" "MARIADB_HOME=${join(dir, n.name)}" "MYSQL_UNIX_PORT=${n.socket}"`,
      ]),
      '',
    ].join('\n'),
  );

  const sshConfig = join(ssh, 'ssh_config');
  writeFileSync(
    sshConfig,
    [
      '# For `ssh -F` and for nightshift (the lab inventory points here).',
      `Host ${ips.join(' ')}`,
      `  User ${user}`,
      `  Port ${port}`,
      `  IdentityFile ${identity}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  return {
    inventory: join(dir, 'inventory.yaml'),
    sshConfig,
    knownHosts,
    identity,
    hostKey,
    sshdConfig,
    sshdLog,
    config: join(dir, 'nightshift.yaml'),
    replPassword: join(dir, 'repl.password'),
  };
}

async function installDatadir(bins: LabBinaries, node: LabNodeState, isRoot: boolean): Promise<void> {
  mkdirSync(join(node.datadir, '..'), { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${node.datadir}`,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    // As root, run the server as root: the lab dir may be under a 0700 home the mysql user cannot enter.
    ...(isRoot ? ['--user=root'] : []),
  ];
  const r = await run(bins.installDb, args);
  if (r.code !== 0) throw new Error(`${bins.installDb} for ${node.name} failed: ${tailText(r.stderr || r.stdout)}`);
}

function mariadbdArgs(node: LabNodeState, isRoot: boolean): string[] {
  return [
    '--no-defaults',
    `--datadir=${node.datadir}`,
    `--socket=${node.socket}`,
    `--bind-address=${node.ip}`,
    `--port=${node.mysqlPort}`,
    `--pid-file=${node.pidFile}`,
    `--log-error=${node.errorLog}`,
    `--tmpdir=${join(node.datadir, '..')}`,
    `--server-id=${node.serverId}`,
    `--log-bin=${node.name}-bin`,
    `--relay-log=${node.name}-relay-bin`,
    '--log-slave-updates',
    '--binlog-format=ROW',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=32M',
    ...(node.role === 'replica' ? ['--read-only'] : []),
    ...(isRoot ? ['--user=root'] : []),
  ];
}

/**
 * `mN/service start|stop|is-active mariadb`: the node's service manager, as
 * systemctl is on a real host, run over the lab's sshd as the lab user. stop
 * waits for mariadbd to exit (a fence must not return while it can still
 * write); start returns once the server answers. A restarted server comes
 * back read-only, as production configs have it, so a fenced master that
 * returns is never a second writer.
 */
function writeServiceScript(bins: LabBinaries, node: LabNodeState, isRoot: boolean): void {
  const args = mariadbdArgs({ ...node, role: 'replica' }, isRoot).map(shellQuote).join(' ');
  const q = shellQuote;
  const script = `#!/bin/sh
# Written by \`nightshift lab up\`: ${node.name}'s mariadbd as a service, for the
# inventory's \`service:\` and \`fence:\`. Usage: service start|stop|is-active ${LAB_SERVICE_UNIT}
verb=$1
unit=\${2%.service}
case "$unit" in
  mariadb|mysql|mysqld) ;;
  *) echo "Unit \${2:-(none)}.service not found on ${node.name}." >&2; exit 5 ;;
esac
pidfile=${q(node.pidFile)}
marker=${q(`--datadir=${node.datadir}`)}
# Ours only if its command line names this node's datadir: a pid may be reused.
alive() { [ -n "$1" ] && { tr '\\0' '\\n' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qxF -- "$marker"; }
current() { [ -s "$pidfile" ] && pid=$(cat "$pidfile") && alive "$pid"; }
answers() { ${q(bins.client)} --socket=${q(node.socket)} --batch -e 'SELECT 1' >/dev/null 2>&1; }
case "$verb" in
  is-active)
    if current; then echo active; exit 0; fi
    echo inactive; exit 3 ;;
  stop)
    if ! current; then echo "${node.name}: mariadbd is not running"; exit 0; fi
    kill -TERM "$pid"
    i=0
    while alive "$pid"; do
      i=$((i + 1))
      # As systemd does after TimeoutStopSec: a fence cannot leave it half-stopped.
      [ "$i" -eq 300 ] && kill -KILL "$pid" 2>/dev/null
      [ "$i" -ge 400 ] && { echo "${node.name}: mariadbd (pid $pid) did not stop" >&2; exit 1; }
      sleep 0.1
    done
    echo "${node.name}: mariadbd (pid $pid) stopped" ;;
  start)
    if current && answers; then echo "${node.name}: mariadbd already running (pid $pid)"; exit 0; fi
    # Its own session, every descriptor redirected: it outlives this ssh channel.
    setsid ${q(bins.mariadbd)} ${args} >>${q(join(node.datadir, '..', 'stdout.log'))} 2>&1 </dev/null &
    child=$!
    i=0
    until answers; do
      i=$((i + 1))
      if ! kill -0 "$child" 2>/dev/null || [ "$i" -ge 600 ]; then
        echo "${node.name}: mariadbd did not start: $(tail -n 5 ${q(node.errorLog)} | tr '\\n' ' ')" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "${node.name}: mariadbd started (pid $child, read-only)" ;;
  *)
    echo "usage: $0 start|stop|is-active ${LAB_SERVICE_UNIT}" >&2; exit 2 ;;
esac
`;
  writeFileSync(node.service, script, { mode: 0o755 });
  chmodSync(node.service, 0o755);
}

/**
 * pt-heartbeat --update --utc for the lab: once a second, every server is
 * asked to stamp the heartbeat row as a user without SUPER, so only a
 * writable one does; lag then reads true through a switchover, as it would
 * with pt-heartbeat following the writer record.
 */
function writeHeartbeatScript(bins: LabBinaries, dir: string, nodes: LabNodeState[]): string {
  const file = join(dir, 'heartbeat');
  const q = shellQuote;
  // One row per writer: after a switchover the new master stamps a row of its own, and lag is read from MAX(ts).
  const update = `INSERT INTO ${LAB_HEARTBEAT_TABLE} (server_id, ts) VALUES (@@server_id, DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f')) ON DUPLICATE KEY UPDATE ts = VALUES(ts)`;
  writeFileSync(
    file,
    `#!/bin/sh
# Written by \`nightshift lab up\`: the lab's heartbeat writer (${file}).
export MYSQL_PWD=${q(LAB_HEARTBEAT_PASSWORD)}
while :; do
${nodes
  .map((n) => `  ${q(bins.client)} --no-defaults -h ${n.ip} -P ${n.mysqlPort} -u ${LAB_HEARTBEAT_USER} --connect-timeout=1 -e ${q(update)} 2>/dev/null`)
  .join('\n')}
  sleep 1
done
`,
    { mode: 0o755 },
  );
  return file;
}

function startProcess(bin: string, args: string[], logFile: string, detached = false): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached });
  closeSync(fd);
  if (detached) child.unref();
  // Without a listener a failed spawn would crash the process; the wait that follows reports it.
  child.on('error', () => undefined);
  return child;
}

function saveState(state: LabState): void {
  writeFileSync(join(state.dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

export function readLabState(dir: string): LabState | undefined {
  const file = join(resolve(dir), STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

async function writeInventory(state: LabState): Promise<void> {
  const doc = {
    ssh: { configFile: 'ssh/ssh_config' },
    hosts: state.nodes.map((n) => ({
      name: n.name,
      cluster: state.cluster,
      engine: 'mysql',
      host: n.ip,
      port: state.sshPort,
      user: state.user,
      az: `lab-${String.fromCharCode(96 + n.serverId)}`,
      // A spare has no role until it is rebuilt and joins; no server tells its datadir, so the file does.
      ...(n.spare ? { spare: true, datadir: n.datadir } : { role: n.role }),
      tags: { lab: 'true' },
      service: shellQuote(n.service),
      fence: `${shellQuote(n.service)} stop ${LAB_SERVICE_UNIT}`,
    })),
  };
  await writeFile(
    state.files.inventory,
    `# Written by \`nightshift lab up\`. Open the console on it:\n#   nightshift --inventory ${state.files.inventory}\n` +
      `# (nightshift.yaml beside it is read as the config, unless ./nightshift.yaml or --config says otherwise)\n` +
      stringify(doc),
  );
}

/** The config a runbook needs on the lab, beside the inventory, where --inventory finds it. */
async function writeConfig(state: LabState): Promise<void> {
  const doc = {
    engines: {
      heartbeatTable: LAB_HEARTBEAT_TABLE,
      // The lab runs as its own user, who owns every datadir: no sudo, and a restored datadir is chowned back to that user.
      privileged: '',
      datadirOwner: `${state.user}:${state.group}`,
    },
    clusters: {
      [state.cluster]: {
        replication: { user: LAB_REPL_USER, passwordFile: 'repl.password' },
      },
    },
  };
  await writeFile(
    state.files.config,
    `# Written by \`nightshift lab up\`: read for --inventory ${state.files.inventory}\n` +
      `# (fences and service commands are per host, in the inventory).\n` +
      stringify(doc),
  );
}

export class Lab {
  constructor(
    readonly state: LabState,
    private readonly bins: LabBinaries,
  ) {}

  get master(): LabNodeState {
    return this.state.nodes.find((n) => n.role === 'master')!;
  }

  get replicas(): LabNodeState[] {
    return this.state.nodes.filter((n) => n.role === 'replica' && !n.spare);
  }

  /** Hosts outside the cluster, kept for a rebuild (m4). */
  get spares(): LabNodeState[] {
    return this.state.nodes.filter((n) => n.spare);
  }

  node(name: string): LabNodeState {
    const n = this.state.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no lab node ${name}`);
    return n;
  }

  /** Runs SQL locally over the node's socket (set-up and tests; the product goes through ssh). */
  async sql(nodeName: string, sql: string): Promise<string> {
    const node = this.node(nodeName);
    const r = await run(this.bins.client, [`--socket=${node.socket}`, '--batch', '--skip-column-names'], sql);
    if (r.code !== 0) throw new Error(`${node.name}: ${tailText(r.stderr)} (SQL: ${sql.slice(0, 120)})`);
    return r.stdout;
  }

  /** One value from one row. */
  async value(nodeName: string, sql: string): Promise<string> {
    return (await this.sql(nodeName, sql)).split('\n')[0]!.split('\t')[0] ?? '';
  }

  async waitForServer(node: LabNodeState, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await run(this.bins.client, [`--socket=${node.socket}`, '--batch', '-e', 'SELECT 1']).catch(() => undefined);
      if (r?.code === 0) return;
      if (node.pid && !isAlive(node.pid)) {
        throw new Error(`${node.name}: mariadbd exited while starting: ${tail(node.errorLog)}`);
      }
      if (Date.now() > end) throw new Error(`${node.name}: mariadbd not ready after ${timeoutMs} ms: ${tail(node.errorLog)}`);
      await delay(100);
    }
  }

  async setUpReplication(timeoutMs: number): Promise<void> {
    const m = this.master;
    await this.sql(
      m.name,
      [
        `CREATE USER '${LAB_REPL_USER}'@'%' IDENTIFIED BY '${LAB_REPL_PASSWORD}'`,
        `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${LAB_REPL_USER}'@'%'`,
        `CREATE USER '${LAB_HEARTBEAT_USER}'@'%' IDENTIFIED BY '${LAB_HEARTBEAT_PASSWORD}'`,
        'CREATE DATABASE nightshift_lab',
        // pt-heartbeat's layout: a row per writer, keyed by server_id (what mysql-ops' writeHeartbeat writes too).
        `CREATE TABLE ${LAB_HEARTBEAT_TABLE} (server_id INT UNSIGNED NOT NULL PRIMARY KEY, ts VARCHAR(26) NOT NULL)`,
        'CREATE TABLE nightshift_lab.writes (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))',
        `INSERT INTO ${LAB_HEARTBEAT_TABLE} (server_id, ts) VALUES (@@server_id, DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f'))`,
        `GRANT SELECT, INSERT, UPDATE ON ${LAB_HEARTBEAT_TABLE} TO '${LAB_HEARTBEAT_USER}'@'%'`,
        '',
      ].join(';\n'),
    );
    for (const r of this.replicas) await this.pointAt(r.name, m.name);
    await this.waitForReplicasInSync(timeoutMs);
  }

  /** CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos; START SLAVE. */
  async pointAt(replica: string, master: string): Promise<void> {
    const m = this.node(master);
    await this.sql(
      replica,
      `CHANGE MASTER TO MASTER_HOST='${m.ip}', MASTER_PORT=${m.mysqlPort}, MASTER_USER='${LAB_REPL_USER}', ` +
        `MASTER_PASSWORD='${LAB_REPL_PASSWORD}', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; START SLAVE;`,
    );
  }

  /** Until every replica's threads run and it has executed the master's binlog position. */
  async waitForReplicasInSync(timeoutMs: number): Promise<void> {
    const target = await this.value(this.master.name, 'SELECT @@gtid_binlog_pos');
    await Promise.all(
      this.replicas.map(async (r) => {
        const res = await this.value(r.name, `SELECT MASTER_GTID_WAIT('${target}', ${Math.ceil(timeoutMs / 1000)})`);
        if (res !== '0') {
          const status = await this.sql(r.name, 'SHOW SLAVE STATUS\\G').catch((e: Error) => e.message);
          throw new Error(`${r.name} did not reach ${target} in ${timeoutMs} ms:\n${status}`);
        }
      }),
    );
  }

  /** Stops every process of this lab (idempotent). */
  async stop(): Promise<void> {
    await stopPids(this.state);
  }

  /** This node's mariadbd pid now (after a service restart, not the one `lab up` started). */
  pidOf(nodeName: string): number {
    return nodePid(this.state, this.node(nodeName));
  }

  /** `kill -9` of the node's mariadbd, as a crash: returns the pid once the process is gone. */
  async crash(nodeName: string, timeoutMs = 30_000): Promise<number> {
    const pid = this.pidOf(nodeName);
    if (!isOurs(pid, this.state.dir)) throw new Error(`${nodeName}: mariadbd is not running (pid ${pid})`);
    process.kill(pid, 'SIGKILL');
    const end = Date.now() + timeoutMs;
    while (isAlive(pid)) {
      if (Date.now() > end) throw new Error(`${nodeName}: mariadbd (pid ${pid}) still alive ${timeoutMs} ms after SIGKILL`);
      await delay(20);
    }
    return pid;
  }

  /** `mN/service start mariadb`, as the operator would after a fence: the server comes back read-only. */
  async startService(nodeName: string): Promise<void> {
    const node = this.node(nodeName);
    const r = await run(node.service, ['start', LAB_SERVICE_UNIT]);
    if (r.code !== 0) throw new Error(`${node.name}: ${node.service} start ${LAB_SERVICE_UNIT} exited ${r.code}: ${tailText(r.stderr || r.stdout)}`);
  }

  /**
   * A former master rejoins as a replica of `master`. Its own writes are in
   * its binlog, not in gtid_slave_pos, so the position is taken from the
   * binlog first; otherwise the new master would send them back to it.
   */
  async rejoin(nodeName: string, master: string): Promise<void> {
    await this.sql(nodeName, 'SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos');
    await this.pointAt(nodeName, master);
  }
}

/** Stops the lab recorded in `dir`, if any; true when something was running. */
/**
 * The directories of labs whose sshd runs now, wherever they live: found by
 * the `-f <dir>/ssh/sshd_config` of running processes, for a `lab down` that
 * was not told where. `procRoot` is for tests.
 */
export function runningLabDirs(procRoot = '/proc'): string[] {
  const dirs = new Set<string>();
  let entries: string[];
  try {
    entries = readdirSync(procRoot).filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const pid of entries) {
    let args: string[];
    try {
      // sshd rewrites its title to one line (`sshd: /usr/sbin/sshd -D -f … [listener] …`): split on spaces too.
      args = readFileSync(join(procRoot, pid, 'cmdline'), 'utf8').split(/[\0 ]/);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const f = args.indexOf('-f');
    const config = f >= 0 ? args[f + 1] : undefined;
    if (!config || !config.endsWith('/ssh/sshd_config')) continue;
    const dir = dirname(dirname(config));
    if (existsSync(join(dir, STATE_FILE))) dirs.add(dir);
  }
  return [...dirs].sort();
}

export async function stopLab(dir: string): Promise<boolean> {
  let state: LabState | undefined;
  try {
    state = readLabState(dir);
  } catch {
    return false;
  }
  if (!state) return false;
  return stopPids(state);
}

/** A node's mariadbd now: the pid file its service script's restart left, else the one `lab up` started. */
export function nodePid(state: LabState, node: LabNodeState): number {
  try {
    const pid = Number(readFileSync(node.pidFile ?? join(state.dir, node.name, 'mysqld.pid'), 'utf8').trim());
    if (pid > 0 && isOurs(pid, state.dir)) return pid;
  } catch {
    /* no pid file: stopped, or never started */
  }
  return node.pid;
}

async function stopPids(state: LabState): Promise<boolean> {
  const pids = [state.sshdPid, state.heartbeatPid ?? 0, ...state.nodes.map((n) => nodePid(state, n))].filter((p) => p > 0 && isOurs(p, state.dir));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const end = Date.now() + 30_000;
  while (pids.some(isAlive) && Date.now() < end) await delay(50);
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.length > 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (our own exited child not yet reaped) is not alive.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Guards against pid reuse: only a process whose command line names this lab's dir is ours. */
function isOurs(pid: number, dir: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return process.platform !== 'linux';
  }
}

export interface LabStatus {
  dir: string;
  state?: LabState;
  sshd: 'up' | 'down';
  nodes: Array<{ name: string; role: string; pid: number; process: 'up' | 'down' }>;
}

export async function labStatus(dir: string): Promise<LabStatus> {
  const state = readLabState(dir);
  if (!state) return { dir: resolve(dir), sshd: 'down', nodes: [] };
  const sshdUp = isOurs(state.sshdPid, state.dir) && (await portOpen(state.nodes[0]!.ip, state.sshPort));
  return {
    dir: state.dir,
    state,
    sshd: sshdUp ? 'up' : 'down',
    nodes: state.nodes.map((n) => {
      const pid = nodePid(state, n);
      return { name: n.name, role: n.role, pid, process: isOurs(pid, state.dir) ? ('up' as const) : ('down' as const) };
    }),
  };
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number, why: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await portOpen(host, port))) {
    if (Date.now() > end) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms: ${why()}`);
    await delay(50);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string): string {
  try {
    return tailText(readFileSync(file, 'utf8'));
  } catch {
    return `(no ${file})`;
  }
}

function tailText(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ');
}
