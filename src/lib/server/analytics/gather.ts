import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { connectComposite, quoteIdentifier, type CompositeConnection } from '../composite/connect.ts';
import { autoDbPath, type VolumeContext } from '../volume/contexts.ts';

/**
 * The tenant side of a refresh: what identifies a tenant's data on disk, what columns its
 * gathered objects have, and its rows written as newline-delimited JSON for DuckDB to load.
 * Rows are read with better-sqlite3 through the tenant's composite (so TEMP views such as
 * `all_findings` work); DuckDB's own SQLite scanner is a download this console must not need.
 */

/** The DuckDB type an analytics column gets, from the SQLite declared type (SQLite's affinity rules). */
export type AnalyticsType = 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'BLOB';

export interface GatheredColumn {
  name: string;
  /** The declared type as SQLite reports it (upper case), '' for an expression without one. */
  declared: string;
}

export function analyticsTypeOf(declared: string): AnalyticsType {
  const type = declared.toUpperCase();
  if (type.includes('INT')) return 'BIGINT';
  if (/CHAR|CLOB|TEXT/.test(type)) return 'VARCHAR';
  if (type.includes('BLOB')) return 'BLOB';
  if (/REAL|FLOA|DOUB/.test(type)) return 'DOUBLE';
  // NUMERIC, DATE, BOOLEAN and expressions hold whatever was written; text keeps it all.
  return 'VARCHAR';
}

/**
 * What changes when a tenant's data may have changed: every database file of its folder
 * (the composite included) and each write-ahead log, by inode, size and modification time.
 * Reading stats costs microseconds, so a refresh finds the changed tenants of 10,000 fast.
 * Also the bytes of its databases, for the dashboard.
 */
export function tenantFiles(context: VolumeContext): { signature: string; bytes: number } {
  const hash = crypto.createHash('sha1');
  let entries: string[];
  try {
    entries = fs.readdirSync(context.dir).sort();
  } catch {
    return { signature: 'unreadable', bytes: 0 };
  }
  let bytes = 0;
  for (const entry of entries) {
    if (!entry.endsWith('.db') && !entry.endsWith('.db-wal')) continue;
    try {
      const stat = fs.statSync(path.join(context.dir, entry));
      hash.update(`${entry}:${stat.ino}:${stat.size}:${stat.mtimeMs}\n`);
      if (!entry.endsWith('.auto.db')) bytes += stat.size;
    } catch {
      hash.update(`${entry}:gone\n`);
    }
  }
  return { signature: hash.digest('hex'), bytes };
}

export function openTenant(context: VolumeContext): CompositeConnection {
  return connectComposite(context.name, context.dir, autoDbPath(context));
}

/** `all_findings` or `schema.table`, quoted for SQLite. */
function sourceSql(source: string): string {
  return source.split('.').map(quoteIdentifier).join('.');
}

/** The columns of a gathered object in this composite, or null when it has no such object. */
export function gatheredColumns(db: Database.Database, source: string): GatheredColumn[] | null {
  try {
    return db
      .prepare(`SELECT * FROM ${sourceSql(source)}`)
      .columns()
      .map((column) => ({ name: column.name, declared: (column.type ?? '').toUpperCase() }));
  } catch {
    return null;
  }
}

/** A column as the analytics table has it: its name and type. */
export interface TargetColumn {
  name: string;
  type: AnalyticsType;
}

/**
 * A value of another storage class than its column's type becomes NULL rather than failing
 * the load (SQLite lets any column hold anything); blobs travel as hex.
 */
function valueSql(column: string, type: AnalyticsType): string {
  const c = quoteIdentifier(column);
  switch (type) {
    case 'BIGINT':
      return `CASE typeof(${c}) WHEN 'integer' THEN ${c} END`;
    case 'DOUBLE':
      return `CASE WHEN typeof(${c}) IN ('integer', 'real') THEN ${c} END`;
    case 'BLOB':
      return `CASE typeof(${c}) WHEN 'blob' THEN hex(${c}) END`;
    case 'VARCHAR':
      return `CASE typeof(${c}) WHEN 'blob' THEN hex(${c}) ELSE CAST(${c} AS TEXT) END`;
  }
}

/** JSON key of the n-th target column in staged rows; short keys keep the staged file small. */
export const stagedKey = (index: number) => `c${index}`;

const LINES_PER_WRITE = 4096;

/**
 * Appends a tenant's rows of one gathered object to a staged file as JSON lines, with the
 * analytics table's columns: a column the tenant lacks is NULL, one it has extra is left out.
 * SQLite builds each line in C (json_object), which is about three times faster than
 * converting values in JavaScript. Returns the rows written.
 */
export function stageRows(db: Database.Database, source: string, tenant: string, own: GatheredColumn[], target: TargetColumn[], fd: number): number {
  const present = new Set(own.map((column) => column.name));
  const pairs = target.map((column, index) => `'${stagedKey(index)}', ${present.has(column.name) ? valueSql(column.name, column.type) : 'NULL'}`);
  const statement = db.prepare(`SELECT json_object('tenant', ?, ${pairs.join(', ')}) FROM ${sourceSql(source)}`).pluck(true);
  let rows = 0;
  let batch: string[] = [];
  for (const line of statement.iterate(tenant) as Iterable<string>) {
    batch.push(line);
    rows += 1;
    if (batch.length === LINES_PER_WRITE) {
      fs.writeSync(fd, `${batch.join('\n')}\n`);
      batch = [];
    }
  }
  if (batch.length > 0) fs.writeSync(fd, `${batch.join('\n')}\n`);
  return rows;
}
