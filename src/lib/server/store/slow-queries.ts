import type { ConsoleStore } from './database.ts';

/** A read that took longer than TRUTH_YARD_SLOW_QUERY_MS, as kept in the slow-query log. */
export interface SlowQuery {
  id: number;
  /** ISO 8601, UTC: when it finished. */
  at: string;
  context: string;
  /** page, count, export, adhoc, analytics. */
  kind: string;
  durationMs: number;
  /** The statement with every literal value replaced by `?`. */
  sql: string;
  /** Rows it returned, when known. */
  rows: number | null;
  /** Who asked, when someone signed in did. */
  actor: string | null;
}

export type NewSlowQuery = Omit<SlowQuery, 'id' | 'at'> & { at?: Date };

interface SlowQueryRow {
  id: number;
  at: string;
  context: string;
  kind: string;
  duration_ms: number;
  sql: string;
  rows: number | null;
  actor: string | null;
}

const COLUMNS = 'id, at, context, kind, duration_ms, sql, rows, actor';

function toSlowQuery(row: SlowQueryRow): SlowQuery {
  return { id: row.id, at: row.at, context: row.context, kind: row.kind, durationMs: row.duration_ms, sql: row.sql, rows: row.rows, actor: row.actor };
}

export function recordSlowQuery(db: ConsoleStore, entry: NewSlowQuery): void {
  db.prepare('INSERT INTO slow_queries (at, context, kind, duration_ms, sql, rows, actor) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    (entry.at ?? new Date()).toISOString(),
    entry.context,
    entry.kind,
    entry.durationMs,
    entry.sql,
    entry.rows,
    entry.actor,
  );
}

/** The slowest entries recorded since `since`, slowest first, of every context (the page that shows them is an admin's). */
export function slowestSince(db: ConsoleStore, since: Date, limit: number): SlowQuery[] {
  const rows = db.prepare(`SELECT ${COLUMNS} FROM slow_queries WHERE at >= ? ORDER BY duration_ms DESC LIMIT ?`).all(since.toISOString(), limit) as SlowQueryRow[];
  return rows.map(toSlowQuery);
}
