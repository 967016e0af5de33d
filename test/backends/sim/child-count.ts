// Run by state-file-lock.test.ts in a separate process: increments a counter
// file `rounds` times, each read-increment-write inside the world's section.
import { readFileSync, writeFileSync } from 'node:fs';
import { StateFile } from '../../../src/backends/sim/state-file.js';

const [path, counter, rounds] = process.argv.slice(2) as [string, string, string];
const file = new StateFile(path);
for (let i = 0; i < Number(rounds); i++) {
  file.exclusive(() => {
    const n = Number(readFileSync(counter, 'utf8'));
    writeFileSync(counter, String(n + 1));
  });
}
