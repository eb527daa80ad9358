import type Database from 'better-sqlite3';
import { ProblemError } from '../core/errors.ts';
import { quoteIdentifier } from '../composite/connect.ts';
import { dataVersion, schemaVersion } from './versions.ts';
import { manifestOf } from '../composite/manifest.ts';
import { isFts5, isFts5Shadow } from '../sqlite/fts5.ts';

/** A browse request the client got wrong: unknown object or column, bad operator, bad cursor. */
export class BrowseError extends ProblemError {
  constructor(
    code: 'unknown_object' | 'unknown_column' | 'bad_operator' | 'bad_value' | 'bad_cursor' | 'bad_sort' | 'bad_page_size' | 'bad_search' | 'bad_facet',
    message: string,
    status = 400,
  ) {
    super(code, message, status);
  }
}

export interface BrowseColumn {
  name: string;
  type: string;
  /** Position in the primary key (1-based), 0 when not part of it. */
  pk: number;
  /** What the column means, from composite.sql's `-- @column` comments. */
  description?: string;
}

export interface BrowseObject {
  /** `all_findings` for a view, `qualityfolio.findings` for an attached table. */
  name: string;
  kind: 'view' | 'table';
  schema: string;
  table: string;
  columns: BrowseColumn[];
  /** Tables with a rowid can be keyed by it; views and WITHOUT ROWID tables cannot. */
  hasRowid: boolean;
  /** What the view holds, from composite.sql's `-- @description` comment. */
  description?: string;
}

/** What a column holds, judged from its declared type and name, so filters offer the right input. */
export type ColumnKind = 'date' | 'number' | 'text';

/**
 * Declared DATE/TIME types hold dates; so do text columns named like `created_at` or
 * `due_date`, the way evidence databases store ISO 8601 text. INT/REAL/NUM types hold numbers.
 */
export function columnKind(column: Pick<BrowseColumn, 'name' | 'type'>): ColumnKind {
  const type = column.type.toUpperCase();
  if (/DATE|TIME/.test(type)) return 'date';
  if (/INT|REAL|FLOA|DOUB|NUM|DEC/.test(type)) return 'number';
  if ((type === '' || /CHAR|CLOB|TEXT/.test(type)) && /(^|_)(at|on|date|time|day)$/i.test(column.name)) return 'date';
  return 'text';
}

/** `"schema"."table"` for SQL; both parts were read from the schema, never from the request. */
export function qualifiedName(object: BrowseObject): string {
  return `${quoteIdentifier(object.schema)}.${quoteIdentifier(object.table)}`;
}

function columnsOf(db: Database.Database, schema: string, table: string): BrowseColumn[] {
  return (db.prepare('SELECT name, type, pk FROM pragma_table_xinfo(?, ?) WHERE hidden IN (0, 2, 3)').all(table, schema) as BrowseColumn[]).map(
    (c) => ({ name: c.name, type: c.type, pk: c.pk }),
  );
}

function hasRowid(db: Database.Database, schema: string, table: string): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

/** The views' descriptions as the manifest in the auto.db holds them; none on a connection without one. */
function viewDescriptions(db: Database.Database): Map<string, { description?: string; columnDescriptions?: Record<string, string> }> {
  return new Map((manifestOf(db)?.views ?? []).map((view) => [view.name, view]));
}

function readObjects(db: Database.Database): BrowseObject[] {
  const described = viewDescriptions(db);
  const views = (db.prepare("SELECT name FROM temp.sqlite_schema WHERE type = 'view' ORDER BY name").pluck().all() as string[]).map((view): BrowseObject => {
    const { description, columnDescriptions = {} } = described.get(view) ?? {};
    const columns = columnsOf(db, 'temp', view).map((c) => (columnDescriptions[c.name] ? { ...c, description: columnDescriptions[c.name] } : c));
    return { name: view, kind: 'view', schema: 'temp', table: view, columns, hasRowid: false, ...(description ? { description } : {}) };
  });
  const schemas = (db.prepare('SELECT name FROM pragma_database_list ORDER BY seq').pluck().all() as string[]).filter((s) => s !== 'main' && s !== 'temp');
  const tables = schemas.flatMap((schema) => {
    const entries = db.prepare(`SELECT name, sql FROM ${quoteIdentifier(schema)}.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string; sql: string }>;
    const ftsTables = entries.filter((entry) => isFts5(entry.sql)).map((entry) => entry.name);
    return entries
      .filter((entry) => !isFts5Shadow(entry.name, ftsTables))
      .map((entry): BrowseObject => ({ name: `${schema}.${entry.name}`, kind: 'table', schema, table: entry.name, columns: columnsOf(db, schema, entry.name), hasRowid: hasRowid(db, schema, entry.name) }));
  });
  return [...views, ...tables];
}

const objectLists = new WeakMap<Database.Database, { schemaVersion: string; dataVersion: string; objects: BrowseObject[] }>();

/**
 * The composite's TEMP views and every table of its attached databases, views first.
 * Reading them takes a statement per object, so the list is kept per connection until a
 * database's schema changes. A schema is changed by a commit, which changes the data
 * version too: while that is the same, the schema version is not read again. A caller
 * that has just read the data version passes it (reading either costs a statement per
 * database).
 */
export function listObjects(db: Database.Database, dataVersionNow: string = dataVersion(db)): BrowseObject[] {
  let cached = objectLists.get(db);
  if (cached?.dataVersion === dataVersionNow) return cached.objects;
  const version = schemaVersion(db);
  if (cached?.schemaVersion === version) {
    cached.dataVersion = dataVersionNow;
  } else {
    cached = { schemaVersion: version, dataVersion: dataVersionNow, objects: readObjects(db) };
    objectLists.set(db, cached);
  }
  return cached.objects;
}

/** The schema version at which listObjects last read this connection's list (it checks it on every call). */
export function objectListVersion(db: Database.Database): string | undefined {
  return objectLists.get(db)?.schemaVersion;
}

/** The object a URL names, or a 404-style BrowseError that says where to look. */
export function resolveObject(db: Database.Database, name: string, dataVersionNow?: string): BrowseObject {
  const object = listObjects(db, dataVersionNow).find((candidate) => candidate.name === name);
  if (!object) throw new BrowseError('unknown_object', `There is no table or view "${name}" in this composite; the objects list shows what there is.`, 404);
  return object;
}

export function requireColumn(object: BrowseObject, column: string): BrowseColumn {
  const found = object.columns.find((c) => c.name === column);
  if (!found) throw new BrowseError('unknown_column', `${object.name} has no column "${column}"; its columns are ${object.columns.map((c) => c.name).join(', ')}.`);
  return found;
}
