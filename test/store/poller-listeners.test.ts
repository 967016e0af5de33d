// The poller hands one abort signal to every call of every refresh: an SSH
// probe per node, an SDK request per AWS call. With more than ten at once
// Node printed a MaxListenersExceededWarning over the console's screen. The
// poller lifts the limit on its own signal, which is only sound if every
// listener goes when its call ends: here a real AWS backend (local fake of
// the APIs on 127.0.0.1) and a real SSH shell (each node's port closed)
// refresh a fleet of 24 round after round, and the signal must hold no
// listener once each round's calls have ended, nor Node warn of a leak.

import { getEventListeners } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsBackends, createAwsClients, type AwsBackends } from '../../src/backends/aws/index.js';
import type { Shell } from '../../src/backends/ports.js';
import { createSshShell } from '../../src/backends/ssh/index.js';
import { pollerOptions } from '../../src/poller-options.js';
import { createFleetStore } from '../../src/store/fleet.js';
import { Poller } from '../../src/store/poller.js';
import { awsConfig } from '../helpers/aws-fleet.js';
import { startFakeAws, type FakeAws } from '../helpers/aws-http.js';

const NODES = 24;
let aws: FakeAws;
let dir: string;
beforeAll(async () => {
  aws = await startFakeAws({ instances: NODES });
  dir = mkdtempSync(join(tmpdir(), 'nightshift-listeners-'));
  // Port 9 (discard) is closed on loopback: each probe fails at connect, before any host key.
  writeFileSync(join(dir, 'ssh_config'), 'Host *\n  Port 9\n  User nightshift\n');
  writeFileSync(join(dir, 'known_hosts'), '');
});
afterAll(async () => {
  await aws?.close();
});

const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
let backends: AwsBackends | undefined;
let poller: Poller | undefined;
afterEach(async () => {
  process.off('warning', onWarning);
  poller?.stop();
  await backends?.close();
  vi.unstubAllEnvs();
});

describe("the poller's abort signal", () => {
  it('holds no listener after each refresh of a fleet larger than ten, and Node never warns of a leak', { timeout: 60_000 }, async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', aws.url);
    const config = awsConfig({ ssh: { configFile: join(dir, 'ssh_config'), knownHosts: join(dir, 'known_hosts') } });
    const ssh = createSshShell(config);
    // The shell as the poller calls it, noting the signal and how many listeners it holds as each probe starts.
    let signal: AbortSignal | undefined;
    let most = 0;
    const shell: Shell = {
      exec: (node, command, opts) => {
        signal = opts?.signal;
        const running = ssh.exec(node, command, opts);
        if (signal) most = Math.max(most, getEventListeners(signal, 'abort').length);
        return running;
      },
      loginCommand: (node) => ssh.loginCommand(node),
      close: () => ssh.close(),
    };
    const clients = createAwsClients({ regions: ['us-east-1'], maxAttempts: 1, credentials: { accessKeyId: 'AKIDNIGHTSHIFTTEST', secretAccessKey: 'not-a-secret' } });
    backends = await createAwsBackends(config, { shell, clients });
    const store = createFleetStore({ target: backends.target, refreshSeconds: config.refreshSeconds });
    poller = new Poller(backends, store, pollerOptions(config, backends));
    process.on('warning', onWarning);

    for (let round = 0; round < 3; round++) {
      await poller.refreshNow();
      expect(store.getState().clusters.flatMap((c) => c.nodes)).toHaveLength(NODES);
      expect(signal, 'the nodes were probed with the poller signal').toBeDefined();
      // A refresh waits a while for each answer, not for ever: probes it stopped waiting for end on their own.
      await vi.waitFor(() => expect(getEventListeners(signal!, 'abort'), `after refresh ${round + 1}`).toHaveLength(0), { timeout: 30_000, interval: 50 });
    }
    // Every node's probe was waiting at once, each holding its listener.
    expect(most).toBeGreaterThan(10);
    await new Promise((resolve) => setImmediate(resolve));
    // (On Node 20 the SDK's own version warning may be among them: src/cli.ts turns that one into a line of ours.)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });
});
