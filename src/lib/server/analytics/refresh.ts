import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ProblemError } from '../core/errors.ts';
import { quoteIdentifier } from '../composite/connect.ts';
import { processIsAlive } from '../composite/lock.ts';
import type { ConsoleStore } from '../store/database.ts';
import { scanVolume, type VolumeContext } from '../volume/contexts.ts';
import { recordAudit } from '../store/audit.ts';
import { recordRefreshFinish, recordRefreshStart, replaceDriftReport, type DriftEntry, type RefreshMode, type RefreshProblem } from '../store/analytics-refreshes.ts';
import { AnalyticsDefinitionError, BUILT_IN_ROLLUPS, readAnalyticsDefinition, type AnalyticsDefinition } from './definition.ts';
import { gatheredColumns, openTenant, stageRows, stagedKey, tenantFiles, type GatheredColumn, type TargetColumn } from './gather.ts';
import { driftOf, majorityShape, targetColumns } from './drift.ts';
import { fsyncPath } from '../core/fsync.ts';
import { analyticsLayout, bucketOf, duckdbOptions, openServedReadOnly, sqlString, type AnalyticsLayout } from './layout.ts';

/** Another process is refreshing the analytics now. */
export class AnalyticsBusyError extends ProblemError {
  constructor(message: string) {
    super('analytics_busy', message, 409);
  }
}

/** What a refresh remembers of each tenant, kept in the served generation (`_tenants`). */
interface TenantState {
  tenant: string;
  bucket: number;
  signature: string;
  bytes: number;
  /** Columns of each gathered source, null where the tenant has no such object. */
  schemas: Record<string, GatheredColumn[] | null>;
  /** Rows in each analytics table. */
  rows: Record<string, number>;
  /** Why the tenant could not be read at the last attempt; its previous rows stay. */
  problem: string | null;
  readAt: string;
}

interface TableState {
  table: string;
  source: string;
  columns: TargetColumn[];
  /** Bucket → parquet file name (relative to data/<table>/). */
  files: Record<string, string>;
}

interface ServedState {
  generation: string;
  definitionSha256: string;
  tenants: Map<string, TenantState>;
  tables: Map<string, TableState>;
}

export interface RefreshProgress {
  phase: 'scan' | 'read' | 'build';
  done: number;
  total: number;
}

export interface RefreshOptions {
  volumeDir: string;
  stateDir: string;
  store: ConsoleStore;
  actor: string;
  /** Read every tenant again, not only those whose files changed. */
  full?: boolean;
  /** Record an audit event (refreshes started from the web). */
  audit?: boolean;
  memoryMb?: number;
  onProgress?: (progress: RefreshProgress) => void;
}

export interface RefreshResult {
  outcome: 'ok' | 'problems' | 'error';
  mode: RefreshMode;
  generation: string | null;
  tenantsTotal: number;
  tenantsRead: number;
  tenantsRemoved: number;
  rowsRead: number;
  durationMs: number;
  problems: RefreshProblem[];
  drift: { error: number; warn: number; info: number };
}

/** One refresh at a time across processes; a lock left by a process that died is taken over. */
function takeLock(layout: AnalyticsLayout): () => void {
  fs.mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      fs.writeFileSync(layout.lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(layout.lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(layout.lockFile, 'utf8').trim() || 0);
      if (Number.isInteger(holder) && holder > 0 && processIsAlive(holder)) {
        throw new AnalyticsBusyError(`the analytics are being refreshed by process ${holder}; the page shows the result when it finishes`);
      }
      fs.rmSync(layout.lockFile, { force: true });
    }
  }
}

async function rowsOf(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

/** The state kept in the served generation, or null when there is none (or it cannot be read). */
async function readServedState(layout: AnalyticsLayout, memoryMb: number): Promise<ServedState | null> {
  let instance: DuckDBInstance | null;
  try {
    instance = await openServedReadOnly(layout, memoryMb);
  } catch {
    return null;
  }
  if (!instance) return null;
  const connection = await instance.connect();
  try {
    const meta = Object.fromEntries((await rowsOf(connection, `SELECT key, value FROM _meta WHERE key IN ('generation', 'definition_sha256', 'state')`)).map((row) => [String(row.key), String(row.value)]));
    const tables = await rowsOf(connection, 'SELECT "table", source, columns, files FROM _tables');
    return {
      generation: meta.generation ?? '',
      definitionSha256: meta.definition_sha256 ?? '',
      tenants: parseTenantStates(meta.state ?? '{"shapes":[],"tenants":[]}'),
      tables: new Map(tables.map((row) => [String(row.table), { table: String(row.table), source: String(row.source), columns: JSON.parse(String(row.columns)), files: JSON.parse(String(row.files)) }])),
    };
  } catch {
    return null;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Tenants' states as one JSON text, shapes written once: at 10,000 tenants one value reads
 * in milliseconds where 10,000 rows of a table take a tenth of a second to convert.
 */
interface StoredStates {
  shapes: GatheredColumn[][];
  tenants: Array<Omit<TenantState, 'schemas'> & { schemas: Record<string, number | null> }>;
}

function serializeTenantStates(states: Iterable<TenantState>): string {
  const shapes: GatheredColumn[][] = [];
  const index = new Map<string, number>();
  const shapeOf = (columns: GatheredColumn[] | null): number | null => {
    if (columns === null) return null;
    const key = JSON.stringify(columns);
    if (!index.has(key)) index.set(key, shapes.push(columns) - 1);
    return index.get(key)!;
  };
  const tenants = [...states].map((state) => ({ ...state, schemas: Object.fromEntries(Object.entries(state.schemas).map(([source, columns]) => [source, shapeOf(columns)])) }));
  return JSON.stringify({ shapes, tenants } satisfies StoredStates);
}

function parseTenantStates(text: string): Map<string, TenantState> {
  const stored = JSON.parse(text) as StoredStates;
  return new Map(
    stored.tenants.map((tenant) => [
      tenant.tenant,
      { ...tenant, schemas: Object.fromEntries(Object.entries(tenant.schemas).map(([source, shape]) => [source, shape === null ? null : stored.shapes[shape]!])) },
    ]),
  );
}

/** Per-bucket counts of all_findings (tenant × month × severity × status) behind the dashboard's rollups; internal, like every name starting with _. */
const DASHBOARD_ROLLUP = '_findings_counts';

const hasDashboardColumns = (targets: Map<string, TargetColumn[]>) => ['severity', 'status', 'created_at'].every((c) => targets.get('all_findings')?.some((column) => column.name === c) ?? false);

const sameColumns = (a: TargetColumn[], b: TargetColumn[]) => JSON.stringify(a) === JSON.stringify(b);

/** `read_json` of staged rows, typed as the analytics table; blobs arrive as hex. */
function stagedSelect(files: string[], columns: TargetColumn[]): string {
  const types = [`tenant: 'VARCHAR'`, ...columns.map((column, i) => `${stagedKey(i)}: '${column.type === 'BLOB' ? 'VARCHAR' : column.type}'`)];
  const values = columns.map((column, i) => `${column.type === 'BLOB' ? `from_hex(${stagedKey(i)})` : stagedKey(i)} AS ${quoteIdentifier(column.name)}`);
  return `SELECT tenant${values.map((v) => `, ${v}`).join('')} FROM read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', columns = {${types.join(', ')}})`;
}

function emptyTableSql(name: string, columns: TargetColumn[]): string {
  return `CREATE TABLE ${quoteIdentifier(name)} (tenant VARCHAR${columns.map((c) => `, ${quoteIdentifier(c.name)} ${c.type}`).join('')})`;
}

/**
 * Refreshes the analytics: reads again the tenants whose files changed (all of them with
 * `full`, a new definition or a changed table shape), rewrites only their buckets as new
 * Parquet files, builds the next generation's database (rollups, state) as a candidate and
 * renames it over the served one. Killed at any moment, the served generation and its files
 * are untouched; the next refresh clears what was left behind.
 */
export async function refreshAnalytics(options: RefreshOptions): Promise<RefreshResult> {
  const started = performance.now();
  const memoryMb = options.memoryMb ?? 256;
  const layout = analyticsLayout(options.stateDir);
  const release = takeLock(layout);
  const runId = recordRefreshStart(options.store, { mode: options.full ? 'full' : 'incremental', actor: options.actor, startedAt: new Date() });
  const problems: RefreshProblem[] = [];
  let result: RefreshResult = {
    outcome: 'error',
    mode: options.full ? 'full' : 'incremental',
    generation: null,
    tenantsTotal: 0,
    tenantsRead: 0,
    tenantsRemoved: 0,
    rowsRead: 0,
    durationMs: 0,
    problems,
    drift: { error: 0, warn: 0, info: 0 },
  };
  try {
    fs.rmSync(layout.stageDir, { recursive: true, force: true });
    fs.rmSync(layout.candidate, { force: true });
    fs.rmSync(`${layout.candidate}.wal`, { force: true });
    const definition = readAnalyticsDefinition(options.volumeDir);
    result = await refreshWith(options, layout, definition, memoryMb, problems, result);
    return result;
  } catch (error) {
    if (error instanceof AnalyticsDefinitionError) for (const p of error.problems) problems.push({ subject: `${p.file}:${p.line}:${p.column}`, message: p.message });
    else problems.push({ subject: 'analytics', message: (error as Error).message });
    result.outcome = 'error';
    return result;
  } finally {
    result.durationMs = Math.round(performance.now() - started);
    fs.rmSync(layout.stageDir, { recursive: true, force: true });
    fs.rmSync(layout.candidate, { force: true });
    fs.rmSync(`${layout.candidate}.wal`, { force: true });
    options.store.transaction(() => {
      recordRefreshFinish(options.store, runId, { ...result, outcome: result.outcome });
      if (options.audit) {
        recordAudit(options.store, {
          actor: options.actor,
          action: 'analytics.refresh',
          target: null,
          outcome: result.outcome === 'error' ? 'error' : 'ok',
          detail: { mode: result.mode, tenantsRead: result.tenantsRead, rowsRead: result.rowsRead, problems: result.problems.length },
        });
      }
    })();
    release();
  }
}

async function refreshWith(
  options: RefreshOptions,
  layout: AnalyticsLayout,
  definition: AnalyticsDefinition,
  memoryMb: number,
  problems: RefreshProblem[],
  result: RefreshResult,
): Promise<RefreshResult> {
  const progress = options.onProgress ?? (() => {});
  const previous = await readServedState(layout, memoryMb);
  let full = options.full === true || previous === null || previous.definitionSha256 !== definition.sha256;

  // Which tenants changed: file identities only, no database opened.
  const tenants = scanVolume(options.volumeDir).contexts.filter((context) => context.kind === 'tenant');
  const contextOf = new Map(tenants.map((context) => [context.tenantId!, context]));
  progress({ phase: 'scan', done: 0, total: tenants.length });
  const files = new Map(tenants.map((context) => [context.tenantId!, tenantFiles(context)]));
  const removed = previous ? [...previous.tenants.keys()].filter((tenant) => !files.has(tenant)) : [];
  const isChanged = (context: VolumeContext) => full || previous!.tenants.get(context.tenantId!)?.signature !== files.get(context.tenantId!)!.signature;

  // The shapes of changed tenants' objects; unchanged tenants keep the shapes last read.
  const states = new Map<string, TenantState>();
  const readNow = new Set<string>();
  const inspect = (context: VolumeContext) => {
    const tenant = context.tenantId!;
    const old = previous?.tenants.get(tenant);
    const { signature, bytes } = files.get(tenant)!;
    try {
      const connection = openTenant(context);
      try {
        const schemas = Object.fromEntries(definition.gathered.map((g) => [g.source, gatheredColumns(connection.db, g.source)]));
        states.set(tenant, { tenant, bucket: bucketOf(tenant), signature, bytes, schemas, rows: {}, problem: null, readAt: new Date().toISOString() });
        readNow.add(tenant);
      } finally {
        connection.db.close();
      }
    } catch (error) {
      const message = (error as Error).message;
      problems.push({ subject: context.name, message });
      // Its previous rows keep serving; its signature is not taken, so the next refresh tries again.
      if (old) states.set(tenant, { ...old, problem: message });
      else states.set(tenant, { tenant, bucket: bucketOf(tenant), signature: '', bytes, schemas: {}, rows: {}, problem: message, readAt: new Date().toISOString() });
    }
  };
  const decideShapes = () => {
    for (const context of tenants) {
      const tenant = context.tenantId!;
      if (states.has(tenant)) continue;
      if (isChanged(context)) inspect(context);
      else states.set(tenant, { ...previous!.tenants.get(tenant)!, problem: null });
    }
    return new Map(
      definition.gathered.map((g) => {
        const shapes = [...states.values()].filter((s) => s.schemas[g.source]).map((s) => s.schemas[g.source]!);
        return [g.table, targetColumns(majorityShape(shapes))];
      }),
    );
  };
  const problemsBefore = problems.length;
  let targets = decideShapes();
  // A table whose shape changed is rewritten whole: every tenant is read again.
  const rollupChanged = () => hasDashboardColumns(targets) !== previous!.tables.has(DASHBOARD_ROLLUP);
  if (!full && (rollupChanged() || definition.gathered.some((g) => !previous!.tables.has(g.table) || !sameColumns(previous!.tables.get(g.table)!.columns, targets.get(g.table)!)))) {
    full = true;
    states.clear();
    readNow.clear();
    problems.splice(problemsBefore);
    targets = decideShapes();
  }
  result.mode = full ? 'full' : 'incremental';

  const drift: DriftEntry[] = [];
  for (const g of definition.gathered) {
    const majority = majorityShape([...states.values()].filter((s) => s.schemas[g.source]).map((s) => s.schemas[g.source]!));
    if (majority.length === 0) problems.push({ subject: 'analytics.sql', message: `no tenant has ${g.source} (${g.location.file}:${g.location.line}:${g.location.column}); ${g.table} is empty` });
    for (const state of states.values()) {
      if (state.problem !== null && Object.keys(state.schemas).length === 0) continue;
      if (majority.length > 0) drift.push(...driftOf(g.table, g.source, state.tenant, state.schemas[g.source] ?? null, majority));
    }
  }

  for (const entry of drift) result.drift[entry.severity] += 1;
  result.tenantsTotal = states.size;
  // Nothing read, removed or newly failing: the served generation is still the truth, so it stays.
  const unchanged = !full && readNow.size === 0 && removed.length === 0 && [...states.values()].every((state) => state.problem === previous!.tenants.get(state.tenant)?.problem);
  if (unchanged) {
    result.generation = previous!.generation;
    result.outcome = problems.length > 0 ? 'problems' : 'ok';
    return result;
  }

  // Buckets to rewrite: those of tenants read now or removed.
  const affected = new Map<number, { restaged: string[]; dropped: string[] }>();
  const touch = (bucket: number) => affected.get(bucket) ?? affected.set(bucket, { restaged: [], dropped: [] }).get(bucket)!;
  for (const tenant of readNow) touch(bucketOf(tenant)).restaged.push(tenant);
  for (const tenant of removed) touch(bucketOf(tenant)).dropped.push(tenant);
  if (full) for (const state of states.values()) touch(state.bucket);
  const generation = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
  const rollup = hasDashboardColumns(targets);
  const kept = [...definition.gathered.map((g) => g.table), ...(rollup ? [DASHBOARD_ROLLUP] : [])];
  const tableFiles = new Map(kept.map((table) => [table, full ? {} : { ...(previous!.tables.get(table)?.files ?? {}) }] as [string, Record<string, string>]));
  for (const table of kept) fs.mkdirSync(path.join(layout.dataDir, table), { recursive: true });
  fs.mkdirSync(layout.stageDir, { recursive: true });

  // Rows keep no order anyway: DuckDB then streams the copies instead of holding them.
  const loader = await DuckDBInstance.create(':memory:', duckdbOptions(memoryMb, { preserve_insertion_order: 'false' }));
  const load = await loader.connect();
  try {
    // Reading (this thread, SQLite) overlaps loading (DuckDB's threads): bucket k loads while k+1 is read.
    let loading: Promise<void> = Promise.resolve();
    const buckets = [...affected.keys()].sort((a, b) => a - b);
    let done = 0;
    progress({ phase: 'read', done, total: readNow.size });
    for (const bucket of buckets) {
      const { restaged, dropped } = affected.get(bucket)!;
      const stageFiles = new Map(definition.gathered.map((g) => [g.table, path.join(layout.stageDir, `${g.table}-b${bucket}.ndjson`)]));
      const fds = new Map([...stageFiles].map(([table, file]) => [table, fs.openSync(file, 'w')]));
      try {
        for (const tenant of restaged.sort()) {
          const state = states.get(tenant)!;
          const context = contextOf.get(tenant)!;
          try {
            const connection = openTenant(context);
            try {
              for (const g of definition.gathered) {
                const own = state.schemas[g.source];
                state.rows[g.table] = own ? stageRows(connection.db, g.source, tenant, own, targets.get(g.table)!, fds.get(g.table)!) : 0;
                result.rowsRead += state.rows[g.table]!;
              }
            } finally {
              connection.db.close();
            }
          } catch (error) {
            problems.push({ subject: context.name, message: (error as Error).message });
            state.problem = (error as Error).message;
            // Not taken as read: the next refresh tries this tenant again.
            state.signature = '';
          }
          done += 1;
          progress({ phase: 'read', done, total: readNow.size });
        }
      } finally {
        for (const fd of fds.values()) fs.closeSync(fd);
      }
      await loading;
      const members = [...states.values()].filter((s) => s.bucket === bucket).map((s) => s.tenant);
      const replaced = new Set([...restaged, ...dropped]);
      loading = (async () => {
        for (const g of definition.gathered) {
          const files = tableFiles.get(g.table)!;
          const old = files[bucket];
          delete files[bucket];
          if (members.length === 0) continue;
          const arms: string[] = [];
          if (fs.statSync(stageFiles.get(g.table)!).size > 0) arms.push(stagedSelect([stageFiles.get(g.table)!], targets.get(g.table)!));
          const kept = members.filter((tenant) => !replaced.has(tenant));
          if (old && kept.length > 0) {
            arms.push(`SELECT * FROM read_parquet(${sqlString(path.join(layout.dataDir, g.table, old))}) WHERE tenant IN (${kept.map(sqlString).join(', ')})`);
          }
          if (arms.length === 0) continue;
          const name = `b${String(bucket).padStart(2, '0')}-${generation}.parquet`;
          await load.run(`COPY (${arms.join(' UNION ALL BY NAME ')}) TO ${sqlString(path.join(layout.dataDir, g.table, name))} (FORMAT parquet)`);
          files[bucket] = name;
        }
        if (rollup) {
          // The dashboard's numbers per bucket, so a refresh recounts only the buckets it rewrote.
          const rollups = tableFiles.get(DASHBOARD_ROLLUP)!;
          delete rollups[bucket];
          const findings = tableFiles.get('all_findings')![bucket];
          if (findings) {
            const name = `b${String(bucket).padStart(2, '0')}-${generation}.parquet`;
            await load.run(
              `COPY (SELECT tenant, substr(created_at, 1, 7) AS month, severity, status, count(*) AS findings FROM read_parquet(${sqlString(path.join(layout.dataDir, 'all_findings', findings))}) GROUP BY ALL) TO ${sqlString(path.join(layout.dataDir, DASHBOARD_ROLLUP, name))} (FORMAT parquet)`,
            );
            rollups[bucket] = name;
          }
        }
        for (const file of stageFiles.values()) fs.rmSync(file, { force: true });
      })();
      // A failed load surfaces at the next await; keep it from being reported as unhandled meanwhile.
      loading.catch(() => {});
    }
    await loading;
  } finally {
    load.closeSync();
    loader.closeSync();
  }

  progress({ phase: 'build', done: 0, total: 1 });
  await buildCandidate(layout, definition, memoryMb, generation, states, targets, tableFiles, result);
  // The commit point: from here on, readers opening analytics.duckdb see the new generation.
  fsyncPath(layout.candidate);
  fs.renameSync(layout.candidate, layout.database);
  fsyncPath(layout.dir);
  collectGarbage(layout, tableFiles, previous);
  options.store.transaction(() => replaceDriftReport(options.store, drift))();
  progress({ phase: 'build', done: 1, total: 1 });

  result.generation = generation;
  result.tenantsRead = [...readNow].filter((tenant) => states.get(tenant)!.problem === null).length;
  result.tenantsRemoved = removed.length;
  result.outcome = problems.length > 0 ? 'problems' : 'ok';
  return result;
}

/** Writes the next generation's database: views over the Parquet files, rollups, state. */
async function buildCandidate(
  layout: AnalyticsLayout,
  definition: AnalyticsDefinition,
  memoryMb: number,
  generation: string,
  states: Map<string, TenantState>,
  targets: Map<string, TargetColumn[]>,
  tableFiles: Map<string, Record<string, string>>,
  result: RefreshResult,
): Promise<void> {
  const instance = await DuckDBInstance.create(layout.candidate, duckdbOptions(memoryMb));
  const db = await instance.connect();
  try {
    for (const g of definition.gathered) {
      const files = Object.values(tableFiles.get(g.table)!).map((name) => path.join(layout.dataDir, g.table, name));
      await db.run(
        files.length > 0
          ? `CREATE VIEW ${quoteIdentifier(g.table)} AS SELECT * FROM read_parquet([${files.sort().map(sqlString).join(', ')}])`
          : emptyTableSql(g.table, targets.get(g.table)!),
      );
    }
    // The dashboard's rollups, summed from the per-bucket counts when all_findings has the columns they need.
    const rollupFiles = Object.values(tableFiles.get(DASHBOARD_ROLLUP) ?? {}).map((name) => path.join(layout.dataDir, DASHBOARD_ROLLUP, name));
    if (rollupFiles.length > 0) {
      const counts = `read_parquet([${rollupFiles.sort().map(sqlString).join(', ')}])`;
      await db.run(`CREATE TABLE findings_by_month AS SELECT month, severity, sum(findings)::BIGINT AS findings FROM ${counts} GROUP BY ALL ORDER BY ALL`);
      await db.run(`CREATE TABLE tenant_findings AS SELECT tenant, severity, status, sum(findings)::BIGINT AS findings FROM ${counts} GROUP BY ALL ORDER BY ALL`);
    } else if (hasDashboardColumns(targets)) {
      await db.run('CREATE TABLE findings_by_month (month VARCHAR, severity VARCHAR, findings BIGINT)');
      await db.run('CREATE TABLE tenant_findings (tenant VARCHAR, severity VARCHAR, status VARCHAR, findings BIGINT)');
    }
    for (const rollup of definition.rollups) {
      try {
        await db.run(`CREATE TABLE ${quoteIdentifier(rollup.name)} AS ${rollup.selectSql}`);
      } catch (error) {
        const { file, line, column } = rollup.location;
        throw new AnalyticsDefinitionError([{ file, line, column, message: `rollup ${rollup.name}: ${(error as Error).message.split('\n')[0]}` }]);
      }
    }
    await db.run(`CREATE TABLE _meta (key VARCHAR PRIMARY KEY, value VARCHAR)`);
    const meta: Record<string, string> = {
      generation,
      refreshed_at: new Date().toISOString(),
      definition_sha256: definition.sha256,
      definition_file: definition.file,
      tenants: String(states.size),
      rows: String([...states.values()].reduce((sum, s) => sum + (s.rows.all_findings ?? Object.values(s.rows)[0] ?? 0), 0)),
      built_in_rollups: BUILT_IN_ROLLUPS.join(','),
      rollups: definition.rollups.map((r) => r.name).join(','),
      mode: result.mode,
      state: serializeTenantStates(states.values()),
    };
    const metaAppender = await db.createAppender('_meta');
    for (const [key, value] of Object.entries(meta)) {
      metaAppender.appendVarchar(key);
      metaAppender.appendVarchar(value);
      metaAppender.endRow();
    }
    metaAppender.closeSync();
    // For the pages: which tenants, how large, and which could not be read.
    await db.run(`CREATE TABLE _tenants (tenant VARCHAR, bytes BIGINT, problem VARCHAR, read_at VARCHAR)`);
    const tenantAppender = await db.createAppender('_tenants');
    for (const s of states.values()) {
      tenantAppender.appendVarchar(s.tenant);
      tenantAppender.appendBigInt(BigInt(s.bytes));
      if (s.problem === null) tenantAppender.appendNull();
      else tenantAppender.appendVarchar(s.problem);
      tenantAppender.appendVarchar(s.readAt);
      tenantAppender.endRow();
    }
    tenantAppender.closeSync();
    await db.run(`CREATE TABLE _tables ("table" VARCHAR, source VARCHAR, columns VARCHAR, files VARCHAR)`);
    for (const g of definition.gathered) {
      await db.run(`INSERT INTO _tables VALUES (${[g.table, g.source, JSON.stringify(targets.get(g.table)), JSON.stringify(tableFiles.get(g.table))].map(sqlString).join(', ')})`);
    }
    if (tableFiles.has(DASHBOARD_ROLLUP)) await db.run(`INSERT INTO _tables VALUES (${[DASHBOARD_ROLLUP, 'all_findings', '[]', JSON.stringify(tableFiles.get(DASHBOARD_ROLLUP))].map(sqlString).join(', ')})`);
    await db.run('CHECKPOINT');
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** Removes Parquet files neither the new nor the previous generation reads, and tables no longer defined. */
function collectGarbage(layout: AnalyticsLayout, tableFiles: Map<string, Record<string, string>>, previous: ServedState | null): void {
  const keep = new Set<string>();
  for (const [table, files] of tableFiles) for (const name of Object.values(files)) keep.add(path.join(table, name));
  for (const [table, state] of previous?.tables ?? []) for (const name of Object.values(state.files)) keep.add(path.join(table, name));
  for (const table of fs.existsSync(layout.dataDir) ? fs.readdirSync(layout.dataDir) : []) {
    const dir = path.join(layout.dataDir, table);
    for (const name of fs.readdirSync(dir)) if (!keep.has(path.join(table, name))) fs.rmSync(path.join(dir, name), { force: true });
    if (!tableFiles.has(table) && fs.readdirSync(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
  }
}
