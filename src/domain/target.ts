// Whether two targets are the same fleet: a journal's run may only be
// resumed against the fleet it ran on.

import { isLive, type Target } from './types.js';

export function sameTarget(a: Target, b: Target): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sim' && b.kind === 'sim') return a.scenario === b.scenario && a.seed === b.seed;
  if (a.kind === 'aws' && b.kind === 'aws') {
    return (a.profile ?? '') === (b.profile ?? '') && [...a.regions].sort().join(',') === [...b.regions].sort().join(',');
  }
  if (a.kind === 'inventory' && b.kind === 'inventory') return a.file === b.file;
  return false;
}

/** What is being looked at, after the LIVE/REHEARSAL word: "simulated fleet · healthy · seed 1 · ×1". */
export function targetText(target: Target, isLoading = false): string {
  switch (target.kind) {
    case 'sim':
      return `simulated fleet · ${target.scenario} · seed ${target.seed} · ×${target.speed}`;
    case 'aws': {
      const regions = target.regions.length > 0 ? target.regions.join(',') : 'region ?';
      const account = target.account ?? (isLoading ? 'account …' : 'account ?');
      return `${account} · ${regions} · ${target.profile ?? 'default credentials'}`;
    }
    case 'inventory':
      return `inventory ${target.file}`;
  }
}

/** One line that leaves no doubt: "LIVE · 1234… · us-east-1 · prod" or "REHEARSAL · simulated fleet · …". */
export function targetLine(target: Target): string {
  return `${isLive(target) ? 'LIVE' : 'REHEARSAL'} · ${targetText(target)}`;
}
