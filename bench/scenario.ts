import type { BenchReport } from './report.ts';
import type { CannonResult } from './load.ts';

export const SCENARIOS = ['rows', 'pages', 'ceiling', 'isolation', 'browse', 'scale', 'analytics', 'reliability', 'operations'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchRun {
  only: ReadonlySet<ScenarioName>;
  /** Seconds of each measured load run (BENCH_DURATION). */
  durationSec: number;
  report: BenchReport;
  /** Every full result, by name, for bench/results/latest.json. */
  details: Record<string, unknown>;
}

/** The usual figures of one load run, as table rows. */
export function recordCannon(run: BenchRun, scenario: string, result: CannonResult, p95Target?: { value: number; source?: string }): void {
  const { report } = run;
  report.record({ scenario, metric: 'requests/s', value: result.requestsPerSec, unit: 'req/s' });
  report.record({ scenario, metric: 'p50', value: result.latency.p50, unit: 'ms' });
  report.record({ scenario, metric: 'p95', value: result.latency.p95, unit: 'ms', target: p95Target && { op: '<=', ...p95Target } });
  report.record({ scenario, metric: 'p99', value: result.latency.p99, unit: 'ms' });
  const codes = Object.entries(result.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count} × ${code}`)
    .join(', ');
  report.record({ scenario, metric: 'non-2xx answers', value: result.non2xx, unit: '', target: { op: '=', value: 0 }, note: codes || undefined });
  report.record({ scenario, metric: 'errors (no answer)', value: result.errors, unit: '', target: { op: '=', value: 0 } });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
