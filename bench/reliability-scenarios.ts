/**
 * Issue 9's figures: the four routes with result reuse on and off (cold speed), a writer
 * holding an EXCLUSIVE lock on one tenant, runaway views and the CPU afterwards, and
 * SIGTERM under load.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { resolveContext } from '../src/lib/server/volume/contexts.ts';
import { regenerateComposite } from '../src/lib/server/composite/regenerate.ts';
import { cpuShare } from '../src/testing/processes.ts';
import { PROJECT_ROOT } from './children.ts';
import { runCannon, startLoad } from './load-client.ts';
import type { CannonResult } from './load.ts';
import { recordCannon, sleep, type BenchRun } from './scenario.ts';
import { startBenchServer, type BenchServer } from './server.ts';
import { ensureVolume, VOLUME_SPECS, type BenchVolume } from './volumes.ts';

const TENANT = 't00001';
const CONNECTIONS = 16;
const NEWEST = '_sort=created_at&_desc=1&_size=50';
/** Today's figure for the table page as HTML with result reuse off, from the issue. */
const TABLE_HTML_BEFORE = 455;

const cannon = (run: BenchRun, server: BenchServer, pathname: string) =>
  runCannon({ url: `${server.baseUrl}${pathname}`, headers: server.headers, connections: CONNECTIONS, durationSec: run.durationSec, warmupSec: 1 });

/** The filtered route as the issue measured it: an index on severity the planner prefers, with statistics. */
function indexSeverity(volume: BenchVolume): void {
  const db = new Database(path.join(volume.volumeDir, 'embedded/tenant', TENANT, 'area01.sqlite.db'));
  try {
    db.exec('CREATE INDEX IF NOT EXISTS idx_findings_severity ON findings(severity); ANALYZE;');
  } finally {
    db.close();
  }
}

async function coldSpeed(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.rows);
  indexSeverity(volume);
  const routes = {
    'table JSON': `/api/tenants/${TENANT}/objects/area01.findings/rows?_size=50`,
    'table HTML': `/tenants/${TENANT}/objects/area01.findings?_size=50`,
    'filtered JSON (severity=high, newest 50)': `/api/tenants/${TENANT}/objects/area01.findings/rows?severity=high&${NEWEST}`,
    'cross-database view, newest 50': `/api/tenants/${TENANT}/objects/all_findings/rows?${NEWEST}`,
  };
  const results: Record<string, Record<string, CannonResult>> = {};
  for (const reuse of ['on', 'off'] as const) {
    const server = await startBenchServer(volume, reuse === 'off' ? { TRUTH_YARD_RESULT_CACHE_MB: '0' } : {});
    try {
      for (const [name, pathname] of Object.entries(routes)) {
        process.stderr.write(`bench: 9. ${name}, reuse ${reuse}, ${run.durationSec} s\n`);
        const result = await cannon(run, server, pathname);
        (results[name] ??= {})[reuse] = result;
        recordCannon(run, `9 ${name}, reuse ${reuse}`, result);
      }
    } finally {
      await server.stop();
    }
  }
  // The same view with its count read on every request too (TRUTH_YARD_COUNT_CACHE_ENTRIES=0), as before counts were kept apart.
  const everyCount = await startBenchServer(volume, { TRUTH_YARD_RESULT_CACHE_MB: '0', TRUTH_YARD_COUNT_CACHE_ENTRIES: '0' });
  try {
    process.stderr.write(`bench: 9. cross-database view, newest 50, pages and counts read on every request, ${run.durationSec} s\n`);
    recordCannon(run, '9 cross-database view, newest 50, counts not kept either', await cannon(run, everyCount, routes['cross-database view, newest 50']));
  } finally {
    await everyCount.stop();
  }
  run.details.coldSpeed = results;
  const off = (name: keyof typeof routes) => results[name].off.requestsPerSec;
  run.report.record({
    scenario: '9 filtered JSON, reuse off',
    metric: 'req/s / table JSON req/s',
    value: off('filtered JSON (severity=high, newest 50)') / off('table JSON'),
    unit: '×',
    target: { op: '>=', value: 0.7, source: 'issue 9' },
  });
  run.report.record({
    scenario: '9 table HTML, reuse off',
    metric: `req/s / ${TABLE_HTML_BEFORE} (before)`,
    value: off('table HTML') / TABLE_HTML_BEFORE,
    unit: '×',
    target: { op: '>=', value: 1.5, source: 'issue 9' },
  });
}

/** A process holding an EXCLUSIVE lock on `file` (rollback journal) until killed. */
function holdExclusiveLock(file: string): Promise<{ stop(): void }> {
  const script = `const db = new (require('better-sqlite3'))(process.argv[1]); db.exec('BEGIN EXCLUSIVE'); db.prepare('UPDATE findings SET title = title WHERE id = 1').run(); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ stop: () => child.kill('SIGKILL') }));
    child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it held the lock`)));
  });
}

async function faults(run: BenchRun): Promise<void> {
  const volume = await ensureVolume(VOLUME_SPECS.faults);
  const other = `/api/tenants/t00002/objects/all_findings/rows?${NEWEST}`;
  const locked = `/api/tenants/${TENANT}/objects/all_findings/rows?${NEWEST}`;
  const deadlineMs = 1000;
  let server = await startBenchServer(volume, { TRUTH_YARD_RESULT_CACHE_MB: '0', TRUTH_YARD_QUERY_TIMEOUT_MS: String(deadlineMs) });
  try {
    process.stderr.write(`bench: 9. exclusive-lock writer: other tenant idle, then with ${TENANT} locked and loaded\n`);
    const idle = await cannon(run, server, other);
    const writer = await holdExclusiveLock(path.join(volume.volumeDir, 'embedded/tenant', TENANT, 'area01.sqlite.db'));
    let lockedResult: CannonResult;
    let busy: CannonResult;
    const timedLocked: Array<{ status: number; ms: number }> = [];
    try {
      // The locked tenant's users keep asking meanwhile, one request after another.
      const lockedLoad = startLoad<'cannon'>({ kind: 'cannon', url: `${server.baseUrl}${locked}`, headers: server.headers, connections: 1, durationSec: run.durationSec + 2, warmupSec: 0 });
      await lockedLoad.started;
      busy = await cannon(run, server, other);
      lockedResult = await lockedLoad.result;
      for (let n = 0; n < 10; n += 1) {
        const started = performance.now();
        const response = await fetch(`${server.baseUrl}${locked}`, { headers: server.headers });
        await response.arrayBuffer();
        timedLocked.push({ status: response.status, ms: performance.now() - started });
      }
    } finally {
      writer.stop();
    }
    run.details.exclusiveLock = { idle, busy, locked: lockedResult, timedLocked };
    recordCannon(run, '9 other tenant, idle', idle);
    recordCannon(run, '9 other tenant, writer holding EXCLUSIVE', busy);
    run.report.record({ scenario: '9 other tenant, writer holding EXCLUSIVE', metric: 'p99 / idle p99', value: busy.latency.p99 / idle.latency.p99, unit: '×', target: { op: '<=', value: 2, source: 'issue 9' } });
    const answered503 = lockedResult.statusCodes['503'] ?? 0;
    run.report.record({ scenario: '9 locked tenant', metric: 'answers that are 503 database_busy', value: answered503 / Math.max(1, lockedResult.responses), unit: '×', target: { op: '=', value: 1 }, note: JSON.stringify(lockedResult.statusCodes) });
    run.report.record({
      scenario: '9 locked tenant',
      metric: 'slowest of 10 timed answers',
      value: Math.max(...timedLocked.map((answer) => answer.ms)),
      unit: 'ms',
      target: { op: '<=', value: deadlineMs, source: 'its deadline' },
      note: `statuses ${[...new Set(timedLocked.map((answer) => answer.status))].join(', ')}`,
    });

    process.stderr.write('bench: 9. runaway views: 3 views × 10 requests, then CPU back to idle\n');
    await server.stop();
    const runaway = resolveContext(volume.volumeDir, 'tenant/t00003');
    const views = ['endless_a', 'endless_b', 'endless_c'];
    const original = fs.readFileSync(path.join(runaway.dir, 'composite.sql'), 'utf8');
    fs.writeFileSync(
      path.join(runaway.dir, 'composite.sql'),
      `${original}\n${views.map((view) => `CREATE VIEW ${view} AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n;`).join('\n')}\n`,
    );
    try {
      if (!regenerateComposite(runaway).ok) throw new Error('the runaway views did not regenerate');
      server = await startBenchServer(volume, { TRUTH_YARD_QUERY_TIMEOUT_MS: String(deadlineMs) });
      const answers = await Promise.all(
        views.flatMap((view) =>
          Array.from({ length: 10 }, () => fetch(`${server.baseUrl}/api/tenants/t00003/objects/${view}/rows?_size=5`, { headers: server.headers }).then((response) => response.status)),
        ),
      );
      const lastAnswer = performance.now();
      let idleAfterMs: number | null = null;
      while (performance.now() - lastAnswer < 30_000) {
        if ((await cpuShare(server.pid, 250)) < 0.1) {
          idleAfterMs = performance.now() - lastAnswer;
          break;
        }
      }
      run.details.runaway = { answers, idleAfterMs };
      run.report.record({ scenario: '9 runaway views (3 × 10 requests)', metric: 'answers that are 504', value: answers.filter((status) => status === 504).length, unit: `of ${answers.length}` });
      run.report.record({ scenario: '9 runaway views (3 × 10 requests)', metric: 'CPU back to idle after the last answer', value: idleAfterMs === null ? null : idleAfterMs / 1000, unit: 's', target: { op: '<=', value: 2, source: 'issue 9' }, note: idleAfterMs === null ? 'not idle within 30 s' : undefined });
    } finally {
      fs.writeFileSync(path.join(runaway.dir, 'composite.sql'), original);
      regenerateComposite(runaway);
    }

    process.stderr.write('bench: 9. SIGTERM under load\n');
    const cut = await sigtermUnderLoad(server, other, run.durationSec);
    run.details.sigterm = cut;
    run.report.record({ scenario: '9 SIGTERM under load (16 clients)', metric: 'requests in flight cut', value: cut.cut, unit: '', target: { op: '=', value: 0 }, note: `${cut.answered} answered, ${cut.refused} refused after it stopped accepting; cut: ${JSON.stringify(cut.cutBy)}` });
  } finally {
    await server.stop();
  }
}

/**
 * 16 clients requesting one after another (a connection each, so a request is in flight
 * once sent), SIGTERM half way: every request sent before must be answered; afterwards
 * connections are refused, which is not a cut.
 */
async function sigtermUnderLoad(server: BenchServer, pathname: string, durationSec: number): Promise<{ answered: number; cut: number; refused: number; cutBy: Record<string, number> }> {
  const counts = { answered: 0, cut: 0, refused: 0, cutBy: {} as Record<string, number> };
  let stopping = false;
  const client = async () => {
    while (!stopping || counts.refused === 0) {
      try {
        const response = await fetch(`${server.baseUrl}${pathname}`, { headers: { ...server.headers, connection: 'close' } });
        await response.arrayBuffer();
        counts.answered += 1;
      } catch (error) {
        const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code === 'ECONNREFUSED') counts.refused += 1;
        else {
          counts.cut += 1;
          const cause = `${code ?? (error as Error).message}${stopping ? ' after SIGTERM' : ''}`;
          counts.cutBy[cause] = (counts.cutBy[cause] ?? 0) + 1;
        }
        if (stopping) return;
      }
    }
  };
  const clients = Array.from({ length: CONNECTIONS }, client);
  await sleep((durationSec * 1000) / 2);
  stopping = true;
  process.kill(server.pid, 'SIGTERM');
  await Promise.all(clients);
  return counts;
}

export async function reliabilityScenarios(run: BenchRun): Promise<void> {
  await coldSpeed(run);
  await faults(run);
}
