/**
 * Scenarios 1–4 on one tenant with two attached databases of 500,000 findings each: the
 * light rows page (JSON and HTML), a filtered page, a deep keyset page, a CSV export, the
 * bare-server ceiling and the light page under heavy ad-hoc aggregations.
 */
import { autoDbPath, resolveContext } from '../src/lib/server/volume/contexts.ts';
import { connectComposite } from '../src/lib/server/composite/connect.ts';
import { resolveObject } from '../src/lib/server/query/objects.ts';
import { browseRows, parseBrowseRequest } from '../src/lib/server/query/browse.ts';
import { loadSettings } from '../src/lib/server/core/config.ts';
import { startTypeScript, stopChild } from './children.ts';
import { runCannon, runDownloads, startLoad } from './load-client.ts';
import type { CannonJob, CannonResult } from './load.ts';
import { newCursorSecret, rowsPageJson } from './rows-page.ts';
import { recordCannon, sleep, type BenchRun } from './scenario.ts';
import { startBenchServer, type BenchServer } from './server.ts';
import { freePort } from '../src/testing/console-server.ts';
import { median, medianMs, summarizeLatencies } from './stats.ts';
import { ensureVolume, VOLUME_SPECS, type BenchVolume } from './volumes.ts';

const TENANT = 't00001';
const CONTEXT = `tenant/${TENANT}`;
const OBJECT = 'all_findings';
const PAGE_QUERY = '_sort=created_at&_desc=1&_size=50';
const FILTERED_QUERY = `severity=high&${PAGE_QUERY}`;
const CONNECTIONS = 16;
const DEEP_PAGE = 2000;
const EXPORT_ROWS = 100_000;
const EXPORT_DOWNLOADS = 3;
const RAW_RUNS = 1000;
const HEAVY_CLIENTS = 4;
const HEAVY_SQL = 'SELECT severity, status, count(*) FROM all_findings GROUP BY severity, status';

const ISSUE = { rowsP95Ms: 10, ceilingRatio: 0.5, isolationRatio: 2 };

function cannonJob(run: BenchRun, url: string, headers: Record<string, string> = {}): Omit<CannonJob, 'kind'> {
  return { url, headers, connections: CONNECTIONS, durationSec: run.durationSec, warmupSec: 1 };
}

async function getJson(url: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as Record<string, unknown>;
}

/** Context shared by the scenarios of this volume: one server, the light page measured once. */
interface RowsBench {
  run: BenchRun;
  volume: BenchVolume;
  server: BenchServer;
  api: string;
  lightUrl: string;
  light?: CannonResult;
  /** The light page on a console with result reuse off. */
  lightUncached?: CannonResult;
}

async function lightPage(bench: RowsBench): Promise<CannonResult> {
  bench.light ??= await runCannon(cannonJob(bench.run, bench.lightUrl, bench.server.headers));
  return bench.light;
}

async function rowsJson(bench: RowsBench): Promise<void> {
  const { run } = bench;
  process.stderr.write(`bench: 1. rows JSON, ${CONNECTIONS} connections, ${run.durationSec} s\n`);
  const result = await lightPage(bench);
  run.details.rowsJson = result;
  recordCannon(run, '1 rows JSON', result, { value: ISSUE.rowsP95Ms });

  // The same page with nothing reused, as when every request asks for another page or the
  // evidence changes between requests: each one reads the keyset page and counts again.
  process.stderr.write(`bench: 1. rows JSON again with TRUTH_YARD_RESULT_CACHE_MB=0 and TRUTH_YARD_COUNT_CACHE_ENTRIES=0, ${run.durationSec} s\n`);
  const uncachedServer = await startBenchServer(bench.volume, { TRUTH_YARD_RESULT_CACHE_MB: '0', TRUTH_YARD_COUNT_CACHE_ENTRIES: '0' });
  try {
    const uncached = await runCannon(cannonJob(run, bench.lightUrl.replace(bench.server.baseUrl, uncachedServer.baseUrl), uncachedServer.headers));
    run.details.rowsJsonUncached = uncached;
    bench.lightUncached = uncached;
    recordCannon(run, '1 rows JSON, reuse off', uncached);
  } finally {
    await uncachedServer.stop();
  }
}

/** The cursor of page `page`, by following nextCursor from the first page. */
async function walkToPage(bench: RowsBench, page: number): Promise<{ url: string; latenciesMs: number[] }> {
  let url = bench.lightUrl;
  const latenciesMs: number[] = [];
  for (let current = 1; current < page; current += 1) {
    const started = performance.now();
    const body = await getJson(url, bench.server.headers);
    latenciesMs.push(performance.now() - started);
    if (typeof body.nextCursor !== 'string') throw new Error(`page ${current} has no next page; the volume holds fewer than ${page} pages`);
    url = `${bench.lightUrl}&_cursor=${encodeURIComponent(body.nextCursor)}`;
  }
  return { url, latenciesMs };
}

/** The created_at from which the newest EXPORT_ROWS findings start, read on a composite connection of our own. */
function exportThreshold(volume: BenchVolume): { value: string; rows: number } {
  const context = resolveContext(volume.volumeDir, CONTEXT);
  const { db } = connectComposite(context.name, context.dir, autoDbPath(context));
  try {
    const value = db.prepare(`SELECT created_at FROM ${OBJECT} ORDER BY created_at DESC LIMIT 1 OFFSET ?`).pluck().get(EXPORT_ROWS - 1) as string;
    const rows = db.prepare(`SELECT count(*) FROM ${OBJECT} WHERE created_at >= ?`).pluck().get(value) as number;
    return { value, rows };
  } finally {
    db.close();
  }
}

async function otherPages(bench: RowsBench): Promise<void> {
  const { run, server, api } = bench;
  process.stderr.write('bench: 2. HTML page, filtered page, deep keyset page, CSV export\n');
  const html = await runCannon(cannonJob(run, `${server.baseUrl}/tenants/${TENANT}/objects/${OBJECT}?${PAGE_QUERY}`, server.headers));
  run.details.rowsHtml = html;
  recordCannon(run, '2 rows HTML', html);

  const filtered = await runCannon(cannonJob(run, `${api}/rows?${FILTERED_QUERY}`, server.headers));
  run.details.filteredJson = filtered;
  recordCannon(run, '2 filtered+sorted JSON', filtered);

  const walk = await walkToPage(bench, DEEP_PAGE);
  const walkLatency = summarizeLatencies(walk.latenciesMs);
  run.report.record({ scenario: '2 deep keyset', metric: `walk pages 1–${DEEP_PAGE - 1}, 1 client, p50`, value: walkLatency.p50, unit: 'ms' });
  run.report.record({ scenario: '2 deep keyset', metric: `walk pages 1–${DEEP_PAGE - 1}, 1 client, p95`, value: walkLatency.p95, unit: 'ms' });
  const deep = await runCannon(cannonJob(run, walk.url, server.headers));
  run.details.deepKeyset = { walkLatency, page: DEEP_PAGE, result: deep };
  recordCannon(run, `2 page ${DEEP_PAGE.toLocaleString('en-US')} JSON`, deep);
  if (bench.light) {
    run.report.record({
      scenario: `2 page ${DEEP_PAGE.toLocaleString('en-US')} JSON`,
      metric: 'p95 / page 1 p95',
      value: deep.latency.p95 / bench.light.latency.p95,
      unit: '×',
      target: { op: '<=', value: 2, source: 'README: page 2,000 served like page 2' },
    });
  }

  const threshold = exportThreshold(bench.volume);
  const exportUrl = `${api}/rows.csv?created_at__gte=${encodeURIComponent(threshold.value)}&_sort=created_at&_desc=1`;
  const downloads = (await runDownloads({ url: exportUrl, headers: server.headers, repeat: EXPORT_DOWNLOADS })).downloads;
  const failed = downloads.filter((d) => d.status !== 200);
  const mbPerSec = downloads.map((d) => d.bytes / 1e6 / d.seconds);
  run.details.csvExport = { url: exportUrl, expectedRows: threshold.rows, downloads };
  const scenario = `2 CSV export`;
  run.report.record({ scenario, metric: 'rows per download', value: downloads[0].lines - 1, unit: 'rows', note: failed.length ? `${failed.length} download(s) answered ${failed.map((d) => d.status).join(', ')}` : undefined });
  run.report.record({ scenario, metric: 'size', value: downloads[0].bytes / 1e6, unit: 'MB' });
  run.report.record({ scenario, metric: `time, median of ${EXPORT_DOWNLOADS}`, value: median(downloads.map((d) => d.seconds)), unit: 's' });
  run.report.record({ scenario, metric: `throughput, median of ${EXPORT_DOWNLOADS}`, value: median(mbPerSec), unit: 'MB/s' });
}


/** The raw query in this process: browseRows alone, and the whole of what the bare server does per request. */
function rawQueryTimes(volume: BenchVolume): { browseRowsMs: number; bareHandlerMs: number } {
  const context = resolveContext(volume.volumeDir, CONTEXT);
  const { db } = connectComposite(context.name, context.dir, autoDbPath(context));
  try {
    const { rowCap } = loadSettings(process.env);
    const secret = newCursorSecret();
    const params = new URLSearchParams(PAGE_QUERY);
    const object = resolveObject(db, OBJECT);
    const request = parseBrowseRequest(params, object, rowCap, db);
    return {
      browseRowsMs: medianMs(RAW_RUNS, () => browseRows(db, object, request, { contextName: context.name, secret, rowCap })),
      bareHandlerMs: medianMs(RAW_RUNS, () => rowsPageJson(db, context.name, secret, OBJECT, params)),
    };
  } finally {
    db.close();
  }
}

async function ceiling(bench: RowsBench): Promise<void> {
  const { run, volume, server } = bench;
  process.stderr.write('bench: 3. ceiling: a bare node:http server over the same composite connection and query; the console floor (/api/me)\n');
  const console_ = await lightPage(bench);
  const port = await freePort();
  const bare = startTypeScript('bench/bare-server.ts', [JSON.stringify({ volumeDir: volume.volumeDir, context: CONTEXT, port })]);
  try {
    await new Promise<void>((resolve, reject) => {
      bare.stdout!.once('data', () => resolve());
      bare.once('exit', (code) => reject(new Error(`bench/bare-server.ts exited ${code} before it was ready`)));
    });
    const bareUrl = `http://127.0.0.1:${port}/api/tenants/${TENANT}/objects/${OBJECT}/rows?${PAGE_QUERY}`;
    // Both must answer the same rows, or the comparison means nothing.
    const [fromConsole, fromBare] = await Promise.all([getJson(bench.lightUrl, server.headers), getJson(bareUrl, {})]);
    if (JSON.stringify(fromConsole.rows) !== JSON.stringify(fromBare.rows)) throw new Error('the bare server answered other rows than the console; the ceiling would not be comparable');
    const bareResult = await runCannon(cannonJob(run, bareUrl));
    // The console's floor: a signed-in API request that reads no composite (session check,
    // middleware, Astro's rendering), what every rows request pays before its query.
    const floor = await runCannon(cannonJob(run, `${server.baseUrl}/api/me`, server.headers));
    const raw = rawQueryTimes(volume);
    run.details.ceiling = { bare: bareResult, console: console_, floor, raw };
    recordCannon(run, '3 bare node:http', bareResult);
    recordCannon(run, '3 console floor: GET /api/me', floor);
    const scenario = '3 ceiling';
    run.report.record({ scenario, metric: 'console / bare throughput', value: console_.requestsPerSec / bareResult.requestsPerSec, unit: '×', target: { op: '>=', value: ISSUE.ceilingRatio } });
    if (bench.lightUncached) {
      // The bare server reads the page and counts on every request, so this is the like-for-like ratio.
      run.report.record({ scenario, metric: 'console with reuse off / bare throughput', value: bench.lightUncached.requestsPerSec / bareResult.requestsPerSec, unit: '×' });
    }
    run.report.record({
      scenario,
      metric: 'console overhead per request',
      value: 1000 / console_.requestsPerSec - 1000 / bareResult.requestsPerSec,
      unit: 'ms',
      note: '1000/console req/s − 1000/bare req/s: serving time per request the console adds at saturation',
    });
    run.report.record({ scenario, metric: 'console − bare p50', value: console_.latency.p50 - bareResult.latency.p50, unit: 'ms' });
    run.report.record({ scenario, metric: `raw browseRows, median of ${RAW_RUNS}`, value: raw.browseRowsMs, unit: 'ms' });
    run.report.record({ scenario, metric: `bare handler work (page + count + JSON), median of ${RAW_RUNS}`, value: raw.bareHandlerMs, unit: 'ms' });
  } finally {
    await stopChild(bare);
  }
}

async function isolation(bench: RowsBench): Promise<void> {
  const { run, server } = bench;
  process.stderr.write(`bench: 4. isolation: light page alone, then while ${HEAVY_CLIENTS} clients run a GROUP BY over all findings\n`);
  const sqlUrl = `${server.baseUrl}/api/tenants/${TENANT}/sql`;
  const heavyHeaders = { ...server.headers, origin: server.baseUrl, 'content-type': 'application/json' };
  const body = JSON.stringify({ sql: HEAVY_SQL });
  const probe = await fetch(sqlUrl, { method: 'POST', headers: heavyHeaders, body });
  const probeText = await probe.text();
  const scenario = '4 isolation';
  if (probe.status === 404) {
    run.details.isolation = { probeStatus: 404, probe: probeText.slice(0, 300) };
    run.report.record({ scenario, metric: 'light p95 under load / alone', value: null, unit: '×', target: { op: '<=', value: ISSUE.isolationRatio }, note: `POST ${new URL(sqlUrl).pathname} answered 404: the ad-hoc SQL endpoint is not there` });
    return;
  }

  const alone = await runCannon(cannonJob(run, bench.lightUrl, server.headers));
  const preloadSec = 2;
  const heavy = startLoad<'cannon'>({ kind: 'cannon', url: sqlUrl, method: 'POST', headers: heavyHeaders, body, connections: HEAVY_CLIENTS, durationSec: preloadSec + 1 + run.durationSec + 1, warmupSec: 0 });
  await heavy.started;
  // Let the heavy queries reach the server and occupy it before measuring.
  await sleep(preloadSec * 1000);
  const underLoad = await runCannon(cannonJob(run, bench.lightUrl, server.headers));
  const heavyResult = await heavy.result;
  run.details.isolation = { probeStatus: probe.status, alone, underLoad, heavy: heavyResult };

  run.report.record({ scenario, metric: 'light p95 alone', value: alone.latency.p95, unit: 'ms' });
  run.report.record({ scenario, metric: 'light p95 under heavy load', value: underLoad.latency.p95, unit: 'ms' });
  run.report.record({ scenario, metric: 'light requests/s under heavy load', value: underLoad.requestsPerSec, unit: 'req/s', note: `alone ${alone.requestsPerSec.toFixed(0)} req/s` });
  const heavyCodes = Object.entries(heavyResult.statusCodes).map(([code, count]) => `${count} × ${code}`).join(', ');
  run.report.record({
    scenario,
    metric: 'light p95 under load / alone',
    value: underLoad.latency.p95 / alone.latency.p95,
    unit: '×',
    target: { op: '<=', value: ISSUE.isolationRatio },
    note: underLoad.non2xx + underLoad.errors > 0 ? `light page under load: ${underLoad.non2xx} non-2xx, ${underLoad.errors} errors` : undefined,
  });
  run.report.record({ scenario, metric: 'heavy aggregations answered 2xx', value: heavyResult.responses - heavyResult.non2xx, unit: 'queries', note: `probe answered ${probe.status}; heavy answers: ${heavyCodes || 'none'}, ${heavyResult.errors} errors` });
  run.report.record({ scenario, metric: 'heavy aggregation p50', value: heavyResult.latency.p50, unit: 'ms' });
}

export async function rowsScenarios(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.rows);
  run.report.record({
    scenario: 'setup',
    metric: 'yard sample 1 tenant × 2 dbs × 500,000 rows',
    value: volume.generationSec,
    unit: 's',
    note: volume.generatedNow ? undefined : 'reused; the time is from when it was generated',
  });
  const server = await startBenchServer(volume);
  try {
    const api = `${server.baseUrl}/api/tenants/${TENANT}/objects/${OBJECT}`;
    const bench: RowsBench = { run, volume, server, api, lightUrl: `${api}/rows?${PAGE_QUERY}` };
    const first = await getJson(bench.lightUrl, server.headers);
    if (!Array.isArray(first.rows) || first.rows.length !== 50) throw new Error(`${bench.lightUrl} answered ${JSON.stringify(first).slice(0, 300)}`);
    if (run.only.has('rows')) await rowsJson(bench);
    if (run.only.has('pages')) await otherPages(bench);
    if (run.only.has('ceiling')) await ceiling(bench);
    if (run.only.has('isolation')) await isolation(bench);
  } finally {
    await server.stop();
  }
}
