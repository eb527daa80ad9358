import type Database from 'better-sqlite3';

const STATEMENTS_KEPT_PER_CONNECTION = 64;
const keptByConnection = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * A compiled statement for `sql` on `db`, reused across calls: requests repeat a handful of
 * statements (the session lookup, a keyset page), and compiling one costs more than running
 * it. Each connection keeps its most recently used ones. Callers must finish (or reset) the
 * statement before returning (`get`, `all`, `run`, or an iteration run to its end or
 * broken off), so a kept statement is never busy when it is handed out again.
 */
export function keptStatement(db: Database.Database, sql: string): Database.Statement {
  let kept = keptByConnection.get(db);
  if (!kept) {
    kept = new Map();
    keptByConnection.set(db, kept);
  }
  let statement = kept.get(sql);
  if (statement) {
    kept.delete(sql);
  } else {
    statement = db.prepare(sql);
    if (kept.size >= STATEMENTS_KEPT_PER_CONNECTION) kept.delete(kept.keys().next().value!);
  }
  kept.set(sql, statement);
  return statement;
}
