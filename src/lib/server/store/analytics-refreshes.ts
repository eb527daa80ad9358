import type { ConsoleStore } from './database.ts';
import { processIsAlive } from '../composite/lock.ts';

/** How a tenant's gathered object differs from what most tenants have (see analytics/drift.ts). */
export type DriftKind = 'missing_object' | 'missing_column' | 'extra_column' | 'type_differs';
export type DriftSeverity = 'error' | 'warn' | 'info';

export interface DriftEntry {
  table: string;
  source: string;
  tenant: string;
  kind: DriftKind;
  column: string | null;
  /** What most tenants have (a declared type), or null. */
  expected: string | null;
  /** What this tenant has, or null. */
  found: string | null;
  severity: DriftSeverity;
  message: string;
}

export type RefreshMode = 'full' | 'incremental';
export type RefreshOutcome = 'running' | 'ok' | 'problems' | 'error' | 'killed';

/** A tenant that could not be read (or a definition problem), reported by a refresh. */
export interface RefreshProblem {
  /** `tenant/<id>`, `analytics.sql` or `analytics`. */
  subject: string;
  message: string;
}

export interface RefreshRecord {
  id: number;
  startedAt: string;
  finishedAt: string | null;
  mode: RefreshMode;
  outcome: RefreshOutcome;
  pid: number;
  actor: string;
  tenantsTotal: number;
  tenantsRead: number;
  tenantsRemoved: number;
  rowsRead: number;
  problems: RefreshProblem[];
}

interface RefreshRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  mode: RefreshMode;
  outcome: RefreshOutcome;
  pid: number;
  actor: string;
  tenants_total: number;
  tenants_read: number;
  tenants_removed: number;
  rows_read: number;
  problems: string;
}

const toRecord = (row: RefreshRow): RefreshRecord => ({
  id: row.id,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  mode: row.mode,
  outcome: row.outcome,
  pid: row.pid,
  actor: row.actor,
  tenantsTotal: row.tenants_total,
  tenantsRead: row.tenants_read,
  tenantsRemoved: row.tenants_removed,
  rowsRead: row.rows_read,
  problems: JSON.parse(row.problems) as RefreshProblem[],
});

/** Runs still marked running whose process is gone were killed; says so. */
function markKilledRefreshes(db: ConsoleStore): void {
  const running = db.prepare(`SELECT id, pid FROM analytics_refreshes WHERE outcome = 'running'`).all() as Array<{ id: number; pid: number }>;
  const mark = db.prepare(`UPDATE analytics_refreshes SET outcome = 'killed', finished_at = ? WHERE id = ? AND outcome = 'running'`);
  for (const run of running) if (!processIsAlive(run.pid)) mark.run(new Date().toISOString(), run.id);
}

export function recordRefreshStart(db: ConsoleStore, run: { mode: RefreshMode; actor: string; startedAt: Date }): number {
  markKilledRefreshes(db);
  const row = db
    .prepare(`INSERT INTO analytics_refreshes (started_at, mode, outcome, pid, actor) VALUES (?, ?, 'running', ?, ?) RETURNING id`)
    .get(run.startedAt.toISOString(), run.mode, process.pid, run.actor) as { id: number };
  return row.id;
}

export interface RefreshFinish {
  outcome: Exclude<RefreshOutcome, 'running' | 'killed'>;
  mode: RefreshMode;
  tenantsTotal: number;
  tenantsRead: number;
  tenantsRemoved: number;
  rowsRead: number;
  problems: RefreshProblem[];
}

export function recordRefreshFinish(db: ConsoleStore, id: number, finish: RefreshFinish): void {
  db.prepare(
    `UPDATE analytics_refreshes SET finished_at = ?, outcome = ?, mode = ?, tenants_total = ?, tenants_read = ?, tenants_removed = ?, rows_read = ?, problems = ? WHERE id = ?`,
  ).run(new Date().toISOString(), finish.outcome, finish.mode, finish.tenantsTotal, finish.tenantsRead, finish.tenantsRemoved, finish.rowsRead, JSON.stringify(finish.problems), id);
}

/** Newest first. */
export function refreshHistory(db: ConsoleStore, limit: number): RefreshRecord[] {
  markKilledRefreshes(db);
  return (db.prepare(`SELECT * FROM analytics_refreshes ORDER BY started_at DESC, id DESC LIMIT ?`).all(limit) as RefreshRow[]).map(toRecord);
}

/** The drift report of the latest completed refresh replaces the previous one. */
export function replaceDriftReport(db: ConsoleStore, entries: DriftEntry[]): void {
  db.prepare('DELETE FROM analytics_drift').run();
  const insert = db.prepare(
    'INSERT INTO analytics_drift (tenant, analytics_table, source, kind, column_name, expected, found, severity, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const e of entries) insert.run(e.tenant, e.table, e.source, e.kind, e.column, e.expected, e.found, e.severity, e.message);
}

interface DriftRow {
  tenant: string;
  analytics_table: string;
  source: string;
  kind: DriftEntry['kind'];
  column_name: string | null;
  expected: string | null;
  found: string | null;
  severity: DriftEntry['severity'];
  message: string;
}

const WORST_FIRST = `ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, tenant, analytics_table, column_name`;

/**
 * The latest drift report, worst first; `tenant` narrows it to one tenant, through the
 * tenant index (each tenant's health check asks: `? IS NULL OR tenant = ?` read the whole
 * fleet's report for every one of them).
 */
export function driftReport(db: ConsoleStore, tenant?: string): DriftEntry[] {
  const rows = (
    tenant === undefined ? db.prepare(`SELECT * FROM analytics_drift ${WORST_FIRST}`).all() : db.prepare(`SELECT * FROM analytics_drift WHERE tenant = ? ${WORST_FIRST}`).all(tenant)
  ) as DriftRow[];
  return rows.map((row) => ({
    tenant: row.tenant,
    table: row.analytics_table,
    source: row.source,
    kind: row.kind,
    column: row.column_name,
    expected: row.expected,
    found: row.found,
    severity: row.severity,
    message: row.message,
  }));
}
