import Database from 'better-sqlite3';
import { quoteIdentifier } from '../composite/connect.ts';
import { parse, type Node } from '../sqlite/sql-parser.ts';
import { BrowseError, columnKind, qualifiedName, requireColumn, type BrowseObject } from './objects.ts';
import { manifestOf } from '../composite/manifest.ts';
import { keptStatement } from '../sqlite/statements.ts';
import { fts5ContentRowid, fts5ContentTable, isFts5 } from '../sqlite/fts5.ts';
import { containsText, type SqlFragment } from './filters.ts';

/** Result columns a searched listing adds to the object's own; stripped before rows are shown. */
export const RANK_COLUMN = '__yard_rank';
export const SEARCH_ROWID_COLUMN = '__yard_rowid';
/** Columns of a listing's rows with the arm (of a view's UNION ALL, 0 for a table) each comes from and its rowid there; see MatchWindow. */
export const ARM_COLUMN = '__yard_arm';
export const ARM_ROWID_COLUMN = '__yard_arm_rowid';
/** The URL name of the relevance order (`_sort=_rank`), the default while searching. */
export const RANK_SORT = '_rank';
/** Marks a matched word inside a snippet; the page turns the pair into `<mark>`, the API into segments. */
export const MATCH_START = '\u0002';
export const MATCH_END = '\u0003';
/** Snippets longer than this are cut to a window around the first match. */
const SNIPPET_CHARS = 160;
/**
 * Matches per index from which a search sorted by an indexed column walks that index and
 * checks each row against the matches, instead of sorting every match: sorting costs about
 * 3 µs a row here, walking about what the rows skipped cost (measured on 2 × 500,000 titles).
 */
const WALK_FROM_MATCHES = 2000;

/** A full-text index of an attached table: `<table>_fts` with `content='<table>'` (sqlite-utils' convention), or declared by `-- @fts`. */
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
 * Where a listing reads its rows from. Unsearched, that is the object itself. Searched
 * through full-text indexes in relevance order, a subquery that joins each matching row
 * with its rank; in any other order, the rows whose rowid is among the index's matches.
 * Searched without an index, the object under a substring condition.
 */
export interface ListingSource {
  from: SqlFragment;
  /** An extra condition every read of the listing adds (the matches of a table, the substring search). */
  condition: SqlFragment | null;
  /** The expression of the row's rowid in the source, null when it has none (views). */
  rowid: string | null;
  /** Whether rows carry RANK_COLUMN. */
  ranked: boolean;
  /** The indexed columns, whose text the snippets come from; null unless searched through an index. */
  snippetColumns: string[] | null;
  /** Said beside the results: why the search is a slow substring scan and how to index it. */
  note: string | null;
  /** How a search walking the sort column's index may read only the matches among the listing's first rows. */
  window?: MatchWindow;
}

/**
 * A searched listing read a window at a time. Collecting every match of a common word
 * costs what the matches cost (125,000 rowids into a temporary index: 11 ms), whatever
 * the page; asking the index row by row costs more (about 80 µs a probe on an index of a
 * few segments). But an index can give the matches within a range of rowids for what
 * those cost, and rows newest by a date are usually close in rowid too. So the listing's
 * first rows (the window) are read unsearched for the smallest and largest rowid each arm
 * has among them, and each arm keeps the matches within that range: the rows of the window
 * that match are all among them, in the same order, so a page the window fills is the
 * page. The caller grows the window when it does not fill the page, and reads every match
 * instead when the rowids of the window are too scattered for a range to pay.
 */
export interface MatchWindow {
  /** The object's rows, unsearched, with ARM_COLUMN and ARM_ROWID_COLUMN. */
  armRows: string;
  /** How many arms there are (ARM_COLUMN counts from 0). */
  arms: number;
  /** The listing keeping, per arm, the matches with a rowid within [lo, hi]. */
  within(bounds: ReadonlyArray<readonly [number, number]>): Pick<ListingSource, 'from' | 'condition'>;
}

/** The full-text index of `schema.table`: declared in composite.sql (`-- @fts`), or by convention `<table>_fts`. */
function ftsIndexOf(db: Database.Database, schema: string, table: string): FtsIndex | null {
  const declared = manifestOf(db)?.searchIndexes?.find((index) => index.schema.toLowerCase() === schema.toLowerCase() && index.table.toLowerCase() === table.toLowerCase());
  const fts = declared?.fts ?? `${table}_fts`;
  const sql = db.prepare(`SELECT sql FROM ${quoteIdentifier(schema)}.sqlite_schema WHERE type = 'table' AND name = ?`).pluck().get(fts) as string | undefined;
  if (!sql || !isFts5(sql) || fts5ContentTable(sql)?.toLowerCase() !== table.toLowerCase()) return null;
  const contentRowid = fts5ContentRowid(sql);
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?, ?)').pluck().all(fts, schema) as string[]);
  return { schema, table, fts, columns, contentRowid };
}

function contentRowid(index: FtsIndex, tableRef: string): string {
  return index.contentRowid === 'rowid' ? `${tableRef}.rowid` : `${tableRef}.${quoteIdentifier(index.contentRowid)}`;
}

function matchesOf(index: FtsIndex): string {
  const fts = quoteIdentifier(index.fts);
  return `SELECT rowid FROM ${quoteIdentifier(index.schema)}.${fts} WHERE ${fts} MATCH ?`;
}

/** The subquery of one index's matches with their rank, joined to its content table as `tableRef`. */
function matchesJoin(index: FtsIndex, tableRef: string): string {
  const fts = quoteIdentifier(index.fts);
  return (
    ` JOIN (SELECT rowid AS match_rowid, rank AS match_rank FROM ${quoteIdentifier(index.schema)}.${fts} WHERE ${fts} MATCH ?) AS yard_matches` +
    ` ON yard_matches.match_rowid = ${contentRowid(index, tableRef)}`
  );
}

/**
 * A row of `tableRef` among the index's matches. `walk` (a unary +) keeps SQLite from
 * reading the matches first, so it walks the sort column's index and checks each row.
 */
function matchCondition(index: FtsIndex, tableRef: string, walk: boolean): string {
  return `${walk ? '+' : ''}${contentRowid(index, tableRef)} IN (${matchesOf(index)})`;
}

/**
 * The same among the matches with a rowid from one `?` to another (see MatchWindow). FTS5
 * takes a rowid bound only when it is an integer, and better-sqlite3 binds a number as a
 * real, which FTS5 would ignore (reading every match): hence the CASTs.
 */
function windowCondition(index: FtsIndex, tableRef: string): string {
  return `+${contentRowid(index, tableRef)} IN (${matchesOf(index)} AND rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER))`;
}

const RANK_SELECT = `yard_matches.match_rank AS ${RANK_COLUMN}`;

/**
 * How a view's arms take in the search: joined with ranks; filtered to the matches (walking
 * the sort index or not), or to those within a range of rowids (`window`); or not searched
 * but telling their arm and rowid (`arms`), for MatchWindow; or replaced by their index's
 * matches alone (`count`, see indexCountSource).
 */
type ArmMode = 'rank' | 'filter' | 'walk' | 'window' | 'arms' | 'count';
const ARM_MODES: readonly ArmMode[] = ['rank', 'filter', 'walk', 'window', 'arms', 'count'];

/** The result columns an arm gains in a mode, which an arm over another view passes on. */
const ADDED_COLUMNS: Record<ArmMode, string[]> = { rank: [RANK_COLUMN], filter: [], walk: [], window: [], arms: [ARM_COLUMN, ARM_ROWID_COLUMN], count: [] };

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

/** Clauses after which an arm's rows are no longer its table's rows, one each: neither the table's matches nor a rowid range can stand for them. */
const ROW_CHANGING_CLAUSES = new Set(['group_by_clause', 'having_clause', 'limit_clause', 'window_clause']);

/** Whether a view body's arms are joined by UNION ALL only, so its rows are the sum of theirs. */
function unionAllOnly(node: Node): boolean {
  if (node.type !== 'compound_select_stmt') return true;
  const operator = Array.isArray(node.operator) ? node.operator.map((keyword) => keyword.name).join(' ') : node.operator.name;
  return operator === 'UNION ALL' && unionAllOnly(node.left) && unionAllOnly(node.right);
}

/**
 * A view's SELECT rewritten so that every arm joins the full-text matches of the one table
 * it reads (directly or through another view), or null when some arm reads no indexed
 * table (a join, a WITH) or groups, limits or de-duplicates its rows.
 * Each arm gains the columns ADDED_COLUMNS says and its `?`s: one for the search text
 * (`window`: then the lowest and highest rowid), none for `arms`. Arms are numbered from
 * `firstArm` in the order they are written, which is the order of their `?`s, and so are
 * the indexes returned with the SQL, one per arm.
 */
function searchableViewSql(db: Database.Database, selectSql: string, mode: ArmMode, firstArm = 0): { sql: string; indexes: FtsIndex[] } | null {
  let body: Node;
  try {
    const program = parse(selectSql, { dialect: 'sqlite', includeRange: true });
    body = program.statements[0] as Node;
  } catch {
    return null;
  }
  if (!body || (body.type !== 'select_stmt' && body.type !== 'compound_select_stmt')) return null;
  const edits: Array<{ at: number; drop: number; text: string }> = [];
  const indexes: FtsIndex[] = [];
  if (mode === 'count' && !unionAllOnly(body)) return null;
  for (const arm of armsOf(body)) {
    if (arm.type !== 'select_stmt') return null;
    const select = arm.clauses.find((clause) => clause.type === 'select_clause');
    const from = arm.clauses.find((clause) => clause.type === 'from_clause');
    if (arm.clauses.some((clause) => clause.type === 'with_clause') || select?.type !== 'select_clause' || !select.columns || from?.type !== 'from_clause') return null;
    // Matches kept before a GROUP BY, LIMIT or DISTINCT would change the view's rows themselves (a group's count), not pick some.
    if (arm.clauses.some((clause) => ROW_CHANGING_CLAUSES.has(clause.type)) || select.modifiers.some((modifier) => modifier.type !== 'select_all')) return null;
    // Counted by its index alone, an arm must keep every row of its table.
    if (mode === 'count' && arm.clauses.some((clause) => clause.type === 'where_clause')) return null;
    const columns = select.columns;
    const target = from.expr.type === 'alias' ? from.expr.expr : from.expr;
    const readsView = target.type === 'identifier' ? viewSql(db, target.name) : null;
    if (readsView !== null) {
      // An arm over another view (open_findings over all_findings) searches through that view's indexes.
      const inner = searchableViewSql(db, readsView, mode, firstArm + indexes.length);
      if (!inner) return null;
      indexes.push(...inner.indexes);
      if (mode === 'count') {
        edits.push({ at: rangeOf(arm)[0], drop: rangeOf(arm)[1] - rangeOf(arm)[0], text: `SELECT * FROM (${inner.sql})` });
        continue;
      }
      const reference = from.expr.type === 'alias' ? quoteIdentifier(identifierName(from.expr.alias)!) : quoteIdentifier((target as { name: string }).name);
      edits.push({ at: rangeOf(target)[0], drop: rangeOf(target)[1] - rangeOf(target)[0], text: `(${inner.sql})${from.expr.type === 'alias' ? '' : ` AS ${reference}`}` });
      if (ADDED_COLUMNS[mode].length > 0 && !columns.items.some((item) => item.type === 'all_columns')) {
        edits.push({ at: rangeOf(columns)[1], drop: 0, text: ADDED_COLUMNS[mode].map((column) => `, ${reference}.${column} AS ${column}`).join('') });
      }
      continue;
    }
    if (target.type !== 'member_expr') return null;
    const schema = identifierName(target.object);
    const table = identifierName(target.property as Node);
    if (!schema || !table) return null;
    const index = ftsIndexOf(db, schema, table);
    if (!index) return null;
    const armNumber = firstArm + indexes.length;
    indexes.push(index);
    const tableRef = from.expr.type === 'alias' ? quoteIdentifier(identifierName(from.expr.alias)!) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    if (mode === 'count') {
      edits.push({ at: rangeOf(arm)[0], drop: rangeOf(arm)[1] - rangeOf(arm)[0], text: matchesOf(index) });
      continue;
    }
    if (mode === 'arms') {
      edits.push({ at: rangeOf(columns)[1], drop: 0, text: `, ${armNumber} AS ${ARM_COLUMN}, ${contentRowid(index, tableRef)} AS ${ARM_ROWID_COLUMN}` });
      continue;
    }
    if (mode !== 'rank') {
      const where = arm.clauses.find((clause) => clause.type === 'where_clause');
      const condition = mode === 'window' ? windowCondition(index, tableRef) : matchCondition(index, tableRef, mode === 'walk');
      if (where?.type === 'where_clause') {
        edits.push({ at: rangeOf(where.expr)[0], drop: 0, text: '(' });
        edits.push({ at: rangeOf(where.expr)[1], drop: 0, text: `) AND ${condition}` });
      } else {
        edits.push({ at: rangeOf(from)[1], drop: 0, text: ` WHERE ${condition}` });
      }
      continue;
    }
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
  return { sql, indexes };
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
  /** The full-text index of a table, or of each table a view's arms read; empty for a substring search. */
  indexes: FtsIndex[];
  /** A view's SELECT rewritten per arm mode (`window`, `arms` and `count` absent where an arm does not allow them). */
  viewSql: Partial<Record<ArmMode, string>> | null;
  ftsColumns: string[];
  /** The columns a search may name (`title: word`): those every index has, since each arm runs the search on its own. */
  queryColumns: string[];
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
  const notText = (name: string) => columnKind(requireColumn(object, name)) !== 'date';
  if (object.kind === 'table') {
    const index = ftsIndexOf(db, object.schema, object.table);
    plan = index
      ? { indexes: [index], viewSql: null, ftsColumns: index.columns, queryColumns: index.columns, note: null }
      : { indexes: [], viewSql: null, ftsColumns: [], queryColumns: [], note: substringNote(ftsIndexSuggestion(object.schema, object.table, textColumns(object).filter(notText))) };
  } else {
    const body = viewSql(db, object.table) ?? '';
    const rewritten = new Map(ARM_MODES.map((mode) => [mode, searchableViewSql(db, body, mode)]));
    if (rewritten.get('rank') && rewritten.get('filter') && rewritten.get('walk')) {
      const { indexes } = rewritten.get('rank')!;
      // A window needs both of its rewrites: the arms' rowids and the matches within a range.
      const windowed = rewritten.get('window') && rewritten.get('arms');
      const possible = ARM_MODES.filter((mode) => rewritten.get(mode) && (windowed || (mode !== 'window' && mode !== 'arms')));
      plan = {
        indexes,
        viewSql: Object.fromEntries(possible.map((mode) => [mode, `(${rewritten.get(mode)!.sql})`])),
        ftsColumns: [...new Set(indexes.flatMap((index) => index.columns))],
        queryColumns: indexes[0]!.columns.filter((column) => indexes.every((index) => index.columns.includes(column))),
        note: null,
      };
    } else {
      const read = tablesOfView(body);
      const unindexed = read.filter((t) => !ftsIndexOf(db, t.schema, t.table));
      const suggestions = unindexed.map((t) => {
        const columns = (db.prepare('SELECT name, type FROM pragma_table_info(?, ?)').all(t.table, t.schema) as Array<{ name: string; type: string }>)
          .filter((c) => textColumns(object).includes(c.name) && /char|clob|text/i.test(c.type) && columnKind(c) !== 'date')
          .map((c) => c.name);
        return ftsIndexSuggestion(t.schema, t.table, columns.length > 0 ? columns : ['title']);
      });
      const note =
        read.length > 0 && unindexed.length === 0
          ? `${object.name} groups, limits or joins the rows of its tables, so their full-text indexes cannot stand for its own rows: this search looks for the text anywhere in ${textColumns(object).join(', ') || 'its columns'} and stops at the page deadline.`
          : substringNote(suggestions.join('\n') || `(index the tables ${object.name} reads, each as <table>_fts)`);
      plan = { indexes: [], viewSql: null, ftsColumns: [], queryColumns: [], note };
    }
  }
  plans.set(object, plan);
  return plan;
}

/** Whether some index has at least WALK_FROM_MATCHES matches: reading at most that many doclist entries each. */
function manyMatches(db: Database.Database, indexes: FtsIndex[], search: string): boolean {
  return indexes.some((index) => (keptStatement(db, `SELECT count(*) FROM (${matchesOf(index)} LIMIT ?)`).pluck().get(search, WALK_FROM_MATCHES) as number) >= WALK_FROM_MATCHES);
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
    // FTS5 wants a column; one no search can name stands in when the indexes share none.
    syntaxChecker.exec(`CREATE VIRTUAL TABLE ${name} USING fts5(${(columns.length > 0 ? columns : ['yard no shared column']).map(quoteIdentifier).join(', ')})`);
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
        `AND, OR, NOT, NEAR(), prefix* and column: filters are understood (searchable columns: ${columns.join(', ') || 'none that every index has'}).`,
    );
  }
}

/** What a listing is read in: relevance, an indexed column (which a search may walk), or anything else. */
export type ListingOrder = 'rank' | 'indexed' | 'other';

/** Where a listing of `object` reads from, searched for `search` (null: not searched), read in `order`. */
export function listingSource(db: Database.Database, object: BrowseObject, search: string | null, order: ListingOrder = 'other'): ListingSource {
  const plain: ListingSource = { from: { sql: qualifiedName(object), params: [] }, condition: null, rowid: object.hasRowid ? 'rowid' : null, ranked: false, snippetColumns: null, note: null };
  if (search === null) return plain;
  const plan = searchPlan(db, object);
  if (plan.indexes.length > 0) {
    requireValidSearch(search, plan.queryColumns);
    const mode: ArmMode = order === 'rank' ? 'rank' : order === 'indexed' && manyMatches(db, plan.indexes, search) ? 'walk' : 'filter';
    const searched = { snippetColumns: plan.ftsColumns, ranked: mode === 'rank' };
    const arms = plan.indexes.length;
    if (plan.viewSql) {
      const { [mode]: view, window: windowed, arms: armRows } = plan.viewSql;
      const window: MatchWindow | undefined =
        mode === 'walk' && windowed && armRows
          ? { armRows, arms, within: (bounds) => ({ from: { sql: windowed, params: bounds.flatMap(([lo, hi]) => [search, lo, hi]) }, condition: null }) }
          : undefined;
      return { ...plain, ...searched, from: { sql: view!, params: Array(arms).fill(search) }, ...(window ? { window } : {}) };
    }
    const [index] = plan.indexes;
    const table = qualifiedName(object);
    if (mode === 'walk') {
      const window: MatchWindow = {
        armRows: `(SELECT 0 AS ${ARM_COLUMN}, ${contentRowid(index, table)} AS ${ARM_ROWID_COLUMN}, * FROM ${table})`,
        arms,
        within: ([[lo, hi]]) => ({ from: plain.from, condition: { sql: windowCondition(index, table), params: [search, lo, hi] } }),
      };
      return { ...plain, ...searched, condition: { sql: matchCondition(index, table, true), params: [search] }, window };
    }
    if (mode !== 'rank') return { ...plain, ...searched, condition: { sql: matchCondition(index, table, false), params: [search] } };
    return {
      ...plain,
      ...searched,
      from: { sql: `(SELECT yard_content.rowid AS ${SEARCH_ROWID_COLUMN}, yard_content.*, ${RANK_SELECT} FROM ${qualifiedName(object)} AS yard_content${matchesJoin(index, 'yard_content')})`, params: [search] },
      rowid: object.hasRowid ? SEARCH_ROWID_COLUMN : null,
    };
  }
  const anyColumn = textColumns(object).map((column) => containsText(column, search));
  const condition = anyColumn.length === 0 ? { sql: '0', params: [] } : { sql: anyColumn.map((c) => c.sql).join(' OR '), params: anyColumn.flatMap((c) => c.params) };
  return { ...plain, condition, note: plan.note };
}

/**
 * `FROM …` of every row a search selects, counted in its full-text indexes alone, or null
 * when a count must read the rows: under filters, or when an arm of a view keeps only some
 * rows of its table (a WHERE of its own), or when its arms are not joined by UNION ALL.
 * A capped count of a common word then reads the index's list of matches (0.4 ms for
 * 10,000 of them) rather than each matching row too (2 to 3.5 ms). The index of an
 * external-content table is kept in step with its table (by triggers, or `rebuild`); one
 * out of step finds rows by their old text anyway.
 */
export function indexCountSource(db: Database.Database, object: BrowseObject, search: string, filtered: boolean): SqlFragment | null {
  if (filtered) return null;
  const plan = searchPlan(db, object);
  if (plan.indexes.length === 0) return null;
  requireValidSearch(search, plan.queryColumns);
  const sql = plan.viewSql ? plan.viewSql.count : `(${matchesOf(plan.indexes[0])})`;
  return sql === undefined ? null : { sql: `FROM ${sql}`, params: Array(plan.indexes.length).fill(search) };
}

/** Whether the object's search is full-text (ranked), without validating any text. */
export function searchIsRanked(db: Database.Database, object: BrowseObject): boolean {
  return searchPlan(db, object).indexes.length > 0;
}

const WORD = '[\\p{L}\\p{N}_]';

/**
 * The words a full-text query looks for, as a pattern marking them in text: its operators,
 * column filters and quotes set aside, `word*` as a prefix. The index's tokenizer
 * (unicode61) folds case and splits on what is not a letter or digit, as this does.
 */
function searchPattern(search: string): RegExp | null {
  const terms = search
    .replace(/\b[\p{L}\p{N}_]+\s*:/gu, ' ')
    .split(/[^\p{L}\p{N}_*]+/u)
    .filter((term) => term !== '' && !['AND', 'OR', 'NOT', 'NEAR'].includes(term))
    .map((term) => {
      const prefix = term.endsWith('*');
      const word = term.replace(/\*/g, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return word === '' ? null : prefix ? `${word}${WORD}*` : word;
    })
    .filter((term): term is string => term !== null);
  return terms.length === 0 ? null : new RegExp(`(?<!${WORD})(?:${terms.join('|')})(?!${WORD})`, 'giu');
}

/**
 * A row's snippet: the first indexed column whose text holds a searched word, cut to a
 * window around the first match when long, each match between MATCH_START and MATCH_END.
 * Made for the page's rows only, so a search that matches 100,000 rows makes 50 snippets,
 * all with the one pattern made from the search.
 */
export function snippetsOf(rows: Array<Record<string, unknown>>, columns: string[], search: string): string[] {
  const pattern = searchPattern(search);
  return rows.map((row) => snippetOf(row, columns, pattern));
}

function snippetOf(row: Record<string, unknown>, columns: string[], pattern: RegExp | null): string {
  const texts = columns.map((column) => row[column]).filter((value): value is string => typeof value === 'string' && value !== '');
  const text = (pattern && texts.find((candidate) => candidate.search(pattern) !== -1)) ?? texts[0] ?? '';
  let start = 0;
  let end = text.length;
  if (text.length > SNIPPET_CHARS) {
    const first = pattern ? Math.max(0, text.search(pattern)) : 0;
    start = Math.max(0, first - SNIPPET_CHARS / 3);
    end = Math.min(text.length, start + SNIPPET_CHARS);
  }
  const window = text.slice(start, end);
  const marked = pattern ? window.replace(pattern, (match) => `${MATCH_START}${match}${MATCH_END}`) : window;
  return `${start > 0 ? '…' : ''}${marked}${end < text.length ? '…' : ''}`;
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
