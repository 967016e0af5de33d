// Fault schedules at volume: a runbook on the simulated fleet (in process,
// virtual time moved by hand) under random schedules of failed, hung and
// lost commands and killed-and-resumed processes, the invariants checked at
// every instant (test/helpers/fault-schedule.ts). Prints how many ran, how
// long they took, how many faults fired by kind, and every violation with its
// schedule; exits 1 if there is any. `npm test` runs a few hundred of them
// (test/actions/runbooks/fault-schedules.test.ts); this runs many more.
//
//   npx tsx bench/fault-schedules.ts [--runs 10000] [--runbook switchover|failover] [--seed N]

import fc from 'fast-check';
import { CASES } from '../test/helpers/fault-cases.js';
import { describeSchedule, FAULT_KINDS, runSchedule, scheduleArbitrary, type ScheduleResult } from '../test/helpers/fault-schedule.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const runs = Number(flag('runs', '10000'));
const runbook = flag('runbook', 'switchover');
const seed = Number(flag('seed', String(Date.now() % 2 ** 31)));
const spec = CASES[runbook];
if (!spec || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error(`usage: npx tsx bench/fault-schedules.ts [--runs N] [--runbook ${Object.keys(CASES).join('|')}] [--seed N]`);
  process.exit(2);
}

const schedules = fc.sample(scheduleArbitrary(spec.slots), { numRuns: runs, seed });
console.log(`fault schedules · ${runbook} · ${runs} schedules · seed ${seed} · node ${process.version}`);
const started = performance.now();
const bad: ScheduleResult[] = [];
const statuses = new Map<string, number>();
const fired = new Map<string, number>(FAULT_KINDS.map((k) => [k, 0]));
let withFault = 0;
let processes = 0;
for (let i = 0; i < schedules.length; i++) {
  const r = await runSchedule(spec, schedules[i]!);
  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  for (const f of r.fired) fired.set(f.kind, (fired.get(f.kind) ?? 0) + 1);
  if (r.fired.length > 0) withFault++;
  processes += r.processes;
  if (r.violations.length > 0) {
    bad.push(r);
    console.log(`\nVIOLATION in schedule ${i + 1}: ${describeSchedule(r.schedule)}\n  ended ${r.status}: ${r.reason}\n  fired: ${r.fired.map((f) => `${f.kind} at ${f.at} #${f.nth} (${f.command})`).join('; ') || 'none'}\n  ${r.violations.join('\n  ')}`);
  }
  if ((i + 1) % 1000 === 0) console.log(`  ${i + 1} done, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`\n${schedules.length} schedules in ${seconds.toFixed(1)} s: ${(schedules.length / seconds).toFixed(1)} schedules/s`);
console.log(`at least one fault fired in ${withFault}; processes (a kill starts another): ${processes}`);
console.log(`faults fired: ${[...fired].map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(`ends: ${[...statuses].map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(`violations: ${bad.length}${bad.length > 0 ? ` (replay one with --seed ${seed})` : ''}`);
process.exit(bad.length > 0 ? 1 : 0);
