import { parse, statementKind } from '../sqlite/sql-parser.ts';
import { QueryError } from './run.ts';

export interface GuardOptions {
  /** Whether `EXPLAIN …` / `EXPLAIN QUERY PLAN …` may be run. */
  allowExplain?: boolean;
}

/**
 * Admits exactly one SELECT (or WITH … SELECT, VALUES) statement, decided by parsing rather
 * than by better-sqlite3's `readonly` flag, which is true for ATTACH and DETACH too. The
 * composite connection is read-only as well; this guard is what gives the user a reason.
 */
export function assertReadOnlyQuery(sql: string, options: GuardOptions = {}): void {
  let statements;
  try {
    statements = parse(sql, { dialect: 'sqlite', includeRange: true }).statements.filter((statement) => statement.type !== 'empty');
  } catch (error) {
    throw new QueryError(`the SQL does not parse: ${(error as Error).message.split('\n')[0]}`);
  }
  const allowed = options.allowExplain ? 'SELECT, WITH or EXPLAIN' : 'SELECT or WITH';
  if (statements.length === 0) throw new QueryError(`no statement given; write one ${allowed} statement`);
  if (statements.length > 1) throw new QueryError(`${statements.length} statements given; run one ${allowed} statement at a time`);
  const [statement] = statements;
  if (statement.type === 'select_stmt') return;
  if (statement.type === 'explain_stmt' && options.allowExplain && statement.statement.type === 'select_stmt') return;
  throw new QueryError(`${statementKind(statement)} statements cannot be run here; only one ${allowed} statement is allowed (composites are read-only: writes go to the owning database)`);
}
