// Hosts that never become ssh servers, on loopback, in this process: one that
// takes the TCP connection and then says nothing (a hung instance, a wedged
// sshd, the normal case during an outage) and one that hangs up at once.

import { createServer, type Socket } from 'node:net';
import type { Instance } from '../../src/domain/types.js';

export interface HungHost {
  host: string;
  port: number;
  /** TCP connections accepted so far: one per connection attempt that reached it. */
  readonly accepted: number;
  /** An instance whose ssh endpoint is this host. */
  instance(name: string, user?: string): Instance;
  close(): Promise<void>;
}

export async function startHungHost(opts: { hangsUp?: boolean; host?: string } = {}): Promise<HungHost> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    if (opts.hangsUp) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the hung host has no TCP address');
  return {
    host,
    port: address.port,
    get accepted() {
      return accepted;
    },
    instance: (name, user = 'ops') => ({
      id: name,
      name,
      privateIp: host,
      az: 'lab',
      type: 'static',
      state: 'running',
      launchTime: '2026-01-01T00:00:00Z',
      statusChecks: 'unknown',
      tags: {},
      ssh: { host, port: address.port, user },
    }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
