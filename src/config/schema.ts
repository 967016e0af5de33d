// The validated configuration: YAML file merged with flags. Every key has a
// default, so an empty (or absent) file is a valid config for the simulated fleet.

import * as z from 'zod';
import { MAX_SIM_REGIONS, SIM_REGIONS } from '../backends/sim/regions.js';

const positive = z.number().positive();

export const DEFAULT_SERVICE_COMMAND = 'sudo systemctl';

/**
 * A command that nightshift completes with words of its own (`start cassandra`):
 * one line and one command, or what it appends would run as a second one.
 */
export const commandPrefix = z
  .string()
  .trim()
  .min(1, 'a command, e.g. `sudo systemctl`')
  .refine((s) => !/[\n\r;&|<>`]|\$\(/.test(s), {
    message: 'one command on one line, to which nightshift appends `start UNIT`, `stop UNIT` or `is-active UNIT` (no ;, &, |, <, >, ` or $( )',
  });

/**
 * A whole command run as it is (a fence), on one line: a newline would make
 * the plan show one thing and the host run two.
 */
export const oneLineCommand = z
  .string()
  .trim()
  .min(1, 'a command, e.g. `sudo systemctl stop mariadb`')
  .refine((s) => !/[\n\r\0]/.test(s), { message: 'one command on one line' });

/** Who replicas connect as after a switchover or failover: the password from a file or the environment, never the config. */
export const replicationSchema = z
  .object({
    user: z.string().min(1, 'the replication user, e.g. `repl`'),
    /** An environment variable holding the password; read when a runbook needs it. */
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name (letters, digits and _, not starting with a digit)')
      .optional(),
    /** A file holding the password (one line), mode 0600 or stricter; relative to the config file. */
    passwordFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const given = [r.passwordEnv, r.passwordFile].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given === 0 ? [] : ['passwordFile'],
        message:
          given === 0
            ? 'name where the password is: passwordEnv (an environment variable) or passwordFile (a 0600 file)'
            : 'give passwordEnv or passwordFile, not both',
      });
    }
  });

/**
 * How a dead master is fenced before a replica is promoted: on a static
 * inventory a command run over SSH on its host (`command`, when a host has no
 * `fence:` of its own); on AWS the instance is stopped, or isolated in a
 * security group that allows nothing (`method: isolate`).
 */
export const fenceSchema = z
  .object({
    command: oneLineCommand.optional(),
    method: z.enum(['stop', 'isolate']).optional(),
    /** The security group an isolated instance is left in (isolate only). */
    securityGroup: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id, e.g. sg-0123456789abcdef0').optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.method === 'isolate' && !f.securityGroup) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'method isolate needs the security group to leave the instance in (securityGroup: sg-...)' });
    }
    if (f.securityGroup && f.method !== 'isolate') {
      ctx.addIssue({ code: 'custom', path: ['securityGroup'], message: 'a security group is only used by `method: isolate`; add it, or remove securityGroup' });
    }
    if (f.command === undefined && f.method === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'say how to fence: `command:` (static inventory) or `method: stop|isolate` (AWS)' });
    }
  });

/** What may differ between regions where cluster names repeat (`clusters.orders.regions.eu-west-1`). */
const regionalFields = {
  /** Writer DNS record for MySQL clusters: switchover/failover swap it. */
  writerDns: z
    .object({
      zoneId: z.string().min(1),
      name: z.string().min(1),
      type: z.enum(['A', 'CNAME']).default('A'),
    })
    .strict()
    .optional(),
  /** Replicas the cluster should have; fewer is a finding. */
  targetReplicas: z.number().int().nonnegative().optional(),
  launchTemplate: z.string().optional(),
  /** Subnets a new node may launch in (one per AZ); without them RunInstances places by AZ alone (default VPC only). */
  subnets: z.array(z.string()).optional(),
  replication: replicationSchema.optional(),
  fence: fenceSchema.optional(),
};

export const regionOverrideSchema = z.object(regionalFields).strict();

export const clusterOverrideSchema = z
  .object({
    engine: z.enum(['mysql', 'cassandra', 'generic']).optional(),
    ...regionalFields,
    /** Rebuild snapshots of this cluster kept after a rebuild ends (newest first); older ones are deleted. */
    keepSnapshots: z.number().int().nonnegative().default(1),
    /**
     * Per region, where the same cluster name lives in several: these keys
     * win over the ones above for the cluster of that region.
     */
    regions: z.record(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region name, e.g. eu-west-1'), regionOverrideSchema).optional(),
  })
  .strict();

export const discoverySchema = z
  .object({
    clusterTag: z.string().default('nightshift:cluster'),
    engineTag: z.string().default('nightshift:engine'),
    roleTag: z.string().default('nightshift:role'),
    /** e.g. { key: status, value: ready }: instances without it are ignored. */
    readinessTag: z.object({ key: z.string(), value: z.string() }).strict().optional(),
    /** Clusters defined by Auto Scaling Group name instead of by tag. */
    asgClusters: z
      .array(z.object({ name: z.string(), asg: z.string(), engine: z.enum(['mysql', 'cassandra', 'generic']) }).strict())
      .default([]),
    /** Clusters defined by security group id instead of by tag. */
    securityGroupClusters: z
      .array(
        z.object({ name: z.string(), securityGroup: z.string(), engine: z.enum(['mysql', 'cassandra', 'generic']) }).strict(),
      )
      .default([]),
  })
  .strict();

export const awsSchema = z
  .object({
    profile: z.string().optional(),
    /** Several profiles (accounts) in one view; `profile` alone is one. `--profile` repeated sets this. */
    profiles: z.array(z.string().min(1)).default([]),
    /** One or more regions in one view. */
    regions: z.array(z.string()).default([]),
    /**
     * The roles of the launch templates' instance profiles: the only roles
     * `nightshift iam-policy` lets a launch pass to EC2 (iam:PassRole).
     */
    instanceRoles: z
      .array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN, e.g. arn:aws:iam::123456789012:role/db-node'))
      .default([]),
    /** Attempts per AWS call, the first included (SDK standard retry mode: throttling backs off before the next). */
    maxAttempts: z.number().int().positive().default(3),
    /** Extra CloudWatch metrics per instance, e.g. a replication-lag metric. */
    customMetrics: z
      .array(
        z
          .object({
            name: z.string(),
            namespace: z.string(),
            metric: z.string(),
            stat: z.string().default('Average'),
            dimension: z.string().default('InstanceId'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const sshSchema = z
  .object({
    configFile: z.string().optional(),
    knownHosts: z.string().optional(),
    user: z.string().optional(),
    /** Bastion to jump through, as in ProxyJump (user@host:port). */
    jump: z.string().optional(),
    concurrency: z.number().int().positive().default(16),
    /** Exec channels at once on one connection; sshd's MaxSessions is 10 by default. */
    channelsPerHost: z.number().int().positive().default(8),
    /** Connection attempts at once; hosts whose last attempt failed may hold half of them. */
    connectConcurrency: z.number().int().positive().default(16),
    keepaliveSeconds: positive.default(15),
    /** TCP connect + handshake + auth, per hop (ConnectTimeout in the ssh config wins). */
    connectTimeoutSeconds: positive.default(10),
    commandTimeoutSeconds: positive.default(30),
  })
  .strict();

export const enginesSchema = z
  .object({
    mysqlClient: z.string().default('mysql'),
    nodetool: z.string().default('nodetool'),
    /** How long one `nodetool repair -pr` may run before the step gives up on it (repairs take hours). */
    repairTimeoutMinutes: positive.default(360),
    /** The service manager: nightshift runs `<serviceCommand> start|stop|is-active <unit>`; a static inventory host may name its own (`service:`). */
    serviceCommand: commandPrefix.default(DEFAULT_SERVICE_COMMAND),
    probeTimeoutSeconds: positive.default(10),
    /**
     * Optional heartbeat table for lag, e.g. `percona.heartbeat` (pt-heartbeat
     * layout: a `ts` column holding the master's UTC time, as `pt-heartbeat --utc` writes it).
     */
    heartbeatTable: z
      .string()
      .regex(/^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?$/, 'a table name, optionally schema.table (letters, digits, _ and $)')
      .optional(),
    /**
     * Prefix of the file-system and backup-tool commands a rebuild runs on a
     * node (`du`, `mv`, `mount`, `mariadb-backup`, ...), which need root on a
     * real host. `''` where the login user owns the datadir (the lab).
     */
    privileged: z
      .string()
      .trim()
      .refine((s) => !/[\n\r;&|<>`]|\$\(/.test(s), { message: 'one command prefix on one line, e.g. `sudo -n` (no ;, &, |, <, >, ` or $( )' })
      .default('sudo -n'),
    /** Who owns a rebuilt datadir (`chown -R`). */
    datadirOwner: z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'user or user:group, e.g. mysql:mysql').default('mysql:mysql'),
    /** Threads of the backup tool (`--parallel`). */
    backupParallel: z.number().int().positive().max(64).default(4),
    /** Memory the backup's prepare may use (`--use-memory`), MB. */
    prepareMemoryMB: z.number().int().positive().default(1024),
    /** The MySQL server's unit; default `mariadb` on MariaDB, `mysql` on MySQL. */
    mysqlService: z.string().regex(/^[A-Za-z0-9@._-]+$/, 'a unit name, e.g. mariadb').optional(),
  })
  .strict();

export const thresholdsSchema = z
  .object({
    lagWarnSeconds: positive.default(30),
    lagCritSeconds: positive.default(300),
    cpuWarnPercent: positive.default(85),
    /** Cassandra gc_grace_seconds: a repair older than this is overdue. */
    gcGraceSeconds: positive.default(864_000),
    /** Data older than this many refresh intervals is shown as stale. */
    staleAfterRefreshes: positive.default(3),
  })
  .strict()
  .superRefine((t, ctx) => {
    // Above it, a lag would be critical before it ever warned, and the warning would never show.
    if (t.lagWarnSeconds > t.lagCritSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['lagWarnSeconds'],
        params: { otherKey: 'lagCritSeconds' },
        message: `${t.lagWarnSeconds} is above lagCritSeconds (${t.lagCritSeconds}): a lag would turn critical without a warning first; make lagWarnSeconds the smaller`,
      });
    }
  });

/**
 * The largest simulated fleet (`--nodes`, `sim.nodes`): the generated world is
 * held in memory and written whole on every change, so a mistyped zero too many
 * would fill the machine's memory before the first frame. The README gives the
 * memory per node this was chosen from.
 */
export const MAX_SIM_NODES = 50_000;

/** Seeds are exact integers: beyond 2^53 two seeds would read as the same number. */
export const SEED_RANGE = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER } as const;

/** A whole number within [min, max]; the message names the value and the range. */
function inRange(min: number, max: number, why: string) {
  return (n: number, ctx: z.RefinementCtx) => {
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${n} is not a whole number from ${min} to ${max}${why}` });
    }
  };
}

export const simSchema = z
  .object({
    /** Checked against the scenarios by name when the config is loaded (src/config/load.ts), with the line. */
    scenario: z.string().default('healthy'),
    seed: z.number().superRefine(inRange(SEED_RANGE.min, SEED_RANGE.max, '')).default(1),
    speed: positive.default(1),
    nodes: z
      .number()
      .superRefine(inRange(1, MAX_SIM_NODES, ' (the largest simulated fleet nightshift generates; see the README)'))
      .optional(),
    /** How many regions the fleet spreads over; absent is one (a world without regions), or what the scenario needs. */
    regions: z
      .number()
      .superRefine(inRange(1, MAX_SIM_REGIONS, ` (the simulated regions: ${SIM_REGIONS.join(', ')})`))
      .optional(),
    /** The simulated regions in view (`--region` on the simulated fleet); checked against those it models in src/config/load.ts. */
    region: z
      .union([z.string(), z.array(z.string())])
      .transform((r) => (typeof r === 'string' ? [r] : r))
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    target: z.enum(['sim', 'aws', 'inventory']).optional(),
    inventory: z.string().optional(),
    refreshSeconds: positive.default(5),
    readOnly: z.boolean().default(false),
    discovery: discoverySchema.default(discoverySchema.parse({})),
    clusters: z.record(z.string(), clusterOverrideSchema).default({}),
    aws: awsSchema.default(awsSchema.parse({})),
    ssh: sshSchema.default(sshSchema.parse({})),
    engines: enginesSchema.default(enginesSchema.parse({})),
    thresholds: thresholdsSchema.default(thresholdsSchema.parse({})),
    sim: simSchema.default(simSchema.parse({})),
    /** Extra strings to redact from journals and logs (besides recognised passwords and keys). */
    secrets: z.array(z.string()).default([]),
    /** Where journals, locks and the simulated world live; default $XDG_STATE_HOME/nightshift. */
    stateDir: z.string().optional(),
  })
  .strict();

export type ConfigFile = z.input<typeof configSchema>;

/** The resolved config: file + flags + defaults, with the target decided. */
export type Config = z.output<typeof configSchema> & {
  target: 'sim' | 'aws' | 'inventory';
  stateDir: string;
  /** The file it came from, if any (for messages). */
  source?: string;
};
