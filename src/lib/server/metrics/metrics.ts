import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { scanVolume } from '../volume/contexts.ts';
import { measureContext } from '../quotas/quotas.ts';
import { mapInSlices } from '../core/time-slices.ts';

/**
 * The console's Prometheus metrics (prom-client), in one registry of their own. Label
 * values come from small fixed sets (route kinds, status codes, query kinds, outcomes), so
 * the number of series stays bounded; the only per-context series are the database and WAL
 * sizes of at most TRUTH_YARD_METRICS_CONTEXTS contexts, the largest, with volume totals
 * covering every context.
 */
export const registry = new Registry();

/** Every kind of read the console times. `analytics` is the DuckDB path over every tenant. */
const QUERY_KINDS = ['page', 'count', 'export', 'adhoc', 'analytics'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const httpRequests = new Counter({ name: 'yard_http_requests_total', help: 'HTTP requests answered, by route kind and status', labelNames: ['route', 'status'], registers: [registry] });
const httpDuration = new Histogram({
  name: 'yard_http_request_duration_seconds',
  help: 'Time to answer an HTTP request (until its headers), by route kind and status',
  labelNames: ['route', 'status'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const queryDuration = new Histogram({ name: 'yard_query_duration_seconds', help: 'Time of reads, by kind', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers: [registry] });
const deadlinesHit = new Counter({ name: 'yard_query_deadlines_total', help: 'Reads stopped or given up at their deadline, by kind', labelNames: ['kind'], registers: [registry] });
const reuseHits = new Counter({ name: 'yard_result_reuse_total', help: 'Browse pages and counts answered from reused results instead of being read', labelNames: ['kind'], registers: [registry] });
const regenerations = new Counter({ name: 'yard_regenerations_total', help: 'Composite regenerations, by outcome', labelNames: ['outcome'], registers: [registry] });
const healthRuns = new Counter({ name: 'yard_health_runs_total', help: 'Health checks, by worst severity found', labelNames: ['outcome'], registers: [registry] });

for (const kind of QUERY_KINDS) {
  queryDuration.zero({ kind });
  deadlinesHit.inc({ kind }, 0);
}
for (const kind of ['page', 'count']) reuseHits.inc({ kind }, 0);
for (const outcome of ['ok', 'error']) regenerations.inc({ outcome }, 0);
for (const outcome of ['ok', 'warn', 'error']) healthRuns.inc({ outcome }, 0);

/** Off (TRUTH_YARD_METRICS=off): requests and reads are neither counted nor timed. */
let counting = true;

/** The series of each route and status seen, so a request costs two increments and no label hashing. */
const httpSeries = new Map<string, { requests: ReturnType<typeof httpRequests.labels>; duration: ReturnType<typeof httpDuration.labels> }>();

export function observeHttp(route: string, status: number, seconds: number): void {
  if (!counting) return;
  const key = `${route} ${status}`;
  let series = httpSeries.get(key);
  if (!series) {
    series = { requests: httpRequests.labels(route, String(status)), duration: httpDuration.labels(route, String(status)) };
    httpSeries.set(key, series);
  }
  series.requests.inc();
  series.duration.observe(seconds);
}

export function observeQuery(kind: QueryKind, seconds: number): void {
  if (!counting) return;
  queryDuration.observe({ kind }, seconds);
}

export function countDeadline(kind: QueryKind): void {
  deadlinesHit.inc({ kind });
}

export function countReuse(kind: 'page' | 'count'): void {
  if (!counting) return;
  reuseHits.inc({ kind });
}

export function countRegeneration(outcome: 'ok' | 'error'): void {
  regenerations.inc({ outcome });
}

export function countHealthRun(outcome: 'ok' | 'warn' | 'error'): void {
  healthRuns.inc({ outcome });
}

export interface VolumeSample {
  takenAt: Date;
  /** Every context's database and WAL bytes, largest first: one entry per context of the volume. */
  sizes: Array<{ context: string; databaseBytes: number; walBytes: number }>;
}

/** Sizes are measured again, in the background, when a scrape finds them older than this. */
const SIZES_MAX_AGE_MS = 30_000;

/**
 * The size gauges: every context's databases measured with `stat` (see measureContext), in
 * time slices so the event loop keeps serving, at most every SIZES_MAX_AGE_MS while someone
 * scrapes. The first scrape waits for the first measurement; later ones use the latest.
 */
class VolumeSizeMetrics {
  #latest: VolumeSample | null = null;
  #measuring: Promise<VolumeSample> | null = null;

  constructor(
    private readonly volumeDir: string,
    readonly perContextLimit: number,
  ) {
    // Each gauge sets itself from the same sample when collected (prom-client collects them concurrently).
    const perContext = (name: string, help: string, bytesOf: (size: VolumeSample['sizes'][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['context'],
        registers: [registry],
        async collect() {
          const sample = await sizes.sample();
          this.reset();
          for (const size of sample.sizes.slice(0, sizes.perContextLimit)) this.set({ context: size.context }, bytesOf(size));
        },
      });
    const total = (name: string, help: string, valueOf: (sample: VolumeSample) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(valueOf(await sizes.sample()));
        },
      });
    const sizes = this;
    perContext('yard_context_database_bytes', "Bytes of a context's databases (the largest contexts only; yard_volume_database_bytes covers all)", (size) => size.databaseBytes);
    perContext('yard_context_wal_bytes', "Bytes of a context's write-ahead logs (the largest contexts only)", (size) => size.walBytes);
    total('yard_volume_database_bytes', 'Bytes of every database of the volume', (sample) => sample.sizes.reduce((sum, s) => sum + s.databaseBytes, 0));
    total('yard_volume_wal_bytes', 'Bytes of every write-ahead log of the volume', (sample) => sample.sizes.reduce((sum, s) => sum + s.walBytes, 0));
    total('yard_contexts', 'Contexts in the volume', (sample) => sample.sizes.length);
  }

  async sample(): Promise<VolumeSample> {
    if (this.#latest === null) return this.#measure();
    if (Date.now() - this.#latest.takenAt.getTime() > SIZES_MAX_AGE_MS) void this.#measure().catch(() => undefined);
    return this.#latest;
  }

  #measure(): Promise<VolumeSample> {
    this.#measuring ??= (async () => {
      try {
        const scan = scanVolume(this.volumeDir);
        const { results: sizes } = await mapInSlices(scan.contexts, (context) => {
          const measured = measureContext(context).databases;
          return { context: context.name, databaseBytes: measured.reduce((sum, d) => sum + d.bytes, 0), walBytes: measured.reduce((sum, d) => sum + d.walBytes, 0) };
        });
        sizes.sort((a, b) => b.databaseBytes + b.walBytes - (a.databaseBytes + a.walBytes));
        this.#latest = { takenAt: new Date(), sizes };
        return this.#latest;
      } finally {
        this.#measuring = null;
      }
    })();
    return this.#measuring;
  }
}

let serverMetricsStarted = false;

/**
 * The metrics only a server has: process figures (CPU, memory, event-loop lag, handles),
 * open composite connections and volume sizes. Called once by the server's runtime.
 */
export function startServerMetrics(options: { enabled: boolean; volumeDir: string; perContextLimit: number; openConnections: () => number }): void {
  if (serverMetricsStarted) return;
  serverMetricsStarted = true;
  counting = options.enabled;
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'yard_connections_open', help: 'Composite connections open in the server process', registers: [registry], collect() {
    this.set(options.openConnections());
  } });
  new VolumeSizeMetrics(options.volumeDir, options.perContextLimit);
}

/** The exposition text and its content type, for GET /metrics. */
export async function metricsText(): Promise<{ body: string; contentType: string }> {
  return { body: await registry.metrics(), contentType: registry.contentType };
}
