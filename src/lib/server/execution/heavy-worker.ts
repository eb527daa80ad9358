import { CompositePool } from '../composite/pool.ts';
import { problemData, type ProblemData } from '../core/errors.ts';
import { runRead, type ReadResult } from '../query/run.ts';
import { resolveObject } from '../query/objects.ts';
import { browseRows, getRow, parseBrowseRequest, type BrowsePage } from '../query/browse.ts';

interface TaskBase {
  volumeDir: string;
  cacheSize: number;
  context: string;
  rowCap: number;
}

/** One read, described with plain data so it crosses the thread boundary. */
export type HeavyTask =
  | (TaskBase & { kind: 'read'; sql: string; params: unknown[] })
  /** A browse page of a listing (its query string), with cursors signed by `secret`. */
  | (TaskBase & { kind: 'page'; object: string; params: string; secret: Uint8Array })
  /** One row of a listing by the key its page gave it. */
  | (TaskBase & { kind: 'row'; object: string; params: string; key: string; secret: Uint8Array })
  /** Loads the worker and does nothing else. */
  | (TaskBase & { kind: 'warm-up' });

export type HeavyAnswer = ReadResult | BrowsePage | Record<string, unknown> | null;

/** Errors lose their class between threads, so a worker answers with data. */
export type HeavyOutcome = { ok: true; answer: HeavyAnswer } | { ok: false; problem: ProblemData };

// Each worker thread keeps its own composite connections: SQLite handles cannot be shared.
let pool: CompositePool | undefined;

function run(task: HeavyTask): HeavyAnswer {
  if (task.kind === 'warm-up') return null;
  pool ??= new CompositePool(task.volumeDir, task.cacheSize);
  const { db } = pool.acquire(task.context);
  if (task.kind === 'read') return runRead(db, task.sql, task.params, { rowCap: task.rowCap });
  const object = resolveObject(db, task.object);
  const request = parseBrowseRequest(new URLSearchParams(task.params), object, task.rowCap, db);
  const listing = { contextName: task.context, secret: Buffer.from(task.secret), rowCap: task.rowCap };
  return task.kind === 'page' ? browseRows(db, object, request, listing) : getRow(db, object, task.key, request, listing);
}

export default function runHeavyTask(task: HeavyTask): HeavyOutcome {
  try {
    return { ok: true, answer: run(task) };
  } catch (error) {
    return { ok: false, problem: problemData(error) };
  }
}
