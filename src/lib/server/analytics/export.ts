import fs from 'node:fs';
import path from 'node:path';
import { ProblemError } from '../core/errors.ts';
import { analyticsLayout, openServedReadOnly, sqlIdentifier, sqlString } from './layout.ts';

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

/** The gathered tables of the served generation (rollups are small and derived, so they are not exported). */
async function gatheredTables(connection: import('@duckdb/node-api').DuckDBConnection): Promise<string[]> {
  const rows = (await connection.runAndReadAll(`SELECT "table" FROM _tables WHERE NOT starts_with("table", '_') ORDER BY "table"`)).getRows();
  return rows.map((row) => String(row[0]));
}

/**
 * Writes every gathered analytics table as Parquet partitioned by tenant, in the hive layout
 * (`<out>/<table>/tenant=<id>/data_0.parquet`) that DuckDB, Spark and Trino read as one table.
 * Each table is written beside its final place and renamed into it, so a reader of `out`
 * never sees half a table.
 */
export async function exportAnalytics(stateDir: string, out: string, memoryMb: number): Promise<ExportedTable[]> {
  const instance = await openServedReadOnly(analyticsLayout(stateDir), memoryMb);
  if (!instance) throw new AnalyticsMissingError();
  const connection = await instance.connect();
  try {
    fs.mkdirSync(out, { recursive: true });
    const exported: ExportedTable[] = [];
    for (const table of await gatheredTables(connection)) {
      const dir = path.join(out, table);
      const partial = `${dir}.partial-${process.pid}`;
      fs.rmSync(partial, { recursive: true, force: true });
      const copied = await connection.runAndReadAll(`COPY (SELECT * FROM ${sqlIdentifier(table)}) TO ${sqlString(partial)} (FORMAT parquet, PARTITION_BY (tenant))`);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(partial, dir);
      exported.push({ table, dir, rows: Number(copied.getRows()[0]?.[0] ?? 0) });
    }
    return exported;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
