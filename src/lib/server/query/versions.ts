import type Database from 'better-sqlite3';
import { quoteIdentifier } from '../composite/connect.ts';

interface VersionStatements {
  data: Database.Statement[];
  schema: Database.Statement[];
}

const statementsByConnection = new WeakMap<Database.Database, VersionStatements>();

/**
 * The statements reading each attached database's counters. A composite connection
 * attaches only when it opens, so the list of databases is read once per connection. Its
 * main database, the auto.db, is left out: it changes only by being replaced, which the
 * pool notices (a new inode) and answers with a new connection; TEMP is the connection's own.
 */
function versionStatements(db: Database.Database): VersionStatements {
  let statements = statementsByConnection.get(db);
  if (!statements) {
    const schemas = (db.prepare('SELECT name FROM pragma_database_list ORDER BY seq').pluck().all() as string[]).filter((name) => name !== 'temp' && name !== 'main');
    const each = (pragma: string) => schemas.map((schema) => db.prepare(`PRAGMA ${quoteIdentifier(schema)}.${pragma}`).pluck());
    statements = { data: each('data_version'), schema: each('schema_version') };
    statementsByConnection.set(db, statements);
  }
  return statements;
}

/**
 * A token that changes whenever any other connection (another process writing evidence,
 * say) commits to one of the connection's databases: SQLite's `data_version`, read per
 * database. Anything derived from the rows may be reused while the token is the same.
 */
export function dataVersion(db: Database.Database): string {
  return versionStatements(db)
    .data.map((statement) => statement.get())
    .join(',');
}

/** A token that changes when a table is created, dropped or altered in any of the connection's databases. */
export function schemaVersion(db: Database.Database): string {
  return versionStatements(db)
    .schema.map((statement) => statement.get())
    .join(',');
}
