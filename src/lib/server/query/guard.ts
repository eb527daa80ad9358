import { parse, statementKind } from '../sqlite/sql-parser.ts';
import { QueryError } from './run.ts';

export interface GuardOptions {
  /** Whether `EXPLAIN …` / `EXPLAIN QUERY PLAN …` may be run. */
  allowExplain?: boolean;
}

/**
 * Table-valued functions whose rows name files by their absolute path on the server. The
 * console shows paths relative to the volume and never the volume's own place on disk.
 */
const PATH_REVEALING = new Set(['pragma_database_list']);

/** Whether any identifier in the statement (a table, function or column, quoted or not) is one of `names`. */
function namesAnywhere(node: unknown, names: Set<string>): boolean {
  if (Array.isArray(node)) return node.some((child) => namesAnywhere(child, names));
  if (node === null || typeof node !== 'object') return false;
  const record = node as Record<string, unknown>;
  if (record.type === 'identifier' && typeof record.name === 'string' && names.has(record.name.toLowerCase())) return true;
  return Object.values(record).some((child) => namesAnywhere(child, names));
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
  const readOnly = statement.type === 'select_stmt' || (statement.type === 'explain_stmt' && options.allowExplain && statement.statement.type === 'select_stmt');
  if (readOnly) {
    if (namesAnywhere(statement, PATH_REVEALING)) {
      throw new QueryError(
        'pragma_database_list cannot be used here: it shows where the volume lives on the server\'s disk; the attached databases and their paths in composite.sql are on the context\'s page (/admin/contexts/<context>)',
      );
    }
    return;
  }
  throw new QueryError(`${statementKind(statement)} statements cannot be run here; only one ${allowed} statement is allowed (composites are read-only: writes go to the owning database)`);
}
