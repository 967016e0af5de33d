// CloudWatch through GetMetricData: up to 500 queries a call, so 5,000
// instances x 3 metrics cost 30 calls instead of 15,000 GetMetricStatistics.

import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { MetricPoint, NodeMetrics } from '../../domain/types.js';
import type { CallOptions, Metrics, MetricsQuery } from '../ports.js';
import type { RegionClients } from './clients.js';
import { call, type AwsContext } from './context.js';
import { chunk } from './ec2-shapes.js';

/** GetMetricData's limit on queries per request. */
export const QUERIES_PER_CALL = 500;
const PERIOD_SECONDS = 60;
/** Calls in flight at once per region: well under GetMetricData's default 50 TPS. */
const CONCURRENCY = 4;

interface Series {
  /** Our own query id: `q<n>`, since an instance id (`i-0abc`) is not a valid one. */
  id: string;
  instanceId: string;
  /** 'cpu' or the custom metric's configured name. */
  name: string;
  query: MetricDataQuery;
}

export class AwsMetrics implements Metrics {
  constructor(private readonly ctx: AwsContext) {}

  async fetch(query: MetricsQuery, opts: CallOptions = {}): Promise<Record<string, NodeMetrics>> {
    const end = Math.floor(this.ctx.clock.now() / 60_000) * 60_000;
    const window = { StartTime: new Date(end - query.minutes * 60_000), EndTime: new Date(end) };

    // By scope (a profile's region): each has its own endpoint, credentials and rate limit, so they run side by side.
    const byRegion = new Map<RegionClients, Series[]>();
    let n = 0;
    for (const instanceId of query.instanceIds) {
      const region = this.ctx.router.forInstance(instanceId);
      const list = byRegion.get(region) ?? [];
      for (const s of this.seriesFor(instanceId)) {
        const id = `q${n++}`;
        list.push({ ...s, id, query: { ...s.query, Id: id } });
      }
      byRegion.set(region, list);
    }

    const points = new Map<string, MetricPoint[]>();
    await Promise.all(
      [...byRegion].map(([region, series]) =>
        runLimited(chunk(series, QUERIES_PER_CALL), CONCURRENCY, (batch) => this.fetchBatch(region, batch, window, points, opts.signal)),
      ),
    );

    const out: Record<string, NodeMetrics> = {};
    for (const series of byRegion.values()) {
      for (const s of series) {
        const got = points.get(s.id);
        if (!got || got.length === 0) continue;
        // Pages may split a series, and CloudWatch answers newest first by default: sort once here.
        got.sort((a, b) => a.t - b.t);
        const m = (out[s.instanceId] ??= { cpu: [] });
        if (s.name === 'cpu') m.cpu = got;
        else (m.extra ??= {})[s.name] = got;
      }
    }
    return out;
  }

  private seriesFor(instanceId: string): Array<Omit<Series, 'id'>> {
    const stat = (namespace: string, metric: string, stat: string, dimension: string): MetricDataQuery => ({
      Id: '',
      MetricStat: {
        Metric: { Namespace: namespace, MetricName: metric, Dimensions: [{ Name: dimension, Value: instanceId }] },
        Period: PERIOD_SECONDS,
        Stat: stat,
      },
      ReturnData: true,
    });
    return [
      { instanceId, name: 'cpu', query: stat('AWS/EC2', 'CPUUtilization', 'Average', 'InstanceId') },
      ...this.ctx.config.aws.customMetrics.map((c) => ({
        instanceId,
        name: c.name,
        query: stat(c.namespace, c.metric, c.stat, c.dimension),
      })),
    ];
  }

  private async fetchBatch(
    r: RegionClients,
    batch: Series[],
    window: { StartTime: Date; EndTime: Date },
    points: Map<string, MetricPoint[]>,
    signal?: AbortSignal,
  ): Promise<void> {
    let NextToken: string | undefined;
    do {
      const page = await call(this.ctx, { action: 'cloudwatch:GetMetricData', region: r.region, profile: r.profile, doing: 'reading CloudWatch metrics' }, () =>
        r.cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: batch.map((s) => s.query),
            ...window,
            ScanBy: 'TimestampAscending',
            NextToken,
          }),
          { abortSignal: signal },
        ),
      );
      for (const r of page.MetricDataResults ?? []) {
        if (!r.Id) continue;
        const list = points.get(r.Id) ?? [];
        const ts = r.Timestamps ?? [];
        const vs = r.Values ?? [];
        for (let i = 0; i < Math.min(ts.length, vs.length); i++) list.push({ t: new Date(ts[i]!).getTime(), v: vs[i]! });
        points.set(r.Id, list);
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure rejects. */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
