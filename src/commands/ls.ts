// `nightshift ls [--json]`: the same data as the screens, headless.

import { Option, type Command } from 'commander';
import { scopeFlags } from '../actions/engine/cluster-params.js';
import { clusterLabel, regionsOf } from '../domain/scope.js';
import { targetLine } from '../domain/target.js';
import { replicationSource, writerText } from '../domain/cluster-view.js';
import { fleetFindings, type FleetFinding } from '../domain/findings.js';
import { compareLevel } from '../domain/health.js';
import type { ClusterView, Finding, HealthLevel, NodeView, Target, ThreadState } from '../domain/types.js';
import { pollerOptions } from '../poller-options.js';
import { createFleetStore } from '../store/fleet.js';
import { Poller } from '../store/poller.js';
import type { CommandContext } from './types.js';
import { CommandFailed, UsageError } from '../errors.js';
import { jsonForTerminal } from '../domain/terminal-text.js';
import { HEALTH_STYLE } from '../ui/status-glyphs.js';
import { plural } from '../ui/format.js';
import { lagOrUnknown, lagText } from '../domain/lag-text.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('ls')
    .description('list every cluster and node with health and lag, then exit')
    .option('--json', 'print JSON (target, clusters[] with nodes[])')
    .option('--cluster <name>', 'only this cluster')
    .addOption(new Option('--fail-on <level>', `exit ${FAIL_ON_EXIT_CODE} when any cluster is at or above this level (default: exit 0 whatever the fleet's health)`).choices(['warn', 'crit']))
    .option(
      '--timeout <seconds>',
      `print what has answered after this many seconds; nodes that have not are marked "no answer" (default ${DEFAULT_TIMEOUT_SECONDS})`,
    )
    .action(async (opts: { json?: boolean; cluster?: string; failOn?: 'warn' | 'crit'; timeout?: string }) => {
      const timeoutSeconds = opts.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : timeoutFlag(opts.timeout);
      const config = await ctx.loadConfig();
      const backends = await ctx.openBackends(config);
      const store = createFleetStore({ target: backends.target, refreshSeconds: config.refreshSeconds });
      const poller = new Poller(backends, store, { ...pollerOptions(config, backends), withGroups: true });
      try {
        const outcome = await poller.refreshOnce({ timeoutMs: timeoutSeconds * 1000 });
        // What has not answered is let go now (its connection closed), not waited for through close().
        poller.stop();
        if (outcome.discovery === 'timed-out') throw new CommandFailed(discoveryTimedOut(backends.target, timeoutSeconds));
        const state = store.getState();
        if (state.error) throw new CommandFailed(state.error);
        let clusters = state.clusters;
        if (opts.cluster !== undefined) {
          clusters = clusters.filter((c) => c.name === opts.cluster);
          if (clusters.length === 0) throw new CommandFailed(`no cluster named "${opts.cluster}"`);
        }
        // The target may have learnt more while opening (the AWS account id).
        const target = backends.target;
        // What spans clusters, of the clusters listed, and what the API says of itself.
        const spanning = [...state.apiFindings, ...fleetFindings(clusters)];
        const answers: LsAnswers = { timeoutSeconds, unanswered: outcome.unanswered };
        ctx.io.stdout.write(
          opts.json ? `${jsonForTerminal(lsJson(target, clusters, spanning, answers), 2)}\n` : lsText(target, clusters, spanning, answers),
        );
        if (opts.failOn !== undefined) failOn(opts.failOn, clusters);
      } finally {
        poller.stop();
        await backends.close();
      }
    });
}

/**
 * `ls --timeout`'s default, seconds. A node that is up answers its probe, a
 * new SSH connection included, in well under a second, even through a
 * bastion; five leave room for a busy host or a slow link, yet a script or
 * an engineer has the picture before ssh's own connect timeout would give up
 * on a host that is down.
 */
export const DEFAULT_TIMEOUT_SECONDS = 5;

function timeoutFlag(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--timeout takes a positive number of seconds, not "${value}"`);
  }
  return n;
}

/** Discovery gave no answer within the timeout: what was asked, for how long, and what to try. */
function discoveryTimedOut(target: Target, seconds: number): string {
  const who =
    target.kind === 'aws'
      ? `AWS in ${target.regions.join(', ') || 'the default region'}${target.profile ? ` (profile ${target.profile})` : ''}`
      : target.kind === 'inventory'
        ? `the inventory ${target.file}`
        : 'the simulated fleet';
  const longer = Math.max(30, Math.ceil(seconds * 4));
  return `discovery of ${who} did not answer within ${seconds} s (--timeout ${seconds}): check that this host can reach it, or give it longer: nightshift ls --timeout ${longer}`;
}

/** Which probes had not come back when ls printed, and how long it waited for them. */
export interface LsAnswers {
  timeoutSeconds: number;
  unanswered: ReadonlySet<string>;
}

/** `ls --fail-on`'s exit code: the fleet is unwell, which is neither a failure of ls (1) nor a usage error (2). */
export const FAIL_ON_EXIT_CODE = 3;

/** The fleet is at or above the level `--fail-on` named: ls printed everything, and says so in its exit code. */
export class FleetUnwell extends Error {
  override name = 'FleetUnwell';
  readonly exitCode = FAIL_ON_EXIT_CODE;
}

function failOn(flag: 'warn' | 'crit', clusters: readonly ClusterView[]): void {
  const level: HealthLevel = flag === 'warn' ? 'WARN' : 'CRIT';
  const over = clusters.filter((c) => compareLevel(c.health.level, level) >= 0);
  if (over.length === 0) return;
  const named = over.map((c) => `${clusterLabel({ name: c.name, ...scopeOf(c) })} ${c.health.level}`).join(', ');
  throw new FleetUnwell(`${over.length} cluster${over.length === 1 ? '' : 's'} at or above ${level} (--fail-on ${flag}): ${named}`);
}

export interface LsFinding {
  kind: string;
  level: string;
  message: string;
  nodes: string[];
  /** The runbook that answers it (`nightshift run RUNBOOK --cluster NAME`), or null when none does. */
  runbook: string | null;
  /** The same name, present only when there is one: the field scripts have read since issue 13. */
  suggests?: string;
}

export interface LsJson {
  target: Target & { live: boolean };
  /** `--timeout`: how long ls waited for the fleet's answers, seconds. */
  timeoutSeconds: number;
  /** Nodes listed whose probe had not answered when ls printed (each has `answered: false`). */
  unanswered: number;
  /** What spans clusters: an AZ where most nodes are unreachable or impaired, a region whose API throttles. */
  findings: Array<LsFinding & { az?: string; region?: string }>;
  clusters: Array<{
    name: string;
    /** Where it lives (AWS; the simulated fleet with several regions): with the account and name, its identity. */
    region?: string;
    /** Set only when several accounts are in view. */
    account?: string;
    engine: string;
    health: { level: string; reasons: string[] };
    findings: LsFinding[];
    worstLagSeconds: number | null;
    /** Present when the cluster has a writer record configured (clusters.C.writerDns; the sim's own). */
    writer?: LsWriter;
    nodes: Array<{
      id: string;
      name: string;
      az: string;
      privateIp: string;
      role: string;
      state: string;
      health: { level: string; reason: string };
      lagSeconds: number | null;
      stale: boolean;
      tags: Record<string, string>;
      updatedAt: string | null;
      /**
       * Running nodes: whether the probe came back (with facts or an error)
       * before ls printed. False for a node that did not answer within
       * --timeout (hung, still connecting) or that ls did not wait for (EC2
       * already reports its status checks failing). Absent for a node that
       * is not asked: not running, or of a cluster with no engine to probe
       * (generic).
       */
      answered?: boolean;
      /** MySQL nodes whose probe has answered at least once (the last good answer when stale). */
      mysql?: LsMysql;
    }>;
  }>;
}

export interface LsWriter {
  name: string;
  type: 'A' | 'CNAME';
  values: string[];
  /** The NAME of the node the record points at, or null. */
  node: string | null;
  /** Why values are unknown or old: no DNS on this target, or the read failed. */
  error?: string;
}

export interface LsMysql {
  readOnly: boolean;
  /** The NAME of the node it replicates from, host:port when that is outside the cluster, null when it replicates from no one. */
  source: string | null;
  ioThread: ThreadState | null;
  sqlThread: ThreadState | null;
  gtidExecuted: string;
}

export function lsJson(
  target: Target,
  clusters: ClusterView[],
  spanning: readonly FleetFinding[] = fleetFindings(clusters),
  answers: LsAnswers = { timeoutSeconds: DEFAULT_TIMEOUT_SECONDS, unanswered: new Set() },
): LsJson {
  const answered = (n: NodeView) => (isAsked(n) ? { answered: !answers.unanswered.has(n.instance.id) } : {});
  return {
    target: { ...target, live: target.kind !== 'sim' },
    timeoutSeconds: answers.timeoutSeconds,
    unanswered: unansweredOf(clusters, answers).length,
    findings: spanning.map((f) => ({ ...lsFinding(f), ...(f.az !== undefined ? { az: f.az } : {}), ...(f.region !== undefined ? { region: f.region } : {}) })),
    clusters: clusters.map((c) => ({
      name: c.name,
      ...scopeOf(c),
      engine: c.engine,
      health: c.health,
      findings: c.findings.map(lsFinding),
      worstLagSeconds: c.worstLagSeconds,
      ...(c.writer ? { writer: lsWriter(c) } : {}),
      nodes: c.nodes.map((n) => ({
        id: n.instance.id,
        name: n.instance.name,
        az: n.instance.az,
        privateIp: n.instance.privateIp,
        role: n.role,
        state: n.instance.state,
        health: n.health,
        lagSeconds: n.lagSeconds,
        stale: n.stale,
        tags: n.instance.tags,
        updatedAt: n.updatedAt > 0 ? new Date(n.updatedAt).toISOString() : null,
        ...answered(n),
        ...(n.facts?.kind === 'mysql' ? { mysql: lsMysql(n, c.nodes) } : {}),
      })),
    })),
  };
}

function lsFinding(f: Finding | FleetFinding): LsFinding {
  return { kind: f.kind, level: f.level, message: f.message, nodes: f.nodes, runbook: f.suggests ?? null, ...(f.suggests !== undefined ? { suggests: f.suggests } : {}) };
}

function lsWriter(c: ClusterView): LsWriter {
  const w = c.writer!;
  const out: LsWriter = { name: w.name, type: w.type, values: w.values, node: w.node };
  if (w.error !== undefined) out.error = w.error;
  return out;
}

function lsMysql(n: NodeView, nodes: readonly NodeView[]): LsMysql {
  const m = (n.facts as Extract<NodeView['facts'], { kind: 'mysql' }>).mysql;
  return {
    readOnly: m.readOnly,
    source: replicationSource(n, nodes) ?? null,
    ioThread: m.replica?.ioThread ?? null,
    sqlThread: m.replica?.sqlThread ?? null,
    gtidExecuted: m.gtidExecuted,
  };
}

/** The listed nodes (each once) that had not answered when ls printed. */
function unansweredOf(clusters: readonly ClusterView[], answers: LsAnswers): NodeView[] {
  const seen = new Set<string>();
  const out: NodeView[] = [];
  for (const c of clusters) {
    for (const n of c.nodes) {
      if (seen.has(n.instance.id) || !isAsked(n) || !answers.unanswered.has(n.instance.id)) continue;
      seen.add(n.instance.id);
      out.push(n);
    }
  }
  return out;
}

export function lsText(target: Target, clusters: ClusterView[], spanning: readonly FleetFinding[], answers: LsAnswers): string {
  const lines: string[] = [targetLine(target), ''];
  const silent = unansweredOf(clusters, answers);
  if (silent.length > 0) {
    const nodes = new Set(clusters.flatMap((c) => c.nodes.map((n) => n.instance.id))).size;
    const skipped = silent.filter(isNotWaitedFor).length;
    const parts: string[] = [];
    if (silent.length > skipped) parts.push(`${silent.length - skipped} within ${answers.timeoutSeconds} s (--timeout ${answers.timeoutSeconds})`);
    if (skipped > 0) parts.push(`${skipped} not waited for (EC2 status checks failing)`);
    lines.push(`${HEALTH_STYLE.UNKNOWN.glyph} ${silent.length} of ${plural(nodes, 'node')} gave no answer: ${parts.join('; ')}`, '');
  }
  for (const f of spanning) lines.push(`${HEALTH_STYLE[f.level].glyph} ${f.level.padEnd(7)} ${f.message}`);
  if (spanning.length > 0) lines.push('');
  // Each cluster names its region where more than one is in view: two `orders` are then told apart, and the run line picks the right one.
  const scopes = clusters.map(scopeOf);
  const isScoped = regionsOf(scopes).length > 1 || (target.kind === 'aws' && target.regions.length > 1) || scopes.some((x) => x.account !== undefined);
  clusters.forEach((c, i) => {
    const scope = isScoped ? scopes[i]! : {};
    const lag = c.worstLagSeconds === null ? '' : `  worst lag ${lagOrUnknown(c.worstLagSeconds)}`;
    lines.push(`${HEALTH_STYLE[c.health.level].glyph} ${c.health.level.padEnd(7)} ${clusterLabel({ name: c.name, ...scope })}  (${c.engine}, ${plural(c.nodes.length, 'node')})${lag}`);
    if (c.writer) lines.push(`    ${writerText(c.writer).text}`);
    const flags = [`--cluster ${c.name}`, scopeFlags(scope)].filter(Boolean).join(' ');
    for (const f of c.findings) lines.push(`    ! ${f.message}${f.suggests !== undefined ? `  → nightshift run ${f.suggests} ${flags}` : ''}`);
    for (const n of c.nodes) lines.push(`    ${nodeLine(n, answers)}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * A cluster's region and account: the view's own, else its members' (every
 * member of a discovered cluster is in the cluster's region and account).
 */
function scopeOf(c: ClusterView): { region?: string; account?: string } {
  const region = c.region ?? c.nodes.find((n) => n.instance.region !== undefined)?.instance.region;
  const account = c.account ?? c.nodes.find((n) => n.instance.account !== undefined)?.instance.account;
  return { ...(region !== undefined ? { region } : {}), ...(account !== undefined ? { account } : {}) };
}

/** A node the poller probes: running, and of an engine that has a probe. */
function isAsked(n: NodeView): boolean {
  return n.instance.state === 'running' && n.engine !== 'generic';
}

/** A node ls did not wait for: EC2 already fails its status checks, so its probe went to the poller's side pool. */
function isNotWaitedFor(n: NodeView): boolean {
  return n.instance.statusChecks === 'impaired';
}

function nodeLine(n: NodeView, answers: LsAnswers): string {
  const lag = n.lagSeconds === null ? '-' : lagText(n.lagSeconds);
  const silent = isAsked(n) && answers.unanswered.has(n.instance.id);
  const stale = silent
    ? isNotWaitedFor(n)
      ? '  [no answer yet]'
      : `  [no answer in ${answers.timeoutSeconds} s]`
    : n.stale
      ? '  [stale]'
      : '';
  return [
    HEALTH_STYLE[n.health.level].glyph,
    n.instance.name.padEnd(18),
    n.instance.id.padEnd(20),
    n.role.padEnd(9),
    n.instance.az.padEnd(11),
    n.instance.state.padEnd(8),
    `lag ${lag}`.padEnd(11),
    n.health.reason + stale,
  ].join(' ');
}
