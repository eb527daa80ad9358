import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { PROJECT_ROOT } from '../project-root.ts';
import { RequestError } from '../http.ts';
import { logger } from '../log.ts';
import { assertReadOnlyQuery } from './guard.ts';
import { QueryError, QueryTimeoutError } from './run.ts';
import type { AdhocOutcome, AdhocTask } from './adhoc-process.ts';

const ENTRY = path.join(PROJECT_ROOT, 'src/lib/server/query/adhoc-process.mjs');
/** Query processes run at this niceness, so the kernel gives the server's own threads the CPU first. */
const QUERY_PROCESS_NICENESS = 10;

export type AdhocAnswer = Extract<AdhocOutcome, { ok: true }>;

function startProcess(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    try {
      os.setPriority(child.pid!, QUERY_PROCESS_NICENESS);
    } catch {
      // Gone already: the exit handler below reports it.
    }
    child.once('message', () => resolve(child));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the query process exited (${code}) before it was ready`)));
  });
}

/**
 * Ad-hoc SQL, one statement per process. better-sqlite3 has no interrupt and a worker
 * thread cannot be stopped mid-statement, so a runaway query (an endless recursive CTE)
 * is stopped by killing its process at the deadline. One process is kept started ahead
 * so its start-up is not counted against the query's deadline.
 *
 * At most `concurrency` statements run at once (TRUTH_YARD_SQL_PROCESSES), at a lower
 * priority than the server, so a few people aggregating millions of rows cannot take every
 * core from the pages; the others wait their turn, and the deadline counts the wait.
 */
export class AdhocSqlRunner {
  #standby: Promise<ChildProcess> | null = null;
  readonly #turns: PQueue;
  /** The process of the most recent query, for logs and for tests that check it is gone. */
  lastPid: number | undefined;

  constructor(
    private readonly volumeDir: string,
    concurrency = 1,
  ) {
    this.#turns = new PQueue({ concurrency });
  }

  #take(): Promise<ChildProcess> {
    const next = this.#standby ?? startProcess();
    this.#standby = startProcess();
    this.#standby.catch(() => (this.#standby = null));
    return next;
  }

  async run(task: Omit<AdhocTask, 'volumeDir'>, deadlineMs: number): Promise<AdhocAnswer> {
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

  async #runInProcess(task: Omit<AdhocTask, 'volumeDir'>, deadline: number, deadlineMs: number): Promise<AdhocAnswer> {
    const child = await this.#take();
    this.lastPid = child.pid;
    const outcome = await new Promise<AdhocOutcome | 'timeout' | 'died'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        logger.warn({ context: task.context, pid: child.pid, deadlineMs }, 'ad-hoc query killed at its deadline');
        resolve('timeout');
      }, Math.max(0, deadline - Date.now()));
      child.once('message', (message) => {
        clearTimeout(timer);
        resolve(message as AdhocOutcome);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve('died');
      });
      child.send({ ...task, volumeDir: this.volumeDir } satisfies AdhocTask);
    });
    if (outcome === 'timeout') throw new QueryTimeoutError(`The query ran past its deadline of ${deadlineMs} ms and was stopped; narrow it (filters, LIMIT) and try again.`);
    if (outcome === 'died') throw new QueryError('The query process ended without an answer (out of memory?); narrow the query and try again.');
    if (!outcome.ok) throw new RequestError(outcome.problem.code, outcome.problem.message, outcome.problem.status);
    return outcome;
  }

  async close(): Promise<void> {
    const standby = this.#standby;
    this.#standby = null;
    (await standby?.catch(() => null))?.kill('SIGKILL');
  }
}
