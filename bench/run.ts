/**
 * `npm run bench`: measures the production build of the console on synthetic volumes and
 * prints every figure next to its target, then writes bench/results/latest.json.
 * Load comes from separate processes on 127.0.0.1, each run bounded in time.
 *
 *   npm run bench                              every scenario
 *   npm run bench -- --only rows,isolation     a subset: rows, pages, ceiling, isolation, browse, scale, analytics, reliability, operations
 *   BENCH_DURATION=3 npm run bench             seconds per measured load run (default 10)
 */
import { parseArgs } from 'node:util';
import { ensureServerBuilt } from '../src/lib/server/web/launcher.ts';
import { killAllChildren } from './children.ts';
import { BenchReport, machine, RESULTS_FILE, verdict, writeResults } from './report.ts';
import { rowsScenarios } from './rows-scenarios.ts';
import { browseScenarios } from './browse-scenarios.ts';
import { scaleScenarios } from './scale-scenarios.ts';
import { reliabilityScenarios } from './reliability-scenarios.ts';
import { analyticsScenarios } from './analytics-scenarios.ts';
import { operationsScenarios } from './operations-scenarios.ts';
import { SCENARIOS, type BenchRun, type ScenarioName } from './scenario.ts';

const ROWS_VOLUME_SCENARIOS: ScenarioName[] = ['rows', 'pages', 'ceiling', 'isolation'];
const MAX_DURATION_SEC = 120;

class BenchUsageError extends Error {}

function parseOptions(): { only: Set<ScenarioName>; durationSec: number } {
  const { values } = parseArgs({ options: { only: { type: 'string' } }, strict: true });
  const names = values.only ? values.only.split(',').map((name) => name.trim()).filter(Boolean) : [...SCENARIOS];
  const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new BenchUsageError(`--only takes a comma-separated list of ${SCENARIOS.join(', ')}; got "${values.only}"`);
  const rawDuration = process.env.BENCH_DURATION ?? '10';
  const durationSec = Number(rawDuration);
  if (!Number.isInteger(durationSec) || durationSec < 1 || durationSec > MAX_DURATION_SEC) {
    throw new BenchUsageError(`BENCH_DURATION must be a whole number of seconds from 1 to ${MAX_DURATION_SEC}, got "${rawDuration}"`);
  }
  return { only: new Set(names as ScenarioName[]), durationSec };
}

async function main(): Promise<number> {
  const started = performance.now();
  const { only, durationSec } = parseOptions();
  const run: BenchRun = { only, durationSec, report: new BenchReport(), details: {} };
  const host = machine();
  process.stderr.write(`bench: ${host.cpuCount} × ${host.cpuModel}, ${host.totalMemoryMb} MB, Node ${host.node}; ${durationSec} s per load run; scenarios: ${[...only].join(', ')}\n`);
  ensureServerBuilt();
  let failure: unknown;
  try {
    if (ROWS_VOLUME_SCENARIOS.some((name) => only.has(name))) await rowsScenarios(run);
    if (only.has('browse')) await browseScenarios(run);
    if (only.has('scale')) await scaleScenarios(run);
    if (only.has('analytics')) await analyticsScenarios(run);
    if (only.has('reliability')) await reliabilityScenarios(run);
    if (only.has('operations')) await operationsScenarios(run);
  } catch (error) {
    // What was measured before the failure is still printed and written.
    failure = error;
  } finally {
    killAllChildren();
  }
  const wallSec = (performance.now() - started) / 1000;
  process.stdout.write(`\n${run.report.table()}\n\nwall time ${wallSec.toFixed(0)} s\n`);
  writeResults({
    date: new Date().toISOString(),
    machine: host,
    durationSec,
    scenarios: [...only],
    wallSec,
    failure: failure ? String((failure as Error).stack ?? failure) : null,
    measurements: run.report.measurements.map((m) => ({ ...m, result: verdict(m) || null })),
    details: run.details,
  });
  process.stdout.write(`written to ${RESULTS_FILE}\n`);
  if (failure) {
    process.stderr.write(`bench: stopped early: ${(failure as Error).stack ?? failure}\n`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (!(error instanceof BenchUsageError)) throw error;
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 2;
}
