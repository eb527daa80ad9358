import { afterEach, describe, expect, it, vi } from 'vitest';
import { browse, browseResponse, type BrowseResult } from './browsing.ts';
import type { CompositeHandle, ConsoleRuntime } from './runtime.ts';
import { createVolumeFixture, FINDINGS_SQL, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { connectComposite } from '../composite/connect.ts';
import { ResultCache } from '../execution/result-cache.ts';
import { CountCache, RETRY_FAILED_AFTER_MS } from '../execution/count-cache.ts';
import { QueryTimeoutError, runRead } from '../query/run.ts';
import type { Facet } from '../query/facets.ts';
import type { RowCount } from '../query/browse.ts';

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

describe('facet suggestions', () => {
  let fixture: VolumeFixture;
  afterEach(() => {
    vi.restoreAllMocks();
    fixture?.remove();
  });

  it('are sampled again a while after a sample failed, not only at the next schema version', async () => {
    fixture = createVolumeFixture();
    // Two severities among three findings: worth a facet.
    fixture.database('tenant/acme', 'quality.sqlite.db', FINDINGS_SQL([[1, 'high', '2026-01-01'], [2, 'high', '2026-01-02'], [3, 'low', '2026-01-03']]));
    fixture.compositeSql('tenant/acme', "ATTACH 'quality.sqlite.db' AS quality;\n");
    const context = resolveContext(fixture.volumeDir, 'tenant/acme');
    expect(regenerateComposite(context).ok).toBe(true);
    const connection = connectComposite(context.name, context.dir, autoDbPath(context));
    const handle = { context, ctxPath: 'tenants/acme', actor: null, connection: () => connection } as CompositeHandle;
    // The sample runs in a read process; here, on the connection, failing the first time (read processes all busy, say).
    let samplesAsked = 0;
    const runtime = {
      settings: { rowCap: 100, countCap: 1000, queryTimeoutMs: 1000, facetCacheEntries: 0 },
      cursorSecret: Buffer.alloc(32),
      results: new ResultCache(0),
      counts: new CountCache<RowCount>(0),
      facets: new CountCache<Facet>(0),
      reads: { time: (_read: unknown, run: () => unknown) => run() },
      heavyRead: async (_context: string, sql: string) => {
        samplesAsked += 1;
        if (samplesAsked === 1) throw new QueryTimeoutError('past the deadline');
        return runRead(connection.db, sql, [], { rowCap: 1 });
      },
    } as unknown as ConsoleRuntime;
    const suggested = async () => (await browse(runtime, handle, 'quality.findings', new URLSearchParams())).suggestedFacets;
    let now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      expect(await suggested()).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      // Within the minute the failure stands; after it, the next page samples again and later pages show what it found.
      expect(await suggested()).toEqual([]);
      expect(samplesAsked).toBe(1);
      now += RETRY_FAILED_AFTER_MS;
      await suggested();
      await new Promise((resolve) => setImmediate(resolve));
      expect(samplesAsked).toBe(2);
      expect(await suggested()).toEqual(['severity']);
    } finally {
      connection.db.close();
    }
  });
});
