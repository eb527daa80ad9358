import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { QueryError, QueryTimeoutError, type ReadResult } from '../query/run.ts';
import { fileIdentity, quoteIdentifier, sameIdentity, type FileIdentity } from '../composite/connect.ts';
import { assertAnalyticsQuery } from './guard.ts';
import { AnalyticsMissingError } from './export.ts';
import { ProblemError, RequestError } from '../core/errors.ts';
import { analyticsLayout, openServedReadOnly, sqlString, type AnalyticsLayout } from './layout.ts';

/**
 * The server's read-only view of the analytics: the served generation opened read-only
 * (many processes may do that while a refresh builds the next one elsewhere), reopened when
 * a refresh renames a new generation into place. Statements run on DuckDB's threads, never
 * on the event loop; the connection used for analytics SQL cannot reach the file system
 * beyond the analytics' own files, nor change that.
 */

export interface AnalyticsTable {
  name: string;
  kind: 'gathered' | 'rollup';
  columns: Array<{ name: string; type: string }>;
}

export interface AnalyticsOverview {
  generation: string;
  refreshedAt: string;
  tenants: number;
  rows: number;
  mode: string;
  tables: AnalyticsTable[];
  /** Tenants the last refreshes could not read, with why (their previous rows still count). */
  unreadTenants: Array<{ tenant: string; problem: string }>;
}

export interface FleetCharts {
  overview: AnalyticsOverview;
  findingsByMonth: Array<{ month: string; severity: string; count: number }>;
  /** Tenants with the most open (open, in progress) critical and high findings. */
  topTenants: Array<{ tenant: string; critical: number; high: number }>;
  /** Findings over the whole fleet, by severity. */
  totals: Array<{ severity: string; count: number }>;
  /** Tenants with any finding counted, of all tenants. */
  tenantsWithFindings: number;
  largestTenants: Array<{ tenant: string; bytes: number }>;
  /** False when all_findings lacks the columns the charts need. */
  charted: boolean;
}

const TOP_TENANTS = 20;

interface Generation {
  identity: FileIdentity;
  instance: DuckDBInstance;
  users: number;
  retired: boolean;
  /** What was read of this generation once (overview, dashboard charts), by name. */
  once: Map<string, Promise<unknown>>;
}

/** JSON-friendly values: integers as numbers when exact, else text; bytes as base64. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

async function rows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS().map((row) => plain(row) as Record<string, unknown>);
}

export class AnalyticsReader {
  readonly layout: AnalyticsLayout;
  readonly #downloads: string;
  #current: Generation | null = null;
  #opening: Promise<Generation | null> | null = null;

  constructor(
    stateDir: string,
    readonly memoryMb: number,
  ) {
    this.layout = analyticsLayout(stateDir);
    this.#downloads = path.join(this.layout.dir, 'downloads');
  }

  /** The served generation, opened or reopened when a refresh replaced it; null before the first refresh. */
  async #generation(): Promise<Generation | null> {
    const identity = fileIdentity(this.layout.database);
    if (!identity) return null;
    if (this.#current && sameIdentity(this.#current.identity, identity)) return this.#current;
    this.#opening ??= this.#open(identity).finally(() => (this.#opening = null));
    return this.#opening;
  }

  async #open(identity: FileIdentity): Promise<Generation | null> {
    const instance = await openServedReadOnly(this.layout, this.memoryMb);
    if (!instance) return null;
    fs.mkdirSync(this.#downloads, { recursive: true });
    const setup = await instance.connect();
    try {
      // Global to the instance and locked: no statement can read other files or undo this.
      await setup.run(`SET allowed_directories = [${[this.layout.dataDir + path.sep, this.#downloads + path.sep].map(sqlString).join(', ')}]`);
      await setup.run('SET enable_external_access = false');
      await setup.run('SET lock_configuration = true');
    } finally {
      setup.closeSync();
    }
    const previous = this.#current;
    this.#current = { identity, instance, users: 0, retired: false, once: new Map() };
    if (previous) {
      previous.retired = true;
      if (previous.users === 0) previous.instance.closeSync();
    }
    return this.#current;
  }

  /** Runs `work` on its own connection of the served generation, which stays open until it finishes. */
  async #with<T>(work: (connection: DuckDBConnection, generation: Generation) => Promise<T>, served?: Generation): Promise<T> {
    const generation = served ?? (await this.#generation());
    if (!generation) throw new AnalyticsMissingError();
    generation.users += 1;
    const connection = await generation.instance.connect();
    try {
      return await work(connection, generation);
    } finally {
      connection.closeSync();
      generation.users -= 1;
      if (generation.retired && generation.users === 0) generation.instance.closeSync();
    }
  }

  /** Whether a generation exists to read. */
  available(): boolean {
    return fileIdentity(this.layout.database) !== null;
  }

  /** Read once per generation: a generation never changes, so neither does what it says. */
  async #once<T>(key: string, read: (connection: DuckDBConnection) => Promise<T>, served?: Generation): Promise<T> {
    const generation = served ?? (await this.#generation());
    if (!generation) throw new AnalyticsMissingError();
    let pending = generation.once.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = this.#with(read, generation);
      generation.once.set(key, pending);
      // A failed read is tried again by the next request, not remembered.
      pending.catch(() => generation.once.delete(key));
    }
    return pending;
  }

  overview(): Promise<AnalyticsOverview> {
    return this.#once('overview', readOverview);
  }

  /** The fleet dashboard's numbers: read from the rollups once per generation. */
  fleetCharts(): Promise<FleetCharts> {
    return this.#once('charts', async (connection) => {
      const overview = await this.overview();
      const charted = overview.tables.some((t) => t.name === 'tenant_findings');
      const largestTenants = (await rows(connection, `SELECT tenant, bytes FROM _tenants ORDER BY bytes DESC, tenant LIMIT ${TOP_TENANTS}`)) as FleetCharts['largestTenants'];
      if (!charted) return { overview, findingsByMonth: [], topTenants: [], totals: [], tenantsWithFindings: 0, largestTenants, charted };
      return {
        overview,
        charted,
        largestTenants,
        findingsByMonth: (await rows(connection, 'SELECT month, severity, findings::BIGINT AS count FROM findings_by_month ORDER BY month, severity')) as FleetCharts['findingsByMonth'],
        topTenants: (
          await rows(
            connection,
            `SELECT tenant, sum(findings) FILTER (severity = 'critical')::BIGINT AS critical, sum(findings) FILTER (severity = 'high')::BIGINT AS high
             FROM tenant_findings WHERE status IN ('open', 'in_progress') AND severity IN ('critical', 'high')
             GROUP BY tenant ORDER BY coalesce(critical, 0) + coalesce(high, 0) DESC, tenant LIMIT ${TOP_TENANTS}`,
          )
        ).map((row) => ({ tenant: String(row.tenant), critical: Number(row.critical ?? 0), high: Number(row.high ?? 0) })),
        totals: (await rows(connection, 'SELECT severity, sum(findings)::BIGINT AS count FROM tenant_findings GROUP BY severity ORDER BY severity')) as FleetCharts['totals'],
        tenantsWithFindings: Number((await rows(connection, 'SELECT count(DISTINCT tenant) AS n FROM tenant_findings'))[0]?.n ?? 0),
      };
    });
  }

  /**
   * One guarded read-only statement, capped by rows and bytes, interrupted at the deadline
   * (DuckDB stops a running statement when asked; the answer is then a 504).
   */
  sql(sql: string, options: { explain: boolean; rowCap: number; byteCap: number; timeoutMs: number }): Promise<ReadResult> {
    return this.#with(async (connection) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        connection.interrupt();
      }, options.timeoutMs);
      try {
        await assertAnalyticsQuery(connection, sql);
        const reader = await connection.streamAndReadUntil(options.explain ? `EXPLAIN ${sql}` : sql, options.rowCap + 1);
        const columns = reader.deduplicatedColumnNames();
        const all = reader.getRowObjectsJS();
        const result: ReadResult = { columns, rows: [], truncated: false };
        let bytes = 0;
        for (const row of all) {
          if (result.rows.length === options.rowCap) return { ...result, truncated: true, truncatedBy: 'rows' };
          const value = plain(row) as Record<string, unknown>;
          bytes += JSON.stringify(value).length;
          if (bytes > options.byteCap) return { ...result, truncated: true, truncatedBy: 'bytes' };
          result.rows.push(value);
        }
        return result;
      } catch (error) {
        if (timedOut) throw new QueryTimeoutError(`the statement ran past ${options.timeoutMs} ms (TRUTH_YARD_ANALYTICS_SQL_TIMEOUT_MS) and was stopped; aggregate more, or read fewer rows`);
        if (error instanceof QueryError) throw error;
        // DuckDB's messages name the problem and where in the statement; strip any path it quotes.
        throw new QueryError((error as Error).message.split('\n')[0]!.replaceAll(this.layout.dir, '<analytics>'));
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /**
   * One analytics table as a Parquet file, written by DuckDB on its threads into the
   * downloads folder; the caller streams it and then calls `done` to remove it. `abandoned`
   * (the request's signal) interrupts the writing when the client goes away, and a file
   * that was not finished is removed, not left in the folder.
   */
  parquetOf(table: string, abandoned?: AbortSignal): Promise<{ file: string; done: () => void }> {
    return this.#with(async (connection, generation) => {
      const overview = await this.#once('overview', readOverview, generation);
      const known = overview.tables.find((t) => t.name === table);
      if (!known) throw new ProblemError('not_found', `there is no analytics table "${table}"; the analytics page lists them`, 404);
      const file = path.join(this.#downloads, `${crypto.randomBytes(8).toString('hex')}.parquet`);
      const interrupt = () => connection.interrupt();
      abandoned?.addEventListener('abort', interrupt, { once: true });
      try {
        abandoned?.throwIfAborted();
        await connection.run(`COPY (SELECT * FROM ${quoteIdentifier(known.name)}) TO ${sqlString(file)} (FORMAT parquet)`);
        abandoned?.throwIfAborted();
      } catch (error) {
        fs.rmSync(file, { force: true });
        // Nobody is there to read the answer; a status that is no fault of the server's.
        if (abandoned?.aborted) throw new RequestError('download_abandoned', `the client went away before ${table}.parquet was written`, 499);
        throw error;
      } finally {
        abandoned?.removeEventListener('abort', interrupt);
      }
      return { file, done: () => fs.rmSync(file, { force: true }) };
    });
  }

  close(): void {
    if (this.#current && this.#current.users === 0) this.#current.instance.closeSync();
    this.#current = null;
  }
}

async function readOverview(connection: DuckDBConnection): Promise<AnalyticsOverview> {
  const meta = Object.fromEntries((await rows(connection, 'SELECT key, value FROM _meta')).map((row) => [String(row.key), String(row.value)]));
  const gathered = new Set((await rows(connection, `SELECT "table" FROM _tables WHERE NOT starts_with("table", '_')`)).map((row) => String(row.table)));
  const rollups = new Set([...(meta.built_in_rollups ?? '').split(','), ...(meta.rollups ?? '').split(',')].filter(Boolean));
  const columns = await rows(connection, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' ORDER BY table_name, ordinal_position`);
  const tables: AnalyticsTable[] = [];
  for (const name of [...gathered, ...rollups]) {
    const own = columns.filter((c) => c.table_name === name).map((c) => ({ name: String(c.column_name), type: String(c.data_type) }));
    if (own.length > 0) tables.push({ name, kind: gathered.has(name) ? 'gathered' : 'rollup', columns: own });
  }
  const unread = await rows(connection, 'SELECT tenant, problem FROM _tenants WHERE problem IS NOT NULL ORDER BY tenant');
  return {
    generation: meta.generation ?? '',
    refreshedAt: meta.refreshed_at ?? '',
    tenants: Number(meta.tenants ?? 0),
    rows: Number(meta.rows ?? 0),
    mode: meta.mode ?? '',
    tables,
    unreadTenants: unread.map((row) => ({ tenant: String(row.tenant), problem: String(row.problem) })),
  };
}
