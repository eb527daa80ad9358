import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticVolume } from '../sample/sample.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { scanVolume } from '../volume/contexts.ts';
import { openConsoleStore } from '../store/database.ts';
import { QueryError, QueryTimeoutError } from '../query/run.ts';
import { refreshAnalytics } from './refresh.ts';
import { AnalyticsReader } from './reader.ts';

/*
 * Analytics SQL runs one read-only statement over the analytics tables: nothing that reads
 * or writes files, attaches, loads or changes settings gets through, and a statement past
 * its deadline is interrupted.
 */

let root: string;
let reader: AnalyticsReader;
const caps = { explain: false, rowCap: 100, byteCap: 100_000, timeoutMs: 10_000 };

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-analytics-guard-'));
  const volumeDir = path.join(root, 'volume');
  generateSyntheticVolume({ out: volumeDir, tenants: 3, dbsPerTenant: 1, rows: 20, seed: 3 });
  for (const context of scanVolume(volumeDir).contexts) regenerateComposite(context);
  const store = openConsoleStore(path.join(root, 'state'));
  await refreshAnalytics({ volumeDir, stateDir: path.join(root, 'state'), store, actor: 'test', memoryMb: 128 });
  store.close();
  fs.writeFileSync(path.join(root, 'secret.csv'), 'password\nhunter2\n');
  reader = new AnalyticsReader(path.join(root, 'state'), 128);
});

afterAll(() => {
  reader?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('analytics SQL guard', () => {
  it('answers a read-only statement over the analytics tables and rollups', async () => {
    const result = await reader.sql('SELECT tenant, count(*) AS n FROM all_findings GROUP BY tenant ORDER BY tenant', caps);
    expect(result.rows).toEqual([
      { tenant: 't00001', n: 20 },
      { tenant: 't00002', n: 20 },
      { tenant: 't00003', n: 20 },
    ]);
    const rollup = await reader.sql('SELECT sum(findings)::INTEGER AS n FROM tenant_findings', caps);
    expect(rollup.rows).toEqual([{ n: 60 }]);
  });

  it('stops at the row cap and says so', async () => {
    const result = await reader.sql('SELECT * FROM all_findings', { ...caps, rowCap: 7 });
    expect(result.rows).toHaveLength(7);
    expect(result).toMatchObject({ truncated: true, truncatedBy: 'rows' });
  });

  const secret = () => path.join(root, 'secret.csv');
  const refusals: Array<[string, () => string, RegExp]> = [
    ['read_csv of a file', () => `SELECT * FROM read_csv('${secret()}')`, /read_csv\(\) is refused/],
    ['read_parquet of the analytics’ own files', () => `SELECT * FROM read_parquet('${root}/state/analytics/data/all_findings/*.parquet')`, /read_parquet\(\) is refused/],
    ['read_text', () => `SELECT * FROM read_text('${secret()}')`, /read_text\(\) is refused/],
    ['a file named as a table', () => `SELECT * FROM '${secret()}'`, /looks like a file/],
    ['a table function inside a subquery', () => `SELECT (SELECT count(*) FROM glob('/*')) AS n`, /glob\(\) is refused/],
    ['COPY to a file', () => `COPY all_findings TO '${root}/out.csv'`, /only a SELECT/],
    ['COPY of a query', () => `COPY (SELECT 1) TO '${root}/out.parquet' (FORMAT parquet)`, /only a SELECT/],
    ['ATTACH', () => `ATTACH '${root}/other.duckdb' AS other`, /only a SELECT/],
    ['INSTALL', () => 'INSTALL sqlite', /only a SELECT/],
    ['LOAD', () => 'LOAD sqlite', /only a SELECT/],
    ['SET of a setting', () => 'SET enable_external_access = true', /only a SELECT/],
    ['RESET of a setting', () => 'RESET enable_external_access', /only a SELECT/],
    ['PRAGMA', () => 'PRAGMA enable_profiling', /only a SELECT/],
    ['reading a setting', () => `SELECT current_setting('allowed_directories')`, /current_setting\(\) is refused/],
    ['reading the settings through the catalog', () => `SELECT setting FROM pg_settings WHERE name = 'allowed_directories'`, /DuckDB's catalog/],
    ['the catalog by its full name', () => `SELECT setting FROM system.pg_catalog.PG_SETTINGS`, /DuckDB's catalog/],
    ['the database file’s path', () => 'SELECT path FROM duckdb_databases', /DuckDB's catalog/],
    ['the views’ SQL, which names the data files', () => `SELECT view_definition FROM INFORMATION_SCHEMA.views`, /DuckDB's catalog/],
    ['the catalog inside a subquery', () => `SELECT (SELECT max(sql) FROM sqlite_master) AS s`, /DuckDB's catalog/],
    ['CREATE TABLE', () => 'CREATE TABLE x AS SELECT 1', /only a SELECT/],
    ['INSERT', () => `INSERT INTO tenant_findings VALUES ('x', 'high', 'open', 1)`, /only a SELECT/],
    ['DELETE', () => 'DELETE FROM tenant_findings', /only a SELECT/],
    ['two statements', () => 'SELECT 1; SELECT 2', /one statement at a time/],
    ['a SELECT then a COPY', () => `SELECT 1; COPY all_findings TO '${root}/x.csv'`, /one statement at a time/],
  ];

  it.each(refusals)('refuses %s with a reason', async (_label, sql, reason) => {
    const attempt = reader.sql(sql(), caps);
    await expect(attempt).rejects.toBeInstanceOf(QueryError);
    await expect(attempt).rejects.toThrow(reason);
    expect(fs.existsSync(path.join(root, 'out.csv')) || fs.existsSync(path.join(root, 'out.parquet')) || fs.existsSync(path.join(root, 'x.csv'))).toBe(false);
  });

  it('interrupts a runaway statement at its deadline and keeps answering', async () => {
    await expect(reader.sql('SELECT count(*) FROM range(1000000000000) a', { ...caps, timeoutMs: 300 })).rejects.toBeInstanceOf(QueryTimeoutError);
    expect((await reader.sql('SELECT count(*)::INTEGER AS n FROM all_findings', caps)).rows).toEqual([{ n: 60 }]);
  });
});

describe('a table as a Parquet download', () => {
  const downloads = () => fs.readdirSync(path.join(root, 'state', 'analytics', 'downloads'));

  it('is written for the client and removed once sent', async () => {
    const { file, done } = await reader.parquetOf('all_findings');
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    done();
    expect(downloads()).toEqual([]);
  });

  it('is not written for a client that went away, and leaves no file behind', async () => {
    const client = new AbortController();
    const download = reader.parquetOf('all_findings', client.signal);
    client.abort();
    await expect(download).rejects.toMatchObject({ code: 'download_abandoned' });
    expect(downloads()).toEqual([]);
  });
});
