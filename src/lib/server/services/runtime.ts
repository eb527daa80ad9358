import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { getSettings, type Settings } from '../core/config.ts';
import { CompositePool, descriptorShares } from '../composite/pool.ts';
import { HeavyQueryExecutor } from '../execution/executor.ts';
import { AdhocSqlRunner } from '../execution/adhoc.ts';
import { ExportRunner } from '../execution/export-runner.ts';
import { QueryProcesses } from '../execution/processes.ts';
import { ResultCache } from '../execution/result-cache.ts';
import { CountCache } from '../execution/count-cache.ts';
import type { Facet } from '../query/facets.ts';
import type { RowCount } from '../query/browse.ts';
import { VolumeStatusIndex } from '../composite/status-index.ts';
import type { PlanStep, ReadResult } from '../query/run.ts';
import type { CompositeConnection } from '../composite/connect.ts';
import { resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { contextPath } from '../auth/routes.ts';
import { closeConsoleStore, getConsoleStore } from '../store/database.ts';
import { DownloadSlots } from './downloads.ts';
import type { OperationsScope } from './operations.ts';
import { AnalyticsReader } from '../analytics/reader.ts';
import { AnalyticsRefresher } from '../analytics/refresher.ts';
import { quotaLimitsFor } from '../quotas/quotas.ts';
import { ReadTimer } from '../slow-queries/slow-queries.ts';
import { startServerMetrics } from '../metrics/metrics.ts';
import type { SnapshotScope } from './snapshots.ts';
import { snapshotScopeFor } from './snapshot-scope.ts';
import { startRetention } from '../store/retention.ts';

/**
 * The long-lived pieces of one server process, created on first use: settings, the
 * console store and the composite connection pool. Pages and endpoints reach the volume
 * only through these.
 */
export interface ConsoleRuntime {
  settings: Settings;
  /** The served volume (settings.volumeDir), so the runtime is itself an operations scope for reads. */
  volumeDir: string;
  store: Database.Database;
  pool: CompositePool;
  /** Signs browse cursors; a restart invalidates old cursors, which then say so. */
  cursorSecret: Buffer;
  /** Killable read processes for counts, facets, chart aggregations and pages that are not index walks. */
  executor: HeavyQueryExecutor;
  /** Killable processes for ad-hoc SQL. */
  adhoc: AdhocSqlRunner;
  /** CSV and JSON downloads, read in killable processes too. */
  exports: ExportRunner;
  /** How many downloads run at once, per user and in all. */
  downloads: DownloadSlots;
  /** Browse pages, reused until their databases change. */
  results: ResultCache;
  /** Listings' row counts, reused until their databases change, counted once for requests arriving together. */
  counts: CountCache<RowCount>;
  /** Facet counts, reused until their databases change, counted once for requests arriving together. */
  facets: CountCache<Facet>;
  /** Every context's status, for the lists that show them all. */
  statusIndex: VolumeStatusIndex;
  /** A heavy read in a read process under the page deadline (TRUTH_YARD_QUERY_TIMEOUT_MS). */
  heavyRead(context: string, sql: string, params?: unknown[]): Promise<ReadResult>;
  /** EXPLAIN QUERY PLAN of a statement in a read process under the page deadline (the slow-query page). */
  queryPlan(context: string, sql: string): Promise<PlanStep[]>;
  /** The fleet analytics, read-only, from the last complete refresh. */
  analytics: AnalyticsReader;
  /** Refreshes of the analytics, each in a child process. */
  analyticsRefresher: AnalyticsRefresher;
  /** The scope for operations run on behalf of `actor`, wired to drop stale connections. */
  scopeFor(actor: string): OperationsScope;
  /** The same, with where snapshots are kept and how long. */
  snapshotScopeFor(actor: string): SnapshotScope;
  /** Times reads for the metrics and keeps the slow ones (TRUTH_YARD_SLOW_QUERY_MS). */
  reads: ReadTimer;
}

/**
 * A route's composite, ready to use: the context is known to exist and the user to be
 * allowed; the connection is opened on first use, so a page that only shows status still
 * works while the composite itself cannot be opened.
 */
export interface CompositeHandle {
  context: VolumeContext;
  /** URL prefix of the context's pages: `admin`, `cross-tenant`, `tenants/<id>`. */
  ctxPath: string;
  /** Who the request is for, named in the slow-query log of what it reads. */
  actor: string | null;
  connection(): CompositeConnection;
}

/** Throws UnknownContextError when the volume has no such context. */
export function compositeHandle(contextName: string, actor: string | null = null): CompositeHandle {
  const { settings, pool } = getRuntime();
  const context = resolveContext(settings.volumeDir, contextName);
  return { context, ctxPath: contextPath(context.name), actor, connection: () => pool.acquire(context.name) };
}

let runtime: ConsoleRuntime | undefined;

export function getRuntime(): ConsoleRuntime {
  if (!runtime) {
    const settings = getSettings();
    // Opened now, so a damaged console database is reported before anything else.
    getConsoleStore();
    const shares = descriptorShares(settings.fdBudget, settings.queryProcesses);
    // No busy timeout on this thread: a wait for a writer's lock would hold up every request.
    const pool = new CompositePool(settings.volumeDir, settings.connectionCacheSize, { busyTimeoutMs: 0, fdBudget: shares.server });
    // The connections of ad-hoc SQL and export processes are lent descriptors from the server's share.
    const processes = new QueryProcesses((context) => pool.lend(context));
    processes.prepare();
    const statusIndex = new VolumeStatusIndex(settings.volumeDir, getConsoleStore);
    // Checking a large volume takes seconds the first time; start before anyone asks.
    statusIndex.checkSoon();
    const executor = new HeavyQueryExecutor(settings.volumeDir, { connections: settings.connectionCacheSize, fdBudget: shares.readProcess }, settings.queryProcesses);
    const analyticsRefresher = new AnalyticsRefresher({ volumeDir: settings.volumeDir, stateDir: settings.stateDir, memoryMb: settings.analyticsMemoryMb });
    analyticsRefresher.startPeriodic(settings.analyticsRefreshSeconds);
    startServerMetrics({ enabled: settings.metricsEnabled, volumeDir: settings.volumeDir, perContextLimit: settings.metricsContexts, openConnections: () => pool.size });
    startRetention(getConsoleStore, settings);
    const scopeFor = (actor: string): OperationsScope => ({
      volumeDir: settings.volumeDir,
      store: getConsoleStore(),
      actor,
      onRegenerated: (name) => pool.forget(name),
      quotaLimits: (name) => quotaLimitsFor(settings, name),
    });
    // Whatever ends the process (server.mjs after its shutdown drain, a fatal error), its
    // query processes are stopped and its databases closed; 'exit' handlers must be synchronous.
    process.once('exit', () => {
      executor.close();
      processes.killAll();
      pool.closeAll();
      closeConsoleStore();
    });
    runtime = {
      settings,
      analytics: new AnalyticsReader(settings.stateDir, settings.analyticsMemoryMb),
      analyticsRefresher,
      volumeDir: settings.volumeDir,
      // Looked up on each use: a console database deleted or restored under the server is noticed.
      get store() {
        return getConsoleStore();
      },
      pool,
      cursorSecret: crypto.randomBytes(32),
      executor,
      adhoc: new AdhocSqlRunner(settings.volumeDir, processes, settings.sqlProcesses),
      exports: new ExportRunner(settings.volumeDir, processes),
      downloads: new DownloadSlots(settings.exportsPerUser, settings.exportsTotal),
      results: new ResultCache(settings.resultCacheMb * 1024 * 1024),
      counts: new CountCache<RowCount>(settings.countCacheEntries),
      facets: new CountCache<Facet>(settings.facetCacheEntries),
      statusIndex,
      heavyRead: (context, sql, params = []) => executor.run({ context, sql, params, rowCap: settings.rowCap }, settings.queryTimeoutMs),
      queryPlan: (context, sql) => executor.plan({ context, sql }, settings.queryTimeoutMs),
      scopeFor,
      snapshotScopeFor: (actor) => snapshotScopeFor(settings, scopeFor(actor)),
      reads: new ReadTimer(getConsoleStore, settings.slowQueryMs),
    };
  }
  return runtime;
}
