import type Database from 'better-sqlite3';
import { ProblemError } from '../core/errors.ts';
import { keptStatement } from '../sqlite/statements.ts';
import { isDatabaseBusy, isDatabaseUnreadable } from '../composite/connect.ts';

export interface ReadResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** True when the query had more rows than a cap allowed through. */
  truncated: boolean;
  /** Which cap stopped it. */
  truncatedBy?: 'rows' | 'bytes';
}

export interface ReadOptions {
  /** Most rows returned; the caller passes the setting, never a user-chosen number above it. */
  rowCap: number;
  /** Most bytes of rows (measured as JSON) returned, for ad-hoc SQL whose rows may be huge. */
  byteCap?: number;
  /**
   * The `LIMIT` the statement itself ends with, as bound (a browse page's). Within rowCap,
   * SQLite stops the statement at the cap already, and its rows are read in one call:
   * iterating them cost 5% of a view's rows API answer here.
   */
  statementLimit?: number;
}

/** A row as JSON carries it: blobs as base64, integers beyond 2^53 as text. */
export function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  // Most rows hold neither, and go as they are.
  for (const key in row) {
    const value = row[key];
    if (typeof value === 'bigint' || Buffer.isBuffer(value)) {
      return Object.fromEntries(Object.entries(row).map(([name, item]) => [name, Buffer.isBuffer(item) ? item.toString('base64') : typeof item === 'bigint' ? item.toString() : item]));
    }
  }
  return row;
}

/** A query that did not finish before its deadline; the request is answered 504. */
export class QueryTimeoutError extends ProblemError {
  constructor(message: string) {
    super('query_timeout', message, 504);
  }
}

/** A read query that SQLite refused (bad SQL, missing table, a write). */
export class QueryError extends ProblemError {
  constructor(message: string) {
    super('query_error', message, 400);
  }
}

/**
 * SQLite's refusal of a statement (bad SQL, a missing table) as a QueryError, 400. A writer's
 * lock or a damaged file is not the statement's fault: it passes through as it is, for the
 * caller to answer 503 (sqliteAsProblem).
 */
function statementError(error: unknown): unknown {
  return isDatabaseBusy(error) || isDatabaseUnreadable(error) ? error : new QueryError((error as Error).message);
}

function prepareRead(db: Database.Database, sql: string, keep: boolean): Database.Statement {
  let statement: Database.Statement;
  try {
    statement = keep ? keptStatement(db, sql) : db.prepare(sql);
  } catch (error) {
    throw statementError(error);
  }
  if (!statement.reader) throw new QueryError('only statements that return rows can be run here');
  return statement;
}

/**
 * A row as an object, from the values a raw statement gives: building it here costs a third
 * of what better-sqlite3's own row objects do. A column named `__proto__` is a property
 * like any other.
 */
function rowOf(names: string[], values: unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '__proto__') Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true });
    else row[name] = values[i];
  }
  return row;
}

/**
 * The one place every read query of the console runs (pages, API, CLI): the row cap is
 * applied here, by iterating and stopping, so no caller can forget it and a huge result
 * is never materialised; only a statement whose own LIMIT is within the cap is read whole.
 */
export function runRead(db: Database.Database, sql: string, params: unknown[] | Record<string, unknown> = [], options: ReadOptions): ReadResult {
  // runRead always finishes its statement, so it can reuse a kept one.
  const statement = prepareRead(db, sql, true);
  // Named once the first row is read: a schema changed since the statement was prepared
  // (a column added by the evidence's writer) is prepared anew by that first step.
  let columns: string[] | undefined;
  const rows: Record<string, unknown>[] = [];
  let truncatedBy: ReadResult['truncatedBy'];
  let bytes = 0;
  const limitedByStatement = options.statementLimit !== undefined && options.statementLimit <= options.rowCap && options.byteCap === undefined;
  statement.raw(true);
  try {
    for (const values of (limitedByStatement ? statement.all(params) : statement.iterate(params)) as Iterable<unknown[]>) {
      if (rows.length === options.rowCap) {
        truncatedBy = 'rows';
        break;
      }
      columns ??= statement.columns().map((column) => column.name);
      const row = rowOf(columns, values);
      if (options.byteCap !== undefined) {
        bytes += JSON.stringify(row, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)).length;
        if (bytes > options.byteCap) {
          truncatedBy = 'bytes';
          break;
        }
      }
      rows.push(row);
    }
  } catch (error) {
    throw statementError(error);
  } finally {
    // Kept statements are shared with callers that read objects.
    statement.raw(false);
  }
  columns ??= statement.columns().map((column) => column.name);
  return truncatedBy ? { columns, rows, truncated: true, truncatedBy } : { columns, rows, truncated: false };
}

/** Streams every row of a read query, for exports; the caller owns the iteration. */
export function iterateRead(db: Database.Database, sql: string, params: unknown[] | Record<string, unknown> = []): { columns: string[]; rows: IterableIterator<Record<string, unknown>> } {
  // The caller holds this iteration open across ticks, so the statement is its own.
  const statement = prepareRead(db, sql, false);
  return { columns: statement.columns().map((column) => column.name), rows: statement.iterate(params) as IterableIterator<Record<string, unknown>> };
}

/** One step of SQLite's EXPLAIN QUERY PLAN. */
export interface PlanStep {
  id: number;
  parent: number;
  detail: string;
}

const MOST_PARAMETERS = 999;

/**
 * EXPLAIN QUERY PLAN of a read, with every parameter unbound (NULL): the plan does not depend
 * on the values, so a statement kept with `?` for its literals is explained as it ran. A
 * statement SQLite refuses is a QueryError; a lock or a damaged file passes through as it is.
 */
export function explainQueryPlan(db: Database.Database, sql: string): PlanStep[] {
  let statement: Database.Statement;
  try {
    statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  } catch (error) {
    throw statementError(error);
  }
  for (let count = 0; count <= MOST_PARAMETERS; count++) {
    try {
      return (statement.all(...Array<null>(count).fill(null)) as Array<PlanStep & { notused: number }>).map(({ id, parent, detail }) => ({ id, parent, detail }));
    } catch (error) {
      if (!(error instanceof RangeError && /Too few/.test(error.message))) throw statementError(error);
    }
  }
  throw new QueryError(`the statement has more than ${MOST_PARAMETERS} parameters, too many to explain`);
}
