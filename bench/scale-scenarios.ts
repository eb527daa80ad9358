/**
 * Scenario 5: regenerating 1,000 composites from the command line, and a console serving
 * 10,000 tenants: the contexts page, opening a composite cold, and what the process holds
 * (memory, file descriptors) once every tenant has been touched.
 */
import { loadSettings } from '../src/lib/server/core/config.ts';
import { runToEnd, startNode } from './children.ts';
import { runSequence, startLoad } from './load-client.ts';
import type { BenchRun } from './scenario.ts';
import { processFigures, startBenchServer, type ProcessFigures } from './server.ts';
import { median } from './stats.ts';
import { ensureVolume, VOLUME_SPECS, type BenchVolume } from './volumes.ts';

const ISSUE = { regenerateAllSec: 10, contextsPageP95Ms: 100, rssMb: 300 };
const CONTEXTS_PAGE_REQUESTS = 20;
const WARM_UP_TENANT = 't00001';
const COLD_TENANTS = ['t05000', 't07500', 't09999'];
const WARM_REPEATS = 5;
const TOUCH_CONCURRENCY = 4;
const SAMPLE_EVERY_MS = 200;

const tenantIds = (count: number) => Array.from({ length: count }, (_, n) => `t${String(n + 1).padStart(5, '0')}`);

function recordGeneration(run: BenchRun, volume: BenchVolume): void {
  const { tenants, dbsPerTenant, rows } = volume.spec;
  run.report.record({
    scenario: 'setup',
    metric: `yard sample ${tenants.toLocaleString('en-US')} tenants × ${dbsPerTenant} db × ${rows} rows`,
    value: volume.generationSec,
    unit: 's',
    note: volume.generatedNow ? 'includes regenerating every composite' : 'reused; the time is from when it was generated',
  });
}

async function regenerateAll(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.tenants1k);
  recordGeneration(run, volume);
  process.stderr.write('bench: 5. yard regenerate --all on 1,000 tenants\n');
  const startup = await runToEnd(startNode(['bin/yard.mjs', '--help']));
  const regenerate = await runToEnd(startNode(['bin/yard.mjs', '--volume', volume.volumeDir, '--state-dir', volume.stateDir, 'regenerate', '--all', '--json']));
  const results = JSON.parse(regenerate.stdout || '[]') as Array<{ ok: boolean }>;
  const failed = results.filter((r) => !r.ok).length;
  run.details.regenerateAll = { contexts: results.length, failed, exitCode: regenerate.code, seconds: regenerate.elapsedMs / 1000, cliStartupSeconds: startup.elapsedMs / 1000 };
  const scenario = '5 scale 1,000 tenants';
  run.report.record({
    scenario,
    metric: `yard regenerate --all (${results.length} contexts)`,
    value: regenerate.elapsedMs / 1000,
    unit: 's',
    target: { op: '<=', value: ISSUE.regenerateAllSec },
    note: regenerate.code !== 0 || failed > 0 ? `exit ${regenerate.code}, ${failed} failed` : undefined,
  });
  run.report.record({ scenario, metric: 'of which CLI start-up (yard --help)', value: startup.elapsedMs / 1000, unit: 's' });
}

/** Polls a process's memory and descriptors while `work` runs; returns the largest seen. */
async function watchWhile<T>(pid: number, work: Promise<T>): Promise<{ value: T; maxFds: number; maxRssMb: number }> {
  let maxFds = 0;
  let maxRssMb = 0;
  const sample = () => {
    const figures = processFigures(pid);
    maxFds = Math.max(maxFds, figures.fds);
    maxRssMb = Math.max(maxRssMb, figures.rssMb);
  };
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  try {
    const value = await work;
    sample();
    return { value, maxFds, maxRssMb };
  } finally {
    clearInterval(timer);
  }
}

async function tenThousandTenants(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.tenants10k);
  recordGeneration(run, volume);
  const settings = loadSettings(process.env);
  const server = await startBenchServer(volume);
  const scenario = '5 scale 10,000 tenants';
  try {
    process.stderr.write('bench: 5. contexts page, cold composite, memory and descriptors at 10,000 tenants\n');
    const idle: ProcessFigures = processFigures(server.pid);
    const headers = server.headers;

    const contextsUrl = `${server.baseUrl}/admin/contexts`;
    const contexts = await runSequence({ urls: Array(CONTEXTS_PAGE_REQUESTS + 1).fill(contextsUrl), headers, concurrency: 1, keepLatencies: true });
    const [firstMs, ...rest] = contexts.latenciesMs!;
    const sorted = [...rest].sort((a, b) => a - b);
    const contextsP95 = sorted[Math.ceil(0.95 * sorted.length) - 1];
    const nonOk = Object.entries(contexts.statusCodes).filter(([code]) => code !== '200');
    run.report.record({ scenario, metric: '/admin/contexts first request', value: firstMs, unit: 'ms' });
    run.report.record({ scenario, metric: `/admin/contexts p50 (${rest.length} sequential)`, value: median(rest), unit: 'ms' });
    run.report.record({
      scenario,
      metric: `/admin/contexts p95 (${rest.length} sequential)`,
      value: contextsP95,
      unit: 'ms',
      target: { op: '<=', value: ISSUE.contextsPageP95Ms },
      note: nonOk.length ? `answers: ${nonOk.map(([code, count]) => `${count} × ${code}`).join(', ')}` : undefined,
    });

    const afterContextsPage = processFigures(server.pid);

    const rowsUrl = (tenant: string) => `${server.baseUrl}/api/tenants/${tenant}/objects/all_findings/rows?_sort=created_at&_desc=1&_size=50`;
    // The first rows request of a server also starts its query workers; that is not the composite's cost.
    const runtimeWarmUp = [rowsUrl(WARM_UP_TENANT), rowsUrl(WARM_UP_TENANT)];
    const openings = await runSequence({
      urls: [...runtimeWarmUp, ...COLD_TENANTS.flatMap((tenant) => Array(1 + WARM_REPEATS).fill(rowsUrl(tenant)))],
      headers,
      concurrency: 1,
      keepLatencies: true,
    });
    const latencies = openings.latenciesMs!.slice(runtimeWarmUp.length);
    const cold = COLD_TENANTS.map((_, n) => latencies[n * (1 + WARM_REPEATS)]);
    const warm = latencies.filter((_, index) => index % (1 + WARM_REPEATS) !== 0);
    run.report.record({ scenario, metric: `cold open: first rows GET of a tenant, median of ${COLD_TENANTS.length}`, value: median(cold), unit: 'ms', note: `each: ${cold.map((ms) => ms.toFixed(1)).join(', ')} ms` });
    run.report.record({ scenario, metric: `warm rows GET, median of ${warm.length}`, value: median(warm), unit: 'ms' });

    const tenants = tenantIds(volume.spec.tenants);
    const touch = startLoad<'sequence'>({ kind: 'sequence', urls: tenants.map((tenant) => `${server.baseUrl}/api/tenants/${tenant}/objects`), headers, concurrency: TOUCH_CONCURRENCY });
    const watched = await watchWhile(server.pid, touch.result);
    const after = processFigures(server.pid);
    const touched = watched.value;
    const touchFailures = Object.entries(touched.statusCodes).filter(([code]) => code !== '200');
    // Each cached composite holds its auto.db and its attached databases open, in the
    // request thread's pool and in each heavy-query worker's pool.
    const filesPerComposite = 1 + volume.spec.dbsPerTenant;
    const fdBound = idle.fds + (1 + settings.queryProcesses) * settings.connectionCacheSize * filesPerComposite;
    run.details.scale10k = { idle, afterContextsPage, after, touch: touched, maxFdsDuringTouch: watched.maxFds, maxRssMbDuringTouch: watched.maxRssMb, fdBound, settings: { connectionCacheSize: settings.connectionCacheSize, queryProcesses: settings.queryProcesses } };

    run.report.record({
      scenario,
      metric: `touch every tenant (GET …/objects, ${TOUCH_CONCURRENCY} at a time)`,
      value: touched.seconds,
      unit: 's',
      note: `p50 ${touched.latency.p50.toFixed(1)} ms, p95 ${touched.latency.p95.toFixed(1)} ms${touchFailures.length || touched.errors ? `; failures: ${touchFailures.map(([code, count]) => `${count} × ${code}`).join(', ')} ${touched.errors} errors` : ''}`,
    });
    run.report.record({ scenario, metric: 'server RSS idle', value: idle.rssMb, unit: 'MB' });
    run.report.record({ scenario, metric: 'server RSS after the contexts pages', value: afterContextsPage.rssMb, unit: 'MB' });
    run.report.record({ scenario, metric: 'server RSS after touching every tenant', value: after.rssMb, unit: 'MB', target: { op: '<=', value: ISSUE.rssMb } });
    run.report.record({ scenario, metric: 'server peak RSS (VmHWM)', value: after.peakRssMb, unit: 'MB', target: { op: '<=', value: ISSUE.rssMb } });
    run.report.record({ scenario, metric: 'server open fds idle', value: idle.fds, unit: '' });
    run.report.record({
      scenario,
      metric: 'server open fds, most seen while touching',
      value: watched.maxFds,
      unit: '',
      target: { op: '<=', value: fdBound, source: `idle + ${1 + settings.queryProcesses} pools × cache ${settings.connectionCacheSize} × ${filesPerComposite} files` },
    });
    run.report.record({ scenario, metric: 'server open fds after touching', value: after.fds, unit: '' });
  } finally {
    await server.stop();
  }
}

export async function scaleScenarios(run: BenchRun): Promise<void> {
  await regenerateAll(run);
  await tenThousandTenants(run);
}
