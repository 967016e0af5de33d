// V8 sizes the heap for the machine (up to 4 GB on one with 16 GB or more)
// and lets it grow lazily: a console refreshing 5,000 nodes every 5 s keeps
// ~75 MB alive but sat at 250 MB and climbing. A smaller growing factor (a
// soft limit, read at every collection; not a cap that could end in an
// out-of-memory crash on a bigger fleet) keeps it near 180 MB for a few
// percent more CPU.
//
// The console sets it once it has started, not at process start: changing a
// V8 flag changes the hash V8 checks before it uses the compiled code that
// Node ships for its own modules, so every Node module loaded after the
// change (tty, net, streams, readline; for AWS the SDK's http, tls, zlib) is
// compiled from source instead: ~45M instructions before the first frame on
// the simulated fleet.

import { setFlagsFromString } from 'node:v8';

/** Sets V8's heap growing factor to 20%, unless node was started with a --heap-growing-percent of its own. */
export function limitHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=20');
}
