import { cstVisitor } from 'sql-parser-cst';
import { parse } from '../sqlite/sql-parser.ts';
import type { ConsoleStore } from '../store/database.ts';
import { recordSlowQuery, slowestSince, type SlowQuery } from '../store/slow-queries.ts';
import { QueryError, QueryTimeoutError, type PlanStep } from '../query/run.ts';
import { problemOf } from '../core/errors.ts';
import { countDeadline, observeQuery, type QueryKind } from '../metrics/metrics.ts';
import { logger } from '../core/log.ts';

export interface TimedRead {
  kind: QueryKind;
  context: string;
  /**
   * The statement as it runs, parameters as `?`; literals in it are redacted before it is
   * kept. A function (which must not read a database) when building the text costs more than
   * a quick read: it is called only for a read that was slow.
   */
  sql: string | (() => string);
  /** Who asked; null for the console's own reads. */
  actor: string | null;
}

/**
 * Replaces every literal value of a statement (strings, numbers, blobs) with `?`, so the
 * slow-query log and its structured log line never keep a value someone searched for.
 * The statement is parsed (not pattern-matched) so quotes inside strings and identifiers
 * cannot fool it; one that does not parse is kept only as its first word.
 */
export function redactLiterals(sql: string): string {
  const ranges: Array<[number, number]> = [];
  try {
    const keep = (node: { range?: [number, number] }) => {
      if (node.range) ranges.push(node.range);
    };
    cstVisitor({ string_literal: keep, number_literal: keep, blob_literal: keep })(parse(sql, { dialect: 'sqlite', includeRange: true, paramTypes: ['?', '?nr', ':name', '@name', '$name'] }));
  } catch {
    return `${sql.trim().split(/\s+/)[0] ?? ''} … (not parsed; literals cannot be told apart, so the statement is not kept)`;
  }
  let redacted = '';
  let from = 0;
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0])) {
    redacted += `${sql.slice(from, start)}?`;
    from = end;
  }
  return redacted + sql.slice(from);
}

/**
 * Times the console's reads: every duration goes to the metrics by kind, a read stopped at
 * its deadline is counted, and one slower than TRUTH_YARD_SLOW_QUERY_MS (finished or not)
 * is written as a structured log line and kept in the slow-query log with its context,
 * kind, redacted statement, rows and user.
 */
export class ReadTimer {
  /** `storeOf` is asked on each use: the server notices a console database replaced under it. */
  constructor(
    private readonly storeOf: () => ConsoleStore,
    private readonly thresholdMs: number,
  ) {}

  async time<T>(read: TimedRead, run: () => T | Promise<T>, rowsOf: (result: T) => number | null = () => null): Promise<T> {
    const started = performance.now();
    let rows: number | null = null;
    try {
      const result = await run();
      rows = rowsOf(result);
      return result;
    } catch (error) {
      if (error instanceof QueryTimeoutError) countDeadline(read.kind);
      throw error;
    } finally {
      const ms = performance.now() - started;
      observeQuery(read.kind, ms / 1000);
      if (ms > this.thresholdMs) this.#keep(read, ms, rows);
    }
  }

  #keep(read: TimedRead, ms: number, rows: number | null): void {
    const entry = { context: read.context, kind: read.kind, durationMs: Math.round(ms * 10) / 10, sql: redactLiterals(typeof read.sql === 'function' ? read.sql() : read.sql), rows, actor: read.actor };
    logger.warn({ slowQuery: entry }, 'slow query');
    try {
      recordSlowQuery(this.storeOf(), entry);
    } catch (error) {
      // The log line has it; a busy console store must not fail the request that was slow.
      logger.error({ err: error }, 'slow query not kept');
    }
  }
}

export interface PlanAdvice {
  plan: PlanStep[];
  /** Advisory only: the console never creates an index in a source database. */
  suggestions: string[];
  /** Why there is no plan (the statement no longer compiles, the composite cannot be read now), in words for the page. */
  problem: string | null;
}

const OPERATOR = /(?:"([^"]+)"|\b([A-Za-z_][A-Za-z0-9_]*))\s*(?:=|==|<>|!=|<=|>=|<|>|\bIN\b|\bLIKE\b|\bGLOB\b|\bIS\b|\bBETWEEN\b)/gi;
const NOT_COLUMNS = new Set(['and', 'or', 'not', 'where', 'select', 'null', 'limit', 'offset', 'from', 'on', 'case', 'when', 'then', 'else', 'end', 'as']);

/** Columns compared in the WHERE clauses of a statement: a guess from its text, which is all advice needs. */
function filteredColumns(sql: string): string[] {
  const columns = new Set<string>();
  for (const where of sql.split(/\bWHERE\b/i).slice(1)) {
    const clause = where.split(/\b(?:ORDER\s+BY|GROUP\s+BY|LIMIT|UNION)\b/i)[0]!;
    for (const match of clause.matchAll(OPERATOR)) {
      const column = (match[1] ?? match[2])!.split('.').at(-1)!;
      if (!NOT_COLUMNS.has(column.toLowerCase())) columns.add(column);
    }
  }
  return [...columns];
}

function sortColumns(sql: string): string[] {
  const match = /\bORDER\s+BY\s+(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_.]*))/i.exec(sql);
  return match ? [(match[1] ?? match[2])!.split('.').at(-1)!] : [];
}

/**
 * The plan of a kept statement and, where it shows a full scan under a filter or a temp
 * B-tree for a sort, the index that would let SQLite search or read in order instead.
 */
export function adviseOnPlan(plan: PlanStep[], sql: string): PlanAdvice {
  const suggestions = new Set<string>();
  const filters = filteredColumns(sql);
  const sorts = sortColumns(sql);
  for (const step of plan) {
    const scan = /^SCAN (?:TABLE )?([A-Za-z0-9_."]+)(?: AS \S+)?$/.exec(step.detail);
    if (scan && filters.length > 0) {
      const table = scan[1]!.replaceAll('"', '');
      suggestions.add(
        `${step.detail}: every row of ${table} is read to apply the filter on ${filters.join(', ')}; an index such as CREATE INDEX idx_${table.split('.').at(-1)}_${filters[0]} ON ${table.split('.').at(-1)}(${filters.join(', ')}) in the database that holds ${table} would let SQLite search instead.`,
      );
    }
    const temp = /^USE TEMP B-TREE FOR (ORDER BY|GROUP BY|DISTINCT|RIGHT PART OF ORDER BY|LAST TERM OF ORDER BY)/.exec(step.detail);
    if (temp && sorts.length > 0 && temp[1]!.includes('ORDER BY')) {
      suggestions.add(
        `${step.detail}: the matching rows are sorted before the first is returned; an index on ${[...filters.slice(0, 1), ...sorts].join(', ')} in the database that holds the table lets SQLite read them in order and stop at the page's end.`,
      );
    }
  }
  return { plan, suggestions: [...suggestions], problem: null };
}

export interface SlowQueryWithPlan extends SlowQuery {
  advice: PlanAdvice;
}

/** Entries within this many days count as recent on the slow-query page. */
export const RECENT_DAYS = 7;
const SLOWEST_SHOWN = 50;

/**
 * Why a plan cannot be shown, in the words the other pages use: SQLite's message when it
 * refuses the statement (as the SQL page shows it), a problem's public message (a busy or
 * damaged database, a composite that cannot be opened, a deadline), and for anything else
 * nothing of the error itself, which may name a server path; that goes to the log.
 */
function planProblem(entry: SlowQuery, error: unknown): string {
  if (error instanceof QueryError) return `The statement no longer compiles here: ${error.message}`;
  const problem = problemOf(error);
  if (problem && problem.code !== 'internal_error') return `No plan now: ${problem.publicMessage}`;
  logger.error({ err: error, context: entry.context }, 'slow-query plan failed');
  return 'No plan now: reading it failed on the server; it has been logged.';
}

/**
 * The slowest recent reads, each with its plan as it would run now on its context's
 * composite (`planOf`: in a read process under the page deadline, as preparing a statement
 * may wait for a lock or take long on a large schema), and index advice. A context that is
 * gone, busy or cannot be opened says so in place of a plan.
 */
export async function slowestWithPlans(store: ConsoleStore, planOf: (context: string, sql: string) => Promise<PlanStep[]>, now = new Date()): Promise<SlowQueryWithPlan[]> {
  const since = new Date(now.getTime() - RECENT_DAYS * 24 * 60 * 60 * 1000);
  // The same statement is often slow many times: explained once per context.
  const plans = new Map<string, Promise<PlanStep[]>>();
  const planOnce = (context: string, sql: string) => {
    const key = JSON.stringify([context, sql]);
    if (!plans.has(key)) plans.set(key, planOf(context, sql));
    return plans.get(key)!;
  };
  return Promise.all(
    slowestSince(store, since, SLOWEST_SHOWN).map(async (entry): Promise<SlowQueryWithPlan> => {
      if (entry.kind === 'analytics') {
        return { ...entry, advice: { plan: [], suggestions: [], problem: 'Analytics SQL runs in DuckDB, not on a SQLite composite: see its plan with EXPLAIN on the analytics page.' } };
      }
      try {
        return { ...entry, advice: adviseOnPlan(await planOnce(entry.context, entry.sql), entry.sql) };
      } catch (error) {
        return { ...entry, advice: { plan: [], suggestions: [], problem: planProblem(entry, error) } };
      }
    }),
  );
}
