import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import type { ConsoleRuntime } from './runtime.ts';
import { pacedByClient } from './downloads.ts';
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

/** The slow-query log's name for the analytics composite, which is no context of the volume. */
export const ANALYTICS_CONTEXT = 'analytics';

/** Analytics SQL with the console's caps: the row cap, the SQL byte cap and the analytics deadline; timed as an `analytics` read for `actor`. */
export function runAnalyticsSql(runtime: ConsoleRuntime, sql: string, explain: boolean, actor: string | null = null): Promise<ReadResult> {
  const { rowCap, sqlByteCap, analyticsSqlTimeoutMs } = runtime.settings;
  return runtime.reads.time(
    { kind: 'analytics', context: ANALYTICS_CONTEXT, sql, actor },
    () => runtime.analytics.sql(sql, { explain, rowCap, byteCap: sqlByteCap, timeoutMs: analyticsSqlTimeoutMs }),
    (result) => result.rows.length,
  );
}

/**
 * One analytics table as a Parquet attachment, written by DuckDB to a file that is removed
 * however the download ends. The file is read at the client's pace (see pacedByClient):
 * Astro's adapter writes a streamed body without waiting for the socket, so a client that
 * stopped reading made the server hold the whole table in memory.
 */
export async function parquetDownload(runtime: ConsoleRuntime, output: Writable | undefined, table: string, abandoned?: AbortSignal): Promise<Response> {
  const { file, done } = await runtime.analytics.parquetOf(table, abandoned);
  const stream = fs.createReadStream(file);
  stream.once('close', done);
  // The file's own stream ends the download (and removes the file) when it closes, cancelled or read to the end.
  const body = pacedByClient(Readable.toWeb(stream) as ReadableStream<Uint8Array>, output, runtime.settings.exportStallMs, () => undefined);
  return new Response(body, {
    headers: {
      'content-type': 'application/vnd.apache.parquet',
      'content-length': String(fs.statSync(file).size),
      'content-disposition': `attachment; filename="${table}.parquet"`,
    },
  });
}
