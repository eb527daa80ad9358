import type { CompositeStatus } from '../composite/status.ts';
import type { ConsoleStore } from './database.ts';
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

/**
 * The id of each context's latest run: one seek of the (context, at, id) index per context,
 * found by skipping from one context to the next, rather than a window over every run
 * (retention keeps up to 200 runs per context: two million rows at 10,000 tenants, 0.4 s
 * for 500,000 here against 31 ms this way).
 */
const LATEST_RUN_IDS = `
  WITH RECURSIVE contexts(name) AS (
    SELECT min(context) FROM health_runs
    UNION ALL
    SELECT (SELECT min(context) FROM health_runs WHERE context > contexts.name) FROM contexts WHERE contexts.name IS NOT NULL
  )
  SELECT (SELECT id FROM health_runs WHERE context = contexts.name ORDER BY ${NEWEST_FIRST} LIMIT 1) FROM contexts WHERE name IS NOT NULL`;

/** The latest health run of every context that has one, keyed by context name. */
export function latestHealthRuns<Report = unknown>(db: ConsoleStore): Map<string, HealthRunRecord<Report>> {
  const rows = db.prepare(`SELECT ${COLUMNS} FROM health_runs WHERE id IN (${LATEST_RUN_IDS}) ORDER BY context`).all() as HealthRunRow[];
  return new Map(rows.map((row) => [row.context, toRecord<Report>(row)]));
}

/** The latest problem runs' ids per store, newest first, with the newest run id they were read at. */
const keptProblemRuns = new WeakMap<ConsoleStore, { newestId: number | null; ids: number[] }>();

/**
 * The latest run of each context whose worst finding is not ok, newest first (then by
 * context). Which runs those are is read again only when a run was recorded since (the
 * newest id changed; retention removes only older runs), here or by a `yard` command: the
 * dashboard asks on every request. Each run and its report are read only when the caller
 * reaches it, so a caller after the newest few problems reads and parses only those.
 */
export function* latestProblemRuns<Report = unknown>(db: ConsoleStore): Generator<HealthRunRecord<Report>> {
  const newestId = keptStatement(db, 'SELECT max(id) FROM health_runs').pluck().get() as number | null;
  let kept = keptProblemRuns.get(db);
  if (kept?.newestId !== newestId) {
    const ids = keptStatement(db, `SELECT id FROM health_runs WHERE id IN (${LATEST_RUN_IDS}) AND worst_severity <> 'ok' ORDER BY at DESC, context`).pluck().all() as number[];
    kept = { newestId, ids };
    keptProblemRuns.set(db, kept);
  }
  const byId = keptStatement(db, `SELECT ${COLUMNS} FROM health_runs WHERE id = ?`);
  for (const id of kept.ids) {
    const row = byId.get(id) as HealthRunRow | undefined;
    if (row) yield toRecord<Report>(row);
  }
}

/** Newest first. */
export function healthHistory<Report = unknown>(db: ConsoleStore, context: string, limit: number): HealthRunRecord<Report>[] {
  const rows = keptStatement(db, `SELECT ${COLUMNS} FROM health_runs WHERE context = ? ORDER BY ${NEWEST_FIRST} LIMIT ?`)
    .all(context, limit) as HealthRunRow[];
  return rows.map((row) => toRecord<Report>(row));
}
