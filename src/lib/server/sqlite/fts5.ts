/**
 * What a table's `CREATE` statement says of it as an FTS5 index, read the same way wherever
 * the console asks: when regeneration checks a `-- @fts` declaration, when search looks for a
 * table's index, and when the objects list and the scaffold leave an index's internals out.
 */

/** Whether `createSql` creates an FTS5 index. */
export function isFts5(createSql: string | null | undefined): boolean {
  return createSql != null && /\busing\s+fts5\s*\(/i.test(createSql);
}

/** An FTS5 option's value (`content`, `content_rowid`), without the quotes or brackets SQLite allows around it. */
function fts5Option(createSql: string, option: string): string | undefined {
  return new RegExp(`\\b${option}\\s*=\\s*['"[\`]?([^'"\\]\`,)\\s]+)`, 'i').exec(createSql)?.[1];
}

/** The table an external-content FTS5 index reads its text from; undefined when it keeps its own. */
export function fts5ContentTable(createSql: string): string | undefined {
  return fts5Option(createSql, 'content');
}

/** The column of the content table its rowids are; `rowid` unless `content_rowid` names one. */
export function fts5ContentRowid(createSql: string): string {
  return fts5Option(createSql, 'content_rowid') ?? 'rowid';
}

const SHADOW_SUFFIXES = ['data', 'idx', 'content', 'docsize', 'config'];

/** Whether `table` is a shadow table (`<index>_data`, `_idx`, …) of one of `ftsTables`: index internals, not evidence. */
export function isFts5Shadow(table: string, ftsTables: readonly string[]): boolean {
  return ftsTables.some((fts) => SHADOW_SUFFIXES.some((suffix) => table === `${fts}_${suffix}`));
}
