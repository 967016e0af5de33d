// ebs-stuck through the real poller, probes and findings: the stuck replica's
// data volume reports impaired in discovery (the sim's volume model), its
// I/O wait is pegged, and one finding names both and the runbook that
// answers it; healing the fault clears them. (Simulated fleet: a product
// feature, not a mock.)

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogEntry } from '../../../src/actions/runbooks/catalog.js';
import { createSimBackends } from '../../../src/backends/sim/index.js';
import { SIM_EPOCH } from '../../../src/backends/sim/fleet.js';
import { rootVolumeId } from '../../../src/backends/sim/host-files.js';
import { loadConfig } from '../../../src/config/load.js';
import { pollerOptions } from '../../../src/poller-options.js';
import { createFleetStore } from '../../../src/store/fleet.js';
import { Poller } from '../../../src/store/poller.js';
import { cli } from '../../commands/cli-helpers.js';

async function openScenario(scenario: string) {
  const stateDir = mkdtempSync(join(tmpdir(), 'ns-ebs-'));
  const config = loadConfig({ scenario, stateDir }, { env: {}, cwd: stateDir });
  const backends = await createSimBackends({ scenario, seed: 1, speed: 1, stateDir });
  const store = createFleetStore({ target: backends.target, refreshSeconds: 5 });
  const poller = new Poller(backends, store, pollerOptions(config));
  return { backends, store, poller, stateDir };
}

describe('ebs-stuck on the simulated fleet', () => {
  it('the stuck replica gets a CRIT finding naming its data volume, since when, and the I/O wait; rebuild answers it', async () => {
    const { backends, store, poller } = await openScenario('ebs-stuck');
    try {
      await poller.refreshNow();
      expect(store.getState().error).toBeNull();
      const findings = store.getState().clusters.flatMap((c) => c.findings.filter((f) => f.kind === 'io-impaired').map((f) => ({ c, f })));
      expect(findings).toHaveLength(1);
      const { c, f } = findings[0]!;
      const node = c.nodes.find((n) => n.instance.id === f.nodes[0])!;
      expect(node.role).toBe('replica');
      const volume = rootVolumeId(backends.world.view(), node.instance.id);
      // The fault began 12 minutes before the rehearsal's epoch (01:00 UTC).
      expect(new Date(SIM_EPOCH - 12 * 60_000).toISOString().slice(11, 16)).toBe('00:48');
      expect(f.message).toMatch(
        new RegExp(
          `^${node.instance.name}: EBS ${volume} on /dev/xvda impaired since 00:48 UTC \\(I/O performance stalled, io-performance: severely-degraded\\); I/O wait (9[2-9])% for 12 m$`,
        ),
      );
      expect(f.level).toBe('CRIT');
      expect(f.suggests).toBe('rebuild');
      expect(node.health.level).toBe('CRIT');
      expect(c.health.level).toBe('CRIT');
      // The runbook picker offers rebuild for it, in the finding's words.
      expect(catalogEntry('rebuild')!.offer(c, { now: SIM_EPOCH, gcGraceSeconds: 864_000 })).toEqual({ applies: true, reason: f.message });
      expect(node.instance.volumes).toEqual([
        { volumeId: volume, device: '/dev/xvda', status: 'impaired', detail: 'I/O performance stalled, io-performance: severely-degraded', since: new Date(SIM_EPOCH - 12 * 60_000).toISOString() },
      ]);
      // No other node of the fleet reports a volume.
      expect(store.getState().clusters.flatMap((x) => x.nodes).filter((n) => n.instance.volumes !== undefined).map((n) => n.instance.id)).toEqual([node.instance.id]);

      backends.world.heal(node.instance.id);
      await poller.refreshNow();
      const after = store.getState().clusters.flatMap((x) => x.nodes).find((n) => n.instance.id === node.instance.id)!;
      expect(after.instance.volumes).toBeUndefined();
      // The volume is well again and the sim's I/O wait series follows the faults it has now: no finding is left.
      expect(store.getState().clusters.flatMap((x) => x.findings).filter((x) => x.kind === 'io-impaired')).toEqual([]);
    } finally {
      poller.stop();
      await backends.close();
    }
  });

  it('healthy: no node reports a volume or a pegged I/O wait', async () => {
    const { backends, store, poller } = await openScenario('healthy');
    try {
      await poller.refreshNow();
      const clusters = store.getState().clusters;
      expect(clusters.flatMap((c) => c.findings).filter((f) => f.kind === 'io-impaired')).toEqual([]);
      expect(clusters.flatMap((c) => c.nodes).filter((n) => n.instance.volumes !== undefined)).toEqual([]);
    } finally {
      poller.stop();
      await backends.close();
    }
  });

  it('ls --json lists the finding with runbook rebuild, and the text names the runbook to type', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ns-ebs-ls-'));
    const { code, stdout } = await cli(['ls', '--json', '--state-dir', stateDir, '--scenario', 'ebs-stuck']);
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as { clusters: Array<{ name: string; findings: Array<{ kind: string; level: string; message: string; runbook: string | null; nodes: string[] }> }> };
    const hits = json.clusters.flatMap((c) => c.findings.filter((f) => f.kind === 'io-impaired').map((f) => ({ cluster: c.name, ...f })));
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ level: 'CRIT', runbook: 'rebuild' });
    expect(hits[0]!.message).toMatch(/: EBS vol-[0-9a-f]{17} on \/dev\/xvda impaired since 00:48 UTC \(I\/O performance stalled, [^)]*\); I\/O wait \d+% for 12 m$/);

    const text = await cli(['ls', '--state-dir', stateDir, '--scenario', 'ebs-stuck']);
    expect(text.stdout).toContain(`${hits[0]!.message}  → nightshift run rebuild --cluster ${hits[0]!.cluster}`);
  });
});
