import { quoteIdentifier } from '../composite/connect.ts';
import { BrowseError, requireColumn, type BrowseObject } from './objects.ts';

/** Filter operators of `?<column>__<op>=value`; a bare `?<column>=value` means exact. */
export const FILTER_OPERATORS = ['exact', 'not', 'contains', 'startswith', 'gt', 'gte', 'lt', 'lte', 'in', 'isnull', 'notnull'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface Filter {
  column: string;
  op: FilterOperator;
  value: string;
}

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** Parameters that start with `_` steer paging and sorting; every other one is a filter. */
export function parseFilters(params: URLSearchParams, object: BrowseObject): Filter[] {
  const filters: Filter[] = [];
  for (const [key, value] of params) {
    if (key.startsWith('_')) continue;
    const split = key.lastIndexOf('__');
    const column = split === -1 ? key : key.slice(0, split);
    const op = split === -1 ? 'exact' : key.slice(split + 2);
    requireColumn(object, column);
    if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
      throw new BrowseError('bad_operator', `"${op}" in "${key}" is not a filter operator; use one of ${FILTER_OPERATORS.join(', ')}.`);
    }
    filters.push({ column, op: op as FilterOperator, value });
  }
  return filters;
}

function likePattern(value: string, prefixOnly: boolean): string {
  const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return prefixOnly ? `${escaped}%` : `%${escaped}%`;
}

/** Values arrive as text; a number-looking value is bound as a number so numeric columns compare as numbers. */
function bound(value: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(value) && Number.isFinite(Number(value)) ? Number(value) : value;
}

/** `column` holds `value` anywhere in its text, `%` and `_` in it matched as themselves: the `__contains` filter, and a search without a full-text index. */
export function containsText(column: string, value: string): SqlFragment {
  return { sql: `${quoteIdentifier(column)} LIKE ? ESCAPE '\\'`, params: [likePattern(value, false)] };
}

function condition(filter: Filter): SqlFragment {
  const column = quoteIdentifier(filter.column);
  switch (filter.op) {
    case 'exact':
      return { sql: `${column} = ?`, params: [bound(filter.value)] };
    case 'not':
      return { sql: `${column} IS NOT ?`, params: [bound(filter.value)] };
    case 'contains':
      return containsText(filter.column, filter.value);
    case 'startswith':
      return { sql: `${column} LIKE ? ESCAPE '\\'`, params: [likePattern(filter.value, true)] };
    case 'gt':
      return { sql: `${column} > ?`, params: [bound(filter.value)] };
    case 'gte':
      return { sql: `${column} >= ?`, params: [bound(filter.value)] };
    case 'lt':
      return { sql: `${column} < ?`, params: [bound(filter.value)] };
    case 'lte':
      return { sql: `${column} <= ?`, params: [bound(filter.value)] };
    case 'in': {
      const values = filter.value.split(',').filter((v) => v !== '');
      if (values.length === 0) throw new BrowseError('bad_value', `${filter.column}__in needs a comma-separated list of values.`);
      return { sql: `${column} IN (${values.map(() => '?').join(', ')})`, params: values.map(bound) };
    }
    case 'isnull':
      return { sql: `${column} IS NULL`, params: [] };
    case 'notnull':
      return { sql: `${column} IS NOT NULL`, params: [] };
  }
}

/** All filters ANDed, plus any extra conditions; values are always bound, never spliced. */
export function whereClause(filters: Filter[], extra: SqlFragment[] = []): SqlFragment {
  const parts = [...filters.map(condition), ...extra];
  if (parts.length === 0) return { sql: '', params: [] };
  return { sql: `WHERE ${parts.map((p) => `(${p.sql})`).join(' AND ')}`, params: parts.flatMap((p) => p.params) };
}
