import type { DuckDBConnection } from '@duckdb/node-api';
import { QueryError } from '../query/run.ts';

/**
 * Analytics SQL may run one read-only statement over the analytics tables and nothing else.
 * DuckDB's own parser decides: the text must be exactly one statement that DuckDB can
 * serialize as a SELECT (COPY, ATTACH, INSTALL, LOAD, SET, RESET, PRAGMA, CALL and every
 * write cannot be), and the statement may not name a table function or a file that reads
 * from disk, nor one of DuckDB's catalog views (pg_settings, duckdb_views, information_schema.views, …:
 * views over the refused table functions, which tell settings and the server's disk paths).
 * Behind this, the connection itself has external access disabled and its configuration
 * locked (reader.ts), so a way around the guard still reads nothing else.
 */

/** Table functions that compute rather than read: everything else (read_csv, read_parquet, glob, query, duckdb_settings, …) is refused. */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);
/** Scalar functions that tell about the server rather than the data. */
const REFUSED_FUNCTIONS = new Set(['current_setting', 'getenv', 'read_blob', 'read_text', 'sql_auto_complete', 'duckdb_settings']);

/** Refused like composite ad-hoc SQL: 400 `query_error` with the reason. */
function refused(message: string): QueryError {
  return new QueryError(message);
}

interface AstNode {
  [key: string]: unknown;
}

function* nodes(value: unknown): Generator<AstNode> {
  if (Array.isArray(value)) for (const item of value) yield* nodes(item);
  else if (value !== null && typeof value === 'object') {
    yield value as AstNode;
    for (const child of Object.values(value)) yield* nodes(child);
  }
}

/**
 * DuckDB's own catalog views that an unqualified name reaches (duckdb_*, sqlite_*, pg_*): the
 * same for every database of this DuckDB, so read once. Of information_schema's, only `views`
 * tells more than names and types (each view's SQL, with the data files' paths); `columns`
 * and the rest describe the analytics tables, and a rollup may still be called "tables".
 */
let catalogViews: Set<string> | undefined;
async function catalogViewNames(connection: DuckDBConnection): Promise<Set<string>> {
  catalogViews ??= new Set(
    (await connection.runAndReadAll(`SELECT DISTINCT lower(view_name) FROM duckdb_views() WHERE internal AND schema_name <> 'information_schema'`)).getRows().map((row) => String(row[0])),
  );
  return catalogViews;
}

function isCatalogView(node: AstNode, catalog: Set<string>): boolean {
  const table = String(node.table_name ?? '').toLowerCase();
  return String(node.schema_name ?? '').toLowerCase() === 'information_schema' ? table === 'views' : catalog.has(table);
}

function functionName(node: AstNode): string {
  return String(node.function_name ?? '').toLowerCase();
}

export async function assertAnalyticsQuery(connection: DuckDBConnection, sql: string): Promise<void> {
  if (!sql.trim()) throw refused('write one SELECT (or WITH … SELECT) statement over the analytics tables');
  let count: number;
  try {
    count = (await connection.extractStatements(sql)).count;
  } catch (error) {
    throw refused(`DuckDB cannot parse this: ${(error as Error).message.split('\n')[0]}`);
  }
  if (count !== 1) throw refused(`one statement at a time, found ${count}; remove the others (and any ";" between them)`);
  const serialized = (await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRows()[0]?.[0];
  const tree = JSON.parse(String(serialized)) as { error?: boolean; error_type?: string; error_message?: string; statements?: unknown };
  if (tree.error) {
    if (tree.error_type === 'not implemented') {
      throw refused('only a SELECT (or WITH … SELECT) statement may run here; COPY, ATTACH, INSTALL, LOAD, SET, RESET, PRAGMA, CALL and writes are refused');
    }
    throw refused(`DuckDB cannot parse this: ${tree.error_message ?? 'unknown error'}`);
  }
  const catalog = await catalogViewNames(connection);
  for (const node of nodes(tree.statements)) {
    if (node.type === 'TABLE_FUNCTION') {
      const name = functionName((node.function ?? {}) as AstNode);
      if (!ALLOWED_TABLE_FUNCTIONS.has(name)) throw refused(`${name}() is refused: analytics SQL reads the analytics tables, not files or settings (allowed table functions: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')})`);
    } else if (node.class === 'FUNCTION' && REFUSED_FUNCTIONS.has(functionName(node))) {
      throw refused(`${functionName(node)}() is refused: analytics SQL reads the analytics tables only`);
    } else if (node.type === 'BASE_TABLE' && /[./\\:]/.test(String(node.table_name ?? ''))) {
      throw refused(`"${String(node.table_name)}" looks like a file; analytics SQL reads the analytics tables only (list them on the analytics page)`);
    } else if (node.type === 'BASE_TABLE' && isCatalogView(node, catalog)) {
      throw refused(`"${String(node.table_name)}" is DuckDB's catalog, which tells settings and server paths; analytics SQL reads the analytics tables only (the analytics page lists them and their columns)`);
    }
  }
}
