import { hrefWith } from '../core/format.ts';

/** Paging state a changed selection makes meaningless. */
const PAGING = { _cursor: null, _dir: null } as const;

/** A `YYYY-MM-DD` date moved by whole days; null for anything else. */
function daysFrom(date: string, days: number): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const time = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(time) ? null : new Date(time + days * 86_400_000).toISOString().slice(0, 10);
}

/** The next day of a `YYYY-MM-DD` date, so a range "to" date includes the whole day of ISO timestamps. */
function dayAfter(date: string): string | null {
  return daysFrom(date, 1);
}

/**
 * The inclusive "to" date a date range form shows for the URL's `<column>__lt` (the day
 * before it), so that submitting the form again keeps that end; '' when there is none.
 */
export function rangeToDate(exclusiveEnd: string | null): string {
  return exclusiveEnd === null ? '' : (daysFrom(exclusiveEnd, -1) ?? '');
}

/**
 * The browse page's forms have fixed field names so they work without JavaScript; each is
 * turned into `column__op=value` parameters here, so the URL always holds the whole state.
 * Returns where to redirect, or null when the URL holds no form submission.
 *
 * - add a filter: `_filter_column`, `_filter_op`, `_filter_value`;
 * - a range: `_range_column`, `_range_from`, `_range_to`, `_range_kind` (`date`: the "to"
 *   day is included whole, as `< next day`; `number`: `<=`). Empty ends are left open.
 */
export function formRedirect(url: URL): string | null {
  const added = url.searchParams.get('_filter_column');
  if (added) {
    const op = url.searchParams.get('_filter_op') || 'exact';
    const value = url.searchParams.get('_filter_value') ?? '';
    return hrefWith(url, { _filter_column: null, _filter_op: null, _filter_value: null, ...PAGING, [op === 'exact' ? added : `${added}__${op}`]: value });
  }
  const ranged = url.searchParams.get('_range_column');
  if (ranged) {
    const from = url.searchParams.get('_range_from')?.trim() ?? '';
    const to = url.searchParams.get('_range_to')?.trim() ?? '';
    const isDate = url.searchParams.get('_range_kind') === 'date';
    const upper = isDate ? `${ranged}__lt` : `${ranged}__lte`;
    const upperValue = to === '' ? null : isDate ? (dayAfter(to) ?? to) : to;
    return hrefWith(url, {
      _range_column: null,
      _range_from: null,
      _range_to: null,
      _range_kind: null,
      ...PAGING,
      [`${ranged}__gte`]: from === '' ? null : from,
      [upper]: upperValue,
    });
  }
  return null;
}

/** The current URL with one more value of a repeatable parameter (`_facet`), paging reset. */
export function hrefAdding(url: URL, key: string, value: string): string {
  const params = new URLSearchParams(url.searchParams);
  params.delete('_cursor');
  params.delete('_dir');
  if (!params.getAll(key).includes(value)) params.append(key, value);
  return `${url.pathname}?${params}`;
}

/** The current URL without one value of a repeatable parameter. */
export function hrefRemoving(url: URL, key: string, value: string): string {
  const params = new URLSearchParams([...url.searchParams].filter(([k, v]) => !(k === key && v === value) && k !== '_cursor' && k !== '_dir'));
  const query = params.toString();
  return query ? `${url.pathname}?${query}` : url.pathname;
}
