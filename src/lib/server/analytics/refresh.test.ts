import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSyntheticVolume } from '../sample/sample.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { resolveContext, scanVolume } from '../volume/contexts.ts';
import { openTenant } from './gather.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { driftReport, refreshHistory } from '../store/analytics-refreshes.ts';
import { refreshAnalytics, type RefreshResult } from './refresh.ts';
import { analyticsLayout } from './layout.ts';
import { AnalyticsReader } from './reader.ts';
import { exportAnalytics } from './export.ts';
import { analyticsDefinitionPath } from './definition.ts';

/*
 * Refreshes a synthetic volume into the analytics and checks, tenant by tenant and severity
 * by severity, that DuckDB counts what each tenant's own composite counts.
 */

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../../../..');
let root: string;
let volumeDir: string;
let stateDir: string;
let store: ConsoleStore;

function makeVolume(tenants: number, rows: number): void {
  generateSyntheticVolume({ out: volumeDir, tenants, dbsPerTenant: 2, rows, seed: 7 });
  for (const context of scanVolume(volumeDir).contexts) expect(regenerateComposite(context).ok).toBe(true);
}

function refresh(full = false): Promise<RefreshResult> {
  return refreshAnalytics({ volumeDir, stateDir, store, actor: 'test', full, memoryMb: 128 });
}

/** tenant → severity → count, as each tenant's composite counts it. */
function sqliteTotals(): Map<string, Map<string, number>> {
  const totals = new Map<string, Map<string, number>>();
  for (const context of scanVolume(volumeDir).contexts.filter((c) => c.kind === 'tenant')) {
    const connection = openTenant(context);
    const rows = connection.db.prepare('SELECT severity, count(*) AS n FROM all_findings GROUP BY severity').all() as Array<{ severity: string; n: number }>;
    connection.db.close();
    totals.set(context.tenantId!, new Map(rows.map((row) => [row.severity, row.n])));
  }
  return totals;
}

/** The same, as the served analytics count it: from the gathered rows, or from the dashboard's rollup. */
async function duckdbTotals(from: 'rows' | 'rollup' = 'rows'): Promise<Map<string, Map<string, number>>> {
  const reader = new AnalyticsReader(stateDir, 128);
  const sql = from === 'rows' ? 'SELECT tenant, severity, count(*) AS n FROM all_findings GROUP BY ALL' : 'SELECT tenant, severity, sum(findings) AS n FROM tenant_findings GROUP BY ALL';
  try {
    const result = await reader.sql(sql, { explain: false, rowCap: 100_000, byteCap: 100_000_000, timeoutMs: 30_000 });
    const totals = new Map<string, Map<string, number>>();
    for (const row of result.rows) {
      const tenant = String(row.tenant);
      if (!totals.has(tenant)) totals.set(tenant, new Map());
      totals.get(tenant)!.set(String(row.severity), Number(row.n));
    }
    return totals;
  } finally {
    reader.close();
  }
}

function writeTo(tenant: string, sql: string): void {
  const db = new Database(path.join(volumeDir, 'embedded/tenant', tenant, 'area01.sqlite.db'));
  db.exec(sql);
  db.close();
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-analytics-'));
  volumeDir = path.join(root, 'volume');
  stateDir = path.join(root, 'state');
  store = openConsoleStore(stateDir);
});

afterEach(() => {
  store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('analytics refresh', () => {
  it('counts every tenant and severity as the tenants’ own composites do, after a full and after incremental refreshes', async () => {
    makeVolume(12, 40);
    const first = await refresh();
    expect(first).toMatchObject({ outcome: 'ok', mode: 'full', tenantsTotal: 12, tenantsRead: 12, rowsRead: 12 * 2 * 40 });
    expect(await duckdbTotals()).toEqual(sqliteTotals());

    // Insert, update and delete in one tenant; nothing else changes.
    writeTo('t00003', `
      INSERT INTO findings (id, title, severity, status, created_at, updated_at) VALUES (100001, 'new', 'critical', 'open', '2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z');
      UPDATE findings SET severity = 'info' WHERE id IN (1, 2, 3);
      DELETE FROM findings WHERE id BETWEEN 10 AND 14;`);
    const one = await refresh();
    expect(one).toMatchObject({ outcome: 'ok', mode: 'incremental', tenantsRead: 1, tenantsRemoved: 0 });
    expect(await duckdbTotals()).toEqual(sqliteTotals());
    expect(await duckdbTotals('rollup')).toEqual(sqliteTotals());

    // A tenant added (its own copy of another's folder) and a tenant removed.
    fs.cpSync(path.join(volumeDir, 'embedded/tenant/t00005'), path.join(volumeDir, 'embedded/tenant/added'), { recursive: true });
    expect(regenerateComposite(resolveContext(volumeDir, 'tenant/added')).ok).toBe(true);
    fs.rmSync(path.join(volumeDir, 'embedded/tenant/t00007'), { recursive: true });
    const changed = await refresh();
    expect(changed).toMatchObject({ outcome: 'ok', mode: 'incremental', tenantsRead: 1, tenantsRemoved: 1, tenantsTotal: 12 });
    const totals = await duckdbTotals();
    expect(totals.has('t00007')).toBe(false);
    expect(totals.get('added')).toEqual(sqliteTotals().get('t00005'));
    expect(totals).toEqual(sqliteTotals());
    expect(await duckdbTotals('rollup')).toEqual(sqliteTotals());

    // Nothing changed: nothing is read, and the answers stay the same.
    expect(await refresh()).toMatchObject({ outcome: 'ok', mode: 'incremental', tenantsRead: 0 });
    expect(await duckdbTotals()).toEqual(sqliteTotals());
    expect(refreshHistory(store, 10).map((run) => run.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('reads every tenant again when most tenants’ shape changed, keeping every tenant’s rows', async () => {
    makeVolume(3, 10);
    await refresh();
    for (const tenant of ['t00001', 't00002']) {
      const file = path.join(volumeDir, 'embedded/tenant', tenant, 'composite.sql');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('created_at, updated_at FROM', "created_at, updated_at, 'x' AS region FROM"));
      expect(regenerateComposite(resolveContext(volumeDir, `tenant/${tenant}`)).ok).toBe(true);
    }
    const result = await refresh();
    expect(result).toMatchObject({ outcome: 'ok', mode: 'full', tenantsRead: 3 });
    expect(await duckdbTotals()).toEqual(sqliteTotals());
    expect(driftReport(store).map((e) => [e.tenant, e.kind, e.column])).toEqual([['t00003', 'missing_column', 'region']]);
  });

  it('exports every gathered table as Parquet partitioned by tenant, readable as one table', async () => {
    makeVolume(4, 25);
    await refresh();
    const out = path.join(root, 'export');
    const [exported] = await exportAnalytics(stateDir, out, 128);
    expect(exported).toMatchObject({ table: 'all_findings', rows: 4 * 2 * 25 });
    expect(fs.readdirSync(path.join(out, 'all_findings')).sort()).toEqual(['tenant=t00001', 'tenant=t00002', 'tenant=t00003', 'tenant=t00004']);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(`SELECT tenant, count(*)::INTEGER AS n FROM read_parquet('${out}/all_findings/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`)).getRowObjectsJS();
    connection.closeSync();
    instance.closeSync();
    expect(rows).toEqual(['t00001', 't00002', 't00003', 't00004'].map((tenant) => ({ tenant, n: 50 })));
  });

  it('a refresh killed midway leaves the previous analytics answering, and the next refresh works', async () => {
    makeVolume(24, 4000);
    await refresh();
    const before = await duckdbTotals();
    const served = fs.statSync(analyticsLayout(stateDir).database).ino;
    writeTo('t00001', 'DELETE FROM findings WHERE id <= 100');

    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/yard.mjs'), '--volume', volumeDir, '--state-dir', stateDir, 'analytics', 'refresh', '--full', '--json'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed once it is reading tenants: its staged rows exist, its generation does not.
    const stage = analyticsLayout(stateDir).stageDir;
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(stage) && fs.readdirSync(stage).length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGKILL');
    await exited;
    expect(fs.statSync(analyticsLayout(stateDir).database).ino).toBe(served);
    expect(await duckdbTotals()).toEqual(before);
    expect(refreshHistory(store, 1)[0]!.outcome).toBe('killed');

    const next = await refresh();
    expect(next.outcome).toBe('ok');
    expect(await duckdbTotals()).toEqual(sqliteTotals());
    expect(fs.existsSync(stage)).toBe(false);
  });

  it('reports schema drift with severity, gathers the rest of the fleet, and leaves a missing column NULL', async () => {
    makeVolume(6, 10);
    const recompose = (tenant: string, view: string) => {
      const file = path.join(volumeDir, 'embedded/tenant', tenant, 'composite.sql');
      const text = fs
        .readFileSync(file, 'utf8')
        .replace(/CREATE VIEW all_findings AS[\s\S]*?;\n/, view)
        .replace(/CREATE VIEW open_findings AS[\s\S]*?;\n/, '');
      fs.writeFileSync(file, text);
      expect(regenerateComposite(resolveContext(volumeDir, `tenant/${tenant}`)).ok).toBe(true);
    };
    // Missing column: no status. Extra column: an owner. Different type: id as text. No view at all.
    recompose('t00001', `CREATE VIEW all_findings AS SELECT 'area01' AS source, id, title, severity, created_at, updated_at FROM area01.findings;\n`);
    recompose('t00002', `CREATE VIEW all_findings AS SELECT 'area01' AS source, id, title, severity, status, created_at, updated_at, 'someone' AS owner FROM area01.findings;\n`);
    writeTo('t00003', 'CREATE TABLE findings_text (id TEXT, title TEXT, severity TEXT, status TEXT, created_at TEXT, updated_at TEXT); INSERT INTO findings_text SELECT CAST(id AS TEXT), title, severity, status, created_at, updated_at FROM findings;');
    recompose('t00003', `CREATE VIEW all_findings AS SELECT 'area01' AS source, id, title, severity, status, created_at, updated_at FROM area01.findings_text;\n`);
    recompose('t00004', `CREATE VIEW other_findings AS SELECT * FROM area01.findings;\n`);

    const result = await refresh();
    expect(result.outcome).toBe('ok');
    expect(result.tenantsTotal).toBe(6);
    const drift = driftReport(store).map((e) => [e.tenant, e.kind, e.column, e.severity]);
    expect(drift).toEqual([
      ['t00004', 'missing_object', null, 'error'],
      ['t00001', 'missing_column', 'status', 'warn'],
      ['t00003', 'type_differs', 'id', 'warn'],
      ['t00002', 'extra_column', 'owner', 'info'],
    ]);
    const reader = new AnalyticsReader(stateDir, 128);
    const rows = await reader.sql(
      `SELECT tenant, count(*)::INTEGER AS n, count(status)::INTEGER AS with_status, count(id)::INTEGER AS with_id FROM all_findings GROUP BY ALL ORDER BY ALL`,
      { explain: false, rowCap: 100, byteCap: 1_000_000, timeoutMs: 30_000 },
    );
    const columns = await reader.sql(`SELECT column_name FROM information_schema.columns WHERE table_name = 'all_findings'`, { explain: false, rowCap: 100, byteCap: 1_000_000, timeoutMs: 30_000 });
    reader.close();
    expect(rows.rows).toEqual([
      { tenant: 't00001', n: 10, with_status: 0, with_id: 10 },
      { tenant: 't00002', n: 10, with_status: 10, with_id: 10 },
      // Text where most tenants have integers: the values do not fit and are NULL.
      { tenant: 't00003', n: 10, with_status: 10, with_id: 0 },
      { tenant: 't00005', n: 20, with_status: 20, with_id: 20 },
      { tenant: 't00006', n: 20, with_status: 20, with_id: 20 },
    ]);
    expect(columns.rows.map((r) => r.column_name)).not.toContain('owner');
  });

  it('a tenant with a broken composite is reported, and the fleet is refreshed around it', async () => {
    makeVolume(4, 10);
    fs.writeFileSync(path.join(volumeDir, 'embedded/tenant/t00002/composite.sqlite.auto.db'), 'not a database');
    const result = await refresh();
    expect(result.outcome).toBe('problems');
    expect(result.problems.map((p) => p.subject)).toEqual(['tenant/t00002']);
    expect([...(await duckdbTotals()).keys()].sort()).toEqual(['t00001', 't00003', 't00004']);
  });

  it('refuses a bad definition at file:line:column and keeps the previous analytics', async () => {
    makeVolume(2, 5);
    await refresh();
    fs.writeFileSync(analyticsDefinitionPath(volumeDir), 'GATHER all_findings;\n\n  GATHER;\nROLLUP by_day AS SELECT nothing FROM nowhere;\n');
    const bad = await refresh();
    expect(bad.outcome).toBe('error');
    expect(bad.problems[0]!.subject).toBe('embedded/analytics.sql:3:3');
    fs.writeFileSync(analyticsDefinitionPath(volumeDir), 'GATHER all_findings;\nROLLUP by_day AS SELECT nothing FROM nowhere;\n');
    const rollup = await refresh();
    expect(rollup.outcome).toBe('error');
    expect(rollup.problems[0]!.subject).toBe('embedded/analytics.sql:2:1');
    expect(rollup.problems[0]!.message).toMatch(/rollup by_day/);
    expect(await duckdbTotals()).toEqual(sqliteTotals());
  });
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});
