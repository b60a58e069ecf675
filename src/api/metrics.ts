/**
 * Prometheus text exposition (format 0.0.4), written by hand: HTTP request counts and latency by route and
 * status (kept in memory since the server started), and site gauges read from the database at scrape time
 * (jobs by kind and state, bytes sent per DP, package × DP states).
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { DpState } from '../distribution/index.js';
import type { ApiSite } from './api-site.js';
import type { ReadCache } from './read-cache.js';
import { requestState } from './request-state.js';

/** Seconds; the usual Prometheus client defaults. */
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  readonly labels: string;
  count: number;
  sum: number;
  readonly le: number[];
}

export class HttpMetrics {
  readonly #series = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    // Keyed by the raw values: the escaped label text is made once per series, not per request.
    const id = `${method} ${status} ${route}`;
    let s = this.#series.get(id);
    if (!s) {
      s = {
        labels: labelText({ method, route, status: String(status) }),
        count: 0,
        sum: 0,
        le: buckets.map(() => 0),
      };
      this.#series.set(id, s);
    }
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]!) s.le[i]!++;
  }

  render(): string[] {
    const series = [...this.#series.values()].sort((a, b) => a.labels.localeCompare(b.labels));
    const out = [
      '# HELP sitecast_http_requests_total HTTP requests answered, by method, route and status.',
      '# TYPE sitecast_http_requests_total counter',
      ...series.map((s) => `sitecast_http_requests_total{${s.labels}} ${s.count}`),
      '# HELP sitecast_http_request_duration_seconds Time to answer an HTTP request.',
      '# TYPE sitecast_http_request_duration_seconds histogram',
    ];
    for (const s of series) {
      buckets.forEach((b, i) =>
        out.push(`sitecast_http_request_duration_seconds_bucket{${s.labels},le="${b}"} ${s.le[i]}`),
      );
      out.push(`sitecast_http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      out.push(`sitecast_http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      out.push(`sitecast_http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    return out;
  }
}

/** `a="x",b="y"` with Prometheus escaping (backslash, quote, newline). */
export function labelText(labels: Readonly<Record<string, string>>): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',');
}

/** The site gauges, read now. */
export async function siteGauges(site: ApiSite): Promise<string[]> {
  const db = site.database.db;
  const jobs = await db
    .selectFrom('job')
    .select(['kind', 'state', sql<number>`count(*)`.as('n')])
    .groupBy(['kind', 'state'])
    .orderBy('kind')
    .orderBy('state')
    .execute();
  const sent = await db
    .selectFrom('distribution_point as d')
    .leftJoin('package_dp as pd', 'pd.dp_id', 'd.dp_id')
    .select(['d.name', sql<number>`coalesce(sum(pd.bytes_sent), 0)`.as('bytes')])
    .groupBy('d.name')
    .orderBy('d.name')
    .execute();
  const states = await db
    .selectFrom('package_dp')
    .select(['state', sql<number>`count(*)`.as('n')])
    .groupBy('state')
    .execute();
  const byState = new Map(states.map((r) => [Number(r.state), Number(r.n)]));
  return [
    '# HELP sitecast_jobs Jobs in the queue, by kind and state.',
    '# TYPE sitecast_jobs gauge',
    ...jobs.map((j) => `sitecast_jobs{${labelText({ kind: j.kind, state: j.state })}} ${Number(j.n)}`),
    '# HELP sitecast_dp_bytes_sent Bytes sent to each DP by the last transfer of each of its packages.',
    '# TYPE sitecast_dp_bytes_sent gauge',
    ...sent.map((r) => `sitecast_dp_bytes_sent{${labelText({ dp: r.name })}} ${Number(r.bytes)}`),
    '# HELP sitecast_package_dp_states Package × DP pairs in each distribution state.',
    '# TYPE sitecast_package_dp_states gauge',
    ...Object.entries(DpState).map(
      ([name, code]) => `sitecast_package_dp_states{${labelText({ state: name })}} ${byState.get(code) ?? 0}`,
    ),
  ];
}

/** The read cache's counters (read-cache.ts). */
export function readCacheLines(reads: ReadCache): string[] {
  const s = reads.stats();
  return [
    '# HELP sitecast_api_read_cache_requests_total Reads answered from kept answers (hit) or by querying (miss).',
    '# TYPE sitecast_api_read_cache_requests_total counter',
    `sitecast_api_read_cache_requests_total{result="hit"} ${s.hits}`,
    `sitecast_api_read_cache_requests_total{result="miss"} ${s.misses}`,
    '# HELP sitecast_api_read_cache_bytes Memory held by kept answers.',
    '# TYPE sitecast_api_read_cache_bytes gauge',
    `sitecast_api_read_cache_bytes ${s.bytes}`,
  ];
}

/** Times every request and serves GET /metrics (no authentication, as Prometheus scrapes it). */
export function installMetrics(app: FastifyInstance, site: ApiSite, reads?: ReadCache): HttpMetrics {
  const http = new HttpMetrics();
  app.addHook('onResponse', async (request, reply) => {
    const state = requestState(request);
    const seconds = Number(process.hrtime.bigint() - state.start) / 1e9;
    const route = state.route ?? (request.routeOptions.url || 'unmatched');
    http.observe(request.method, route, reply.statusCode, seconds);
  });
  app.get('/metrics', async (_request, reply) => {
    const lines = [...(await siteGauges(site)), ...http.render(), ...(reads ? readCacheLines(reads) : [])];
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${lines.join('\n')}\n`);
  });
  return http;
}
