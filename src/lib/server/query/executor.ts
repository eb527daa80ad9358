import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { PROJECT_ROOT } from '../project-root.ts';
import { RequestError } from '../http.ts';
import { QueryTimeoutError, type ReadResult } from './run.ts';
import type { HeavyOutcome, HeavyTask } from './heavy-worker.ts';

export interface HeavyQuery {
  context: string;
  sql: string;
  params?: unknown[];
  rowCap: number;
}

/**
 * Runs heavy reads (counts, facets, chart aggregations) on worker threads so the event
 * loop, and with it every light page, stays free meanwhile. A query past its deadline is
 * answered with QueryTimeoutError at once; the pool then terminates that worker, which
 * SQLite lets go only when the statement ends (no interrupt in this build), and starts
 * another, so later queries are not queued behind it.
 */
export class HeavyQueryExecutor {
  readonly #pool: Piscina<HeavyTask, HeavyOutcome>;
  /** Settles once a worker has loaded: starting one takes most of a second, which no deadline should pay. */
  readonly #warm: Promise<unknown>;

  constructor(
    private readonly volumeDir: string,
    private readonly cacheSize: number,
    threads: number,
  ) {
    this.#pool = new Piscina({
      filename: pathToFileURL(path.join(PROJECT_ROOT, 'src/lib/server/query/heavy-worker.mjs')).href,
      minThreads: threads,
      maxThreads: threads,
    });
    this.#warm = this.#pool.run({ volumeDir, cacheSize, context: '', sql: '', params: [], rowCap: 0, warmUp: true }).catch(() => undefined);
  }

  async run(query: HeavyQuery, deadlineMs: number): Promise<ReadResult> {
    await this.#warm;
    let outcome: HeavyOutcome;
    try {
      outcome = await this.#pool.run(
        { volumeDir: this.volumeDir, cacheSize: this.cacheSize, context: query.context, sql: query.sql, params: query.params ?? [], rowCap: query.rowCap },
        { signal: AbortSignal.timeout(deadlineMs) },
      );
    } catch (error) {
      if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') {
        throw new QueryTimeoutError(`The query on ${query.context} did not finish within ${deadlineMs} ms; narrow it with filters and try again.`);
      }
      throw error;
    }
    if (!outcome.ok) throw new RequestError(outcome.problem.code, outcome.problem.message, outcome.problem.status);
    return outcome.result;
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
