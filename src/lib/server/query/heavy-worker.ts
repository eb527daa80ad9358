import { CompositePool } from '../composite/pool.ts';
import { describeProblem, type ProblemDescription } from '../http.ts';
import { runRead, type ReadResult } from './run.ts';

/** One heavy read, described with plain data so it crosses the thread boundary. */
export interface HeavyTask {
  volumeDir: string;
  cacheSize: number;
  context: string;
  sql: string;
  params: unknown[];
  rowCap: number;
  /** Loads the worker and does nothing else. */
  warmUp?: boolean;
}

/** Errors lose their class between threads, so a worker answers with data. */
export type HeavyOutcome = { ok: true; result: ReadResult } | { ok: false; problem: ProblemDescription };

// Each worker thread keeps its own composite connections: SQLite handles cannot be shared.
let pool: CompositePool | undefined;

export default function runHeavyTask(task: HeavyTask): HeavyOutcome {
  if (task.warmUp) return { ok: true, result: { columns: [], rows: [], truncated: false } };
  pool ??= new CompositePool(task.volumeDir, task.cacheSize);
  try {
    const { db } = pool.acquire(task.context);
    return { ok: true, result: runRead(db, task.sql, task.params, { rowCap: task.rowCap }) };
  } catch (error) {
    return { ok: false, problem: describeProblem(error) ?? { status: 500, code: 'internal_error', message: (error as Error).message } };
  }
}
