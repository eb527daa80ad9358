import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_SUFFIX, listDatabaseFiles, type VolumeContext } from '../volume/contexts.ts';
import { MAX_ATTACHMENTS, RESERVED_SCHEMA_NAMES } from './plan.ts';
import { isFts5, isFts5Shadow } from '../sqlite/fts5.ts';

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function sqlIdentifier(name: string): string {
  return PLAIN_IDENTIFIER.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** `quality-folio.sqlite.db` → `quality_folio`; unique, never main/temp, never starting with a digit. */
function aliasesFor(files: string[]): string[] {
  const taken = new Set<string>();
  return files.map((file) => {
    let base = file.slice(0, -DATABASE_SUFFIX.length).replace(/[^A-Za-z0-9_]/g, '_') || 'db';
    if (/^[0-9]/.test(base)) base = `db_${base}`;
    if (RESERVED_SCHEMA_NAMES.includes(base.toLowerCase())) base = `${base}_db`;
    let alias = base;
    for (let n = 2; taken.has(alias.toLowerCase()); n += 1) alias = `${base}_${n}`;
    taken.add(alias.toLowerCase());
    return alias;
  });
}

/**
 * Tables of a database and their columns in declaration order, read through a read-only
 * connection. Full-text indexes and their shadow tables are left out: they index a table,
 * they are not evidence of their own.
 */
function tablesOf(file: string): Map<string, string[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const entries = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string; sql: string }>;
    const fts = entries.filter((entry) => isFts5(entry.sql)).map((entry) => entry.name);
    const tables = entries.map((entry) => entry.name).filter((name) => !fts.includes(name) && !isFts5Shadow(name, fts));
    return new Map(tables.map((table) => [table, (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[])]));
  } finally {
    db.close();
  }
}

/**
 * Writes a composite.sql from what is on disk: every database of the context attached
 * (up to SQLite's limit, the rest listed in a comment), and for each table present in two
 * or more of them an `all_<table>` view over their shared columns plus a `source` column.
 * Deterministic: the same files give the same text.
 */
export function scaffoldCompositeSql(context: VolumeContext): string {
  const files = listDatabaseFiles(context);
  const attached = files.slice(0, MAX_ATTACHMENTS);
  const leftOut = files.slice(MAX_ATTACHMENTS);
  const aliases = aliasesFor(attached);
  const lines = [
    `-- composite.sql of ${context.name}, scaffolded from the databases in its folder.`,
    '-- Edit freely: this file is the source; composite.sqlite.auto.db is regenerated from it.',
    '',
    'PRAGMA busy_timeout = 5000;',
    '',
  ];
  attached.forEach((file, i) => lines.push(`ATTACH DATABASE ${sqlString(file)} AS ${sqlIdentifier(aliases[i])};`));
  if (leftOut.length > 0) {
    lines.push('', `-- Not attached: SQLite attaches at most ${MAX_ATTACHMENTS} databases per connection.`, ...leftOut.map((file) => `--   ${file}`));
  }
  const tables = attached.map((file) => tablesOf(path.join(context.dir, file)));
  const tableNames = [...new Set(tables.flatMap((t) => [...t.keys()]))].sort();
  for (const table of tableNames) {
    const holders = aliases.map((alias, i) => ({ alias, columns: tables[i].get(table) })).filter((h): h is { alias: string; columns: string[] } => h.columns !== undefined);
    if (holders.length < 2) continue;
    const shared = holders[0].columns.filter((column) => holders.every((h) => h.columns.includes(column)) && column !== 'source');
    const view = `all_${table}`;
    if (shared.length === 0) {
      lines.push('', `-- ${table} is in ${holders.map((h) => h.alias).join(', ')} but they share no column; no ${view} view.`);
      continue;
    }
    const columns = shared.map(sqlIdentifier).join(', ');
    lines.push(
      '',
      `-- @description TODO: say what ${view} holds; shown as the header of its page.`,
      `-- @column source: the attached database each row comes from`,
      `CREATE VIEW ${sqlIdentifier(view)} AS`,
    );
    lines.push(holders.map((h) => `  SELECT ${sqlString(h.alias)} AS source, ${columns} FROM ${sqlIdentifier(h.alias)}.${sqlIdentifier(table)}`).join('\n  UNION ALL\n') + ';');
  }
  return `${lines.join('\n')}\n`;
}
