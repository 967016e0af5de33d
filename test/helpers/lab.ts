// The lab for tests: real sshd + three MariaDB servers on loopback, started
// per test file in a temporary dir. Without the servers every lab test
// fails, naming what is missing: a lab test that skips proves nothing.

import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { createSshShell, type SshShell } from '../../src/backends/ssh/index.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import type { Instance } from '../../src/domain/types.js';
import { startLab, type Lab, type LabOptions } from '../../src/lab/lab.js';


/**
 * `describe` for lab tests. The lab tier only runs when asked for
 * (`npm run test:lab`), so a missing server is a failure everywhere, with
 * the message of findLabBinaries() saying which package to install; it never
 * skips, in CI or on a laptop.
 */
export const describeLab = describe;

export interface LabFixture {
  lab: Lab;
  dir: string;
  config: Config;
  /** The product's shell, built by the product's factory from the lab inventory. */
  shell: SshShell;
  instance(name: string): Instance;
  stop(): Promise<void>;
}

/** A loopback /24 unlikely to collide with `nightshift lab up` (127.0.0.x) or another run. */
function randomPrefix(): string {
  return `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250)}`;
}

export function labConfig(lab: Lab, overrides: { engines?: Partial<Config['engines']>; ssh?: Partial<Config['ssh']> } = {}): Config {
  const base = configSchema.parse({});
  return {
    ...base,
    target: 'inventory',
    inventory: lab.state.files.inventory,
    stateDir: join(lab.state.dir, 'state'),
    engines: { ...base.engines, ...overrides.engines },
    ssh: { ...base.ssh, ...overrides.ssh },
  };
}

export function labInstance(lab: Lab, name: string): Instance {
  const n = lab.node(name);
  return {
    id: n.name,
    name: n.name,
    privateIp: n.ip,
    az: 'lab',
    type: 'static',
    state: 'running',
    launchTime: lab.state.startedAt,
    statusChecks: 'unknown',
    tags: {},
    ssh: { host: n.ip, port: lab.state.sshPort, user: lab.state.user },
  };
}

export async function startTestLab(opts: Pick<LabOptions, 'heartbeat'> = {}): Promise<LabFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ns-lab-'));
  const lab = await startLab({ dir, ipPrefix: randomPrefix(), timeoutMs: 90_000, ...opts });
  const config = labConfig(lab);
  const shell = createSshShell(config);
  return {
    lab,
    dir,
    config,
    shell,
    instance: (name) => labInstance(lab, name),
    stop: async () => {
      await shell.close();
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The lab for one test file: started before its tests, stopped after. If it
 * cannot start, every test that touches it FAILS with the reason (rather
 * than vitest reporting the tests as skipped after a failed hook).
 */
export function useTestLab(opts: Pick<LabOptions, 'heartbeat'> = {}): LabFixture {
  let fixture: LabFixture | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      fixture = await startTestLab(opts);
    } catch (err) {
      failure = err;
    }
  });
  afterAll(async () => {
    await fixture?.stop();
  });
  return new Proxy({} as LabFixture, {
    get(_target, prop) {
      if (!fixture) throw failure ?? new Error('the lab has not started (used outside a test?)');
      return Reflect.get(fixture, prop);
    },
  });
}

/**
 * Does this process own the TCP socket whose local port is `port`? Linux
 * /proc only. Tells a direct connection (ours) from one sshd opened for us
 * through a jump host.
 */
export function processOwnsLocalPort(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[9]) inodes.add(f[9]);
    }
  }
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      /* fd closed meanwhile */
    }
  }
  return false;
}
