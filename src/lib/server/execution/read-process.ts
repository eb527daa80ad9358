import { CompositePool } from '../composite/pool.ts';
import { sqliteAsProblem } from '../composite/connect.ts';
import { problemData, type ProblemData } from '../core/errors.ts';
import { explainQueryPlan, runRead, type PlanStep, type ReadResult } from '../query/run.ts';
import { resolveObject, type BrowseObject } from '../query/objects.ts';
import { browseRows, countRows, getRow, parseBrowseRequest, type BrowsePage, type BrowseRequest, type RowCount } from '../query/browse.ts';

/**
 * A read process of the server (see read-processes.ts): it keeps composite connections of
 * its own and runs one read at a time, for as long as the server lets it; the server kills
 * it when a read passes its deadline, the one way to stop a SQLite statement in this build.
 */

interface TaskBase {
  context: string;
  rowCap: number;
  /**
   * How long a read may wait for a writer's lock: a little less than its deadline, so a busy
   * database is answered 503 "busy" before the process is killed for the deadline.
   */
  busyTimeoutMs: number;
}

/** One read, described with plain data so it crosses the process boundary. */
export type ReadTask =
  | (TaskBase & { kind: 'read'; sql: string; params: unknown[] })
  /** A browse page of a listing (its query string), with cursors signed by `secret`. */
  | (TaskBase & { kind: 'page'; object: string; params: string; secret: Uint8Array })
  /** How many rows of a listing match its filters, up to `countCap`. */
  | (TaskBase & { kind: 'count'; object: string; params: string; countCap: number })
  /** One row of a listing by the key its page gave it. */
  | (TaskBase & { kind: 'row'; object: string; params: string; key: string; secret: Uint8Array })
  /** EXPLAIN QUERY PLAN of a statement (the slow-query page): preparing it may wait for a lock or take long on a large schema. */
  | (TaskBase & { kind: 'plan'; sql: string });

/** A page with what the server would otherwise have read itself: the object and the parsed request. */
export interface ListingPage {
  object: BrowseObject;
  request: BrowseRequest;
  page: BrowsePage;
}

export type ReadAnswer = ReadResult | ListingPage | PlanStep[] | TimedCount | Record<string, unknown> | null;

/** A count, and how long its statement ran in the read process (the wait for the process left out). */
export interface TimedCount extends RowCount {
  tookMs: number;
}

/** Errors lose their class between processes, so a read answers with data. */
export type ReadOutcome = { ok: true; answer: ReadAnswer } | { ok: false; problem: ProblemData };

/** How many connections a process keeps, and the file descriptors they may hold together. */
export interface ConnectionLimits {
  connections: number;
  fdBudget?: number;
}

/** What the server sends: the process's volume once, then numbered tasks. */
export type ReadMessage = { kind: 'volume'; volumeDir: string; limits: ConnectionLimits; busyTimeoutMs: number } | { kind: 'task'; id: number; task: ReadTask };

let pool: CompositePool | undefined;

function run(task: ReadTask): ReadAnswer {
  if (!pool) throw new Error('the read process was given a task before its volume');
  const { db } = pool.acquire(task.context);
  db.pragma(`busy_timeout = ${task.busyTimeoutMs}`);
  if (task.kind === 'read') return runRead(db, task.sql, task.params, { rowCap: task.rowCap });
  if (task.kind === 'plan') return explainQueryPlan(db, task.sql);
  const object = resolveObject(db, task.object);
  const request = parseBrowseRequest(new URLSearchParams(task.params), object, task.rowCap, db);
  if (task.kind === 'count') {
    const started = performance.now();
    const counted = countRows(db, object, request, task.countCap);
    return { ...counted, tookMs: performance.now() - started };
  }
  const listing = { contextName: task.context, secret: Buffer.from(task.secret), rowCap: task.rowCap };
  if (task.kind === 'page') return { object, request, page: browseRows(db, object, request, listing) };
  return getRow(db, object, task.key, request, listing);
}

export function runReadTask(task: ReadTask): ReadOutcome {
  try {
    return { ok: true, answer: run(task) };
  } catch (error) {
    return { ok: false, problem: problemData(sqliteAsProblem(error)) };
  }
}

process.on('message', (message: ReadMessage) => {
  // Connecting reads every attached database's schema, so it too waits no longer than a read may.
  if (message.kind === 'volume') pool = new CompositePool(message.volumeDir, message.limits.connections, { busyTimeoutMs: message.busyTimeoutMs, fdBudget: message.limits.fdBudget });
  else process.send!({ id: message.id, outcome: runReadTask(message.task) });
});
// A server that stopped while this process loaded has closed the channel already.
if (process.connected) process.send!({ ready: true });
