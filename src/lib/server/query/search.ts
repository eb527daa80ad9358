import Database from 'better-sqlite3';
import { quoteIdentifier } from '../composite/connect.ts';
import { parse, type Node } from '../sql-parser.ts';
import { BrowseError, columnKind, qualifiedName, requireColumn, type BrowseObject } from './objects.ts';
import type { SqlFragment } from './filters.ts';

/** Result columns a searched listing adds to the object's own; stripped before rows are shown. */
export const RANK_COLUMN = '__yard_rank';
export const SNIPPET_COLUMN = '__yard_snippet';
export const SEARCH_ROWID_COLUMN = '__yard_rowid';
/** The URL name of the relevance order (`_sort=_rank`), the default while searching. */
export const RANK_SORT = '_rank';
/** Marks a matched word inside a snippet; the page turns the pair into `<mark>`, the API into segments. */
export const MATCH_START = '\u0002';
export const MATCH_END = '\u0003';
const SNIPPET_TOKENS = 12;

/** A full-text index of an attached table, by the sqlite-utils convention: `<table>_fts`, `content='<table>'`. */
export interface FtsIndex {
  schema: string;
  table: string;
  fts: string;
  /** The indexed columns. */
  columns: string[];
  /** The content table's column the index's rowids are (`content_rowid`), `rowid` by default. */
  contentRowid: string;
}

/**
 * Where a listing reads its rows from. Unsearched, that is the object itself; searched
 * through full-text indexes, a subquery that joins each matching row with its rank and
 * snippet; searched without one, the object under a substring condition.
 */
export interface ListingSource {
  from: SqlFragment;
  /** An extra condition every read of the listing adds (the substring search). */
  condition: SqlFragment | null;
  /** The expression of the row's rowid in the source, null when it has none (views). */
  rowid: string | null;
  /** Whether rows carry RANK_COLUMN and SNIPPET_COLUMN. */
  ranked: boolean;
  /** Said beside the results: why the search is a slow substring scan and how to index it. */
  note: string | null;
}

function ftsIndexOf(db: Database.Database, schema: string, table: string): FtsIndex | null {
  const fts = `${table}_fts`;
  const sql = db.prepare(`SELECT sql FROM ${quoteIdentifier(schema)}.sqlite_schema WHERE type = 'table' AND name = ?`).pluck().get(fts) as string | undefined;
  if (!sql || !/\busing\s+fts5\s*\(/i.test(sql)) return null;
  const content = /\bcontent\s*=\s*['"[`]?([^'"\]`,)\s]+)/i.exec(sql)?.[1];
  if (content?.toLowerCase() !== table.toLowerCase()) return null;
  const contentRowid = /\bcontent_rowid\s*=\s*['"[`]?([^'"\]`,)\s]+)/i.exec(sql)?.[1] ?? 'rowid';
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?, ?)').pluck().all(fts, schema) as string[]);
  return { schema, table, fts, columns, contentRowid };
}

/** The subquery of one index's matches with their rank and a snippet, joined to its content table as `alias`. */
function matchesJoin(index: FtsIndex, tableRef: string): string {
  const fts = quoteIdentifier(index.fts);
  const rowid = index.contentRowid === 'rowid' ? `${tableRef}.rowid` : `${tableRef}.${quoteIdentifier(index.contentRowid)}`;
  return (
    ` JOIN (SELECT rowid AS match_rowid, rank AS match_rank, snippet(${fts}, -1, char(2), char(3), '…', ${SNIPPET_TOKENS}) AS match_snippet` +
    ` FROM ${quoteIdentifier(index.schema)}.${fts} WHERE ${fts} MATCH ?) AS yard_matches ON yard_matches.match_rowid = ${rowid}`
  );
}

const RANK_SELECT = `yard_matches.match_rank AS ${RANK_COLUMN}, yard_matches.match_snippet AS ${SNIPPET_COLUMN}`;

type Range = [number, number];
const rangeOf = (node: Node): Range => (node as { range?: Range }).range!;

/** The SELECT arms of a view body: `a UNION ALL b UNION ALL c` → [a, b, c]. */
function armsOf(node: Node): Node[] {
  if (node.type === 'compound_select_stmt') return [...armsOf(node.left), ...armsOf(node.right)];
  return [node];
}

function identifierName(node: Node | undefined): string | null {
  return node?.type === 'identifier' ? node.name : null;
}

/**
 * A view's SELECT rewritten so that every arm joins the full-text matches of the one table
 * it reads (directly or through another view), or null when some arm reads no indexed
 * table (a join, a WITH).
 * Each arm gains the rank and snippet columns and one `?` for the search text.
 */
function searchableViewSql(db: Database.Database, selectSql: string): { sql: string; params: number; tables: string[] } | null {
  let body: Node;
  try {
    const program = parse(selectSql, { dialect: 'sqlite', includeRange: true });
    body = program.statements[0] as Node;
  } catch {
    return null;
  }
  if (!body || (body.type !== 'select_stmt' && body.type !== 'compound_select_stmt')) return null;
  const edits: Array<{ at: number; drop: number; text: string }> = [];
  const tables: string[] = [];
  let params = 0;
  for (const arm of armsOf(body)) {
    if (arm.type !== 'select_stmt') return null;
    const select = arm.clauses.find((clause) => clause.type === 'select_clause');
    const from = arm.clauses.find((clause) => clause.type === 'from_clause');
    if (arm.clauses.some((clause) => clause.type === 'with_clause') || select?.type !== 'select_clause' || !select.columns || from?.type !== 'from_clause') return null;
    const columns = select.columns;
    const target = from.expr.type === 'alias' ? from.expr.expr : from.expr;
    const readsView = target.type === 'identifier' ? viewSql(db, target.name) : null;
    if (readsView !== null) {
      // An arm over another view (open_findings over all_findings) searches through that view's indexes.
      const inner = searchableViewSql(db, readsView);
      if (!inner) return null;
      tables.push(...inner.tables);
      params += inner.params;
      const reference = from.expr.type === 'alias' ? quoteIdentifier(identifierName(from.expr.alias)!) : quoteIdentifier((target as { name: string }).name);
      edits.push({ at: rangeOf(target)[0], drop: rangeOf(target)[1] - rangeOf(target)[0], text: `(${inner.sql})${from.expr.type === 'alias' ? '' : ` AS ${reference}`}` });
      if (!columns.items.some((item) => item.type === 'all_columns')) {
        edits.push({ at: rangeOf(columns)[1], drop: 0, text: `, ${reference}.${RANK_COLUMN} AS ${RANK_COLUMN}, ${reference}.${SNIPPET_COLUMN} AS ${SNIPPET_COLUMN}` });
      }
      continue;
    }
    if (target.type !== 'member_expr') return null;
    const schema = identifierName(target.object);
    const table = identifierName(target.property as Node);
    if (!schema || !table) return null;
    const index = ftsIndexOf(db, schema, table);
    if (!index) return null;
    tables.push(`${schema}.${table}`);
    params += 1;
    const tableRef = from.expr.type === 'alias' ? quoteIdentifier(identifierName(from.expr.alias)!) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    // A bare * would now take the matches' columns too; `schema.table.*` is not SQLite, so the columns are listed.
    const tableColumns = (db.prepare('SELECT name FROM pragma_table_info(?, ?)').pluck().all(table, schema) as string[]).map((c) => `${tableRef}.${quoteIdentifier(c)}`);
    for (const item of columns.items) {
      if (item.type === 'all_columns') edits.push({ at: rangeOf(item)[0], drop: 1, text: tableColumns.join(', ') });
    }
    edits.push({ at: rangeOf(columns)[1], drop: 0, text: `, ${RANK_SELECT}` });
    edits.push({ at: rangeOf(from.expr)[1], drop: 0, text: matchesJoin(index, tableRef) });
  }
  let sql = selectSql;
  for (const edit of edits.sort((a, b) => b.at - a.at)) sql = sql.slice(0, edit.at) + edit.text + sql.slice(edit.at + edit.drop);
  return { sql, params, tables };
}

/** The SELECT of a composite's TEMP view, or null when there is no such view. */
function viewSql(db: Database.Database, name: string): string | null {
  const sql = db.prepare("SELECT sql FROM temp.sqlite_schema WHERE type = 'view' AND name = ?").pluck().get(name) as string | undefined;
  return sql === undefined ? null : sql.replace(/^\s*CREATE\s+(TEMP\w*\s+)?VIEW\s+("[^"]*"|\S+)\s+AS\s+/i, '');
}

/** Text-like columns a substring search looks in: declared text, or no declared type (view expressions). */
function textColumns(object: BrowseObject): string[] {
  return object.columns.filter((c) => c.type === '' || /char|clob|text/i.test(c.type)).map((c) => c.name);
}

/** The statements that would give a table a full-text index kept up to date by triggers, sqlite-utils style. */
export function ftsIndexSuggestion(schema: string, table: string, columns: string[]): string {
  const fts = quoteIdentifier(`${table}_fts`);
  const t = quoteIdentifier(table);
  const list = columns.map(quoteIdentifier).join(', ');
  const newValues = columns.map((c) => `new.${quoteIdentifier(c)}`).join(', ');
  const oldValues = columns.map((c) => `old.${quoteIdentifier(c)}`).join(', ');
  return [
    `-- in ${schema}'s own database file (the console never writes it):`,
    `CREATE VIRTUAL TABLE ${fts} USING fts5(${list}, content=${quoteIdentifier(table).replaceAll('"', "'")});`,
    `INSERT INTO ${fts}(${fts}) VALUES ('rebuild');`,
    `CREATE TRIGGER ${quoteIdentifier(`${table}_ai`)} AFTER INSERT ON ${t} BEGIN INSERT INTO ${fts}(rowid, ${list}) VALUES (new.rowid, ${newValues}); END;`,
    `CREATE TRIGGER ${quoteIdentifier(`${table}_ad`)} AFTER DELETE ON ${t} BEGIN INSERT INTO ${fts}(${fts}, rowid, ${list}) VALUES ('delete', old.rowid, ${oldValues}); END;`,
    `CREATE TRIGGER ${quoteIdentifier(`${table}_au`)} AFTER UPDATE ON ${t} BEGIN INSERT INTO ${fts}(${fts}, rowid, ${list}) VALUES ('delete', old.rowid, ${oldValues}); INSERT INTO ${fts}(rowid, ${list}) VALUES (new.rowid, ${newValues}); END;`,
  ].join('\n');
}

/** The tables a view's arms read, when each reads exactly one (for the suggestion). */
function tablesOfView(selectSql: string): Array<{ schema: string; table: string }> {
  try {
    const body = parse(selectSql, { dialect: 'sqlite', includeRange: true }).statements[0] as Node;
    return armsOf(body).flatMap((arm) => {
      const from = arm.type === 'select_stmt' ? arm.clauses.find((clause) => clause.type === 'from_clause') : undefined;
      const target = from?.type === 'from_clause' ? (from.expr.type === 'alias' ? from.expr.expr : from.expr) : undefined;
      const schema = target?.type === 'member_expr' ? identifierName(target.object) : null;
      const table = target?.type === 'member_expr' ? identifierName(target.property as Node) : null;
      return schema && table ? [{ schema, table }] : [];
    });
  } catch {
    return [];
  }
}

interface SearchPlan {
  /** The full-text subquery with one `?` per index it reads, or null for a substring search. */
  ftsSql: string | null;
  ftsParams: number;
  ftsColumns: string[];
  note: string | null;
}

const plans = new WeakMap<BrowseObject, SearchPlan>();

/** How an object is searched; decided once per object as listed (a new schema lists new objects). */
function searchPlan(db: Database.Database, object: BrowseObject): SearchPlan {
  let plan = plans.get(object);
  if (plan) return plan;
  const substringNote = (suggestions: string) =>
    `${object.name} has no full-text index, so this search looks for the text anywhere in ${textColumns(object).join(', ') || 'its columns'} and stops at the page deadline. ` +
    `For fast, ranked search, run in the owning database:\n${suggestions}`;
  if (object.kind === 'table') {
    const index = ftsIndexOf(db, object.schema, object.table);
    plan = index
      ? {
          ftsSql: `(SELECT yard_content.rowid AS ${SEARCH_ROWID_COLUMN}, yard_content.*, ${RANK_SELECT} FROM ${qualifiedName(object)} AS yard_content${matchesJoin(index, 'yard_content')})`,
          ftsParams: 1,
          ftsColumns: index.columns,
          note: null,
        }
      : { ftsSql: null, ftsParams: 0, ftsColumns: [], note: substringNote(ftsIndexSuggestion(object.schema, object.table, textColumns(object).filter((name) => columnKind(requireColumn(object, name)) !== 'date'))) };
  } else {
    const body = viewSql(db, object.table) ?? '';
    const rewritten = searchableViewSql(db, body);
    if (rewritten) {
      const columns = [...new Set(rewritten.tables.flatMap((name) => ftsIndexOf(db, ...(name.split('.') as [string, string]))!.columns))];
      plan = { ftsSql: `(${rewritten.sql})`, ftsParams: rewritten.params, ftsColumns: columns, note: null };
    } else {
      const tables = tablesOfView(body);
      const suggestions = tables.map((t) => {
        const columns = (db.prepare('SELECT name, type FROM pragma_table_info(?, ?)').all(t.table, t.schema) as Array<{ name: string; type: string }>)
          .filter((c) => textColumns(object).includes(c.name) && /char|clob|text/i.test(c.type) && columnKind(c) !== 'date')
          .map((c) => c.name);
        return ftsIndexSuggestion(t.schema, t.table, columns.length > 0 ? columns : ['title']);
      });
      plan = { ftsSql: null, ftsParams: 0, ftsColumns: [], note: substringNote(suggestions.join('\n') || `(index the tables ${object.name} reads, each as <table>_fts)`) };
    }
  }
  plans.set(object, plan);
  return plan;
}

function likePattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

let syntaxChecker: Database.Database | undefined;
const checkers = new Map<string, Database.Statement>();

/**
 * Refuses search text that is not FTS5 query syntax with a 400 saying how to fix it. It is
 * checked against an empty in-memory index with the same columns, so the check costs a
 * parse and never reads evidence.
 */
function requireValidSearch(text: string, columns: string[]): void {
  syntaxChecker ??= new Database(':memory:');
  const key = JSON.stringify(columns);
  let statement = checkers.get(key);
  if (!statement) {
    const name = `checker_${checkers.size}`;
    syntaxChecker.exec(`CREATE VIRTUAL TABLE ${name} USING fts5(${columns.map(quoteIdentifier).join(', ')})`);
    statement = syntaxChecker.prepare(`SELECT 1 FROM ${name} WHERE ${name} MATCH ?`);
    checkers.set(key, statement);
  }
  try {
    statement.all(text);
  } catch (error) {
    const reason = (error as Error).message.replace(/^fts5: /, '');
    throw new BrowseError(
      'bad_search',
      `_search "${text}" is not valid full-text search syntax (${reason}). Search for words as they are by putting them in double quotes, like "${text.replaceAll('"', '')}"; ` +
        `AND, OR, NOT, NEAR(), prefix* and column: filters are understood (searchable columns: ${columns.join(', ')}).`,
    );
  }
}

/** Where a listing of `object` reads from, searched for `search` (null: not searched). */
export function listingSource(db: Database.Database, object: BrowseObject, search: string | null): ListingSource {
  const plain: ListingSource = { from: { sql: qualifiedName(object), params: [] }, condition: null, rowid: object.hasRowid ? 'rowid' : null, ranked: false, note: null };
  if (search === null) return plain;
  const plan = searchPlan(db, object);
  if (plan.ftsSql !== null) {
    requireValidSearch(search, plan.ftsColumns);
    return { from: { sql: plan.ftsSql, params: Array(plan.ftsParams).fill(search) }, condition: null, rowid: object.hasRowid ? SEARCH_ROWID_COLUMN : null, ranked: true, note: null };
  }
  const columns = textColumns(object);
  const condition =
    columns.length === 0
      ? { sql: '0', params: [] }
      : { sql: columns.map((c) => `${quoteIdentifier(c)} LIKE ? ESCAPE '\\'`).join(' OR '), params: columns.map(() => likePattern(search)) };
  return { ...plain, condition, note: plan.note };
}

/** Whether the object's search is full-text (ranked), without validating any text. */
export function searchIsRanked(db: Database.Database, object: BrowseObject): boolean {
  return searchPlan(db, object).ftsSql !== null;
}

/** A snippet as segments, so the page marks matches with `<mark>` and the API stays plain data. */
export function snippetSegments(snippet: string): Array<{ text: string; match: boolean }> {
  const segments: Array<{ text: string; match: boolean }> = [];
  for (const [i, part] of snippet.split(MATCH_START).entries()) {
    if (i === 0) {
      if (part) segments.push({ text: part, match: false });
      continue;
    }
    const [matched, rest] = part.split(MATCH_END);
    segments.push({ text: matched, match: true });
    if (rest) segments.push({ text: rest, match: false });
  }
  return segments;
}
