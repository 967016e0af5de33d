// Whether two targets are the same fleet: a journal's run may only be
// resumed against the fleet it ran on.

import type { Target } from './types.js';

export function sameTarget(a: Target, b: Target): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sim' && b.kind === 'sim') return a.scenario === b.scenario && a.seed === b.seed;
  if (a.kind === 'aws' && b.kind === 'aws') {
    return (a.profile ?? '') === (b.profile ?? '') && [...a.regions].sort().join(',') === [...b.regions].sort().join(',');
  }
  if (a.kind === 'inventory' && b.kind === 'inventory') return a.file === b.file;
  return false;
}
