// Which Cassandra node to repair next: one that was never repaired first (its
// tag is missing or not a time), else the one repaired longest ago. Pure.

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
  const parsed = candidates.map((c) => ({ c, t: c.lastRepaired !== undefined ? Date.parse(c.lastRepaired) : Number.NaN }));
  const byName = (a: { c: RepairCandidate }, b: { c: RepairCandidate }) => a.c.name.localeCompare(b.c.name) || a.c.id.localeCompare(b.c.id);
  const never = parsed.filter((p) => Number.isNaN(p.t)).sort(byName)[0];
  if (never) {
    const why =
      never.c.lastRepaired === undefined
        ? 'never repaired (no last-repaired tag)'
        : `its last-repaired tag "${never.c.lastRepaired}" is not a time, so it counts as never repaired`;
    return { id: never.c.id, name: never.c.name, reason: why };
  }
  const oldest = [...parsed].sort((a, b) => a.t - b.t || byName(a, b))[0];
  if (!oldest) return undefined;
  return {
    id: oldest.c.id,
    name: oldest.c.name,
    reason: `repaired ${oldest.c.lastRepaired}, the longest ago of ${candidates.length}`,
    lastRepaired: oldest.c.lastRepaired!,
  };
}
