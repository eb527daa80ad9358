import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { Settings } from '../lib/server/core/config.ts';
import { openConsoleStore } from '../lib/server/store/database.ts';
import { driftReport } from '../lib/server/store/analytics-refreshes.ts';
import { refreshAnalytics, type RefreshProgress } from '../lib/server/analytics/refresh.ts';
import { exportAnalytics } from '../lib/server/analytics/export.ts';
import { EXIT, printJson, printTable } from './output.ts';

export interface AnalyticsCommandContext {
  settingsFor: () => Settings;
  reporting: <A extends unknown[]>(action: (...args: A) => number | Promise<number>) => (...args: A) => void | Promise<void>;
}

/** One bar that follows the refresh's phases (scan, read tenants, build) on a terminal. */
function refreshProgressBar(enabled: boolean): { update: (progress: RefreshProgress) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: '{bar} {value}/{total} {phase}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update: ({ phase, done, total }) => {
      if (!started) bar.start(total, done, { phase });
      started = true;
      bar.setTotal(total);
      bar.update(done, { phase: phase === 'read' ? 'tenants read' : phase });
    },
    stop: () => bar.stop(),
  };
}

export function registerAnalyticsCommands(program: Command, { settingsFor, reporting }: AnalyticsCommandContext): void {
  const analytics = program.command('analytics').description('fleet analytics: a DuckDB composite over every tenant (refresh, export, drift)');

  analytics
    .command('refresh')
    .description('read tenants whose databases changed since the last refresh into the analytics (all of them with --full)')
    .option('--full', 'read every tenant again')
    .option('--json', 'machine-readable output')
    .action(reporting(async (options: { full?: boolean; json?: boolean }) => {
      const settings = settingsFor();
      const store = openConsoleStore(settings.stateDir);
      const bar = refreshProgressBar(!options.json);
      let result;
      try {
        result = await refreshAnalytics({ volumeDir: settings.volumeDir, stateDir: settings.stateDir, store, actor: 'cli', full: options.full, memoryMb: settings.analyticsMemoryMb, onProgress: bar.update });
      } finally {
        bar.stop();
        store.close();
      }
      // The process's own peak memory and CPU time, for the benchmark (on a busy machine, wall time says little).
      const usage = process.resourceUsage();
      if (options.json) printJson({ ...result, peakRssMb: Math.round(usage.maxRSS / 1024), cpuSeconds: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e5) / 10 });
      else {
        process.stdout.write(
          `${result.outcome === 'error' ? 'FAILED, the previous analytics keep serving' : `${result.mode} refresh`}: ${result.tenantsRead} of ${result.tenantsTotal} tenants read, ${result.tenantsRemoved} removed, ${result.rowsRead} rows, ${(result.durationMs / 1000).toFixed(1)} s; drift: ${result.drift.error} error, ${result.drift.warn} warn, ${result.drift.info} info\n`,
        );
        for (const problem of result.problems) process.stdout.write(`  ${problem.subject}: ${problem.message}\n`);
      }
      return result.outcome === 'ok' ? EXIT.ok : EXIT.problems;
    }));

  analytics
    .command('export')
    .description('write every analytics table as Parquet partitioned by tenant (hive layout: <out>/<table>/tenant=<id>/…)')
    .requiredOption('--out <dir>', 'folder to write into')
    .option('--json', 'machine-readable output')
    .action(reporting(async (options: { out: string; json?: boolean }) => {
      const settings = settingsFor();
      const started = performance.now();
      const tables = await exportAnalytics(settings.stateDir, path.resolve(options.out), settings.analyticsMemoryMb);
      if (options.json) printJson({ tables, durationMs: Math.round(performance.now() - started) });
      else printTable(['TABLE', 'ROWS', 'FOLDER'], tables.map((t) => [t.table, String(t.rows), t.dir]));
      return EXIT.ok;
    }));

  analytics
    .command('drift')
    .description('tenants whose gathered objects differ from what most tenants have (latest refresh)')
    .option('--json', 'machine-readable output')
    .action(reporting((options: { json?: boolean }) => {
      const store = openConsoleStore(settingsFor().stateDir);
      const entries = driftReport(store);
      store.close();
      if (options.json) printJson({ drift: entries });
      else printTable(['SEVERITY', 'TENANT', 'TABLE', 'KIND', 'COLUMN', 'MESSAGE'], entries.map((e) => [e.severity, e.tenant, e.table, e.kind, e.column ?? '', e.message]));
      return entries.some((e) => e.severity !== 'info') ? EXIT.problems : EXIT.ok;
    }));
}
