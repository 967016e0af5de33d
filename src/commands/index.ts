// Every subcommand, registered once. The console itself is the default action in src/cli.ts.

import type { RegisterCommand } from './types.js';
import { register as iamPolicy } from './iam-policy.js';
import { register as lab } from './lab.js';
import { register as ls } from './ls.js';
import { register as resume } from './resume.js';
import { register as run } from './run.js';
import { register as runs } from './runs.js';
import { register as show } from './show.js';
import { register as sim } from './sim.js';
import { register as unlock } from './unlock.js';

export const COMMANDS: RegisterCommand[] = [ls, run, runs, show, resume, unlock, sim, lab, iamPolicy];
