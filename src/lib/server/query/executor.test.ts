import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../testing/volume-fixture.ts';
import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { HeavyQueryExecutor } from './executor.ts';
import { QueryTimeoutError } from './run.ts';
import { RequestError } from '../http.ts';

const SLOW = 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 6000000) SELECT count(*) AS n FROM c';

let fixture: VolumeFixture;
let executor: HeavyQueryExecutor;
beforeAll(() => {
  fixture = createVolumeFixture();
  regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme')));
  executor = new HeavyQueryExecutor(fixture.volumeDir, 4, 2);
});
afterAll(async () => {
  await executor.close();
  fixture.remove();
});

describe('heavy query executor', () => {
  it('runs a read on a worker thread through the composite', async () => {
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
    await expect(executor.run({ context: 'tenant/acme', sql: 'SELECT nope FROM all_findings', rowCap: 1 }, 30_000)).rejects.toThrow(RequestError);
    await expect(executor.run({ context: 'tenant/ghost', sql: 'SELECT 1', rowCap: 1 }, 30_000)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });
});
