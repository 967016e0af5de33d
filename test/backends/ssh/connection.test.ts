// Connecting to hosts that do not answer, against in-process loopback
// listeners (no sshd): one connection attempt per backoff window, failing at
// once in between, and a bounded number of attempts in flight.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { OpenSshConfig } from '../../../src/backends/ssh/openssh-config.js';
import { SshError } from '../../../src/backends/ssh/ssh-error.js';
import { SshShell, type SshShellOptions } from '../../../src/backends/ssh/ssh-shell.js';
import { startHungHost, type HungHost } from '../../helpers/hung-host.js';

const env = { home: '/nonexistent/nightshift-test-home', localUser: 'ops' };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function shellWith(options: Partial<SshShellOptions>): SshShell {
  const shell = new SshShell({ sshConfig: OpenSshConfig.fromText('', env), env, knownHostsFiles: [], ...options });
  cleanups.push(() => shell.close());
  return shell;
}

async function hungHost(opts: { hangsUp?: boolean } = {}): Promise<HungHost> {
  const h = await startHungHost(opts);
  cleanups.push(() => h.close());
  return h;
}

function failure(p: Promise<unknown>): Promise<SshError> {
  return p.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(SshError);
      return err as SshError;
    },
  );
}

describe('a host that does not answer', () => {
  it('costs one connect timeout per attempt, then fails at once, naming the host, until its backoff is over', async () => {
    const h = await hungHost();
    const shell = shellWith({ connectTimeoutMs: 1_500, connectAttempts: 3, backoffBaseMs: 20_000 });
    const node = h.instance('db-7');

    const started = Date.now();
    const first = await failure(shell.exec(node, 'true', { timeoutMs: 20_000 }));
    const firstMs = Date.now() - started;
    expect(first.code).toBe('timeout');
    expect(first.message).toContain('no ssh handshake within 1.5 s');
    // A timeout is not tried again within one attempt: 1.5 s, not 3 x 1.5 s.
    expect(h.accepted).toBe(1);
    expect(firstMs).toBeLessThan(4_000);

    const again = Date.now();
    const fast = await failure(shell.exec(node, 'true', { timeoutMs: 20_000 }));
    expect(Date.now() - again).toBeLessThan(500);
    expect(fast.code).toBe('connect');
    expect(fast.host).toBe(`ops@127.0.0.1:${h.port}`);
    expect(fast.message).toMatch(
      new RegExp(`^db-7 \\(ops@127\\.0\\.0\\.1:${h.port}\\): not reachable: no ssh handshake within 1\\.5 s.*; failed once, next attempt in (19(\\.\\d)?|20) s$`),
    );
    expect(h.accepted).toBe(1);
  });

  it('after the backoff, the first caller makes one new attempt and callers meanwhile share it', async () => {
    const h = await hungHost();
    const shell = shellWith({ connectTimeoutMs: 1_000, backoffBaseMs: 1_000 });
    const node = h.instance('db-8');
    await failure(shell.exec(node, 'true', { timeoutMs: 20_000 }));
    expect(h.accepted).toBe(1);

    // Each try either fails at once (still in backoff) or starts the new attempt.
    const tries: Array<Promise<SshError>> = [];
    await vi.waitFor(
      () => {
        tries.push(failure(shell.exec(node, 'true', { timeoutMs: 20_000 })));
        expect(h.accepted).toBe(2);
      },
      { timeout: 10_000, interval: 100 },
    );
    const sharing = Array.from({ length: 3 }, () => failure(shell.exec(node, 'true', { timeoutMs: 20_000 })));
    const shared = await Promise.all(sharing);
    await Promise.all(tries);
    expect(shared.map((e) => e.code)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(h.accepted).toBe(2);
    const next = await failure(shell.exec(node, 'true', { timeoutMs: 20_000 }));
    expect(next.message).toContain('failed 2 times in a row, next attempt in');
  });

  it('is tried connectAttempts times within one attempt when it hangs up at once', async () => {
    const h = await hungHost({ hangsUp: true });
    const shell = shellWith({ connectTimeoutMs: 5_000, connectAttempts: 3, backoffBaseMs: 50 });
    const err = await failure(shell.exec(h.instance('db-9'), 'true', { timeoutMs: 20_000 }));
    expect(err.code).toBe('connect');
    expect(err.message).toContain('handshake');
    expect(h.accepted).toBe(3);
  });
});

describe('the connect limit', () => {
  it('lets only connectConcurrency attempts be in flight', async () => {
    const [h1, h2] = [await hungHost(), await hungHost()];
    const shell = shellWith({ connectTimeoutMs: 1_000, connectConcurrency: 1 });
    const first = failure(shell.exec(h1!.instance('db-1'), 'true', { timeoutMs: 20_000 }));
    const second = failure(shell.exec(h2!.instance('db-2'), 'true', { timeoutMs: 20_000 }));
    await first;
    // A second's worth of chances to connect, and it waited for the slot.
    expect(h2!.accepted).toBe(0);
    await vi.waitFor(() => expect(h2!.accepted).toBe(1));
    expect((await second).code).toBe('timeout');
  });

  it('keeps half of it for hosts that did not fail, however many failed hosts retry', async () => {
    const [h1, h2, h3] = [await hungHost(), await hungHost(), await hungHost()];
    // No backoff at all: with 1 ms, a retry asked within a millisecond of its host's failure was refused as in backoff, never connecting.
    const shell = shellWith({ connectTimeoutMs: 2_000, connectConcurrency: 2, backoffBaseMs: 0 });
    await Promise.all([h1, h2].map((h, i) => failure(shell.exec(h!.instance(`failed-${i}`), 'true', { timeoutMs: 20_000 }))));
    const retries = [h1, h2].map((h, i) => failure(shell.exec(h!.instance(`failed-${i}`), 'true', { timeoutMs: 20_000 })));
    // A loopback accept, not a limit under test: a busy machine may take over a second to get to it.
    await vi.waitFor(() => expect(h1!.accepted).toBe(2), { timeout: 5_000 });
    // Both failed hosts are in line before it, and still the fresh host connects at once.
    const fresh = failure(shell.exec(h3!.instance('fresh'), 'true', { timeoutMs: 20_000 }));
    await vi.waitFor(() => expect(h3!.accepted).toBe(1), { timeout: 1_500 });
    expect(h2!.accepted).toBe(1);
    await Promise.all([...retries, fresh]);
    expect(h2!.accepted).toBe(2);
  });
});
