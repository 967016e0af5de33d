// A cluster's name as the screens show it: `orders` while one region (and
// account) is in view, `orders · eu-west-1` when several are, since two
// regions may each have an `orders`.

import { clusterLabel, type ScopedName } from '../domain/scope.js';

export function shownName(c: ScopedName, isScopeShown: boolean): string {
  return isScopeShown ? clusterLabel(c) : c.name;
}
