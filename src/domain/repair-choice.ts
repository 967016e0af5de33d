// Which Cassandra node to repair next: one that was never repaired first (its
// tag is missing or not a time), else the one repaired longest ago. Pure.

import { compareNames } from './names.js';

export interface RepairCandidate {
  id: string;
  name: string;
  /** The node's last-repaired tag, as found (may be missing or garbage). */
  lastRepaired?: string;
}

export interface RepairChoice {
  id: string;
  name: string;
  /** Words for the plan: "never repaired (no last-repaired tag)", "repaired 2026-11-01T02:00:00Z, the oldest". */
  reason: string;
  /** The tag as found, when it was a time. */
  lastRepaired?: string;
}

/** Undefined only for an empty list. Ties go to the name that sorts first, so the choice is stable. */
export function chooseRepairNode(candidates: readonly RepairCandidate[]): RepairChoice | undefined {
  return orderRepairNodes(candidates)[0];
}

/**
 * Every node in the order repairs should go: never repaired (or a tag that is
 * not a time) first, by name, then the oldest tag first. With `overdueAfter`
 * ({ now, gcGraceSeconds }), only the nodes whose last repair is older than
 * gc_grace_seconds (or missing): the ones whose tombstones may come back.
 */
export function orderRepairNodes(
  candidates: readonly RepairCandidate[],
  overdueAfter?: { now: number; gcGraceSeconds: number },
): RepairChoice[] {
  const parsed = candidates.map((c) => ({ c, t: c.lastRepaired !== undefined ? Date.parse(c.lastRepaired) : Number.NaN }));
  const byName = (a: { c: RepairCandidate }, b: { c: RepairCandidate }) => compareNames(a.c.name, b.c.name) || a.c.id.localeCompare(b.c.id);
  const never = parsed.filter((p) => Number.isNaN(p.t)).sort(byName);
  const dated = parsed
    .filter((p) => !Number.isNaN(p.t) && (!overdueAfter || overdueAfter.now - p.t > overdueAfter.gcGraceSeconds * 1000))
    .sort((a, b) => a.t - b.t || byName(a, b));
  const choices: RepairChoice[] = never.map(({ c }) => ({
    id: c.id,
    name: c.name,
    reason:
      c.lastRepaired === undefined
        ? 'never repaired (no last-repaired tag)'
        : `its last-repaired tag "${c.lastRepaired}" is not a time, so it counts as never repaired`,
  }));
  dated.forEach(({ c }, i) => {
    const age = overdueAfter ? `, ${Math.floor((overdueAfter.now - Date.parse(c.lastRepaired!)) / 86_400_000)} d ago` : '';
    const rank = overdueAfter ? 'overdue' : i === 0 && never.length === 0 ? `the longest ago of ${candidates.length}` : 'older first';
    choices.push({ id: c.id, name: c.name, reason: `repaired ${c.lastRepaired}${age}, ${rank}`, lastRepaired: c.lastRepaired! });
  });
  return choices;
}
