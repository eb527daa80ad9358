import type { ConsoleRuntime } from './runtime.ts';
import { refreshHistory, type RefreshRecord } from '../store/analytics-refreshes.ts';
import type { ReadResult } from '../query/run.ts';
import type { AnalyticsOverview } from '../analytics/reader.ts';
import type { RefreshStatus } from '../analytics/refresher.ts';

/** What the analytics page and `GET /api/analytics` show: the served generation, a running refresh, recent runs. */
export interface AnalyticsState {
  /** Null before the first complete refresh. */
  overview: AnalyticsOverview | null;
  refresh: RefreshStatus;
  history: RefreshRecord[];
}

const HISTORY_LENGTH = 10;

export async function analyticsState(runtime: ConsoleRuntime): Promise<AnalyticsState> {
  return {
    overview: runtime.analytics.available() ? await runtime.analytics.overview() : null,
    refresh: runtime.analyticsRefresher.status(),
    history: refreshHistory(runtime.store, HISTORY_LENGTH),
  };
}

/** Analytics SQL with the console's caps: the row cap, the SQL byte cap and the analytics deadline. */
export function runAnalyticsSql(runtime: ConsoleRuntime, sql: string, explain: boolean): Promise<ReadResult> {
  const { rowCap, sqlByteCap, analyticsSqlTimeoutMs } = runtime.settings;
  return runtime.analytics.sql(sql, { explain, rowCap, byteCap: sqlByteCap, timeoutMs: analyticsSqlTimeoutMs });
}
