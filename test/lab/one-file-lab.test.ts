// dist/nightshift.cjs on a static inventory over the lab's real sshd, copied
// alone into an empty folder as on a bastion: ssh2 from inside the file,
// without its native add-ons, does the key exchange (curve25519) and checks
// the host's ed25519 key with Node's crypto, and still refuses a host key
// its known_hosts does not hold. The simulated fleet and AWS cases are
// test/build/one-file.test.ts.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { bareEnv, copyAlone, run, SPY, spied, useTempDirs } from '../build/one-file-helpers.js';
import { describeLab, useTestLab } from '../helpers/lab.js';

interface LsNode {
  name: string;
  role: string;
  answered?: boolean;
  health: { level: string; reason: string };
}

describeLab('dist/nightshift.cjs on the lab', () => {
  const fx = useTestLab();
  const tempDir = useTempDirs();

  it('lists the lab cluster over ssh with the ssh2 inside it: curve25519 and ed25519 in Node\'s crypto, no native add-on, no AWS SDK', async () => {
    const { dir, file } = copyAlone(tempDir);
    const ls = await run(process.execPath, ['-r', SPY, file, 'ls', '--json', '--inventory', fx.config.inventory!], { cwd: dir, env: bareEnv(dir) });
    const { seen } = spied(ls.stderr);
    expect(ls.code, ls.stderr).toBe(0);
    const json = JSON.parse(ls.stdout) as { target: { kind: string }; clusters: Array<{ name: string; nodes: LsNode[] }> };
    expect(json.target.kind).toBe('inventory');
    const lab = json.clusters.find((c) => c.name === 'lab')!;
    expect(lab.nodes.filter((n) => ['m1', 'm2', 'm3'].includes(n.name)).map((n) => [n.name, n.role, n.answered])).toEqual([
      ['m1', 'master', true],
      ['m2', 'replica', true],
      ['m3', 'replica', true],
    ]);
    expect(seen.scripts).toEqual([`${file} (cli.cjs)`, `${file} (ssh2)`]);
    expect(seen.keyPairs).toContain('x25519');
    expect(seen.verified).toContain('ed25519');
    expect(seen.dlopen).toEqual([]);
    // Node's loader found the file itself, and nothing else.
    expect(seen.resolved).toEqual([file]);
  });

  it('refuses a host whose key its known_hosts does not hold, with the fingerprint', async () => {
    const { dir, file } = copyAlone(tempDir);
    // The lab's inventory and ssh config, with a known_hosts that is empty.
    const emptyKnownHosts = join(dir, 'known_hosts');
    writeFileSync(emptyKnownHosts, '');
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, readFileSync(fx.lab.state.files.sshConfig, 'utf8').replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${emptyKnownHosts}`));
    const inventory = parse(readFileSync(fx.config.inventory!, 'utf8')) as { ssh: { configFile: string } };
    inventory.ssh.configFile = sshConfig;
    const inventoryFile = join(dir, 'inventory.yaml');
    writeFileSync(inventoryFile, stringify(inventory));

    const ls = await run(process.execPath, [file, 'ls', '--json', '--inventory', inventoryFile], { cwd: dir, env: bareEnv(dir) });
    const json = JSON.parse(ls.stdout) as { clusters: Array<{ nodes: LsNode[] }> };
    const m1 = json.clusters.flatMap((c) => c.nodes).find((n) => n.name === 'm1')!;
    const blob = Buffer.from(readFileSync(`${fx.lab.state.files.hostKey}.pub`, 'utf8').trim().split(/\s+/)[1]!, 'base64');
    const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    expect(m1.health.reason).toContain(`is not known (refused): the server offered ssh-ed25519 ${fingerprint}`);
    expect(m1.health.reason).toContain(emptyKnownHosts);
  });
});
