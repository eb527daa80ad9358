import type { CompositeStatus } from '../composite/status.ts';
import { storeVersion, type ConsoleStore } from './database.ts';
import type { HealthSeverity } from '../composite/health.ts';
import { keptStatement } from '../sqlite/statements.ts';

/**
 * `Report` is the health report as the health check produced it; it is stored as JSON
 * and handed back as the same shape.
 */
export interface NewHealthRun<Report = unknown> {
  context: string;
  status: CompositeStatus;
  worstSeverity: HealthSeverity;
  /** True when `integrity_check` ran instead of `quick_check`. */
  full: boolean;
  report: Report;
  /** Defaults to now. */
  at?: Date;
}

export interface HealthRunRecord<Report = unknown> extends Omit<NewHealthRun<Report>, 'at'> {
  id: number;
  /** ISO 8601, UTC. */
  at: string;
}

interface HealthRunRow {
  id: number;
  context: string;
  at: string;
  status: CompositeStatus;
  worst_severity: HealthSeverity;
  full: number;
  report: string;
}

const COLUMNS = 'id, context, at, status, worst_severity, full, report';
const NEWEST_FIRST = 'at DESC, id DESC';

function toRecord<Report>(row: HealthRunRow): HealthRunRecord<Report> {
  return {
    id: row.id,
    context: row.context,
    at: row.at,
    status: row.status,
    worstSeverity: row.worst_severity,
    full: row.full === 1,
    report: JSON.parse(row.report) as Report,
  };
}

export function recordHealthRun<Report>(db: ConsoleStore, run: NewHealthRun<Report>): HealthRunRecord<Report> {
  const row = db
    .prepare(`INSERT INTO health_runs (context, at, status, worst_severity, full, report) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`)
    .get(run.context, (run.at ?? new Date()).toISOString(), run.status, run.worstSeverity, run.full ? 1 : 0, JSON.stringify(run.report)) as HealthRunRow;
  return toRecord(row);
}

const keptLatest = new WeakMap<ConsoleStore, { version: string; runs: ReadonlyMap<string, HealthRunRecord<unknown>> }>();

/**
 * The latest health run of every context that has one, keyed by context name. Read again
 * only when the console store changed (storeVersion): at ten thousand tenants, reading and
 * parsing every latest report held the event loop for some 400 ms on each dashboard
 * request. The map and its records are shared by every caller: read them, never change them.
 */
export function latestHealthRuns<Report = unknown>(db: ConsoleStore): ReadonlyMap<string, HealthRunRecord<Report>> {
  const version = storeVersion(db);
  const kept = keptLatest.get(db);
  if (kept?.version === version) return kept.runs as ReadonlyMap<string, HealthRunRecord<Report>>;
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM (
         SELECT *, row_number() OVER (PARTITION BY context ORDER BY ${NEWEST_FIRST}) AS rank FROM health_runs
       ) WHERE rank = 1 ORDER BY context`,
    )
    .all() as HealthRunRow[];
  const runs = new Map(rows.map((row) => [row.context, toRecord<Report>(row)]));
  keptLatest.set(db, { version, runs });
  return runs;
}

/**
 * The latest run of each context whose worst finding is not ok, newest first (then by
 * context), each report parsed only when the caller reaches it: a caller after the newest few
 * problems stops early instead of parsing the latest report of every context in the fleet.
 */
export function* latestProblemRuns<Report = unknown>(db: ConsoleStore): Generator<HealthRunRecord<Report>> {
  const latest = keptStatement(
    db,
    `SELECT ${COLUMNS} FROM (
       SELECT *, row_number() OVER (PARTITION BY context ORDER BY ${NEWEST_FIRST}) AS rank FROM health_runs
     ) WHERE rank = 1 AND worst_severity <> 'ok' ORDER BY at DESC, context`,
  );
  for (const row of latest.iterate() as IterableIterator<HealthRunRow>) yield toRecord<Report>(row);
}

/** Newest first. */
export function healthHistory<Report = unknown>(db: ConsoleStore, context: string, limit: number): HealthRunRecord<Report>[] {
  const rows = keptStatement(db, `SELECT ${COLUMNS} FROM health_runs WHERE context = ? ORDER BY ${NEWEST_FIRST} LIMIT ?`)
    .all(context, limit) as HealthRunRow[];
  return rows.map((row) => toRecord<Report>(row));
}
