import PQueue from 'p-queue';
import { logger } from '../core/log.ts';
import { assertReadOnlyQuery } from '../query/guard.ts';
import { QueryError, QueryTimeoutError } from '../query/run.ts';
import type { AdhocOutcome, AdhocTask } from './query-process.ts';
import type { QueryProcesses } from './processes.ts';
import { problemFromData } from '../core/errors.ts';
import { busyWaitWithin } from '../composite/connect.ts';

export type AdhocAnswer = Extract<AdhocOutcome, { ok: true }>;

/**
 * Ad-hoc SQL, one statement per process. better-sqlite3 has no interrupt and a worker
 * thread cannot be stopped mid-statement, so a runaway query (an endless recursive CTE)
 * is stopped by killing its process at the deadline.
 *
 * At most `concurrency` statements run at once (TRUTH_YARD_SQL_PROCESSES), at a lower
 * priority than the server, so a few people aggregating millions of rows cannot take every
 * core from the pages; the others wait their turn, and the deadline counts the wait.
 */
export class AdhocSqlRunner {
  readonly #turns: PQueue;

  constructor(
    private readonly volumeDir: string,
    private readonly processes: QueryProcesses,
    concurrency = 1,
  ) {
    this.#turns = new PQueue({ concurrency });
  }

  async run(task: Omit<AdhocTask, 'volumeDir' | 'kind' | 'busyTimeoutMs'>, deadlineMs: number): Promise<AdhocAnswer> {
    // Refused statements never reach a process, nor the queue.
    assertReadOnlyQuery(task.sql, { allowExplain: true });
    const deadline = Date.now() + deadlineMs;
    // Gives up a turn not yet started at the deadline; a started statement is stopped by its own timer.
    const waiting = new AbortController();
    const giveUp = setTimeout(() => waiting.abort(), deadlineMs);
    try {
      return await this.#turns.add(
        () => {
          clearTimeout(giveUp);
          return this.#runInProcess(task, deadline, deadlineMs);
        },
        // No timeout is set; this only tells the types that add() answers what the task does.
        { signal: waiting.signal, throwOnTimeout: true },
      );
    } catch (error) {
      if (!waiting.signal.aborted) throw error;
      throw new QueryTimeoutError(
        `The query waited ${deadlineMs} ms behind other ad-hoc SQL (${this.#turns.concurrency} at a time) without starting; try again in a moment.`,
      );
    } finally {
      clearTimeout(giveUp);
    }
  }

  async #runInProcess(task: Omit<AdhocTask, 'volumeDir' | 'kind' | 'busyTimeoutMs'>, deadline: number, deadlineMs: number): Promise<AdhocAnswer> {
    const taking = Date.now();
    const child = await this.processes.take(task.context);
    // Waiting for a process to start is the server's doing, so it is not taken from the statement's time.
    const runUntil = deadline + (Date.now() - taking);
    const outcome = await new Promise<AdhocOutcome | 'timeout' | 'died'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        logger.warn({ context: task.context, pid: child.pid, deadlineMs }, 'ad-hoc query killed at its deadline');
        resolve('timeout');
      }, Math.max(0, runUntil - Date.now()));
      child.once('message', (message) => {
        clearTimeout(timer);
        resolve(message as AdhocOutcome);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve('died');
      });
      // A writer's lock is waited for briefly, then answered 503 "busy, retry", not 504.
      child.send({ ...task, kind: 'adhoc', volumeDir: this.volumeDir, busyTimeoutMs: busyWaitWithin(deadlineMs) } satisfies AdhocTask);
    });
    if (outcome === 'timeout') throw new QueryTimeoutError(`The query ran past its deadline of ${deadlineMs} ms and was stopped; narrow it (filters, LIMIT) and try again.`);
    if (outcome === 'died') throw new QueryError('The query process ended without an answer (out of memory?); narrow the query and try again.');
    if (!outcome.ok) throw problemFromData(outcome.problem);
    return outcome;
  }
}
