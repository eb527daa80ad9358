import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { HeavyQueryExecutor } from './executor.ts';
import { QueryTimeoutError } from '../query/run.ts';

const SLOW = 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 6000000) SELECT count(*) AS n FROM c';

let fixture: VolumeFixture;
let executor: HeavyQueryExecutor;
beforeAll(() => {
  fixture = createVolumeFixture();
  regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme')));
  executor = new HeavyQueryExecutor(fixture.volumeDir, { connections: 4 }, 2);
});
afterAll(async () => {
  executor.close();
  fixture.remove();
});

describe('heavy query executor', () => {
  it('runs a read in a read process through the composite', async () => {
    const result = await executor.run({ context: 'tenant/acme', sql: 'SELECT severity, count(*) AS n FROM all_findings GROUP BY severity ORDER BY severity', rowCap: 10 }, 30_000);
    expect(result.rows).toEqual([
      { severity: 'critical', n: 1 },
      { severity: 'high', n: 1 },
      { severity: 'low', n: 1 },
    ]);
  });

  it('answers a query past its deadline with a timeout, and the next query still runs', async () => {
    await expect(executor.run({ context: 'tenant/acme', sql: SLOW, rowCap: 1 }, 200)).rejects.toThrow(QueryTimeoutError);
    const next = await executor.run({ context: 'tenant/acme', sql: 'SELECT count(*) AS n FROM all_findings', rowCap: 1 }, 30_000);
    expect(next.rows).toEqual([{ n: 3 }]);
  });

  it('keeps the main thread free while a heavy query runs', async () => {
    const heavy = executor.run({ context: 'tenant/acme', sql: SLOW, rowCap: 1 }, 30_000);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    await heavy;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('passes a user error back with its code', async () => {
    await expect(executor.run({ context: 'tenant/acme', sql: 'SELECT nope FROM all_findings', rowCap: 1 }, 30_000)).rejects.toMatchObject({ code: 'query_error', status: 400 });
    await expect(executor.run({ context: 'tenant/ghost', sql: 'SELECT 1', rowCap: 1 }, 30_000)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  it('reads browse pages and rows in a read process, with cursors that lead to the next page and back', async () => {
    const listing = { context: 'tenant/acme', object: 'all_findings', secret: crypto.randomBytes(32), rowCap: 100 };
    const { page: first } = await executor.page({ ...listing, params: '_sort=created_at&_size=2' }, 30_000);
    expect(first.rows.map((row) => row.created_at)).toEqual(['2026-01-01', '2026-01-15']);
    const { page: second } = await executor.page({ ...listing, params: `_sort=created_at&_size=2&_cursor=${encodeURIComponent(first.nextCursor!)}` }, 30_000);
    expect(second.rows.map((row) => row.created_at)).toEqual(['2026-02-01']);
    const { page: back } = await executor.page({ ...listing, params: `_sort=created_at&_size=2&_dir=prev&_cursor=${encodeURIComponent(second.prevCursor!)}` }, 30_000);
    expect(back.rows).toEqual(first.rows);
    const row = await executor.row({ ...listing, params: '_sort=created_at&_size=2', key: second.rowKeys[0] }, 30_000);
    expect(row).toMatchObject({ source: 'quality', created_at: '2026-02-01' });
  });

  it('refuses a cursor made under another secret, as the page would', async () => {
    const listing = { context: 'tenant/acme', object: 'all_findings', rowCap: 100 };
    const { page } = await executor.page({ ...listing, secret: crypto.randomBytes(32), params: '_sort=created_at&_size=1' }, 30_000);
    await expect(
      executor.page({ ...listing, secret: crypto.randomBytes(32), params: `_sort=created_at&_size=1&_cursor=${encodeURIComponent(page.nextCursor!)}` }, 30_000),
    ).rejects.toMatchObject({ code: 'bad_cursor', status: 400 });
  });

  it('explains a kept statement in a read process, its parameters unbound, and refuses one that no longer compiles', async () => {
    const plan = await executor.plan({ context: 'tenant/acme', sql: 'SELECT * FROM all_findings WHERE severity = ? ORDER BY title LIMIT ?' }, 30_000);
    expect(plan.map((step) => step.detail).join('\n')).toMatch(/SCAN|SEARCH/);
    await expect(executor.plan({ context: 'tenant/acme', sql: 'SELECT * FROM gone' }, 30_000)).rejects.toMatchObject({ code: 'query_error', message: 'no such table: gone' });
  });
});
