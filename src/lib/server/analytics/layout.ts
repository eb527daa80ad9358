import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Where the analytics live, under the console's state folder:
 *
 *   analytics/analytics.duckdb            the served generation: rollups, refresh state, views over data/
 *   analytics/analytics.duckdb.candidate  the next generation while a refresh builds it
 *   analytics/data/<table>/b<NN>-<generation>.parquet   tenant-bucketed rows, never rewritten in place
 *   analytics/stage/                      rows read from tenants, waiting for DuckDB to load them
 *   analytics/refresh.lock                the process refreshing now
 *
 * DuckDB lets one process open a file read-write or many read-only, never both: the server
 * only ever opens analytics.duckdb read-only, and a refresh only writes files nobody reads
 * yet, then renames the candidate over analytics.duckdb.
 */
export interface AnalyticsLayout {
  dir: string;
  database: string;
  candidate: string;
  dataDir: string;
  stageDir: string;
  lockFile: string;
}

export function analyticsLayout(stateDir: string): AnalyticsLayout {
  const dir = path.join(stateDir, 'analytics');
  return {
    dir,
    database: path.join(dir, 'analytics.duckdb'),
    candidate: path.join(dir, 'analytics.duckdb.candidate'),
    dataDir: path.join(dir, 'data'),
    stageDir: path.join(dir, 'stage'),
    lockFile: path.join(dir, 'refresh.lock'),
  };
}

/** Tenants are spread over this many buckets; a refresh rewrites only the buckets of changed tenants. */
const BUCKETS = 64;

/** FNV-1a of the tenant id: stable across processes and releases. */
export function bucketOf(tenant: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tenant.length; i += 1) {
    hash ^= tenant.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % BUCKETS;
}

/** A SQL string literal for DuckDB. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Options every DuckDB instance of the console gets: bounded memory and threads. */
export function duckdbOptions(memoryMb: number, extra: Record<string, string> = {}): Record<string, string> {
  return { memory_limit: `${memoryMb}MB`, threads: '2', ...extra };
}

/** Opens the served generation read-only, as any number of processes may at once; null when none exists yet. */
export async function openServedReadOnly(layout: AnalyticsLayout, memoryMb: number): Promise<DuckDBInstance | null> {
  if (!fs.existsSync(layout.database)) return null;
  return DuckDBInstance.create(layout.database, duckdbOptions(memoryMb, { access_mode: 'READ_ONLY' }));
}
