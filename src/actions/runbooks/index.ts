// Every runbook nightshift knows, by name. switchover, failover, rebuild and
// rotate join here as they are written; the engine needs nothing else.

import type { AnyRunbook } from '../engine/types.js';
import { repairRunbook } from './repair.js';
import { failoverRunbook } from './failover.js';
import { rebuildRunbook } from './rebuild.js';
import { rotateRunbook } from './rotate.js';
import { switchoverRunbook } from './switchover.js';

export const RUNBOOKS: readonly AnyRunbook[] = [repairRunbook, switchoverRunbook, failoverRunbook, rebuildRunbook, rotateRunbook];

export function getRunbook(name: string): AnyRunbook | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}

export function runbookNames(): string[] {
  return RUNBOOKS.map((r) => r.name);
}
