import { describe, expect, it } from 'vitest';
import { formRedirect, hrefAdding, hrefRemoving, rangeToDate } from './browse-forms.ts';

const at = (query: string) => new URL(`http://console/tenants/acme/objects/all_findings?${query}`);
const paramsOf = (href: string | null) => Object.fromEntries(new URL(href!, 'http://console').searchParams);

describe('browse forms', () => {
  it('turns a date range into a whole-day filter pair and drops the paging', () => {
    expect(paramsOf(formRedirect(at('severity=high&_cursor=x&_range_column=created_at&_range_kind=date&_range_from=2026-03-01&_range_to=2026-03-31')))).toEqual({
      severity: 'high',
      created_at__gte: '2026-03-01',
      created_at__lt: '2026-04-01',
    });
  });

  it('shows the "to" day a date range holds, so that setting only "from" again keeps it', () => {
    const shown = rangeToDate(at('created_at__lt=2026-04-01').searchParams.get('created_at__lt'));
    expect(shown).toBe('2026-03-31');
    expect(paramsOf(formRedirect(at(`created_at__lt=2026-04-01&_range_column=created_at&_range_kind=date&_range_from=2026-02-01&_range_to=${shown}`)))).toEqual({
      created_at__gte: '2026-02-01',
      created_at__lt: '2026-04-01',
    });
    expect(rangeToDate(null)).toBe('');
    expect(rangeToDate('not a date')).toBe('');
  });

  it('leaves an empty end of a number range open', () => {
    expect(paramsOf(formRedirect(at('_range_column=duration_ms&_range_kind=number&_range_from=&_range_to=500')))).toEqual({ duration_ms__lte: '500' });
  });

  it('adds a filter from the add-filter form, and does nothing for a plain URL', () => {
    expect(paramsOf(formRedirect(at('_filter_column=status&_filter_op=not&_filter_value=open')))).toEqual({ status__not: 'open' });
    expect(formRedirect(at('status=open'))).toBeNull();
  });

  it('adds and removes one facet among several', () => {
    const two = hrefAdding(at('_facet=severity'), '_facet', 'status');
    expect(new URL(two, 'http://console').searchParams.getAll('_facet')).toEqual(['severity', 'status']);
    expect(new URL(hrefRemoving(new URL(two, 'http://console'), '_facet', 'severity'), 'http://console').searchParams.getAll('_facet')).toEqual(['status']);
  });
});
