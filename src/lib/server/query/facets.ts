import { quoteIdentifier } from '../composite/connect.ts';
import type Database from 'better-sqlite3';
import { qualifiedName, type BrowseObject } from './objects.ts';
import { selection, type BrowseRequest } from './browse.ts';
import type { SqlFragment } from './filters.ts';

export interface FacetValue {
  value: string | number | null;
  count: number;
}

/** The most frequent values of a column among the selected rows, or a note that counting them took too long. */
export type Facet = { column: string; values: FacetValue[]; more: boolean } | { column: string; timedOut: true };

/**
 * Counts of a column's values among the rows a request selects (its filters and search),
 * most frequent first, NULL included as a value of its own; one more than shown is read
 * so the page knows whether to offer "more".
 */
export function facetQuery(db: Database.Database, object: BrowseObject, request: Pick<BrowseRequest, 'filters' | 'search'>, column: string, size: number): SqlFragment {
  const selected = selection(db, object, request);
  const c = quoteIdentifier(column);
  return { sql: `SELECT ${c} AS value, count(*) AS count ${selected.sql} GROUP BY ${c} ORDER BY count DESC, value LIMIT ?`, params: [...selected.params, size + 1] };
}

export function facetOf(column: string, rows: Array<Record<string, unknown>>, size: number): Facet {
  const values = rows.slice(0, size).map((row) => ({ value: typeof row.value === 'bigint' ? Number(row.value) : (row.value as FacetValue['value']), count: Number(row.count) }));
  return { column, values, more: rows.length > size };
}

/** Rows a suggestion looks at: enough to see which columns repeat, few enough to cost about a page. */
export const SUGGESTION_SAMPLE = 1000;
/** A column with at least 2 and at most this many distinct values in the sample is worth a facet. */
const MOST_DISTINCT = 20;

/**
 * One statement counting the distinct values of every column in the object's first
 * SUGGESTION_SAMPLE rows: a facet suggestion costs a bounded read, not a GROUP BY over
 * every row (what makes other browsers' table pages slow).
 */
export function suggestionQuery(object: BrowseObject): string {
  const counts = object.columns.map((c, i) => `count(DISTINCT ${quoteIdentifier(c.name)}) AS d${i}`).join(', ');
  return `SELECT count(*) AS sampled${counts ? `, ${counts}` : ''} FROM (SELECT * FROM ${qualifiedName(object)} LIMIT ${SUGGESTION_SAMPLE})`;
}

/** The columns the sample shows few distinct values of, fewest first. */
export function suggestedFacets(object: BrowseObject, row: Record<string, unknown>): string[] {
  const sampled = Number(row.sampled);
  return object.columns
    .map((c, i) => ({ name: c.name, distinct: Number(row[`d${i}`]) }))
    .filter((c) => c.distinct >= 2 && c.distinct <= MOST_DISTINCT && c.distinct < sampled)
    .sort((a, b) => a.distinct - b.distinct)
    .map((c) => c.name);
}
