import { describe, expect, it } from 'vitest';
import { browseResponse, type BrowseResult } from './browsing.ts';

// Reused parts are the same objects on each request.
const count = { count: 1, capped: false };
const suggestedFacets: string[] = [];
const page = { columns: ['severity'], rows: [{ severity: 'high' }], rowKeys: ['r1'], nextCursor: null, prevCursor: null, sortColumn: 'rowid', desc: false };
const result = (facets: BrowseResult['facets']): BrowseResult => ({
  object: { name: 'quality.findings', kind: 'table', schema: 'quality', table: 'findings', columns: [{ name: 'severity', type: 'TEXT', pk: 0 }], hasRowid: true },
  request: { filters: [], sortColumn: 'rowid', desc: false, pageSize: 50, cursor: null, direction: 'next', search: null, facets: ['severity'], facetSize: 10 },
  page,
  count,
  facets,
  suggestedFacets,
});

describe('the rows API answer', () => {
  it('is made again when a facet was counted since, though the page and count are reused', async () => {
    const before = await browseResponse(result([{ column: 'severity', timedOut: true }])).json();
    const after = await browseResponse(result([{ column: 'severity', values: [{ value: 'high', count: 1 }], more: false }])).json();
    expect(before.facets).toEqual([{ column: 'severity', timedOut: true }]);
    expect(after.facets).toEqual([{ column: 'severity', values: [{ value: 'high', count: 1 }], more: false }]);
  });
});
