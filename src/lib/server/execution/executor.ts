import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { PROJECT_ROOT } from '../core/project-root.ts';
import { problemFromData } from '../core/errors.ts';
import { QueryTimeoutError, type ReadResult } from '../query/run.ts';
import type { BrowsePage } from '../query/browse.ts';
import type { HeavyAnswer, HeavyOutcome, HeavyTask } from './heavy-worker.ts';

export interface HeavyQuery {
  context: string;
  sql: string;
  params?: unknown[];
  rowCap: number;
}

/** A browse listing as the URL gives it: object and query string (filters, sort, cursor). */
export interface ListingQuery {
  context: string;
  object: string;
  params: string;
  secret: Buffer;
  rowCap: number;
}

type TaskOf<K> = K extends HeavyTask['kind'] ? Omit<Extract<HeavyTask, { kind: K }>, 'volumeDir' | 'cacheSize'> : never;

/**
 * Runs reads on worker threads so the event loop stays free meanwhile: counts, facets and
 * chart aggregations, and browse pages too, because a page over a view whose sort column
 * has no index sorts the whole view before its first row. A query past its deadline is
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
      filename: pathToFileURL(path.join(PROJECT_ROOT, 'src/lib/server/execution/heavy-worker.mjs')).href,
      minThreads: threads,
      maxThreads: threads,
    });
    this.#warm = this.#pool.run({ kind: 'warm-up', volumeDir, cacheSize, context: '', rowCap: 0 }).catch(() => undefined);
  }

  /** Settles once a worker has loaded, so a caller timing a query itself starts after that too. */
  get ready(): Promise<unknown> {
    return this.#warm;
  }

  async run(query: HeavyQuery, deadlineMs: number): Promise<ReadResult> {
    return (await this.#run({ kind: 'read', context: query.context, sql: query.sql, params: query.params ?? [], rowCap: query.rowCap }, deadlineMs)) as ReadResult;
  }

  async page(query: ListingQuery, deadlineMs: number): Promise<BrowsePage> {
    return (await this.#run({ kind: 'page', context: query.context, object: query.object, params: query.params, secret: query.secret, rowCap: query.rowCap }, deadlineMs)) as BrowsePage;
  }

  /** A row by its key, or null when it no longer exists. */
  async row(query: ListingQuery & { key: string }, deadlineMs: number): Promise<Record<string, unknown> | null> {
    return (await this.#run({ kind: 'row', context: query.context, object: query.object, params: query.params, key: query.key, secret: query.secret, rowCap: query.rowCap }, deadlineMs)) as Record<
      string,
      unknown
    > | null;
  }

  async #run(task: TaskOf<HeavyTask['kind']>, deadlineMs: number): Promise<HeavyAnswer> {
    await this.#warm;
    let outcome: HeavyOutcome;
    try {
      outcome = await this.#pool.run({ ...task, volumeDir: this.volumeDir, cacheSize: this.cacheSize } as HeavyTask, { signal: AbortSignal.timeout(deadlineMs) });
    } catch (error) {
      if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') {
        throw new QueryTimeoutError(`The query on ${task.context} did not finish within ${deadlineMs} ms; narrow it with filters and try again.`);
      }
      throw error;
    }
    if (!outcome.ok) throw problemFromData(outcome.problem);
    return outcome.answer;
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
