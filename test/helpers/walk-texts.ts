// What the no-cut walk-throughs look at, and what each screen must show whole.
// One plain shape for both sources of truth: the fleet store after the real
// poller's refresh (in-process) and `nightshift ls --json` (beside a console
// in tmux).

import type { ClusterView } from '../../src/domain/types.js';
import type { FleetFinding } from '../../src/domain/findings.js';
import type { MustBeWhole } from './cut-check.js';

export interface WalkNode {
  /** As the node's row names it: the instance's name, else its id. */
  name: string;
  level: string;
  reason: string;
}

export interface WalkCluster {
  name: string;
  level: string;
  reasons: string[];
  findings: string[];
  nodes: WalkNode[];
}

export interface WalkFleet {
  /** In the fleet screen's order: worst first. */
  clusters: WalkCluster[];
  /** Findings that span clusters (a dark AZ, a region's throttling). */
  spanning: string[];
}

/** Clusters a walk opens: those with a finding or a node that is not OK, worst first, at most `max`. */
export function walkTargets(fleet: WalkFleet, max: number): WalkCluster[] {
  return fleet.clusters.filter((c) => c.findings.length > 0 || c.nodes.some((n) => n.level !== 'OK')).slice(0, max);
}

/** The fleet screen with `selected` under the cursor: its reasons, and every finding that spans clusters. */
export function fleetScreenTexts(fleet: WalkFleet, selected: WalkCluster): MustBeWhole[] {
  return [
    ...selected.reasons.map((text) => ({ what: `${selected.name} reason`, text })),
    ...fleet.spanning.map((text) => ({ what: 'fleet finding', text })),
  ];
}

/** A cluster screen with node `selected` under the cursor: every finding of the cluster, and that node's health reason. */
export function clusterScreenTexts(cluster: WalkCluster, selected: WalkNode): MustBeWhole[] {
  return [
    ...cluster.findings.map((text) => ({ what: `${cluster.name} finding`, text })),
    { what: `${selected.name} health reason`, text: selected.reason },
  ];
}

/** From the fleet store (the clusters as the poller left them, the spanning findings as selectFleetFindings gives them). */
export function walkFleetOfStore(clusters: readonly ClusterView[], spanning: readonly FleetFinding[]): WalkFleet {
  return {
    clusters: clusters.map((c) => ({
      name: c.name,
      level: c.health.level,
      reasons: c.health.reasons,
      findings: c.findings.map((f) => f.message),
      nodes: c.nodes.map((n) => ({ name: n.instance.name || n.instance.id, level: n.health.level, reason: n.health.reason })),
    })),
    spanning: spanning.map((f) => f.message),
  };
}

/** The parts of `nightshift ls --json` the walk reads (src/commands/ls.ts, lsJson). */
interface LsJsonShape {
  findings?: { message: string }[];
  clusters: {
    name: string;
    health: { level: string; reasons: string[] };
    findings: { message: string }[];
    nodes: { id: string; name: string; health: { level: string; reason: string } }[];
  }[];
}

/** From `nightshift ls --json` output. */
export function walkFleetOfLs(json: string): WalkFleet {
  const ls = JSON.parse(json) as LsJsonShape;
  return {
    clusters: ls.clusters.map((c) => ({
      name: c.name,
      level: c.health.level,
      reasons: c.health.reasons,
      findings: c.findings.map((f) => f.message),
      nodes: c.nodes.map((n) => ({ name: n.name || n.id, level: n.health.level, reason: n.health.reason })),
    })),
    spanning: (ls.findings ?? []).map((f) => f.message),
  };
}
