/**
 * Scenario 6, operations: a snapshot of 2 × 500,000 rows while a writer inserts 100 rows a
 * second (time, MB/s, the writer's p99 insert latency), GET /metrics at 10,000 tenants
 * (time and size), and what counting requests for the metrics costs the rows API.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openConsoleStore } from '../src/lib/server/store/database.ts';
import { loadSettings } from '../src/lib/server/core/config.ts';
import { createSnapshot } from '../src/lib/server/services/snapshots.ts';
import { countReuse, observeHttp, registry, startServerMetrics } from '../src/lib/server/metrics/metrics.ts';
import { classifyRoute, routeLabel } from '../src/lib/server/auth/routes.ts';
import { runCannon, runSequence } from './load-client.ts';
import { sleep, type BenchRun } from './scenario.ts';
import { startBenchServer } from './server.ts';
import { median, summarizeLatencies } from './stats.ts';
import { ensureVolume, VOLUME_SPECS, VOLUMES_DIR } from './volumes.ts';

const ISSUE = { writerP99Ms: 50, metricsMs: 50, metricsKb: 200, metricsCostShare: 0.05 };
const WRITER_ROWS_PER_SEC = 100;
const METRICS_SCRAPES = 20;
const TOKEN = 'bench-metrics-token-0123456789abcdef0123456789';
const TENANT = 't00001';
const ROWS_URL = `/api/tenants/${TENANT}/objects/all_findings/rows?_sort=created_at&_desc=1&_size=50`;

/**
 * The rows volume's tenant copied to a volume of its own, its databases switched to WAL
 * (the mode that lets writers write during a snapshot), so the writer below changes no
 * other scenario's data.
 */
function snapshotVolume(sourceVolume: string): { volumeDir: string; stateDir: string; writerFile: string } {
  const volumeDir = path.join(VOLUMES_DIR, 'ops-snapshot');
  const stateDir = path.join(VOLUMES_DIR, 'ops-snapshot.state');
  fs.rmSync(volumeDir, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
  const from = path.join(sourceVolume, 'embedded/tenant', TENANT);
  const to = path.join(volumeDir, 'embedded/tenant', TENANT);
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from).filter((n) => n.endsWith('.sqlite.db') && !n.includes('auto'))) {
    fs.copyFileSync(path.join(from, name), path.join(to, name));
    const db = new Database(path.join(to, name));
    db.pragma('journal_mode = wal');
    db.close();
  }
  fs.copyFileSync(path.join(from, 'composite.sql'), path.join(to, 'composite.sql'));
  return { volumeDir, stateDir, writerFile: path.join(to, 'area01.sqlite.db') };
}

async function snapshotUnderWrites(run: BenchRun): Promise<void> {
  const rows = await ensureVolume(VOLUME_SPECS.rows);
  const { volumeDir, stateDir, writerFile } = snapshotVolume(rows.volumeDir);
  process.stderr.write('bench: 6. snapshot of 2 × 500,000 rows while a writer inserts 100 rows/s\n');
  const store = openConsoleStore(stateDir);
  const writer = new Database(writerFile);
  writer.pragma('synchronous = NORMAL');
  const insert = writer.prepare("INSERT INTO findings (title, severity, status, created_at, updated_at) VALUES ('written during the snapshot', 'low', 'open', ?, ?)");
  const latencies: number[] = [];
  // The backup runs on a worker thread, so this thread is free to write; each insert is its own commit.
  const writing = setInterval(() => {
    const started = performance.now();
    const now = new Date().toISOString();
    insert.run(now, now);
    latencies.push(performance.now() - started);
  }, 1000 / WRITER_ROWS_PER_SEC);
  const started = performance.now();
  let manifest;
  try {
    manifest = await createSnapshot({ volumeDir, store, actor: 'bench', snapshotsDir: path.join(stateDir, 'snapshots'), retention: { keep: 10, maxAgeDays: 0 } }, `tenant/${TENANT}`);
  } finally {
    clearInterval(writing);
    writer.close();
    store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const mb = manifest.totalBytes / 1024 / 1024;
  const scenario = '6 operations';
  const writes = summarizeLatencies(latencies);
  run.details.snapshot = { seconds, totalBytes: manifest.totalBytes, files: manifest.files, writerLatencyMs: writes };
  run.report.record({ scenario, metric: `snapshot of 2 × 500,000 rows (${mb.toFixed(0)} MB, backup + integrity_check + SHA-256)`, value: seconds, unit: 's' });
  run.report.record({ scenario, metric: 'snapshot throughput', value: mb / seconds, unit: 'MB/s' });
  run.report.record({
    scenario,
    metric: `writer p99 insert latency during it (${writes.count} inserts at ${WRITER_ROWS_PER_SEC}/s, WAL)`,
    value: writes.p99,
    unit: 'ms',
    target: { op: '<=', value: ISSUE.writerP99Ms },
    note: `p50 ${writes.p50.toFixed(2)} ms, max ${writes.max.toFixed(1)} ms`,
  });
  fs.rmSync(volumeDir, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}

async function metricsAtTenThousand(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.tenants10k);
  process.stderr.write('bench: 6. GET /metrics at 10,000 tenants\n');
  const server = await startBenchServer(volume, { TRUTH_YARD_METRICS_TOKEN: TOKEN });
  const scenario = '6 operations';
  try {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const url = `${server.baseUrl}/metrics`;
    // Scrapes are measured once the server's start-up check of every context is over (the contexts list waits for it).
    const contexts = await fetch(`${server.baseUrl}/api/admin/contexts`, { headers: server.headers });
    if (contexts.status !== 200) throw new Error(`GET /api/admin/contexts answered ${contexts.status}`);
    await sleep(2_000);
    // The first scrape waits for the first measurement of every context's files.
    const firstStarted = performance.now();
    const first = await fetch(url, { headers });
    const body = await first.text();
    const firstMs = performance.now() - firstStarted;
    if (first.status !== 200) throw new Error(`GET /metrics answered ${first.status}: ${body.slice(0, 300)}`);
    const scrapes = await runSequence({ urls: Array(METRICS_SCRAPES).fill(url), headers, concurrency: 1, keepLatencies: true });
    const latencies = summarizeLatencies(scrapes.latenciesMs!);
    run.details.metrics10k = { firstMs, bytes: Buffer.byteLength(body), series: body.split('\n').filter((line) => line && !line.startsWith('#')).length, latencyMs: latencies };
    run.report.record({ scenario, metric: 'GET /metrics at 10,000 tenants, first (measures every context)', value: firstMs, unit: 'ms' });
    run.report.record({ scenario, metric: `GET /metrics at 10,000 tenants, p95 of ${METRICS_SCRAPES}`, value: latencies.p95, unit: 'ms', target: { op: '<=', value: ISSUE.metricsMs }, note: `p50 ${latencies.p50.toFixed(1)} ms` });
    run.report.record({ scenario, metric: 'GET /metrics size', value: Buffer.byteLength(body) / 1024, unit: 'KB', target: { op: '<=', value: ISSUE.metricsKb } });
  } finally {
    await server.stop();
  }
  // The same registry in this process, without HTTP and the request pipeline: what the exposition itself costs.
  startServerMetrics({ enabled: true, volumeDir: volume.volumeDir, perContextLimit: loadSettings(process.env).metricsContexts, openConnections: () => 0 });
  await registry.metrics();
  const rendering: number[] = [];
  for (let i = 0; i < METRICS_SCRAPES; i++) {
    const started = performance.now();
    await registry.metrics();
    rendering.push(performance.now() - started);
  }
  const rendered = summarizeLatencies(rendering);
  run.report.record({ scenario, metric: `of which the exposition at 10,000 tenants, in-process, p95 of ${METRICS_SCRAPES}`, value: rendered.p95, unit: 'ms', note: `p50 ${rendered.p50.toFixed(2)} ms` });
}

async function metricsCost(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.rows);
  process.stderr.write('bench: 6. rows API with and without request metrics\n');
  const throughput = async (metrics: 'on' | 'off') => {
    const server = await startBenchServer(volume, { TRUTH_YARD_METRICS: metrics });
    try {
      const result = await runCannon({ url: `${server.baseUrl}${ROWS_URL}`, headers: server.headers, connections: 16, durationSec: run.durationSec, warmupSec: 1 });
      return result.requestsPerSec;
    } finally {
      await server.stop();
    }
  };
  // Alternated and repeated, because runs on a shared machine vary more than the cost measured.
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < METRICS_COST_ROUNDS; round++) {
    off.push(await throughput('off'));
    on.push(await throughput('on'));
  }
  const cost = 1 - median(on) / median(off);
  const perRequestUs = instrumentationMicroseconds();
  // The share of a request's time the instrumentation takes, at the throughput measured without it.
  const estimated = (perRequestUs / (1e6 / median(off))) * 100;
  run.details.metricsCost = { on, off, cost, perRequestUs, estimatedSharePercent: estimated };
  const scenario = '6 operations';
  run.report.record({ scenario, metric: `rows API req/s, metrics off (median of ${METRICS_COST_ROUNDS})`, value: median(off), unit: 'req/s', note: off.map((v) => v.toFixed(0)).join(', ') });
  run.report.record({ scenario, metric: `rows API req/s, metrics on (median of ${METRICS_COST_ROUNDS})`, value: median(on), unit: 'req/s', note: on.map((v) => v.toFixed(0)).join(', ') });
  run.report.record({ scenario, metric: 'throughput cost of metrics, on vs off', value: cost * 100, unit: '%', target: { op: '<=', value: ISSUE.metricsCostShare * 100 } });
  run.report.record({
    scenario,
    metric: 'the same from the instrumentation\'s own time per request',
    value: estimated,
    unit: '%',
    target: { op: '<=', value: ISSUE.metricsCostShare * 100 },
    note: `${perRequestUs.toFixed(2)} µs per rows request (labels, two increments, reuse counters), timed in this process`,
  });
}

const METRICS_COST_ROUNDS = 3;
const INSTRUMENTATION_RUNS = 200_000;

/** What metrics add to one rows request answered from reuse, in microseconds: what the middleware and browse call when counting is on. */
function instrumentationMicroseconds(): number {
  const route = classifyRoute(ROWS_URL.split('?')[0]!);
  const once = () => {
    const started = performance.now();
    countReuse('page');
    countReuse('count');
    observeHttp(routeLabel(route, true), 200, (performance.now() - started) / 1000);
  };
  for (let i = 0; i < 10_000; i++) once();
  const started = performance.now();
  for (let i = 0; i < INSTRUMENTATION_RUNS; i++) once();
  return ((performance.now() - started) * 1000) / INSTRUMENTATION_RUNS;
}

export async function operationsScenarios(run: BenchRun): Promise<void> {
  await snapshotUnderWrites(run);
  await metricsAtTenThousand(run);
  await metricsCost(run);
}
