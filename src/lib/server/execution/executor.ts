import { problemFromData, ProblemError } from '../core/errors.ts';
import { busyWaitWithin } from '../composite/connect.ts';
import { QueryError, QueryTimeoutError, type PlanStep, type ReadResult } from '../query/run.ts';
import type { ConnectionLimits, ListingPage, ReadAnswer, ReadTask, TimedCount } from './read-process.ts';
import { ReadProcesses } from './read-processes.ts';

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

type TaskOf<K> = K extends ReadTask['kind'] ? Omit<Extract<ReadTask, { kind: K }>, 'busyTimeoutMs'> : never;

/**
 * Runs reads that may take long in killable read processes (see ReadProcesses): counts,
 * facets and chart aggregations, pages that are not index walks, and any read whose
 * database was busy on the server's thread. A read past its deadline is answered with
 * QueryTimeoutError at once and its process is killed, so it does not keep a core busy.
 */
export class HeavyQueryExecutor {
  readonly #processes: ReadProcesses;

  constructor(volumeDir: string, limits: ConnectionLimits, processes: number) {
    this.#processes = new ReadProcesses(volumeDir, limits, processes, busyWaitWithin(Infinity));
  }

  /** Process ids of the read processes, for tests that check what is left running. */
  get pids(): number[] {
    return this.#processes.pids;
  }

  async run(query: HeavyQuery, deadlineMs: number): Promise<ReadResult> {
    return (await this.#run({ kind: 'read', context: query.context, sql: query.sql, params: query.params ?? [], rowCap: query.rowCap }, deadlineMs)) as ReadResult;
  }

  /** EXPLAIN QUERY PLAN of a statement on a context's composite. */
  async plan(query: { context: string; sql: string }, deadlineMs: number): Promise<PlanStep[]> {
    return (await this.#run({ kind: 'plan', ...query, rowCap: 0 /* a plan has a few rows, none of the listing's */ }, deadlineMs)) as PlanStep[];
  }

  /** A page with its object and parsed request, all read in a read process. */
  async page(query: ListingQuery, deadlineMs: number): Promise<ListingPage> {
    return (await this.#run({ kind: 'page', ...query }, deadlineMs)) as ListingPage;
  }

  async count(query: Omit<ListingQuery, 'secret'> & { countCap: number }, deadlineMs: number): Promise<TimedCount> {
    return (await this.#run({ kind: 'count', ...query }, deadlineMs)) as TimedCount;
  }

  /** A row by its key, or null when it no longer exists. */
  async row(query: ListingQuery & { key: string }, deadlineMs: number): Promise<Record<string, unknown> | null> {
    return (await this.#run({ kind: 'row', ...query }, deadlineMs)) as Record<string, unknown> | null;
  }

  async #run(task: TaskOf<ReadTask['kind']>, deadlineMs: number): Promise<ReadAnswer> {
    const settled = await this.#processes.run({ ...task, busyTimeoutMs: busyWaitWithin(deadlineMs) } as ReadTask, deadlineMs);
    switch (settled.type) {
      case 'done':
        if (!settled.outcome.ok) throw problemFromData(settled.outcome.problem);
        return settled.outcome.answer;
      case 'timeout':
        throw new QueryTimeoutError(`The query on ${task.context} did not finish within ${deadlineMs} ms; narrow it with filters and try again.`);
      case 'died':
        throw new QueryError('The read process ended without an answer (out of memory?); narrow the query and try again.');
      case 'closed':
        throw new ProblemError('shutting_down', 'The console is shutting down; try again in a moment.', 503);
    }
  }

  close(): void {
    this.#processes.close();
  }
}
