import fs from 'node:fs';
import path from 'node:path';
import { ProblemError } from '../core/errors.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { analyticsLayout, openServedReadOnly, sqlString } from './layout.ts';

/** Nothing has been refreshed yet, so there is nothing to read or export. */
export class AnalyticsMissingError extends ProblemError {
  constructor() {
    super('analytics_missing', 'there are no analytics yet: run yard analytics refresh (or press Refresh on the analytics page)', 409);
  }
}

export interface ExportedTable {
  table: string;
  dir: string;
  rows: number;
}

/** The gathered tables of the served generation and their bucket files (rollups are small and derived, so they are not exported). */
async function gatheredTables(connection: DuckDBConnection, dataDir: string): Promise<Array<{ table: string; files: string[] }>> {
  const rows = (await connection.runAndReadAll(`SELECT "table", files FROM _tables WHERE NOT starts_with("table", '_') ORDER BY "table"`)).getRows();
  return rows.map(([table, files]) => ({ table: String(table), files: Object.values(JSON.parse(String(files)) as Record<string, string>).map((name) => path.join(dataDir, String(table), name)) }));
}

/**
 * Writes every gathered analytics table as Parquet partitioned by tenant, in the hive layout
 * (`<out>/<table>/tenant=<id>/<uuid>.parquet`) that DuckDB, Spark and Trino read as one table.
 * Bucket after bucket: each holds a few dozen tenants, so DuckDB keeps that many files open
 * instead of closing and reopening among a thousand. Each table is written beside its final
 * place and renamed into it, so a reader of `out` never sees half a table.
 */
export async function exportAnalytics(stateDir: string, out: string, memoryMb: number): Promise<ExportedTable[]> {
  const layout = analyticsLayout(stateDir);
  const instance = await openServedReadOnly(layout, memoryMb);
  if (!instance) throw new AnalyticsMissingError();
  const connection = await instance.connect();
  try {
    fs.mkdirSync(out, { recursive: true });
    const exported: ExportedTable[] = [];
    for (const { table, files } of await gatheredTables(connection, layout.dataDir)) {
      const dir = path.join(out, table);
      const partial = `${dir}.partial-${process.pid}`;
      fs.rmSync(partial, { recursive: true, force: true });
      fs.mkdirSync(partial);
      let rows = 0;
      for (const file of files) {
        const copied = await connection.runAndReadAll(`COPY (SELECT * FROM read_parquet(${sqlString(file)})) TO ${sqlString(partial)} (FORMAT parquet, PARTITION_BY (tenant), APPEND)`);
        rows += Number(copied.getRows()[0]?.[0] ?? 0);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(partial, dir);
      exported.push({ table, dir, rows });
    }
    return exported;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
