// A run whose step prints the replication password, in its output and in its
// error: neither the journal nor the events the screens and --json get hold it.
// The password is read inside the step, after the run's redactors were made.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHeadlessGate } from '../../src/actions/engine/gate.js';
import { journalPath } from '../../src/actions/engine/journal.js';
import { executeRun, prepareRun } from '../../src/actions/engine/runner.js';
import { replicationCredentials } from '../../src/config/credentials.js';
import { configSchema } from '../../src/config/schema.js';
import { createRedactor } from '../../src/domain/redact.js';
import { runbookOf, step } from '../actions/engine/test-runbook.js';
import { drive, makeBackends, makeDeps, tempStateDir, TestClock } from '../actions/helpers.js';

const PASSWORD = 'run-repl-pw-60317';

describe('the replication password in a run', () => {
  it('never reaches the journal or the events, even when a step prints it and fails with it', async () => {
    const env = { RUN_REPL_PW: PASSWORD };
    const rb = runbookOf(() => [
      step('connect', {
        describe: () => ['CHANGE MASTER TO MASTER_USER=repl (password from clusters.c1.replication)'],
        run: async (ctx) => {
          const { user, password } = replicationCredentials(ctx.config, 'c1', env);
          ctx.output('stdout', `connecting as ${user} with ${password}\n`);
          ctx.output('stderr', `ERROR 1045: Access denied for ${user} using password ${password}\n`);
          throw new Error(`could not connect as ${user}:${password}`);
        },
      }),
    ]);
    const clock = new TestClock();
    const stateDir = tempStateDir();
    const deps = makeDeps(makeBackends(clock), createHeadlessGate({}), stateDir);
    deps.config.clusters = configSchema.parse({ clusters: { c1: { replication: { user: 'repl', passwordEnv: 'RUN_REPL_PW' } } } }).clusters;
    // As `run` makes its redactor for the last line, before the password is read.
    const lastLine = createRedactor(deps.config.secrets);
    const ac = new AbortController();
    const outcome = await drive(clock, executeRun(await prepareRun(rb, { cluster: 'c1' }, deps, ac.signal), deps, ac.signal));
    expect(outcome.status).toBe('failed');
    const raw = readFileSync(journalPath(stateDir, outcome.runId), 'utf8');
    // The step did run and print: what it printed is there, with the password cut out.
    expect(raw).toContain('connecting as repl with [redacted]');
    expect(raw).toContain('could not connect as repl:[redacted]');
    expect(raw).not.toContain(PASSWORD);
    const events = JSON.stringify(deps.events);
    expect(events).toContain('connecting as repl with [redacted]');
    expect(events).not.toContain(PASSWORD);
    // The outcome is for the program; the line the operator reads is redacted.
    expect(lastLine.text(outcome.reason ?? '')).toBe('step "step connect" failed: could not connect as repl:[redacted]');
  });
});
