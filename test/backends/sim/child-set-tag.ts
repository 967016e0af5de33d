// Run by persistence-process.test.ts in a separate process: writes one tag
// into a simulated world, as a headless run would while the console is open.
import { createSimBackends } from '../../../src/backends/sim/index.js';

const [stateDir, instanceId, value] = process.argv.slice(2) as [string, string, string];
const b = await createSimBackends({ scenario: 'healthy', seed: 1, speed: 1, stateDir });
await b.inventory.setTags(instanceId, { 'last-repaired': value });
await b.close();
