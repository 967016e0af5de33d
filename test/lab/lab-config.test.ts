// What `lab up` writes for the runbooks, used as they will use it: the config
// beside the inventory loads on --inventory alone; m3's fence, run over the
// lab's real sshd, stops its mariadbd, and its service start brings it back
// read-only and replicating; the replication credentials resolve and let m2
// connect to m1 as repl.

import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { clientsFor } from '../../src/backends/engines/clients.js';
import { createInventoryBackends } from '../../src/backends/inventory/index.js';
import type { Backends } from '../../src/backends/ports.js';
import { replicationCredentials } from '../../src/config/credentials.js';
import { fenceFor } from '../../src/config/fence.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createRedactor } from '../../src/domain/redact.js';
import type { Instance } from '../../src/domain/types.js';
import { LAB_HEARTBEAT_TABLE, LAB_SERVICE_UNIT } from '../../src/lab/lab.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

describeLab('the config `lab up` writes', () => {
  const fx = useTestLab({ heartbeat: true });
  let backends: Backends | undefined;
  let config: Config | undefined;
  afterAll(async () => {
    await backends?.close();
  });

  /** As `nightshift --inventory .lab/inventory.yaml` loads it, from a directory with no nightshift.yaml. */
  const load = (): Config => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'ns-labconf-'));
    config ??= loadConfig(
      { inventory: fx.lab.state.files.inventory, stateDir: join(fx.dir, 'state') },
      { env: { XDG_CONFIG_HOME: join(elsewhere, 'xdg') }, cwd: elsewhere },
    );
    return config;
  };
  const instance = async (name: string): Promise<Instance> => {
    backends ??= await createInventoryBackends(load(), { shell: fx.shell });
    return (await backends.inventory.discover()).instances.find((i) => i.name === name)!;
  };

  it('loads from beside the inventory, with the credentials, the heartbeat table and a fence and service per host', async () => {
    const c = load();
    expect(c.source).toBe(fx.lab.state.files.config);
    expect(c.target).toBe('inventory');
    expect(c.engines.heartbeatTable).toBe(LAB_HEARTBEAT_TABLE);
    expect(c.clusters.lab!.replication).toEqual({ user: 'repl', passwordFile: fx.lab.state.files.replPassword });
    expect(statSync(fx.lab.state.files.replPassword).mode & 0o777).toBe(0o600);
    const m3 = await instance('m3');
    const fence = fenceFor(c, 'lab', m3, backends!.target);
    expect(fence).toMatchObject({ kind: 'command', source: 'host', command: `${fx.lab.node('m3').service} stop ${LAB_SERVICE_UNIT}` });
    expect(clientsFor(m3, { engines: c.engines, target: backends!.target }).service.start(LAB_SERVICE_UNIT)).toBe(
      `${fx.lab.node('m3').service} start ${LAB_SERVICE_UNIT}`,
    );
  });

  it('the heartbeat writer stamps the row on the writable master only, so lag from the table stays true', async () => {
    const first = await fx.lab.value('m3', `SELECT ts FROM ${LAB_HEARTBEAT_TABLE}`);
    await vi.waitFor(async () => expect(await fx.lab.value('m3', `SELECT ts FROM ${LAB_HEARTBEAT_TABLE}`)).not.toBe(first), {
      timeout: 10_000,
      interval: 200,
    });
    expect(await fx.lab.value('m3', `SELECT server_id FROM ${LAB_HEARTBEAT_TABLE}`)).toBe('1');
    // Replicas never executed a heartbeat of their own: no errant transaction (domain 0, server ids 2 and 3).
    for (const r of ['m2', 'm3']) expect(await fx.lab.value(r, 'SELECT @@gtid_binlog_pos')).toMatch(/^0-1-\d+$/);
  });

  it('the replication credentials resolve, and m2 connects to m1 with them as repl', async () => {
    const creds = replicationCredentials(load(), 'lab');
    expect(creds.user).toBe('repl');
    const m1 = fx.lab.node('m1');
    const command = `MYSQL_PWD=${creds.password} mysql -h ${m1.ip} -P ${m1.mysqlPort} -u ${creds.user} --batch --skip-column-names -e 'SELECT CURRENT_USER(), @@server_id'`;
    const r = await fx.shell.exec(await instance('m2'), command, { timeoutMs: 20_000, readOnly: true });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('repl@%\t1');
    // The command as a plan or journal would show it.
    expect(createRedactor().text(command)).not.toContain(creds.password);
    // A wrong password is refused: the check above could fail.
    const wrong = await fx.shell.exec(await instance('m2'), command.replace(creds.password, 'not-the-password'), { timeoutMs: 20_000 });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('Access denied');
  });

  it('the fence over the real sshd stops m3; its service start brings it back read-only, and replication resumes', async () => {
    const c = load();
    const m3 = await instance('m3');
    const before = fx.lab.pidOf('m3');
    const service = clientsFor(m3, { engines: c.engines, target: backends!.target }).service;
    expect((await fx.shell.exec(m3, service.isActive(LAB_SERVICE_UNIT), { timeoutMs: 10_000 })).code).toBe(0);

    const fence = fenceFor(c, 'lab', m3, backends!.target);
    if (fence.kind !== 'command') throw new Error(`expected a fence command, got ${fence.plan}`);
    const stopped = await fx.shell.exec(m3, fence.command, { timeoutMs: 45_000 });
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`m3: mariadbd (pid ${before}) stopped`);
    expect(() => process.kill(before, 0)).toThrow();
    const inactive = await fx.shell.exec(m3, service.isActive(LAB_SERVICE_UNIT), { timeoutMs: 10_000 });
    expect([inactive.code, inactive.stdout.trim()]).toEqual([3, 'inactive']);
    // A second fence finds nothing to stop, and says so without failing.
    expect((await fx.shell.exec(m3, fence.command, { timeoutMs: 10_000 })).stdout).toContain('not running');

    // Written while m3 is down: it must arrive once m3 is back.
    await fx.lab.sql('m1', "INSERT INTO nightshift_lab.writes (note) VALUES ('while m3 was fenced')");
    const started = await fx.shell.exec(m3, service.start(LAB_SERVICE_UNIT), { timeoutMs: 70_000 });
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(fx.lab.pidOf('m3')).not.toBe(before);
    expect(await fx.lab.value('m3', 'SELECT @@read_only')).toBe('1');
    await fx.lab.waitForReplicasInSync(30_000);
    expect(await fx.lab.value('m3', "SELECT COUNT(*) FROM nightshift_lab.writes WHERE note = 'while m3 was fenced'")).toBe('1');
    // Both threads run again (MariaDB's Slave_running is ON only then), on their own: nobody typed START SLAVE.
    expect(await fx.lab.value('m3', "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'")).toBe('ON');
  });
});
